//! `.dockerignore` with Docker's exact semantics (moby/patternmatcher).
//!
//! Not gitignore: every pattern is anchored at the context root (`*.log`
//! only matches at the top; `**/*.log` matches anywhere), `*` and `?` never
//! cross `/`, `**` crosses any number of directories, a pattern that
//! matches a directory excludes everything below it, `!` re-includes, and
//! the last matching pattern wins. Patterns are cleaned like Go's
//! `filepath.Clean` (`./a/` is `a`), and a file is matched with
//! `MatchesOrParentMatches`: it or any parent directory matching counts.
//! Each pattern is compiled to a regular expression exactly as
//! patternmatcher's `compile` does, with its exact/prefix/suffix shortcuts.

use regex::Regex;

/// Why a pattern list is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// A lone `!`.
    #[error("illegal exclusion pattern: \"!\"")]
    LoneExclamation,
    /// Go's `filepath.ErrBadPattern`.
    #[error("syntax error in pattern {0:?}")]
    BadPattern(String),
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

    fn matches(&self, path: &str) -> bool {
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

/// An ordered list of patterns: patternmatcher's `PatternMatcher`.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

impl Matcher {
    /// patternmatcher's `New`: trims, drops empty patterns, cleans, checks syntax.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Matcher, PatternError> {
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
            check_match_syntax(&p).map_err(|()| PatternError::BadPattern(p.clone()))?;
            let kind = compile(&p).map_err(|()| PatternError::BadPattern(p.clone()))?;
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

    /// `MatchesOrParentMatches`: whether `file` (slash-separated, relative
    /// to the context root) is excluded, it or a parent directory matching;
    /// the last matching pattern decides.
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

/// patternmatcher's `compile`, for `/` as the separator.
fn compile(pattern: &str) -> Result<Kind, ()> {
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
                re.push_str("\\\\");
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
            Regex::new(&re).map(Kind::Regex).map_err(|_| ())
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

    #[test]
    fn literal_regex_metacharacters() {
        assert!(excluded(&["a.|)$(}+{bc"], "a.|)$(}+{bc"));
        assert!(excluded(&["a^b#c~d&e"], "a^b#c~d&e"));
        assert!(!excluded(&["abc.def"], "abcXdef"));
    }
}
