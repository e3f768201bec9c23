//! `tag-image pin`: the promotion flow's edit, a PR that changes the image
//! digest in an overlay.
//!
//! The files are edited line by line, never parsed and re-serialised: a
//! YAML round trip would reorder keys, drop comments and re-quote values,
//! and a reviewer would have to read a reformatted file to find the one line
//! that matters. Each format has its module (`kustomize`, `compose`,
//! `envfile`) that finds its image entries (the YAML ones from the parsed
//! document, with the shared scanner of [`deploykit::edit`] for their
//! lines) and rewrites only the values of the entries a pin addresses
//! ([`address`]), keeping quotes, spacing and trailing comments; a
//! Kustomize entry that lacks a `digest:`/`newTag:` line gets one. Every
//! other byte, line endings included, stays as it was. Every rewrite is
//! parsed again and must differ from the original in the pinned values
//! only ([`deploykit::edit::guard`]); only a text that passed is written,
//! and nothing is written unless every file passed.

mod address;
mod compose;
mod envfile;
mod kustomize;
mod model;
#[cfg(test)]
mod testdata;

use std::path::{Path, PathBuf};

use deploykit::edit;
use deploykit::exit::{Error, Exit, Result};
use deploykit::imageref;
use deploykit::output::Reporter;
use serde::Serialize;

pub use model::{Change, Entry, Pin, Rewrite, Target, parse_pins};

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

/// Every image entry of `text`. Fails (exit 2) on a YAML file that does
/// not parse or that the scanner refuses (a tab in the indentation).
pub fn entries(kind: Kind, text: &str) -> Result<Vec<Entry>> {
    match kind {
        Kind::Kustomize => kustomize::entries(text),
        Kind::Compose => compose::entries(text),
        Kind::Env => Ok(envfile::entries(text)),
    }
}

/// Rewrites the entries of `text` in `edits` (an index into `entries`,
/// what it becomes), and proves the result differs from the original only
/// there (and in the values derived from them).
pub fn rewrite(
    kind: Kind,
    text: &str,
    entries: &[Entry],
    edits: &[(usize, Target)],
) -> Result<Rewrite> {
    match kind {
        Kind::Kustomize => kustomize::rewrite(text, entries, edits),
        Kind::Compose => compose::rewrite(text, entries, edits),
        Kind::Env => envfile::rewrite(text, entries, edits),
    }
}

#[derive(Serialize)]
struct FileReport {
    file: String,
    kind: Kind,
    changed: bool,
    changes: Vec<Change>,
}

/// Why an entry fails `pin --check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Unfit {
    /// No digest.
    NoDigest,
    /// The placeholder digest: not built yet.
    Placeholder,
    /// It could not be read.
    Unreadable,
    /// A value derived from it (`IMAGE_DIGEST`) is not its digest.
    StaleDigest,
}

#[derive(Serialize)]
struct Unpinned {
    file: String,
    #[serde(flatten)]
    entry: Entry,
    reason: Unfit,
}

/// A file given with `--file`, read and recognised.
struct Loaded<'p> {
    path: &'p PathBuf,
    kind: Kind,
    text: String,
    entries: Vec<Entry>,
}

impl Loaded<'_> {
    fn shown(&self) -> String {
        self.path.display().to_string()
    }
}

/// Runs `pin`.
pub fn run(files: &[PathBuf], refs: &[String], check: bool, out: &Reporter) -> Result<Exit> {
    let pins = parse_pins(refs)?;
    if pins.is_empty() && !check {
        return Err(Error::usage(
            "give the digest-pinned references to write, as REF or NAME=REF (or --check alone to list unpinned entries)",
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
        let entries = entries(kind, &text).map_err(|e| e.context(path.display().to_string()))?;
        loaded.push(Loaded {
            path,
            kind,
            text,
            entries,
        });
    }
    if pins.is_empty() {
        return list_unpinned(&loaded, out);
    }
    let views: Vec<address::FileEntries<'_>> = loaded
        .iter()
        .map(|l| address::FileEntries {
            file: l.shown(),
            entries: &l.entries,
        })
        .collect();
    let plan = address::resolve(&views, &pins)?;
    let mut rewrites = Vec::new();
    for (l, edits) in loaded.iter().zip(plan) {
        let edits: Vec<(usize, Target)> = edits.into_iter().map(|(e, (_, t))| (e, t)).collect();
        let r = if edits.is_empty() {
            Rewrite {
                text: None,
                changes: Vec::new(),
            }
        } else {
            rewrite(l.kind, &l.text, &l.entries, &edits).map_err(|e| e.context(l.shown()))?
        };
        rewrites.push(r);
    }
    let mut reports = Vec::new();
    let mut changed_files = 0;
    for (l, r) in loaded.iter().zip(&rewrites) {
        let new = r.text.as_ref().filter(|t| t.text() != l.text);
        if let Some(new) = new {
            changed_files += 1;
            if !out.json() {
                out.line(edit::diff(&l.shown(), &l.text, new.text()).trim_end())?;
            }
        }
        reports.push(FileReport {
            file: l.shown(),
            kind: l.kind,
            changed: new.is_some(),
            changes: r.changes.clone(),
        });
    }
    if !check {
        for (l, r) in loaded.iter().zip(&rewrites) {
            if let Some(new) = r.text.as_ref().filter(|t| t.text() != l.text) {
                new.write(l.path)?;
            }
        }
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

/// Why `entry` is not fit to deploy, if it is not.
fn unfit(entry: &Entry) -> Option<Unfit> {
    let Some(image) = &entry.image else {
        return Some(Unfit::Unreadable);
    };
    match model::split_written(image).2 {
        None => Some(Unfit::NoDigest),
        Some(d) if imageref::is_placeholder_digest(d) => Some(Unfit::Placeholder),
        Some(_) if entry.stale.is_some() => Some(Unfit::StaleDigest),
        Some(_) => None,
    }
}

fn list_unpinned(loaded: &[Loaded<'_>], out: &Reporter) -> Result<Exit> {
    let mut unpinned = Vec::new();
    for l in loaded {
        for e in &l.entries {
            if let Some(reason) = unfit(e) {
                unpinned.push(Unpinned {
                    file: l.shown(),
                    entry: e.clone(),
                    reason,
                });
            }
        }
    }
    if out.json() {
        out.json_document(&serde_json::json!({ "check": true, "unpinned": unpinned }))?;
    } else {
        for u in &unpinned {
            let (e, file) = (&u.entry, &u.file);
            let image = e.image.as_deref().unwrap_or("");
            match u.reason {
                Unfit::NoDigest => out.line(format_args!(
                    "{file}:{}: {}: {image} is not pinned by digest",
                    e.line, e.key
                ))?,
                Unfit::Placeholder => out.line(format_args!(
                    "{file}:{}: {}: {image} is on the placeholder digest (not built yet)",
                    e.line, e.key
                ))?,
                Unfit::StaleDigest => out.line(format_args!(
                    "{file}:{}: {}: {image} is pinned, but {} (pin it again to move both)",
                    e.line,
                    e.key,
                    e.stale
                        .as_deref()
                        .unwrap_or("a value derived from it differs")
                ))?,
                Unfit::Unreadable => out.line(format_args!(
                    "{file}:{}: {}: could not be read ({})",
                    e.line,
                    e.key,
                    e.problem.as_deref().unwrap_or("not an image reference")
                ))?,
            }
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
            "{} image entr(ies) not pinned by digest, on the placeholder, unreadable or stale",
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
        let images: Vec<String> = e.iter().filter_map(|e| e.image.clone()).collect();
        assert_eq!(
            images,
            [
                "ghcr.io/acme/api:prod-0000000".to_owned(),
                format!("ghcr.io/acme/scheduler-worker@{D2}"),
                "redis:7.2".to_owned()
            ]
        );
        let names: Vec<&str> = e.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["api", "ghcr.io/acme/scheduler-worker", "redis"]);
    }
}
