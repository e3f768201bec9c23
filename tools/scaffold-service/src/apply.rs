//! Writing a plan: all of it, or none of it.
//!
//! Phase one stages everything next to its target: each new directory tree
//! (`services/NAME`, `deployments/base/NAME`, …) is written complete inside a
//! temporary directory in its parent, and each edited file's new content
//! into a temporary file beside it. Any failure here (a read-only directory,
//! a full disk) drops the temporaries and leaves the repo untouched. Phase
//! two renames the staged paths into place, which cannot half-write a file;
//! should a rename still fail, the ones already done are undone.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use deploykit::edit::write;
use deploykit::exit::{Error, Exit, Result, ResultExt};

use crate::plan::Plan;

/// A staged path waiting to be renamed into place.
enum Staged {
    /// A new file or directory tree; the temp dir holds it under its final name.
    New {
        holder: tempfile::TempDir,
        target: PathBuf,
    },
    /// An edited file's new content, beside it.
    Edit {
        staged: write::Staged,
        before: String,
    },
}

/// What was done, to undo it.
enum Done {
    New(PathBuf),
    Edit { target: PathBuf, before: String },
}

/// The topmost missing ancestor of `rel` below `root` (the unit to stage), or `rel` itself.
fn missing_top(root: &Path, rel: &str) -> PathBuf {
    let mut top = PathBuf::new();
    for part in rel.split('/') {
        top.push(part);
        if root.join(&top).symlink_metadata().is_err() {
            return top;
        }
    }
    top
}

/// Writes the plan's files and edits into `root`.
pub fn apply(root: &Path, plan: &Plan) -> Result<()> {
    let writes = plan.files.iter().map(|f| f.path.as_str());
    let edits = plan.edits.iter().filter(|e| e.after.is_some());
    for rel in writes.chain(edits.map(|e| e.path.as_str())) {
        inside(root, rel)?;
    }
    // The edited files are held from the check that they are still what
    // the plan read until they are replaced: another deploykit edit of one
    // waits, and its change is not undone.
    let edited: Vec<PathBuf> = plan.edits.iter().map(|e| root.join(&e.path)).collect();
    let _held = write::hold(&edited)?;
    let staged = stage(root, plan)?;
    commit(staged)
}

/// Refuses (exit 2) a path that would be written outside the repository:
/// a `..` step, or an existing part of it (a `services` directory, the
/// edited file itself) that is a link leading out. What does not exist yet
/// is created inside the deepest part that does.
fn inside(root: &Path, rel: &str) -> Result<()> {
    let outside = |why: &str| {
        Error::usage(format!(
            "{rel} {why}, outside the repository {}; refusing to write (nothing written)",
            root.display()
        ))
    };
    let relative = Path::new(rel);
    if relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(outside("is not a plain relative path"));
    }
    let real_root = fs::canonicalize(root)
        .or_exit(Exit::Usage, format!("cannot resolve {}", root.display()))?;
    let existing = relative
        .ancestors()
        .map(|a| root.join(a))
        .find(|p| p.symlink_metadata().is_ok())
        .unwrap_or_else(|| root.to_owned());
    let real =
        fs::canonicalize(&existing).map_err(|_| outside("is under a link that leads nowhere"))?;
    if real.starts_with(&real_root) {
        Ok(())
    } else {
        Err(outside(&format!("resolves to {}", real.display())))
    }
}

fn stage(root: &Path, plan: &Plan) -> Result<Vec<Staged>> {
    let fail = |what: &str, path: &Path| format!("{what} {} (nothing written)", path.display());
    let units: BTreeSet<PathBuf> = plan
        .files
        .iter()
        .map(|f| missing_top(root, &f.path))
        .collect();
    let mut staged = Vec::new();
    for unit in &units {
        let target = root.join(unit);
        if target.symlink_metadata().is_ok() {
            return Err(Error::no(format!(
                "{} already exists; refusing to overwrite it (nothing written)",
                unit.display()
            )));
        }
        let parent = target.parent().unwrap_or(root);
        let holder = tempfile::Builder::new()
            .prefix(".scaffold-service-")
            .tempdir_in(parent)
            .or_exit(Exit::Usage, fail("cannot stage files in", parent))?;
        let unit_str = unit
            .to_string_lossy()
            .replace(std::path::MAIN_SEPARATOR, "/");
        for file in &plan.files {
            let Some(rest) = file.path.strip_prefix(&unit_str) else {
                continue;
            };
            if !(rest.is_empty() || rest.starts_with('/')) {
                continue;
            }
            let leaf = unit.file_name().map(PathBuf::from).unwrap_or_default();
            let dest = holder.path().join(leaf).join(rest.trim_start_matches('/'));
            if let Some(dir) = dest.parent() {
                fs::create_dir_all(dir).or_exit(Exit::Usage, fail("cannot create", dir))?;
            }
            fs::write(&dest, &file.content).or_exit(Exit::Usage, fail("cannot write", &dest))?;
        }
        staged.push(Staged::New { holder, target });
    }
    for edit in &plan.edits {
        let Some(after) = &edit.after else { continue };
        let target = root.join(&edit.path);
        let content = write::stage(&target, after)
            .map_err(|e| Error::new(e.status(), format!("{e} (nothing written)")))?;
        // The file must still be what the plan was computed from.
        let now = fs::read_to_string(&target).or_exit(Exit::Usage, fail("cannot read", &target))?;
        if now != edit.before {
            return Err(Error::no(format!(
                "{} changed while planning; run again (nothing written)",
                edit.path
            )));
        }
        staged.push(Staged::Edit {
            staged: content,
            before: edit.before.clone(),
        });
    }
    Ok(staged)
}

fn commit(staged: Vec<Staged>) -> Result<()> {
    let mut done: Vec<Done> = Vec::new();
    for item in staged {
        let result = match item {
            Staged::New { holder, target } => {
                let name = target.file_name().map(PathBuf::from).unwrap_or_default();
                let from = holder.path().join(name);
                if target.symlink_metadata().is_ok() {
                    Err(Error::no(format!(
                        "{} appeared while writing; refusing to overwrite it",
                        target.display()
                    )))
                } else {
                    fs::rename(&from, &target)
                        .map(|()| done.push(Done::New(target.clone())))
                        .or_exit(
                            Exit::Usage,
                            format!("cannot move {} into place", target.display()),
                        )
                }
            }
            Staged::Edit { staged, before } => {
                let target = staged.target().to_owned();
                staged
                    .commit()
                    .map(|()| done.push(Done::Edit { target, before }))
            }
        };
        if let Err(err) = result {
            rollback(done);
            return Err(err.context("rolled back, nothing left written"));
        }
    }
    Ok(())
}

fn rollback(done: Vec<Done>) {
    for item in done.into_iter().rev() {
        match item {
            Done::New(path) => {
                let _ = if path.is_dir() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
            }
            Done::Edit { target, before } => {
                let _ = fs::write(&target, before);
            }
        }
    }
}
