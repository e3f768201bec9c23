//! The OCI and Docker documents a registry serves, as the tools read them.
//!
//! Kept apart from the HTTP side so the parsing can be tested and fuzzed
//! without a registry, and so every tool reads an index the same way:
//!
//! - the media types, and the `Accept` list with the OCI index and manifest
//!   and the Docker list and schema2 types ([`ACCEPT`]): without the OCI
//!   types a registry answers 404 for an OCI manifest;
//! - what a manifest is once fetched ([`Descriptor`], [`Manifest`]): its
//!   bytes kept exactly as served, since the digest is their hash;
//! - indexes and platforms: the entries of an index, and the child for an
//!   `os/arch[/variant]`, with attestation entries (which carry an
//!   `unknown/unknown` platform) never picked;
//! - the `errors` body of the distribution API, whose code
//!   (`MANIFEST_UNKNOWN`…) makes messages precise.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::exit::{Error, Result};
use crate::imageref::Digest;

/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// The `Accept` header of every manifest request.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// Whether a media type is an index (a list of per-platform manifests).
pub fn is_index(media_type: &str) -> bool {
    matches!(media_type, OCI_INDEX | DOCKER_LIST)
}

/// A manifest's identity: what `resolve` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Descriptor {
    /// The manifest's media type.
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// A fetched manifest: its descriptor and its exact, verified bytes.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// What the bytes hash to, with the media type the registry served.
    pub descriptor: Descriptor,
    /// The body.
    pub body: Vec<u8>,
}

/// `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`…
    pub architecture: String,
    /// `v7`, `v8`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// Parses `os/arch[/variant]`.
    pub fn parse(text: &str) -> std::result::Result<Platform, String> {
        let parts: Vec<&str> = text.split('/').collect();
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Platform {
                os: (*os).to_owned(),
                architecture: (*arch).to_owned(),
                variant: None,
            }),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => Ok(Platform {
                os: (*os).to_owned(),
                architecture: (*arch).to_owned(),
                variant: Some((*variant).to_owned()),
            }),
            _ => Err(format!(
                "invalid platform {text:?}: expected os/arch[/variant], e.g. linux/arm64"
            )),
        }
    }

    /// Whether an image of platform `other` is one of this platform: the
    /// same os and architecture, and the same variant unless this one
    /// names none.
    pub fn matches(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && (self.variant.is_none() || self.variant == other.variant)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// An entry of an index.
#[derive(Debug, Clone, Deserialize)]
pub struct IndexEntry {
    /// The child's media type.
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    /// The child's digest (as a string; validated on use).
    pub digest: String,
    /// The child's size.
    #[serde(default)]
    pub size: u64,
    /// The child's platform.
    #[serde(default)]
    pub platform: Option<Platform>,
    /// Annotations (attestations are marked here).
    #[serde(default)]
    pub annotations: Option<HashMap<String, String>>,
}

#[derive(Deserialize)]
struct IndexDoc {
    #[serde(default)]
    manifests: Vec<IndexEntry>,
}

/// The fields of an image manifest the client reads.
#[derive(Deserialize)]
pub struct ManifestDoc {
    /// The media type the manifest names for itself, if any.
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
    /// The image config blob (absent from an index).
    pub config: Option<BlobRef>,
}

/// A blob a manifest points at.
#[derive(Deserialize)]
pub struct BlobRef {
    /// The blob's digest (as a string; validated on use).
    pub digest: String,
}

/// The platform fields of an image config.
#[derive(Deserialize)]
pub struct ConfigDoc {
    /// `linux`.
    #[serde(default)]
    pub os: String,
    /// `amd64`, `arm64`…
    #[serde(default)]
    pub architecture: String,
    /// `v7`, `v8`…
    #[serde(default)]
    pub variant: Option<String>,
}

impl ConfigDoc {
    /// The platform the config describes.
    pub fn platform(self) -> Platform {
        Platform {
            os: self.os,
            architecture: self.architecture,
            variant: self.variant,
        }
    }
}

/// The entries of an index document.
pub fn index_entries(body: &[u8]) -> Result<Vec<IndexEntry>> {
    serde_json::from_slice::<IndexDoc>(body)
        .map(|d| d.manifests)
        .map_err(|e| {
            Error::remote(format!(
                "the registry sent an index that is not valid JSON: {e}"
            ))
        })
}

/// Picks the child manifest for `platform` (attestation entries skipped).
pub fn select_platform(entries: &[IndexEntry], platform: &Platform) -> Option<Descriptor> {
    entries
        .iter()
        .filter(|e| {
            e.annotations
                .as_ref()
                .is_none_or(|a| !a.contains_key("vnd.docker.reference.type"))
        })
        .find(|e| e.platform.as_ref().is_some_and(|p| platform.matches(p)))
        .and_then(|e| {
            Some(Descriptor {
                media_type: e.media_type.clone(),
                digest: Digest::parse(&e.digest).ok()?,
                size: e.size,
            })
        })
}

/// The four manifest media types the client asks for ([`ACCEPT`]).
pub const ACCEPTED: [&str; 4] = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST];

/// Why a served answer is not a manifest, in words that say what came back
/// without quoting the body (which may be anything, secrets included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAManifest(pub String);

impl fmt::Display for NotAManifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The media type of a `Content-Type` value: before any `;`, trimmed,
/// lower-cased (media types are case-insensitive).
pub fn content_media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A `Content-Type` value as a message may show it: printable ASCII,
/// at most 80 characters, quoted.
fn shown(content_type: &str) -> String {
    let clean: String = content_type
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(80)
        .collect();
    format!("{clean:?}")
}

/// Verifies that a served answer is a manifest of a type the request
/// accepted, and returns that media type.
///
/// The `Content-Type` must be one of [`ACCEPTED`]: a registry always says
/// which document it serves, and a server that answers anything to any path
/// (a web server, a proxy's error page) says `text/html` or nothing. The
/// body must then be that document: a JSON object with `schemaVersion` 2, a
/// `mediaType` equal to the `Content-Type` (required by the Docker types,
/// optional in OCI), `manifests` for an index, `config` and `layers` for
/// an image manifest. skopeo and the docker CLI refuse the same answers.
pub fn verify_manifest(
    content_type: Option<&str>,
    body: &[u8],
) -> std::result::Result<String, NotAManifest> {
    let size = body.len();
    let header = content_type.map(content_media_type);
    let Some(media_type) = header.filter(|m| ACCEPTED.contains(&m.as_str())) else {
        let what = match content_type {
            None => "no Content-Type".to_owned(),
            Some(c) => format!("Content-Type {}", shown(c)),
        };
        let body_kind = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(_)) => "a JSON object",
            Ok(_) => "JSON that is not an object",
            Err(_) if body.is_empty() => "an empty body",
            Err(_) => "a body that is not JSON",
        };
        return Err(NotAManifest(format!(
            "{what} and {body_kind} ({size} bytes), not a manifest of a type the request accepted ({})",
            ACCEPTED.join(", ")
        )));
    };
    let doc: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        NotAManifest(format!(
            "Content-Type {media_type} with a body that is not valid JSON ({size} bytes; {e})"
        ))
    })?;
    let Some(obj) = doc.as_object() else {
        return Err(NotAManifest(format!(
            "Content-Type {media_type} with JSON that is not an object ({size} bytes)"
        )));
    };
    match obj.get("schemaVersion") {
        Some(v) if v.as_u64() == Some(2) => {}
        Some(v) => {
            return Err(NotAManifest(format!(
                "a {media_type} with schemaVersion {}, not 2",
                clip_json(v)
            )));
        }
        None => {
            return Err(NotAManifest(format!(
                "a {media_type} without schemaVersion ({size} bytes)"
            )));
        }
    }
    let docker = media_type == DOCKER_LIST || media_type == DOCKER_MANIFEST;
    match obj.get("mediaType") {
        None if docker => {
            return Err(NotAManifest(format!(
                "a {media_type} without the mediaType field its schema requires"
            )));
        }
        None => {}
        Some(serde_json::Value::String(m)) if *m == media_type => {}
        Some(other) => {
            return Err(NotAManifest(format!(
                "Content-Type {media_type} but the manifest says mediaType {}",
                clip_json(other)
            )));
        }
    }
    let has = |key: &str, array: bool| {
        obj.get(key)
            .is_some_and(|v| if array { v.is_array() } else { v.is_object() })
    };
    if is_index(&media_type) {
        if !has("manifests", true) {
            return Err(NotAManifest(format!(
                "a {media_type} without a manifests array"
            )));
        }
    } else if !has("config", false) || !has("layers", true) {
        return Err(NotAManifest(format!(
            "a {media_type} without a config object and a layers array"
        )));
    }
    Ok(media_type)
}

/// A JSON value for a message: compact, at most 40 characters.
fn clip_json(v: &serde_json::Value) -> String {
    let text = v.to_string();
    if text.len() <= 40 {
        return text;
    }
    let mut end = 40;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The first error code of a distribution error body (`MANIFEST_UNKNOWN`…).
pub fn error_code(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(Deserialize)]
    struct ErrorEntry {
        code: String,
    }
    serde_json::from_slice::<Errors>(body)
        .ok()
        .and_then(|e| e.errors.into_iter().next())
        .map(|e| e.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_lists_all_four_manifest_types() {
        for t in [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST] {
            assert!(ACCEPT.contains(t), "{t}");
        }
    }

    #[test]
    fn only_accepted_well_formed_manifests_pass() {
        let layers = r#""config":{"digest":"sha256:x"},"layers":[]"#;
        let oci = format!(r#"{{"schemaVersion":2,{layers}}}"#);
        let docker = format!(r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}",{layers}}}"#);
        let index = r#"{"schemaVersion":2,"manifests":[]}"#;
        let ok = |ct: &str, body: &str| verify_manifest(Some(ct), body.as_bytes());
        assert_eq!(ok(OCI_MANIFEST, &oci).as_deref(), Ok(OCI_MANIFEST));
        assert_eq!(
            ok(
                "Application/VND.oci.image.manifest.v1+json; charset=utf-8",
                &oci
            )
            .as_deref(),
            Ok(OCI_MANIFEST)
        );
        assert_eq!(ok(DOCKER_MANIFEST, &docker).as_deref(), Ok(DOCKER_MANIFEST));
        assert_eq!(ok(OCI_INDEX, index).as_deref(), Ok(OCI_INDEX));
        // (content type, body, what the message must say)
        let cases: &[(Option<&str>, &str, &str)] = &[
            (
                Some("text/plain"),
                "ok",
                "\"text/plain\" and a body that is not JSON (2 bytes)",
            ),
            (None, "ok", "no Content-Type"),
            (
                Some("application/json"),
                &oci,
                "\"application/json\" and a JSON object",
            ),
            (Some(OCI_MANIFEST), "ok", "not valid JSON"),
            (Some(OCI_MANIFEST), "[]", "not an object"),
            (
                Some(OCI_MANIFEST),
                r#"{"config":{},"layers":[]}"#,
                "without schemaVersion",
            ),
            (
                Some(OCI_MANIFEST),
                r#"{"schemaVersion":1}"#,
                "schemaVersion 1, not 2",
            ),
            (
                Some(OCI_MANIFEST),
                r#"{"schemaVersion":"2"}"#,
                "schemaVersion \"2\"",
            ),
            (Some(DOCKER_MANIFEST), &oci, "without the mediaType"),
            (
                Some(OCI_MANIFEST),
                &format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[]}}"#),
                "but the manifest says mediaType",
            ),
            (Some(OCI_INDEX), &oci, "without a manifests array"),
            (Some(OCI_MANIFEST), index, "without a config object"),
        ];
        for (ct, body, want) in cases {
            let err = verify_manifest(*ct, body.as_bytes()).unwrap_err().0;
            assert!(err.contains(want), "{ct:?} {body}: {err}");
        }
    }

    #[test]
    fn platforms() {
        let p = Platform::parse("linux/arm64/v8").unwrap();
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux/").is_err());
        let entries: Vec<IndexEntry> = serde_json::from_str(&format!(
            r#"[{{"mediaType":"m","digest":"sha256:{a}","size":1,"platform":{{"os":"linux","architecture":"amd64"}}}},
               {{"mediaType":"m","digest":"sha256:{b}","size":2,"platform":{{"os":"unknown","architecture":"unknown"}},
                 "annotations":{{"vnd.docker.reference.type":"attestation-manifest"}}}},
               {{"mediaType":"m","digest":"sha256:{c}","size":3,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}}]"#,
            a = "a".repeat(64),
            b = "b".repeat(64),
            c = "c".repeat(64)
        ))
        .unwrap();
        let arm = select_platform(&entries, &Platform::parse("linux/arm64").unwrap()).unwrap();
        assert_eq!(arm.size, 3);
        let arm8 = select_platform(&entries, &Platform::parse("linux/arm64/v8").unwrap()).unwrap();
        assert_eq!(arm8.size, 3);
        assert!(select_platform(&entries, &Platform::parse("linux/arm64/v7").unwrap()).is_none());
        assert!(select_platform(&entries, &Platform::parse("unknown/unknown").unwrap()).is_none());
    }
}
