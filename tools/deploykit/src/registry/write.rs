//! Writing to a registry: manifests put under a tag or digest, blobs mounted
//! across repositories or streamed between registries.
//!
//! Reads go through [`Client`]; this module adds the writes a promotion
//! needs, with the same credentials, token cache, scheme choice and request
//! counter as the client it borrows:
//!
//! - [`Pusher::put_manifest`] sends the exact bytes with their media type, so
//!   the digest cannot change, and checks the digest the registry reports;
//! - [`Pusher::copy_blob`] does nothing when the target already has the
//!   blob, cross-mounts it within one registry (`POST …/blobs/uploads/?mount=
//!   D&from=REPO`), and only when the registry refuses the mount (or the
//!   target is another registry) streams it: a GET from the source piped
//!   into a monolithic PUT, hashed on the way, never buffered or written to
//!   disk.
//!
//! Writes ask for `repository:NAME:pull,push` (and `pull` on the mount
//! source); a token without `push` ends in a refusal ([`Exit::Denied`]).
//! Requests with a replayable body are retried like the client's reads
//! (transient failures, 429/502/503/504, with backoff, within the deadline);
//! a streamed body cannot be replayed, so a failed blob stream fails the
//! operation (it is idempotent: run it again).
//!
//! The HTTP agents are this module's own, built with the client's trust
//! settings, because the shared transport only speaks HEAD, GET and form
//! POSTs.

use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{BlockingRetryable, ExponentialBuilder};
use sha2::Digest as _;
use ureq::Agent;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use super::challenge;
use super::transport::{Response, host_of};
use super::{
    Auth, Client, Descriptor, basic_auth_from, basic_header, describe_auth, error_code, pull_scope,
};
use crate::exit::{Error, Exit, Result};
use crate::imageref::{Digest, Reference};

/// The largest response body this module reads into memory.
const MAX_BODY: u64 = 8 << 20;

/// The scope of a push to `repository`.
pub fn push_scope(repository: &str) -> String {
    format!("repository:{repository}:pull,push")
}

/// What [`Pusher::copy_blob`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOutcome {
    /// The target already had it.
    Present,
    /// The registry mounted it from the source repository.
    Mounted,
    /// It was streamed from the source; this many bytes.
    Copied(u64),
}

/// An HTTP method this module sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Head,
    Get,
    Put,
    Post,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Head => "HEAD",
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
        }
    }
}

/// A request body.
enum Body<'b> {
    Empty,
    Bytes(&'b [u8]),
    /// A reader (its length goes in `Content-Length`); can be sent once.
    Stream(&'b mut dyn Read),
}

impl Body<'_> {
    fn replayable(&self) -> bool {
        !matches!(self, Body::Stream(..))
    }

    /// A copy for another attempt (`None` for a stream).
    fn replay(&self) -> Option<Body<'_>> {
        match self {
            Body::Empty => Some(Body::Empty),
            Body::Bytes(b) => Some(Body::Bytes(b)),
            Body::Stream(..) => None,
        }
    }
}

/// A failed attempt, classified for the retry policy.
#[derive(Debug)]
struct Failure {
    message: String,
    transient: bool,
    retry_after: Option<Duration>,
}

/// Where a request goes.
enum Target<'a> {
    /// A path on the registry (`/v2/…`).
    Path(&'a str),
    /// A URL the registry handed out (an upload `Location`), absolute or not.
    Location(&'a str),
}

/// The write side of a [`Client`].
pub struct Pusher<'c> {
    client: &'c Client,
    plain: Agent,
    tls: std::cell::OnceCell<Agent>,
}

impl<'c> Pusher<'c> {
    /// A pusher using `client`'s options, credentials and token cache.
    pub fn new(client: &'c Client) -> Result<Pusher<'c>> {
        if let Some(path) = &client.opts.cacert {
            load_pem(path)?; // a bad --cacert is an input error up front
        }
        Ok(Pusher {
            client,
            plain: agent(TlsConfig::default(), &user_agent()),
            tls: std::cell::OnceCell::new(),
        })
    }

    /// The HTTPS agent, built on first use: reading the system roots costs
    /// more than a whole retag on a loopback registry.
    fn tls_agent(&self) -> std::result::Result<&Agent, Failure> {
        if let Some(a) = self.tls.get() {
            return Ok(a);
        }
        let mut certs: Vec<Certificate<'static>> = Vec::new();
        if let Some(path) = &self.client.opts.cacert {
            certs.extend(load_pem(path).map_err(|e| Failure {
                message: e.to_string(),
                transient: false,
                retry_after: None,
            })?);
        }
        let native = rustls_native_certs::load_native_certs();
        certs.extend(
            native
                .certs
                .into_iter()
                .map(|c| Certificate::from_der(c.as_ref()).to_owned()),
        );
        let roots = if certs.is_empty() {
            RootCerts::WebPki
        } else {
            RootCerts::Specific(Arc::new(certs))
        };
        let tls = TlsConfig::builder()
            .root_certs(roots)
            .disable_verification(self.client.opts.insecure)
            .build();
        Ok(self.tls.get_or_init(|| agent(tls, &user_agent())))
    }

    fn detail(&self, text: impl std::fmt::Display) {
        self.client.detail(text);
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.client.opts.timeout
    }

    /// Puts `body` as a manifest of `media_type` under `reference`'s tag (or
    /// digest, when it has no tag) and returns the digest of the bytes,
    /// checked against the one the registry reports.
    pub fn put_manifest(
        &self,
        reference: &Reference,
        media_type: &str,
        body: &[u8],
    ) -> Result<Digest> {
        let digest = Digest::sha256_of(body);
        let target = match (reference.tag(), reference.digest()) {
            (Some(tag), _) => tag.to_owned(),
            (None, Some(d)) => d.to_string(),
            (None, None) => {
                return Err(Error::usage(format!(
                    "{reference}: a manifest needs a tag or digest to go under"
                )));
            }
        };
        if media_type.is_empty() {
            return Err(Error::usage(format!(
                "{reference}: the manifest has no media type"
            )));
        }
        let path = format!("/v2/{}/manifests/{target}", reference.path());
        let (mut resp, status) = self.request(
            Method::Put,
            reference,
            &Target::Path(&path),
            &[("Content-Type", media_type.to_owned())],
            &mut Body::Bytes(body),
            &push_scope(reference.path()),
            self.deadline(),
        )?;
        let resp = read_response(&mut resp, status)?;
        if !(200..=202).contains(&status) {
            return Err(write_refused(reference, "putting the manifest", &resp));
        }
        if let Some(claimed) = resp.header("docker-content-digest") {
            if claimed.trim() != digest.to_string() {
                return Err(Error::remote(format!(
                    "{reference}: the registry stored the manifest as {}, not as {digest} (the bytes sent)",
                    claimed.trim()
                )));
            }
        }
        Ok(digest)
    }

    /// Whether the repository of `repo` holds the blob `digest`.
    pub fn blob_exists(&self, repo: &Reference, digest: &Digest) -> Result<bool> {
        let path = format!("/v2/{}/blobs/{digest}", repo.path());
        let (mut resp, status) = self.request(
            Method::Head,
            repo,
            &Target::Path(&path),
            &[],
            &mut Body::Empty,
            &pull_scope(repo.path()),
            self.deadline(),
        )?;
        let resp = read_response(&mut resp, status)?;
        match status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(write_refused(
                repo,
                &format!("checking blob {digest}"),
                &resp,
            )),
        }
    }

    /// Makes the blob `blob` of `from` exist in `to`: nothing if it is there,
    /// a cross-repository mount within one registry, else a streamed copy.
    pub fn copy_blob(
        &self,
        from: &Reference,
        to: &Reference,
        blob: &Descriptor,
    ) -> Result<BlobOutcome> {
        let digest = &blob.digest;
        if self.blob_exists(to, digest)? {
            return Ok(BlobOutcome::Present);
        }
        let deadline = self.deadline();
        let same_registry = from.domain() == to.domain();
        let (path, scope) = if same_registry {
            (
                format!(
                    "/v2/{}/blobs/uploads/?mount={digest}&from={}",
                    to.path(),
                    from.path()
                ),
                format!("{} {}", push_scope(to.path()), pull_scope(from.path())),
            )
        } else {
            (
                format!("/v2/{}/blobs/uploads/", to.path()),
                push_scope(to.path()),
            )
        };
        let (mut resp, status) = self.request(
            Method::Post,
            to,
            &Target::Path(&path),
            &[("Content-Length", "0".to_owned())],
            &mut Body::Empty,
            &scope,
            deadline,
        )?;
        let resp = read_response(&mut resp, status)?;
        match status {
            201 if same_registry => {
                self.detail(format_args!(
                    "mounted {digest} from {} into {}",
                    from.path(),
                    to.path()
                ));
                return Ok(BlobOutcome::Mounted);
            }
            201 => return Ok(BlobOutcome::Present),
            202 => {
                if same_registry {
                    self.detail(format_args!(
                        "{} refused to mount {digest}; copying it",
                        to.domain()
                    ));
                }
            }
            _ => {
                return Err(write_refused(
                    to,
                    &format!("starting the upload of {digest}"),
                    &resp,
                ));
            }
        }
        let location = resp
            .header("location")
            .ok_or_else(|| {
                Error::remote(format!(
                    "{}: the registry started an upload without a Location",
                    to.name()
                ))
            })?
            .to_owned();
        let copied = self.stream_blob(from, to, blob, &location, deadline)?;
        Ok(BlobOutcome::Copied(copied))
    }

    /// GET from the source, piped into the PUT that completes the upload.
    fn stream_blob(
        &self,
        from: &Reference,
        to: &Reference,
        blob: &Descriptor,
        location: &str,
        deadline: Instant,
    ) -> Result<u64> {
        let digest = &blob.digest;
        let path = format!("/v2/{}/blobs/{digest}", from.path());
        let (mut source, status) = self.request(
            Method::Get,
            from,
            &Target::Path(&path),
            &[],
            &mut Body::Empty,
            &pull_scope(from.path()),
            deadline,
        )?;
        if status != 200 {
            let resp = read_response(&mut source, status)?;
            if status == 404 {
                return Err(Error::remote(format!(
                    "blob {digest} is missing from {}",
                    from.name()
                )));
            }
            return Err(write_refused(
                from,
                &format!("reading blob {digest}"),
                &resp,
            ));
        }
        let length = source
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(blob.size);
        if blob.size != 0 && length != blob.size {
            return Err(Error::remote(format!(
                "{}: blob {digest} is {length} bytes, the manifest says {}",
                from.name(),
                blob.size
            )));
        }
        let mut reader = Hashing {
            inner: source.body_mut().with_config().limit(u64::MAX).reader(),
            hasher: sha2::Sha256::new(),
            count: 0,
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!(
            "{location}{sep}digest={}",
            super::encode(&digest.to_string())
        );
        let (mut resp, status) = self.request(
            Method::Put,
            to,
            &Target::Location(&url),
            &[
                ("Content-Type", "application/octet-stream".to_owned()),
                ("Content-Length", length.to_string()),
            ],
            &mut Body::Stream(&mut reader),
            &push_scope(to.path()),
            deadline,
        )?;
        let resp = read_response(&mut resp, status)?;
        let actual = format!(
            "sha256:{}",
            crate::imageref::hex(&reader.hasher.finalize_reset())
        );
        if digest.algorithm() == crate::imageref::Algorithm::Sha256 && actual != digest.to_string()
        {
            return Err(Error::remote(format!(
                "{}: blob {digest} read from the source hashes to {actual}",
                from.name()
            )));
        }
        if status != 201 {
            return Err(write_refused(
                to,
                &format!("uploading blob {digest}"),
                &resp,
            ));
        }
        self.detail(format_args!(
            "copied {digest} ({} bytes) to {}",
            reader.count,
            to.name()
        ));
        Ok(reader.count)
    }

    /// One authenticated request, with the auth dance and retries; the
    /// response body is left unread.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        method: Method,
        reference: &Reference,
        target: &Target<'_>,
        extra: &[(&str, String)],
        body: &mut Body<'_>,
        scope: &str,
        deadline: Instant,
    ) -> Result<(ureq::http::Response<ureq::Body>, u16)> {
        let client = self.client;
        let domain = reference.domain().to_owned();
        let base = format!(
            "{}://{}",
            match client.scheme(&domain) {
                super::Scheme::Http => "http",
                super::Scheme::Https => "https",
            },
            super::api_host(&domain)
        );
        let (url, same_host) = match *target {
            Target::Path(p) => (format!("{base}{p}"), true),
            Target::Location(loc) if loc.starts_with("http://") || loc.starts_with("https://") => {
                (loc.to_owned(), host_of(loc) == host_of(&base))
            }
            Target::Location(loc) => (format!("{base}{loc}"), true),
        };
        let mut auth = if same_host {
            client.initial_auth(&domain, scope)?
        } else {
            Auth::None
        };
        let mut tried_token = false;
        let mut tried_basic = matches!(auth, Auth::Basic(..));
        for _round in 0..4 {
            let mut headers: Vec<(&str, String)> = extra.to_vec();
            match &auth {
                Auth::None => {}
                Auth::Basic(user, pw) => headers.push(("Authorization", basic_header(user, pw))),
                Auth::Bearer(tok) => {
                    headers.push(("Authorization", format!("Bearer {}", tok.expose())));
                }
            }
            let mut resp = self
                .send(method, &url, &headers, body, deadline)
                .map_err(|f| Error::remote(format!("registry {domain}: {}", f.message)))?;
            let status = resp.status().as_u16();
            if status == 403 {
                let r = read_response(&mut resp, status)?;
                return Err(Error::denied(format!(
                    "{domain} refused {} on {} ({} sent; 403{})",
                    method.as_str(),
                    reference.path(),
                    describe_auth(&auth),
                    error_code(&r).map(|c| format!(", {c}")).unwrap_or_default()
                )));
            }
            if status != 401 {
                return Ok((resp, status));
            }
            let r = read_response(&mut resp, status)?;
            let refused = || {
                Error::denied(format!(
                    "{domain} refused {} on {} ({} sent; 401{}): the credentials lack {scope}",
                    method.as_str(),
                    reference.path(),
                    describe_auth(&auth),
                    error_code(&r).map(|c| format!(", {c}")).unwrap_or_default()
                ))
            };
            if !body.replayable() || !same_host {
                return Err(refused());
            }
            let challenges = challenge::parse_headers(r.headers_named("www-authenticate"))
                .map_err(|e| {
                    Error::denied(format!(
                        "{domain} demands authentication with an unparseable challenge: {e}"
                    ))
                })?;
            let bearer = challenges.iter().find(|c| c.scheme == "bearer");
            let basic = challenges.iter().any(|c| c.scheme == "basic");
            match bearer {
                Some(ch) if !tried_token => {
                    tried_token = true;
                    client
                        .state
                        .borrow_mut()
                        .tokens
                        .remove(&(domain.clone(), scope.to_owned()));
                    // Ask for what the registry names and what this write needs.
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
                    let token = client.fetch_token(&domain, &ch, scope, deadline)?;
                    auth = Auth::Bearer(token);
                }
                None if basic && !tried_basic => {
                    tried_basic = true;
                    let found = client.credentials(&domain, true)?.ok_or_else(|| {
                        Error::denied(format!(
                            "{domain} requires a login to write and no credentials were found for it (docker login, --username with --password-stdin, or REGISTRY_TOKEN)"
                        ))
                    })?;
                    client
                        .state
                        .borrow_mut()
                        .wants_basic
                        .insert(domain.clone(), true);
                    auth = basic_auth_from(&found)?;
                }
                _ => return Err(refused()),
            }
        }
        Err(Error::denied(format!(
            "{domain}: authentication did not settle"
        )))
    }

    /// Sends one request, retrying transient failures while the body can be
    /// sent again and the deadline allows.
    fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, String)],
        body: &mut Body<'_>,
        deadline: Instant,
    ) -> std::result::Result<ureq::http::Response<ureq::Body>, Failure> {
        if !body.replayable() {
            return self.send_once(method, url, headers, body, deadline);
        }
        let body: &Body<'_> = body;
        let retry_after: Rc<Cell<Option<Duration>>> = Rc::new(Cell::new(None));
        let asked = Rc::clone(&retry_after);
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(5))
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(8);
        (|| {
            let mut again = body.replay().unwrap_or(Body::Empty);
            self.send_once(method, url, headers, &mut again, deadline)
        })
        .retry(backoff)
        .sleep(move |d: Duration| {
            let wait = d.max(asked.take().unwrap_or_default());
            std::thread::sleep(wait.min(deadline.saturating_duration_since(Instant::now())));
        })
        .when(|f: &Failure| {
            let left = deadline.saturating_duration_since(Instant::now());
            f.transient && left > f.retry_after.unwrap_or_default() + Duration::from_millis(20)
        })
        .notify(|f: &Failure, d: Duration| {
            retry_after.set(f.retry_after);
            if let Some(r) = &self.client.reporter {
                r.progress(format_args!(
                    "{}; retrying in {}",
                    f.message,
                    crate::duration::format(d.max(f.retry_after.unwrap_or_default()))
                ));
            }
        })
        .call()
    }

    fn send_once(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, String)],
        body: &mut Body<'_>,
        deadline: Instant,
    ) -> std::result::Result<ureq::http::Response<ureq::Body>, Failure> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure {
                message: "deadline exceeded".into(),
                transient: false,
                retry_after: None,
            });
        }
        let agent = if url.starts_with("https://") {
            self.tls_agent()?
        } else {
            &self.plain
        };
        let counter = &self.client.transport.requests;
        counter.set(counter.get() + 1);
        let started = Instant::now();
        let result = match method {
            Method::Head | Method::Get => {
                let mut req = if method == Method::Head {
                    agent.head(url)
                } else {
                    agent.get(url)
                };
                for (k, v) in headers {
                    req = req.header(*k, v.as_str());
                }
                req.config().timeout_global(Some(left)).build().call()
            }
            Method::Put | Method::Post => {
                let mut req = if method == Method::Put {
                    agent.put(url)
                } else {
                    agent.post(url)
                };
                for (k, v) in headers {
                    req = req.header(*k, v.as_str());
                }
                let req = req.config().timeout_global(Some(left)).build();
                match body {
                    Body::Empty => req.send_empty(),
                    Body::Bytes(b) => req.send(*b),
                    Body::Stream(r) => req.send(ureq::SendBody::from_reader(&mut **r)),
                }
            }
        };
        let shown = url.split('?').next().unwrap_or(url);
        match result {
            Ok(resp) => {
                let status = resp.status().as_u16();
                self.detail(format_args!(
                    "{} {shown} → {status} ({})",
                    method.as_str(),
                    crate::duration::format(started.elapsed())
                ));
                if matches!(status, 429 | 502 | 503 | 504) {
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    return Err(Failure {
                        message: format!("{} answered {status}", host_of(url)),
                        transient: true,
                        retry_after,
                    });
                }
                Ok(resp)
            }
            Err(e) => {
                let f = classify(&e);
                self.detail(format_args!("{} {shown} → {}", method.as_str(), f.message));
                Err(f)
            }
        }
    }
}

/// A reader that hashes and counts what passes through.
struct Hashing<R> {
    inner: R,
    hasher: sha2::Sha256,
    count: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

fn read_response(resp: &mut ureq::http::Response<ureq::Body>, status: u16) -> Result<Response> {
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| Error::remote(format!("reading the registry's answer: {e}")))?;
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn write_refused(reference: &Reference, what: &str, resp: &Response) -> Error {
    let code = error_code(resp)
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    let status = if resp.status == 401 || resp.status == 403 {
        Exit::Denied
    } else {
        Exit::Remote
    };
    Error::new(
        status,
        format!(
            "{}: {what}: the registry answered {}{code}",
            reference.name(),
            resp.status
        ),
    )
}

fn user_agent() -> String {
    format!("deploykit/{}", env!("CARGO_PKG_VERSION"))
}

fn agent(tls: TlsConfig, user_agent: &str) -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(tls)
        .user_agent(user_agent)
        .max_redirects(5)
        .build()
        .new_agent()
}

fn classify(e: &ureq::Error) -> Failure {
    use std::io::ErrorKind as K;
    let (message, transient) = match e {
        ureq::Error::Timeout(t) => (format!("timed out ({t})"), true),
        ureq::Error::Io(io) => (
            io.to_string(),
            matches!(
                io.kind(),
                K::ConnectionRefused
                    | K::ConnectionReset
                    | K::ConnectionAborted
                    | K::UnexpectedEof
                    | K::BrokenPipe
            ),
        ),
        ureq::Error::ConnectionFailed => ("connection failed".into(), true),
        ureq::Error::Protocol(p) => (format!("HTTP protocol error: {p}"), true),
        other => (other.to_string(), false),
    };
    Failure {
        message,
        transient,
        retry_after: None,
    }
}

fn load_pem(path: &std::path::Path) -> Result<Vec<Certificate<'static>>> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::usage(format!("reading --cacert {}: {e}", path.display())))?;
    let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&bytes)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(Error::usage(format!(
            "--cacert {}: no PEM certificate in the file",
            path.display()
        )));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_scope_asks_for_pull_and_push() {
        assert_eq!(push_scope("team/app"), "repository:team/app:pull,push");
    }

    #[test]
    fn hashing_reader_hashes_and_counts() {
        let data = b"hello";
        let mut r = Hashing {
            inner: &data[..],
            hasher: sha2::Sha256::new(),
            count: 0,
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(r.count, 5);
        assert_eq!(
            crate::imageref::hex(&r.hasher.finalize()),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }
}
