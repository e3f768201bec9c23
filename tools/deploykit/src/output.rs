//! Where a tool's words go: results on stdout, diagnostics on stderr.
//!
//! stdout carries the result and nothing else so that `$(tool …)` works;
//! `--json` replaces the human result with one JSON document. Everything else
//! (progress, warnings, detail) goes to stderr prefixed with the tool's name.
//! Every tool flattens [`OutputArgs`] so `--json`, `-q` and `-v` mean the same
//! thing everywhere.
//!
//! With `--json` a script reads stdout with one `jq` and branches on the
//! document, whatever happened: so the document is not written when a tool
//! hands it over but kept until the run ends, and [`crate::process::run`]
//! prints exactly one, with the exit status in it and, on an error, the
//! message ([`finish_document`]). A run that ends before its tool made a
//! document (a usage error, an unreachable remote) still prints one, with
//! only those two fields.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::exit::{Error, Exit, Result};

/// The output flags every tool shares.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OutputArgs {
    /// Print the result as one JSON document on stdout instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing on stderr but errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail on stderr
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// Prints results and diagnostics for one tool run.
#[derive(Debug, Clone)]
pub struct Reporter {
    tool: &'static str,
    quiet: bool,
    verbose: bool,
    json: bool,
    started: Instant,
}

impl Reporter {
    /// A reporter for `tool` honouring the shared output flags.
    pub fn new(tool: &'static str, args: &OutputArgs) -> Self {
        if args.json {
            set_json_mode();
        }
        Reporter {
            tool,
            quiet: args.quiet,
            verbose: args.verbose,
            json: args.json,
            started: Instant::now(),
        }
    }

    /// Whether the result should be printed as JSON.
    pub fn json(&self) -> bool {
        self.json
    }

    /// Time since the reporter was made, for progress lines.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Writes one line of result on stdout.
    pub fn line(&self, text: impl std::fmt::Display) -> Result<()> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{text}").map_err(stdout_error)
    }

    /// Hands over `value` as the run's one JSON document (an object, with
    /// the fields the tool's man page documents).
    ///
    /// It is printed, pretty, when the run ends, with the run's `exit`
    /// status added and, if the run ends in an error, its `error` message
    /// ([`finish_document`]). A second call replaces the first: a run has
    /// one document.
    pub fn json_document(&self, value: &impl serde::Serialize) -> Result<()> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| Error::new(Exit::Usage, format!("writing JSON: {e}")))?;
        set_json_mode();
        *PENDING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(text);
        Ok(())
    }

    /// A progress or state line on stderr (silenced by `-q`).
    pub fn info(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{}: {text}", self.tool);
        }
    }

    /// A progress line with the elapsed time in front (silenced by `-q`).
    pub fn progress(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!(
                "{}: [{}] {text}",
                self.tool,
                crate::duration::format(self.elapsed())
            );
        }
    }

    /// A warning on stderr (silenced by `-q`).
    pub fn warn(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{}: warning: {text}", self.tool);
        }
    }

    /// Detail shown only with `-v`.
    pub fn detail(&self, text: impl std::fmt::Display) {
        if self.verbose {
            eprintln!("{}: {text}", self.tool);
        }
    }
}

/// Whether this run was asked for `--json` (seen on the command line by
/// [`crate::process::arg_matches`], or by a [`Reporter`]).
static JSON_MODE: AtomicBool = AtomicBool::new(false);

/// The document handed over by [`Reporter::json_document`], not yet printed.
static PENDING: Mutex<Option<String>> = Mutex::new(None);

/// Marks this run as a `--json` run: it ends with one document on stdout.
pub fn set_json_mode() {
    JSON_MODE.store(true, Ordering::Relaxed);
}

/// Whether this run ends with one JSON document on stdout.
pub fn json_mode() -> bool {
    JSON_MODE.load(Ordering::Relaxed)
}

/// The document a `--json` run ends with, taking the one handed over (if
/// any): the tool's object with `"exit": <status>` added last and, when
/// `error` is given and the tool's document has no `error` of its own,
/// `"error": <message>` before it. With no document from the tool the
/// result is `{"error": …, "exit": …}` (no `error` on success). `None`
/// when the run is not a `--json` run and handed nothing over.
///
/// A tool's document that is not an object is kept whole under `result`.
/// The text is pretty-printed and ends with a newline.
pub fn finish_document(exit: u8, error: Option<&str>) -> Option<String> {
    let pending = PENDING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if pending.is_none() && !json_mode() {
        return None;
    }
    Some(assemble(pending, exit, error))
}

fn assemble(pending: Option<String>, exit: u8, error: Option<&str>) -> String {
    let mut fields: Vec<(&str, serde_json::Value)> = Vec::new();
    let body = match pending {
        Some(text) if text.starts_with('{') => {
            let has_error =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text)
                    .is_ok_and(|m| m.contains_key("error"));
            if let (Some(message), false) = (error, has_error) {
                fields.push(("error", message.into()));
            }
            // The serializer's own text keeps the tool's field order; the
            // new fields go in before its closing brace.
            let inner = text[..text.len() - 1].trim_end();
            inner.to_owned()
        }
        other => {
            let mut inner = String::from("{");
            if let Some(text) = other {
                inner.push_str("\n  \"result\": ");
                inner.push_str(&text.replace('\n', "\n  "));
            }
            if let Some(message) = error {
                fields.push(("error", message.into()));
            }
            inner
        }
    };
    fields.push(("exit", exit.into()));
    let mut out = body;
    for (name, value) in fields {
        if !out.ends_with('{') {
            out.push(',');
        }
        out.push_str("\n  ");
        out.push_str(&serde_json::Value::from(name).to_string());
        out.push_str(": ");
        out.push_str(&value.to_string());
    }
    out.push_str("\n}\n");
    out
}

fn stdout_error(err: std::io::Error) -> Error {
    // Kept as an io::Error in the chain so `process::run` recognises a broken pipe.
    Error::from(err).context("writing to stdout")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn the_tools_document_gets_the_exit_status_last_in_its_own_order() {
        let doc =
            serde_json::to_string_pretty(&serde_json::json!({"zeta": 1, "alpha": [1, 2]})).unwrap();
        let text = assemble(Some(doc), 0, None);
        assert_eq!(
            parse(&text),
            serde_json::json!({"zeta": 1, "alpha": [1, 2], "exit": 0})
        );
        assert!(text.ends_with("\"exit\": 0\n}\n"), "{text}");
    }

    #[test]
    fn an_error_is_added_unless_the_document_has_its_own() {
        let text = assemble(Some("{\n  \"ok\": false\n}".into()), 3, Some("db: refused"));
        assert_eq!(
            parse(&text),
            serde_json::json!({"ok": false, "error": "db: refused", "exit": 3})
        );
        let own = assemble(
            Some("{\n  \"error\": \"mine\"\n}".into()),
            2,
            Some("theirs"),
        );
        assert_eq!(parse(&own), serde_json::json!({"error": "mine", "exit": 2}));
    }

    #[test]
    fn no_document_and_odd_documents_still_make_one_object() {
        assert_eq!(
            parse(&assemble(None, 2, Some("bad \"flag\""))),
            serde_json::json!({"error": "bad \"flag\"", "exit": 2})
        );
        assert_eq!(
            parse(&assemble(None, 0, None)),
            serde_json::json!({"exit": 0})
        );
        assert_eq!(
            parse(&assemble(Some("{}".into()), 1, None)),
            serde_json::json!({"exit": 1})
        );
        assert_eq!(
            parse(&assemble(Some("[\n  1\n]".into()), 1, None)),
            serde_json::json!({"result": [1], "exit": 1})
        );
    }
}
