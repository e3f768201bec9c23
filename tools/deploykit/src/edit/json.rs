//! JSON edits through a concrete syntax tree.
//!
//! `jsonc-parser`'s CST keeps every piece of whitespace and every member in
//! its place, and a member added to an object takes the indentation and the
//! line endings its siblings use, so a JSON edit needs no scanner of its
//! own. The files edited here are plain JSON (`package.json`), so the
//! parser is held to strict JSON: no comments, trailing commas or JSON5.

pub use jsonc_parser::cst;

use jsonc_parser::ParseOptions;

use crate::exit::{Error, Result};

/// Strict JSON: what `serde_json` (and npm) accept, nothing more.
fn strict() -> ParseOptions {
    ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Parses `text` into its syntax tree, to edit and print back with
/// `to_string()`. Fails (exit 2) if it is not JSON.
pub fn parse(text: &str) -> Result<cst::CstRootNode> {
    cst::CstRootNode::parse(text, &strict())
        .map_err(|e| Error::usage(format!("does not parse as JSON: {e}")))
}

/// The root object of a parsed document. Fails (exit 2) if the root is
/// not an object.
pub fn root_object(root: &cst::CstRootNode) -> Result<cst::CstObject> {
    root.object_value()
        .ok_or_else(|| Error::usage("is not a JSON object"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_added_in_the_file_style() {
        let root = parse("{\r\n    \"a\": {\r\n        \"b\": 1\r\n    }\r\n}\r\n").unwrap();
        let a = root_object(&root).unwrap().object_value("a").unwrap();
        a.append("c", cst::CstInputValue::String("d".into()));
        assert_eq!(
            root.to_string(),
            "{\r\n    \"a\": {\r\n        \"b\": 1,\r\n        \"c\": \"d\"\r\n    }\r\n}\r\n"
        );
    }

    #[test]
    fn only_strict_json_parses() {
        assert!(parse("{\"a\": 1, // c\n}").is_err());
        assert!(parse("{'a': 1}").is_err());
        assert!(root_object(&parse("[1]").unwrap()).is_err());
    }
}
