//! The result of `prune-images registry`, as a table on stdout or one JSON
//! document.
//!
//! One row per manifest: what happens to it (or happened, after `--apply`),
//! its first tag, short digest, age and the reason; the last line says how
//! many manifests go, and that the registry frees their blobs only at its
//! own garbage collection. `--json` carries the same facts as data
//! (documented in the man page); times are Unix seconds.

use std::collections::HashMap;
use std::fmt::Write as _;

use deploykit::exit::Result;
use deploykit::output::Reporter;
use serde::Serialize;

use super::apply::Outcome;
use super::plan::{Keep, Manifest, Plan};
use crate::table::{self, age};

#[derive(Serialize)]
struct Doc<'a> {
    repository: &'a str,
    applied: bool,
    manifests: Vec<DocManifest<'a>>,
    delete_count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<usize>,
}

#[derive(Serialize)]
struct DocManifest<'a> {
    digest: &'a str,
    tags: &'a [String],
    created: Option<i64>,
    index: bool,
    action: &'static str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    reasons: &'a [Keep],
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'a Outcome>,
}

fn short_digest(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

fn describe_keep(k: &Keep) -> String {
    match k {
        Keep::KeepTag { tag } => format!("tag {tag} matches --keep-tag"),
        Keep::Protected { source } => format!("protected by {source}"),
        Keep::Newest { rank } => format!("newest #{rank}"),
        Keep::ChildOfKeptIndex { index } => {
            format!("platform manifest of kept index {}", short_digest(index))
        }
    }
}

fn delete_why(m: &Manifest) -> &'static str {
    if m.tags.is_empty() {
        "child_of_deleted_index"
    } else {
        "outside_keep"
    }
}

/// Prints a registry plan, with the outcomes after `--apply` (`Some` even
/// when nothing was to be deleted).
pub fn print(
    out: &Reporter,
    repository: &str,
    plan: &Plan,
    outcomes: Option<&[(String, Outcome)]>,
    now: i64,
) -> Result<()> {
    let by_digest: HashMap<&str, &Outcome> = outcomes
        .unwrap_or_default()
        .iter()
        .map(|(d, o)| (d.as_str(), o))
        .collect();
    let deleted = by_digest
        .values()
        .filter(|o| matches!(o, Outcome::Deleted))
        .count();
    let delete_count = plan.deletes().count();
    if out.json() {
        let doc = Doc {
            repository,
            applied: outcomes.is_some(),
            manifests: plan
                .manifests
                .iter()
                .map(|m| DocManifest {
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
                (Some(_), Some(Outcome::Deleted)) => ("deleted", why),
                (Some(_), Some(Outcome::Gone)) => {
                    ("gone", "already deleted by someone else".to_owned())
                }
                (Some(_), Some(Outcome::Spared)) => (
                    "keep",
                    "a tag pushed or moved during the run needs it".to_owned(),
                ),
                (Some(_), Some(Outcome::Failed { message })) => ("failed", message.clone()),
                (Some(_), Some(Outcome::NotAttempted) | None) => {
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
        for line in table::lines(&rows) {
            out.line(line)?;
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
