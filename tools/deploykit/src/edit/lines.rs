//! A text file as lines, and the line-level patch every text edit is made of.
//!
//! A line keeps its ending apart from its text, so an edit that replaces a
//! value or inserts a line reproduces the file's own endings (`\n` or
//! `\r\n`, and a missing final newline) instead of normalising them. The
//! edits are collected in a [`Patch`] and applied in one pass, which keeps
//! the line numbers of the original valid while the edit is planned.

use std::collections::{BTreeMap, BTreeSet};

/// One line of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// Its index, from 0.
    pub index: usize,
    /// The byte offset of its first byte in the file.
    pub start: usize,
    /// Its text, without the ending.
    pub body: &'a str,
    /// `"\n"`, `"\r\n"`, or `""` for a last line without a newline.
    pub ending: &'a str,
}

impl Line<'_> {
    /// Its number as an editor shows it, from 1.
    pub fn number(&self) -> usize {
        self.index + 1
    }

    /// The byte offset just past its ending.
    pub fn end(&self) -> usize {
        self.start + self.body.len() + self.ending.len()
    }

    /// Whether it holds nothing but whitespace.
    pub fn is_blank(&self) -> bool {
        self.body.trim().is_empty()
    }
}

/// Splits `text` into its lines (none for an empty text).
pub fn split(text: &str) -> Vec<Line<'_>> {
    let mut start = 0;
    text.split_inclusive('\n')
        .enumerate()
        .map(|(index, l)| {
            let body = l
                .strip_suffix('\n')
                .map_or(l, |b| b.strip_suffix('\r').unwrap_or(b));
            let line = Line {
                index,
                start,
                body,
                ending: &l[body.len()..],
            };
            start += l.len();
            line
        })
        .collect()
}

/// The line ending the file uses: `\r\n` if it has any, else `\n`.
pub fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// A byte range of a line's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The first byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The text of the span in `body`.
    pub fn of<'a>(&self, body: &'a str) -> &'a str {
        &body[self.start..self.end]
    }
}

/// The value that starts at byte `from` of `body`: inside its quotes when
/// it is quoted (`"…"` or `'…'`), else up to a ` #` comment, trailing
/// spaces left out. The same rule serves YAML scalars and dotenv values.
pub fn value_span(body: &str, from: usize) -> Span {
    let rest = &body[from..];
    if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'')
        && let Some(close) = rest[1..].find(q)
    {
        return Span {
            start: from + 1,
            end: from + 1 + close,
        };
    }
    let bytes = rest.as_bytes();
    let end = (0..bytes.len())
        .find(|&i| bytes[i] == b'#' && (i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t'))
        .unwrap_or(bytes.len());
    Span {
        start: from,
        end: from + rest[..end].trim_end().len(),
    }
}

/// `body` with `span` replaced by `new`.
pub fn splice(body: &str, span: Span, new: &str) -> String {
    format!("{}{new}{}", &body[..span.start], &body[span.end..])
}

/// The lines of `block` indented by `indent` spaces; blank lines stay empty.
pub fn indented(block: &str, indent: usize) -> Vec<String> {
    let pad = " ".repeat(indent);
    block
        .lines()
        .map(|l| {
            if l.trim().is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect()
}

/// Line edits of one text, applied together by [`Patch::apply`].
///
/// Line indexes are those of the original text. Inserted lines take the
/// ending of the line they follow, so a file that ended without a newline
/// still does; lines appended at the end of the file each end with the
/// file's newline.
#[derive(Debug, Clone)]
pub struct Patch<'a> {
    text: &'a str,
    lines: Vec<Line<'a>>,
    replaced: BTreeMap<usize, String>,
    removed: BTreeSet<usize>,
    inserted: BTreeMap<usize, Vec<String>>,
    appended: Vec<String>,
}

impl<'a> Patch<'a> {
    /// An empty patch of `text`.
    pub fn new(text: &'a str) -> Self {
        Patch {
            text,
            lines: split(text),
            replaced: BTreeMap::new(),
            removed: BTreeSet::new(),
            inserted: BTreeMap::new(),
            appended: Vec::new(),
        }
    }

    /// Replaces the text of line `index`, keeping its ending.
    pub fn replace(&mut self, index: usize, body: String) {
        self.replaced.insert(index, body);
    }

    /// Removes line `index`, ending included.
    pub fn remove(&mut self, index: usize) {
        self.removed.insert(index);
    }

    /// Inserts `bodies` as lines after line `index` (after earlier
    /// insertions at the same place).
    pub fn insert_after(&mut self, index: usize, bodies: impl IntoIterator<Item = String>) {
        self.inserted.entry(index).or_default().extend(bodies);
    }

    /// Appends `bodies` as lines at the end of the file.
    pub fn append(&mut self, bodies: impl IntoIterator<Item = String>) {
        self.appended.extend(bodies);
    }

    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.replaced.is_empty()
            && self.removed.is_empty()
            && self.inserted.is_empty()
            && self.appended.is_empty()
    }

    /// The patched text.
    pub fn apply(&self) -> String {
        let nl = newline(self.text);
        let mut out = String::with_capacity(self.text.len() + 256);
        for l in &self.lines {
            let extra = self.inserted.get(&l.index);
            // A last line without a newline gets the file's one before insertions.
            let ending = if l.ending.is_empty() && extra.is_some() {
                nl
            } else {
                l.ending
            };
            if !self.removed.contains(&l.index) {
                out.push_str(self.replaced.get(&l.index).map_or(l.body, String::as_str));
                out.push_str(ending);
            }
            for (i, body) in extra.into_iter().flatten().enumerate() {
                out.push_str(body);
                let last = extra.is_some_and(|e| i + 1 == e.len());
                if !(last && l.ending.is_empty()) {
                    out.push_str(ending);
                }
            }
        }
        if !self.appended.is_empty() {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(nl);
            }
            for body in &self.appended {
                out.push_str(body);
                out.push_str(nl);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_their_endings() {
        let ls = split("a\r\nb\nc");
        let parts: Vec<(&str, &str, usize)> =
            ls.iter().map(|l| (l.body, l.ending, l.start)).collect();
        assert_eq!(parts, [("a", "\r\n", 0), ("b", "\n", 3), ("c", "", 5)]);
        assert_eq!(ls[2].number(), 3);
        assert_eq!(ls[1].end(), 5);
        assert!(split("").is_empty());
        assert_eq!(newline("a\r\nb\n"), "\r\n");
        assert_eq!(newline("a"), "\n");
    }

    #[test]
    fn values_quoted_plain_and_commented() {
        let body = "key: \"a # b\"  # c";
        assert_eq!(value_span(body, 5).of(body), "a # b");
        let body = "key: a#b   # c";
        assert_eq!(value_span(body, 5).of(body), "a#b");
        let body = "key: 'open";
        assert_eq!(value_span(body, 5).of(body), "'open");
        let body = "key:";
        assert_eq!(value_span(body, 4).of(body), "");
        assert_eq!(
            splice("k: 'x' # c", Span { start: 4, end: 5 }, "yz"),
            "k: 'yz' # c"
        );
    }

    #[test]
    fn patch_replaces_removes_inserts_and_appends() {
        let text = "a\nb\nc\n";
        let mut p = Patch::new(text);
        assert!(p.is_empty());
        p.replace(0, "A".into());
        p.remove(1);
        p.insert_after(1, ["b2".to_owned()]);
        p.insert_after(2, ["d".to_owned(), "e".to_owned()]);
        assert_eq!(p.apply(), "A\nb2\nc\nd\ne\n");
        // No final newline: the inserted lines go before the missing one.
        let mut p = Patch::new("x\r\ny");
        p.insert_after(1, ["z".to_owned()]);
        assert_eq!(p.apply(), "x\r\ny\r\nz");
        // Appended lines end with the file's newline.
        let mut p = Patch::new("x: 1");
        p.append(["y:".to_owned(), "  - a".to_owned()]);
        assert_eq!(p.apply(), "x: 1\ny:\n  - a\n");
        assert_eq!(indented("a:\n\n  b", 2), ["  a:", "", "    b"]);
    }
}
