//! The facts the registry plan decides on, read from the registry.
//!
//! Every tag is listed (with `Link` pagination) and fetched (one GET, whose
//! bytes give the digest and, for an index, its children). A manifest's
//! `created` is read once per digest:
//!
//! - an image manifest: its config's `created` (the registry keeps no push
//!   time; the build's own time is the one that orders a rollback window),
//!   else the manifest's `org.opencontainers.image.created` annotation;
//! - an index: its `org.opencontainers.image.created` annotation when it has
//!   one (what the builder states for the whole multi-platform image, and
//!   no request per platform), else the newest `created` of its platform
//!   images (attestation manifests skipped). Nested indexes are followed, so
//!   an index's children are all the manifests below it.
//!
//! A tag deleted while the run lists the repository is left out (it no
//! longer protects anything); any other failure stops the run: a plan built
//! on missing facts could delete what a tag still needs.

pub mod created;

use std::collections::HashMap;

use deploykit::exit::{Error, Exit, Result};
use deploykit::imageref::{Digest, Reference};
use deploykit::output::Reporter;
use deploykit::registry::{Client, Manifest, model};

/// How deep indexes of indexes are followed.
pub const MAX_DEPTH: usize = 4;

/// The annotation OCI uses for a creation time.
pub const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";

/// One tag as the registry resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFacts {
    /// The tag.
    pub tag: String,
    /// Its manifest digest.
    pub digest: String,
    /// The config's `created`, Unix seconds (`None`: unknown, sorts oldest).
    pub created: Option<i64>,
    /// For an index: its platform manifests' digests.
    pub children: Vec<String>,
}

/// What one manifest contributes, cached by digest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Known {
    created: Option<i64>,
    children: Vec<String>,
}

/// Reads the facts of one repository, caching per digest so that a second
/// pass (the check just before deleting) costs a GET per tag only.
pub struct Gatherer<'c> {
    client: &'c Client,
    repo: &'c Reference,
    out: &'c Reporter,
    cache: HashMap<String, Known>,
}

impl<'c> Gatherer<'c> {
    /// A gatherer for `repo` (no tag, no digest).
    pub fn new(client: &'c Client, repo: &'c Reference, out: &'c Reporter) -> Gatherer<'c> {
        Gatherer {
            client,
            repo,
            out,
            cache: HashMap::new(),
        }
    }

    /// Lists the tags and reads each one's digest, `created` and children.
    pub fn gather(&mut self) -> Result<Vec<TagFacts>> {
        let tags = self.client.list_tags(self.repo)?;
        self.out
            .detail(format_args!("{}: {} tag(s)", self.repo.name(), tags.len()));
        let mut facts = Vec::with_capacity(tags.len());
        for tag in tags {
            let reference = self.repo.with_tag(&tag).map_err(|e| {
                Error::remote(format!(
                    "{}: the registry lists a tag that is not valid: {tag:?}: {e}",
                    self.repo.name()
                ))
            })?;
            let manifest = match self.client.fetch_manifest(&reference) {
                Ok(m) => m,
                Err(e) if e.status() == Exit::No => {
                    self.out
                        .detail(format_args!("{tag}: deleted while listing; left out"));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let known = self.describe(&manifest, &tag, 0)?;
            facts.push(TagFacts {
                tag,
                digest: manifest.descriptor.digest.to_string(),
                created: known.created,
                children: known.children,
            });
        }
        Ok(facts)
    }

    fn describe(&mut self, manifest: &Manifest, what: &str, depth: usize) -> Result<Known> {
        let digest = manifest.descriptor.digest.to_string();
        if let Some(k) = self.cache.get(&digest) {
            return Ok(k.clone());
        }
        let doc: serde_json::Value = serde_json::from_slice(&manifest.body).map_err(|e| {
            Error::remote(format!(
                "{what}: the manifest {digest} is not valid JSON: {e}"
            ))
        })?;
        let is_index = model::is_index(&manifest.descriptor.media_type)
            || (doc.get("manifests").is_some() && doc.get("config").is_none());
        let known = if is_index {
            self.describe_index(manifest, &doc, what, depth)?
        } else {
            let created = match self.config_created(&doc, what)? {
                Some(c) => Some(c),
                None => annotation_created(&doc),
            };
            if created.is_none() {
                self.out.warn(format_args!(
                    "{what}: {digest} has no readable created time; it counts as the oldest"
                ));
            }
            Known {
                created,
                children: Vec::new(),
            }
        };
        self.cache.insert(digest, known.clone());
        Ok(known)
    }

    fn describe_index(
        &mut self,
        manifest: &Manifest,
        doc: &serde_json::Value,
        what: &str,
        depth: usize,
    ) -> Result<Known> {
        let digest = &manifest.descriptor.digest;
        if depth >= MAX_DEPTH {
            return Err(Error::remote(format!(
                "{what}: indexes nested more than {MAX_DEPTH} deep under {digest}"
            )));
        }
        let entries = model::index_entries(&manifest.body)?;
        let annotated = annotation_created(doc);
        let mut children: Vec<String> = Vec::new();
        let mut newest: Option<i64> = None;
        for e in &entries {
            let child = Digest::parse(&e.digest).map_err(|err| {
                Error::remote(format!(
                    "{what}: the index {digest} lists an invalid digest {:?}: {err}",
                    e.digest
                ))
            })?;
            let child_text = child.to_string();
            if !children.contains(&child_text) {
                children.push(child_text);
            }
            let nested = model::is_index(&e.media_type);
            let attestation = e
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key("vnd.docker.reference.type"));
            if !nested && (annotated.is_some() || attestation) {
                continue;
            }
            let reference = self.repo.with_parsed_digest(child);
            let fetched = match self.client.fetch_manifest(&reference) {
                Ok(m) => m,
                Err(err) if err.status() == Exit::No => {
                    self.out.warn(format_args!(
                        "{what}: the index {digest} lists {}, which the repository does not have",
                        e.digest
                    ));
                    continue;
                }
                Err(err) => return Err(err),
            };
            let k = self.describe(&fetched, what, depth + 1)?;
            for c in k.children {
                if !children.contains(&c) {
                    children.push(c);
                }
            }
            if !attestation {
                newest = newest.max(k.created);
            }
        }
        Ok(Known {
            created: annotated.or(newest),
            children,
        })
    }

    /// The `created` of an image manifest's config, if it says.
    fn config_created(&self, doc: &serde_json::Value, what: &str) -> Result<Option<i64>> {
        let Some(config) = doc
            .get("config")
            .and_then(|c| c.get("digest"))
            .and_then(|d| d.as_str())
        else {
            return Ok(None);
        };
        let config = Digest::parse(config)
            .map_err(|e| Error::remote(format!("{what}: config digest {config:?}: {e}")))?;
        let bytes = match self.client.fetch_blob(self.repo, &config) {
            Ok(b) => b,
            Err(e) if e.status() == Exit::No => return Ok(None),
            Err(e) => return Err(e),
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        Ok(value
            .get("created")
            .and_then(|c| c.as_str())
            .and_then(created::parse))
    }
}

/// The `org.opencontainers.image.created` annotation of a manifest or index.
pub fn annotation_created(doc: &serde_json::Value) -> Option<i64> {
    doc.get("annotations")
        .and_then(|a| a.get(CREATED_ANNOTATION))
        .and_then(|c| c.as_str())
        .and_then(created::parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations() {
        let doc: serde_json::Value = serde_json::from_str(
            r#"{"annotations":{"org.opencontainers.image.created":"2024-05-01T10:00:00Z"}}"#,
        )
        .unwrap();
        assert_eq!(annotation_created(&doc), Some(1_714_557_600));
        let doc: serde_json::Value =
            serde_json::from_str(r#"{"annotations":{"org.opencontainers.image.created":"soon"}}"#)
                .unwrap();
        assert_eq!(annotation_created(&doc), None);
        assert_eq!(annotation_created(&serde_json::json!({})), None);
    }
}
