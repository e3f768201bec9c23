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

/// The media type of a served manifest: the `Content-Type` the registry
/// sent, unless it is a generic JSON or binary type, else the `mediaType`
/// the manifest names, else empty.
pub fn media_type_of(content_type: Option<&str>, body: &[u8]) -> String {
    let from_header = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim().to_owned())
        .filter(|c| !c.is_empty() && c != "application/json" && c != "application/octet-stream");
    from_header
        .or_else(|| {
            serde_json::from_slice::<ManifestDoc>(body)
                .ok()
                .and_then(|d| d.media_type)
        })
        .unwrap_or_default()
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
