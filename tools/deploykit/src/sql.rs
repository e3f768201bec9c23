//! Quoting for SQL built from user input (role, database, table names).
//!
//! Role and database names arrive in DSNs, so they are data, never SQL: every
//! identifier goes through [`quote_ident`] and every literal through
//! [`quote_literal`], the same rules as Postgres' `quote_ident`/`quote_literal`.

/// Quotes an identifier: `a"b` becomes `"a""b"`. Always quoted, so that
/// case and reserved words survive as written.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a possibly schema-qualified name (`schema.table`), each part
/// quoted on its own. A part that is already double-quoted is kept as is.
pub fn quote_qualified(name: &str) -> String {
    split_qualified(name)
        .iter()
        .map(|p| quote_ident(p))
        .collect::<Vec<_>>()
        .join(".")
}

/// Splits `a.b` / `"a.b".c` into its unquoted parts.
fn split_qualified(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = name.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            ('"', true) => quoted = false,
            ('.', false) => parts.push(std::mem::take(&mut current)),
            (c, _) => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// Quotes a string literal: `it's` becomes `'it''s'`; a backslash makes it
/// an escape string (`E'a\\b'`) so it means the same under any
/// `standard_conforming_strings`.
pub fn quote_literal(value: &str) -> String {
    let body = value.replace('\'', "''");
    if body.contains('\\') {
        format!("E'{}'", body.replace('\\', "\\\\"))
    } else {
        format!("'{body}'")
    }
}

/// Whether Postgres would accept `name` as a role or database name: not
/// empty, at most 63 bytes (longer names are silently truncated, which would
/// make two names one), and without NUL.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        Err("name is empty".into())
    } else if name.len() > 63 {
        Err(format!(
            "name is {} bytes long; Postgres truncates names to 63 bytes",
            name.len()
        ))
    } else if name.contains('\0') {
        Err("name contains a NUL byte".into())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_literals() {
        assert_eq!(quote_ident("app"), "\"app\"");
        assert_eq!(
            quote_ident("a\"b; DROP TABLE x"),
            "\"a\"\"b; DROP TABLE x\""
        );
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b'"), "E'a\\\\b'''");
        assert_eq!(
            quote_qualified("public.bk_env_marker"),
            "\"public\".\"bk_env_marker\""
        );
        assert_eq!(quote_qualified("\"a.b\".c"), "\"a.b\".\"c\"");
        assert!(check_name(&"x".repeat(64)).is_err());
        assert!(check_name("").is_err());
        assert!(check_name("ok").is_ok());
    }
}
