//! What `pin` finds and changes, whatever the format: the entries, the
//! changes, and how a written reference is matched against and rewritten
//! to a pin. Matching is by repository (`domain/path`), so `api`,
//! `docker.io/library/api` and `library/api` all name the same image.

use std::collections::BTreeMap;

use deploykit::edit::lines::{self, Span};
use deploykit::exit::{Error, Result};
use deploykit::imageref::{self, Reference};
use serde::Serialize;

/// An image reference found in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// 1-based line number (of the entry's first line for Kustomize).
    pub line: usize,
    /// What holds it: `image`, `API_IMAGE`, `images[name=api]`.
    pub key: String,
    /// The reference the entry makes (for Kustomize, composed from
    /// `newName`/`name`, `newTag` and `digest`).
    pub image: String,
}

/// One change made (or to be made) to a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// 1-based line number in the original file.
    pub line: usize,
    /// What holds the image.
    pub key: String,
    /// The reference before.
    pub old: String,
    /// The reference after.
    pub new: String,
}

/// The outcome of rewriting one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    /// The new text (the same text when nothing changed).
    pub text: String,
    /// What changed.
    pub changes: Vec<Change>,
    /// The repositories of the pins that matched an entry, sorted, once each.
    pub matched: Vec<String>,
}

impl Rewrite {
    /// The outcome of a rewrite to `text`.
    pub fn new(text: String, changes: Vec<Change>, mut matched: Vec<String>) -> Self {
        matched.sort();
        matched.dedup();
        Rewrite {
            text,
            changes,
            matched,
        }
    }
}

/// The pins given on the command line, parsed and checked: each has a
/// digest, and no repository is pinned twice.
pub fn parse_pins(refs: &[String]) -> Result<Vec<Reference>> {
    let mut pins: Vec<Reference> = Vec::new();
    for input in refs {
        let r = imageref::parse_normalized(input)
            .map_err(|e| Error::usage(format!("invalid image reference {input:?}: {e}")))?;
        if r.digest().is_none() {
            return Err(Error::usage(format!(
                "{input} has no digest: pin needs repo@sha256:… (image-digest resolve {input} prints it)"
            )));
        }
        if let Some(other) = pins.iter().find(|p| p.name() == r.name()) {
            return Err(Error::usage(format!(
                "{} is pinned twice ({other} and {r})",
                r.name()
            )));
        }
        pins.push(r);
    }
    Ok(pins)
}

/// The pins, by repository.
pub struct Pins(BTreeMap<String, Reference>);

impl Pins {
    /// Indexes `pins` (which carry digests) by repository.
    pub fn new(pins: &[Reference]) -> Self {
        Pins(pins.iter().map(|p| (p.name(), p.clone())).collect())
    }

    /// The pin for the repository a written reference names, if any.
    pub fn get(&self, written: &str) -> Option<&Reference> {
        repository_of(written).and_then(|r| self.0.get(&r))
    }

    /// Whether `text` mentions the path of a pinned repository.
    pub fn mentioned_in(&self, text: &str) -> bool {
        self.0.values().any(|p| text.contains(p.path()))
    }
}

/// Splits a written reference into (name as written, tag, digest).
pub fn split_written(value: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match value.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (value, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..]), digest),
        None => (rest, None, digest),
    }
}

/// The repository (`domain/path`) a written reference names, if it parses.
fn repository_of(value: &str) -> Option<String> {
    if value.contains('$') {
        return None;
    }
    imageref::parse_normalized(value).ok().map(|r| r.name())
}

/// The reference a pin makes of `name` (as written): the pin's tag if it
/// has one, its digest.
pub fn pinned(name: &str, pin: &Reference) -> String {
    let mut v = name.to_owned();
    if let Some(tag) = pin.tag() {
        v.push(':');
        v.push_str(tag);
    }
    if let Some(d) = pin.digest() {
        v.push('@');
        v.push_str(&d.to_string());
    }
    v
}

/// A line whose whole value is an image reference (a compose `image:`,
/// an env `*_IMAGE=`).
pub struct ValueLine<'t> {
    /// The line's index, from 0.
    pub index: usize,
    /// What holds the image.
    pub key: String,
    /// The line's text.
    pub body: &'t str,
    /// Where the reference is in it.
    pub span: Span,
}

impl ValueLine<'_> {
    /// The reference as written.
    pub fn written(&self) -> &str {
        self.span.of(self.body)
    }

    /// The entry it makes.
    pub fn entry(&self) -> Entry {
        Entry {
            line: self.index + 1,
            key: self.key.clone(),
            image: self.written().to_owned(),
        }
    }
}

/// The value lines' new texts under `pins`.
#[derive(Default)]
pub struct Pinned {
    /// The new text of each changed line, by line index.
    pub bodies: Vec<(usize, String)>,
    /// What changed.
    pub changes: Vec<Change>,
    /// The repositories that matched an entry.
    pub matched: Vec<String>,
}

/// Rewrites each value line that names a pinned repository: the name as
/// written, the pin's tag and digest; quotes, spacing and comment kept.
pub fn pin_values<'t>(values: impl IntoIterator<Item = ValueLine<'t>>, pins: &Pins) -> Pinned {
    let mut out = Pinned::default();
    for v in values {
        let written = v.written();
        let Some(pin) = pins.get(written) else {
            continue;
        };
        out.matched.push(pin.name());
        let new = pinned(split_written(written).0, pin);
        if new != written {
            out.bodies
                .push((v.index, lines::splice(v.body, v.span, &new)));
            out.changes.push(Change {
                line: v.index + 1,
                key: v.key.clone(),
                old: written.to_owned(),
                new,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn pins_need_digests_and_one_per_repository() {
        let err = parse_pins(&["ghcr.io/acme/api:prod-abc1234".into()]).unwrap_err();
        assert!(err.to_string().contains("has no digest"), "{err}");
        let err =
            parse_pins(&[format!("api@{D1}"), format!("docker.io/library/api@{D2}")]).unwrap_err();
        assert!(err.to_string().contains("pinned twice"), "{err}");
    }

    #[test]
    fn written_references_split() {
        assert_eq!(
            split_written("127.0.0.1:5000/app:1@sha256:x"),
            ("127.0.0.1:5000/app", Some("1"), Some("sha256:x"))
        );
        assert_eq!(
            split_written("127.0.0.1:5000/app"),
            ("127.0.0.1:5000/app", None, None)
        );
        assert_eq!(split_written("app:1"), ("app", Some("1"), None));
    }
}
