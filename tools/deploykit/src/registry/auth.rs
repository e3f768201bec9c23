//! Authentication with a registry, the same for reads, writes and deletes.
//!
//! A registry says how it wants to be authenticated only when it refuses a
//! request: a 401 with `WWW-Authenticate` challenges ([`challenge`]). So
//! authentication is a dance around each request, which an
//! [`Authenticator`] leads and each request loop follows:
//!
//! - [`Authenticator::initial`]: what to send first: a token cached for the
//!   scope, else the credentials known without running a helper
//!   ([`credentials`]), sent pre-emptively as Basic when the Docker
//!   configuration has them inline, which spares a Basic registry the
//!   refusal (a decision kept on purpose, recorded in CONVENTIONS.md);
//! - [`Authenticator::next`]: what to send after a 401: a Bearer challenge
//!   gets a token from the token service (anonymous, with a user and
//!   password, or with an identity token), cached per scope for the run; a
//!   Basic challenge gets the credentials found for the registry, helpers
//!   included;
//! - [`Tried`]: the kinds of credentials a request has tried, so each is
//!   tried once and the dance ends when none is left.
//!
//! Credentials are sent to a plain-HTTP token service only on loopback or
//! when the run allows plain HTTP (`--insecure`, `--plain-http`).

pub mod challenge;
pub mod credentials;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::time::Instant;

use base64::Engine as _;
use serde::Deserialize;

use super::endpoint::{ServerUrl, encode};
use super::transport::{Failure, Method, Response, Transport};
use crate::exit::{Error, Result};
use crate::output::Reporter;
use crate::secret::Secret;
use challenge::Challenge;
use credentials::{Credential, CredentialStore, Found};

/// The scope a pull of `repository` needs.
pub fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

/// What to send in `Authorization`.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Nothing.
    None,
    /// A user name and password, as Basic.
    Basic(String, Secret),
    /// A token, as Bearer.
    Bearer(Secret),
}

impl Auth {
    /// The `Authorization` value to send, if any.
    pub fn header(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Basic(user, pw) => Some(basic_header(user, pw)),
            Auth::Bearer(tok) => Some(format!("Bearer {}", tok.expose())),
        }
    }

    /// What was sent, for a refusal's message (never the secret).
    pub fn describe(&self) -> &'static str {
        match self {
            Auth::None => "no credentials",
            Auth::Basic(..) => "Basic credentials",
            Auth::Bearer(_) => "a bearer token",
        }
    }
}

/// The kinds of credentials a request has tried in its authentication
/// dance, so each is tried once.
#[derive(Debug, Clone, Copy)]
pub struct Tried {
    token: bool,
    basic: bool,
}

impl Tried {
    /// Starting with `auth`: Basic sent up front counts as tried.
    pub fn after(auth: &Auth) -> Tried {
        Tried {
            token: false,
            basic: matches!(auth, Auth::Basic(..)),
        }
    }
}

/// A token service's answer.
#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

#[derive(Default)]
struct State {
    tokens: HashMap<(String, String), Secret>,
    creds: HashMap<(String, bool), Option<Found>>,
    wants_basic: HashMap<String, bool>,
}

/// The credentials and tokens of one run: the credential sources, the
/// credentials found per registry, the tokens per registry and scope.
/// Not shared between threads.
pub struct Authenticator {
    store: CredentialStore,
    plain_http_realms: bool,
    reporter: Option<Reporter>,
    state: RefCell<State>,
}

impl Authenticator {
    /// An authenticator drawing on `store`. With `plain_http_realms`,
    /// credentials may go to a plain-HTTP token service on any host (on
    /// loopback they always may); `reporter` receives which credentials are
    /// used (`-v`).
    pub fn new(
        store: CredentialStore,
        plain_http_realms: bool,
        reporter: Option<Reporter>,
    ) -> Authenticator {
        Authenticator {
            store,
            plain_http_realms,
            reporter,
            state: RefCell::new(State::default()),
        }
    }

    fn detail(&self, text: impl fmt::Display) {
        if let Some(r) = &self.reporter {
            r.detail(text);
        }
    }

    /// What to send first to `domain` for `scope`: the token cached for
    /// them, else the credentials found for the registry, without running a
    /// credential helper unless the registry already asked for Basic.
    pub fn initial(&self, domain: &str, scope: &str) -> Result<Auth> {
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

    /// After a 401 answered with `resp`: the credentials to send next for
    /// `scope`, or `None` once each kind the registry offers was tried. A
    /// Bearer challenge gets a fresh token (a cached one was just refused)
    /// for the scopes the challenge names and `scope`, which a write needs
    /// beyond the `pull` a registry may name; else a Basic challenge gets
    /// the credentials found for the registry. Token requests go through
    /// `transport`.
    pub fn next(
        &self,
        transport: &Transport,
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
            let token = self.fetch_token(transport, domain, &ch, scope, deadline)?;
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

    fn credentials(&self, domain: &str, with_helpers: bool) -> Result<Option<Found>> {
        let key = (domain.to_owned(), with_helpers);
        if let Some(found) = self.state.borrow().creds.get(&key) {
            return Ok(found.clone());
        }
        let found = self.store.lookup(domain, with_helpers)?;
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
        transport: &Transport,
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
        let parsed = ServerUrl::parse(realm).map_err(|why| {
            Error::denied(format!(
                "{domain} sent a token realm that is refused: {why}"
            ))
        })?;
        let realm_is_https = parsed.is_https();
        let realm_host = parsed.authority.clone();
        let scope = ch
            .param("scope")
            .map_or_else(|| scope.to_owned(), str::to_owned);
        let found = self.credentials(domain, true)?;
        if found.is_some() && !realm_is_https && !(self.plain_http_realms || parsed.loopback) {
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
                transport
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
                transport
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
}

fn token_failure(realm_host: &str, f: &Failure) -> Error {
    Error::remote(format!("token service {realm_host}: {}", f.message))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_is_base64_of_user_colon_password() {
        assert_eq!(basic_header("u", &Secret::new("p")), "Basic dTpw");
    }
}
