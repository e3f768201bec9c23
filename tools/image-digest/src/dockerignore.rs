//! `.dockerignore` with current Docker's exact semantics (moby/patternmatcher
//! as BuildKit's file walker uses it).
//!
//! Not gitignore: every pattern is anchored at the context root (`*.log`
//! only matches at the top; `**/*.log` matches anywhere), `*` and `?` never
//! cross `/`, `**` crosses any number of directories, a pattern that
//! matches a directory excludes everything below it, `!` re-includes, and
//! the last matching pattern wins. Patterns are cleaned like Go's
//! `filepath.Clean` (`./a/` is `a`) and checked like `filepath.Match`.
//!
//! Each pattern becomes the Go regexp patternmatcher's `compile` builds,
//! with its exact/prefix/suffix shortcuts, and that Go text is translated
//! by [`crate::goregex`] so escapes and classes keep Go's meaning (Rust's
//! `regex` reads `\w`, `\<`, `[a&&b]`, `\0` and more differently).
//!
//! A walk matches with [`Matcher::matches_using_parent_results`], as
//! BuildKit's walker does since tonistiigi/fsutil#114: a pattern that
//! matched a directory counts for everything below it, but an exception
//! only re-includes what it matches itself (`p/q/r` then `!p` leaves
//! `p/q/r` out). Inside an excluded directory BuildKit still looks for
//! files an exception re-includes, wildcard exceptions too (fsutil#121);
//! the classic builder only enters the directory when an exception
//! starts with its path. Where they differ this follows BuildKit.

use regex::Regex;

use crate::goregex;

/// bufio.Scanner's default limit: Docker fails on a longer line.
pub const MAX_LINE: usize = 64 * 1024;

/// Why a pattern list is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// A lone `!`.
    #[error("illegal exclusion pattern: \"!\"")]
    LoneExclamation,
    /// Go's `filepath.ErrBadPattern`.
    #[error("syntax error in pattern {0:?}")]
    BadPattern(String),
    /// A pattern whose Go regexp Go refuses (Docker fails the build).
    #[error("syntax error in pattern {0:?}: {1}")]
    BadRegexp(String, String),
    /// A line of 64 KiB or more: bufio.Scanner's `token too long`.
    #[error(
        "line {0} is {1} bytes long: Docker refuses lines of 64 KiB or more (bufio.Scanner: token too long)"
    )]
    LineTooLong(usize, usize),
}

#[derive(Debug, Clone)]
enum Kind {
    Exact,
    Prefix(String),
    Suffix(String),
    Regex(Regex),
}

/// One cleaned pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    cleaned: String,
    exclusion: bool,
    kind: Kind,
}

impl Pattern {
    /// The cleaned pattern text (without `!`).
    pub fn text(&self) -> &str {
        &self.cleaned
    }

    /// Whether it is a `!` exception.
    pub fn is_exclusion(&self) -> bool {
        self.exclusion
    }

    /// Whether this pattern alone matches `path` (patternmatcher's `match`).
    pub fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.cleaned,
            Kind::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Kind::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    || suffix.strip_prefix('/').is_some_and(|s| path == s)
            }
            Kind::Regex(re) => re.is_match(path),
        }
    }
}

/// What a directory's match hands to its children: which patterns matched it.
#[derive(Debug, Clone, Default)]
pub struct MatchInfo {
    parent_matched: Vec<bool>,
}

/// An ordered list of patterns: patternmatcher's `PatternMatcher`.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

impl Matcher {
    /// patternmatcher's `New`: trims, drops empty patterns, cleans, checks syntax.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Matcher, PatternError> {
        Matcher::build(patterns, true)
    }

    /// The matcher of Docker 20.10's BuildKit client, for the differential
    /// test's version table: its walker judged patterns only by the Go
    /// regexp they become (no `filepath.Match` syntax check, tonistiigi/fsutil#108).
    pub fn new_legacy<S: AsRef<str>>(patterns: &[S]) -> Result<Matcher, PatternError> {
        Matcher::build(patterns, false)
    }

    fn build<S: AsRef<str>>(patterns: &[S], check: bool) -> Result<Matcher, PatternError> {
        let mut m = Matcher::default();
        for p in patterns {
            let p = p.as_ref().trim();
            if p.is_empty() {
                continue;
            }
            let cleaned = clean(p);
            let (exclusion, p) = match cleaned.strip_prefix('!') {
                Some("") => return Err(PatternError::LoneExclamation),
                Some(rest) => (true, rest.to_owned()),
                None => (false, cleaned.clone()),
            };
            m.exclusions |= exclusion;
            if check {
                check_match_syntax(&p).map_err(|()| PatternError::BadPattern(p.clone()))?;
            }
            let kind = compile(&p).map_err(|e| PatternError::BadRegexp(p.clone(), e))?;
            m.patterns.push(Pattern {
                cleaned: p,
                exclusion,
                kind,
            });
        }
        Ok(m)
    }

    /// The patterns, in order.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether any pattern is a `!` exception.
    pub fn has_exclusions(&self) -> bool {
        self.exclusions
    }

    /// `MatchesUsingParentResults`: whether `file` (slash-separated,
    /// relative to the context root) is excluded, given what its parent
    /// directory's call returned (the default for a top-level entry), and
    /// what to hand to its children. A pattern that matched the parent
    /// counts as matching `file`; others are tried on `file` alone. With a
    /// default `parent`, parents are tried as in
    /// [`matches_or_parent_matches`](Self::matches_or_parent_matches).
    pub fn matches_using_parent_results(
        &self,
        file: &str,
        parent: &MatchInfo,
    ) -> (bool, MatchInfo) {
        let inherited =
            (parent.parent_matched.len() == self.patterns.len()).then_some(&parent.parent_matched);
        let mut info = MatchInfo {
            parent_matched: vec![false; self.patterns.len()],
        };
        let mut matched = false;
        let parent_path = dir(file);
        for (i, pattern) in self.patterns.iter().enumerate() {
            let mut hit = inherited.is_some_and(|m| m[i]);
            if !hit {
                if pattern.exclusion != matched {
                    continue;
                }
                hit = pattern.matches(file);
                if !hit && inherited.is_none() && parent_path != "." {
                    let dirs: Vec<&str> = parent_path.split('/').collect();
                    hit = (0..dirs.len()).any(|k| pattern.matches(&dirs[..=k].join("/")));
                }
            }
            info.parent_matched[i] = hit;
            if hit {
                matched = !pattern.exclusion;
            }
        }
        (matched, info)
    }

    /// The deprecated `Matches` of Docker 20.10's walkers: each pattern is
    /// also tried on the parent of `file` that has as many components as
    /// the pattern (and only on that one); the last match decides.
    pub fn matches_by_depth(&self, file: &str) -> bool {
        let mut matched = false;
        let parent = dir(file);
        let parent_dirs: Vec<&str> = parent.split('/').collect();
        for pattern in &self.patterns {
            let mut hit = pattern.matches(file);
            let depth = pattern.cleaned.split('/').count();
            if !hit && parent != "." && depth <= parent_dirs.len() {
                hit = pattern.matches(&parent_dirs[..depth].join("/"));
            }
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }

    /// `MatchesOrParentMatches`: whether `file` is excluded, it or a parent
    /// directory matching each pattern; the last matching pattern decides.
    /// What walkers used before fsutil#114 (Docker 20.10's BuildKit
    /// client); kept to describe that version in the differential test.
    pub fn matches_or_parent_matches(&self, file: &str) -> bool {
        let mut matched = false;
        let parent = dir(file);
        let parent_dirs: Vec<&str> = parent.split('/').collect();
        for pattern in &self.patterns {
            if pattern.exclusion != matched {
                continue;
            }
            let mut hit = pattern.matches(file);
            if !hit && parent != "." {
                for i in 0..parent_dirs.len() {
                    if pattern.matches(&parent_dirs[..=i].join("/")) {
                        hit = true;
                        break;
                    }
                }
            }
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }
}

/// ignorefile's `ReadAll` on the bytes of a `.dockerignore`: lines as
/// bufio.Scanner splits them (`\n`, one trailing `\r` dropped), refused as
/// Docker refuses them when one is 64 KiB or longer, then
/// [`read_patterns`].
pub fn read_patterns_bytes(bytes: &[u8]) -> Result<Vec<String>, PatternError> {
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.len() >= MAX_LINE {
            return Err(PatternError::LineTooLong(i + 1, line.len()));
        }
    }
    Ok(read_patterns(&String::from_utf8_lossy(bytes)))
}

/// ignorefile's `ReadAll`: the patterns of a `.dockerignore` file. Comments
/// (`#` first) and blank lines are dropped; a leading `/` is removed; a
/// UTF-8 BOM is skipped.
pub fn read_patterns(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = if i == 0 {
            line.strip_prefix('\u{feff}').unwrap_or(line)
        } else {
            line
        };
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut p = String::new();
        if !pattern.is_empty() {
            p = clean(pattern);
            if p.len() > 1 && p.starts_with('/') {
                p.remove(0);
            }
        }
        if invert {
            p.insert(0, '!');
        }
        out.push(p);
    }
    out
}

/// Go's `path.Clean` (what `filepath.Clean` is on Unix).
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `filepath.Dir`.
fn dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => clean(&path[..=i]),
        None => ".".into(),
    }
}

/// The syntax checks of Go's `filepath.Match`: classes must close, must not
/// be empty, ranges need both ends, `\` needs a character after it.
fn check_match_syntax(p: &str) -> Result<(), ()> {
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if i + 1 >= chars.len() {
                    return Err(());
                }
                i += 2;
            }
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                let mut n = 0;
                loop {
                    match chars.get(i) {
                        None => return Err(()),
                        Some(']') if n > 0 => {
                            i += 1;
                            break;
                        }
                        Some(_) => {}
                    }
                    let lo = class_char(&chars, &mut i)?;
                    let _ = lo;
                    if chars.get(i) == Some(&'-') {
                        i += 1;
                        class_char(&chars, &mut i)?;
                    }
                    n += 1;
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

fn class_char(chars: &[char], i: &mut usize) -> Result<char, ()> {
    match chars.get(*i) {
        None | Some('-' | ']') => Err(()),
        Some('\\') => {
            let c = *chars.get(*i + 1).ok_or(())?;
            *i += 2;
            Ok(c)
        }
        Some(&c) => {
            *i += 1;
            Ok(c)
        }
    }
}

/// patternmatcher's `compile`, for `/` as the separator: the Go regexp
/// text exactly as moby builds it, then translated with Go's meaning.
fn compile(pattern: &str) -> Result<Kind, String> {
    #[derive(PartialEq, Clone, Copy)]
    enum T {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut re = String::from("^");
    let mut t = T::Exact;
    let mut pos = 0;
    let mut iteration = 0;
    while pos < chars.len() {
        let ch = chars[pos];
        pos += 1;
        if ch == '*' {
            if chars.get(pos) == Some(&'*') {
                pos += 1;
                if chars.get(pos) == Some(&'/') {
                    pos += 1;
                }
                if pos >= chars.len() {
                    if t == T::Exact {
                        t = T::Prefix;
                    } else {
                        re.push_str(".*");
                        t = T::Regex;
                    }
                } else {
                    re.push_str("(.*/)?");
                    t = T::Regex;
                }
                if iteration == 0 {
                    t = T::Suffix;
                }
            } else {
                re.push_str("[^/]*");
                t = T::Regex;
            }
        } else if ch == '?' {
            re.push_str("[^/]");
            t = T::Regex;
        } else if ".+()|{}$".contains(ch) {
            re.push('\\');
            re.push(ch);
        } else if ch == '\\' {
            if let Some(&next) = chars.get(pos) {
                pos += 1;
                re.push('\\');
                re.push(next);
                t = T::Regex;
            } else {
                // As in moby: a lone `\` (filepath.Match refuses it first).
                re.push('\\');
            }
        } else if ch == '[' || ch == ']' {
            re.push(ch);
            t = T::Regex;
        } else {
            // As in moby, other characters go into the expression as they are.
            re.push(ch);
        }
        iteration += 1;
    }
    match t {
        T::Exact => Ok(Kind::Exact),
        T::Prefix => Ok(Kind::Prefix(pattern[..pattern.len() - 2].to_owned())),
        T::Suffix => Ok(Kind::Suffix(pattern[2..].to_owned())),
        T::Regex => {
            re.push('$');
            let rust = goregex::translate(&re).map_err(|e| e.0)?;
            Regex::new(&rust)
                .map(Kind::Regex)
                .map_err(|e| format!("internal: {rust:?} from Go {re:?}: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excluded(patterns: &[&str], path: &str) -> bool {
        Matcher::new(patterns)
            .unwrap()
            .matches_or_parent_matches(path)
    }

    #[test]
    fn anchored_at_the_context_root_unlike_gitignore() {
        assert!(excluded(&["*.log"], "app.log"));
        assert!(!excluded(&["*.log"], "sub/app.log"));
        assert!(excluded(&["**/*.log"], "sub/deep/app.log"));
        assert!(excluded(&["**/*.log"], "app.log"));
        let from_file = read_patterns("/node_modules\n");
        assert!(
            Matcher::new(&from_file)
                .unwrap()
                .matches_or_parent_matches("node_modules/x/y.js")
        );
    }

    #[test]
    fn directories_exclude_their_contents_and_exceptions_reinclude() {
        assert!(excluded(&["docs"], "docs/a/b.md"));
        assert!(!excluded(&["docs", "!docs/README.md"], "docs/README.md"));
        assert!(excluded(&["docs", "!docs/README.md"], "docs/other.md"));
        // last match wins
        assert!(excluded(&["!a.txt", "*.txt"], "a.txt"));
        assert!(!excluded(&["*.txt", "!a.txt"], "a.txt"));
        assert!(excluded(&["**", "!src", "src/gen"], "src/gen/x.rs"));
        assert!(!excluded(&["**", "!src", "src/gen"], "src/main.rs"));
    }

    #[test]
    fn stars_do_not_cross_slashes_but_double_stars_do() {
        assert!(excluded(&["a/*/c"], "a/b/c"));
        assert!(!excluded(&["a/*/c"], "a/b/x/c"));
        assert!(excluded(&["a/**/c"], "a/b/x/c"));
        assert!(excluded(&["a/**/c"], "a/c"));
        assert!(excluded(&["a?c"], "abc"));
        assert!(!excluded(&["a?c"], "a/c"));
        assert!(excluded(&["[a-c]x"], "bx"));
        assert!(!excluded(&["[^a-c]x"], "bx"));
    }

    #[test]
    fn cleaning_and_reading_the_file() {
        assert_eq!(clean("./a//b/../c/"), "a/c");
        assert_eq!(clean("/../x"), "/x");
        assert_eq!(clean("../x"), "../x");
        assert_eq!(clean(""), ".");
        assert!(excluded(&["./dist/"], "dist/app.js"));
        assert_eq!(
            read_patterns("\u{feff}# c\n\n/target\n  !/keep.txt \n*.tmp\r\n"),
            ["target", "!keep.txt", "*.tmp"]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            Matcher::new(&["!"]).unwrap_err(),
            PatternError::LoneExclamation
        );
        for bad in ["[", "a[", "[]", "[a-]", "[-a]", "a\\"] {
            assert!(Matcher::new(&[bad]).is_err(), "{bad}");
        }
        assert!(Matcher::new(&["", "  ", "ok"]).unwrap().patterns().len() == 1);
    }

    /// The files of `tree` a BuildKit walk includes: every directory
    /// matched with its parent's results, as `fingerprint` walks.
    fn walk(patterns: &[&str], tree: &[&str]) -> Vec<String> {
        let m = Matcher::new(patterns).unwrap();
        let mut paths: Vec<String> = Vec::new();
        for f in tree {
            let parts: Vec<&str> = f.split('/').collect();
            for k in 1..=parts.len() {
                let p = parts[..k].join("/");
                if !paths.contains(&p) {
                    paths.push(p);
                }
            }
        }
        paths.sort();
        let mut infos = std::collections::HashMap::<String, MatchInfo>::new();
        let mut out = Vec::new();
        for p in &paths {
            let parent = infos.get(&dir(p)).cloned().unwrap_or_default();
            let (excluded, info) = m.matches_using_parent_results(p, &parent);
            infos.insert(p.clone(), info);
            if !excluded && tree.contains(&p.as_str()) {
                out.push(p.clone());
            }
        }
        out
    }

    /// The cases where Rust's `regex`, `MatchesOrParentMatches` or the
    /// classic builder would answer otherwise than current Docker
    /// (BuildKit): (patterns, files, the files Docker keeps).
    #[test]
    fn current_docker_table() {
        let table: &[(&[&str], &[&str], &[&str])] = &[
            // classes are Go's: `&&` `~~` are characters, `[` is literal
            (&["x[a&&b]"], &["x&", "xa", "xb", "xc"], &["xc"]),
            (&["x[a~~b]"], &["x~", "xa", "xc"], &["xc"]),
            (&["[[a]]"], &["[]", "a]", "a", "b]"], &["a", "b]"]),
            (&["[*]"], &["*", "]", "[^]"], &["*"]),
            (&["[[:alpha:]]"], &["a", "é", "1"], &["é", "1"]),
            // Perl classes and boundaries are ASCII
            (&["a\\w"], &["ab", "aé"], &["aé"]),
            (&["\\d"], &["1", "٣"], &["٣"]),
            (&["a\\sb"], &["a b", "a\u{a0}b"], &["a\u{a0}b"]),
            (&["é\\b"], &["é"], &["é"]),
            // \< \> are the characters; \0 and octal escapes are built
            (&["\\<a\\>"], &["<a>", "a"], &["a"]),
            (&["a\\0"], &["a0", "a"], &["a0", "a"]),
            (&["a\\101"], &["aA", "a101"], &["a101"]),
            // an exception on a parent does not re-include below a
            // directory excluded by a later-listed deeper pattern
            (&["p/q/r", "!p"], &["p/q/r", "p/s"], &["p/s"]),
            (&["p/q", "!p"], &["p/q/r", "p/s"], &["p/s"]),
            // a wildcard exception reaches into an excluded directory
            (
                &["foo", "!**/*.txt"],
                &["foo/a.txt", "foo/b.md"],
                &["foo/a.txt"],
            ),
            (
                &["foo", "!foo/*.txt"],
                &["foo/a.txt", "foo/b.md"],
                &["foo/a.txt"],
            ),
            (
                &["**", "!src", "src/gen"],
                &["src/a", "src/gen/b", "x"],
                &["src/a"],
            ),
        ];
        for (patterns, tree, want) in table {
            let mut want: Vec<&str> = want.to_vec();
            want.sort_unstable();
            assert_eq!(walk(patterns, tree), want, "{patterns:?} on {tree:?}");
        }
    }

    #[test]
    fn docker_refusals() {
        // Go's regexp refuses these; Docker fails the build
        for bad in ["a\\1", "a\\é", "a\\E", "[[:nope:]]", "a\\x4", "\\p{L}"] {
            assert!(
                matches!(Matcher::new(&[bad]), Err(PatternError::BadRegexp(..))),
                "{bad}"
            );
        }
        let long = "a".repeat(MAX_LINE);
        assert!(matches!(
            read_patterns_bytes(format!("x\n{long}\n").as_bytes()),
            Err(PatternError::LineTooLong(2, _))
        ));
        let fits = "a".repeat(MAX_LINE - 1);
        assert_eq!(
            read_patterns_bytes(format!("{fits}\r").as_bytes()).map(|p| p.len()),
            Err(PatternError::LineTooLong(1, MAX_LINE))
        );
        assert_eq!(read_patterns_bytes(fits.as_bytes()).map(|p| p.len()), Ok(1));
    }

    #[test]
    fn literal_regex_metacharacters() {
        assert!(excluded(&["a.|)$(}+{bc"], "a.|)$(}+{bc"));
        assert!(excluded(&["a^b#c~d&e"], "a^b#c~d&e"));
        assert!(!excluded(&["abc.def"], "abcXdef"));
    }
}
