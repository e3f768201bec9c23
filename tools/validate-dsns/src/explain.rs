//! `validate-dsns explain`: how libpq would read one DSN.

use std::collections::BTreeMap;

use deploykit::dsn::Dsn;
use deploykit::exit::{Error, Exit, Result};
use deploykit::output::Reporter;
use serde::Serialize;

#[derive(Serialize)]
struct Explained {
    ok: bool,
    connection_kind: &'static str,
    options: BTreeMap<&'static str, String>,
}

/// Parses `raw` and prints its keywords; a parse error is a usage error.
pub fn run(raw: &str, out: &Reporter) -> Result<Exit> {
    let raw = if raw == "-" {
        let text = std::io::read_to_string(std::io::stdin())?;
        text.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        raw.to_owned()
    };
    let dsn = Dsn::parse(&raw).map_err(Error::usage)?;
    let explained = Explained {
        ok: true,
        connection_kind: dsn.connection_kind().as_str(),
        options: dsn.redacted_options(),
    };
    if out.json() {
        out.json_document(&explained)?;
    } else {
        out.line(format_args!(
            "connection_kind: {}",
            explained.connection_kind
        ))?;
        for (key, value) in &explained.options {
            out.line(format_args!("{key}: {value}"))?;
        }
    }
    Ok(Exit::Success)
}
