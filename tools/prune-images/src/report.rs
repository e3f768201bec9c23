//! The result of a run, as a table on stdout or one JSON document.
//!
//! One row per image: what happens to it (or happened, after `--apply`),
//! its name, short id, age, size and the reason. The last line sums up the
//! bytes. `--json` carries the same facts as data (documented in the man
//! page); sizes are bytes, times Unix seconds.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use deploykit::exit::Result;
use deploykit::output::Reporter;
use serde::Serialize;

use crate::local::apply::{Applied, Outcome};
use crate::local::plan::{Decision, Entry, Plan, Remove};
use crate::registry::Outcome as RegistryOutcome;
use crate::registry::plan as registry_plan;
use crate::size;

#[derive(Serialize)]
struct LocalDoc<'a> {
    engine: &'a str,
    applied: bool,
    images: Vec<LocalImage<'a>>,
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
struct LocalImage<'a> {
    #[serde(flatten)]
    entry: &'a Entry,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'a Outcome>,
}

fn age(now: i64, created: i64) -> String {
    let secs = u64::try_from(now.saturating_sub(created)).unwrap_or(0);
    let d = Duration::from_secs(secs);
    if secs >= 2 * 86_400 {
        format!("{}d", secs / 86_400)
    } else if secs >= 2 * 3600 {
        format!("{}h", secs / 3600)
    } else {
        deploykit::duration::format(d)
    }
}

/// Prints a local plan, with the outcomes after `--apply`.
pub fn local(
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
        let doc = LocalDoc {
            engine,
            applied: applied.is_some(),
            images: plan
                .images
                .iter()
                .map(|e| LocalImage {
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
                reasons
                    .first()
                    .map(super::local::plan::Keep::describe)
                    .unwrap_or_default(),
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
    let mut widths = [0usize; 5];
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    if plan.images.is_empty() {
        out.line(format_args!("no images in scope on {engine}"))?;
    } else {
        for r in &rows {
            let mut line = String::new();
            for (i, cell) in r.iter().enumerate() {
                if i < 5 {
                    let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
                } else {
                    line.push_str(cell);
                }
            }
            out.line(line.trim_end())?;
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

#[derive(Serialize)]
struct RegistryDoc<'a> {
    repository: &'a str,
    applied: bool,
    manifests: Vec<RegistryManifest<'a>>,
    delete_count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<usize>,
}

#[derive(Serialize)]
struct RegistryManifest<'a> {
    digest: &'a str,
    tags: &'a [String],
    created: Option<i64>,
    index: bool,
    action: &'static str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    reasons: &'a [registry_plan::Keep],
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'a RegistryOutcome>,
}

fn short_digest(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

fn describe_keep(k: &registry_plan::Keep) -> String {
    match k {
        registry_plan::Keep::KeepTag { tag } => format!("tag {tag} matches --keep-tag"),
        registry_plan::Keep::Protected { source } => format!("protected by {source}"),
        registry_plan::Keep::Newest { rank } => format!("newest #{rank}"),
        registry_plan::Keep::ChildOfKeptIndex { index } => {
            format!("platform manifest of kept index {}", short_digest(index))
        }
    }
}

fn delete_why(m: &registry_plan::Manifest) -> &'static str {
    if m.tags.is_empty() {
        "child_of_deleted_index"
    } else {
        "outside_keep"
    }
}

/// Prints a registry plan, with the outcomes after `--apply` (`Some` even
/// when nothing was to be deleted).
pub fn registry(
    out: &Reporter,
    repository: &str,
    plan: &registry_plan::Plan,
    outcomes: Option<&[(String, RegistryOutcome)]>,
    now: i64,
) -> Result<()> {
    let by_digest: HashMap<&str, &RegistryOutcome> = outcomes
        .unwrap_or_default()
        .iter()
        .map(|(d, o)| (d.as_str(), o))
        .collect();
    let deleted = by_digest
        .values()
        .filter(|o| matches!(o, RegistryOutcome::Deleted))
        .count();
    let delete_count = plan.deletes().count();
    if out.json() {
        let doc = RegistryDoc {
            repository,
            applied: outcomes.is_some(),
            manifests: plan
                .manifests
                .iter()
                .map(|m| RegistryManifest {
                    digest: &m.digest,
                    tags: &m.tags,
                    created: m.created,
                    index: m.index,
                    action: if m.keep.is_empty() { "delete" } else { "keep" },
                    reasons: &m.keep,
                    why: m.keep.is_empty().then(|| delete_why(m)),
                    outcome: by_digest.get(m.digest.as_str()).copied(),
                })
                .collect(),
            delete_count,
            deleted: outcomes.map(|_| deleted),
        };
        return out.json_document(&doc);
    }
    let mut rows: Vec<[String; 5]> = vec![[
        "ACTION".into(),
        "TAG".into(),
        "DIGEST".into(),
        "AGE".into(),
        "REASON".into(),
    ]];
    for m in &plan.manifests {
        let (action, reason) = if let Some(first) = m.keep.first() {
            ("keep", describe_keep(first))
        } else {
            let why = match delete_why(m) {
                "child_of_deleted_index" => "platform manifest of a deleted index".to_owned(),
                _ => "outside --keep, no --keep-tag, not protected".to_owned(),
            };
            match (outcomes, by_digest.get(m.digest.as_str())) {
                (None, _) => ("delete", why),
                (Some(_), Some(RegistryOutcome::Deleted)) => ("deleted", why),
                (Some(_), Some(RegistryOutcome::Gone)) => {
                    ("gone", "already deleted by someone else".to_owned())
                }
                (Some(_), Some(RegistryOutcome::Spared)) => (
                    "keep",
                    "a tag pushed or moved during the run needs it".to_owned(),
                ),
                (Some(_), Some(RegistryOutcome::Failed { message })) => ("failed", message.clone()),
                (Some(_), Some(RegistryOutcome::NotAttempted) | None) => {
                    ("pending", format!("{why}; not attempted (the run stopped)"))
                }
            }
        };
        let mut tag = m
            .tags
            .first()
            .cloned()
            .unwrap_or_else(|| "<untagged>".to_owned());
        if m.tags.len() > 1 {
            let _ = write!(tag, " (+{})", m.tags.len() - 1);
        }
        if m.index {
            tag.push_str(" [index]");
        }
        rows.push([
            action.to_owned(),
            tag,
            short_digest(&m.digest).to_owned(),
            m.created.map_or_else(|| "?".to_owned(), |c| age(now, c)),
            reason,
        ]);
    }
    if plan.manifests.is_empty() {
        out.line(format_args!("no tags in {repository}"))?;
    } else {
        let mut widths = [0usize; 4];
        for r in &rows {
            for (w, cell) in widths.iter_mut().zip(r.iter()) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for r in &rows {
            let mut line = String::new();
            for (i, cell) in r.iter().enumerate() {
                if i < 4 {
                    let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
                } else {
                    line.push_str(cell);
                }
            }
            out.line(line.trim_end())?;
        }
    }
    let summary = if outcomes.is_some() {
        format!(
            "deleted {deleted} of {delete_count} manifest(s) from {repository}; the registry frees their blobs only when its garbage collection runs"
        )
    } else {
        format!(
            "plan: delete {delete_count} manifest(s) from {repository}; nothing deleted without --apply"
        )
    };
    out.line(summary)
}
