//! The YAML line scanner: what each line of a block-style YAML file holds,
//! and where in the document it is.
//!
//! An edit needs to know which line holds a value and how that line is
//! indented, not the whole YAML grammar: the guard ([`super::guard`]) parses
//! the result properly and refuses any edit the scanner misread. So the
//! scanner reads block style line by line, with one set of rules:
//!
//! - indentation is spaces; a tab in a line's indentation (or between a
//!   sequence dash and the mapping that follows it) is an input error, as
//!   YAML says, rather than a guess at how wide a tab is;
//! - a line is blank, a comment, text (the content of a `|` or `>` block
//!   scalar, a document marker), or a node: `key: value`, `- value`,
//!   `- key: value`, or the continuation of a value;
//! - each line gets the [`Path`] of its node, tracked from the indentation
//!   of the keys and dashes above it, so entries are addressable one by one
//!   (`images[1].newTag`, `services.api.image`);
//! - flow collections (`{…}`, `[…]`) are values, never looked into.

use std::collections::BTreeMap;

use serde_yaml_ng::Value as Yaml;

use super::lines::{self, Line, Patch, Span};
use super::path::{Path, Step};
use crate::exit::{Error, Result};

/// What a line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Nothing but whitespace.
    Blank,
    /// A comment alone on its line.
    Comment,
    /// Text that is not structure: a block scalar's content, a document
    /// marker or directive.
    Text,
    /// A node of the document.
    Node(Node),
}

/// A node line: `key: value`, `- value`, `- key: value`, or a continuation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Whether the line starts with a sequence dash.
    pub item: bool,
    /// The column of the node's content: after the indentation, and after
    /// the dash and its spaces for an item.
    pub column: usize,
    /// The mapping key, when the content is `key: value`.
    pub key: Option<String>,
    /// Where the value starts in the line (after `key:` and its spaces),
    /// quotes and trailing comment included.
    pub value_from: usize,
    /// The value itself: inside its quotes, or plain up to a comment.
    pub value: Span,
}

/// One scanned line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlLine<'a> {
    /// The line and its ending.
    pub line: Line<'a>,
    /// The leading spaces.
    pub indent: usize,
    /// What it holds.
    pub kind: Kind,
    /// Where its node is: the key's value for `key:` lines, the item for
    /// `- value` lines, the enclosing node for text and continuations
    /// (the root for blank and comment lines).
    pub path: Path,
}

impl<'a> YamlLine<'a> {
    /// Its text, without the ending.
    pub fn body(&self) -> &'a str {
        self.line.body
    }

    /// The node, if the line is one.
    pub fn node(&self) -> Option<&Node> {
        match &self.kind {
            Kind::Node(n) => Some(n),
            _ => None,
        }
    }

    /// The mapping key of a `key: value` line.
    pub fn key(&self) -> Option<&str> {
        self.node().and_then(|n| n.key.as_deref())
    }

    /// The value of a node line (inside its quotes, without a comment).
    pub fn value(&self) -> Option<&'a str> {
        let body = self.line.body;
        self.node().map(|n| n.value.of(body))
    }

    /// Everything after `key:` (or the dash) and its spaces: quotes and
    /// comment included.
    pub fn raw_value(&self) -> Option<&'a str> {
        let body = self.line.body;
        self.node().map(|n| &body[n.value_from..])
    }

    /// Whether it is blank.
    pub fn is_blank(&self) -> bool {
        self.kind == Kind::Blank
    }

    /// Whether it is a comment alone on its line.
    pub fn is_comment(&self) -> bool {
        self.kind == Kind::Comment
    }

    /// Whether it starts with a sequence dash.
    pub fn is_item(&self) -> bool {
        self.node().is_some_and(|n| n.item)
    }
}

/// A top-level key and the lines of its block value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// The `key:` line.
    pub key_line: usize,
    /// One past the last line of the block (blank lines and column-0
    /// comments before the next top-level key included).
    pub end: usize,
    /// The block's last indented (or dash) non-blank line, comments
    /// included: where an entry appended to the block goes after.
    pub last_content: Option<usize>,
    /// The indentation of the block's first entry.
    pub child_indent: Option<usize>,
}

/// One entry of a top-level block sequence of mappings (a kustomization's
/// `images:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Its index in the sequence.
    pub index: usize,
    /// The line of its dash.
    pub first: usize,
    /// Its last line (nested and continued values included, trailing
    /// comments not).
    pub last: usize,
    /// The column of its keys, if it has any.
    pub column: Option<usize>,
    /// Whether it is written in flow style (`- {name: …}`).
    pub flow: bool,
    /// Its keys and the lines that hold them.
    pub fields: BTreeMap<String, usize>,
}

impl Item {
    /// The path of the item.
    pub fn path(&self, sequence: &str) -> Path {
        Path::root().key(sequence).index(self.index)
    }
}

/// A scanned YAML text.
#[derive(Debug, Clone)]
pub struct Doc<'a> {
    text: &'a str,
    lines: Vec<YamlLine<'a>>,
}

/// A container the scanner is inside, and the step into it.
struct Frame {
    column: usize,
    step: Step,
}

impl Frame {
    fn is_sequence(&self) -> bool {
        matches!(self.step, Step::Index(_))
    }
}

fn path_of(frames: &[Frame]) -> Path {
    Path(frames.iter().map(|f| f.step.clone()).collect())
}

fn tab_error(line: &Line<'_>) -> Error {
    Error::usage(format!(
        "line {}: a tab in the indentation (YAML indents with spaces only)",
        line.number()
    ))
}

/// The key of `content` (a line's text from its node column) and the
/// offset just past its colon, if the content is `key: value`.
fn key_of(content: &str) -> Option<(String, usize)> {
    let first = content.chars().next()?;
    let colon_ends = |at: usize| {
        content[at..].starts_with(':')
            && content[at + 1..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == '\t')
    };
    if first == '"' || first == '\'' {
        let bytes = content.as_bytes();
        let mut i = 1;
        while i < bytes.len() {
            let b = bytes[i];
            if first == '"' && b == b'\\' {
                i += 2;
                continue;
            }
            if b == first as u8 {
                if first == '\'' && bytes.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                let after = &content[i + 1..];
                let gap = after.len() - after.trim_start_matches([' ', '\t']).len();
                let at = i + 1 + gap;
                return colon_ends(at).then(|| (content[1..i].to_owned(), at + 1));
            }
            i += 1;
        }
        return None;
    }
    if "[]{}#&*!|>%@`,?".contains(first) {
        return None;
    }
    let bytes = content.as_bytes();
    for i in 0..bytes.len() {
        if bytes[i] == b'#' && i > 0 && matches!(bytes[i - 1], b' ' | b'\t') {
            return None;
        }
        if bytes[i] == b':' && colon_ends(i) {
            return Some((content[..i].trim_end().to_owned(), i + 1));
        }
    }
    None
}

/// Whether a value opens a block scalar (`|`, `>-`, `|2+`, …).
fn opens_block_scalar(value: &str) -> bool {
    value.starts_with(['|', '>'])
        && value[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || c == '+' || c == '-')
}

impl<'a> Doc<'a> {
    /// Scans `text`. Fails (exit 2) on a tab in a line's indentation,
    /// naming the line.
    pub fn scan(text: &'a str) -> Result<Self> {
        let mut out = Vec::new();
        let mut frames: Vec<Frame> = Vec::new();
        // The column a block scalar's content lines are deeper than.
        let mut scalar_owner: Option<usize> = None;
        for line in lines::split(text) {
            let body = line.body;
            let indent = body.len() - body.trim_start_matches(' ').len();
            let rest = &body[indent..];
            let mut push = |kind: Kind, path: Path| {
                out.push(YamlLine {
                    line,
                    indent,
                    kind,
                    path,
                });
            };
            if rest.trim().is_empty() {
                push(Kind::Blank, Path::root());
                continue;
            }
            if let Some(owner) = scalar_owner {
                if indent > owner {
                    push(Kind::Text, path_of(&frames));
                    continue;
                }
                scalar_owner = None;
            }
            if rest.trim_start_matches([' ', '\t']).starts_with('#') {
                push(Kind::Comment, Path::root());
                continue;
            }
            if rest.starts_with('\t') {
                return Err(tab_error(&line));
            }
            let marker = |m: &str| {
                rest.strip_prefix(m)
                    .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
            };
            if indent == 0 && (marker("---") || marker("...") || rest.starts_with('%')) {
                frames.clear();
                push(Kind::Text, Path::root());
                continue;
            }
            let item = rest == "-" || rest.starts_with("- ") || rest.starts_with("-\t");
            let (column, content) = if item {
                let after = &rest[1..];
                let gap = after.len() - after.trim_start_matches([' ', '\t']).len();
                (indent + 1 + gap, &after[gap..])
            } else {
                (indent, rest)
            };
            let key = key_of(content);
            if item && key.is_some() && rest[1..column - indent].contains('\t') {
                return Err(tab_error(&line));
            }
            // Leave the containers this line is not inside.
            while frames.last().is_some_and(|f| f.column > indent) {
                frames.pop();
            }
            if item {
                match frames.last_mut() {
                    Some(f) if f.column == indent && f.is_sequence() => {
                        if let Step::Index(n) = &mut f.step {
                            *n += 1;
                        }
                    }
                    _ => frames.push(Frame {
                        column: indent,
                        step: Step::Index(0),
                    }),
                }
                if let Some((k, _)) = &key {
                    frames.push(Frame {
                        column,
                        step: Step::Key(k.clone()),
                    });
                }
            } else if let Some((k, _)) = &key {
                // A sequence at its parent key's indentation ends here.
                if frames
                    .last()
                    .is_some_and(|f| f.column == indent && f.is_sequence())
                {
                    frames.pop();
                }
                match frames.last_mut() {
                    Some(f) if f.column == indent && !f.is_sequence() => {
                        f.step = Step::Key(k.clone());
                    }
                    _ => frames.push(Frame {
                        column: indent,
                        step: Step::Key(k.clone()),
                    }),
                }
            }
            let value_from = match &key {
                Some((_, past_colon)) => {
                    let at = column + past_colon;
                    at + (body[at..].len() - body[at..].trim_start_matches([' ', '\t']).len())
                }
                None => column,
            };
            let value = lines::value_span(body, value_from);
            if opens_block_scalar(value.of(body)) {
                scalar_owner = Some(if key.is_some() { column } else { indent });
            }
            push(
                Kind::Node(Node {
                    item,
                    column,
                    key: key.map(|(k, _)| k),
                    value_from,
                    value,
                }),
                path_of(&frames),
            );
        }
        Ok(Doc { text, lines: out })
    }

    /// The text scanned.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Its lines.
    pub fn lines(&self) -> &[YamlLine<'a>] {
        &self.lines
    }

    /// The line ending the file uses.
    pub fn newline(&self) -> &'static str {
        lines::newline(self.text)
    }

    /// An empty patch of the text.
    pub fn patch(&self) -> Patch<'a> {
        Patch::new(self.text)
    }

    /// The first line that is the top-level `key:`.
    fn top_level_line(&self, key: &str) -> Option<usize> {
        self.lines
            .iter()
            .position(|l| l.indent == 0 && !l.is_item() && l.key() == Some(key))
    }

    /// The block of the top-level `key:`, if the file has one. Fails
    /// (exit 2) when the key has an inline value (`key: [a, b]`): only a
    /// block can be extended line by line.
    pub fn top_level(&self, key: &str) -> Result<Option<Block>> {
        let Some(key_line) = self.top_level_line(key) else {
            return Ok(None);
        };
        let rest = self.lines[key_line].raw_value().unwrap_or("").trim();
        if !(rest.is_empty() || rest.starts_with('#')) {
            return Err(Error::usage(format!(
                "`{key}:` has an inline value ({rest}); only block style can be edited safely"
            )));
        }
        let mut end = key_line + 1;
        let mut last_content = None;
        let mut child_indent = None;
        while let Some(l) = self.lines.get(end) {
            let entry = l.indent > 0 || l.is_item();
            if !l.is_blank() && !l.is_comment() && !entry {
                break; // the next top-level key
            }
            if !l.is_blank() && entry {
                last_content = Some(end);
                if child_indent.is_none() && !l.is_comment() {
                    child_indent = Some(l.indent);
                }
            }
            end += 1;
        }
        Ok(Some(Block {
            key_line,
            end,
            last_content,
            child_indent,
        }))
    }

    /// The entries of the top-level block sequence `key:`, in order.
    pub fn items(&self, key: &str) -> Vec<Item> {
        let seq = Path::root().key(key);
        let mut items: Vec<Item> = Vec::new();
        for (idx, l) in self.lines.iter().enumerate() {
            let Some(&Step::Index(index)) = l.path.steps().get(1) else {
                continue;
            };
            if !l.path.starts_with(&seq) || matches!(l.kind, Kind::Blank | Kind::Comment) {
                continue;
            }
            if items.last().is_none_or(|i| i.index != index) {
                items.push(Item {
                    index,
                    first: idx,
                    last: idx,
                    column: None,
                    flow: l.key().is_none() && l.raw_value().is_some_and(|v| v.starts_with('{')),
                    fields: BTreeMap::new(),
                });
            }
            let Some(item) = items.last_mut() else {
                continue;
            };
            item.last = idx;
            if let (Some(k), Some(n), 3) = (l.key(), l.node(), l.path.steps().len()) {
                item.column.get_or_insert(n.column);
                item.fields.insert(k.to_owned(), idx);
            }
        }
        items
    }
}

/// The value a scalar written as `text` (quotes and comment included)
/// has once parsed: what an edit that writes `text` means to set.
pub fn scalar(text: &str) -> Result<Yaml> {
    serde_yaml_ng::from_str(text)
        .map_err(|e| Error::usage(format!("the value {text:?} does not parse as YAML: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str) -> Vec<String> {
        Doc::scan(text)
            .unwrap()
            .lines()
            .iter()
            .map(|l| match &l.kind {
                Kind::Node(_) => l.path.to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn every_node_line_knows_its_path() {
        let text = "\
# top
images:
  - name: api
    newTag: x   # c
  -
    name: b
resources:
- a
- b
services:
  api:
    image: \"x:1\"
    command: |
      image: not-a-key
    'quoted key': 1
";
        assert_eq!(
            paths(text),
            [
                "Comment",
                "images",
                "images[0].name",
                "images[0].newTag",
                "images[1]",
                "images[1].name",
                "resources",
                "resources[0]",
                "resources[1]",
                "services",
                "services.api",
                "services.api.image",
                "services.api.command",
                "Text",
                "services.api.quoted key",
            ]
        );
        let doc = Doc::scan(text).unwrap();
        let image = &doc.lines()[11];
        assert_eq!(image.key(), Some("image"));
        assert_eq!(image.value(), Some("x:1"));
        assert_eq!(image.raw_value(), Some("\"x:1\""));
        assert_eq!(doc.lines()[3].value(), Some("x"));
    }

    #[test]
    fn tabs_in_the_indentation_are_refused_with_the_line() {
        let err = Doc::scan("a:\n\tb: 1\n").unwrap_err();
        assert_eq!(err.status(), crate::exit::Exit::Usage);
        assert!(
            err.to_string()
                .starts_with("line 2: a tab in the indentation"),
            "{err}"
        );
        let err = Doc::scan("a:\n  -\tb: 1\n").unwrap_err();
        assert!(err.to_string().starts_with("line 2:"), "{err}");
        // Not indentation: after a colon, in a comment's lead, in a block scalar, in a blank line.
        Doc::scan("a:\t1\n \t# c\nb: |\n  x\n  \ty\n\t\n").unwrap();
    }

    #[test]
    fn top_level_blocks() {
        let text = "packages:\n  - a\n  # c\n\n# top comment\nnext: 1\n";
        let doc = Doc::scan(text).unwrap();
        let b = doc.top_level("packages").unwrap().unwrap();
        assert_eq!(
            (b.key_line, b.end, b.last_content, b.child_indent),
            (0, 5, Some(2), Some(2))
        );
        assert!(doc.top_level("missing").unwrap().is_none());
        let doc = Doc::scan("packages: [a]\n").unwrap();
        assert!(doc.top_level("packages").is_err());
    }

    #[test]
    fn sequence_items_and_their_fields() {
        let text = "images:\n  # c\n  - name: a\n    newTag: '1'\n    extra:\n      deep: 1\n  # trailing\n  - {name: b}\nnext: 1\n";
        let doc = Doc::scan(text).unwrap();
        let items = doc.items("images");
        assert_eq!(items.len(), 2);
        assert_eq!(
            (items[0].first, items[0].last, items[0].column),
            (2, 5, Some(4))
        );
        assert_eq!(
            items[0].fields.keys().collect::<Vec<_>>(),
            ["extra", "name", "newTag"]
        );
        assert!(!items[0].flow && items[1].flow);
        assert_eq!(items[1].path("images").to_string(), "images[1]");
    }

    #[test]
    fn scalars_parse_as_written() {
        assert_eq!(scalar("\"7.2\" # c").unwrap(), Yaml::String("7.2".into()));
        assert!(scalar("7.2").unwrap().is_f64());
        assert_eq!(
            scalar("sha256:ab").unwrap(),
            Yaml::String("sha256:ab".into())
        );
    }
}
