//! The tagging strategy, as a pure function: `{env}-{sha}` for the app,
//! `{env}-{sha}-migrate` for the migrator, `{env}-{sha}-{service}` for a
//! service, `{service}-{fingerprint}` for content-addressed tags.
//!
//! A tag is only useful to a deploy if it can never move, so every part is
//! validated (kebab-case names, a hex commit of at least seven digits) and a
//! tag that looks like a moving pointer (`latest`, `main`, an environment
//! alone) is refused here and flagged by `check`.

use deploykit::exit::{Error, Result};
use deploykit::imageref;

/// The shortest commit abbreviation accepted (git's default).
pub const MIN_SHA: usize = 7;
/// The longest tag the distribution spec allows.
pub const MAX_TAG: usize = 128;

/// Tags that name a moving pointer, never a build: branch names, channels
/// and environments.
pub const MUTABLE_WORDS: &[&str] = &[
    "latest",
    "stable",
    "main",
    "master",
    "trunk",
    "head",
    "edge",
    "nightly",
    "canary",
    "beta",
    "alpha",
    "release",
    "current",
    "dev",
    "develop",
    "development",
    "test",
    "testing",
    "qa",
    "uat",
    "stage",
    "staging",
    "preprod",
    "prod",
    "production",
    "live",
];

/// What a tag is made of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagSpec {
    /// `--env`.
    pub env: Option<String>,
    /// `--sha`.
    pub sha: Option<String>,
    /// `--service`.
    pub service: Option<String>,
    /// `--migrate`.
    pub migrate: bool,
    /// `--fingerprint`.
    pub fingerprint: Option<String>,
    /// `--sha-length`.
    pub sha_length: usize,
}

/// Whether `value` is lowercase kebab-case: `[a-z][a-z0-9]*(-[a-z0-9]+)*`.
pub fn is_kebab(value: &str) -> bool {
    let mut parts = value.split('-');
    let first_ok = parts.next().is_some_and(|p| {
        p.starts_with(|c: char| c.is_ascii_lowercase()) && p.bytes().all(is_lower_alnum)
    });
    first_ok && parts.all(|p| !p.is_empty() && p.bytes().all(is_lower_alnum))
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn check_kebab(flag: &str, value: &str) -> Result<()> {
    if is_kebab(value) {
        return Ok(());
    }
    let hint = value
        .to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let hint = if is_kebab(&hint) && hint != value {
        format!(" (like {hint})")
    } else {
        String::new()
    };
    Err(Error::usage(format!(
        "{flag} {value:?} is not lowercase kebab-case{hint}: a lowercase letter first, then lowercase letters, digits and single dashes"
    )))
}

/// Why `tag` looks like a moving pointer rather than one build, if it does.
pub fn mutable_reason(tag: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    if MUTABLE_WORDS.contains(&lower.as_str()) {
        return Some(format!(
            "{tag:?} names a branch, channel or environment, and moves with every release"
        ));
    }
    if lower.split(['-', '_', '.']).any(|p| p == "latest") {
        return Some(format!(
            "{tag:?} contains \"latest\", which moves with every release"
        ));
    }
    None
}

/// The part an image plays in a release, as its tag under the strategy
/// says: what `pin` matches a bare reference against, so that the app's
/// build never lands in the migrator's entry on the same repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// `{prefix}-{hex}`: the app (`{env}-{sha}`) or a content tag
    /// (`{service}-{fingerprint}`); the tag alone cannot tell which, so the
    /// prefix is kept.
    Plain(String),
    /// The migrator: `{env}-{sha}-migrate` or `migrate-{fingerprint}`.
    Migrate,
    /// A service: `{env}-{sha}-{service}`.
    Service(String),
}

impl Role {
    /// What a person calls it, for messages.
    pub fn describe(&self) -> String {
        match self {
            Role::Plain(p) if is_environment(p) => "the app".to_owned(),
            Role::Plain(p) => format!("{p} (by content)"),
            Role::Migrate => "the migrator".to_owned(),
            Role::Service(s) => format!("the service {s}"),
        }
    }

    /// Whether two tags play the same part: the app in two environments
    /// (`staging-…`, `prod-…`), the migrator, one service, and a service's
    /// content tag beside its commit tag (`worker-3f2a9c01be47`,
    /// `prod-abc1234-worker`).
    pub fn same_as(&self, other: &Role) -> bool {
        match (self, other) {
            (Role::Plain(a), Role::Plain(b)) => a == b || (is_environment(a) && is_environment(b)),
            (Role::Migrate, Role::Migrate) => true,
            (Role::Service(a), Role::Service(b)) => a == b,
            (Role::Plain(p), Role::Service(s)) | (Role::Service(s), Role::Plain(p)) => {
                p == s && !is_environment(p)
            }
            _ => false,
        }
    }
}

/// Whether `word` names an environment (or a branch or channel a build is
/// tagged for): the names [`deploykit::environment`] knows and the moving
/// words of [`MUTABLE_WORDS`].
pub fn is_environment(word: &str) -> bool {
    MUTABLE_WORDS.contains(&word)
        || deploykit::environment::NAMES
            .iter()
            .any(|(name, _)| *name == word)
}

/// The part `tag` plays under the strategy, if it follows it: a kebab-case
/// prefix, a hex segment of at least [`MIN_SHA`] digits, and nothing,
/// `migrate` or a service after it.
pub fn role(tag: &str) -> Option<Role> {
    let parts: Vec<&str> = tag.split('-').collect();
    let at = (1..parts.len()).find(|&i| {
        parts[i].len() >= MIN_SHA
            && parts[i]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })?;
    let prefix = parts[..at].join("-");
    let rest = parts[at + 1..].join("-");
    if !is_kebab(&prefix) {
        return None;
    }
    match rest.as_str() {
        "" if prefix == "migrate" => Some(Role::Migrate),
        "" => Some(Role::Plain(prefix)),
        "migrate" => Some(Role::Migrate),
        s if is_kebab(s) => Some(Role::Service(s.to_owned())),
        _ => None,
    }
}

/// A hex string of at least [`MIN_SHA`] digits, lower-cased; a `sha256:`
/// prefix is dropped for fingerprints.
fn check_hex(flag: &str, value: &str) -> Result<String> {
    let lower = value.to_ascii_lowercase();
    if lower.is_empty() || !lower.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::usage(format!("{flag} {value:?} is not hexadecimal")));
    }
    if lower.len() < MIN_SHA {
        return Err(Error::usage(format!(
            "{flag} {value:?} has {} hex digits; at least {MIN_SHA} are needed to name one build",
            lower.len()
        )));
    }
    Ok(lower)
}

/// Computes the tag of `spec`, validating every part.
pub fn compute(spec: &TagSpec) -> Result<String> {
    if let Some(service) = &spec.service {
        check_kebab("--service", service)?;
    }
    let tag = if let Some(fp) = &spec.fingerprint {
        let fp = check_hex("--fingerprint", fp.strip_prefix("sha256:").unwrap_or(fp))?;
        let prefix = match (&spec.service, spec.migrate) {
            (Some(service), false) => service.as_str(),
            (None, true) => "migrate",
            _ => {
                return Err(Error::usage(
                    "--fingerprint needs exactly one of --service NAME or --migrate",
                ));
            }
        };
        format!("{prefix}-{fp}")
    } else {
        let env = spec.env.as_deref().ok_or_else(|| {
            Error::usage("--env is required (or --fingerprint for a content tag)")
        })?;
        check_kebab("--env", env)?;
        if env == "latest" {
            return Err(Error::usage("--env \"latest\" is not an environment"));
        }
        let sha = spec
            .sha
            .as_deref()
            .ok_or_else(|| Error::usage("--sha is required (the commit, e.g. $GIT_SHA)"))?;
        let sha = check_hex("--sha", sha)?;
        if spec.sha_length < MIN_SHA {
            return Err(Error::usage(format!(
                "--sha-length {} is below {MIN_SHA}",
                spec.sha_length
            )));
        }
        if sha.len() < spec.sha_length {
            return Err(Error::usage(format!(
                "--sha has {} hex digits but --sha-length asks for {}",
                sha.len(),
                spec.sha_length
            )));
        }
        let short = &sha[..spec.sha_length];
        match (&spec.service, spec.migrate) {
            (Some(service), false) => format!("{env}-{short}-{service}"),
            (None, true) => format!("{env}-{short}-migrate"),
            (None, false) => format!("{env}-{short}"),
            (Some(_), true) => {
                return Err(Error::usage(
                    "--service and --migrate cannot be used together",
                ));
            }
        }
    };
    if tag.len() > MAX_TAG {
        return Err(Error::usage(format!(
            "the tag {tag:?} is {} characters; a tag has at most {MAX_TAG}",
            tag.len()
        )));
    }
    if !imageref::is_valid_tag(&tag) {
        return Err(Error::usage(format!("{tag:?} is not a valid tag")));
    }
    if let Some(reason) = mutable_reason(&tag) {
        return Err(Error::usage(format!(
            "refusing a mutable-looking tag: {reason}"
        )));
    }
    Ok(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "abc1234def5678abc1234def5678abc1234def56";

    fn spec() -> TagSpec {
        TagSpec {
            env: Some("prod".into()),
            sha: Some(SHA.into()),
            sha_length: 7,
            ..TagSpec::default()
        }
    }

    #[test]
    fn roles_under_the_strategy() {
        let r = |t: &str| role(t);
        assert_eq!(r("prod-abc1234"), Some(Role::Plain("prod".into())));
        assert_eq!(r("prod-abc1234-migrate"), Some(Role::Migrate));
        assert_eq!(r("migrate-3f2a9c01be47"), Some(Role::Migrate));
        assert_eq!(
            r("eu-west-abc1234-scheduler-worker"),
            Some(Role::Service("scheduler-worker".into()))
        );
        for none in [
            "7.2",
            "latest",
            "v1.2.3",
            "prod",
            "abc1234",
            "prod-abc12",
            "Prod-abc1234",
        ] {
            assert_eq!(r(none), None, "{none}");
        }
        let same = |a: &str, b: &str| r(a).unwrap().same_as(&r(b).unwrap());
        assert!(same("staging-0000000", "prod-abc1234"));
        assert!(same("prod-0000000-migrate", "migrate-3f2a9c01be47"));
        assert!(same("prod-0000000-worker", "worker-3f2a9c01be47"));
        assert!(same("worker-0000000", "worker-3f2a9c01be47"));
        assert!(!same("prod-0000000", "prod-abc1234-migrate"));
        assert!(!same("prod-0000000-worker", "prod-abc1234-api"));
        assert!(!same("api-3f2a9c01be47", "worker-3f2a9c01be47"));
        assert!(!same("prod-abc1234", "prod-abc1234-prod"));
        assert_eq!(r("prod-abc1234").unwrap().describe(), "the app");
    }

    #[test]
    fn the_seed_strategy() {
        assert_eq!(compute(&spec()).unwrap(), "prod-abc1234");
        let migrate = TagSpec {
            migrate: true,
            ..spec()
        };
        assert_eq!(compute(&migrate).unwrap(), "prod-abc1234-migrate");
        let svc = TagSpec {
            service: Some("scheduler-worker".into()),
            ..spec()
        };
        assert_eq!(compute(&svc).unwrap(), "prod-abc1234-scheduler-worker");
        let long = TagSpec {
            sha_length: 12,
            ..spec()
        };
        assert_eq!(compute(&long).unwrap(), "prod-abc1234def56");
        let fp = TagSpec {
            env: None,
            sha: None,
            service: Some("api".into()),
            fingerprint: Some("sha256:3F2A9C01BE47".into()),
            ..spec()
        };
        assert_eq!(compute(&fp).unwrap(), "api-3f2a9c01be47");
        let fp_migrate = TagSpec {
            service: None,
            migrate: true,
            ..fp
        };
        assert_eq!(compute(&fp_migrate).unwrap(), "migrate-3f2a9c01be47");
    }

    #[test]
    fn uppercase_sha_is_lowercased() {
        let s = TagSpec {
            sha: Some("ABC1234".into()),
            ..spec()
        };
        assert_eq!(compute(&s).unwrap(), "prod-abc1234");
    }

    #[test]
    fn bad_parts_are_refused_with_the_flag_named() {
        let cases: Vec<(TagSpec, &str)> = vec![
            (
                TagSpec {
                    env: Some("Prod".into()),
                    ..spec()
                },
                "--env \"Prod\" is not lowercase kebab-case (like prod)",
            ),
            (
                TagSpec {
                    env: Some("prod_eu".into()),
                    ..spec()
                },
                "(like prod-eu)",
            ),
            (
                TagSpec {
                    env: Some("-prod".into()),
                    ..spec()
                },
                "--env",
            ),
            (
                TagSpec {
                    env: Some("prod--eu".into()),
                    ..spec()
                },
                "--env",
            ),
            (
                TagSpec {
                    env: Some("1prod".into()),
                    ..spec()
                },
                "--env",
            ),
            (
                TagSpec {
                    env: None,
                    ..spec()
                },
                "--env is required",
            ),
            (
                TagSpec {
                    sha: Some("abc123".into()),
                    ..spec()
                },
                "has 6 hex digits",
            ),
            (
                TagSpec {
                    sha: Some("abc123g".into()),
                    ..spec()
                },
                "not hexadecimal",
            ),
            (
                TagSpec {
                    sha: None,
                    ..spec()
                },
                "--sha is required",
            ),
            (
                TagSpec {
                    sha: Some("abc1234".into()),
                    sha_length: 8,
                    ..spec()
                },
                "asks for 8",
            ),
            (
                TagSpec {
                    sha_length: 6,
                    ..spec()
                },
                "below 7",
            ),
            (
                TagSpec {
                    service: Some("Worker".into()),
                    ..spec()
                },
                "--service",
            ),
            (
                TagSpec {
                    service: Some("w".into()),
                    migrate: true,
                    ..spec()
                },
                "cannot be used together",
            ),
            (
                TagSpec {
                    env: Some("latest".into()),
                    ..spec()
                },
                "not an environment",
            ),
            (
                TagSpec {
                    fingerprint: Some("abcdef01".into()),
                    ..spec()
                },
                "exactly one of --service",
            ),
        ];
        for (s, want) in cases {
            let err = compute(&s).unwrap_err();
            assert_eq!(err.status(), deploykit::Exit::Usage);
            assert!(err.to_string().contains(want), "{s:?}: {err}");
        }
    }

    #[test]
    fn the_whole_tag_is_at_most_128_characters() {
        let service = format!("s{}", "-x".repeat(58)); // 117 chars
        let s = TagSpec {
            service: Some(service.clone()),
            ..spec()
        };
        // prod-abc1234- is 13 characters: 130 in all.
        let err = compute(&s).unwrap_err();
        assert!(err.to_string().contains("130 characters"), "{err}");
        let fits = TagSpec {
            service: Some(service[..115].to_owned()),
            ..spec()
        };
        assert_eq!(compute(&fits).unwrap().len(), 128);
    }

    #[test]
    fn mutable_looking_tags() {
        for t in [
            "latest",
            "LATEST",
            "stable",
            "main",
            "prod",
            "staging",
            "prod-latest",
            "latest-api",
        ] {
            assert!(mutable_reason(t).is_some(), "{t}");
        }
        for t in [
            "prod-abc1234",
            "api-3f2a9c01be47",
            "v1.2.3",
            "latestish",
            "mainline-abc1234",
        ] {
            assert!(mutable_reason(t).is_none(), "{t}");
        }
    }

    #[test]
    fn kebab() {
        for ok in ["prod", "eu-west-1", "a1", "scheduler-worker"] {
            assert!(is_kebab(ok), "{ok}");
        }
        for bad in ["", "Prod", "-a", "a-", "a--b", "a_b", "1a", "a.b", "é"] {
            assert!(!is_kebab(bad), "{bad}");
        }
    }
}
