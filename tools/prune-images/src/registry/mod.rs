//! `prune-images registry REPO`: the manifests of one repository.
//!
//! The facts (every tag, its manifest digest, the image's `created` time, an
//! index's children) are read through the shared registry client
//! ([`facts`]); [`plan::plan`] decides; [`report`] prints; and only with
//! `--apply` does [`apply::apply`] delete, by digest.
//!
//! With `--apply`, before anything else, the client checks that the
//! credentials may delete (a delete of a digest that cannot exist), so a
//! pull-only token stops the run with exit 4 having deleted nothing. Just
//! before deleting, the tags are read again and the plan recomputed; only
//! what both plans delete is deleted, so a tag pushed or moved during the
//! run (a rollback re-tagging an old build) keeps its manifest.

pub mod apply;
pub mod facts;
pub mod plan;
pub mod report;

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use deploykit::exit::{Error, Exit, Result};
use deploykit::output::Reporter;
use deploykit::registry::Client;

use crate::cli::RegistryPruneArgs;
use crate::protect::ProtectSet;

/// Runs `prune-images registry`.
pub fn run(args: &RegistryPruneArgs, out: &Reporter) -> Result<Exit> {
    let repo = deploykit::imageref::parse_normalized(&args.repository)
        .map_err(|e| Error::usage(format!("REPO {:?}: {e}", args.repository)))?;
    if repo.tag().is_some() || repo.digest().is_some() {
        return Err(Error::usage(format!(
            "REPO {:?}: give the repository without a tag or digest",
            args.repository
        )));
    }
    let mut keep_tags = Vec::new();
    for re in &args.keep_tag {
        keep_tags.push(
            regex::Regex::new(re).map_err(|e| Error::usage(format!("--keep-tag {re:?}: {e}")))?,
        );
    }
    if args.registry.password_stdin
        && args
            .policy
            .protect_file
            .iter()
            .any(|p| p == std::path::Path::new("-"))
    {
        return Err(Error::usage(
            "--password-stdin and --protect-file - both want stdin; give the protect file by path",
        ));
    }
    let protect = ProtectSet::from_flags(&args.policy.protect, &args.policy.protect_file)?;
    let domains: BTreeSet<String> = [repo.domain().to_owned()].into();
    let client = Client::new(args.registry.client_options(&domains)?, Some(out.clone()))?;
    let name = repo.name();
    if args.policy.apply {
        client
            .check_delete_permission(&repo)
            .map_err(|e| e.context(format!("{name}: nothing deleted")))?;
    }
    let options = plan::Options {
        keep: args.policy.keep,
        keep_tags,
    };
    let mut gatherer = facts::Gatherer::new(&client, &repo, out);
    let tags = gatherer.gather()?;
    let planned = plan::plan(&name, &tags, &protect, &options);
    out.detail(format_args!(
        "{} tag(s) on {} manifest(s); {} to delete ({} requests)",
        tags.len(),
        planned.manifests.len(),
        planned.deletes().count(),
        client.requests()
    ));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    if !args.policy.apply || planned.deletes().next().is_none() {
        let applied = args.policy.apply.then(Vec::new);
        report::print(out, &name, &planned, applied.as_deref(), now)?;
        return Ok(Exit::Success);
    }
    // The repository may have changed while it was read: decide again and
    // delete only what both plans delete.
    let again = gatherer.gather()?;
    let replanned = plan::plan(&name, &again, &protect, &options);
    let applied = apply::apply(&client, &repo, &planned, &replanned, out)?;
    report::print(out, &name, &planned, Some(&applied.outcomes), now)?;
    match applied.error {
        Some(e) => Err(e),
        None => Ok(Exit::Success),
    }
}
