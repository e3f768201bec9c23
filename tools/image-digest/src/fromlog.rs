//! `image-digest from-log`: the digest CI already printed, found reliably.
//!
//! CI scripts grep push output for `digest:`; the formats differ per tool and
//! version and a grep silently takes the wrong line. This module knows the
//! shapes: the `docker push`/`podman push` summary line (`TAG: digest:
//! sha256:… size: N`, whose repository is on the earlier `The push refers to
//! repository [REPO]` line), BuildKit's `pushing manifest for REF@sha256:…`,
//! `REF@sha256:…` as crane and `--digestfile` write it, a bare `sha256:…`
//! line, and the JSON documents of `docker buildx build --metadata-file`
//! (and bake), and `docker inspect` (`RepoDigests`). Pure functions of the
//! text; the I/O is in [`run`].

use std::io::Read;
use std::sync::LazyLock;

use deploykit::exit::{Error, Exit, Result};
use deploykit::imageref::{self, Digest};
use deploykit::output::Reporter;
use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use crate::cli::FromLogArgs;

/// One digest found in the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// `repo:tag@digest` (or `repo@digest`) when the repository is known.
    pub reference: Option<String>,
    /// The canonical repository name, when known.
    pub repository: Option<String>,
    /// The tag pushed, when known.
    pub tag: Option<String>,
    /// The manifest digest.
    pub digest: Digest,
    /// The manifest size, when the input gives it.
    pub size: Option<u64>,
    /// Which shape it came from: `push`, `buildkit`, `reference`, `digest`,
    /// `buildx-metadata`, `docker-inspect`.
    pub source: &'static str,
}

impl Found {
    /// The line printed for it: `repo@digest`, or the digest alone.
    pub fn line(&self, digest_only: bool) -> String {
        match (&self.repository, digest_only) {
            (Some(repo), false) => format!("{repo}@{}", self.digest),
            _ => self.digest.to_string(),
        }
    }
}

static PUSH_REPO: LazyLock<Regex> = LazyLock::new(|| {
    deploykit::constant_regex(r"The push refers to (?:a )?repository \[([^\]\s]+)\]")
});
static PUSH_DIGEST: LazyLock<Regex> = LazyLock::new(|| {
    deploykit::constant_regex(r"^\s*(\S+): digest: (sha256:[0-9a-f]{64}) size: ([0-9]+)\s*$")
});
static BUILDKIT: LazyLock<Regex> = LazyLock::new(|| {
    deploykit::constant_regex(r"pushing manifest for (\S+?)@(sha256:[0-9a-f]{64})")
});
static REF_AT_DIGEST: LazyLock<Regex> = LazyLock::new(|| {
    deploykit::constant_regex(
        r"(?:^|[\s\x22'=\[(])([A-Za-z0-9][A-Za-z0-9._:/\[\]-]*)@(sha256:[0-9a-f]{64})\b",
    )
});
static BARE_DIGEST: LazyLock<Regex> =
    LazyLock::new(|| deploykit::constant_regex(r"^\s*(sha256:[0-9a-f]{64})\s*$"));
static ANSI: LazyLock<Regex> =
    LazyLock::new(|| deploykit::constant_regex(r"\x1b\[[0-9;?]*[A-Za-z]"));

/// Splits `name[:tag]` into the canonical repository and the tag, when it
/// parses as a reference.
fn split_ref(text: &str) -> (Option<String>, Option<String>) {
    match imageref::parse_normalized(text) {
        Ok(r) => (Some(r.name()), r.tag().map(str::to_owned)),
        Err(_) => (None, None),
    }
}

fn found(
    name: Option<&str>,
    tag: Option<String>,
    digest: Digest,
    size: Option<u64>,
    source: &'static str,
) -> Found {
    let (repository, parsed_tag) = name.map_or((None, None), split_ref);
    let tag = tag.or(parsed_tag);
    let reference = repository.as_ref().map(|repo| match &tag {
        Some(t) => format!("{repo}:{t}@{digest}"),
        None => format!("{repo}@{digest}"),
    });
    Found {
        reference,
        repository,
        tag,
        digest,
        size,
        source,
    }
}

/// [`extract`] on raw bytes: a CI log is not always UTF-8 (a progress bar
/// cut mid-character, a stray Latin-1 byte from a compiler), and one bad
/// byte must not hide the digest line, so invalid sequences become U+FFFD
/// and only the lines they are on are affected.
pub fn extract_bytes(bytes: &[u8]) -> Vec<Found> {
    extract(&String::from_utf8_lossy(bytes))
}

/// Every digest in `text`, in order of appearance, duplicates removed.
pub fn extract(text: &str) -> Vec<Found> {
    let trimmed = text.trim_start();
    let mut all = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        match serde_json::from_str::<Value>(trimmed) {
            Ok(v) => from_json(&v),
            Err(_) => from_lines(text),
        }
    } else {
        from_lines(text)
    };
    let mut seen = std::collections::HashSet::new();
    all.retain(|f| seen.insert((f.reference.clone(), f.digest.clone())));
    all
}

fn from_lines(text: &str) -> Vec<Found> {
    let mut out = Vec::new();
    let mut repo: Option<String> = None;
    for raw in text.lines() {
        let line = ANSI.replace_all(raw, "");
        let line = line.as_ref();
        if let Some(c) = PUSH_REPO.captures(line) {
            repo = Some(c[1].to_owned());
            continue;
        }
        if let Some(c) = PUSH_DIGEST.captures(line) {
            let Ok(digest) = Digest::parse(&c[2]) else {
                continue;
            };
            let size = c[3].parse().ok();
            let tag = c[1].to_owned();
            let f = match &repo {
                Some(r) => found(Some(r), Some(tag), digest, size, "push"),
                // podman prints no repository line; the tag alone names nothing.
                None => found(None, Some(tag), digest, size, "push"),
            };
            out.push(f);
            continue;
        }
        if let Some(c) = BUILDKIT.captures(line) {
            if let Ok(digest) = Digest::parse(&c[2]) {
                out.push(found(Some(&c[1]), None, digest, None, "buildkit"));
            }
            continue;
        }
        let mut matched = false;
        for c in REF_AT_DIGEST.captures_iter(line) {
            if let Ok(digest) = Digest::parse(&c[2])
                && imageref::parse_normalized(&c[1]).is_ok()
            {
                out.push(found(Some(&c[1]), None, digest, None, "reference"));
                matched = true;
            }
        }
        if matched {
            continue;
        }
        if let Some(c) = BARE_DIGEST.captures(line)
            && let Ok(digest) = Digest::parse(&c[1])
        {
            out.push(found(None, None, digest, None, "digest"));
        }
    }
    out
}

fn from_json(v: &Value) -> Vec<Found> {
    let mut out = Vec::new();
    match v {
        Value::Array(items) => {
            for item in items {
                out.extend(from_json(item));
            }
        }
        Value::Object(map) => {
            if let Some(digest) = map.get("containerimage.digest").and_then(Value::as_str) {
                let Ok(digest) = Digest::parse(digest) else {
                    return out;
                };
                let size = map
                    .get("containerimage.descriptor")
                    .and_then(|d| d.get("size"))
                    .and_then(Value::as_u64);
                let names: Vec<&str> = map
                    .get("image.name")
                    .and_then(Value::as_str)
                    .map(|n| {
                        n.split(',')
                            .map(str::trim)
                            .filter(|n| !n.is_empty())
                            .collect()
                    })
                    .unwrap_or_default();
                if names.is_empty() {
                    out.push(found(None, None, digest.clone(), size, "buildx-metadata"));
                }
                for name in names {
                    out.push(found(
                        Some(name),
                        None,
                        digest.clone(),
                        size,
                        "buildx-metadata",
                    ));
                }
            } else if let Some(Value::Array(repo_digests)) = map.get("RepoDigests") {
                for rd in repo_digests.iter().filter_map(Value::as_str) {
                    if let Some((name, digest)) = rd.rsplit_once('@')
                        && let Ok(digest) = Digest::parse(digest)
                    {
                        out.push(found(Some(name), None, digest, None, "docker-inspect"));
                    }
                }
            } else {
                // bake metadata: {"target": {...buildx metadata...}, ...}
                for value in map.values().filter(|v| v.is_object()) {
                    out.extend(from_json(value));
                }
            }
        }
        _ => {}
    }
    out
}

#[derive(Serialize)]
struct Report<'a> {
    digests: &'a [Found],
}

/// Runs `from-log`.
pub fn run(args: &FromLogArgs, out: &Reporter) -> Result<Exit> {
    let mut bytes = Vec::new();
    let name = args.file.display().to_string();
    if name == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::usage(format!("reading stdin: {e}")))?;
    } else {
        bytes =
            std::fs::read(&args.file).map_err(|e| Error::usage(format!("reading {name}: {e}")))?;
    }
    let found = extract_bytes(&bytes);
    if out.json() {
        out.json_document(&Report { digests: &found })?;
    } else {
        let mut printed = std::collections::HashSet::new();
        for f in &found {
            let line = f.line(args.digest_only);
            if printed.insert(line.clone()) {
                out.line(line)?;
            }
        }
    }
    if found.is_empty() {
        let src = if name == "-" { "stdin" } else { name.as_str() };
        return Err(Error::no(format!(
            "no image digest in {src}: expected push output (`TAG: digest: sha256:… size: N`), `REF@sha256:…`, buildx metadata or docker inspect JSON"
        )));
    }
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn lines(text: &str) -> Vec<String> {
        extract(text).iter().map(|f| f.line(false)).collect()
    }

    #[test]
    fn docker_push_output_with_several_tags() {
        let log = format!(
            "The push refers to repository [127.0.0.1:5000/team/api]\n\
             5f70bf18a086: Pushed\n\
             1.4: digest: {A} size: 528\n\
             The push refers to repository [127.0.0.1:5000/team/worker]\n\
             latest: digest: {B} size: 1200\n"
        );
        let found = extract(&log);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].reference.as_deref(),
            Some(&*format!("127.0.0.1:5000/team/api:1.4@{A}"))
        );
        assert_eq!(found[0].size, Some(528));
        assert_eq!(
            lines(&log),
            [
                format!("127.0.0.1:5000/team/api@{A}"),
                format!("127.0.0.1:5000/team/worker@{B}")
            ]
        );
    }

    #[test]
    fn familiar_push_repositories_are_canonical() {
        let log =
            format!("The push refers to repository [docker.io/me/app]\nv1: digest: {A} size: 1\n");
        assert_eq!(lines(&log), [format!("docker.io/me/app@{A}")]);
    }

    #[test]
    fn buildkit_and_crane_and_digestfile() {
        let bk = format!("#14 pushing manifest for ghcr.io/acme/api:prod@{A} 0.2s done\n");
        assert_eq!(lines(&bk), [format!("ghcr.io/acme/api@{A}")]);
        let crane = format!("2024/01/01 pushed blob\n127.0.0.1:5000/app@{B}\n");
        assert_eq!(lines(&crane), [format!("127.0.0.1:5000/app@{B}")]);
        assert_eq!(lines(&format!("{A}\n")), [A.to_owned()]);
        // ANSI colour from a terminal-attached build
        let coloured = format!("\x1b[34m#9 pushing manifest for r.example/x:1@{B}\x1b[0m\n");
        assert_eq!(lines(&coloured), [format!("r.example/x@{B}")]);
    }

    #[test]
    fn buildx_metadata_and_bake_and_inspect() {
        let meta = format!(
            r#"{{"containerimage.digest":"{A}","containerimage.descriptor":{{"size":743}},"image.name":"r.example/app:1,r.example/app:latest"}}"#
        );
        let found = extract(&meta);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].size, Some(743));
        assert_eq!(found[1].tag.as_deref(), Some("latest"));
        let bake = format!(
            r#"{{"api":{{"containerimage.digest":"{A}"}},"worker":{{"containerimage.digest":"{B}"}}}}"#
        );
        assert_eq!(lines(&bake), [A.to_owned(), B.to_owned()]);
        let inspect = format!(
            r#"[{{"Id":"sha256:{x}","RepoDigests":["127.0.0.1:5000/app@{B}"]}}]"#,
            x = "c".repeat(64)
        );
        assert_eq!(lines(&inspect), [format!("127.0.0.1:5000/app@{B}")]);
    }

    #[test]
    fn logs_with_bytes_that_are_not_utf8() {
        let mut log = b"\x1b[1m\xff\xfe building \xe2\x82\n".to_vec();
        log.extend_from_slice(b"The push refers to repository [127.0.0.1:5000/app]\n");
        log.extend_from_slice(format!("\x1b[32m1: digest: {A} size: 9\x1b[0m\n").as_bytes());
        log.extend_from_slice(b"\xc3(done\r\n");
        assert_eq!(
            extract_bytes(&log)
                .iter()
                .map(|f| f.line(false))
                .collect::<Vec<_>>(),
            [format!("127.0.0.1:5000/app@{A}")]
        );
    }

    #[test]
    fn nothing_found_and_lookalikes() {
        assert!(extract("Pushed\nWriting manifest to image destination\n").is_empty());
        // too short, uppercase: not digests
        assert!(extract("latest: digest: sha256:abc size: 1\n").is_empty());
        assert!(extract(&format!("{}\n", A.to_uppercase())).is_empty());
        assert!(extract("[]").is_empty());
    }
}
