//! Image references, parsed and normalised exactly as the distribution
//! project's `reference` package does.
//!
//! A reference names an image in a registry: `[domain/]path[:tag][@digest]`.
//! Tools disagree with the engines at their peril (`ubuntu` is
//! `docker.io/library/ubuntu:latest`; `localhost/app` is on `localhost`;
//! `Foo/bar` is on a host called `Foo`), so this module mirrors the Go
//! package's grammar (its regular expressions, matched by hand in
//! the `grammar` submodule) and its three entry points:
//!
//! - [`parse`] is `reference.Parse`: the strict grammar, no defaulting;
//! - [`parse_normalized`] is `reference.ParseNormalizedNamed`: a familiar name
//!   (`ubuntu`, `me/app:1`) becomes canonical (`docker.io/library/ubuntu`);
//! - [`parse_docker_ref`] is `reference.ParseDockerRef`: normalised, with the
//!   default tag `latest`, and a tag dropped when a digest pins the image.
//!
//! [`Reference::familiar`] gives the short form back. Errors are the
//! package's errors ([`RefError`]), with the same meanings.
//!
//! One deliberate difference: `sha512` digests are accepted. The OCI image
//! spec registers `sha256` and `sha512`; go-digest only refuses `sha512` when
//! the Go binary does not link `crypto/sha512`, which the engines do.

use std::fmt;

/// The registry familiar names live on.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The legacy name of Docker Hub, normalised to [`DEFAULT_DOMAIN`].
pub const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The namespace of Docker Hub's official images.
pub const OFFICIAL_REPO_PREFIX: &str = "library/";
/// The tag [`parse_docker_ref`] adds when none is given.
pub const DEFAULT_TAG: &str = "latest";
/// The longest repository path (the name without its domain) allowed.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;

mod grammar;

/// The longest tag (`[\w][\w.-]{0,127}`).
const TAG_MAX: usize = 128;
/// The fewest hex digits in a digest of the reference grammar (`{32,}`).
const DIGEST_HEX_MIN: usize = 32;

/// Why a reference does not parse: the errors of distribution/reference and
/// go-digest, with their messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// `ErrReferenceInvalidFormat`.
    #[error("invalid reference format")]
    InvalidFormat,
    /// `ErrTagInvalidFormat`.
    #[error("invalid tag format")]
    TagInvalidFormat,
    /// `ErrDigestInvalidFormat` (either package).
    #[error("invalid digest format")]
    DigestInvalidFormat,
    /// `ErrNameContainsUppercase`.
    #[error("repository name must be lowercase")]
    NameContainsUppercase,
    /// `ErrNameEmpty`.
    #[error("repository name must have at least one component")]
    NameEmpty,
    /// `ErrNameTooLong`.
    #[error("repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")]
    NameTooLong,
    /// `ErrNameNotCanonical`.
    #[error("repository name must be canonical")]
    NameNotCanonical,
    /// go-digest `ErrDigestInvalidLength`.
    #[error("invalid checksum digest length")]
    DigestInvalidLength,
    /// go-digest `ErrDigestUnsupported`.
    #[error("unsupported digest algorithm")]
    DigestUnsupported,
    /// A bare 64-hex string where a name was expected (ambiguous with an image ID).
    #[error("cannot specify 64-byte hexadecimal strings as a repository name")]
    HexIdentifier,
}

impl RefError {
    /// The Go identifier of the error, as the conformance vectors name it.
    pub fn go_name(&self) -> &'static str {
        match self {
            RefError::InvalidFormat | RefError::HexIdentifier => "ErrReferenceInvalidFormat",
            RefError::TagInvalidFormat => "ErrTagInvalidFormat",
            RefError::DigestInvalidFormat => "ErrDigestInvalidFormat",
            RefError::NameContainsUppercase => "ErrNameContainsUppercase",
            RefError::NameEmpty => "ErrNameEmpty",
            RefError::NameTooLong => "ErrNameTooLong",
            RefError::NameNotCanonical => "ErrNameNotCanonical",
            RefError::DigestInvalidLength => "digest.ErrDigestInvalidLength",
            RefError::DigestUnsupported => "digest.ErrDigestUnsupported",
        }
    }
}

/// A digest algorithm this crate can compute and verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// `sha256`, 64 hex digits: what every registry uses.
    Sha256,
    /// `sha512`, 128 hex digits.
    Sha512,
}

impl Algorithm {
    /// The name in a digest string.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// The length of the hex-encoded hash.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    /// The digest of `bytes` with this algorithm.
    pub fn digest(self, bytes: &[u8]) -> Digest {
        use sha2::Digest as _;
        let hex = match self {
            Algorithm::Sha256 => hex(&sha2::Sha256::digest(bytes)),
            Algorithm::Sha512 => hex(&sha2::Sha512::digest(bytes)),
        };
        Digest {
            algorithm: self,
            hex,
        }
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The digest an image entry carries before anything was built for it: the
/// overlays `scaffold-service` writes are pinned by it until the first
/// promotion. It names no content, so it must never reach a cluster:
/// `tag-image check` and `tag-image pin --check` refuse it, and a bare
/// `tag-image pin` reference may take the one entry that still carries it.
pub const PLACEHOLDER_DIGEST: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// Whether `digest` (`algorithm:hex`, as written) is a placeholder: the
/// [`PLACEHOLDER_DIGEST`], or any digest whose hash is all zeros (no content
/// hashes to it, so it only ever stands for "not built yet").
pub fn is_placeholder_digest(digest: &str) -> bool {
    digest.split_once(':').is_some_and(|(alg, hex)| {
        !alg.is_empty() && !hex.is_empty() && hex.bytes().all(|b| b == b'0')
    })
}

/// A content digest, `algorithm:hex`, validated as go-digest does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parses and validates `sha256:<64 hex>` (or `sha512:<128 hex>`).
    pub fn parse(text: &str) -> Result<Digest, RefError> {
        let Some((alg, encoded)) = text.split_once(':') else {
            return Err(RefError::DigestInvalidFormat);
        };
        if alg.is_empty() || encoded.is_empty() {
            return Err(RefError::DigestInvalidFormat);
        }
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ if grammar::go_digest(text) => return Err(RefError::DigestUnsupported),
            _ => return Err(RefError::DigestInvalidFormat),
        };
        if encoded.len() != algorithm.hex_len() {
            return Err(RefError::DigestInvalidLength);
        }
        if !encoded
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(RefError::DigestInvalidFormat);
        }
        Ok(Digest {
            algorithm,
            hex: encoded.to_owned(),
        })
    }

    /// The sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Algorithm::Sha256.digest(bytes)
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex-encoded hash.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Whether this is a placeholder ([`is_placeholder_digest`]).
    pub fn is_placeholder(&self) -> bool {
        is_placeholder_digest(&self.to_string())
    }

    /// Whether `bytes` hash to this digest.
    pub fn verify(&self, bytes: &[u8]) -> bool {
        self.algorithm.digest(bytes) == *self
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl std::str::FromStr for Digest {
    type Err = RefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An image reference: a repository name with an optional tag and digest.
///
/// Its `Display` is the reference's full string (`String()` in Go); for a
/// normalised reference that is the canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// Checks a tag against `[\w][\w.-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    tag.len() <= TAG_MAX && grammar::tag(tag)
}

/// Whether a digest the grammar matched has the hex digits its `{32,}`
/// asks for.
fn digest_long_enough(digest: &str) -> bool {
    digest
        .rsplit_once(':')
        .is_some_and(|(_, hex)| hex.len() >= DIGEST_HEX_MIN)
}

/// The reference grammar with its counted repetitions applied:
/// `(name, tag, digest)`.
fn reference_parts(text: &str) -> Option<(&str, Option<&str>, Option<&str>)> {
    let (name, tag, digest) = grammar::reference(text)?;
    let tag_ok = tag.is_none_or(|t| t.len() <= TAG_MAX);
    let digest_ok = digest.is_none_or(digest_long_enough);
    (tag_ok && digest_ok).then_some((name, tag, digest))
}

/// Checks `host[:port]` against the grammar's domain rule.
pub fn is_valid_domain(domain: &str) -> bool {
    grammar::domain_and_port(domain)
}

/// Whether `text` is a 64-hex image identifier (ambiguous with a name).
pub fn is_identifier(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The raw reference grammar: `(name, tag, digest)` when `text` matches it
/// (empty strings for absent parts). Syntax only: no length or digest checks.
pub fn match_reference(text: &str) -> Option<(String, String, String)> {
    let (name, tag, digest) = reference_parts(text)?;
    Some((
        name.to_owned(),
        tag.unwrap_or_default().to_owned(),
        digest.unwrap_or_default().to_owned(),
    ))
}

/// The raw name grammar: `(domain, remainder)` when `text` is a name.
pub fn match_name(text: &str) -> Option<(String, String)> {
    let (domain, remote) = grammar::name(text)?;
    Some((domain.unwrap_or_default().to_owned(), remote.to_owned()))
}

/// `reference.Parse`: the strict grammar, no normalisation. The domain is
/// whatever precedes the first `/` when it matches the domain rule; a name
/// without `/` has no domain.
pub fn parse(text: &str) -> Result<Reference, RefError> {
    let Some((name, tag, digest)) = reference_parts(text) else {
        if text.is_empty() {
            return Err(RefError::NameEmpty);
        }
        if reference_parts(&text.to_lowercase()).is_some() {
            return Err(RefError::NameContainsUppercase);
        }
        return Err(RefError::InvalidFormat);
    };
    let (domain, path) = match grammar::name(name) {
        Some((domain, remote)) => (domain.unwrap_or_default().to_owned(), remote.to_owned()),
        None => (String::new(), name.to_owned()),
    };
    if path.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(RefError::NameTooLong);
    }
    let tag = tag.map(str::to_owned);
    let digest = digest.map(Digest::parse).transpose()?;
    if path.is_empty() {
        return Err(RefError::NameEmpty);
    }
    Ok(Reference {
        domain,
        path,
        tag,
        digest,
    })
}

/// `reference.ParseNamed`: a reference that must already be canonical
/// (`docker.io/library/ubuntu`, not `ubuntu`).
pub fn parse_named(text: &str) -> Result<Reference, RefError> {
    let named = parse_normalized(text)?;
    if named.to_string() != text {
        return Err(RefError::NameNotCanonical);
    }
    Ok(named)
}

/// `reference.ParseNormalizedNamed`: parses a familiar or canonical
/// reference and returns it canonical (`ubuntu` → `docker.io/library/ubuntu`).
pub fn parse_normalized(text: &str) -> Result<Reference, RefError> {
    if text.is_empty() {
        // Go says "invalid reference format" here; the precise error is kinder.
        return Err(RefError::NameEmpty);
    }
    if is_identifier(text) {
        return Err(RefError::HexIdentifier);
    }
    let (domain, remainder) = split_docker_domain(text);
    let remote = remainder
        .split_once(':')
        .map_or(remainder.as_str(), |(r, _)| r);
    if remote.to_lowercase() != remote {
        return Err(RefError::NameContainsUppercase);
    }
    parse(&format!("{domain}/{remainder}"))
}

/// `reference.ParseDockerRef`: normalised, `latest` when neither tag nor
/// digest is given, and the tag dropped when a digest is given (the digest
/// is what gets pulled).
pub fn parse_docker_ref(text: &str) -> Result<Reference, RefError> {
    let mut named = parse_normalized(text)?;
    if named.digest.is_some() {
        named.tag = None;
    } else if named.tag.is_none() {
        named.tag = Some(DEFAULT_TAG.to_owned());
    }
    Ok(named)
}

/// What [`parse_any`] found: a named reference or a bare digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyReference {
    /// A repository name, maybe with tag and digest.
    Named(Reference),
    /// A digest alone (`sha256:…` or 64 hex digits).
    Digest(Digest),
}

impl fmt::Display for AnyReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnyReference::Named(r) => r.fmt(f),
            AnyReference::Digest(d) => d.fmt(f),
        }
    }
}

/// `reference.ParseAnyReference`: like [`parse_normalized`], but a bare
/// 64-hex string or `sha256:<hex>` is a digest, not a name.
pub fn parse_any(text: &str) -> Result<AnyReference, RefError> {
    if is_identifier(text) {
        return Ok(AnyReference::Digest(Digest::parse(&format!(
            "sha256:{text}"
        ))?));
    }
    if let Ok(d) = Digest::parse(text) {
        return Ok(AnyReference::Digest(d));
    }
    parse_normalized(text).map(AnyReference::Named)
}

/// Why a text is not a bare repository name ([`parse_repository`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepositoryError {
    /// A URL (`https://ghcr.io/acme/api`): registries are named by host.
    #[error("is a URL; name the repository without a scheme (like ghcr.io/acme/api)")]
    Scheme,
    /// `repo:tag`: the tag is chosen per build, not per repository.
    #[error("has a tag ({0}); name the repository alone, the tag is pinned per build")]
    Tag(String),
    /// `repo@digest`: likewise.
    #[error("has a digest; name the repository alone, the digest is pinned per build")]
    Digest,
    /// Not a name of the reference grammar at all.
    #[error("is not an image repository: {0}")]
    Invalid(RefError),
}

/// A repository, as a manifest's `newName` or a flag naming where a
/// service's images go holds it: `[domain/]path` of the strict grammar
/// ([`parse`], no normalisation, so `ghcr.io/acme/api` stays as written),
/// with no tag, no digest and no URL scheme. What every build then pins
/// (`repo:tag@sha256:…`) is appended to exactly this text, so a tag left
/// in it would render `repo:v1:prod-…`.
pub fn parse_repository(text: &str) -> Result<Reference, RepositoryError> {
    if text.contains("://") {
        return Err(RepositoryError::Scheme);
    }
    let parsed = parse(text).map_err(RepositoryError::Invalid)?;
    if parsed.digest.is_some() {
        return Err(RepositoryError::Digest);
    }
    if let Some(tag) = parsed.tag {
        return Err(RepositoryError::Tag(tag));
    }
    Ok(parsed)
}

#[cfg(test)]
mod repository_tests {
    use super::*;

    #[test]
    fn a_repository_has_no_tag_digest_or_scheme() {
        for ok in [
            "ghcr.io/acme/api",
            "127.0.0.1:5000/shop/api",
            "localhost/app",
            "api",
        ] {
            assert_eq!(
                parse_repository(ok).map(|r| r.to_string()),
                Ok(ok.to_owned())
            );
        }
        assert_eq!(
            parse_repository("127.0.0.1:5000/shop/api:v1"),
            Err(RepositoryError::Tag("v1".into()))
        );
        let digest = format!("ghcr.io/acme/api@sha256:{}", "a".repeat(64));
        assert_eq!(parse_repository(&digest), Err(RepositoryError::Digest));
        assert_eq!(
            parse_repository("https://ghcr.io/acme/api"),
            Err(RepositoryError::Scheme)
        );
        assert_eq!(
            parse_repository("ghcr.io/Acme/api"),
            Err(RepositoryError::Invalid(RefError::NameContainsUppercase))
        );
        assert!(matches!(
            parse_repository(""),
            Err(RepositoryError::Invalid(_))
        ));
        assert!(parse_repository(&format!("ghcr.io/{}", "a".repeat(255))).is_ok());
        assert_eq!(
            parse_repository(&format!("ghcr.io/{}", "a".repeat(256))),
            Err(RepositoryError::Invalid(RefError::NameTooLong))
        );
    }
}

fn split_docker_domain(name: &str) -> (String, String) {
    let Some((maybe_domain, maybe_remote)) = name.split_once('/') else {
        return (
            DEFAULT_DOMAIN.to_owned(),
            format!("{OFFICIAL_REPO_PREFIX}{name}"),
        );
    };
    let (domain, mut remote) = if maybe_domain == "localhost" {
        (maybe_domain.to_owned(), maybe_remote.to_owned())
    } else if maybe_domain == LEGACY_DEFAULT_DOMAIN {
        (DEFAULT_DOMAIN.to_owned(), maybe_remote.to_owned())
    } else if maybe_domain.contains(['.', ':']) || maybe_domain.to_lowercase() != maybe_domain {
        (maybe_domain.to_owned(), maybe_remote.to_owned())
    } else {
        (DEFAULT_DOMAIN.to_owned(), name.to_owned())
    };
    if domain == DEFAULT_DOMAIN && !remote.contains('/') {
        remote = format!("{OFFICIAL_REPO_PREFIX}{remote}");
    }
    (domain, remote)
}

impl Reference {
    /// `reference.WithName`: a name without tag or digest, strictly parsed.
    pub fn with_name(name: &str) -> Result<Reference, RefError> {
        let (domain, path) = grammar::name(name).ok_or(RefError::InvalidFormat)?;
        let (domain, path) = (domain.unwrap_or_default().to_owned(), path.to_owned());
        if path.len() > NAME_TOTAL_LENGTH_MAX {
            return Err(RefError::NameTooLong);
        }
        Ok(Reference {
            domain,
            path,
            tag: None,
            digest: None,
        })
    }

    /// `reference.WithTag`: the same name with `tag` (a digest is kept).
    pub fn with_tag(&self, tag: &str) -> Result<Reference, RefError> {
        if !is_valid_tag(tag) {
            return Err(RefError::TagInvalidFormat);
        }
        Ok(Reference {
            tag: Some(tag.to_owned()),
            ..self.clone()
        })
    }

    /// `reference.WithDigest`: the same name pinned to `digest` (a tag is kept).
    pub fn with_digest(&self, digest: &str) -> Result<Reference, RefError> {
        if !(grammar::digest(digest) && digest_long_enough(digest)) {
            return Err(RefError::DigestInvalidFormat);
        }
        let digest = Digest::parse(digest)?;
        Ok(self.with_parsed_digest(digest))
    }

    /// The same name pinned to an already validated digest (a tag is kept).
    #[must_use]
    pub fn with_parsed_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The name alone, without tag and digest.
    #[must_use]
    pub fn name_only(&self) -> Reference {
        Reference {
            tag: None,
            digest: None,
            ..self.clone()
        }
    }

    /// The domain (`docker.io`, `127.0.0.1:5000`); empty for a strictly
    /// parsed name without one.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path within the registry (`library/ubuntu`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The full repository name, `domain/path`.
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `reference.FamiliarName`: the short name users type (`ubuntu`,
    /// `me/app`, `127.0.0.1:5000/app`).
    ///
    /// Unlike Go, a Docker Hub path whose first component would be read as
    /// a registry (`docker.io/my.org/app`) keeps its `docker.io/`: Go's
    /// `my.org/app` names an image on another registry, which a user who
    /// copies it would pull instead (found by the `imageref` fuzz target).
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        let short = match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(rest) if !rest.contains('/') => rest,
            _ => &self.path,
        };
        if split_docker_domain(short) == (DEFAULT_DOMAIN.to_owned(), self.path.clone()) {
            short.to_owned()
        } else {
            self.name()
        }
    }

    /// `reference.FamiliarString`: the familiar name with tag and digest.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        self.push_suffix(&mut s);
        s
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(tag) = &self.tag {
            s.push(':');
            s.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            s.push('@');
            s.push_str(&digest.to_string());
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

impl std::str::FromStr for Reference {
    type Err = RefError;
    /// Parses like [`parse_normalized`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_normalized(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

    #[test]
    fn the_placeholder_is_any_all_zeros_digest() {
        assert!(Digest::parse(PLACEHOLDER_DIGEST).unwrap().is_placeholder());
        assert!(is_placeholder_digest(&format!(
            "sha512:{}",
            "0".repeat(128)
        )));
        assert!(!Digest::parse(D).unwrap().is_placeholder());
        assert!(!is_placeholder_digest("sha256:"));
        assert!(!is_placeholder_digest("0000"));
    }

    #[test]
    fn a_hub_path_that_looks_like_a_registry_keeps_its_domain() {
        let r = parse_normalized("docker.io/my.org/app:1").unwrap();
        assert_eq!(r.familiar(), "docker.io/my.org/app:1");
        assert_eq!(parse_normalized(&r.familiar()).unwrap(), r);
        let r = parse_normalized("docker.io/localhost/app").unwrap();
        assert_eq!(r.familiar_name(), "docker.io/localhost/app");
        let r = parse_normalized("docker.io/docker.io/app").unwrap();
        assert_eq!(r.familiar_name(), "docker.io/docker.io/app");
        assert_eq!(
            parse_normalized("ubuntu:22.04").unwrap().familiar(),
            "ubuntu:22.04"
        );
        assert_eq!(
            parse_normalized("docker.io/me/app").unwrap().familiar(),
            "me/app"
        );
    }

    #[test]
    fn docker_ref_normalisation() {
        // (input, canonical with default tag)
        let cases = [
            ("ubuntu", "docker.io/library/ubuntu:latest"),
            ("ubuntu:22.04", "docker.io/library/ubuntu:22.04"),
            ("me/app", "docker.io/me/app:latest"),
            ("docker.io/ubuntu", "docker.io/library/ubuntu:latest"),
            ("index.docker.io/me/app:1", "docker.io/me/app:1"),
            ("localhost/app", "localhost/app:latest"),
            ("localhost:5000/app:v1", "localhost:5000/app:v1"),
            ("127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app:latest"),
            (
                "ghcr.io/org/svc:prod-abc1234-api",
                "ghcr.io/org/svc:prod-abc1234-api",
            ),
            ("[::1]:5000/app", "[::1]:5000/app:latest"),
            ("Registry/app", "Registry/app:latest"),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_docker_ref(input).map(|r| r.to_string()),
                Ok(want.to_owned()),
                "{input}"
            );
        }
    }

    #[test]
    fn a_digest_drops_the_tag_in_docker_refs() {
        let r = parse_docker_ref(&format!("app:1@{D}")).unwrap();
        assert_eq!(r.to_string(), format!("docker.io/library/app@{D}"));
        // ...but parse_normalized keeps both, as Go does.
        let r = parse_normalized(&format!("app:1@{D}")).unwrap();
        assert_eq!(r.to_string(), format!("docker.io/library/app:1@{D}"));
        assert_eq!(r.familiar(), format!("app:1@{D}"));
    }

    #[test]
    fn domain_detection() {
        // (input, domain, path) after normalisation
        let cases = [
            ("foo/bar", "docker.io", "foo/bar"),
            ("foo.com/bar", "foo.com", "bar"),
            ("foo:1/bar", "foo:1", "bar"),
            ("localhost/bar", "localhost", "bar"),
            ("localhostx/bar", "docker.io", "localhostx/bar"),
            ("FOO/bar", "FOO", "bar"),
            ("a/b/c/d", "docker.io", "a/b/c/d"),
        ];
        for (input, domain, path) in cases {
            let r = parse_normalized(input).unwrap();
            assert_eq!((r.domain(), r.path()), (domain, path), "{input}");
        }
    }

    #[test]
    fn precise_errors() {
        let cases: &[(&str, RefError)] = &[
            ("", RefError::NameEmpty),
            ("UPPER", RefError::NameContainsUppercase),
            ("me/App", RefError::NameContainsUppercase),
            ("app:", RefError::InvalidFormat),
            ("app:-tag", RefError::InvalidFormat),
            ("app@sha256:abc", RefError::InvalidFormat),
            (
                "app@sha256:ffffffffffffffffffffffffffffffffff",
                RefError::DigestInvalidLength,
            ),
            (
                "app@md5:ffffffffffffffffffffffffffffffff",
                RefError::DigestUnsupported,
            ),
            ("a//b", RefError::InvalidFormat),
            ("https://ghcr.io/a", RefError::InvalidFormat),
            (
                "da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821",
                RefError::HexIdentifier,
            ),
        ];
        for (input, err) in cases {
            assert_eq!(parse_normalized(input).as_ref().err(), Some(err), "{input}");
        }
        let long = format!("example.com/{}", "a".repeat(256));
        assert_eq!(parse_normalized(&long).err(), Some(RefError::NameTooLong));
        let fits = format!("example.com/{}", "a".repeat(255));
        assert!(parse_normalized(&fits).is_ok());
    }

    #[test]
    fn tags_follow_the_grammar() {
        assert!(is_valid_tag("v1.2.3-rc_1"));
        assert!(is_valid_tag("_x"));
        assert!(is_valid_tag(&"a".repeat(128)));
        assert!(!is_valid_tag(&"a".repeat(129)));
        assert!(!is_valid_tag(".x"));
        assert!(!is_valid_tag("-x"));
        assert!(!is_valid_tag("a/b"));
        assert!(!is_valid_tag("é"));
    }

    #[test]
    fn digests_validate_and_verify() {
        let d = Digest::sha256_of(b"hello");
        assert_eq!(
            d.to_string(),
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert!(d.verify(b"hello"));
        assert!(!d.verify(b"hello!"));
        assert_eq!(Digest::parse(&d.to_string()), Ok(d));
        assert_eq!(Digest::parse("sha256"), Err(RefError::DigestInvalidFormat));
        assert_eq!(
            Digest::parse(&format!("sha256:{}", "F".repeat(64))),
            Err(RefError::DigestInvalidFormat)
        );
        assert!(Digest::parse(&format!("sha512:{}", "0".repeat(128))).is_ok());
    }

    #[test]
    fn familiar_forms() {
        let cases = [
            ("docker.io/library/ubuntu:1", "ubuntu:1"),
            ("docker.io/library/a/b", "library/a/b"),
            ("docker.io/me/app", "me/app"),
            ("127.0.0.1:5000/app:x", "127.0.0.1:5000/app:x"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_normalized(input).unwrap().familiar(), want);
        }
    }
}
