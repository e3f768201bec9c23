//! The library every deploykit tool shares.
//!
//! Each idea the tools have in common lives here exactly once: the exit
//! statuses and the error that carries one ([`exit`]), the result/diagnostic
//! split of the output ([`output`]), the one secret type ([`secret`]), human
//! durations ([`duration`]), the libpq-exact Postgres DSN model with its
//! TLS-aware connector ([`dsn`]), dotenv files ([`envfile`]) and the generator
//! inputs for man pages and completions ([`docs`]). With the `edit` feature,
//! `edit` is the format-preserving edit kit of the tools that rewrite files.

pub mod clip;
pub mod docs;
pub mod dsn;
pub mod duration;
#[cfg(feature = "edit")]
pub mod edit;
#[cfg(feature = "engine")]
pub mod engine;
pub mod entry;
pub mod envfile;
pub mod exit;
pub mod imageref;
pub mod net;
pub mod output;
pub mod registry;
pub mod secret;
pub mod signals;
pub mod sql;

pub use exit::{Error, Exit, Result, ResultExt};
pub use secret::Secret;

/// Compiles one of the tools' constant patterns (an image reference's
/// grammar, a push log's digest line).
///
/// Only for patterns written in the source: they either always compile or
/// never do, and every unit test of the module that owns one compiles it,
/// so a failure is a bug found before release, never a user's input.
pub fn constant_regex(pattern: &str) -> regex::Regex {
    #[allow(clippy::expect_used)]
    regex::Regex::new(pattern).expect("a constant pattern of the source compiles")
}
