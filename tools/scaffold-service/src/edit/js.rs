//! The JavaScript edit: a rule in a dependency-cruiser config's
//! `forbidden` array.
//!
//! The config is code, not data, so no parser proves this edit; the
//! scanner knows strings, template literals and comments well enough to
//! find the brackets that are code, and the result must still balance them
//! and name the rule exactly once.

use deploykit::edit::lines;

use super::outcome::{EditResult, Outcome, unsupported};

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

/// The indentation of the line holding byte `at`.
fn line_indent(src: &str, at: usize) -> String {
    let line_start = src[..at].rfind('\n').map_or(0, |i| i + 1);
    src[line_start..at]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// `block`'s lines indented by `indent` spaces, joined by `nl`.
fn indent_block(block: &str, indent: usize, nl: &str) -> String {
    lines::indented(block, indent)
        .join(nl)
        .trim_end_matches(['\n', '\r'])
        .to_owned()
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
    let nl = lines::newline(src);
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
                indent_block(rule, indent.len(), nl),
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
    use super::super::outcome::changed;
    use super::*;

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
