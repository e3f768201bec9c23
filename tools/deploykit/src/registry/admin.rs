//! Administering a repository: listing its tags and deleting manifests.
//!
//! What a pruner needs beyond reads, on the same [`Client`] (credentials,
//! token cache, scheme choice, deadlines and retries):
//!
//! - [`Client::list_tags`] follows `Link: <…>; rel="next"` pagination
//!   (relative or absolute on the same host) and reads `{"tags":null}`, what
//!   distribution answers once every tag of a repository is deleted, as no
//!   tags;
//! - [`Client::delete_manifest`] deletes a manifest by digest (never by tag:
//!   distribution refuses that, and a delete by digest removes every tag on
//!   it), asking the token service for `repository:NAME:delete`;
//! - [`Client::check_delete_permission`] finds out whether deletes will be
//!   allowed before anything is deleted, by deleting a digest that cannot
//!   exist: a registry checks the token before it looks for the manifest,
//!   so 404 (or 202) means allowed, 401/403 means the credentials lack the
//!   `delete` action, and 405 means the registry does not delete at all
//!   (distribution with `storage.delete.enabled` off).
//!
//! Refusals are [`Exit::Denied`](crate::exit::Exit::Denied); an unreachable
//! or misbehaving registry is [`Exit::Remote`](crate::exit::Exit::Remote).

use serde::Deserialize;

use super::client::Client;
use super::endpoint::{ServerUrl, api_host};
use super::model::error_code;
use super::transport::{Method, Response};
use crate::exit::{Error, Result};
use crate::imageref::{Digest, Reference};

/// The most `tags/list` pages followed (a loop guard: 10 000 pages of the
/// smallest page size any registry uses is far beyond real repositories).
pub const MAX_TAG_PAGES: usize = 10_000;

/// The scope of deleting manifests in `repository`.
pub fn delete_scope(repository: &str) -> String {
    format!("repository:{repository}:delete")
}

/// What a delete found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The registry deleted it (202, or 200).
    Deleted,
    /// There was no such manifest (404): someone else deleted it.
    NotFound,
}

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl Client {
    /// Every tag of the repository `repository` names (its tag or digest,
    /// if any, is ignored), in the registry's order, following `Link`
    /// pagination. A repository the registry does not know is
    /// [`Exit::No`](crate::exit::Exit::No).
    pub fn list_tags(&self, repository: &Reference) -> Result<Vec<String>> {
        let mut path = format!("/v2/{}/tags/list", repository.path());
        let mut tags = Vec::new();
        let mut seen_pages = std::collections::HashSet::new();
        for _page in 0..MAX_TAG_PAGES {
            if !seen_pages.insert(path.clone()) {
                return Err(Error::remote(format!(
                    "{}: the registry's tag pagination loops back to {path}",
                    repository.name()
                )));
            }
            let deadline = self.deadline();
            let resp = self.request(Method::Get, repository, &path, &[], deadline)?;
            match resp.status {
                200 => {}
                404 => {
                    let code = error_code(&resp.body)
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default();
                    return Err(Error::no(format!(
                        "repository not found: {}{code}",
                        repository.name()
                    )));
                }
                s => {
                    return Err(Error::remote(format!(
                        "{}: listing tags: the registry answered {s}{}",
                        repository.name(),
                        error_code(&resp.body)
                            .map(|c| format!(" ({c})"))
                            .unwrap_or_default()
                    )));
                }
            }
            let page: TagList = serde_json::from_slice(&resp.body).map_err(|e| {
                Error::remote(format!(
                    "{}: the tag list is not valid JSON: {e}",
                    repository.name()
                ))
            })?;
            tags.extend(page.tags.unwrap_or_default());
            match next_page(&resp, repository.domain(), repository.path())? {
                Some(next) => {
                    self.detail(format_args!(
                        "tags/list: {} so far; next page {next}",
                        tags.len()
                    ));
                    path = next;
                }
                None => return Ok(tags),
            }
        }
        Err(Error::remote(format!(
            "{}: more than {MAX_TAG_PAGES} pages of tags; giving up",
            repository.name()
        )))
    }

    /// Deletes the manifest `digest` from the repository of `repository`.
    ///
    /// 401/403 are [`Exit::Denied`](crate::exit::Exit::Denied) (the
    /// credentials lack `delete`), and so is 405 (the registry does not
    /// delete).
    pub fn delete_manifest(&self, repository: &Reference, digest: &Digest) -> Result<Deleted> {
        let path = format!("/v2/{}/manifests/{digest}", repository.path());
        let scope = delete_scope(repository.path());
        let deadline = self.deadline();
        let resp = self
            .request_scoped(Method::Delete, repository, &path, &[], &scope, deadline)
            .map_err(|e| match e.status() {
                crate::exit::Exit::Denied => e.context(format!(
                    "deleting manifests needs the delete action ({scope})"
                )),
                _ => e,
            })?;
        classify_delete(repository, digest, &resp)
    }

    /// Fails unless the credentials may delete manifests in `repository`,
    /// without deleting anything: it deletes a digest that does not exist.
    pub fn check_delete_permission(&self, repository: &Reference) -> Result<()> {
        let probe = probe_digest();
        match self.delete_manifest(repository, &probe)? {
            Deleted::NotFound => {
                self.detail(format_args!(
                    "{}: deletes allowed (probe {probe} answered 404)",
                    repository.name()
                ));
            }
            Deleted::Deleted => {
                self.detail(format_args!(
                    "{}: deletes allowed (probe answered 202)",
                    repository.name()
                ));
            }
        }
        Ok(())
    }
}

/// A digest no manifest has: the sha256 of a sentence no registry stores.
pub fn probe_digest() -> Digest {
    Digest::sha256_of(b"deploykit: probing whether deletes are allowed; no such manifest exists\n")
}

fn classify_delete(repository: &Reference, digest: &Digest, resp: &Response) -> Result<Deleted> {
    let code = error_code(&resp.body)
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    match resp.status {
        200 | 202 | 204 => Ok(Deleted::Deleted),
        404 => Ok(Deleted::NotFound),
        405 => Err(Error::denied(format!(
            "{}: the registry does not allow deleting manifests (405{code}): deletes are disabled there (distribution: storage.delete.enabled: true) or it does not offer the DELETE API",
            repository.name()
        ))),
        s => Err(Error::remote(format!(
            "{}: deleting {digest}: the registry answered {s}{code}",
            repository.name()
        ))),
    }
}

/// The path (with query) of the next page a `tags/list` answer links to.
fn next_page(resp: &Response, domain: &str, repository: &str) -> Result<Option<String>> {
    let Some(target) = resp.headers_named("link").find_map(next_link) else {
        return Ok(None);
    };
    link_path(&target, api_host(domain), repository).map(Some)
}

/// The target of the `rel="next"` link of one `Link` header value, if any.
pub fn next_link(value: &str) -> Option<String> {
    let mut rest = value;
    loop {
        let start = rest.find('<')?;
        let end = start + rest[start..].find('>')?;
        let target = &rest[start + 1..end];
        // The parameters run to the next link (a `,` outside quotes).
        let after = &rest[end + 1..];
        let mut in_quotes = false;
        let mut stop = after.len();
        for (i, c) in after.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                ',' if !in_quotes => {
                    stop = i;
                    break;
                }
                _ => {}
            }
        }
        let params = &after[..stop];
        let is_next = params.split(';').any(|p| {
            let Some((k, v)) = p.split_once('=') else {
                return false;
            };
            k.trim().eq_ignore_ascii_case("rel")
                && v.trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.to_owned());
        }
        rest = after.get(stop + 1..)?;
    }
}

/// A link target as a path on the registry: a relative target as it is
/// (`/v2/…`), an absolute one only when it points at the same host
/// (credentials are never sent elsewhere), and either only when it is the
/// same repository's `tags/list`: a next page in another repository would
/// merge its tags into this one's keep window.
pub fn link_path(target: &str, host: &str, repository: &str) -> Result<String> {
    let path = if target.starts_with("http://") || target.starts_with("https://") {
        let link = ServerUrl::parse(target).map_err(|why| {
            Error::remote(format!(
                "the registry sent a tag page link that is refused: {why}"
            ))
        })?;
        if !link.authority.eq_ignore_ascii_case(host) {
            return Err(Error::remote(format!(
                "the registry paginates tags to another host ({}); not following it with the credentials of {host}",
                link.authority
            )));
        }
        match link.url.query() {
            Some(q) => format!("{}?{q}", link.url.path()),
            None => link.url.path().to_owned(),
        }
    } else if target.starts_with('/') {
        target.to_owned()
    } else {
        return Err(Error::remote(format!(
            "the registry sent a tag page link that is not a path: {target:?}"
        )));
    };
    let own = format!("/v2/{repository}/tags/list");
    let page = path.split(['?', '#']).next().unwrap_or_default();
    if page != own {
        return Err(Error::remote(format!(
            "the registry's next tag page is not this repository's ({page}, expected {own}); stopping"
        )));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link(r#"</v2/r/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/r/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link("</v2/r/tags/list?last=b&n=2>; rel=next").as_deref(),
            Some("/v2/r/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link(r#"</first>; rel="prev", <https://h/v2/r/tags/list?last=a,b>; rel="next""#)
                .as_deref(),
            Some("https://h/v2/r/tags/list?last=a,b")
        );
        assert_eq!(next_link(r#"</x>; title="a, rel=next"; rel="prev""#), None);
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
        assert_eq!(next_link(""), None);
    }

    #[test]
    fn link_paths() {
        assert_eq!(
            link_path("/v2/r/tags/list?last=b", "127.0.0.1:5000", "r").unwrap(),
            "/v2/r/tags/list?last=b"
        );
        assert_eq!(
            link_path(
                "http://127.0.0.1:5000/v2/r/tags/list?last=b",
                "127.0.0.1:5000",
                "r"
            )
            .unwrap(),
            "/v2/r/tags/list?last=b"
        );
        let other = link_path("https://evil.example/v2/r/tags/list", "ghcr.io", "r").unwrap_err();
        assert!(other.to_string().contains("another host"), "{other}");
        assert!(link_path("v2/r", "h", "r").is_err());
        // Another repository on the same registry: stop, exit 3.
        for foreign in [
            "/v2/other/tags/list?last=b",
            "/v2/r/other/tags/list",
            "/v2/r/tags/list/../../other/tags/list",
            "http://127.0.0.1:5000/v2/shop/admin/tags/list?n=1",
            "http://user@127.0.0.1:5000/v2/r/tags/list",
        ] {
            let e = link_path(foreign, "127.0.0.1:5000", "r").unwrap_err();
            assert_eq!(e.status(), crate::exit::Exit::Remote, "{foreign}");
        }
    }

    #[test]
    fn tags_null_is_empty() {
        let t: TagList = serde_json::from_str(r#"{"name":"r","tags":null}"#).unwrap();
        assert_eq!(t.tags.unwrap_or_default(), Vec::<String>::new());
        let t: TagList = serde_json::from_str(r#"{"name":"r"}"#).unwrap();
        assert!(t.tags.is_none());
    }

    #[test]
    fn delete_answers() {
        let r = crate::imageref::parse("127.0.0.1:5000/r").unwrap();
        let d = probe_digest();
        let resp = |status| Response {
            status,
            headers: Vec::new(),
            body: br#"{"errors":[{"code":"UNSUPPORTED"}]}"#.to_vec(),
        };
        assert_eq!(
            classify_delete(&r, &d, &resp(202)).unwrap(),
            Deleted::Deleted
        );
        assert_eq!(
            classify_delete(&r, &d, &resp(404)).unwrap(),
            Deleted::NotFound
        );
        let e = classify_delete(&r, &d, &resp(405)).unwrap_err();
        assert_eq!(e.status(), crate::exit::Exit::Denied);
        assert!(e.to_string().contains("storage.delete.enabled"), "{e}");
        assert_eq!(
            classify_delete(&r, &d, &resp(500)).unwrap_err().status(),
            crate::exit::Exit::Remote
        );
        assert_eq!(delete_scope("a/b"), "repository:a/b:delete");
    }
}
