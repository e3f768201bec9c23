//! Surgical edits of the repo's existing files.
//!
//! Each edit inserts text at one place and leaves every other byte of the
//! file as it was: comments, key order, quoting and blank lines are the
//! owners' and a generator has no business reformatting them. So the files
//! are not parsed and re-serialised; the insertion point is found by a small
//! scanner, and the result is then parsed and compared with the original to
//! prove that the edit added exactly the intended entry and changed nothing
//! else (a file the scanner misreads is refused, not corrupted). Every edit
//! is idempotent: applied to its own output it reports [`Outcome::Unchanged`].

use std::fmt;

use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

/// What an edit does to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The file already has the entry; nothing to write.
    Unchanged,
    /// The file's new content.
    Changed(String),
}

/// Why an edit cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// The file already has a different entry of the same name (exit 1).
    Conflict(String),
    /// The file does not parse, or has a shape this editor does not handle (exit 2).
    Unsupported(String),
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::Conflict(m) | EditError::Unsupported(m) => f.write_str(m),
        }
    }
}

type EditResult = Result<Outcome, EditError>;

fn unsupported(msg: impl Into<String>) -> EditError {
    EditError::Unsupported(msg.into())
}

/// The line ending the file uses.
fn newline(src: &str) -> &'static str {
    if src.contains("\r\n") { "\r\n" } else { "\n" }
}

fn parse_yaml(src: &str, what: &str) -> Result<Yaml, EditError> {
    if src.trim().is_empty() {
        return Ok(Yaml::Mapping(serde_yaml_ng::Mapping::new()));
    }
    serde_yaml_ng::from_str(src)
        .map_err(|e| unsupported(format!("{what} does not parse as YAML: {e}")))
}

/// One line of a YAML file and what the block scanner needs to know about it.
struct Line<'a> {
    text: &'a str,
    /// Byte offset of the line's start in the file.
    start: usize,
}

impl Line<'_> {
    fn content(&self) -> &str {
        self.text.trim_end_matches(['\n', '\r'])
    }
    fn is_blank(&self) -> bool {
        self.content().trim().is_empty()
    }
    fn indent(&self) -> usize {
        self.content().len() - self.content().trim_start_matches(' ').len()
    }
    fn is_comment(&self) -> bool {
        self.content().trim_start().starts_with('#')
    }
    fn end(&self) -> usize {
        self.start + self.text.len()
    }
}

fn lines(src: &str) -> Vec<Line<'_>> {
    let mut start = 0;
    src.split_inclusive('\n')
        .map(|text| {
            let line = Line { text, start };
            start += text.len();
            line
        })
        .collect()
}

/// A top-level key's block: the key's line and the lines of its value.
struct Block {
    key_line: usize,
    /// One past the last line that belongs to the block.
    end: usize,
    /// The last indented, non-blank line of the block (where to insert after).
    last_content: Option<usize>,
    /// The indentation of the block's first entry.
    child_indent: Option<usize>,
}

/// Finds `key:` at column 0 and the extent of its block value.
fn top_level_block(lines: &[Line<'_>], key: &str, what: &str) -> Result<Option<Block>, EditError> {
    let prefix = format!("{key}:");
    let Some(key_line) = lines.iter().position(|l| l.content().starts_with(&prefix)) else {
        return Ok(None);
    };
    let rest = lines[key_line].content()[prefix.len()..].trim();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return Err(unsupported(format!(
            "{what}: `{key}:` has an inline value ({rest}); only block style can be edited safely"
        )));
    }
    let mut end = key_line + 1;
    let mut last_content = None;
    let mut child_indent = None;
    while end < lines.len() {
        let line = &lines[end];
        let c = line.content();
        let sequence_item = c == "-" || c.starts_with("- ");
        if !line.is_blank() && line.indent() == 0 && !line.is_comment() && !sequence_item {
            break;
        }
        if !line.is_blank() && (line.indent() > 0 || sequence_item) {
            last_content = Some(end);
            if child_indent.is_none() && !line.is_comment() {
                child_indent = Some(line.indent());
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

/// Inserts `text` after line `after` (or at the end of the file).
fn insert_after_line(src: &str, lines: &[Line<'_>], after: Option<usize>, text: &str) -> String {
    let nl = newline(src);
    let at = after.map_or(src.len(), |i| lines[i].end());
    let mut out = String::with_capacity(src.len() + text.len() + 2);
    out.push_str(&src[..at]);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(nl);
    }
    out.push_str(text);
    out.push_str(&src[at..]);
    out
}

fn indent_block(block: &str, indent: usize, nl: &str) -> String {
    let pad = " ".repeat(indent);
    block
        .lines()
        .map(|l| {
            if l.trim().is_empty() {
                nl.to_owned()
            } else {
                format!("{pad}{l}{nl}")
            }
        })
        .collect()
}

/// Adds `glob` to the top-level `packages:` list of `pnpm-workspace.yaml`.
pub fn add_workspace_package(src: &str, glob: &str) -> EditResult {
    let what = "pnpm-workspace.yaml";
    let before = parse_yaml(src, what)?;
    let root = before
        .as_mapping()
        .ok_or_else(|| unsupported(format!("{what} is not a mapping")))?;
    let packages: Vec<Yaml> = match root.get("packages") {
        None | Some(Yaml::Null) => Vec::new(),
        Some(Yaml::Sequence(s)) => s.clone(),
        Some(_) => return Err(unsupported(format!("{what}: `packages` is not a list"))),
    };
    if packages.iter().any(|p| p.as_str() == Some(glob)) {
        return Ok(Outcome::Unchanged);
    }
    let nl = newline(src);
    let ls = lines(src);
    let new = match top_level_block(&ls, "packages", what)? {
        None => insert_after_line(src, &ls, None, &format!("packages:{nl}  - \"{glob}\"{nl}")),
        Some(block) => {
            let first_item = (block.key_line + 1..block.end)
                .map(|i| &ls[i])
                .find(|l| !l.is_blank() && !l.is_comment());
            let (indent, quote) = match first_item {
                Some(item) => {
                    let value = item
                        .content()
                        .trim_start()
                        .trim_start_matches('-')
                        .trim_start();
                    let quote = match value.chars().next() {
                        Some('"') => "\"",
                        Some('\'') => "'",
                        _ => "",
                    };
                    (item.indent(), quote)
                }
                None => (2, "\""),
            };
            let item = format!("{}- {quote}{glob}{quote}{nl}", " ".repeat(indent));
            insert_after_line(src, &ls, block.last_content.or(Some(block.key_line)), &item)
        }
    };
    // Prove it: the list gained exactly `glob`, nothing else moved.
    let after = parse_yaml(&new, what)?;
    let mut expected = before.clone();
    if let Some(map) = expected.as_mapping_mut() {
        let mut list = packages;
        list.push(Yaml::String(glob.to_owned()));
        map.insert(Yaml::String("packages".into()), Yaml::Sequence(list));
    }
    if after != expected {
        return Err(unsupported(format!(
            "{what}: could not add {glob:?} without changing other entries"
        )));
    }
    Ok(Outcome::Changed(new))
}

/// Adds the service `name`, defined by `block` (YAML rendered at indent 0,
/// starting with `name:`), under the top-level `services:` of a Compose file.
///
/// A service of that name that builds `services/<name>/Dockerfile` is this
/// one, already wired (unchanged); any other service of that name conflicts.
pub fn add_compose_service(src: &str, what: &str, name: &str, block: &str) -> EditResult {
    let before = parse_yaml(src, what)?;
    let snippet = parse_yaml(block, "the Compose service template")?;
    let definition = snippet
        .get(name)
        .ok_or_else(|| {
            unsupported(format!(
                "the Compose service template does not define `{name}`"
            ))
        })?
        .clone();
    let services = before.get("services");
    if let Some(existing) = services.and_then(|s| s.get(name)) {
        let dockerfile = format!("services/{name}/Dockerfile");
        let ours = existing
            .get("build")
            .and_then(|b| b.get("dockerfile"))
            .and_then(Yaml::as_str)
            == Some(dockerfile.as_str());
        return if ours {
            Ok(Outcome::Unchanged)
        } else {
            Err(EditError::Conflict(format!(
                "{what} already has a service named {name:?} (not built from {dockerfile})"
            )))
        };
    }
    if services.is_some_and(|s| !s.is_mapping() && !s.is_null()) {
        return Err(unsupported(format!("{what}: `services` is not a mapping")));
    }
    let nl = newline(src);
    let ls = lines(src);
    let new = match top_level_block(&ls, "services", what)? {
        None => {
            let sep = if src.trim().is_empty() { "" } else { nl };
            let text = format!("{sep}services:{nl}{}", indent_block(block, 2, nl));
            insert_after_line(src, &ls, None, &text)
        }
        Some(b) => {
            let indent = b.child_indent.unwrap_or(2);
            // Follow the file's habit: a blank line between services if it has them.
            let spaced = (b.key_line + 1..b.end).any(|i| {
                ls[i].is_blank()
                    && ls
                        .get(i + 1)
                        .is_some_and(|n| n.indent() == indent && !n.is_blank() && !n.is_comment())
            });
            let mut text = String::new();
            if spaced {
                text.push_str(nl);
            }
            text.push_str(&indent_block(block, indent, nl));
            insert_after_line(src, &ls, b.last_content.or(Some(b.key_line)), &text)
        }
    };
    let after = parse_yaml(&new, what)?;
    let mut expected = before.clone();
    let map = expected
        .as_mapping_mut()
        .ok_or_else(|| unsupported(format!("{what} is not a mapping")))?;
    let services = map
        .entry(Yaml::String("services".into()))
        .or_insert(Yaml::Mapping(serde_yaml_ng::Mapping::new()));
    if services.is_null() {
        *services = Yaml::Mapping(serde_yaml_ng::Mapping::new());
    }
    if let Some(s) = services.as_mapping_mut() {
        s.insert(Yaml::String(name.to_owned()), definition);
    }
    if after != expected {
        return Err(unsupported(format!(
            "{what}: could not add service {name:?} without changing other entries"
        )));
    }
    Ok(Outcome::Changed(new))
}

/// A byte span `(start, end)` in the source.
type Span = (usize, usize);

/// A JSON scanner just good enough to find members' byte spans.
struct JsonScan<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonScan<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn string(&mut self) -> Option<(usize, usize)> {
        let start = self.i;
        if self.s.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return Some((start, self.i));
                }
                _ => self.i += 1,
            }
        }
        None
    }
    /// Skips one value; returns its span.
    fn value(&mut self) -> Option<(usize, usize)> {
        self.ws();
        let start = self.i;
        match self.s.get(self.i)? {
            b'"' => {
                self.string()?;
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.s.get(self.i)? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while self.i < self.s.len() && !matches!(self.s[self.i], b',' | b'}' | b']') {
                    self.i += 1;
                }
                while self.i > start && matches!(self.s[self.i - 1], b' ' | b'\t' | b'\n' | b'\r') {
                    self.i -= 1;
                }
            }
        }
        Some((start, self.i))
    }
    /// The members of the object starting at `self.i`: (key span, value span), and the closing brace.
    fn members(&mut self) -> Option<(Vec<(Span, Span)>, usize)> {
        self.ws();
        if self.s.get(self.i) != Some(&b'{') {
            return None;
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            self.ws();
            match self.s.get(self.i)? {
                b'}' => return Some((out, self.i)),
                b',' => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            let key = self.string()?;
            self.ws();
            if self.s.get(self.i) != Some(&b':') {
                return None;
            }
            self.i += 1;
            let value = self.value()?;
            out.push((key, value));
        }
    }
}

/// The indentation of the line holding byte `at`.
fn line_indent(src: &str, at: usize) -> String {
    let line_start = src[..at].rfind('\n').map_or(0, |i| i + 1);
    src[line_start..at]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// Adds `entries` to the `scripts` object of a root `package.json`.
pub fn add_scripts(src: &str, entries: &[(String, String)]) -> EditResult {
    let what = "package.json";
    let before: Json = serde_json::from_str(src)
        .map_err(|e| unsupported(format!("{what} does not parse as JSON: {e}")))?;
    let root = before
        .as_object()
        .ok_or_else(|| unsupported(format!("{what} is not a JSON object")))?;
    let scripts = root.get("scripts");
    if scripts.is_some_and(|s| !s.is_object()) {
        return Err(unsupported(format!("{what}: `scripts` is not an object")));
    }
    let mut missing = Vec::new();
    for (key, value) in entries {
        match scripts.and_then(|s| s.get(key)) {
            Some(Json::String(v)) if v == value => {}
            Some(other) => {
                return Err(EditError::Conflict(format!(
                    "{what} already has a script {key:?} ({other}); remove it or choose another name"
                )));
            }
            None => missing.push((key, value)),
        }
    }
    if missing.is_empty() {
        return Ok(Outcome::Unchanged);
    }
    let nl = newline(src);
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let bytes = src.as_bytes();
    let mut scan = JsonScan { s: bytes, i: 0 };
    let (members, root_close) = scan.members().ok_or_else(|| {
        unsupported(format!(
            "{what}: could not find the members of the root object"
        ))
    })?;
    let member_indent = members
        .first()
        .map_or_else(|| "  ".to_owned(), |(k, _)| line_indent(src, k.0));
    let scripts_member = members
        .iter()
        .find(|(k, _)| &src[k.0 + 1..k.1 - 1] == "scripts");
    let new = if let Some((key, value)) = scripts_member {
        let mut inner = JsonScan {
            s: bytes,
            i: value.0,
        };
        let (script_members, close) = inner
            .members()
            .ok_or_else(|| unsupported(format!("{what}: could not read the `scripts` object")))?;
        let key_indent = line_indent(src, key.0);
        let indent = script_members.first().map_or_else(
            || format!("{key_indent}{}", unit(&member_indent, &key_indent)),
            |(k, _)| line_indent(src, k.0),
        );
        let lines: Vec<String> = missing
            .iter()
            .map(|(k, v)| format!("{indent}{}: {}", quote(k), quote(v)))
            .collect();
        if let Some((_, last_value)) = script_members.last() {
            let at = last_value.1;
            format!(
                "{},{nl}{}{}",
                &src[..at],
                lines.join(&format!(",{nl}")),
                &src[at..]
            )
        } else {
            // `"scripts": {}`: open it up.
            format!(
                "{}{{{nl}{}{nl}{key_indent}}}{}",
                &src[..value.0],
                lines.join(&format!(",{nl}")),
                &src[close + 1..]
            )
        }
    } else {
        let inner_indent = format!("{member_indent}{}", unit(&member_indent, ""));
        let lines: Vec<String> = missing
            .iter()
            .map(|(k, v)| format!("{inner_indent}{}: {}", quote(k), quote(v)))
            .collect();
        let block = format!(
            "{member_indent}\"scripts\": {{{nl}{}{nl}{member_indent}}}",
            lines.join(&format!(",{nl}"))
        );
        match members.last() {
            Some((_, last_value)) => format!(
                "{},{nl}{block}{}",
                &src[..last_value.1],
                &src[last_value.1..]
            ),
            None => format!(
                "{}{nl}{block}{nl}{}",
                &src[..root_close],
                &src[root_close..]
            ),
        }
    };
    let after: Json = serde_json::from_str(&new).map_err(|e| {
        unsupported(format!(
            "{what}: the edit would not parse ({e}); add the scripts by hand"
        ))
    })?;
    let mut expected = before.clone();
    if let Some(obj) = expected.as_object_mut() {
        let scripts = obj
            .entry("scripts")
            .or_insert_with(|| Json::Object(serde_json::Map::new()));
        if let Some(s) = scripts.as_object_mut() {
            for (k, v) in &missing {
                s.insert((*k).clone(), Json::String((*v).clone()));
            }
        }
    }
    if after != expected {
        return Err(unsupported(format!(
            "{what}: could not add the scripts without changing other entries"
        )));
    }
    Ok(Outcome::Changed(new))
}

/// The file's indentation unit, from a member's indentation and its parent's.
fn unit(member: &str, parent: &str) -> String {
    let u = member.strip_prefix(parent).unwrap_or(member);
    if u.is_empty() {
        "  ".to_owned()
    } else {
        u.to_owned()
    }
}

/// A JavaScript scanner that knows strings, template literals and comments,
/// enough to find brackets that are code.
struct JsScan<'a> {
    s: &'a [u8],
}

impl JsScan<'_> {
    /// If a string or comment starts at `i`, the index just past it.
    fn skip_literal(&self, i: usize) -> Option<usize> {
        let s = self.s;
        match s[i] {
            q @ (b'"' | b'\'' | b'`') => {
                let mut j = i + 1;
                while j < s.len() {
                    if s[j] == b'\\' {
                        j += 2;
                        continue;
                    }
                    if s[j] == q {
                        return Some(j + 1);
                    }
                    j += 1;
                }
                Some(s.len())
            }
            b'/' if s.get(i + 1) == Some(&b'/') => Some(
                s[i..]
                    .iter()
                    .position(|c| *c == b'\n')
                    .map_or(s.len(), |p| i + p),
            ),
            b'/' if s.get(i + 1) == Some(&b'*') => Some(
                s[i + 2..]
                    .windows(2)
                    .position(|w| w == b"*/")
                    .map_or(s.len(), |p| i + 2 + p + 2),
            ),
            _ => None,
        }
    }

    /// The code positions (outside strings and comments), in order.
    fn code(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.s.len() {
            if let Some(next) = self.skip_literal(i) {
                i = next;
            } else {
                out.push(i);
                i += 1;
            }
        }
        out
    }
}

/// Adds a rule (an object literal, rendered at indent 0 without a trailing
/// comma) to the `forbidden` array of a dependency-cruiser config.
pub fn add_forbidden_rule(src: &str, what: &str, rule_name: &str, rule: &str) -> EditResult {
    if src.contains(&format!("\"{rule_name}\"")) || src.contains(&format!("'{rule_name}'")) {
        return Ok(Outcome::Unchanged);
    }
    let bytes = src.as_bytes();
    let code = JsScan { s: bytes }.code();
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
    // `forbidden` as a code identifier (or quoted key), then `:` and `[`.
    let mut open = None;
    for (n, &i) in code.iter().enumerate() {
        if !src[i..].starts_with("forbidden") || (i > 0 && is_ident(bytes[i - 1])) {
            continue;
        }
        let after_ident = i + "forbidden".len();
        if bytes.get(after_ident).is_some_and(|c| is_ident(*c)) {
            continue;
        }
        let mut rest = code[n..]
            .iter()
            .copied()
            .filter(|&j| j >= after_ident && !bytes[j].is_ascii_whitespace());
        if rest.next().map(|j| bytes[j]) == Some(b':')
            && let Some(j) = rest.next().filter(|&j| bytes[j] == b'[')
        {
            open = Some(j);
            break;
        }
    }
    let open = open.ok_or_else(|| unsupported(format!("{what}: no `forbidden: [` array found")))?;
    let start = code.iter().position(|&i| i == open).unwrap_or(0);
    let mut depth = 0i32;
    let mut close = None;
    let mut last_significant = open;
    for &i in &code[start..] {
        match bytes[i] {
            b'[' | b'{' | b'(' => depth += 1,
            b']' | b'}' | b')' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            _ => {}
        }
        if !bytes[i].is_ascii_whitespace() {
            last_significant = i;
        }
    }
    let close =
        close.ok_or_else(|| unsupported(format!("{what}: the `forbidden` array is not closed")))?;
    let nl = newline(src);
    let bracket_indent = line_indent(src, open);
    let first_element = code
        .iter()
        .copied()
        .find(|&i| i > open && i < close && !bytes[i].is_ascii_whitespace());
    let new = match first_element {
        None => {
            let indent = format!("{bracket_indent}  ");
            format!(
                "{}[{nl}{},{nl}{bracket_indent}]{}",
                &src[..open],
                indent_block(rule, indent.len(), nl).trim_end_matches(['\n', '\r']),
                &src[close + 1..]
            )
        }
        Some(first) => {
            let on_own_line = src[open + 1..first].contains('\n');
            let indent = if on_own_line {
                line_indent(src, first).len()
            } else {
                bracket_indent.len() + 2
            };
            let trailing_comma = bytes[last_significant] == b',';
            let body = indent_block(rule, indent, nl);
            let body = body.trim_end_matches(['\n', '\r']);
            let at = last_significant + 1;
            let lead = if trailing_comma { "" } else { "," };
            let tail = if trailing_comma { "," } else { "" };
            format!("{}{lead}{nl}{body}{tail}{}", &src[..at], &src[at..])
        }
    };
    // Prove it: the rule is now in the file once, and the brackets still balance.
    let code_after = JsScan { s: new.as_bytes() }.code();
    let balance = code_after
        .iter()
        .fold(0i32, |d, &i| match new.as_bytes()[i] {
            b'[' | b'{' | b'(' => d + 1,
            b']' | b'}' | b')' => d - 1,
            _ => d,
        });
    if new.matches(rule_name).count() != 1 || balance != 0 {
        return Err(unsupported(format!(
            "{what}: could not insert the rule safely; add it by hand"
        )));
    }
    Ok(Outcome::Changed(new))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(o: EditResult) -> String {
        match o {
            Ok(Outcome::Changed(s)) => s,
            other => panic!("expected a change, got {other:?}"),
        }
    }

    #[test]
    fn workspace_glob_follows_the_file_style_and_is_idempotent() {
        let src = "# workspace\npackages:\n  - 'packages/*'\n  - 'apps/*'\n\ncatalog:\n  zod: ^3\n";
        let new = changed(add_workspace_package(src, "services/*"));
        assert_eq!(
            new,
            "# workspace\npackages:\n  - 'packages/*'\n  - 'apps/*'\n  - 'services/*'\n\ncatalog:\n  zod: ^3\n"
        );
        assert_eq!(
            add_workspace_package(&new, "services/*"),
            Ok(Outcome::Unchanged)
        );
    }

    #[test]
    fn workspace_glob_at_column_zero_and_missing_key() {
        let new = changed(add_workspace_package(
            "packages:\n- packages/*\n",
            "services/*",
        ));
        assert_eq!(new, "packages:\n- packages/*\n- services/*\n");
        let new = changed(add_workspace_package("catalog:\n  a: b", "services/*"));
        assert_eq!(new, "catalog:\n  a: b\npackages:\n  - \"services/*\"\n");
        assert!(matches!(
            add_workspace_package("packages: [a, b]\n", "services/*"),
            Err(EditError::Unsupported(_))
        ));
    }

    const COMPOSE: &str = "services:\n  postgres:\n    image: postgres:15\n\n  app:\n    build: .\n    # app notes\n\n# shared volumes\nvolumes:\n  pgdata: {}\n";

    #[test]
    fn compose_service_goes_at_the_end_of_services() {
        let new = changed(add_compose_service(
            COMPOSE,
            "compose",
            "w",
            "w:\n  build:\n    dockerfile: services/w/Dockerfile\n",
        ));
        assert_eq!(
            new,
            "services:\n  postgres:\n    image: postgres:15\n\n  app:\n    build: .\n    # app notes\n\n  w:\n    build:\n      dockerfile: services/w/Dockerfile\n\n# shared volumes\nvolumes:\n  pgdata: {}\n"
        );
        assert_eq!(
            add_compose_service(
                &new,
                "compose",
                "w",
                "w:\n  build:\n    dockerfile: services/w/Dockerfile\n"
            ),
            Ok(Outcome::Unchanged)
        );
    }

    #[test]
    fn compose_name_clash_is_a_conflict() {
        assert!(matches!(
            add_compose_service(COMPOSE, "compose", "postgres", "postgres:\n  image: x\n"),
            Err(EditError::Conflict(_))
        ));
    }

    #[test]
    fn compose_crlf_and_four_space_indent() {
        let src = "version: '3'\r\nservices:\r\n    app:\r\n        image: a\r\n";
        let new = changed(add_compose_service(src, "c", "w", "w:\n  image: b\n"));
        assert_eq!(
            new,
            "version: '3'\r\nservices:\r\n    app:\r\n        image: a\r\n    w:\r\n      image: b\r\n"
        );
    }

    #[test]
    fn scripts_are_appended_in_the_file_style() {
        let src = "{\n    \"name\": \"@acme/root\",\n    \"scripts\": {\n        \"dev\": \"next dev\"\n    },\n    \"packageManager\": \"pnpm@9.12.2\"\n}\n";
        let entries = vec![("w:build".to_owned(), "pnpm --filter x build".to_owned())];
        let new = changed(add_scripts(src, &entries));
        assert_eq!(
            new,
            "{\n    \"name\": \"@acme/root\",\n    \"scripts\": {\n        \"dev\": \"next dev\",\n        \"w:build\": \"pnpm --filter x build\"\n    },\n    \"packageManager\": \"pnpm@9.12.2\"\n}\n"
        );
        assert_eq!(add_scripts(&new, &entries), Ok(Outcome::Unchanged));
        let clash = vec![("w:build".to_owned(), "other".to_owned())];
        assert!(matches!(
            add_scripts(&new, &clash),
            Err(EditError::Conflict(_))
        ));
    }

    #[test]
    fn scripts_object_is_created_or_opened() {
        let entries = vec![("a".to_owned(), "b".to_owned())];
        let new = changed(add_scripts("{\n  \"name\": \"r\"\n}", &entries));
        assert_eq!(
            new,
            "{\n  \"name\": \"r\",\n  \"scripts\": {\n    \"a\": \"b\"\n  }\n}"
        );
        let new = changed(add_scripts(
            "{\n  \"scripts\": {},\n  \"x\": 1\n}\n",
            &entries,
        ));
        assert_eq!(
            new,
            "{\n  \"scripts\": {\n    \"a\": \"b\"\n  },\n  \"x\": 1\n}\n"
        );
    }

    const RULE: &str =
        "{\n  name: \"no-w-service-to-src\",\n  from: { path: \"^services/w/\" },\n}";

    #[test]
    fn forbidden_rule_is_appended_with_commas_right() {
        let src = "/** @type {import('dependency-cruiser').IConfiguration} */\nmodule.exports = {\n  forbidden: [\n    {\n      name: \"no-src-to-services\", // keep ]\n      from: { path: \"^src/\" },\n    },\n  ],\n  options: {},\n};\n";
        let new = changed(add_forbidden_rule(src, "dc", "no-w-service-to-src", RULE));
        assert_eq!(
            new,
            "/** @type {import('dependency-cruiser').IConfiguration} */\nmodule.exports = {\n  forbidden: [\n    {\n      name: \"no-src-to-services\", // keep ]\n      from: { path: \"^src/\" },\n    },\n    {\n      name: \"no-w-service-to-src\",\n      from: { path: \"^services/w/\" },\n    },\n  ],\n  options: {},\n};\n"
        );
        assert_eq!(
            add_forbidden_rule(&new, "dc", "no-w-service-to-src", RULE),
            Ok(Outcome::Unchanged)
        );
    }

    #[test]
    fn forbidden_rule_without_trailing_comma_and_empty_array() {
        let src = "module.exports = {\n  forbidden: [\n    { name: 'a' }\n  ]\n};\n";
        let new = changed(add_forbidden_rule(src, "dc", "no-w-service-to-src", RULE));
        assert!(new.starts_with("module.exports = {\n  forbidden: [\n    { name: 'a' },\n    {\n      name: \"no-w-service-to-src\""), "{new}");
        assert!(new.ends_with("},\n    }\n  ]\n};\n"), "{new}");
        let new = changed(add_forbidden_rule(
            "module.exports = { forbidden: [] };\n",
            "dc",
            "no-w-service-to-src",
            RULE,
        ));
        assert_eq!(
            new,
            "module.exports = { forbidden: [\n  {\n    name: \"no-w-service-to-src\",\n    from: { path: \"^services/w/\" },\n  },\n] };\n"
        );
        assert!(add_forbidden_rule("module.exports = {};", "dc", "r", RULE).is_err());
    }
}
