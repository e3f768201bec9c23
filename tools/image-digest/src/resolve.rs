//! `image-digest resolve`: tags to digests through the registry API.
//!
//! References are all parsed before any request, so a typo fails with exit 2
//! before the network is touched. Each reference then gets its own budget;
//! results are printed as they come, and the exit status is the most serious
//! of the failures.

use std::collections::BTreeSet;

use deploykit::exit::{Error, Exit, Result};
use deploykit::imageref::{self, Reference};
use deploykit::output::Reporter;
use deploykit::registry::{Client, Descriptor, Platform};
use serde::Serialize;

use crate::cli::ResolveArgs;

/// One resolved reference, as `--json` shows it.
#[derive(Debug, Serialize)]
pub struct Resolved {
    /// The reference as given.
    pub input: String,
    /// `registry/repo@sha256:…` of what was resolved (the platform's manifest with --platform).
    pub reference: String,
    /// `registry/repo`.
    pub repository: String,
    /// The tag asked for, if any.
    pub tag: Option<String>,
    /// The top-level manifest (the index for a multi-platform tag).
    #[serde(flatten)]
    pub descriptor: Descriptor,
    /// With --platform: the selected manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformManifest>,
}

/// The manifest selected for a platform.
#[derive(Debug, Serialize)]
pub struct PlatformManifest {
    /// `os/arch[/variant]` asked for.
    pub platform: String,
    /// Its descriptor.
    #[serde(flatten)]
    pub descriptor: Descriptor,
}

#[derive(Serialize)]
struct Report<'a> {
    results: &'a [Resolved],
    errors: &'a [ErrorEntry],
}

#[derive(Serialize)]
struct ErrorEntry {
    input: String,
    exit: u8,
    error: String,
}

/// Runs `resolve`.
pub fn run(args: &ResolveArgs, out: &Reporter) -> Result<Exit> {
    let mut refs: Vec<(String, Reference)> = Vec::new();
    for input in &args.references {
        let r = imageref::parse_docker_ref(input)
            .map_err(|e| Error::usage(format!("invalid image reference {input:?}: {e}")))?;
        refs.push((input.clone(), r));
    }
    let platform = args
        .platform
        .as_deref()
        .map(Platform::parse)
        .transpose()
        .map_err(Error::usage)?;
    let domains: BTreeSet<String> = refs.iter().map(|(_, r)| r.domain().to_owned()).collect();
    let client = Client::new(args.registry.client_options(&domains)?, Some(out.clone()))?;

    let mut results = Vec::new();
    let mut errors = Vec::new();
    let mut worst = Exit::Success;
    let single = refs.len() == 1;
    for (input, reference) in &refs {
        match resolve_one(&client, input, reference, platform.as_ref()) {
            Ok(resolved) => {
                if !out.json() {
                    if args.digest_only {
                        let digest = resolved
                            .platform
                            .as_ref()
                            .map_or(&resolved.descriptor.digest, |p| &p.descriptor.digest);
                        out.line(digest)?;
                    } else {
                        out.line(&resolved.reference)?;
                    }
                }
                results.push(resolved);
            }
            Err(err) => {
                if single && !out.json() {
                    return Err(err);
                }
                if err.status().rank() > worst.rank() {
                    worst = err.status();
                }
                eprintln!("image-digest: {err}");
                errors.push(ErrorEntry {
                    input: input.clone(),
                    exit: err.status().code(),
                    error: err.to_string(),
                });
            }
        }
    }
    out.detail(format_args!("{} HTTP request(s)", client.requests()));
    if out.json() {
        out.json_document(&Report {
            results: &results,
            errors: &errors,
        })?;
        if !errors.is_empty() {
            // The document's `error`; each one is in `errors`.
            return Err(Error::new(
                worst,
                format_args!("{} of {} reference(s) failed", errors.len(), refs.len()),
            ));
        }
    }
    Ok(worst)
}

fn resolve_one(
    client: &Client,
    input: &str,
    reference: &Reference,
    platform: Option<&Platform>,
) -> Result<Resolved> {
    let repository = reference.name();
    let (descriptor, platform) = match platform {
        None => (client.resolve(reference)?, None),
        Some(p) => {
            let (top, child) = client.resolve_platform(reference, p)?;
            (
                top,
                Some(PlatformManifest {
                    platform: p.to_string(),
                    descriptor: child,
                }),
            )
        }
    };
    let pinned = platform
        .as_ref()
        .map_or(&descriptor.digest, |p| &p.descriptor.digest);
    Ok(Resolved {
        input: input.to_owned(),
        reference: format!("{repository}@{pinned}"),
        repository,
        tag: reference.tag().map(str::to_owned),
        descriptor,
        platform,
    })
}
