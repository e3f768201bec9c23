//! Where a tool's words go: results on stdout, diagnostics on stderr.
//!
//! stdout carries the result and nothing else so that `$(tool …)` works;
//! `--json` replaces the human result with one JSON document. Everything else
//! (progress, warnings, detail) goes to stderr prefixed with the tool's name.
//! Every tool flattens [`OutputArgs`] so `--json`, `-q` and `-v` mean the same
//! thing everywhere.

use std::io::Write;
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

    /// Writes `value` as one pretty JSON document on stdout.
    pub fn json_document(&self, value: &impl serde::Serialize) -> Result<()> {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, value).map_err(|e| match e.io_error_kind() {
            // Kept as an io::Error so that a closed pipe is recognised.
            Some(kind) => stdout_error(std::io::Error::from(kind)),
            None => Error::new(Exit::Usage, format!("writing JSON: {e}")),
        })?;
        writeln!(out).map_err(stdout_error)
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

fn stdout_error(err: std::io::Error) -> Error {
    // Kept as an io::Error in the chain so `process::run` recognises a broken pipe.
    Error::from(err).context("writing to stdout")
}
