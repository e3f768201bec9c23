//! `tag-image`: immutable image tags, computed, checked, pinned in manifests
//! and applied in the registry without pulling.
//!
//! The pure parts are plain functions with unit tests: the tagging strategy
//! ([`naming`]), the deploy policy on references ([`policy`]) and the
//! line-oriented rewrite of kustomization, compose and env files ([`pin`]).
//! [`apply`] plans against the registry first (which tag would be created,
//! left alone or refused) and only then writes, through the shared client
//! ([`deploykit::registry`]).

pub mod apply;
pub mod cli;
pub mod naming;
pub mod pin;
pub mod policy;

use deploykit::exit::{Error, Exit, Result};
use deploykit::imageref;
use deploykit::output::Reporter;

use crate::cli::{Cli, Command, TagParts};
use crate::naming::TagSpec;

/// The clap command, for the man page generator and tests.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Parses the command line and runs the tool.
pub fn main() -> Result<Exit> {
    let cli = deploykit::process::parse_args::<Cli>(command());
    run(&cli)
}

fn spec(parts: &TagParts) -> TagSpec {
    TagSpec {
        env: parts.env.clone(),
        sha: parts.sha.clone(),
        service: parts.service.clone(),
        migrate: parts.migrate,
        fingerprint: parts.fingerprint.clone(),
        sha_length: usize::from(parts.sha_length),
    }
}

/// The full reference `REPO:TAG` for a repository and the tag parts.
pub fn full_reference(repository: &str, parts: &TagParts) -> Result<String> {
    let repo = imageref::parse_normalized(repository)
        .map_err(|e| Error::usage(format!("invalid repository {repository:?}: {e}")))?;
    if repo.tag().is_some() || repo.digest().is_some() {
        return Err(Error::usage(format!(
            "{repository}: give a repository, without tag or digest"
        )));
    }
    let tag = naming::compute(&spec(parts))?;
    let r = repo
        .with_tag(&tag)
        .map_err(|e| Error::usage(format!("tag {tag:?}: {e}")))?;
    Ok(r.to_string())
}

/// Runs the tool on parsed arguments.
pub fn run(cli: &Cli) -> Result<Exit> {
    let out = Reporter::new("tag-image", &cli.output);
    match &cli.command {
        Command::Name(args) => {
            let tag = naming::compute(&spec(&args.parts))?;
            if out.json() {
                out.json_document(&serde_json::json!({ "tag": tag }))?;
            } else {
                out.line(tag)?;
            }
            Ok(Exit::Success)
        }
        Command::Ref(args) => {
            let reference = full_reference(&args.repository, &args.parts)?;
            if out.json() {
                out.json_document(&serde_json::json!({ "reference": reference }))?;
            } else {
                out.line(reference)?;
            }
            Ok(Exit::Success)
        }
        Command::Check(args) => policy::run(&args.references, args.require_digest, &out),
        Command::Apply(args) => apply::run(args, &out),
        Command::Pin(args) => pin::run(&args.files, &args.references, args.check, &out),
    }
}
