//! The registry client: resolve tags to digests, fetch manifests and blobs.
//!
//! What every tool that talks to a registry needs, done once and right:
//!
//! - a GET per resolve, costing the round trip a HEAD would: the digest is
//!   the sha256 of the exact body bytes, verified against the digest the
//!   registry claimed (`Docker-Content-Digest`, which some registries omit)
//!   and the digest the caller asked for, so no digest is ever reported
//!   that was not checked;
//! - the answer verified as a manifest before it is hashed
//!   ([`verify_manifest`]): a server that answers anything to any path
//!   would otherwise get the hash of its error page reported as a digest;
//! - every request authenticated the same way ([`auth`](super::auth)), and
//!   sent with deadlines and retries ([`transport`](super::transport));
//! - HTTPS by default; plain HTTP with `plain_http`, or as a fallback for a
//!   loopback registry (or with `insecure`) whose port does not speak TLS;
//! - Docker Hub: `docker.io` is served by `registry-1.docker.io`
//!   ([`endpoint`](super::endpoint)).
//!
//! Writes ([`write`](mod@super::write)) and repository administration
//! ([`admin`](super::admin)) borrow a client, so one run shares its
//! credentials, tokens, scheme choices and request counter.
//!
//! Errors carry the conventions' statuses: a missing tag is [`Exit::No`], a
//! refusal [`Exit::Denied`], an unreachable or misbehaving registry
//! [`Exit::Remote`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::auth::credentials::CredentialStore;
use super::auth::{Authenticator, Tried, pull_scope};
use super::endpoint::{api_host, is_loopback};
use super::model::{
    ACCEPT, ConfigDoc, Descriptor, Manifest, ManifestDoc, Platform, error_code, index_entries,
    is_index, select_platform, verify_manifest,
};
use super::transport::{Failure, Method, Response, Transport};
use crate::exit::{Error, Exit, Result};
use crate::imageref::{Digest, Reference};
use crate::output::Reporter;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Https,
    Http,
}

/// A registry client for one run. Not shared between threads.
pub struct Client {
    timeout: Duration,
    insecure: bool,
    plain_http: bool,
    transport: Transport,
    auth: Authenticator,
    reporter: Option<Reporter>,
    schemes: RefCell<HashMap<String, Scheme>>,
}

impl Client {
    /// A client; `reporter` receives retries (progress) and requests (`-v`).
    pub fn new(opts: ClientOptions, reporter: Option<Reporter>) -> Result<Client> {
        let transport = Transport::new(opts.cacert.as_deref(), opts.insecure, reporter.clone())?;
        let auth = Authenticator::new(
            opts.credentials,
            opts.insecure || opts.plain_http,
            reporter.clone(),
        );
        Ok(Client {
            timeout: opts.timeout,
            insecure: opts.insecure,
            plain_http: opts.plain_http,
            transport,
            auth,
            reporter,
            schemes: RefCell::new(HashMap::new()),
        })
    }

    /// HTTP requests sent so far.
    pub fn requests(&self) -> usize {
        self.transport.requests.get()
    }

    /// Reports `text` as a detail (`-v`), when the client has a reporter.
    pub fn detail(&self, text: impl fmt::Display) {
        if let Some(r) = &self.reporter {
            r.detail(text);
        }
    }

    /// The deadline of an operation starting now: the timeout from now.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    /// The HTTP side: agents, deadlines, retries and the request counter.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The run's credentials and tokens.
    pub fn auth(&self) -> &Authenticator {
        &self.auth
    }

    /// `scheme://host` of `domain`'s API, with the scheme this client uses
    /// for it (plain HTTP once a loopback registry turned out not to speak
    /// TLS).
    pub fn base_url(&self, domain: &str) -> String {
        Self::url(self.scheme(domain), domain, "")
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
        self.fetch_manifest_until(reference, self.deadline())
    }

    /// Resolves a reference, then, for an index and a `platform`, the child
    /// manifest of that platform. For a single manifest with a `platform`, its
    /// config is read to check that it is that platform.
    pub fn resolve_platform(
        &self,
        reference: &Reference,
        platform: &Platform,
    ) -> Result<(Descriptor, Descriptor)> {
        let deadline = self.deadline();
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
        let actual = cfg.platform();
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
        self.fetch_blob_until(repository, digest, self.deadline())
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
        let media_type = match verify_manifest(resp.header("content-type"), &resp.body) {
            Ok(m) => m,
            Err(why) => {
                let domain = reference.domain();
                let registry = match self.speaks_registry_api(domain, deadline) {
                    Some(false) => format!(
                        "; {domain} is not a registry: GET /v2/ does not answer as the distribution API does"
                    ),
                    _ => String::new(),
                };
                return Err(Error::remote(format!(
                    "{reference}: the manifest request got {why}{registry}"
                )));
            }
        };
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
                    && error_code(&resp.body).is_none()
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
                let code = error_code(&resp.body)
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

    /// Whether `domain` answers `GET /v2/` as a registry does: with the
    /// `Docker-Distribution-API-Version` header, a 401 challenge, or a JSON
    /// object. `None` when the probe itself failed (no judgement). Sent
    /// without credentials: it only asks whether the API is there.
    fn speaks_registry_api(&self, domain: &str, deadline: Instant) -> Option<bool> {
        let resp = self.send(Method::Get, domain, "/v2/", &[], deadline).ok()?;
        let api_header = resp
            .header("docker-distribution-api-version")
            .is_some_and(|v| v.trim().starts_with("registry/2"));
        let challenge = resp.status == 401 && resp.header("www-authenticate").is_some();
        let json = resp.status == 200
            && serde_json::from_slice::<serde_json::Value>(&resp.body).is_ok_and(|v| v.is_object());
        Some(api_header || challenge || json)
    }

    /// One authenticated request to the registry of `reference`, for a
    /// pull of its repository; the answer is read whole.
    pub fn request(
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
    pub fn request_scoped(
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
        let mut auth = self.auth.initial(&domain, &scope)?;
        let mut tried = Tried::after(&auth);
        for _round in 0..4 {
            let mut headers: Vec<(&str, String)> = extra.to_vec();
            headers.extend(auth.header().map(|h| ("Authorization", h)));
            let resp = self.send(method, &domain, path, &headers, deadline)?;
            if resp.status == 403 {
                return Err(Error::denied(format!(
                    "{domain} refused access to {} ({} sent; 403{})",
                    reference.path(),
                    auth.describe(),
                    error_code(&resp.body)
                        .map(|c| format!(", {c}"))
                        .unwrap_or_default()
                )));
            }
            if resp.status != 401 {
                return Ok(resp);
            }
            match self.auth.next(
                &self.transport,
                &domain,
                &scope,
                &resp,
                &mut tried,
                deadline,
            )? {
                Some(next) => auth = next,
                None => {
                    return Err(Error::denied(format!(
                        "{domain} refused the credentials for {} ({} sent; 401{})",
                        reference.path(),
                        auth.describe(),
                        error_code(&resp.body)
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

    fn scheme(&self, domain: &str) -> Scheme {
        if self.plain_http {
            return Scheme::Http;
        }
        self.schemes
            .borrow()
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
                    && (is_loopback(domain) || self.insecure) =>
            {
                self.detail(format_args!(
                    "{domain} does not speak TLS; using plain HTTP (loopback or --insecure)"
                ));
                self.schemes
                    .borrow_mut()
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

fn unexpected(reference: &Reference, status: u16, resp: &Response) -> Error {
    let code = error_code(&resp.body)
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
