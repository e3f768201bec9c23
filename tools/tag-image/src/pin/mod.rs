//! `tag-image pin`: the promotion flow's edit, a PR that changes the image
//! digest in an overlay.
//!
//! The files are edited line by line, never parsed and re-serialised: a
//! YAML round trip would reorder keys, drop comments and re-quote values,
//! and a reviewer would have to read a reformatted file to find the one line
//! that matters. Each format has its module (`kustomize`, `compose`,
//! `envfile`) that finds its image entries, with the shared YAML scanner
//! of [`deploykit::edit`] for the YAML ones, and rewrites only the values of
//! the entries that name a pinned repository (keeping quotes, spacing and
//! trailing comments); a Kustomize entry that lacks a `digest:`/`newTag:`
//! line gets one. Every other byte, line endings included, stays as it was,
//! and a YAML rewrite is parsed again and must differ from the original in
//! the pinned values only ([`deploykit::edit::guard`]), or nothing is
//! written.

mod compose;
mod envfile;
mod kustomize;
mod model;
#[cfg(test)]
mod testdata;

use std::path::{Path, PathBuf};

use deploykit::edit;
use deploykit::exit::{Error, Exit, Result};
use deploykit::imageref::Reference;
use deploykit::output::Reporter;
use serde::Serialize;

pub use model::{Change, Entry, Rewrite, parse_pins};
use model::{Pins, split_written};

/// The kind of file, which decides where image references live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `kustomization.yaml`: the `images:` list.
    Kustomize,
    /// A compose file: `image:` keys.
    Compose,
    /// An env file: `*_IMAGE=` variables.
    Env,
}

impl Kind {
    /// Guesses the kind from the file name, then from the content.
    pub fn detect(path: &Path, text: &str) -> Option<Kind> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "kustomization.yaml" | "kustomization.yml" | "kustomization"
        ) {
            return Some(Kind::Kustomize);
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ext == "env" || name.starts_with(".env") || name.contains(".env.") || name == "env" {
            return Some(Kind::Env);
        }
        let yaml = ext == "yaml" || ext == "yml";
        if yaml && (name.contains("compose") || text.lines().any(|l| l.starts_with("services:"))) {
            return Some(Kind::Compose);
        }
        if yaml && text.lines().any(|l| l.starts_with("images:")) {
            return Some(Kind::Kustomize);
        }
        if text.lines().any(envfile::is_image_line) {
            return Some(Kind::Env);
        }
        None
    }
}

/// Every image entry of `text`. Fails (exit 2) on a YAML file the scanner
/// refuses (a tab in the indentation).
pub fn entries(kind: Kind, text: &str) -> Result<Vec<Entry>> {
    match kind {
        Kind::Kustomize => kustomize::entries(text),
        Kind::Compose => compose::entries(text),
        Kind::Env => Ok(envfile::entries(text)),
    }
}

/// Rewrites the entries of `text` that name a repository of `pins` to the
/// pinned reference. `pins` must carry digests. A YAML rewrite is parsed
/// again and must differ from the original only in the pinned values.
pub fn rewrite(kind: Kind, text: &str, pins: &[Reference]) -> Result<Rewrite> {
    let pins = Pins::new(pins);
    match kind {
        Kind::Kustomize => kustomize::rewrite(text, &pins),
        Kind::Compose => compose::rewrite(text, &pins),
        Kind::Env => Ok(envfile::rewrite(text, &pins)),
    }
}

#[derive(Serialize)]
struct FileReport {
    file: String,
    kind: Kind,
    changed: bool,
    changes: Vec<Change>,
}

#[derive(Serialize)]
struct Unpinned {
    file: String,
    #[serde(flatten)]
    entry: Entry,
}

/// Runs `pin`.
pub fn run(files: &[PathBuf], refs: &[String], check: bool, out: &Reporter) -> Result<Exit> {
    let pins = parse_pins(refs)?;
    if pins.is_empty() && !check {
        return Err(Error::usage(
            "give the digest-pinned references to write (or --check alone to list unpinned entries)",
        ));
    }
    // Held from the read to the rename, so that a concurrent pin of the
    // same file reads what this one wrote instead of undoing it.
    let _held = if check || pins.is_empty() {
        None
    } else {
        Some(edit::write::hold(files)?)
    };
    let mut loaded = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::usage(format!("reading {}: {e}", path.display())))?;
        let kind = Kind::detect(path, &text).ok_or_else(|| {
            Error::usage(format!(
                "{}: not a kustomization.yaml, compose file or env file (no images:, services: or *_IMAGE= found)",
                path.display()
            ))
        })?;
        loaded.push((path, kind, text));
    }
    if pins.is_empty() {
        return list_unpinned(&loaded, out);
    }
    let mut plans = Vec::new();
    let mut matched: Vec<String> = Vec::new();
    for (path, kind, text) in &loaded {
        let r = rewrite(*kind, text, &pins).map_err(|e| e.context(path.display().to_string()))?;
        matched.extend(r.matched.iter().cloned());
        plans.push((path, *kind, text, r));
    }
    let unmatched: Vec<String> = pins
        .iter()
        .filter(|p| !matched.contains(&p.name()))
        .map(ToString::to_string)
        .collect();
    if !unmatched.is_empty() {
        return Err(Error::usage(format!(
            "no image entry in the files names the repository of {}",
            unmatched.join(", ")
        )));
    }
    let mut reports = Vec::new();
    let mut changed_files = 0;
    for (path, kind, text, r) in &plans {
        let changed = r.text != **text;
        if changed {
            changed_files += 1;
            if !out.json() {
                out.line(edit::diff(&path.display().to_string(), text, &r.text).trim_end())?;
            }
            if !check {
                edit::write::replace(path, &r.text)?;
            }
        }
        reports.push(FileReport {
            file: path.display().to_string(),
            kind: *kind,
            changed,
            changes: r.changes.clone(),
        });
    }
    if out.json() {
        out.json_document(&serde_json::json!({ "check": check, "files": reports }))?;
    }
    let entries: usize = reports.iter().map(|r| r.changes.len()).sum();
    if changed_files == 0 {
        out.info(format_args!(
            "{} file(s) already pinned; nothing to change",
            files.len()
        ));
        return Ok(Exit::Success);
    }
    if check {
        out.info(format_args!(
            "{entries} image entr(ies) in {changed_files} file(s) would change"
        ));
        return Ok(Exit::No);
    }
    out.info(format_args!(
        "pinned {entries} image entr(ies) in {changed_files} file(s)"
    ));
    Ok(Exit::Success)
}

fn list_unpinned(loaded: &[(&PathBuf, Kind, String)], out: &Reporter) -> Result<Exit> {
    let mut unpinned = Vec::new();
    for (path, kind, text) in loaded {
        let found = entries(*kind, text).map_err(|e| e.context(path.display().to_string()))?;
        for e in found {
            if split_written(&e.image).2.is_none() {
                unpinned.push(Unpinned {
                    file: path.display().to_string(),
                    entry: e,
                });
            }
        }
    }
    if out.json() {
        out.json_document(&serde_json::json!({ "check": true, "unpinned": unpinned }))?;
    } else {
        for u in &unpinned {
            out.line(format_args!(
                "{}:{}: {}: {} is not pinned by digest",
                u.file, u.entry.line, u.entry.key, u.entry.image
            ))?;
        }
    }
    if unpinned.is_empty() {
        out.info(format_args!(
            "every image entry in {} file(s) is pinned by digest",
            loaded.len()
        ));
        Ok(Exit::Success)
    } else {
        out.info(format_args!(
            "{} image entr(ies) not pinned by digest",
            unpinned.len()
        ));
        Ok(Exit::No)
    }
}

#[cfg(test)]
mod tests {
    use super::testdata::{D2, KUSTOMIZATION};
    use super::*;

    #[test]
    fn entries_and_detection() {
        assert_eq!(
            Kind::detect(Path::new("overlays/prod/kustomization.yaml"), ""),
            Some(Kind::Kustomize)
        );
        assert_eq!(
            Kind::detect(Path::new("docker-compose.prod.yml"), ""),
            Some(Kind::Compose)
        );
        assert_eq!(
            Kind::detect(Path::new("deploy/runtime.env"), ""),
            Some(Kind::Env)
        );
        assert_eq!(Kind::detect(Path::new(".env.prod"), ""), Some(Kind::Env));
        assert_eq!(Kind::detect(Path::new("notes.txt"), "hello\n"), None);
        let e = entries(Kind::Kustomize, KUSTOMIZATION).unwrap();
        let images: Vec<String> = e.iter().map(|e| e.image.clone()).collect();
        assert_eq!(
            images,
            [
                "ghcr.io/acme/api:prod-0000000".to_owned(),
                format!("ghcr.io/acme/scheduler-worker@{D2}"),
                "redis:7.2".to_owned()
            ]
        );
    }
}
