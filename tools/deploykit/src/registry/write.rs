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
//! (transient failures, 429/500/502/503/504, with backoff, within the deadline);
//! a streamed body cannot be replayed, so a failed blob stream fails the
//! operation (it is idempotent: run it again).
//!
//! Every request goes through the client's [`Transport`](super::transport):
//! its agents, deadlines, retry policy and request counter.

use std::io::Read;
use std::time::Instant;

use sha2::Digest as _;

use super::auth::{Auth, Tried, pull_scope};
use super::client::Client;
use super::endpoint::{ServerUrl, encode};
use super::model::{Descriptor, error_code};
use super::transport::{Body, Method, Response, host_of, read_answer};
use crate::exit::{Error, Exit, Result};
use crate::imageref::{Digest, Reference};

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
}

impl<'c> Pusher<'c> {
    /// A pusher using `client`'s options, credentials, token cache and
    /// transport.
    pub fn new(client: &'c Client) -> Result<Pusher<'c>> {
        Ok(Pusher { client })
    }

    fn detail(&self, text: impl std::fmt::Display) {
        self.client.detail(text);
    }

    fn deadline(&self) -> Instant {
        self.client.deadline()
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
        let resp = read_response(&mut resp)?;
        if !(200..=202).contains(&status) {
            return Err(write_refused(reference, "putting the manifest", &resp));
        }
        if let Some(claimed) = resp.header("docker-content-digest")
            && claimed.trim() != digest.to_string()
        {
            return Err(Error::remote(format!(
                "{reference}: the registry stored the manifest as {}, not as {digest} (the bytes sent)",
                claimed.trim()
            )));
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
        let resp = read_response(&mut resp)?;
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
        let resp = read_response(&mut resp)?;
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
            let resp = read_response(&mut source)?;
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
        let url = format!("{location}{sep}digest={}", encode(&digest.to_string()));
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
        let resp = read_response(&mut resp)?;
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
        let base = client.base_url(&domain);
        let (url, same_host) = match *target {
            Target::Path(p) => (format!("{base}{p}"), true),
            // A server-given URL, judged as a URL like every other one
            // (a realm, a next-page link): credentials follow it only to
            // the registry's own host, never through userinfo.
            Target::Location(loc) if loc.starts_with("http://") || loc.starts_with("https://") => {
                let same = ServerUrl::parse(loc)
                    .is_ok_and(|u| u.authority.eq_ignore_ascii_case(host_of(&base)));
                (loc.to_owned(), same)
            }
            Target::Location(loc) => (format!("{base}{loc}"), true),
        };
        let mut auth = if same_host {
            client.auth().initial(&domain, scope)?
        } else {
            Auth::None
        };
        let mut tried = Tried::after(&auth);
        for _round in 0..4 {
            let mut headers: Vec<(&str, String)> = extra.to_vec();
            headers.extend(auth.header().map(|h| ("Authorization", h)));
            let mut resp = client
                .transport()
                .open(method, &url, &headers, body, deadline)
                .map_err(|f| Error::remote(format!("registry {domain}: {}", f.message)))?;
            let status = resp.status().as_u16();
            if status == 403 {
                let r = read_response(&mut resp)?;
                return Err(Error::denied(format!(
                    "{domain} refused {} on {} ({} sent; 403{})",
                    method.as_str(),
                    reference.path(),
                    auth.describe(),
                    error_code(&r.body)
                        .map(|c| format!(", {c}"))
                        .unwrap_or_default()
                )));
            }
            if status != 401 {
                return Ok((resp, status));
            }
            let r = read_response(&mut resp)?;
            let refused = || {
                Error::denied(format!(
                    "{domain} refused {} on {} ({} sent; 401{}): the credentials lack {scope}",
                    method.as_str(),
                    reference.path(),
                    auth.describe(),
                    error_code(&r.body)
                        .map(|c| format!(", {c}"))
                        .unwrap_or_default()
                ))
            };
            if !body.replayable() || !same_host {
                return Err(refused());
            }
            match client.auth().next(
                client.transport(),
                &domain,
                scope,
                &r,
                &mut tried,
                deadline,
            )? {
                Some(next) => auth = next,
                None => return Err(refused()),
            }
        }
        Err(Error::denied(format!(
            "{domain}: authentication did not settle"
        )))
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

/// Reads an answer whole (a HEAD's body is empty).
fn read_response(resp: &mut ureq::http::Response<ureq::Body>) -> Result<Response> {
    read_answer(resp, Method::Get, "the registry")
        .map_err(|f| Error::remote(format!("reading the registry's answer: {}", f.message)))
}

fn write_refused(reference: &Reference, what: &str, resp: &Response) -> Error {
    let code = error_code(&resp.body)
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
