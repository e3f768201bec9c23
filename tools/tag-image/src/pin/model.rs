//! What `pin` finds and changes, whatever the format: the entries, the pins
//! given on the command line, what an entry becomes, and the changes.
//!
//! A written reference is compared by repository (`domain/path`), so `api`,
//! `docker.io/library/api` and `library/api` all name the same image, and
//! it is rewritten keeping the name as written: a promotion changes the tag
//! and the digest, not the spelling.

use deploykit::edit::guard::Checked;
use deploykit::exit::{Error, Result};
use deploykit::imageref::{self, Reference};
use serde::Serialize;

/// An image entry found in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// 1-based line number (of the entry's first line for Kustomize).
    pub line: usize,
    /// What holds it: `images[name=api]`, `services.api.image`, `APP_IMAGE`.
    pub key: String,
    /// What `NAME=REF` calls it: the Kustomize `images[].name`, the compose
    /// service, the env variable.
    pub name: String,
    /// The reference the entry makes (for Kustomize, composed from
    /// `newName`/`name`, `newTag` and `digest`); `None` when it could not be
    /// read.
    pub image: Option<String>,
    /// Why `pin` cannot rewrite the entry in place (flow style, an alias),
    /// with what to write instead; `None` when it can.
    #[serde(skip)]
    pub problem: Option<String>,
    /// A value derived from the image in the same file (the `IMAGE_DIGEST`
    /// a scaffolded overlay sets) that does not match it, described.
    #[serde(skip)]
    pub stale: Option<String>,
    /// Where the format module finds it again: the index in `images:`, the
    /// line index.
    #[serde(skip)]
    pub site: usize,
}

impl Entry {
    /// The repository its reference names, if it can be read and parses
    /// (a `${VAR}` template does not).
    pub fn repository(&self) -> Option<String> {
        self.image.as_deref().and_then(repository_of)
    }

    /// Its tag, if it has one.
    pub fn tag(&self) -> Option<&str> {
        self.image.as_deref().and_then(|i| split_written(i).1)
    }

    /// Its digest, if it has one.
    pub fn digest(&self) -> Option<&str> {
        self.image.as_deref().and_then(|i| split_written(i).2)
    }
}

/// One change made (or to be made) to a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// 1-based line number in the original file.
    pub line: usize,
    /// What holds the image.
    pub key: String,
    /// What `NAME=REF` calls it.
    pub name: String,
    /// The reference before (empty when it could not be read).
    pub old: String,
    /// The reference after.
    pub new: String,
}

impl Change {
    /// `entry` moving to `new`.
    pub fn of(entry: &Entry, new: String) -> Change {
        Change {
            line: entry.line,
            key: entry.key.clone(),
            name: entry.name.clone(),
            old: entry.image.clone().unwrap_or_default(),
            new,
        }
    }
}

/// The outcome of rewriting one file.
#[derive(Debug, Clone)]
pub struct Rewrite {
    /// The new text, proven by its guard; `None` when nothing changed.
    pub text: Option<Checked>,
    /// What changed.
    pub changes: Vec<Change>,
}

/// A reference given on the command line: `REF`, or `NAME=REF` for the
/// entries called NAME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The argument as given.
    pub input: String,
    /// NAME, when the argument addresses entries by name.
    pub name: Option<String>,
    /// The reference, normalised; it has a digest.
    pub reference: Reference,
    /// The reference as given, after NAME.
    pub written: String,
}

impl Pin {
    /// The repository it pins.
    pub fn repository(&self) -> String {
        self.reference.name()
    }

    /// What `entry` becomes under this pin: its name as written when the
    /// repository stays the same (else the pin's, as given), the pin's tag
    /// (or none) and digest.
    pub fn target(&self, entry: &Entry) -> Target {
        let name = match &entry.image {
            Some(image) if repository_of(image) == Some(self.repository()) => {
                split_written(image).0.to_owned()
            }
            _ => split_written(&self.written).0.to_owned(),
        };
        Target {
            name,
            tag: self.reference.tag().map(str::to_owned),
            digest: self
                .reference
                .digest()
                .map(ToString::to_string)
                .unwrap_or_default(),
        }
    }
}

/// What an entry is rewritten to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The image name to write.
    pub name: String,
    /// The tag, if the pin has one.
    pub tag: Option<String>,
    /// The digest.
    pub digest: String,
}

impl Target {
    /// The whole reference: `name[:tag]@digest`.
    pub fn reference(&self) -> String {
        let mut v = self.name.clone();
        if let Some(tag) = &self.tag {
            v.push(':');
            v.push_str(tag);
        }
        v.push('@');
        v.push_str(&self.digest);
        v
    }
}

/// The pins given on the command line, parsed and checked: each has a
/// digest, a NAME is given once, and a bare reference is given once.
pub fn parse_pins(refs: &[String]) -> Result<Vec<Pin>> {
    let mut pins: Vec<Pin> = Vec::new();
    for input in refs {
        let (name, written) = match input.split_once('=') {
            Some((name, r)) => {
                if name.is_empty() || name.chars().any(char::is_whitespace) {
                    return Err(Error::usage(format!(
                        "{input:?}: give NAME=REF, NAME being an images[].name, a compose service or an env variable"
                    )));
                }
                (Some(name.to_owned()), r)
            }
            None => (None, input.as_str()),
        };
        let reference = imageref::parse_normalized(written)
            .map_err(|e| Error::usage(format!("invalid image reference {written:?}: {e}")))?;
        if reference.digest().is_none() {
            return Err(Error::usage(format!(
                "{written} has no digest: pin needs repo@sha256:… (image-digest resolve {written} prints it)"
            )));
        }
        if reference
            .digest()
            .is_some_and(imageref::Digest::is_placeholder)
        {
            return Err(Error::usage(format!(
                "{written} carries the placeholder digest of an image not built yet: pin the digest CI pushed"
            )));
        }
        let pin = Pin {
            input: input.clone(),
            name,
            reference,
            written: written.to_owned(),
        };
        if let Some(other) = pins.iter().find(|p| match (&p.name, &pin.name) {
            (Some(a), Some(b)) => a == b,
            (None, None) => p.reference == pin.reference,
            _ => false,
        }) {
            return Err(Error::usage(format!(
                "{} is given twice ({} and {})",
                pin.name.as_deref().unwrap_or(&pin.written),
                other.input,
                pin.input
            )));
        }
        pins.push(pin);
    }
    Ok(pins)
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
pub fn repository_of(value: &str) -> Option<String> {
    if value.contains('$') {
        return None;
    }
    imageref::parse_normalized(value).ok().map(|r| r.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn pins_need_digests_and_each_is_given_once() {
        let err = parse_pins(&["ghcr.io/acme/api:prod-abc1234".into()]).unwrap_err();
        assert!(err.to_string().contains("has no digest"), "{err}");
        let err =
            parse_pins(&[format!("api@{D1}"), format!("docker.io/library/api@{D1}")]).unwrap_err();
        assert!(err.to_string().contains("given twice"), "{err}");
        let err =
            parse_pins(&[format!("A_IMAGE=api@{D1}"), format!("A_IMAGE=b@{D1}")]).unwrap_err();
        assert!(
            err.to_string().starts_with("A_IMAGE is given twice"),
            "{err}"
        );
        let err = parse_pins(&[format!("=api@{D1}")]).unwrap_err();
        assert!(err.to_string().contains("give NAME=REF"), "{err}");
        let err = parse_pins(&[format!("api@{}", imageref::PLACEHOLDER_DIGEST)]).unwrap_err();
        assert!(err.to_string().contains("placeholder"), "{err}");
        // Several references on one repository are fine.
        let pins = parse_pins(&[
            format!("api:prod-abc1234@{D1}"),
            format!("api:prod-abc1234-migrate@{D1}"),
            format!("W_IMAGE=api:prod-abc1234-worker@{D1}"),
        ])
        .unwrap();
        assert_eq!(pins[2].name.as_deref(), Some("W_IMAGE"));
        assert_eq!(pins[2].written, format!("api:prod-abc1234-worker@{D1}"));
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
