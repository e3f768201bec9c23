//! Manifests and indexes as registries send them: OCI image manifests and
//! indexes, Docker schema2 manifests and manifest lists, with annotations,
//! attestation entries and platform variants. Never panics, and:
//!
//! - `index_entries` gives back exactly the `manifests` array, in order;
//! - `select_platform` for each platform the index names returns the first
//!   entry (attestations skipped) whose platform matches, with that entry's
//!   digest, and nothing when there is no such entry or its digest is bad;
//! - tag-image's `image_blobs` (what a promotion copies) lists the config
//!   and every layer, each either copied with a valid digest equal to the
//!   one in the document or set apart as non-distributable, in order.
#![no_main]

use deploykit::imageref::Digest;
use deploykit::registry::model::{IndexEntry, Platform, index_entries, select_platform};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn matches(wanted: &Platform, entry: &Platform) -> bool {
    wanted.os == entry.os
        && wanted.architecture == entry.architecture
        && (wanted.variant.is_none() || wanted.variant == entry.variant)
}

fn is_attestation(entry: &IndexEntry) -> bool {
    entry
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("vnd.docker.reference.type"))
}

fn check_index(body: &[u8], doc: Option<&Value>) {
    let Ok(entries) = index_entries(body) else {
        return;
    };
    if let Some(listed) = doc
        .and_then(|d| d.get("manifests"))
        .and_then(Value::as_array)
    {
        assert_eq!(entries.len(), listed.len());
        for (entry, raw) in entries.iter().zip(listed) {
            assert_eq!(Some(entry.digest.as_str()), raw["digest"].as_str());
        }
    }
    let mut wanted: Vec<Platform> = entries.iter().filter_map(|e| e.platform.clone()).collect();
    for text in [
        "linux/amd64",
        "linux/arm64",
        "linux/arm/v7",
        "windows/amd64",
    ] {
        wanted.push(Platform::parse(text).expect("a valid platform"));
    }
    for platform in &wanted {
        let first = entries
            .iter()
            .filter(|e| !is_attestation(e))
            .find(|e| e.platform.as_ref().is_some_and(|p| matches(platform, p)));
        let picked = select_platform(&entries, platform);
        match (first, picked) {
            (None, Some(d)) => panic!("{platform} picked {} from no matching entry", d.digest),
            (None, None) => {}
            (Some(entry), Some(d)) => {
                assert_eq!(d.digest.to_string(), entry.digest, "{platform}");
                assert_eq!(d.size, entry.size);
                assert_eq!(d.media_type, entry.media_type);
            }
            (Some(entry), None) => assert!(
                Digest::parse(&entry.digest).is_err(),
                "{platform}: the matching entry {:?} was not picked",
                entry.digest
            ),
        }
    }
}

fn check_image(body: &[u8], doc: Option<&Value>) {
    let Ok(blobs) = tag_image::apply::image_blobs(body) else {
        return;
    };
    // serde_json skips an ignored field without checking its UTF-8, which
    // `Value` rejects: such a body has no reference reading to compare to.
    let Some(doc) = doc else {
        return;
    };
    let listed: Vec<&Value> = doc
        .get("config")
        .filter(|c| !c.is_null())
        .into_iter()
        .chain(doc["layers"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(blobs.copy.len() + blobs.skipped.len(), listed.len());
    let (mut copied, mut skipped) = (blobs.copy.iter(), blobs.skipped.iter());
    for raw in listed {
        let digest = raw["digest"].as_str().expect("a blob digest is a string");
        let media_type = raw["mediaType"].as_str().unwrap_or("");
        let foreign = raw["urls"].as_array().is_some_and(|u| !u.is_empty())
            || media_type.contains("foreign")
            || media_type.contains("nondistributable");
        if foreign {
            assert_eq!(skipped.next().map(String::as_str), Some(digest));
        } else {
            let d = copied.next().expect("a copied blob");
            assert_eq!(d.digest.to_string(), digest);
            assert!(Digest::parse(digest).is_ok());
            assert_eq!(d.media_type, media_type);
        }
    }
}

fuzz_target!(|body: &[u8]| {
    let doc: Option<Value> = serde_json::from_slice(body).ok();
    check_index(body, doc.as_ref());
    check_image(body, doc.as_ref());
});
