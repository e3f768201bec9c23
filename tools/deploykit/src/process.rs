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
pub fn run(tool: &str, body: impl FnOnce() -> Result<Exit>) -> ExitCode {
    let _ = TOOL.set(tool.to_owned());
    crate::signals::install(tool);
    let outcome = body();
    crate::signals::finish();
    ExitCode::from(match outcome {
        Ok(status) => status.code(),
        Err(err) if err.is_broken_pipe() => Exit::Success.code(),
        Err(err) => {
            // A message quoting a huge input stays short (see `clip`).
            eprintln!("{tool}: {}", crate::clip::long_words(&err.to_string()));
            err.status().code()
        }
    })
}

/// Parses the command line with `cmd` (named after the tool).
///
/// `--help` and `--version` print and exit 0 as clap does, `--version` with
/// the commit ([`crate::version::LINE`]); a usage error
/// is printed like every other error, `<tool>: error: …` with clap's usage
/// hint, and exits 2, so a CI log that runs several tools names the one
/// that was called wrongly.
pub fn arg_matches(cmd: clap::Command) -> clap::ArgMatches {
    let cmd = cmd.version(crate::version::LINE);
    let tool = cmd.get_name().to_owned();
    match cmd.try_get_matches() {
        Ok(matches) => matches,
        // Help and version; and the help a tool shows when its subcommand is
        // missing, which is the usage itself, not a message about it.
        Err(e)
            if !e.use_stderr()
                || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            e.exit()
        }
        Err(e) => {
            eprint!("{tool}: {}", e.render());
            std::process::exit(i32::from(Exit::Usage.code()));
        }
    }
}

/// [`arg_matches`], then the clap derive `T` built from them.
pub fn parse_args<T: clap::FromArgMatches>(cmd: clap::Command) -> T {
    let matches = arg_matches(cmd);
    T::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}
