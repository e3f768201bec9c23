//! The result of `prune-images local`, as a table on stdout or one JSON
//! document.
//!
//! One row per image: what happens to it (or happened, after `--apply`),
//! its name, short id, age, size and the reason. The last line sums up the
//! bytes. `--json` carries the same facts as data (documented in the man
//! page); sizes are bytes, times Unix seconds.

use std::collections::HashMap;
use std::fmt::Write as _;

use deploykit::exit::Result;
use deploykit::output::Reporter;
use serde::Serialize;

use super::apply::{Applied, Outcome};
use super::plan::{Decision, Entry, Keep, Plan, Remove};
use crate::table::{self, age};
use deploykit::size;

#[derive(Serialize)]
struct Doc<'a> {
    engine: &'a str,
    applied: bool,
    images: Vec<DocImage<'a>>,
    out_of_scope: usize,
    reclaim_estimate: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reclaimed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped_in_use: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_free: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    free_before: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    free_after: Option<u64>,
}

#[derive(Serialize)]
struct DocImage<'a> {
    #[serde(flatten)]
    entry: &'a Entry,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'a Outcome>,
}

/// Prints a local plan, with the outcomes after `--apply`.
pub fn print(
    out: &Reporter,
    engine: &str,
    plan: &Plan,
    applied: Option<&Applied>,
    now: i64,
) -> Result<()> {
    let outcomes: HashMap<&str, &Outcome> = applied
        .map(|a| a.outcomes.iter().map(|(id, o)| (id.as_str(), o)).collect())
        .unwrap_or_default();
    let reclaimed: u64 = plan
        .removals()
        .filter(|e| matches!(outcomes.get(e.id.as_str()), Some(Outcome::Removed { .. })))
        .map(|e| e.size)
        .sum();
    let skipped = outcomes
        .values()
        .filter(|o| matches!(o, Outcome::SkippedInUse { .. }))
        .count();
    if out.json() {
        let doc = Doc {
            engine,
            applied: applied.is_some(),
            images: plan
                .images
                .iter()
                .map(|e| DocImage {
                    entry: e,
                    outcome: outcomes.get(e.id.as_str()).copied(),
                })
                .collect(),
            out_of_scope: plan.out_of_scope,
            reclaim_estimate: plan.reclaim_estimate,
            reclaimed: applied.map(|_| reclaimed),
            skipped_in_use: applied.map(|_| skipped),
            target_free: plan.target_free,
            free_before: plan.free_before,
            free_after: applied.and_then(|a| a.free_after),
        };
        return out.json_document(&doc);
    }
    let mut rows: Vec<[String; 6]> = vec![[
        "ACTION".into(),
        "IMAGE".into(),
        "ID".into(),
        "AGE".into(),
        "SIZE".into(),
        "REASON".into(),
    ]];
    for e in &plan.images {
        let (action, reason) = match (&e.decision, outcomes.get(e.id.as_str())) {
            (Decision::Keep { reasons }, _) => (
                "keep",
                reasons.first().map(Keep::describe).unwrap_or_default(),
            ),
            (Decision::Remove { why }, outcome) => {
                let why = match why {
                    Remove::Dangling => "dangling (no tag, no digest)".to_owned(),
                    Remove::Old => "outside the rollback window".to_owned(),
                };
                match outcome {
                    None if applied.is_none() => ("remove", why),
                    None | Some(Outcome::NotAttempted) => {
                        ("pending", format!("{why}; not attempted (the run stopped)"))
                    }
                    Some(Outcome::Removed { .. }) => ("removed", why),
                    Some(Outcome::SkippedInUse { message }) => {
                        ("skipped", format!("in use: {message}"))
                    }
                    Some(Outcome::Gone) => ("gone", "already removed by someone else".to_owned()),
                    Some(Outcome::NotNeeded) => {
                        ("keep", "not needed: --target-free reached".to_owned())
                    }
                }
            }
        };
        let mut name = e.display_name().to_owned();
        let more = e.tags.len().saturating_sub(1);
        if more > 0 {
            let _ = write!(name, " (+{more})");
        }
        rows.push([
            action.to_owned(),
            name,
            e.short_id().to_owned(),
            age(now, e.created),
            size::format(e.size),
            reason,
        ]);
    }
    if plan.images.is_empty() {
        out.line(format_args!("no images in scope on {engine}"))?;
    } else {
        for line in table::lines(&rows) {
            out.line(line)?;
        }
    }
    let n = plan.removals().count();
    let summary = match applied {
        None => format!(
            "plan: remove {n} image(s), about {} (sizes count shared layers per image); nothing removed without --apply",
            size::format(plan.reclaim_estimate)
        ),
        Some(a) => {
            let removed = a
                .outcomes
                .iter()
                .filter(|(_, o)| matches!(o, Outcome::Removed { .. }))
                .count();
            let mut s = format!(
                "removed {removed} image(s), about {}",
                size::format(reclaimed)
            );
            if skipped > 0 {
                let _ = write!(s, "; skipped {skipped} in use");
            }
            if let Some(free) = a.free_after {
                let _ = write!(s, "; {} free now", size::format(free));
            }
            s
        }
    };
    out.line(summary)
}
