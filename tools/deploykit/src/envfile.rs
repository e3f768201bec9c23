//! dotenv files (`KEY=value`, `export KEY=value`, quotes, comments), as
//! `--env-file` reads them.

use std::collections::BTreeMap;
use std::path::Path;

use crate::exit::{Error, Result};

/// Reads a dotenv file (`-` for stdin) into a map, without touching the
/// process environment. Values are never echoed in errors: a line that fails
/// to parse is reported by its number only.
pub fn read(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| Error::usage(format!("reading env file from stdin: {e}")))?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| Error::usage(format!("reading env file {}: {e}", path.display())))?
    };
    parse(&text).map_err(|e| Error::usage(format!("env file {}: {e}", path.display())))
}

/// Parses dotenv text. Later assignments override earlier ones.
pub fn parse(text: &str) -> std::result::Result<BTreeMap<String, String>, String> {
    Ok(assignments(text)?.into_iter().collect())
}

/// Every assignment of dotenv text, in order, repeats included: what an
/// edit of the file must leave alone is all of them, not only the last.
/// The error names a bad line by its number only, never its value.
pub fn assignments(text: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let mut vars = Vec::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok(pair) => vars.push(pair),
            Err(dotenvy::Error::LineParse(bad, _)) => {
                // dotenvy's message quotes the line, which may hold a
                // password: name the line by its number only.
                return Err(match text.find(bad.as_str()) {
                    Some(at) => format!(
                        "syntax error on line {}",
                        text[..at].matches('\n').count() + 1
                    ),
                    None => "syntax error".to_owned(),
                });
            }
            Err(e) => return Err(format!("{}", Redacted(&e))),
        }
    }
    Ok(vars)
}

struct Redacted<'a>(&'a dotenvy::Error);

impl std::fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            dotenvy::Error::Io(e) => write!(f, "{e}"),
            _ => f.write_str("cannot parse"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_common_forms() {
        let vars = parse(
            "# comment\nexport A=1\nB='two words'\nC=\"q\\\"uote\"\n\nD=postgres://u:p%40@h/db\n",
        )
        .unwrap();
        assert_eq!(vars["A"], "1");
        assert_eq!(vars["B"], "two words");
        assert_eq!(vars["C"], "q\"uote");
        assert_eq!(vars["D"], "postgres://u:p%40@h/db");
    }

    #[test]
    fn syntax_error_names_the_line_not_the_value() {
        let err = parse("A=1\nB='s3cret\n").unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
        assert_eq!(
            parse("A=1\nB=2\nbad line s3cret\n").unwrap_err(),
            "syntax error on line 3"
        );
        // Found by fuzzing: a multi-byte character before the error.
        assert!(parse("A=1\u{5a1cf}ort LLL1L").is_err());
    }
}
