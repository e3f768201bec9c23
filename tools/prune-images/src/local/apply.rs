//! Carrying out a local plan, one image at a time.
//!
//! Nothing is ever forced. An image with one tag is removed by that tag, an
//! untagged one by id: the engine then refuses (409) when any container,
//! even a stopped one, uses it, so an image that became in use after the
//! plan was made is not touched. The engines untag a tag that is not an
//! image's last without that check, so an image with several tags is first
//! checked for containers again, then untagged tag by tag, the last removal
//! guarded by the engine (the window left is the short time between that
//! check and the first untag). A refusal (409, or podman's 500 for
//! an image it will not delete) is reported as "skipped: in use" and the run
//! goes on; an image already gone is fine. Any other failure stops the run:
//! what was done so far is still reported.
//!
//! With `--target-free`, the free space of the engine's data root is
//! measured after every removal and the run stops once it is reached.

use std::path::PathBuf;

use deploykit::engine::{self, Engine, RemoveOutcome};
use deploykit::exit::Error;
use deploykit::output::Reporter;
use serde::Serialize;

use super::plan::Plan;
use deploykit::size;

/// What happened to one planned removal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// Removed: the references untagged and the image deleted.
    Removed {
        /// `repo:tag` references untagged.
        untagged: Vec<String>,
    },
    /// The engine refused: a container uses it (a race with the plan).
    SkippedInUse {
        /// The engine's words.
        message: String,
    },
    /// Someone removed it meanwhile.
    Gone,
    /// `--target-free` was reached before its turn.
    NotNeeded,
    /// The run stopped before its turn (an earlier failure).
    NotAttempted,
}

/// The outcomes of an apply run.
#[derive(Debug)]
pub struct Applied {
    /// `(image id, outcome)`, in plan order.
    pub outcomes: Vec<(String, Outcome)>,
    /// Free bytes of the data root at the end (with a target).
    pub free_after: Option<u64>,
    /// The failure that stopped the run, if one did.
    pub error: Option<Error>,
}

/// Where to measure free space, and how much is wanted.
#[derive(Debug, Clone)]
pub struct Target {
    /// The engine's data root.
    pub root: PathBuf,
    /// Bytes wanted free.
    pub bytes: u64,
}

/// Removes the plan's images in order.
pub fn apply(engine: &Engine, plan: &Plan, target: Option<&Target>, out: &Reporter) -> Applied {
    let mut outcomes = Vec::new();
    let mut error = None;
    let mut free_after = None;
    let mut done = false;
    // A signal stops the run between two removals, so the report says
    // exactly what was removed.
    deploykit::signals::cooperate();
    for entry in plan.removals() {
        if error.is_none() {
            error = deploykit::signals::check().err();
        }
        if done || error.is_some() {
            let o = if error.is_some() {
                Outcome::NotAttempted
            } else {
                Outcome::NotNeeded
            };
            outcomes.push((entry.id.clone(), o));
            continue;
        }
        match remove_one(engine, &entry.id, &entry.tags) {
            Ok(outcome) => {
                match &outcome {
                    Outcome::Removed { .. } => out.detail(format_args!(
                        "removed {} ({})",
                        entry.display_name(),
                        entry.short_id()
                    )),
                    Outcome::SkippedInUse { message } => {
                        out.warn(format_args!(
                            "skipped {} ({}): in use: {message}",
                            entry.display_name(),
                            entry.short_id()
                        ));
                    }
                    _ => {}
                }
                outcomes.push((entry.id.clone(), outcome));
            }
            Err(e) => {
                outcomes.push((entry.id.clone(), Outcome::NotAttempted));
                error = Some(e);
                continue;
            }
        }
        if let Some(t) = target {
            match engine::free_bytes(&t.root) {
                Ok(free) => {
                    free_after = Some(free);
                    if free >= t.bytes {
                        out.detail(format_args!(
                            "--target-free reached: {} free",
                            size::format(free)
                        ));
                        done = true;
                    }
                }
                Err(e) => error = Some(e),
            }
        }
    }
    if free_after.is_none()
        && let Some(t) = target
    {
        free_after = engine::free_bytes(&t.root).ok();
    }
    Applied {
        outcomes,
        free_after,
        error,
    }
}

/// Removes one image: by its only tag, or by id when it has none, so the
/// engine's own in-use check guards the removal; an image with several tags
/// is checked for containers again right before its tags are removed one by
/// one (the engines untag a non-last tag without checking), and the last
/// tag's removal is guarded by the engine again.
pub fn remove_one(engine: &Engine, id: &str, tags: &[String]) -> deploykit::Result<Outcome> {
    if tags.len() > 1 {
        let users: Vec<String> = engine
            .containers()?
            .into_iter()
            .filter(|c| c.image_id == id)
            .map(|c| {
                if c.name.is_empty() {
                    c.id.chars().take(12).collect()
                } else {
                    c.name
                }
            })
            .collect();
        if !users.is_empty() {
            return Ok(Outcome::SkippedInUse {
                message: format!(
                    "used by container {} (created after the plan)",
                    users.join(", ")
                ),
            });
        }
    }
    let mut untagged = Vec::new();
    let mut deleted_image = false;
    for tag in tags {
        match engine.remove_image(tag)? {
            RemoveOutcome::Removed {
                untagged: u,
                deleted,
            } => {
                untagged.extend(u);
                deleted_image |= deleted.iter().any(|d| d == id || id.ends_with(d.as_str()));
            }
            RemoveOutcome::InUse(message) => return Ok(Outcome::SkippedInUse { message }),
            RemoveOutcome::NotFound => {}
        }
    }
    if !deleted_image {
        match engine.remove_image(id)? {
            RemoveOutcome::InUse(message) => return Ok(Outcome::SkippedInUse { message }),
            RemoveOutcome::NotFound if untagged.is_empty() => return Ok(Outcome::Gone),
            RemoveOutcome::Removed { .. } | RemoveOutcome::NotFound => {}
        }
    }
    Ok(Outcome::Removed { untagged })
}
