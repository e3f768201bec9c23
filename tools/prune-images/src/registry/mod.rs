//! `prune-images registry REPO`: the manifests of one repository.
//!
//! The facts (every tag, its manifest digest and media type, the config's
//! `created` time, an index's children) are gathered through the shared
//! registry client; [`plan::plan`] decides; deletes go by digest.
//!
//! Status: the policy is complete and unit-tested, but the shared client
//! (`deploykit::registry`) cannot yet list tags (with `Link` pagination) nor
//! delete a manifest with a `delete`-scoped token, so this subcommand stops
//! with an explanation instead of half-working.

pub mod plan;

use deploykit::exit::{Error, Exit, Result};
use deploykit::output::Reporter;

use crate::cli::RegistryArgs;

/// Runs `prune-images registry`.
pub fn run(args: &RegistryArgs, _out: &Reporter) -> Result<Exit> {
    let repo = deploykit::imageref::parse_normalized(&args.repository)
        .map_err(|e| Error::usage(format!("REPO {:?}: {e}", args.repository)))?;
    if repo.tag().is_some() || repo.digest().is_some() {
        return Err(Error::usage(format!(
            "REPO {:?}: give the repository without a tag or digest",
            args.repository
        )));
    }
    for re in &args.keep_tag {
        regex::Regex::new(re).map_err(|e| Error::usage(format!("--keep-tag {re:?}: {e}")))?;
    }
    crate::local::protect_set(&args.policy.protect, &args.policy.protect_file)?;
    Err(Error::remote(format!(
        "{}: registry pruning is not available in this build: the shared registry client cannot list tags or delete manifests yet",
        repo.name()
    )))
}
