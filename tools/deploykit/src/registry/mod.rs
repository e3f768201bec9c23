//! An OCI distribution client: resolve tags to digests, fetch manifests.
//!
//! What every tool that talks to a registry needs, done once and right:
//!
//! - the `Accept` list with the OCI index and manifest and the Docker list
//!   and schema2 types ([`ACCEPT`]): without the OCI types a registry answers
//!   404 for an OCI manifest;
//! - one GET per resolve (one round trip, as a HEAD would be): the digest
//!   is the sha256 of the exact body bytes, verified against the digest the
//!   registry claimed (`Docker-Content-Digest`, which some registries omit)
//!   and the digest the caller asked for, so no digest is ever reported
//!   that was not checked;
//! - authentication: the `WWW-Authenticate` challenge ([`challenge`]), Basic,
//!   the token flow (anonymous, with a user and password, or with an identity
//!   token), tokens cached per scope for the run; credentials from the
//!   [`credentials`] sources, sent pre-emptively as Basic when the Docker
//!   configuration has them inline (one round trip on a Basic registry);
//! - deadlines and retries ([`transport`]);
//! - HTTPS by default; plain HTTP with `plain_http`, or as a fallback for a
//!   loopback registry (or with `insecure`) whose port does not speak TLS;
//! - Docker Hub: `docker.io` is served by `registry-1.docker.io`.
//!
//! Errors carry the conventions' statuses: a missing tag is
//! [`Exit::No`](crate::exit::Exit::No), a refusal [`Exit::Denied`], an
//! unreachable or misbehaving registry [`Exit::Remote`].

pub mod admin;
pub mod args;
pub mod challenge;
pub mod credentials;
pub mod transport;
pub mod write;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::exit::{Error, Exit, Result};
use crate::imageref::{Digest, Reference};
use crate::output::Reporter;
use crate::secret::Secret;
use challenge::Challenge;
use credentials::{Credential, CredentialStore, Found};
use transport::{Failure, Method, Response, Transport};

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

/// The host serving Docker Hub's registry API.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";

/// Whether a media type is an index (a list of per-platform manifests).
pub fn is_index(media_type: &str) -> bool {
    matches!(media_type, OCI_INDEX | DOCKER_LIST)
}

/// How the client reaches registries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The budget of one operation (a resolve), retries included.
    pub timeout: Duration,
    /// A PEM file of extra CAs to trust.
    pub cacert: Option<PathBuf>,
    /// Skip TLS verification and allow plain HTTP for any registry.
    pub insecure: bool,
    /// Talk plain HTTP to every registry.
    pub plain_http: bool,
    /// The credential sources.
    pub credentials: CredentialStore,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            cacert: None,
            insecure: false,
            plain_http: false,
            credentials: CredentialStore::default(),
        }
    }
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

    fn matches(&self, other: &Platform) -> bool {
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

#[derive(Deserialize)]
struct ManifestDoc {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    config: Option<BlobRef>,
}

#[derive(Deserialize)]
struct BlobRef {
    digest: String,
}

#[derive(Deserialize)]
struct ConfigDoc {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
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

/// A token service's answer.
#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Https,
    Http,
}

/// The kinds of credentials a request has tried in its authentication
/// dance, so each is tried once.
#[derive(Debug, Clone, Copy)]
struct Tried {
    token: bool,
    basic: bool,
}

impl Tried {
    /// Starting with `auth`: Basic sent up front counts as tried.
    fn after(auth: &Auth) -> Tried {
        Tried {
            token: false,
            basic: matches!(auth, Auth::Basic(..)),
        }
    }
}

/// What to send in `Authorization` next.
#[derive(Debug, Clone)]
enum Auth {
    None,
    Basic(String, Secret),
    Bearer(Secret),
}

impl Auth {
    /// The `Authorization` value to send, if any.
    fn header(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Basic(user, pw) => Some(basic_header(user, pw)),
            Auth::Bearer(tok) => Some(format!("Bearer {}", tok.expose())),
        }
    }
}

#[derive(Default)]
struct State {
    schemes: HashMap<String, Scheme>,
    tokens: HashMap<(String, String), Secret>,
    creds: HashMap<(String, bool), Option<Found>>,
    wants_basic: HashMap<String, bool>,
}

/// A registry client for one run. Not shared between threads.
pub struct Client {
    opts: ClientOptions,
    transport: Transport,
    reporter: Option<Reporter>,
    state: RefCell<State>,
}

/// The scope a pull of `repository` needs.
pub fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

/// The API host of a registry domain (`docker.io` → `registry-1.docker.io`).
pub fn api_host(domain: &str) -> &str {
    if domain == crate::imageref::DEFAULT_DOMAIN {
        DOCKER_HUB_API_HOST
    } else {
        domain
    }
}

/// Whether a registry domain is on the loopback interface.
pub fn is_loopback(domain: &str) -> bool {
    let host = if let Some(rest) = domain.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        domain.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Client {
    /// A client; `reporter` receives retries (progress) and requests (`-v`).
    pub fn new(opts: ClientOptions, reporter: Option<Reporter>) -> Result<Client> {
        let transport = Transport::new(opts.cacert.as_deref(), opts.insecure, reporter.clone())?;
        Ok(Client {
            opts,
            transport,
            reporter,
            state: RefCell::new(State::default()),
        })
    }

    /// HTTP requests sent so far.
    pub fn requests(&self) -> usize {
        self.transport.requests.get()
    }

    fn detail(&self, text: impl fmt::Display) {
        if let Some(r) = &self.reporter {
            r.detail(text);
        }
    }

    /// Resolves a reference to the descriptor of what it names, without
    /// pulling: one GET of the manifest, whose bytes are hashed and checked
    /// against `Docker-Content-Digest` and the digest asked for, so the
    /// digest returned is always one this client verified. A HEAD costs the
    /// same round trip but only relays the registry's claim: a proxy or a
    /// cache that rewrites the header would go unnoticed. (Docker Hub counts
    /// a manifest GET against its pull rate limit, a HEAD not.)
    pub fn resolve(&self, reference: &Reference) -> Result<Descriptor> {
        Ok(self.fetch_manifest(reference)?.descriptor)
    }

    /// Fetches a manifest by tag or digest and verifies its bytes.
    pub fn fetch_manifest(&self, reference: &Reference) -> Result<Manifest> {
        self.fetch_manifest_until(reference, Instant::now() + self.opts.timeout)
    }

    /// Resolves a reference, then, for an index and a `platform`, the child
    /// manifest of that platform. For a single manifest with a `platform`, its
    /// config is read to check that it is that platform.
    pub fn resolve_platform(
        &self,
        reference: &Reference,
        platform: &Platform,
    ) -> Result<(Descriptor, Descriptor)> {
        let deadline = Instant::now() + self.opts.timeout;
        let top = self.fetch_manifest_until(reference, deadline)?;
        if is_index(&top.descriptor.media_type) {
            let entries = index_entries(&top.body)?;
            let child = select_platform(&entries, platform).ok_or_else(|| {
                let have: Vec<String> = entries
                    .iter()
                    .filter_map(|e| e.platform.as_ref().map(ToString::to_string))
                    .collect();
                Error::no(format!(
                    "{reference} has no manifest for {platform} (it has: {})",
                    if have.is_empty() {
                        "none".into()
                    } else {
                        have.join(", ")
                    }
                ))
            })?;
            return Ok((top.descriptor, child));
        }
        let doc: ManifestDoc = serde_json::from_slice(&top.body).map_err(|e| {
            Error::remote(format!(
                "the registry sent a manifest that is not valid JSON: {e}"
            ))
        })?;
        let config = doc
            .config
            .ok_or_else(|| Error::remote(format!("{reference}: the manifest has no config")))?;
        let config_digest = Digest::parse(&config.digest).map_err(|e| {
            Error::remote(format!(
                "{reference}: config digest {:?}: {e}",
                config.digest
            ))
        })?;
        let bytes = self.fetch_blob_until(reference, &config_digest, deadline)?;
        let cfg: ConfigDoc = serde_json::from_slice(&bytes).map_err(|e| {
            Error::remote(format!(
                "{reference}: the image config is not valid JSON: {e}"
            ))
        })?;
        let actual = Platform {
            os: cfg.os,
            architecture: cfg.architecture,
            variant: cfg.variant,
        };
        if !platform.matches(&actual) {
            return Err(Error::no(format!(
                "{reference} is a single-platform image for {actual}, not {platform}"
            )));
        }
        let _ = doc.media_type;
        Ok((top.descriptor.clone(), top.descriptor))
    }

    /// Reads a (small) blob, such as an image config, and verifies it.
    pub fn fetch_blob(&self, repository: &Reference, digest: &Digest) -> Result<Vec<u8>> {
        self.fetch_blob_until(repository, digest, Instant::now() + self.opts.timeout)
    }

    fn fetch_blob_until(
        &self,
        repository: &Reference,
        digest: &Digest,
        deadline: Instant,
    ) -> Result<Vec<u8>> {
        let path = format!("/v2/{}/blobs/{digest}", repository.path());
        let resp = self.request(Method::Get, repository, &path, &[], deadline)?;
        match resp.status {
            200 => {}
            404 => {
                return Err(Error::no(format!(
                    "blob {digest} not found in {}",
                    repository.name()
                )));
            }
            s => return Err(unexpected(repository, s, &resp)),
        }
        if !digest.verify(&resp.body) {
            return Err(Error::remote(format!(
                "{}: the registry sent blob bytes that do not hash to {digest}",
                repository.name()
            )));
        }
        Ok(resp.body)
    }

    fn fetch_manifest_until(&self, reference: &Reference, deadline: Instant) -> Result<Manifest> {
        let resp = self.manifest_request(Method::Get, reference, deadline)?;
        let actual = Digest::sha256_of(&resp.body);
        if let Some(claimed) = resp.header("docker-content-digest") {
            let claimed = Digest::parse(claimed.trim()).map_err(|e| {
                Error::remote(format!(
                    "{reference}: the registry sent an invalid Docker-Content-Digest: {e}"
                ))
            })?;
            if !claimed.verify(&resp.body) {
                return Err(Error::remote(format!(
                    "{reference}: the manifest the registry sent hashes to {actual}, not to the {claimed} it claimed"
                )));
            }
        }
        if let Some(want) = reference.digest()
            && !want.verify(&resp.body)
        {
            return Err(Error::remote(format!(
                "{reference}: the registry sent a manifest that hashes to {actual}, not the digest asked for"
            )));
        }
        let digest = match reference.digest() {
            Some(want) => want.clone(),
            None => actual,
        };
        let media_type = media_type_of(&resp);
        Ok(Manifest {
            descriptor: Descriptor {
                media_type,
                digest,
                size: resp.body.len() as u64,
            },
            body: resp.body,
        })
    }

    fn manifest_request(
        &self,
        method: Method,
        reference: &Reference,
        deadline: Instant,
    ) -> Result<Response> {
        let target = match (reference.digest(), reference.tag()) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.to_owned(),
            (None, None) => crate::imageref::DEFAULT_TAG.to_owned(),
        };
        let path = format!("/v2/{}/manifests/{target}", reference.path());
        let resp = self.request(
            method,
            reference,
            &path,
            &[("Accept", ACCEPT.to_owned())],
            deadline,
        )?;
        match resp.status {
            200 => Ok(resp),
            404 => {
                if resp.header("docker-distribution-api-version").is_none()
                    && error_code(&resp).is_none()
                {
                    return Err(Error::remote(format!(
                        "{} answered 404 without speaking the registry API (no Docker-Distribution-Api-Version): is it a registry?",
                        reference.domain()
                    )));
                }
                let what = if reference.digest().is_some() {
                    "manifest"
                } else {
                    "tag"
                };
                let code = error_code(&resp)
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default();
                Err(Error::no(format!("{what} not found: {reference}{code}")))
            }
            405 if method == Method::Head => {
                self.manifest_request(Method::Get, reference, deadline)
            }
            s => Err(unexpected(reference, s, &resp)),
        }
    }

    /// One authenticated request to the registry of `reference`.
    fn request(
        &self,
        method: Method,
        reference: &Reference,
        path: &str,
        extra: &[(&str, String)],
        deadline: Instant,
    ) -> Result<Response> {
        let scope = pull_scope(reference.path());
        self.request_scoped(method, reference, path, extra, &scope, deadline)
    }

    /// [`Self::request`] asking the token service for `scope` (e.g. a delete).
    fn request_scoped(
        &self,
        method: Method,
        reference: &Reference,
        path: &str,
        extra: &[(&str, String)],
        scope: &str,
        deadline: Instant,
    ) -> Result<Response> {
        let domain = reference.domain().to_owned();
        let scope = scope.to_owned();
        let mut auth = self.initial_auth(&domain, &scope)?;
        let mut tried = Tried::after(&auth);
        for _round in 0..4 {
            let mut headers: Vec<(&str, String)> = extra.to_vec();
            headers.extend(auth.header().map(|h| ("Authorization", h)));
            let resp = self.send(method, &domain, path, &headers, deadline)?;
            if resp.status == 403 {
                return Err(Error::denied(format!(
                    "{domain} refused access to {} ({} sent; 403{})",
                    reference.path(),
                    describe_auth(&auth),
                    error_code(&resp)
                        .map(|c| format!(", {c}"))
                        .unwrap_or_default()
                )));
            }
            if resp.status != 401 {
                return Ok(resp);
            }
            match self.next_auth(&domain, &scope, &resp, &mut tried, deadline)? {
                Some(next) => auth = next,
                None => {
                    return Err(Error::denied(format!(
                        "{domain} refused the credentials for {} ({} sent; 401{})",
                        reference.path(),
                        describe_auth(&auth),
                        error_code(&resp)
                            .map(|c| format!(", {c}"))
                            .unwrap_or_default()
                    )));
                }
            }
        }
        Err(Error::denied(format!(
            "{domain}: authentication did not settle"
        )))
    }

    /// After a 401 answered with `resp`: the credentials to send next for
    /// `scope`, or `None` once each kind the registry offers was tried. A
    /// Bearer challenge gets a fresh token (a cached one was just refused)
    /// for the scopes the challenge names and `scope`, which a write needs
    /// beyond the `pull` a registry may name; else a Basic challenge gets
    /// the credentials found for the registry.
    fn next_auth(
        &self,
        domain: &str,
        scope: &str,
        resp: &Response,
        tried: &mut Tried,
        deadline: Instant,
    ) -> Result<Option<Auth>> {
        let challenges =
            challenge::parse_headers(resp.headers_named("www-authenticate")).map_err(|e| {
                Error::denied(format!(
                    "{domain} demands authentication with an unparseable challenge: {e}"
                ))
            })?;
        if let Some(ch) = challenges.iter().find(|c| c.scheme == "bearer") {
            if tried.token {
                return Ok(None);
            }
            tried.token = true;
            self.state
                .borrow_mut()
                .tokens
                .remove(&(domain.to_owned(), scope.to_owned()));
            let mut ch = ch.clone();
            let mut scopes: Vec<String> = ch
                .param("scope")
                .unwrap_or("")
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            for s in scope.split(' ') {
                if !scopes.iter().any(|have| have == s) {
                    scopes.push(s.to_owned());
                }
            }
            ch.params.insert("scope".into(), scopes.join(" "));
            let token = self.fetch_token(domain, &ch, scope, deadline)?;
            return Ok(Some(Auth::Bearer(token)));
        }
        if tried.basic || !challenges.iter().any(|c| c.scheme == "basic") {
            return Ok(None);
        }
        tried.basic = true;
        let found = self.credentials(domain, true)?.ok_or_else(|| {
            Error::denied(format!(
                "{domain} requires a login and no credentials were found for it (docker login, --username with --password-stdin, or REGISTRY_TOKEN)"
            ))
        })?;
        self.state
            .borrow_mut()
            .wants_basic
            .insert(domain.to_owned(), true);
        Ok(Some(basic_auth_from(&found)?))
    }

    fn initial_auth(&self, domain: &str, scope: &str) -> Result<Auth> {
        if let Some(tok) = self
            .state
            .borrow()
            .tokens
            .get(&(domain.to_owned(), scope.to_owned()))
        {
            return Ok(Auth::Bearer(tok.clone()));
        }
        // Pre-emptive credentials: only those known without running a helper.
        let known_basic = self
            .state
            .borrow()
            .wants_basic
            .get(domain)
            .copied()
            .unwrap_or(false);
        let found = self.credentials(domain, known_basic)?;
        Ok(match found.map(|f| f.credential) {
            Some(Credential::Basic { username, password }) => Auth::Basic(username, password),
            Some(Credential::Bearer(tok)) => Auth::Bearer(tok),
            Some(Credential::IdentityToken(_)) | None => Auth::None,
        })
    }

    fn credentials(&self, domain: &str, with_helpers: bool) -> Result<Option<Found>> {
        let key = (domain.to_owned(), with_helpers);
        if let Some(found) = self.state.borrow().creds.get(&key) {
            return Ok(found.clone());
        }
        let found = self.opts.credentials.lookup(domain, with_helpers)?;
        if let Some(f) = &found {
            self.detail(format_args!(
                "{domain}: using {} from {}",
                f.credential.describe(),
                f.source
            ));
        }
        self.state.borrow_mut().creds.insert(key, found.clone());
        Ok(found)
    }

    fn fetch_token(
        &self,
        domain: &str,
        ch: &Challenge,
        scope: &str,
        deadline: Instant,
    ) -> Result<Secret> {
        let cache_key = (domain.to_owned(), scope.to_owned());
        if let Some(tok) = self.state.borrow().tokens.get(&cache_key) {
            // Only reached after a refusal removed it; kept for clarity.
            return Ok(tok.clone());
        }
        let realm = ch.param("realm").ok_or_else(|| {
            Error::denied(format!("{domain} sent a Bearer challenge without a realm"))
        })?;
        let realm_is_https = realm.starts_with("https://");
        if !realm_is_https && !realm.starts_with("http://") {
            return Err(Error::denied(format!(
                "{domain} sent a token realm that is not an HTTP URL: {realm:?}"
            )));
        }
        let realm_host = transport::host_of(realm).to_owned();
        let scope = ch
            .param("scope")
            .map_or_else(|| scope.to_owned(), str::to_owned);
        let found = self.credentials(domain, true)?;
        if found.is_some()
            && !realm_is_https
            && !(self.opts.insecure || self.opts.plain_http || is_loopback(&realm_host))
        {
            return Err(Error::usage(format!(
                "{domain} wants credentials sent to a plain-HTTP token service ({realm_host}); refusing without --insecure"
            )));
        }
        let service = ch.param("service").unwrap_or("");
        let mut query = Vec::new();
        if !service.is_empty() {
            query.push(format!("service={}", encode(service)));
        }
        for s in scope.split(' ').filter(|s| !s.is_empty()) {
            query.push(format!("scope={}", encode(s)));
        }
        let resp = match found.as_ref().map(|f| &f.credential) {
            Some(Credential::IdentityToken(refresh)) => {
                let form = format!(
                    "grant_type=refresh_token&client_id=deploykit&service={}&scope={}&refresh_token={}",
                    encode(service),
                    encode(&scope),
                    encode(refresh.expose())
                );
                self.transport
                    .send(Method::PostForm, realm, &[], Some(&form), deadline)
                    .map_err(|f| token_failure(&realm_host, &f))?
            }
            other => {
                let mut headers = Vec::new();
                match other {
                    Some(Credential::Basic { username, password }) => {
                        query.push(format!("account={}", encode(username)));
                        headers.push(("Authorization", basic_header(username, password)));
                    }
                    Some(Credential::Bearer(tok)) => {
                        // A PAT-style token: the token services take it as a password.
                        headers.push(("Authorization", basic_header("token", tok)));
                    }
                    _ => {}
                }
                let sep = if realm.contains('?') { '&' } else { '?' };
                let url = format!("{realm}{sep}{}", query.join("&"));
                self.transport
                    .send(Method::Get, &url, &headers, None, deadline)
                    .map_err(|f| token_failure(&realm_host, &f))?
            }
        };
        match resp.status {
            200 => {}
            401 | 403 => {
                return Err(Error::denied(format!(
                    "the token service {realm_host} refused {} for {scope} ({})",
                    found.as_ref().map_or_else(
                        || "an anonymous request".to_owned(),
                        |f| f.credential.describe()
                    ),
                    resp.status
                )));
            }
            s => {
                return Err(Error::remote(format!(
                    "the token service {realm_host} answered {s}"
                )));
            }
        }
        let answer: TokenAnswer = serde_json::from_slice(&resp.body).map_err(|_| {
            Error::remote(format!(
                "the token service {realm_host} answered something that is not a token"
            ))
        })?;
        let token = answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::remote(format!(
                    "the token service {realm_host} answered without a token"
                ))
            })?;
        let token = Secret::new(token);
        self.state
            .borrow_mut()
            .tokens
            .insert(cache_key, token.clone());
        Ok(token)
    }

    fn scheme(&self, domain: &str) -> Scheme {
        if self.opts.plain_http {
            return Scheme::Http;
        }
        self.state
            .borrow()
            .schemes
            .get(domain)
            .copied()
            .unwrap_or(Scheme::Https)
    }

    fn url(scheme: Scheme, domain: &str, path: &str) -> String {
        let s = match scheme {
            Scheme::Https => "https",
            Scheme::Http => "http",
        };
        format!("{s}://{}{path}", api_host(domain))
    }

    fn send(
        &self,
        method: Method,
        domain: &str,
        path: &str,
        headers: &[(&str, String)],
        deadline: Instant,
    ) -> Result<Response> {
        let scheme = self.scheme(domain);
        match self.transport.send(
            method,
            &Self::url(scheme, domain, path),
            headers,
            None,
            deadline,
        ) {
            Ok(resp) => Ok(resp),
            Err(f)
                if f.not_tls
                    && scheme == Scheme::Https
                    && (is_loopback(domain) || self.opts.insecure) =>
            {
                self.detail(format_args!(
                    "{domain} does not speak TLS; using plain HTTP (loopback or --insecure)"
                ));
                self.state
                    .borrow_mut()
                    .schemes
                    .insert(domain.to_owned(), Scheme::Http);
                self.transport
                    .send(
                        method,
                        &Self::url(Scheme::Http, domain, path),
                        headers,
                        None,
                        deadline,
                    )
                    .map_err(|f| remote_failure(domain, &f))
            }
            Err(f) => Err(remote_failure(domain, &f)),
        }
    }
}

fn remote_failure(domain: &str, f: &Failure) -> Error {
    let hint = if f.not_tls {
        " (use --plain-http for a registry without TLS)"
    } else {
        ""
    };
    Error::remote(format!("registry {domain}: {}{hint}", f.message))
}

fn token_failure(realm_host: &str, f: &Failure) -> Error {
    Error::remote(format!("token service {realm_host}: {}", f.message))
}

fn unexpected(reference: &Reference, status: u16, resp: &Response) -> Error {
    let code = error_code(resp)
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    let status_class = if (400..500).contains(&status) {
        Exit::Usage
    } else {
        Exit::Remote
    };
    Error::new(
        status_class,
        format!("{reference}: the registry answered {status}{code}"),
    )
}

/// The first error code of a distribution error body (`MANIFEST_UNKNOWN`…).
fn error_code(resp: &Response) -> Option<String> {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(Deserialize)]
    struct ErrorEntry {
        code: String,
    }
    serde_json::from_slice::<Errors>(&resp.body)
        .ok()
        .and_then(|e| e.errors.into_iter().next())
        .map(|e| e.code)
}

fn media_type_of(resp: &Response) -> String {
    let from_header = resp
        .header("content-type")
        .map(|c| c.split(';').next().unwrap_or("").trim().to_owned())
        .filter(|c| !c.is_empty() && c != "application/json" && c != "application/octet-stream");
    from_header
        .or_else(|| {
            serde_json::from_slice::<ManifestDoc>(&resp.body)
                .ok()
                .and_then(|d| d.media_type)
        })
        .unwrap_or_default()
}

fn basic_header(user: &str, password: &Secret) -> String {
    let raw = format!("{user}:{}", password.expose());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn basic_auth_from(found: &Found) -> Result<Auth> {
    match &found.credential {
        Credential::Basic { username, password } => {
            Ok(Auth::Basic(username.clone(), password.clone()))
        }
        Credential::Bearer(tok) => Ok(Auth::Basic("token".into(), tok.clone())),
        Credential::IdentityToken(_) => Err(Error::denied(format!(
            "the registry wants Basic authentication but {} holds only an identity token",
            found.source
        ))),
    }
}

fn describe_auth(auth: &Auth) -> &'static str {
    match auth {
        Auth::None => "no credentials",
        Auth::Basic(..) => "Basic credentials",
        Auth::Bearer(_) => "a bearer token",
    }
}

/// Percent-encodes a query component.
fn encode(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
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
    fn docker_hub_mapping_and_loopback() {
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("ghcr.io"), "ghcr.io");
        for l in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
        ] {
            assert!(is_loopback(l), "{l}");
        }
        for n in [
            "ghcr.io",
            "10.0.0.1:5000",
            "[fc00::1]:5000",
            "localhost.example",
        ] {
            assert!(!is_loopback(n), "{n}");
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

    #[test]
    fn query_encoding() {
        assert_eq!(
            encode("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }

    #[test]
    fn basic_header_is_base64_of_user_colon_password() {
        assert_eq!(basic_header("u", &Secret::new("p")), "Basic dTpw");
    }
}
