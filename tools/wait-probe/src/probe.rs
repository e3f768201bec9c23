//! One attempt at one target: the only module that touches the network.
//!
//! An attempt classifies what it saw for the schedule ([`Outcome`]) and
//! describes it for people (`state`, `error`, the head of the body). Each
//! attempt gets a timeout that covers everything it does (name lookup,
//! connect, TLS, the status and the body); the runner also abandons an
//! attempt that overruns it, so no library can hold a stage past its
//! budget. Texts from libraries are scrubbed of the target's password as
//! a second line of defence; the first is that no target is ever printed
//! but through its redacting display.

use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deploykit::dsn::Dsn;
use deploykit::exit::{Error, Exit, Result};
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use crate::rules::{self, Expect, Header, StatusSet};
use crate::schedule::Outcome;
use crate::target::Target;

/// How many bytes of a body failure messages show.
pub const BODY_HEAD: usize = 200;
/// How much of a body is read when only the status matters.
const STATUS_BODY_LIMIT: u64 = 64 * 1024;
/// How much of a body is read for `--expect-json`.
const JSON_BODY_LIMIT: u64 = 1024 * 1024;

/// What one attempt saw.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The class of the result, for the schedule.
    pub outcome: Outcome,
    /// The HTTP status, if an HTTP answer came.
    pub status: Option<u16>,
    /// A short description of the state, for the one-line-per-change log.
    pub state: String,
    /// Why the attempt was not ready (`None` when it was).
    pub error: Option<String>,
    /// The first [`BODY_HEAD`] bytes of the body, if an HTTP answer came.
    pub body_head: Option<Vec<u8>>,
}

impl Attempt {
    fn failed(outcome: Outcome, message: String) -> Attempt {
        Attempt {
            outcome,
            status: None,
            state: message.clone(),
            error: Some(message),
            body_head: None,
        }
    }

    fn ready(state: String) -> Attempt {
        Attempt {
            outcome: Outcome::Ready,
            status: None,
            state,
            error: None,
            body_head: None,
        }
    }

    /// An attempt that overran its timeout and was abandoned.
    pub fn abandoned(timeout: Duration) -> Attempt {
        Attempt::failed(
            Outcome::Failed,
            format!("no answer within {}", deploykit::duration::format(timeout)),
        )
    }
}

/// The HTTP client settings shared by every http(s) stage.
#[derive(Debug, Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
}

impl HttpClient {
    /// An agent that never turns a status into an error, follows no
    /// redirects, keeps no idle connections (every attempt proves a fresh
    /// connection works), honours the proxy variables, and checks
    /// certificates against the built-in roots plus `cacert` (or not at
    /// all with `insecure`).
    pub fn new(cacert: Option<&Path>, insecure: bool) -> Result<Self> {
        let roots = match cacert {
            Some(path) => {
                let mut roots: Vec<Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                    .iter()
                    .map(|c| Certificate::from_der(c.as_ref()))
                    .collect();
                roots.extend(load_cacert(path)?);
                RootCerts::from(roots)
            }
            None => RootCerts::WebPki,
        };
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(roots)
            .disable_verification(insecure)
            .build();
        let config = deploykit::net::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .user_agent(format!("wait-probe/{}", env!("CARGO_PKG_VERSION")))
            .proxy(ureq::Proxy::try_from_env())
            .tls_config(tls)
            .build();
        Ok(HttpClient {
            agent: deploykit::net::agent(config),
        })
    }
}

/// Reads the PEM certificates of `--cacert`; an unreadable file or one
/// with no usable certificate is a usage error.
fn load_cacert(path: &Path) -> Result<Vec<Certificate<'static>>> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let unreadable =
        |why: &dyn std::fmt::Display| Error::usage(format!("--cacert {}: {why}", path.display()));
    let mut certs = Vec::new();
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))?;
    for cert in iter {
        let cert = cert.map_err(|e| unreadable(&e))?;
        certs.push(Certificate::from_der(cert.as_ref()).to_owned());
    }
    if certs.is_empty() {
        return Err(unreadable(&"no PEM certificate in the file"));
    }
    Ok(certs)
}

/// Everything one stage's attempts need, shared with the attempt threads.
#[derive(Debug, Clone)]
pub struct Probe {
    inner: Arc<Inner>,
}

#[derive(Debug)]
enum Inner {
    Http {
        client: HttpClient,
        url: String,
        headers: Vec<Header>,
        status: StatusSet,
        expects: Vec<Expect>,
        secrets: Vec<String>,
    },
    Tcp {
        host: String,
        port: u16,
    },
    Postgres(Dsn),
}

impl Probe {
    /// The probe of a stage.
    pub fn new(
        target: &Target,
        client: &HttpClient,
        status: StatusSet,
        headers: Vec<Header>,
        expects: Vec<Expect>,
    ) -> Self {
        let inner = match target {
            Target::Http(url) => Inner::Http {
                client: client.clone(),
                url: url.to_string(),
                secrets: request_secrets(target, &headers),
                headers,
                status,
                expects,
            },
            Target::Tcp { host, port } => Inner::Tcp {
                host: host.clone(),
                port: *port,
            },
            Target::Postgres(dsn) => Inner::Postgres(dsn.clone()),
        };
        Probe {
            inner: Arc::new(inner),
        }
    }

    /// Makes one attempt bounded by `timeout`. `Err` only for a problem
    /// on this side that no retry can fix (a usage error).
    pub fn attempt(&self, timeout: Duration) -> Result<Attempt> {
        match &*self.inner {
            Inner::Http {
                client,
                url,
                headers,
                status,
                expects,
                secrets,
            } => {
                let mut attempt = http(client, url, headers, status, expects, timeout);
                attempt.state = scrub_text(&attempt.state, secrets);
                attempt.error = attempt.error.map(|e| scrub_text(&e, secrets));
                attempt.body_head = attempt.body_head.map(|body| {
                    let mut head = scrub(&body, secrets);
                    head.truncate(BODY_HEAD);
                    head
                });
                Ok(attempt)
            }
            Inner::Tcp { host, port } => Ok(tcp(host, *port, timeout)),
            Inner::Postgres(dsn) => postgres(dsn, timeout),
        }
    }
}

/// The replacement of a scrubbed secret.
const SCRUBBED: &[u8] = b"***";

/// The shortest start of a secret that a scrub takes for a secret cut short
/// at the end of a text (a server that echoes the first N bytes).
const SHORTEST_CUT: usize = 6;

/// Every form of every secret the request carries, longest first: those of
/// the target (see [`Target::secrets`]) and of each `--header` value, the
/// whole value, its credential after an auth scheme, and for `Basic` the
/// decoded `user:password` and the password. A health endpoint may echo
/// the request back, and its body is shown when the probe fails.
fn request_secrets(target: &Target, headers: &[Header]) -> Vec<String> {
    use base64::Engine as _;
    let mut out = target.secrets();
    for header in headers {
        let value = header.value.trim();
        out.push(value.to_owned());
        let Some((scheme, credential)) = value.split_once([' ', '\t']) else {
            continue;
        };
        let credential = credential.trim();
        out.push(credential.to_owned());
        if scheme.eq_ignore_ascii_case("basic")
            && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credential)
            && let Ok(pair) = String::from_utf8(decoded)
        {
            if let Some((_, password)) = pair.split_once(':') {
                out.push(password.to_owned());
            }
            out.push(pair);
        }
    }
    out.retain(|s| !s.is_empty());
    out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    out.dedup();
    out
}

/// `text` with every occurrence of each secret (longest first) replaced by
/// `***`, and a start of one at the very end (a secret cut short by
/// whoever cut the text) as well.
fn scrub(text: &[u8], secrets: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    'outer: while i < text.len() {
        for secret in secrets {
            if text[i..].starts_with(secret.as_bytes()) {
                out.extend_from_slice(SCRUBBED);
                i += secret.len();
                continue 'outer;
            }
        }
        out.push(text[i]);
        i += 1;
    }
    for secret in secrets {
        let secret = secret.as_bytes();
        let cut = (SHORTEST_CUT..secret.len())
            .rev()
            .find(|&n| out.ends_with(&secret[..n]));
        if let Some(n) = cut {
            out.truncate(out.len() - n);
            out.extend_from_slice(SCRUBBED);
            break;
        }
    }
    out
}

fn scrub_text(text: &str, secrets: &[String]) -> String {
    String::from_utf8_lossy(&scrub(text.as_bytes(), secrets)).into_owned()
}

fn http(
    client: &HttpClient,
    url: &str,
    headers: &[Header],
    accepted: &StatusSet,
    expects: &[Expect],
    timeout: Duration,
) -> Attempt {
    let mut request = client.agent.get(url);
    for header in headers {
        request = request.header(header.name.as_str(), header.value.as_str());
    }
    let response = request
        .config()
        .timeout_global(Some(timeout))
        .build()
        .call();
    let mut response = match response {
        Ok(response) => response,
        Err(err) => {
            let (outcome, message) = describe_http_error(&err, timeout);
            return Attempt::failed(outcome, message);
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let limit = if expects.is_empty() {
        STATUS_BODY_LIMIT
    } else {
        JSON_BODY_LIMIT
    };
    let mut body = Vec::new();
    let read = response
        .body_mut()
        .as_reader()
        .take(limit + 1)
        .read_to_end(&mut body);
    // Cut to BODY_HEAD only once scrubbed: a secret across the cut would
    // otherwise escape the scrub in part.
    let head = body.clone();
    let not_ready = |message: String, outcome: Outcome| Attempt {
        outcome,
        status: Some(status),
        state: message.clone(),
        error: Some(message),
        body_head: Some(head.clone()),
    };
    if let Err(err) = read {
        let (outcome, why) = describe_io_error(&err, timeout);
        let outcome = if outcome == Outcome::Refused {
            Outcome::Failed
        } else {
            outcome
        };
        return not_ready(
            format!("HTTP {status}, then reading the body failed: {why}"),
            outcome,
        );
    }
    if !accepted.accepts(status) {
        return not_ready(
            format!("HTTP {status} (accepted: {accepted})"),
            Outcome::NotReady { retry_after },
        );
    }
    if !expects.is_empty() && body.len() as u64 > limit {
        return not_ready(
            format!(
                "HTTP {status}, but the body is larger than {} KiB",
                limit / 1024
            ),
            Outcome::NotReady { retry_after },
        );
    }
    if let Err(why) = rules::check_body(expects, &body) {
        return not_ready(
            format!("HTTP {status}, but {why}"),
            Outcome::NotReady { retry_after },
        );
    }
    Attempt {
        status: Some(status),
        body_head: Some(head),
        ..Attempt::ready(format!("HTTP {status}"))
    }
}

/// Classifies a ureq error: a refused connection, or another failure with
/// a message that names the cause in words a user recognises.
fn describe_http_error(err: &ureq::Error, timeout: Duration) -> (Outcome, String) {
    match err {
        ureq::Error::Io(io) => describe_io_error(io, timeout),
        ureq::Error::Timeout(_) => (
            Outcome::Failed,
            format!("no answer within {}", deploykit::duration::format(timeout)),
        ),
        ureq::Error::HostNotFound => (
            Outcome::Failed,
            "host not found (name lookup failed)".into(),
        ),
        ureq::Error::Protocol(e) => (Outcome::Failed, format!("not an HTTP answer ({e})")),
        ureq::Error::Rustls(e) => (Outcome::Failed, format!("TLS: {e}")),
        ureq::Error::Tls(e) => (Outcome::Failed, format!("TLS: {e}")),
        ureq::Error::LargeResponseHeader(..) => (
            Outcome::Failed,
            "not an HTTP answer (response header too large)".into(),
        ),
        other => (Outcome::Failed, other.to_string()),
    }
}

fn describe_io_error(err: &std::io::Error, timeout: Duration) -> (Outcome, String) {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::ConnectionRefused => (Outcome::Refused, "connection refused".into()),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            (Outcome::Failed, "connection reset by the server".into())
        }
        ErrorKind::UnexpectedEof => (
            Outcome::Failed,
            "connection closed by the server before an answer".into(),
        ),
        ErrorKind::TimedOut | ErrorKind::WouldBlock => (
            Outcome::Failed,
            format!("no answer within {}", deploykit::duration::format(timeout)),
        ),
        _ => match err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            Some(tls) => (Outcome::Failed, format!("TLS: {tls}")),
            None => (Outcome::Failed, err.to_string()),
        },
    }
}

fn tcp(host: &str, port: u16, timeout: Duration) -> Attempt {
    let deadline = Instant::now() + timeout;
    let addrs: Vec<_> = match (host, port).to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        Err(e) => {
            return Attempt::failed(
                Outcome::Failed,
                format!("name lookup of {host} failed: {e}"),
            );
        }
    };
    if addrs.is_empty() {
        return Attempt::failed(Outcome::Failed, format!("{host} has no address"));
    }
    let mut worst: Option<(Outcome, String)> = None;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            worst.get_or_insert((
                Outcome::Failed,
                format!("no answer within {}", deploykit::duration::format(timeout)),
            ));
            break;
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(_) => return Attempt::ready("connection accepted".into()),
            Err(e) => {
                let (outcome, message) = describe_io_error(&e, timeout);
                // One address that does more than refuse makes the whole
                // attempt a failure rather than a refusal.
                if worst.as_ref().is_none_or(|(o, _)| *o == Outcome::Refused) {
                    worst = Some((outcome, message));
                }
            }
        }
    }
    let (outcome, message) = worst.unwrap_or((Outcome::Failed, "no address to connect to".into()));
    Attempt::failed(outcome, message)
}

fn postgres(dsn: &Dsn, timeout: Duration) -> Result<Attempt> {
    let password = dsn.password().map(|s| s.expose().to_owned());
    let scrub = |text: String| match password.as_deref().filter(|p| !p.is_empty()) {
        Some(pw) => text.replace(pw, "***"),
        None => text,
    };
    match deploykit::dsn::connect::connect(dsn, timeout) {
        Ok(mut client) => match client.simple_query("SELECT 1") {
            Ok(_) => Ok(Attempt::ready("SELECT 1 succeeded".into())),
            Err(e) => Ok(Attempt::failed(
                Outcome::NotReady { retry_after: None },
                scrub(format!("SELECT 1 failed: {e}")),
            )),
        },
        Err(err) if err.status() == Exit::Usage => Err(err),
        // The server answered and refused this login (a wrong password, a
        // missing role or database, no CONNECT privilege): asking again
        // gets the same answer for the whole budget, so the stage stops at
        // once with exit 4.
        Err(err) if err.status() == Exit::Denied => Err(Error::denied(scrub(err.to_string()))),
        Err(err) => {
            let text = scrub(err.to_string());
            // The connector's error keeps the OS's words for a refusal
            // (its error type is opaque, the text is stable).
            let outcome = if text.contains("Connection refused") {
                Outcome::Refused
            } else {
                Outcome::Failed
            };
            Ok(Attempt::failed(outcome, text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrub_hides_every_form_and_a_secret_cut_short() {
        let target = Target::parse(
            "http://probe:pw%2Fsecret-1@127.0.0.1:1/readyz?access_token=tok%2Bsecret-2&full=1",
            |_| None,
        )
        .unwrap();
        let headers = vec![
            Header::parse("Authorization: Basic YWRtaW46aHVudGVyLXNlY3JldC0z").unwrap(),
            Header::parse("X-Api-Key: key-secret-4").unwrap(),
        ];
        let secrets = request_secrets(&target, &headers);
        let echoed = format!(
            "GET /readyz?access_token=tok%2Bsecret-2&full=1 HTTP/1.1\r\n\
             Authorization: Basic YWRtaW46aHVudGVyLXNlY3JldC0z\r\n\
             X-Api-Key: key-secret-4\r\n\
             token=tok+secret-2 user=admin:hunter-secret-3 pw=pw/secret-1 pw%2Fsecret-1 {}\r\n\
             trailing YWRtaW46aHVudG",
            crate::target::basic_credential("probe:pw/secret-1")
        );
        let shown = scrub_text(&echoed, &secrets);
        for leak in ["secret-", "aHVudGVy", "YWRtaW46aHVudG", "cHJvYmU6"] {
            assert!(!shown.contains(leak), "{leak} in {shown}");
        }
        assert!(shown.contains("access_token=***&full=1"), "{shown}");
        assert!(shown.ends_with("trailing ***"), "{shown}");
        // Nothing else is touched.
        assert_eq!(scrub_text("HTTP 503 full=1", &secrets), "HTTP 503 full=1");
    }

    #[test]
    fn io_errors_are_classified() {
        use std::io::{Error as IoError, ErrorKind};
        let t = Duration::from_secs(2);
        let refused = IoError::from(ErrorKind::ConnectionRefused);
        assert_eq!(describe_io_error(&refused, t).0, Outcome::Refused);
        let reset = IoError::from(ErrorKind::ConnectionReset);
        assert_eq!(
            describe_io_error(&reset, t),
            (Outcome::Failed, "connection reset by the server".into())
        );
        let slow = IoError::from(ErrorKind::TimedOut);
        assert_eq!(describe_io_error(&slow, t).1, "no answer within 2.0s");
    }

    #[test]
    fn a_refused_tcp_port_is_a_refusal() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let attempt = tcp("127.0.0.1", port, Duration::from_secs(1));
        assert_eq!(attempt.outcome, Outcome::Refused);
        assert_eq!(attempt.state, "connection refused");
    }

    #[test]
    fn a_listening_tcp_port_is_ready() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let attempt = tcp("127.0.0.1", port, Duration::from_secs(1));
        assert_eq!(attempt.outcome, Outcome::Ready);
        assert_eq!(attempt.error, None);
    }

    #[test]
    fn an_unusable_cacert_is_a_usage_error() {
        let dir = std::env::temp_dir().join(format!("wait-probe-cacert-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        for path in [junk.as_path(), dir.join("missing.pem").as_path()] {
            let err = HttpClient::new(Some(path), false).unwrap_err();
            assert_eq!(err.status(), Exit::Usage, "{err}");
            assert!(err.to_string().starts_with("--cacert "), "{err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
