//! One HTTP exchange with a registry, with its deadline and its retries.
//!
//! Every call gets the time left of the operation's budget as ureq's global
//! timeout (DNS, connect, TLS, headers and body included), so nothing waits
//! past `--timeout`. Transient failures (connection refused or reset, a body
//! cut short, timeouts, 429, 500, 502, 503, 504) are retried with exponential
//! backoff and jitter (backon), waiting at least what `Retry-After` asks, and
//! never starting a wait the budget cannot cover.

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use backon::{BlockingRetryable, ExponentialBuilder};
use ureq::Agent;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use crate::exit::{Error, Result};
use crate::output::Reporter;

/// The largest response body read (the OCI spec bounds manifests to 4 MiB;
/// token answers and configs are far smaller).
pub const MAX_BODY: u64 = 8 << 20;

/// An HTTP method the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// HEAD: headers only.
    Head,
    /// GET.
    Get,
    /// POST with a form body (OAuth2 token requests).
    PostForm,
    /// DELETE (a manifest by digest).
    Delete,
    /// PUT with a body (a manifest, a blob).
    Put,
    /// POST with a body (starting or mounting an upload).
    Post,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Head => "HEAD",
            Method::Get => "GET",
            Method::PostForm | Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Put => "PUT",
        }
    }
}

/// A request body.
pub enum Body<'b> {
    /// None (or `Content-Length: 0` where the method has one).
    Empty,
    /// Bytes in memory: a request with them can be sent again.
    Bytes(&'b [u8]),
    /// A reader (its length goes in a `Content-Length` header): it can be
    /// sent once, so a request with it is never retried.
    Stream(&'b mut dyn std::io::Read),
}

impl Body<'_> {
    /// Whether the body can be sent again for another attempt.
    pub fn replayable(&self) -> bool {
        !matches!(self, Body::Stream(..))
    }
}

/// A response, body read in full (empty for HEAD).
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names lower-cased, in order (repeated names kept).
    pub headers: Vec<(String, String)>,
    /// The exact body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A failed attempt, classified for the retry policy.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong, without secrets.
    pub message: String,
    /// Whether trying again may help.
    pub transient: bool,
    /// The wait the server asked for.
    pub retry_after: Option<Duration>,
    /// The server speaks something other than TLS on the HTTPS port.
    pub not_tls: bool,
}

impl Failure {
    fn fatal(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            transient: false,
            retry_after: None,
            not_tls: false,
        }
    }

    fn transient(message: impl Into<String>) -> Failure {
        Failure {
            transient: true,
            ..Failure::fatal(message)
        }
    }
}

/// The HTTP side of the client: one agent for plain HTTP, and for HTTPS,
/// built on first use, one trusting the system roots plus `--cacert` and
/// one trusting `--cacert` alone.
///
/// Loading the system roots is most of what a first HTTPS request costs
/// (reading and parsing every certificate the system trusts), and many
/// first requests do not need them: a loopback registry that answers in
/// plain HTTP is found out by a TLS handshake that never gets to verify a
/// certificate, and a registry signed by the `--cacert` authority is
/// verified by that authority alone. So a host on loopback, or any host
/// when `--cacert` is given, is first tried with the narrow trust, and only
/// a certificate from another issuer brings in the system roots. The
/// narrow trust is a subset of the wide one: nothing it accepts would be
/// refused otherwise.
pub struct Transport {
    plain: Agent,
    tls: OnceLock<std::result::Result<Agent, String>>,
    narrow_tls: OnceLock<std::result::Result<Agent, String>>,
    /// Hosts whose certificate the narrow trust did not verify.
    wide_hosts: std::cell::RefCell<std::collections::HashSet<String>>,
    cacert: Option<std::path::PathBuf>,
    insecure: bool,
    user_agent: String,
    reporter: Option<Reporter>,
    /// HTTP exchanges so far, answered ones (for `-v` and the benchmarks).
    pub requests: Cell<usize>,
}

impl Transport {
    /// A transport trusting the system roots plus `cacert`, or nothing at
    /// all with `insecure`.
    pub fn new(
        cacert: Option<&Path>,
        insecure: bool,
        reporter: Option<Reporter>,
    ) -> Result<Transport> {
        if let Some(path) = cacert {
            // Read it now so a bad --cacert is an input error up front.
            load_pem(path)?;
        }
        let user_agent = format!("deploykit/{}", env!("CARGO_PKG_VERSION"));
        Ok(Transport {
            plain: agent(TlsConfig::default(), &user_agent),
            tls: OnceLock::new(),
            narrow_tls: OnceLock::new(),
            wide_hosts: std::cell::RefCell::default(),
            cacert: cacert.map(Path::to_owned),
            insecure,
            user_agent,
            reporter,
            requests: Cell::new(0),
        })
    }

    fn tls_agent(&self) -> Result<&Agent> {
        let built = self.tls.get_or_init(|| {
            let mut certs: Vec<Certificate<'static>> = Vec::new();
            if let Some(path) = &self.cacert {
                certs.extend(load_pem(path).map_err(|e| e.to_string())?);
            }
            let roots = if certs.is_empty() {
                system_roots().map_or(RootCerts::WebPki, |c| RootCerts::Specific(Arc::new(c)))
            } else {
                certs.extend(system_roots().unwrap_or_default());
                RootCerts::Specific(Arc::new(certs))
            };
            let tls = TlsConfig::builder()
                .root_certs(roots)
                .disable_verification(self.insecure)
                .build();
            Ok(agent(tls, &self.user_agent))
        });
        built.as_ref().map_err(Error::usage)
    }

    /// The agent trusting `--cacert` alone (nothing, without it).
    fn narrow_tls_agent(&self) -> Result<&Agent> {
        let built = self.narrow_tls.get_or_init(|| {
            let certs = match &self.cacert {
                Some(path) => load_pem(path).map_err(|e| e.to_string())?,
                None => Vec::new(),
            };
            let tls = TlsConfig::builder()
                .root_certs(RootCerts::Specific(Arc::new(certs)))
                .build();
            Ok(agent(tls, &self.user_agent))
        });
        built.as_ref().map_err(Error::usage)
    }

    /// Whether an HTTPS request to `url` starts with the narrow trust.
    fn starts_narrow(&self, url: &str) -> bool {
        let host = host_of(url);
        !self.insecure
            && (self.cacert.is_some() || super::endpoint::is_loopback(host))
            && !self.wide_hosts.borrow().contains(host)
    }

    fn detail(&self, text: impl std::fmt::Display) {
        if let Some(r) = &self.reporter {
            r.detail(text);
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the budget
    /// left before `deadline` cannot cover the next wait: exponential
    /// backoff with jitter, at least what `Retry-After` asked.
    pub fn retrying<T>(
        &self,
        deadline: Instant,
        mut attempt: impl FnMut() -> std::result::Result<T, Failure>,
    ) -> std::result::Result<T, Failure> {
        // Shared with the sleeper, which backon wants 'static.
        let retry_after: Rc<Cell<Option<Duration>>> = Rc::new(Cell::new(None));
        let asked = Rc::clone(&retry_after);
        let attempts = Cell::new(0u32);
        let started = Instant::now();
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(5))
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(8);
        let result = (|| {
            attempts.set(attempts.get() + 1);
            attempt()
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
            let wait = d.max(f.retry_after.unwrap_or_default());
            if let Some(r) = &self.reporter {
                r.progress(format_args!(
                    "{}; retrying in {}",
                    f.message,
                    crate::duration::format(wait)
                ));
            }
        })
        .call();
        result.map_err(|mut f| {
            let n = attempts.get();
            if n > 1 {
                f.message = format!(
                    "{} (after {n} attempts in {})",
                    f.message,
                    crate::duration::format(started.elapsed())
                );
            }
            f
        })
    }

    /// Sends one request, retrying transient failures until `deadline`,
    /// and reads the whole answer (nothing for HEAD).
    ///
    /// `url` may carry no credentials (they travel in `headers`); `form` is
    /// the body of a [`Method::PostForm`].
    pub fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, String)],
        form: Option<&str>,
        deadline: Instant,
    ) -> std::result::Result<Response, Failure> {
        let mut body = Body::Bytes(form.unwrap_or("").as_bytes());
        self.retrying(deadline, || {
            let mut resp = self.exchange(method, url, headers, &mut body, deadline)?;
            read_answer(&mut resp, method, url)
        })
    }

    /// Sends one request and returns the answer with its body unread,
    /// retrying transient failures until `deadline` while the body can be
    /// sent again (a [`Body::Stream`] is sent once).
    pub fn open(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, String)],
        body: &mut Body<'_>,
        deadline: Instant,
    ) -> std::result::Result<ureq::http::Response<ureq::Body>, Failure> {
        let bytes: &[u8] = match body {
            Body::Stream(..) => return self.exchange(method, url, headers, body, deadline),
            Body::Empty => {
                return self.retrying(deadline, || {
                    self.exchange(method, url, headers, &mut Body::Empty, deadline)
                });
            }
            Body::Bytes(b) => b,
        };
        self.retrying(deadline, || {
            self.exchange(method, url, headers, &mut Body::Bytes(bytes), deadline)
        })
    }

    /// One attempt: sends the request within the time left before
    /// `deadline` and returns the answer with its body unread.
    ///
    /// An answer the retry policy treats as transient (429 and the 5xx a
    /// registry sends when its storage or a backend hiccups: 500, 502, 503,
    /// 504; not 501 or 505, which say what the server cannot do)
    /// is a [`Failure`] carrying its `Retry-After`.
    pub fn exchange(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, String)],
        body: &mut Body<'_>,
        deadline: Instant,
    ) -> std::result::Result<ureq::http::Response<ureq::Body>, Failure> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::fatal("deadline exceeded"));
        }
        let shown = url.split('?').next().unwrap_or(url);
        let started = Instant::now();
        let https = url.starts_with("https://");
        let narrow = https && self.starts_narrow(url);
        let agent = if narrow {
            self.narrow_tls_agent()
        } else if https {
            self.tls_agent()
        } else {
            Ok(&self.plain)
        }
        .map_err(|e| Failure::fatal(e.to_string()))?;
        let mut result = call(agent, method, url, headers, body, left);
        if narrow && result.as_ref().err().is_some_and(unknown_issuer) {
            // The handshake failed before the request was written, so even
            // a streamed body is untouched: try again with the system roots.
            self.detail(format_args!(
                "{}: checking the certificate against the system roots",
                host_of(url)
            ));
            self.wide_hosts.borrow_mut().insert(host_of(url).to_owned());
            let agent = self
                .tls_agent()
                .map_err(|e| Failure::fatal(e.to_string()))?;
            let left = deadline.saturating_duration_since(Instant::now());
            result = call(agent, method, url, headers, body, left);
        }
        let resp = match result {
            Ok(resp) => resp,
            Err(e) => {
                let f = classify(&e);
                self.detail(format_args!("{} {shown} → {}", method.as_str(), f.message));
                return Err(f);
            }
        };
        // Counted once an HTTP answer came back (a failed TLS probe is not one).
        self.requests.set(self.requests.get() + 1);
        let status = resp.status().as_u16();
        self.detail(format_args!(
            "{} {shown} → {status} ({})",
            method.as_str(),
            crate::duration::format(started.elapsed())
        ));
        if matches!(status, 429 | 500 | 502 | 503 | 504) {
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
                not_tls: false,
            });
        }
        Ok(resp)
    }
}

/// Reads an answer whole (headers, and the body up to [`MAX_BODY`] unless
/// `method` is HEAD). A body cut short is a transient failure.
pub fn read_answer(
    resp: &mut ureq::http::Response<ureq::Body>,
    method: Method,
    url: &str,
) -> std::result::Result<Response, Failure> {
    let status = resp.status().as_u16();
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
    let body = if method == Method::Head {
        Vec::new()
    } else {
        resp.body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| {
                let mut f = classify(&e);
                f.message = format!(
                    "{} answered {status}, then reading the body: {}",
                    host_of(url),
                    f.message
                );
                if matches!(e, ureq::Error::BodyExceedsLimit(_)) {
                    f.transient = false;
                }
                f
            })?
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// One request on `agent`, within `left`.
fn call(
    agent: &Agent,
    method: Method,
    url: &str,
    headers: &[(&str, String)],
    body: &mut Body<'_>,
    left: Duration,
) -> std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    match method {
        Method::Head | Method::Get | Method::Delete => {
            let mut req = match method {
                Method::Head => agent.head(url),
                Method::Delete => agent.delete(url),
                _ => agent.get(url),
            };
            for (k, v) in headers {
                req = req.header(*k, v.as_str());
            }
            req.config().timeout_global(Some(left)).build().call()
        }
        Method::PostForm | Method::Post | Method::Put => {
            let mut req = if method == Method::Put {
                agent.put(url)
            } else {
                agent.post(url)
            };
            if method == Method::PostForm {
                req = req.header("Content-Type", "application/x-www-form-urlencoded");
            }
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
    }
}

/// The rustls error inside a ureq error, wherever ureq put it.
fn rustls_error(e: &ureq::Error) -> Option<&rustls::Error> {
    match e {
        ureq::Error::Rustls(r) => Some(r),
        ureq::Error::Io(io) => io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()),
        _ => None,
    }
}

/// Whether the handshake failed because no trusted root issued the
/// server's certificate (and nothing else was wrong with it).
fn unknown_issuer(e: &ureq::Error) -> bool {
    matches!(
        rustls_error(e),
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer
        ))
    )
}

fn agent(tls: TlsConfig, user_agent: &str) -> Agent {
    crate::net::agent(
        crate::net::config_builder()
            .http_status_as_error(false)
            .tls_config(tls)
            .user_agent(user_agent)
            .max_redirects(5)
            .build(),
    )
}

/// `scheme://host[:port]` of a URL, for messages.
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

fn classify(e: &ureq::Error) -> Failure {
    use std::io::ErrorKind as K;
    match e {
        // Every exchange gets the time left of the budget as its global
        // timeout: running out of it is the budget ending, said as such.
        ureq::Error::Timeout(ureq::Timeout::Global) => {
            Failure::transient("no answer before the --timeout budget ran out")
        }
        ureq::Error::Timeout(t) => Failure::transient(format!("timed out ({t})")),
        ureq::Error::Io(io)
            if io
                .get_ref()
                .and_then(|e| e.downcast_ref::<rustls::Error>())
                .is_some() =>
        {
            match io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                Some(rustls::Error::InvalidMessage(m)) => Failure {
                    not_tls: true,
                    ..Failure::fatal(format!(
                        "TLS handshake failed: the server does not speak TLS ({m:?})"
                    ))
                },
                Some(r) => Failure::fatal(format!("TLS: {r}")),
                None => Failure::fatal(io.to_string()),
            }
        }
        ureq::Error::Io(io) => {
            let transient = matches!(
                io.kind(),
                K::ConnectionRefused
                    | K::ConnectionReset
                    | K::ConnectionAborted
                    | K::UnexpectedEof
                    | K::BrokenPipe
                    | K::TimedOut
                    | K::Interrupted
            );
            let msg = match io.kind() {
                K::ConnectionRefused => "connection refused".to_owned(),
                K::ConnectionReset => "connection reset".to_owned(),
                K::UnexpectedEof => "connection closed before the response was complete".to_owned(),
                _ => io.to_string(),
            };
            Failure {
                transient,
                ..Failure::fatal(msg)
            }
        }
        ureq::Error::ConnectionFailed => Failure::transient("connection failed"),
        ureq::Error::HostNotFound => Failure::fatal("host not found (DNS)"),
        ureq::Error::LargeResponseHeader(..) => Failure::fatal(format!(
            "the response header is larger than {} KiB",
            crate::net::INPUT_BUFFER / 1024
        )),
        ureq::Error::Protocol(p) => Failure::transient(format!("HTTP protocol error: {p}")),
        ureq::Error::Rustls(rustls::Error::InvalidMessage(m)) => Failure {
            not_tls: true,
            ..Failure::fatal(format!(
                "TLS handshake failed: the server does not speak TLS ({m:?})"
            ))
        },
        ureq::Error::Rustls(r) => Failure::fatal(format!("TLS: {r}")),
        ureq::Error::Tls(t) => Failure::fatal(format!("TLS: {t}")),
        other => Failure::fatal(other.to_string()),
    }
}

fn load_pem(path: &Path) -> Result<Vec<Certificate<'static>>> {
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

fn system_roots() -> Option<Vec<Certificate<'static>>> {
    let found = rustls_native_certs::load_native_certs();
    let certs: Vec<Certificate<'static>> = found
        .certs
        .into_iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    (!certs.is_empty()).then_some(certs)
}
