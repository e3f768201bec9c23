//! `tag-image apply`: add tags to an image already in a registry by copying
//! its manifest, never by pulling and pushing the image.
//!
//! The order of the work is what keeps a failure harmless:
//!
//! 1. the source is fetched once (by tag or digest); from then on it is
//!    named by digest, so a tag moving under the run cannot mix two images;
//! 2. every target tag is resolved and judged ([`decide`]): absent →
//!    create, already on the digest → unchanged, on another digest → refuse
//!    (or move with `--force`). This is the plan; `--dry-run` stops here;
//! 3. for another repository, the content goes first: blobs (mounted, else
//!    streamed), then the child manifests of an index by digest. A tag is
//!    only written when everything it refers to is in place, so a registry
//!    failing half-way leaves untagged content, never a tag on a different
//!    digest;
//! 4. the manifest's exact bytes are put under each tag with their media
//!    type, and the tag is resolved again: it must give the source digest.

use std::collections::BTreeSet;

use deploykit::exit::{Error, Exit, Result};
use deploykit::imageref::{self, Digest, Reference};
use deploykit::output::Reporter;
use deploykit::registry::write::{BlobOutcome, Pusher};
use deploykit::registry::{Client, Descriptor, Manifest, model};
use serde::{Deserialize, Serialize};

use crate::cli::ApplyArgs;
use crate::naming;

/// What happens (or happened) to one tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The tag did not exist; it now points to the source digest.
    Created,
    /// The tag already pointed to the source digest.
    Unchanged,
    /// The tag points to another digest and stays there.
    Refused,
    /// The tag pointed to another digest and was moved (`--force`).
    Moved,
}

impl Action {
    fn writes(self) -> bool {
        matches!(self, Action::Created | Action::Moved)
    }

    fn verb(self) -> &'static str {
        match self {
            Action::Created => "create",
            Action::Unchanged => "unchanged",
            Action::Refused => "refuse",
            Action::Moved => "move",
        }
    }
}

/// The immutability rule: what to do with a tag that currently points to
/// `current` (nothing when `None`) when it should point to `source`.
pub fn decide(current: Option<&Digest>, source: &Digest, force: bool) -> Action {
    match current {
        None => Action::Created,
        Some(d) if d == source => Action::Unchanged,
        Some(_) if force => Action::Moved,
        Some(_) => Action::Refused,
    }
}

/// One tag of the plan, as `--json` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TagResult {
    /// The tag.
    pub tag: String,
    /// `registry/repo:tag`.
    pub reference: String,
    /// The digest the tag points to after the run (the source digest),
    /// or would have pointed to when refused.
    pub digest: String,
    /// What was done.
    pub action: Action,
    /// The digest the tag pointed to before, when it was another one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

/// What the content copy did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Transfer {
    /// Blobs the target repository already had.
    pub blobs_present: usize,
    /// Blobs cross-mounted from the source repository.
    pub blobs_mounted: usize,
    /// Blobs streamed from the source.
    pub blobs_copied: usize,
    /// Bytes streamed.
    pub bytes_copied: u64,
    /// Child manifests of an index put by digest.
    pub manifests_copied: usize,
}

#[derive(Serialize)]
struct Report<'a> {
    source: &'a str,
    reference: String,
    digest: String,
    media_type: &'a str,
    dry_run: bool,
    tags: &'a [TagResult],
    transfer: &'a Transfer,
}

/// Parses and checks the tags given: valid, not mutable-looking, no repeats.
pub fn check_tags(tags: &[String]) -> Result<Vec<String>> {
    let mut seen = BTreeSet::new();
    for tag in tags {
        if !imageref::is_valid_tag(tag) {
            return Err(Error::usage(format!(
                "{tag:?} is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)"
            )));
        }
        if let Some(reason) = naming::mutable_reason(tag) {
            return Err(Error::usage(format!(
                "refusing a mutable-looking tag: {reason}; compute one with tag-image name"
            )));
        }
        if !seen.insert(tag.clone()) {
            return Err(Error::usage(format!("tag {tag} is given twice")));
        }
    }
    Ok(tags.to_vec())
}

/// Runs `apply`.
pub fn run(args: &ApplyArgs, out: &Reporter) -> Result<Exit> {
    let source = imageref::parse_normalized(&args.source)
        .map_err(|e| Error::usage(format!("invalid image reference {:?}: {e}", args.source)))?;
    if source.tag().is_none() && source.digest().is_none() {
        return Err(Error::usage(format!(
            "{}: SOURCE needs a tag or a digest (an untagged name would mean latest)",
            args.source
        )));
    }
    let target_repo = match &args.to {
        None => source.name_only(),
        Some(to) => {
            let r = imageref::parse_normalized(to)
                .map_err(|e| Error::usage(format!("invalid --to {to:?}: {e}")))?;
            if r.tag().is_some() || r.digest().is_some() {
                return Err(Error::usage(format!(
                    "--to {to}: give a repository, without tag or digest"
                )));
            }
            r
        }
    };
    let tags = check_tags(&args.tags)?;
    let domains: BTreeSet<String> =
        [source.domain().to_owned(), target_repo.domain().to_owned()].into();
    let client = Client::new(args.registry.client_options(&domains)?, Some(out.clone()))?;

    // 1. The source, once; by digest from here on.
    let manifest = client.fetch_manifest(&source)?;
    let digest = manifest.descriptor.digest.clone();
    let media_type = manifest.descriptor.media_type.clone();
    if media_type.is_empty() {
        return Err(Error::remote(format!(
            "{source}: the registry did not say what media type the manifest is"
        )));
    }
    let source_pinned = source.name_only().with_parsed_digest(digest.clone());
    out.progress(format_args!("{} is {digest} ({media_type})", args.source));

    // 2. The plan.
    let mut results = Vec::new();
    for tag in &tags {
        let target = target_repo
            .with_tag(tag)
            .map_err(|e| Error::usage(format!("tag {tag:?}: {e}")))?;
        let current = match client.resolve(&target) {
            Ok(d) => Some(d.digest),
            Err(e) if e.status() == Exit::No => None,
            Err(e) => return Err(e),
        };
        let action = decide(current.as_ref(), &digest, args.force);
        results.push(TagResult {
            tag: tag.clone(),
            reference: target.to_string(),
            digest: digest.to_string(),
            action,
            previous: current.filter(|c| *c != digest).map(|c| c.to_string()),
        });
    }
    let cross_repo = target_repo.name() != source.name();
    let mut transfer = Transfer::default();
    let writes = results.iter().any(|r| r.action.writes());

    if !args.dry_run && writes {
        let pusher = Pusher::new(&client)?;
        // 3. The content, before any tag refers to it.
        if cross_repo {
            copy_content(
                &client,
                &pusher,
                &source_pinned,
                &target_repo,
                &manifest,
                &mut transfer,
                out,
            )?;
            out.progress(format_args!(
                "content in {}: {} blob(s) mounted, {} copied ({} bytes), {} already there, {} child manifest(s)",
                target_repo.name(),
                transfer.blobs_mounted,
                transfer.blobs_copied,
                transfer.bytes_copied,
                transfer.blobs_present,
                transfer.manifests_copied
            ));
        }
        // 4. The tags, each verified.
        for r in results.iter().filter(|r| r.action.writes()) {
            let target = target_repo
                .with_tag(&r.tag)
                .map_err(|e| Error::usage(format!("tag {:?}: {e}", r.tag)))?;
            pusher.put_manifest(&target, &media_type, &manifest.body)?;
            let now = client
                .resolve(&target)
                .map_err(|e| e.context(format!("resolving {target} after the put")))?;
            if now.digest != digest {
                return Err(Error::remote(format!(
                    "{target} resolves to {} after the put, not to {digest}",
                    now.digest
                )));
            }
        }
    }

    // Output.
    for r in &results {
        match r.action {
            Action::Refused => out.warn(format_args!(
                "refusing to move {}: it points to {}, not to {digest} (--force moves it)",
                r.reference,
                r.previous.as_deref().unwrap_or("?")
            )),
            Action::Unchanged => out.info(format_args!(
                "{} already points to {digest}; nothing to do",
                r.reference
            )),
            Action::Moved if !args.dry_run => out.info(format_args!(
                "moved {} from {} to {digest}",
                r.reference,
                r.previous.as_deref().unwrap_or("?")
            )),
            Action::Created if !args.dry_run => {
                out.info(format_args!("tagged {} → {digest}", r.reference));
            }
            _ => {}
        }
    }
    if out.json() {
        out.json_document(&Report {
            source: &args.source,
            reference: source_pinned.to_string(),
            digest: digest.to_string(),
            media_type: &media_type,
            dry_run: args.dry_run,
            tags: &results,
            transfer: &transfer,
        })?;
    } else {
        for r in &results {
            if args.dry_run {
                out.line(format_args!("{} {}@{digest}", r.action.verb(), r.reference))?;
            } else if r.action != Action::Refused {
                out.line(format_args!("{}@{digest}", r.reference))?;
            }
        }
    }
    out.detail(format_args!("{} HTTP request(s)", client.requests()));
    if results.iter().any(|r| r.action == Action::Refused) {
        return Ok(Exit::No);
    }
    Ok(Exit::Success)
}

/// The blobs an image manifest refers to.
#[derive(Deserialize)]
struct ImageDoc {
    config: Option<BlobDoc>,
    #[serde(default)]
    layers: Vec<BlobDoc>,
}

#[derive(Deserialize)]
struct BlobDoc {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    urls: Vec<String>,
}

/// The blobs of an image manifest, config first then the layers in order.
#[derive(Debug, Default)]
pub struct Blobs {
    /// What a promotion copies, digests validated.
    pub copy: Vec<Descriptor>,
    /// The digests of non-distributable blobs (foreign layers, external
    /// URLs), which stay where they are.
    pub skipped: Vec<String>,
}

/// Reads the blobs an image manifest (OCI or Docker schema2) refers to.
/// Every digest to copy is checked before anything is copied, so a
/// manifest with a bad one is refused whole (exit 3).
pub fn image_blobs(body: &[u8]) -> Result<Blobs> {
    // serde would also read a struct from a JSON array (`[config, layers]`):
    // a manifest is an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Error::remote("the manifest is not a JSON object"));
    }
    let doc: ImageDoc = serde_json::from_slice(body)
        .map_err(|e| Error::remote(format!("the manifest is not valid JSON: {e}")))?;
    let mut blobs = Blobs::default();
    for blob in doc.config.iter().chain(doc.layers.iter()) {
        if !blob.urls.is_empty()
            || blob.media_type.contains("foreign")
            || blob.media_type.contains("nondistributable")
        {
            blobs.skipped.push(blob.digest.clone());
            continue;
        }
        let digest = Digest::parse(&blob.digest).map_err(|e| {
            Error::remote(format!(
                "the manifest lists an invalid digest {:?}: {e}",
                blob.digest
            ))
        })?;
        blobs.copy.push(Descriptor {
            media_type: blob.media_type.clone(),
            digest,
            size: blob.size,
        });
    }
    Ok(blobs)
}

/// Makes everything `manifest` refers to exist in `target_repo`: blobs for
/// an image, child manifests (and their blobs) for an index.
fn copy_content(
    client: &Client,
    pusher: &Pusher<'_>,
    source: &Reference,
    target_repo: &Reference,
    manifest: &Manifest,
    transfer: &mut Transfer,
    out: &Reporter,
) -> Result<()> {
    if model::is_index(&manifest.descriptor.media_type) {
        for entry in model::index_entries(&manifest.body)? {
            let child_digest = Digest::parse(&entry.digest).map_err(|e| {
                Error::remote(format!(
                    "{source}: the index lists an invalid digest {:?}: {e}",
                    entry.digest
                ))
            })?;
            let in_target = target_repo.with_parsed_digest(child_digest.clone());
            match client.resolve(&in_target) {
                Ok(_) => continue,
                Err(e) if e.status() == Exit::No => {}
                Err(e) => return Err(e),
            }
            let child = client
                .fetch_manifest(&source.name_only().with_parsed_digest(child_digest.clone()))?;
            copy_content(client, pusher, source, target_repo, &child, transfer, out)?;
            let media_type = if child.descriptor.media_type.is_empty() {
                entry.media_type.clone()
            } else {
                child.descriptor.media_type.clone()
            };
            pusher.put_manifest(&in_target, &media_type, &child.body)?;
            transfer.manifests_copied += 1;
            out.detail(format_args!(
                "put child manifest {child_digest} into {}",
                target_repo.name()
            ));
        }
        return Ok(());
    }
    let blobs = image_blobs(&manifest.body).map_err(|e| e.context(source.to_string()))?;
    for digest in &blobs.skipped {
        out.detail(format_args!("skipping non-distributable layer {digest}"));
    }
    for desc in &blobs.copy {
        match pusher.copy_blob(source, target_repo, desc)? {
            BlobOutcome::Present => transfer.blobs_present += 1,
            BlobOutcome::Mounted => transfer.blobs_mounted += 1,
            BlobOutcome::Copied(n) => {
                transfer.blobs_copied += 1;
                transfer.bytes_copied += n;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immutability() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        assert_eq!(decide(None, &a, false), Action::Created);
        assert_eq!(decide(Some(&a), &a, false), Action::Unchanged);
        assert_eq!(decide(Some(&a), &a, true), Action::Unchanged);
        assert_eq!(decide(Some(&b), &a, false), Action::Refused);
        assert_eq!(decide(Some(&b), &a, true), Action::Moved);
    }

    #[test]
    fn tags_are_checked() {
        assert!(check_tags(&["prod-abc1234".into(), "prod-abc1234-api".into()]).is_ok());
        for bad in [
            vec!["latest"],
            vec!["-x"],
            vec!["prod"],
            vec!["a", "a"],
            vec!["a/b"],
        ] {
            let tags: Vec<String> = bad.iter().map(|s| (*s).to_owned()).collect();
            assert_eq!(
                check_tags(&tags).unwrap_err().status(),
                Exit::Usage,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn actions_serialise_lowercase() {
        assert_eq!(
            serde_json::to_string(&Action::Created).unwrap(),
            "\"created\""
        );
        assert_eq!(
            serde_json::to_string(&Action::Refused).unwrap(),
            "\"refused\""
        );
    }
}
