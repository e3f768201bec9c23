//! `validate-dsns explain`: how libpq would read one DSN.
//!
//! The verdict is the check's verdict: a DSN that parses but that libpq
//! would refuse when connecting (`sslmode=bogus`, port 99999) is shown with
//! its options, `"ok": false` and the reason, and exits as the check does
//! for it (status 2), so the two can never disagree.

use std::collections::BTreeMap;

use deploykit::dsn::Dsn;
use deploykit::exit::{Error, Exit, Result};
use deploykit::output::Reporter;
use serde::Serialize;

#[derive(Serialize)]
struct Explained {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    connection_kind: &'static str,
    options: BTreeMap<&'static str, String>,
}

/// Parses `raw` and prints its keywords; a DSN libpq would refuse is a
/// usage error.
pub fn run(raw: &str, out: &Reporter) -> Result<Exit> {
    let raw = if raw == "-" {
        let text = std::io::read_to_string(std::io::stdin())?;
        text.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        raw.to_owned()
    };
    let dsn = Dsn::parse(&raw).map_err(Error::usage)?;
    let error = dsn.validate().err().map(|e| e.to_string());
    let explained = Explained {
        ok: error.is_none(),
        error,
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
    match explained.error {
        None => Ok(Exit::Success),
        Some(_) if out.json() => Ok(Exit::Usage),
        Some(message) => Err(Error::usage(message)),
    }
}
