//! `image-digest`: from a tag, a push log or a build context to a content digest.
//!
//! `resolve` asks a registry through the shared client
//! ([`deploykit::registry`]); `from-log` ([`fromlog`]) and `fingerprint`
//! ([`fingerprint`], with Docker's ignore rules in [`dockerignore`]) are pure
//! functions of their input, unit-tested without processes. The fingerprint's
//! workers ([`filehash`]) hash several files at once per core with the
//! SHA-NI lane kernel of the `sha256-lanes` crate.

pub mod cli;
pub mod dockerignore;
pub mod filehash;
pub mod fingerprint;
pub mod fromlog;
pub mod goregex;
pub mod resolve;

use deploykit::exit::{Exit, Result};
use deploykit::output::Reporter;

use crate::cli::{Cli, Command};

/// The clap command, for the man page generator and tests.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Parses the command line and runs the tool.
pub fn main() -> Result<Exit> {
    let cli = deploykit::process::parse_args::<Cli>(command());
    run(&cli)
}

/// Runs the tool on parsed arguments.
pub fn run(cli: &Cli) -> Result<Exit> {
    let out = Reporter::new("image-digest", &cli.output);
    match &cli.command {
        Command::Resolve(args) => resolve::run(args, &out),
        Command::FromLog(args) => fromlog::run(args, &out),
        Command::Fingerprint(args) => fingerprint::run(args, &out),
    }
}
