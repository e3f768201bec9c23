//! `prune-images`: free disk on deploy hosts and in registries without
//! breaking a rollback.
//!
//! `docker image prune -a` deletes the images a rollback needs; plain
//! `prune` leaves old tagged images forever. This tool computes a plan from
//! the facts (a pure function, [`local::plan`], [`registry::plan`]), prints
//! it, and only with `--apply` carries it out one item at a time.

pub mod cli;
pub mod local;
pub mod protect;
pub mod registry;
pub mod table;

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
    let out = Reporter::new("prune-images", &cli.output);
    match &cli.command {
        Command::Local(args) => local::run(args, &out),
        Command::Registry(args) => registry::run(args, &out),
    }
}
