//! The process glue every tool's `main` goes through.
//!
//! One place decides how a tool's run becomes a process exit: the signals
//! are installed before the body runs, the command line is parsed so that a
//! usage error reads like every other error, and the outcome is printed once
//! as `<tool>: <error>` and turned into the conventions' status. Each tool's
//! `main.rs` is then an ordinary `fn main` that names its body:
//!
//! ```no_run
//! # mod image_digest { pub fn main() -> deploykit::Result<deploykit::Exit> { Ok(deploykit::Exit::Success) } }
//! fn main() -> std::process::ExitCode {
//!     deploykit::process::run("image-digest", image_digest::main)
//! }
//! ```
//!
//! The rest of the process set-up is std's own: fds 0-2 are reopened on
//! /dev/null when closed, SIGPIPE is ignored (so a write to a closed pipe is
//! EPIPE, which [`run`] takes as the reader leaving) and reset to the
//! default for a program a tool starts, a panic exits 101, and stdout is
//! flushed on the way out.

use std::process::ExitCode;
use std::sync::OnceLock;

use crate::exit::{Exit, Result};

/// The name of the tool this process runs, once [`run`] has started it.
static TOOL: OnceLock<String> = OnceLock::new();

/// The running tool's name (`provision-db`, …), for what the tools tell a
/// remote about themselves, such as the Postgres `application_name` a DBA
/// sees in `pg_stat_activity` and the server log. `None` outside [`run`]
/// (in unit tests).
pub fn tool_name() -> Option<&'static str> {
    TOOL.get().map(String::as_str)
}

/// Runs a tool's body and turns its outcome into the process exit code.
///
/// The error, if any, is printed once on stderr as `<tool>: <error>`. A broken
/// pipe on stdout is not an error: the reader went away, which is its right.
/// SIGTERM and SIGINT end the run with 143 and 130 ([`crate::signals`]).
///
/// A `--json` run then prints its one document on stdout, success or not,
/// with `exit` (the status the process ends with) and, on an error, `error`
/// (the same message as on stderr): see [`crate::output::finish_document`].
pub fn run(tool: &str, body: impl FnOnce() -> Result<Exit>) -> ExitCode {
    let _ = TOOL.set(tool.to_owned());
    crate::signals::install(tool);
    let outcome = body();
    crate::signals::finish();
    let (code, message) = match outcome {
        Ok(status) => (status.code(), None),
        Err(err) if err.is_broken_pipe() => return ExitCode::from(Exit::Success.code()),
        Err(err) => {
            // A message quoting a huge input stays short (see `clip`).
            let message = crate::clip::long_words(&err.to_string()).into_owned();
            eprintln!("{tool}: {message}");
            (err.status().code(), Some(message))
        }
    };
    if let Some(document) = crate::output::finish_document(code, message.as_deref()) {
        print_document(&document);
    }
    ExitCode::from(code)
}

/// Writes the run's JSON document on stdout; a reader that has left is
/// its right (see [`run`]), so a failed write changes nothing.
fn print_document(document: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out
        .write_all(document.as_bytes())
        .and_then(|()| out.flush());
}

/// Prints the one document of a `--json` run refused as a usage error.
fn usage_document(message: &str) {
    crate::output::set_json_mode();
    if let Some(document) = crate::output::finish_document(Exit::Usage.code(), Some(message)) {
        print_document(&document);
    }
}

/// Whether the parsed command line asks for `--json`, at any subcommand level.
fn wants_json(matches: &clap::ArgMatches) -> bool {
    matches!(matches.try_get_one::<bool>("json"), Ok(Some(true)))
        || matches.subcommand().is_some_and(|(_, sub)| wants_json(sub))
}

/// Whether the raw command line holds `--json` before a `--`, for a
/// command line clap refused (and so cannot say).
fn argv_wants_json() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|arg| arg != "--")
        .any(|arg| arg == "--json")
}

/// Parses the command line with `cmd` (named after the tool).
///
/// `--help` and `--version` print and exit 0 as clap does, `--version` with
/// the commit ([`crate::version::LINE`]); a usage error
/// is printed like every other error, `<tool>: error: …` with clap's usage
/// hint, and exits 2, so a CI log that runs several tools names the one
/// that was called wrongly.
///
/// With `--json` on the command line, a usage error also prints the one
/// document of the run, `{"error": …, "exit": 2}`, on stdout.
pub fn arg_matches(cmd: clap::Command) -> clap::ArgMatches {
    let cmd = cmd.version(crate::version::LINE);
    let tool = cmd.get_name().to_owned();
    match cmd.try_get_matches() {
        Ok(matches) => {
            if wants_json(&matches) {
                crate::output::set_json_mode();
            }
            matches
        }
        // Help and version; and the help a tool shows when its subcommand is
        // missing, which is the usage itself, not a message about it.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            if argv_wants_json() {
                usage_document("a subcommand is required (see --help)");
            }
            e.exit()
        }
        Err(e) => {
            let rendered = e.render().to_string();
            eprint!("{tool}: {rendered}");
            if argv_wants_json() {
                // The message runs to the first blank line; clap's usage
                // hint follows it.
                let message = rendered
                    .lines()
                    .take_while(|line| !line.trim().is_empty())
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(" ");
                usage_document(message.strip_prefix("error: ").unwrap_or(&message));
            }
            std::process::exit(i32::from(Exit::Usage.code()));
        }
    }
}

/// [`arg_matches`], then the clap derive `T` built from them.
pub fn parse_args<T: clap::FromArgMatches>(cmd: clap::Command) -> T {
    let matches = arg_matches(cmd);
    T::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}
