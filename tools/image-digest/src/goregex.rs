//! Go's regular-expression syntax (RE2 as `regexp.Compile` reads it),
//! translated to an equivalent expression for Rust's `regex`.
//!
//! Docker's patternmatcher turns each `.dockerignore` pattern into a Go
//! regexp, so an escape or a class in a pattern means what Go makes of it.
//! Rust's `regex` reads the same text differently in many places: `\w \d
//! \s \b` are Unicode there and ASCII in Go, `\<` `\>` are word boundaries
//! there and plain characters in Go, `[a&&b]` `[a~~b]` `[a--b]` `[[a]]`
//! are class operations or nested classes there and plain characters in
//! Go, `\0` and octal escapes are refused there and built by Go, `\Q…\E`
//! exists only in Go. So the Go text is parsed here with Go's rules and
//! emitted in a form whose meaning cannot drift: every literal as
//! `\x{…}`, every class as explicit ranges (or an explicit Unicode
//! category), every assertion spelled out. What Go refuses is refused.
//!
//! Only what Go's `Perl` flags allow is handled (`OneLine`: `^` `$` are
//! the text's ends; `.` does not match `\n`; classes may match `\n`), and
//! only the constructs a `.dockerignore` pattern can produce: patternmatcher
//! escapes `.+()|{}$`, so alternation, counted repetition and flag groups
//! never reach the expression, and `\p{…}` or `\x{…}` cannot either (their
//! brace arrives escaped, which Go refuses).

use std::fmt::Write as _;

/// An expression Go's `regexp.Compile` would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoSyntaxError(pub String);

#[derive(Debug)]
enum Node {
    Lit(char),
    /// A class in Rust syntax, complete with brackets.
    Class(String),
    AnyNotNl,
    Begin,
    End,
    WordBoundary,
    NotWordBoundary,
    Group(Vec<Node>),
    Repeat(Box<Node>, char),
}

/// Translates a Go regexp (with `regexp.Compile`'s flags) to Rust syntax.
pub fn translate(go: &str) -> Result<String, GoSyntaxError> {
    let chars: Vec<char> = go.chars().collect();
    let mut p = Parser { s: &chars, i: 0 };
    let nodes = p.sequence(0)?;
    let mut out = String::new();
    for n in &nodes {
        emit(n, &mut out);
    }
    Ok(out)
}

fn emit(n: &Node, out: &mut String) {
    match n {
        Node::Lit(c) => {
            let _ = write!(out, "\\x{{{:X}}}", u32::from(*c));
        }
        Node::Class(c) => out.push_str(c),
        Node::AnyNotNl => out.push_str("[^\\n]"),
        Node::Begin => out.push_str("\\A"),
        Node::End => out.push_str("\\z"),
        Node::WordBoundary => out.push_str("(?-u:\\b)"),
        Node::NotWordBoundary => out.push_str("(?-u:\\B)"),
        Node::Group(inner) => {
            out.push_str("(?:");
            for n in inner {
                emit(n, out);
            }
            out.push(')');
        }
        Node::Repeat(inner, op) => {
            out.push_str("(?:");
            emit(inner, out);
            out.push(')');
            out.push(*op);
        }
    }
}

/// Go's Perl classes, ASCII only.
fn perl_class(c: char) -> Option<(&'static str, bool)> {
    match c {
        'd' => Some(("0-9", false)),
        'D' => Some(("0-9", true)),
        's' => Some(("\\t\\n\\x0C\\r ", false)),
        'S' => Some(("\\t\\n\\x0C\\r ", true)),
        'w' => Some(("0-9A-Za-z_", false)),
        'W' => Some(("0-9A-Za-z_", true)),
        _ => None,
    }
}

/// Go's POSIX classes (`[:alpha:]` inside a class), ASCII only.
fn posix_class(name: &str) -> Option<&'static str> {
    Some(match name {
        "alnum" => "0-9A-Za-z",
        "alpha" => "A-Za-z",
        "ascii" => "\\x00-\\x7F",
        "blank" => "\\t ",
        "cntrl" => "\\x00-\\x1F\\x7F",
        "digit" => "0-9",
        "graph" => "!-~",
        "lower" => "a-z",
        "print" => " -~",
        "punct" => "!-/:-@\\[-`{-~",
        "space" => "\\t-\\r ",
        "upper" => "A-Z",
        "word" => "0-9A-Za-z_",
        "xdigit" => "0-9A-Fa-f",
        _ => return None,
    })
}

/// A one-letter Unicode category as Go's tables define it (Go's `C` is
/// Cc, Cf, Co and Cs: unassigned code points are not in it).
fn unicode_category(c: char) -> Option<&'static str> {
    Some(match c {
        'C' => "\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}",
        'L' => "\\p{L}",
        'M' => "\\p{M}",
        'N' => "\\p{N}",
        'P' => "\\p{P}",
        'S' => "\\p{S}",
        'Z' => "\\p{Z}",
        _ => return None,
    })
}

/// A set of items inside a Rust class: `negated` wraps it as `[^…]`.
fn class_item(body: &str, negated: bool) -> String {
    if negated {
        format!("[^{body}]")
    } else {
        format!("[{body}]")
    }
}

struct Parser<'a> {
    s: &'a [char],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    fn err(what: &str) -> GoSyntaxError {
        GoSyntaxError(what.to_owned())
    }

    /// A concatenation up to the end or (at `depth` > 0) a `)`.
    fn sequence(&mut self, depth: usize) -> Result<Vec<Node>, GoSyntaxError> {
        let mut seq: Vec<Node> = Vec::new();
        // Whether the last item is a repetition (Go refuses `a**`).
        let mut last_repeat = false;
        while let Some(c) = self.peek(0) {
            match c {
                ')' if depth > 0 => return Ok(seq),
                ')' => return Err(Self::err("unexpected )")),
                '(' => {
                    if self.peek(1) == Some('?') {
                        return Err(Self::err("flag groups are not produced here"));
                    }
                    self.i += 1;
                    let inner = self.sequence(depth + 1)?;
                    if self.peek(0) != Some(')') {
                        return Err(Self::err("missing closing )"));
                    }
                    self.i += 1;
                    seq.push(Node::Group(inner));
                    last_repeat = false;
                }
                '|' => return Err(Self::err("alternation is not produced here")),
                '*' | '+' | '?' => {
                    self.i += 1;
                    if last_repeat {
                        return Err(Self::err("invalid nested repetition operator"));
                    }
                    let Some(prev) = seq.pop() else {
                        return Err(Self::err("missing argument to repetition operator"));
                    };
                    seq.push(Node::Repeat(Box::new(prev), c));
                    last_repeat = true;
                    // `x*?` is a lazy repetition, not a nested one; for a
                    // yes/no match laziness does not matter.
                    if self.peek(0) == Some('?') {
                        self.i += 1;
                    }
                }
                '^' => {
                    self.i += 1;
                    seq.push(Node::Begin);
                    last_repeat = false;
                }
                '$' => {
                    self.i += 1;
                    seq.push(Node::End);
                    last_repeat = false;
                }
                '.' => {
                    self.i += 1;
                    seq.push(Node::AnyNotNl);
                    last_repeat = false;
                }
                '[' => {
                    let class = self.class()?;
                    seq.push(Node::Class(class));
                    last_repeat = false;
                }
                '\\' => {
                    last_repeat = false;
                    match self.peek(1) {
                        Some('A') => {
                            self.i += 2;
                            seq.push(Node::Begin);
                            continue;
                        }
                        Some('z') => {
                            self.i += 2;
                            seq.push(Node::End);
                            continue;
                        }
                        Some('b') => {
                            self.i += 2;
                            seq.push(Node::WordBoundary);
                            continue;
                        }
                        Some('B') => {
                            self.i += 2;
                            seq.push(Node::NotWordBoundary);
                            continue;
                        }
                        Some('C') => return Err(Self::err("invalid escape sequence: \\C")),
                        Some('Q') => {
                            // \Q…\E: literal up to \E or the end of the text.
                            self.i += 2;
                            while let Some(c) = self.peek(0) {
                                if c == '\\' && self.peek(1) == Some('E') {
                                    self.i += 2;
                                    break;
                                }
                                seq.push(Node::Lit(c));
                                self.i += 1;
                            }
                            continue;
                        }
                        _ => {}
                    }
                    if let Some(item) = self.unicode_class()? {
                        seq.push(Node::Class(format!("[{item}]")));
                        continue;
                    }
                    if let Some(item) = self.perl_class() {
                        seq.push(Node::Class(format!("[{item}]")));
                        continue;
                    }
                    let c = self.escape()?;
                    seq.push(Node::Lit(c));
                }
                _ => {
                    self.i += 1;
                    seq.push(Node::Lit(c));
                    last_repeat = false;
                }
            }
        }
        if depth > 0 {
            return Err(Self::err("missing closing )"));
        }
        Ok(seq)
    }

    /// `\pX` / `\PX` at the cursor: a class item, or `None` when the text
    /// is no Unicode class.
    fn unicode_class(&mut self) -> Result<Option<String>, GoSyntaxError> {
        if self.peek(0) != Some('\\') || !matches!(self.peek(1), Some('p' | 'P')) {
            return Ok(None);
        }
        let negated = self.peek(1) == Some('P');
        let Some(name) = self.peek(2) else {
            return Err(Self::err("invalid character class range"));
        };
        // `\p{…}` cannot arrive here (patternmatcher escapes the brace, and
        // Go then reads the name `\`, which it refuses); a `^` alone is no name.
        let Some(body) = unicode_category(name) else {
            return Err(Self::err("invalid character class range"));
        };
        self.i += 3;
        Ok(Some(class_item(body, negated)))
    }

    /// `\d \D \s \S \w \W` at the cursor, as a class item.
    fn perl_class(&mut self) -> Option<String> {
        if self.peek(0) != Some('\\') {
            return None;
        }
        let (body, negated) = perl_class(self.peek(1)?)?;
        self.i += 2;
        Some(class_item(body, negated))
    }

    /// Go's `parseEscape` at a `\`: the character it stands for.
    fn escape(&mut self) -> Result<char, GoSyntaxError> {
        self.i += 1;
        let Some(c) = self.peek(0) else {
            return Err(Self::err("trailing backslash at end of expression"));
        };
        self.i += 1;
        let octal = |c: Option<char>| c.filter(|c| ('0'..='7').contains(c));
        match c {
            '1'..='7' if octal(self.peek(0)).is_none() => {
                Err(Self::err("invalid escape sequence (a backreference)"))
            }
            '0'..='7' => {
                let mut r = c.to_digit(8).unwrap_or(0);
                for _ in 1..3 {
                    match octal(self.peek(0)).and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            r = r * 8 + d;
                            self.i += 1;
                        }
                        None => break,
                    }
                }
                char::from_u32(r).ok_or_else(|| Self::err("invalid escape"))
            }
            'x' => {
                let hex = |c: Option<char>| c.and_then(|c| c.to_digit(16));
                match (hex(self.peek(0)), hex(self.peek(1))) {
                    (Some(a), Some(b)) => {
                        self.i += 2;
                        char::from_u32(a * 16 + b).ok_or_else(|| Self::err("invalid escape"))
                    }
                    _ => Err(Self::err("invalid escape sequence: \\x")),
                }
            }
            'a' => Ok('\u{7}'),
            'f' => Ok('\u{c}'),
            'n' => Ok('\n'),
            'r' => Ok('\r'),
            't' => Ok('\t'),
            'v' => Ok('\u{b}'),
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok(c),
            c => Err(GoSyntaxError(format!("invalid escape sequence: \\{c}"))),
        }
    }

    /// A class at `[`, with Go's rules: `]` first is literal, `[` is
    /// literal unless it opens `[:name:]`, `-` makes a range unless it is
    /// before the closing `]`, no set operations, no nesting.
    fn class(&mut self) -> Result<String, GoSyntaxError> {
        self.i += 1; // [
        let mut negated = false;
        if self.peek(0) == Some('^') {
            negated = true;
            self.i += 1;
        }
        let mut items = String::new();
        let mut first = true;
        loop {
            match self.peek(0) {
                None => return Err(Self::err("missing closing ]")),
                Some(']') if !first => {
                    self.i += 1;
                    break;
                }
                _ => {}
            }
            first = false;
            // [:name:] — Go looks for the next `:]` anywhere further on.
            if self.peek(0) == Some('[') && self.peek(1) == Some(':') {
                let rest: String = self.s[self.i + 2..].iter().collect();
                if let Some(end) = rest.find(":]") {
                    let name = &rest[..end];
                    let (name, neg) = match name.strip_prefix('^') {
                        Some(n) => (n, true),
                        None => (name, false),
                    };
                    let Some(body) = posix_class(name) else {
                        return Err(Self::err("invalid character class range"));
                    };
                    items.push_str(&class_item(body, neg));
                    self.i += 2 + rest[..end].chars().count() + 2;
                    continue;
                }
            }
            if let Some(item) = self.unicode_class()? {
                items.push_str(&item);
                continue;
            }
            if let Some(item) = self.perl_class() {
                items.push_str(&item);
                continue;
            }
            let lo = self.class_char()?;
            let mut hi = lo;
            if self.peek(0) == Some('-') && self.peek(1).is_some_and(|c| c != ']') {
                self.i += 1;
                hi = self.class_char()?;
                if hi < lo {
                    return Err(Self::err("invalid character class range"));
                }
            }
            let _ = write!(
                items,
                "\\x{{{:X}}}-\\x{{{:X}}}",
                u32::from(lo),
                u32::from(hi)
            );
        }
        Ok(if items.is_empty() {
            // `[^…]` of nothing cannot occur (a class has at least one
            // item); kept total for safety: an empty class matches nothing.
            "[^\\x{0}-\\x{10FFFF}]".to_owned()
        } else if negated {
            format!("[^{items}]")
        } else {
            format!("[{items}]")
        })
    }

    fn class_char(&mut self) -> Result<char, GoSyntaxError> {
        match self.peek(0) {
            None => Err(Self::err("missing closing ]")),
            Some('\\') => self.escape(),
            Some(c) => {
                self.i += 1;
                Ok(c)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_match(go: &str, text: &str) -> bool {
        regex::Regex::new(&translate(go).unwrap_or_else(|e| panic!("{go}: {e:?}")))
            .unwrap()
            .is_match(text)
    }

    #[test]
    fn go_meanings() {
        // (Go expression, text, whether Go's regexp matches)
        let table: &[(&str, &str, bool)] = &[
            (r"^\w$", "é", false),
            (r"^\w$", "a", true),
            (r"^\d$", "٣", false),
            (r"^\s$", "\u{b}", false),
            (r"^\s$", "\u{a0}", false),
            (r"^a\b", "aé", true),
            (r"^\<a\>$", "<a>", true),
            (r"^x[a&&b]$", "x&", true),
            (r"^x[a&&b]$", "xa", true),
            (r"^x[a~~b]$", "x~", true),
            (r"^x[+--]$", "x,", true),
            (r"^[[a]]$", "[]", true),
            (r"^[[a]]$", "a", false),
            (r"^[[a]$", "[", true),
            (r"^a\0$", "a\0", true),
            (r"^a\12$", "a\n", true),
            (r"^\x41$", "A", true),
            (r"^\Qa.b\E$", "a.b", true),
            (r"^\Qa.b$", "a.b$", true),
            (r"^[[:alpha:]]$", "é", false),
            (r"^[[:^alpha:]]$", "1", true),
            (r"^[\d]$", "٣", false),
            (r"^[^\D]$", "5", true),
            (r"^[]a]$", "]", true),
            (r"^[^/]*$", "a\nb", true),
            (r"^.$", "\n", false),
            (r"^\pL$", "é", true),
            (r"^[\PL]$", "1", true),
            (r"^(.*/)?x$", "a/b/x", true),
            (r"^a^b$", "a^b", false),
            (r"^[a[^/]*]$", "a[^/]", true),
        ];
        for (go, text, want) in table {
            assert_eq!(is_match(go, text), *want, "{go} on {text:?}");
        }
    }

    #[test]
    fn go_refusals() {
        for bad in [
            r"\1",
            r"\8",
            r"\é",
            r"\E",
            r"\C",
            r"\p\{L\}",
            r"\x4",
            r"[[:foo:]]",
            r"[b-a]",
            r"[a",
            r"\",
            r"x[a--b]",
        ] {
            assert!(translate(bad).is_err(), "{bad}");
        }
    }
}
