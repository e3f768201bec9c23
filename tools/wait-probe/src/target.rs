//! What a stage waits for, parsed from the command line before any waiting.
//!
//! A target that cannot be parsed is a usage error (exit 2), never a
//! retry: waiting two minutes for a typo helps nobody. A target may hold a
//! password (a DSN, `https://user:pw@…`), so neither the display form nor
//! any error message ever shows it: DSNs print through [`Dsn`]'s redacting
//! display, URLs with their password replaced, and a target that does not
//! parse is echoed only in a redacted form.

use std::fmt;

use deploykit::dsn::Dsn;
use url::Url;

/// The longest target accepted, in bytes. HTTP servers refuse request lines
/// far shorter (8 KiB is common), so a longer one is a mistake in the
/// invocation, rejected at once instead of retried for a whole budget.
pub const MAX_TARGET_LEN: usize = 16 * 1024;

/// One target, parsed.
#[derive(Clone)]
pub enum Target {
    /// An `http://` or `https://` URL.
    Http(Url),
    /// `tcp://host:port`: ready when a connection is accepted.
    Tcp {
        /// Host name or address (IPv6 without brackets).
        host: String,
        /// The port.
        port: u16,
    },
    /// A Postgres DSN: ready when a login and `SELECT 1` succeed.
    Postgres(Dsn),
}

impl fmt::Debug for Target {
    /// The redacted display: a target may hold a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({self})")
    }
}

impl fmt::Display for Target {
    /// The target with any password shown as `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Http(url) => {
                let mut shown = url.clone();
                if url.password().is_some() {
                    // Cannot fail: the URL has a host, since it has a password.
                    let _ = shown.set_password(Some("***"));
                }
                if url.query_pairs().any(|(k, _)| is_secret_param(&k)) {
                    let pairs: Vec<(String, String)> = url
                        .query_pairs()
                        .map(|(k, v)| {
                            let v = if is_secret_param(&k) { "***".into() } else { v };
                            (k.into_owned(), v.into_owned())
                        })
                        .collect();
                    shown.query_pairs_mut().clear().extend_pairs(pairs);
                }
                write!(f, "{shown}")
            }
            Target::Tcp { host, port } if host.contains(':') => write!(f, "tcp://[{host}]:{port}"),
            Target::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Target::Postgres(dsn) => write!(f, "{dsn}"),
        }
    }
}

impl Target {
    /// The forms of the secrets the target carries, for scrubbing
    /// third-party error texts and what a server echoes back: the
    /// password as written and percent-decoded, with the user name and as
    /// the base64 of a Basic credential, and each credential query value
    /// as written in the request line and decoded.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            Target::Http(url) => {
                if let Some(p) = url.password() {
                    let (user, password) = (percent_decode(url.username()), percent_decode(p));
                    for pair in [
                        format!("{user}:{password}"),
                        format!("{}:{p}", url.username()),
                    ] {
                        out.push(basic_credential(&pair));
                    }
                    out.push(password);
                    out.push(p.to_owned());
                }
                out.extend(
                    url.query_pairs()
                        .filter(|(k, _)| is_secret_param(k))
                        .map(|(_, v)| v.into_owned()),
                );
                // As sent: the query's own encoding, before decoding.
                out.extend(url.query().into_iter().flat_map(|q| {
                    q.split('&').filter_map(|pair| {
                        let (k, v) = pair.split_once('=')?;
                        is_secret_param(&percent_decode(k)).then(|| v.to_owned())
                    })
                }));
            }
            Target::Tcp { .. } => {}
            Target::Postgres(dsn) => {
                out.extend(dsn.password().map(|s| s.expose().to_owned()));
            }
        }
        out.retain(|s| !s.is_empty());
        out.sort();
        out.dedup();
        out
    }

    /// Parses one target; `env` looks up `env:NAME` indirections.
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Target, String> {
        if let Some(name) = text.strip_prefix("env:") {
            if name.is_empty() {
                return Err("env: needs a variable name (e.g. env:DATABASE_URL)".into());
            }
            let value = env(name).filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                format!("environment variable {name} (from env:{name}) is not set or empty")
            })?;
            return Self::parse_direct(value.trim())
                .map_err(|e| format!("{e} (from environment variable {name})"));
        }
        Self::parse_direct(text)
    }

    fn parse_direct(text: &str) -> Result<Target, String> {
        if text.len() > MAX_TARGET_LEN {
            // Not echoed: the message would be the whole huge input again.
            return Err(format!(
                "the target is too long ({} bytes, at most {MAX_TARGET_LEN}): no HTTP server or Postgres takes one that long",
                text.len()
            ));
        }
        let scheme = text.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("http" | "https") => {
                let url =
                    Url::parse(text).map_err(|e| format!("invalid URL {}: {e}", redact(text)))?;
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(format!("invalid URL {}: no host", redact(text)));
                }
                Ok(Target::Http(url))
            }
            Some("tcp") => parse_tcp(text),
            Some("postgres" | "postgresql") => parse_dsn(text),
            Some(other) => Err(format!(
                "unsupported target scheme '{other}://' in {} (use http://, https://, tcp://host:port, postgres://… or env:NAME)",
                redact(text)
            )),
            None if text.contains('=') => parse_dsn(text),
            // wait-for-it's and docker-compose's `host:port`: a TCP target.
            None if host_port(text) => parse_tcp(&format!("tcp://{text}")),
            None => Err(format!(
                "{} is not a target (use http://, https://, tcp://host:port, postgres://… or env:NAME)",
                redact(text)
            )),
        }
    }
}

/// Whether `text` has the `host:port` shape (`db:5432`, `[::1]:5432`): a
/// host without `/`, `@` or spaces, and a port of digits. What it holds is
/// then checked as `tcp://host:port` is.
fn host_port(text: &str) -> bool {
    let Some((host, port)) = text.rsplit_once(':') else {
        return false;
    };
    !host.is_empty()
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && !host.contains(['/', '@', '?', '#', ' '])
        && (host.starts_with('[') || !host.contains(':'))
}

/// A DSN, with its host/port pairing checked now (libpq itself would only
/// find a bad port when connecting, which here would be after a wait).
fn parse_dsn(text: &str) -> Result<Target, String> {
    let dsn = Dsn::parse(text).map_err(|e| format!("invalid DSN: {e}"))?;
    dsn.targets()
        .map_err(|e| format!("invalid DSN {dsn}: {e}"))?;
    dsn.connect_timeout()
        .map_err(|e| format!("invalid DSN {dsn}: {e}"))?;
    Ok(Target::Postgres(dsn))
}

fn parse_tcp(text: &str) -> Result<Target, String> {
    let bad = |why: &str| {
        format!(
            "invalid TCP target {}: {why} (expected tcp://host:port)",
            redact(text)
        )
    };
    let url = Url::parse(text).map_err(|e| bad(&e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("user names are not supported"));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a path or query is not supported"));
    }
    let host = match url.host() {
        Some(url::Host::Ipv6(addr)) => addr.to_string(),
        Some(host) => host.to_string(),
        None => return Err(bad("no host")),
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = url.port().ok_or_else(|| bad("no port"))?;
    if port == 0 {
        return Err(bad("port 0"));
    }
    Ok(Target::Tcp { host, port })
}

/// Decodes `%XX` escapes (invalid ones are kept as they are).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `Authorization: Basic` credential of `user:password`, the form in
/// which a URL's user information is sent.
pub fn basic_credential(pair: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(pair)
}

/// Whether a query parameter named `name` carries a credential (`token`,
/// `access_token`, `api_key`, `X-Amz-Signature`, `password`, …): its value
/// is shown as `***`. Health URLs of services behind a gateway often take
/// one, and a probe's progress lines end up in CI logs.
fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "pass",
        "pwd",
        "key",
        "sig",
        "auth",
        "credential",
        "session",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// A form of a raw target that is safe to print: user information in a
/// URL becomes `***`, a keyword/value string is not echoed at all.
fn redact(text: &str) -> String {
    if let Some((scheme, rest)) = text.split_once("://") {
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let rest = match rest[..authority_end].rfind('@') {
            Some(at) => format!("***@{}", &rest[at + 1..]),
            None => rest.to_owned(),
        };
        // A query is not echoed: it may carry a token.
        let rest = match rest.split_once('?') {
            Some((before, _)) => format!("{before}?…"),
            None => rest,
        };
        return format!("'{scheme}://{rest}'");
    }
    if text.contains('=') || text.contains('@') {
        return "(the connection string)".into();
    }
    format!("'{text}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Target, String> {
        Target::parse(text, |_| None)
    }

    #[test]
    fn credentials_in_the_query_are_hidden() {
        let t = parse("https://gw.example/readyz?token=pl4nted-tok&verbose=1&X-Amz-Signature=abc")
            .unwrap();
        assert_eq!(
            t.to_string(),
            "https://gw.example/readyz?token=***&verbose=1&X-Amz-Signature=***"
        );
        assert_eq!(t.secrets(), vec!["abc", "pl4nted-tok"]);
        let plain = parse("http://127.0.0.1:9000/version?full=1").unwrap();
        assert_eq!(plain.to_string(), "http://127.0.0.1:9000/version?full=1");
        assert_eq!(redact("http://h/x?token=pl4nted-tok"), "'http://h/x?…'");
    }

    #[test]
    fn http_targets_keep_the_url_and_hide_the_password() {
        let t = parse("https://ops:pl4nted-token@svc.internal:8443/readyz?x=1").unwrap();
        assert!(matches!(t, Target::Http(_)));
        assert_eq!(
            t.to_string(),
            "https://ops:***@svc.internal:8443/readyz?x=1"
        );
        // And as a Basic credential: base64 of "ops:pl4nted-token".
        assert_eq!(t.secrets(), ["b3BzOnBsNG50ZWQtdG9rZW4=", "pl4nted-token"]);
        let t = parse("https://ops:pl4nted%2Btoken%zz@svc.internal/").unwrap();
        assert_eq!(
            t.secrets(),
            [
                "b3BzOnBsNG50ZWQlMkJ0b2tlbiV6eg==",
                "b3BzOnBsNG50ZWQrdG9rZW4leno=",
                "pl4nted%2Btoken%zz",
                "pl4nted+token%zz"
            ]
        );
        assert_eq!(parse("tcp://db:1").unwrap().secrets(), Vec::<String>::new());
        assert_eq!(
            parse("http://127.0.0.1:9000/livez").unwrap().to_string(),
            "http://127.0.0.1:9000/livez"
        );
    }

    #[test]
    fn a_huge_target_is_refused_at_once_without_echo() {
        for text in [
            format!("http://127.0.0.1:1/{}", "a".repeat(100 * 1024)),
            format!("postgres://u:pl4nted-token@h/{}", "a".repeat(100 * 1024)),
        ] {
            let err = parse(&text).err().unwrap();
            assert!(err.contains("too long") && err.len() < 200, "{err}");
            assert!(!err.contains("pl4nted"));
        }
        assert!(parse(&format!("http://127.0.0.1:1/{}", "a".repeat(8000))).is_ok());
    }

    #[test]
    fn tcp_targets_need_a_host_and_a_port() {
        let t = parse("tcp://db:5432").unwrap();
        assert!(matches!(&t, Target::Tcp { host, port: 5432 } if host == "db"));
        assert_eq!(t.to_string(), "tcp://db:5432");
        let t = parse("tcp://[::1]:80").unwrap();
        assert!(matches!(&t, Target::Tcp { host, port: 80 } if host == "::1"));
        assert_eq!(t.to_string(), "tcp://[::1]:80");
        for bad in [
            "tcp://db",
            "tcp://:5432",
            "tcp://db:5432/x",
            "tcp://u:p@db:1",
            "tcp://db:0",
            "tcp://db:99999",
        ] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn postgres_targets_are_dsns_shown_redacted() {
        let t = parse("postgres://app:pl4nted-app-pw@127.0.0.1:5432/app").unwrap();
        assert!(matches!(t, Target::Postgres(_)));
        let shown = t.to_string();
        assert!(!shown.contains("pl4nted"), "{shown}");
        assert!(shown.contains("app:***@127.0.0.1:5432/app"), "{shown}");
        assert!(matches!(
            parse("postgresql://db/app").unwrap(),
            Target::Postgres(_)
        ));
        assert!(matches!(
            parse("host=db port=5432 user=app password=pl4nted-app-pw").unwrap(),
            Target::Postgres(_)
        ));
    }

    #[test]
    fn unparseable_targets_are_errors_that_show_no_password() {
        for bad in [
            "localhost:http",
            "u:pl4nted-token@h:1",
            "ftp://u:pl4nted-token@h/x",
            "http://u:pl4nted-token@/x",
            "http://",
            "postgres://u:pl4nted-app-pw@h:notaport/x",
            "host=db password=pl4nted-app-pw bogus",
        ] {
            let err = parse(bad).err().unwrap_or_else(|| panic!("{bad} parsed"));
            assert!(!err.contains("pl4nted"), "{bad}: {err}");
        }
        assert!(
            parse("localhost:http")
                .unwrap_err()
                .contains("tcp://host:port")
        );
    }

    #[test]
    fn host_port_is_a_tcp_target_as_wait_for_it_reads_it() {
        for (text, want_host, want_port) in [
            ("localhost:8080", "localhost", 8080),
            ("db:5432", "db", 5432),
            ("127.0.0.1:1", "127.0.0.1", 1),
            ("[::1]:80", "::1", 80),
        ] {
            let t = parse(text).unwrap();
            assert!(
                matches!(&t, Target::Tcp { host, port } if host == want_host && *port == want_port),
                "{text}: {t}"
            );
        }
        assert_eq!(parse("db:5432").unwrap().to_string(), "tcp://db:5432");
        for bad in ["db:0", "db:99999", ":5432", "::1:80"] {
            let err = parse(bad).err().unwrap_or_else(|| panic!("{bad} parsed"));
            assert!(err.contains("tcp://host:port"), "{bad}: {err}");
        }
    }

    #[test]
    fn env_targets_read_the_variable() {
        let env = |name: &str| {
            (name == "DATABASE_URL").then(|| "postgres://app:pl4nted-app-pw@db/app".to_owned())
        };
        let t = Target::parse("env:DATABASE_URL", env).unwrap();
        assert!(matches!(t, Target::Postgres(_)));
        let err = Target::parse("env:NOPE", env).unwrap_err();
        assert!(err.contains("NOPE"), "{err}");
        assert!(Target::parse("env:", env).is_err());
        let bad = |_: &str| Some("nonsense".to_owned());
        let err = Target::parse("env:X", bad).unwrap_err();
        assert!(err.contains("environment variable X"), "{err}");
    }
}
