//! Carrying out a registry plan, one delete at a time.
//!
//! The repository may have changed while it was read, so the run reads it
//! again and plans again just before deleting, and only what both plans
//! delete is deleted: a tag pushed or moved meanwhile (a rollback re-tagging
//! an old build) keeps its manifest. Deletes go by digest in plan order
//! (indexes before their children). A manifest already gone is fine; any
//! other failure stops the run, and what was done so far is still reported.

use std::collections::HashSet;

use deploykit::exit::{Error, Result};
use deploykit::imageref::{Digest, Reference};
use deploykit::output::Reporter;
use deploykit::registry::Client;
use deploykit::registry::admin::Deleted;
use serde::Serialize;

use super::plan::Plan;

/// What happened to a manifest the plan deletes, after `--apply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// The registry deleted it.
    Deleted,
    /// It was already gone (someone else deleted it).
    Gone,
    /// Kept after all: a tag pushed or moved during the run needs it.
    Spared,
    /// The delete failed; the run stopped here.
    Failed {
        /// Why.
        message: String,
    },
    /// The run stopped before it.
    NotAttempted,
}

/// The outcomes of an apply run.
#[derive(Debug)]
pub struct Applied {
    /// `(digest, outcome)`, in plan order.
    pub outcomes: Vec<(String, Outcome)>,
    /// The failure that stopped the run, if one did.
    pub error: Option<Error>,
}

/// Deletes what both `planned` and `replanned` (the plan made again just
/// before deleting) delete, in `planned`'s order.
pub fn apply(
    client: &Client,
    repo: &Reference,
    planned: &Plan,
    replanned: &Plan,
    out: &Reporter,
) -> Result<Applied> {
    let still: HashSet<&str> = replanned.deletes().map(|m| m.digest.as_str()).collect();
    let mut outcomes: Vec<(String, Outcome)> = Vec::new();
    let mut error = None;
    // A signal stops the run between two deletes, so the report says
    // exactly what was deleted.
    deploykit::signals::cooperate();
    for m in planned.deletes() {
        if error.is_none() {
            error = deploykit::signals::check().err();
        }
        let outcome = if error.is_some() {
            Outcome::NotAttempted
        } else if !still.contains(m.digest.as_str()) {
            out.warn(format_args!(
                "{}: not deleted: a tag pushed or moved during the run needs it",
                m.digest
            ));
            Outcome::Spared
        } else {
            let digest = Digest::parse(&m.digest)
                .map_err(|e| Error::remote(format!("{}: {e}", m.digest)))?;
            match client.delete_manifest(repo, &digest) {
                Ok(Deleted::Deleted) => {
                    out.detail(format_args!("deleted {}", m.digest));
                    Outcome::Deleted
                }
                Ok(Deleted::NotFound) => Outcome::Gone,
                Err(e) => {
                    let outcome = Outcome::Failed {
                        message: e.to_string(),
                    };
                    error = Some(e);
                    outcome
                }
            }
        };
        outcomes.push((m.digest.clone(), outcome));
    }
    Ok(Applied { outcomes, error })
}
