//! The library every deploykit tool shares.
//!
//! Each idea the tools have in common lives here exactly once, so that the
//! same flag, status, message or parse means the same thing in every tool.
//! The parts that pull in a large dependency sit behind a cargo feature
//! named after the module, as uutils' `uucore` does, so that a tool compiles
//! only what it uses (scaffold-service builds neither a Postgres client nor
//! an HTTP or TLS stack).
//!
//! Always present:
//!
//! - [`exit`]: the exit statuses and the error type that carries one (the
//!   types only; it uses no other module of the crate);
//! - [`process`]: the process glue of every `main`: signals, the command
//!   line, and the one `<tool>: <error>` line;
//! - [`signals`]: SIGTERM and SIGINT as 143 and 130, with a line that says so;
//! - [`output`]: results on stdout, diagnostics on stderr, `--json`, `-q`, `-v`;
//! - [`secret`]: the one type that holds a password or token;
//! - [`duration`]: human durations for every flag that takes one;
//! - [`size`]: byte sizes on the command line and in reports;
//! - [`environment`]: deployment environments, production in any spelling,
//!   unknown names refused;
//! - [`clip`]: short messages about huge inputs;
//! - [`docs`]: examples and exit statuses for `--help` and the man pages;
//! - [`sql`]: quoting for identifiers and literals built from user input;
//! - [`version`]: the release and commit `--version` prints.
//!
//! Behind features:
//!
//! - `docs`: rendering man pages and completions ([`docs::ToolDoc::man_page`]);
//! - `dsn`: the libpq-exact Postgres DSN model and its TLS-aware connector
//!   (`dsn`), with `envfile`, dotenv files as `--env-file` reads them;
//! - `imageref`: image references as the distribution project parses them;
//! - `net`: the HTTP agents the tools build alike;
//! - `registry`: the OCI distribution client (with `imageref` and `net`);
//! - `engine`: the Docker Engine API client for dockerd and podman;
//! - `regex`: [`constant_regex`], for patterns written in the source;
//! - `edit`: the format-preserving edit kit of the tools that rewrite files
//!   (`tag-image pin`, `scaffold-service`).

pub mod clip;
pub mod docs;
#[cfg(feature = "dsn")]
pub mod dsn;
pub mod duration;
#[cfg(feature = "edit")]
pub mod edit;
#[cfg(feature = "engine")]
pub mod engine;
#[cfg(feature = "envfile")]
pub mod envfile;
pub mod environment;
pub mod exit;
#[cfg(feature = "imageref")]
pub mod imageref;
#[cfg(feature = "net")]
pub mod net;
pub mod output;
pub mod process;
#[cfg(feature = "registry")]
pub mod registry;
pub mod secret;
pub mod signals;
pub mod size;
pub mod sql;
pub mod version;

pub use exit::{Error, Exit, Result, ResultExt};
pub use secret::Secret;

/// Compiles one of the tools' constant patterns (a push log's digest line,
/// an env file's image assignment).
///
/// Only for patterns written in the source: they either always compile or
/// never do, and every unit test of the module that owns one compiles it,
/// so a failure is a bug found before release, never a user's input.
#[cfg(feature = "regex")]
pub fn constant_regex(pattern: &str) -> regex::Regex {
    #[allow(clippy::expect_used)]
    regex::Regex::new(pattern).expect("a constant pattern of the source compiles")
}
