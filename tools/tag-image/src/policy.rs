//! `tag-image check`: whether references are fit to deploy.
//!
//! The rule deploy manifests follow: a reference parses, names a tag that
//! cannot move (not `latest`, not untagged, not a branch or environment
//! alone), and with `--require-digest` is pinned by digest; the placeholder
//! digest of an image not built yet ([`imageref::PLACEHOLDER_DIGEST`]) is
//! never fit, whatever the flags, since it names no content. Judging is a
//! pure function of the text ([`judge`]); the run prints the verdicts.

use deploykit::exit::{Error, Exit, Result};
use deploykit::imageref;
use deploykit::output::Reporter;
use serde::Serialize;

use crate::naming;

/// One reason a reference is not fit to deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// A stable identifier: `invalid`, `untagged`, `latest`, `mutable-tag`, `no-digest`, `placeholder`.
    pub rule: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

/// The verdict on one reference, in the `--json` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The reference as given.
    pub input: String,
    /// Whether it parses as an image reference.
    pub parses: bool,
    /// Whether it is fit to deploy: it parses and has no finding.
    pub fit: bool,
    /// Its canonical form (`docker.io/library/app:1`), as given otherwise.
    pub canonical: Option<String>,
    /// Its familiar form (`app:1`).
    pub familiar: Option<String>,
    /// The registry (`docker.io`, `127.0.0.1:5000`).
    pub registry: Option<String>,
    /// The repository, named in full as in every tool's JSON
    /// (`docker.io/library/app`, `127.0.0.1:5000/team/api`): what goes in
    /// front of `:tag` or `@digest`.
    pub repository: Option<String>,
    /// The repository's path within the registry (`library/app`).
    pub path: Option<String>,
    /// The tag, if any.
    pub tag: Option<String>,
    /// The digest, if any.
    pub digest: Option<String>,
    /// Why it is not fit; empty when it is.
    pub findings: Vec<Finding>,
}

/// Judges one reference.
pub fn judge(input: &str, require_digest: bool) -> Verdict {
    let parsed = match imageref::parse_normalized(input) {
        Ok(r) => r,
        Err(e) => {
            return Verdict {
                input: input.to_owned(),
                parses: false,
                fit: false,
                canonical: None,
                familiar: None,
                registry: None,
                repository: None,
                path: None,
                tag: None,
                digest: None,
                findings: vec![Finding {
                    rule: "invalid",
                    message: format!("not an image reference: {e}"),
                }],
            };
        }
    };
    let mut findings = Vec::new();
    let pinned = parsed.digest().is_some();
    match parsed.tag() {
        None if !pinned => findings.push(Finding {
            rule: "untagged",
            message: "no tag and no digest: the engine pulls latest, whatever it is today".into(),
        }),
        Some(tag) if !pinned => {
            if tag == imageref::DEFAULT_TAG {
                findings.push(Finding {
                    rule: "latest",
                    message:
                        "the latest tag moves with every push; deploy an immutable tag or a digest"
                            .into(),
                });
            } else if let Some(reason) = naming::mutable_reason(tag) {
                findings.push(Finding {
                    rule: "mutable-tag",
                    message: format!(
                        "{reason}; deploy an immutable tag such as prod-abc1234 or a digest"
                    ),
                });
            }
        }
        _ => {}
    }
    if parsed
        .digest()
        .is_some_and(imageref::Digest::is_placeholder)
    {
        findings.push(Finding {
            rule: "placeholder",
            message: "the all-zeros digest is the placeholder of an image not built yet; pin the digest CI pushed (image-digest resolve prints it)".into(),
        });
    }
    if require_digest && !pinned {
        findings.push(Finding {
            rule: "no-digest",
            message: "not pinned by digest (add @sha256:…, e.g. from image-digest resolve)".into(),
        });
    }
    Verdict {
        input: input.to_owned(),
        parses: true,
        fit: findings.is_empty(),
        canonical: Some(parsed.to_string()),
        familiar: Some(parsed.familiar()),
        registry: Some(parsed.domain().to_owned()),
        repository: Some(parsed.name()),
        path: Some(parsed.path().to_owned()),
        tag: parsed.tag().map(str::to_owned),
        digest: parsed.digest().map(ToString::to_string),
        findings,
    }
}

/// The exit status of a set of verdicts: 2 when one does not parse, else 1
/// when one has a finding, else 0.
pub fn status(verdicts: &[Verdict]) -> Exit {
    if verdicts.iter().any(|v| !v.parses) {
        Exit::Usage
    } else if verdicts.iter().any(|v| !v.fit) {
        Exit::No
    } else {
        Exit::Success
    }
}

/// The `--json` document of `check`.
#[derive(Debug, Serialize)]
struct Report<'a> {
    /// Whether every reference is fit to deploy.
    fit: bool,
    /// One verdict per reference, in order.
    references: &'a [Verdict],
}

/// Runs `check`.
pub fn run(refs: &[String], require_digest: bool, out: &Reporter) -> Result<Exit> {
    let verdicts: Vec<Verdict> = refs.iter().map(|r| judge(r, require_digest)).collect();
    if out.json() {
        out.json_document(&Report {
            fit: verdicts.iter().all(|v| v.fit),
            references: &verdicts,
        })?;
    } else {
        for v in &verdicts {
            if v.findings.is_empty() {
                out.line(format_args!("{}: ok", v.input))?;
            }
            for f in &v.findings {
                out.line(format_args!(
                    "{}: error[{}]: {}",
                    v.input, f.rule, f.message
                ))?;
            }
        }
    }
    let unfit = verdicts.iter().filter(|v| !v.fit).count();
    if unfit > 0 {
        // An error, not a line of progress: `--json` carries it as `error`.
        return Err(Error::new(
            status(&verdicts),
            format_args!(
                "{unfit} of {} reference(s) not fit to deploy",
                verdicts.len()
            ),
        ));
    }
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn rules(input: &str, require_digest: bool) -> Vec<&'static str> {
        judge(input, require_digest)
            .findings
            .iter()
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn findings_per_rule() {
        assert_eq!(
            rules("ghcr.io/acme/api:prod-abc1234", false),
            Vec::<&str>::new()
        );
        assert_eq!(rules("ghcr.io/acme/api", false), ["untagged"]);
        assert_eq!(rules("api:latest", false), ["latest"]);
        assert_eq!(rules("api:main", false), ["mutable-tag"]);
        assert_eq!(rules("api:prod", false), ["mutable-tag"]);
        assert_eq!(rules("api:prod-abc1234", true), ["no-digest"]);
        assert_eq!(rules("api:latest", true), ["latest", "no-digest"]);
        assert_eq!(rules(&format!("api@{D}"), true), Vec::<&str>::new());
        // The digest is what is pulled: the tag beside it cannot move anything.
        assert_eq!(rules(&format!("api:latest@{D}"), true), Vec::<&str>::new());
        assert_eq!(rules("Api:1", false), ["invalid"]);
        let zeros = imageref::PLACEHOLDER_DIGEST;
        assert_eq!(
            rules(&format!("api:prod-abc1234@{zeros}"), true),
            ["placeholder"]
        );
        assert_eq!(rules(&format!("api@{zeros}"), false), ["placeholder"]);
    }

    #[test]
    fn the_json_fields() {
        let v = judge(&format!("127.0.0.1:5000/team/api:prod-abc1234@{D}"), true);
        let text = serde_json::to_string(&v).unwrap();
        let order = [
            "input",
            "parses",
            "fit",
            "canonical",
            "familiar",
            "registry",
            "repository",
            "path",
            "tag",
            "digest",
            "findings",
        ];
        let at: Vec<usize> = order
            .iter()
            .map(|k| text.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json.as_object().unwrap().len(), order.len());
        assert_eq!(json["registry"], "127.0.0.1:5000");
        assert_eq!(json["repository"], "127.0.0.1:5000/team/api");
        assert_eq!(json["path"], "team/api");
        assert_eq!(json["parses"], true);
        assert_eq!(json["fit"], true);
        // Parsing is not being fit: latest parses and is not fit.
        let latest = judge("api:latest", false);
        assert!(latest.parses && !latest.fit, "{latest:?}");
        assert_eq!(latest.repository.as_deref(), Some("docker.io/library/api"));
        assert_eq!(json["tag"], "prod-abc1234");
        assert_eq!(json["digest"], D);
        let hub = judge("api:1", false);
        assert_eq!(hub.canonical.as_deref(), Some("docker.io/library/api:1"));
        assert_eq!(hub.familiar.as_deref(), Some("api:1"));
    }

    #[test]
    fn status_order() {
        let ok = judge("a:prod-abc1234", false);
        let bad = judge("a:latest", false);
        let broken = judge("A:", false);
        assert_eq!(status(std::slice::from_ref(&ok)), Exit::Success);
        assert_eq!(status(&[ok.clone(), bad.clone()]), Exit::No);
        assert_eq!(status(&[ok, bad, broken]), Exit::Usage);
    }
}
