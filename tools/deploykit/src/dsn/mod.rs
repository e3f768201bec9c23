//! PostgreSQL connection strings, parsed exactly as libpq parses them.
//!
//! Both forms are accepted: URIs (`postgres://` / `postgresql://`) and
//! keyword/value strings (`host=db dbname=app`). The parsers in [`parse`]
//! follow libpq's `conninfo_uri_parse_options` and `conninfo_parse` step by
//! step, with libpq's error texts, except that a password never appears in an
//! error: libpq quotes the whole URI in some errors, which would leak it.
//!
//! A [`Dsn`] keeps exactly the keywords the string set, decoded. Its
//! `Display` is a URI with the password as `***`; the password itself is a
//! [`Secret`]. [`Dsn::validate`] makes the checks libpq makes only when it
//! connects (option values, ports, numeric addresses), so that a DSN libpq
//! would refuse is refused before any server is asked. [`connect`] turns a
//! DSN into a `postgres::Client`, with TLS per `sslmode` done by rustls.

pub mod connect;
pub mod keywords;
mod libpq_int;
pub mod numeric_host;
pub mod parse;
pub mod sources;
mod validate;

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::Duration;

use crate::secret::{REDACTED, Secret};

/// An error in a connection string, worded as libpq words it, never
/// containing a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnError(pub(crate) String);

impl fmt::Display for DsnError {
    /// The message, with a huge quoted value shortened (see `clip`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::clip::long_words(&self.0))
    }
}

impl std::error::Error for DsnError {}

/// Which syntax a DSN was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `postgres://…` or `postgresql://…`.
    Uri,
    /// `host=… dbname=…`.
    KeyValue,
}

/// libpq's `sslmode`, in increasing order of protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS only if the server insists.
    Allow,
    /// TLS if the server offers it (libpq's default).
    Prefer,
    /// TLS always, the certificate not verified.
    Require,
    /// TLS always, the chain verified against the root certificate.
    VerifyCa,
    /// As verify-ca, and the host name must match the certificate.
    VerifyFull,
}

impl SslMode {
    /// Parses an `sslmode` value, with libpq's error text.
    pub fn parse(value: &str) -> Result<Self, DsnError> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(DsnError(format!("invalid sslmode value: \"{other}\"")));
            }
        })
    }

    /// The keyword value, as written in a DSN.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Whether a DSN reaches the server over TCP or a Unix socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionKind {
    /// TCP/IP (a host name or address, or `hostaddr`).
    Inet,
    /// A Unix-domain socket (no host, or a host that is a directory path).
    Local,
}

impl ConnectionKind {
    /// `"inet"` or `"local"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionKind::Inet => "inet",
            ConnectionKind::Local => "local",
        }
    }
}

/// One server a DSN may connect to, after libpq's host/hostaddr/port pairing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host name, IP address or socket directory (`None`: the default socket).
    pub host: Option<String>,
    /// A numeric address that bypasses name lookup.
    pub hostaddr: Option<String>,
    /// The port (5432 unless set).
    pub port: u16,
}

impl Target {
    /// Whether this target is a Unix-domain socket.
    pub fn is_socket(&self) -> bool {
        self.hostaddr.is_none()
            && self
                .host
                .as_deref()
                .is_none_or(|h| h.is_empty() || h.starts_with('/') || h.starts_with('@'))
    }

    /// `host:port` for messages (`[v6]:port` for IPv6, the socket path for
    /// sockets), with the numeric address when both are set, so that two
    /// targets that differ only there read differently.
    pub fn display(&self) -> String {
        let host = self
            .host
            .as_deref()
            .filter(|h| !h.is_empty())
            .or(self.hostaddr.as_deref())
            .unwrap_or("/var/run/postgresql");
        let shown = if self.is_socket() {
            format!("{host}/.s.PGSQL.{}", self.port)
        } else if host.contains(':') {
            format!("[{host}]:{}", self.port)
        } else {
            format!("{host}:{}", self.port)
        };
        match (&self.host, &self.hostaddr) {
            (Some(h), Some(a)) if !h.is_empty() => format!("{shown} (hostaddr {a})"),
            _ => shown,
        }
    }
}

/// A parsed connection string: the keywords it set, decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct Dsn {
    form: Form,
    /// Every keyword set, but the secret ones, with its decoded value.
    options: BTreeMap<&'static str, String>,
    password: Option<Secret>,
    sslpassword: Option<Secret>,
}

impl Dsn {
    /// Parses a URI or keyword/value connection string as libpq does.
    pub fn parse(text: &str) -> Result<Self, DsnError> {
        parse::parse(text)
    }

    pub(crate) fn empty(form: Form) -> Self {
        Dsn {
            form,
            options: BTreeMap::new(),
            password: None,
            sslpassword: None,
        }
    }

    /// Sets a keyword the way libpq's `conninfo_storeval` does: `requiressl`
    /// maps to `sslmode`, an unknown keyword is an error, a later value wins.
    pub(crate) fn store(&mut self, keyword: &str, value: String) -> Result<(), DsnError> {
        let (keyword, value) = if keyword == "requiressl" {
            let mode = if value.starts_with('1') {
                "require"
            } else {
                "prefer"
            };
            ("sslmode", mode.to_owned())
        } else {
            (keyword, value)
        };
        let Some(keyword) = keywords::lookup(keyword) else {
            return Err(DsnError(format!("invalid connection option \"{keyword}\"")));
        };
        match keyword {
            "password" => self.password = Some(Secret::new(value)),
            "sslpassword" => self.sslpassword = Some(Secret::new(value)),
            _ => {
                self.options.insert(keyword, value);
            }
        }
        Ok(())
    }

    /// The syntax the DSN was written in.
    pub fn form(&self) -> Form {
        self.form
    }

    /// The decoded value of a non-secret keyword, if the DSN set it.
    /// Secret keywords (`password`, `sslpassword`) always answer `None`:
    /// use [`Dsn::password`].
    pub fn get(&self, keyword: &str) -> Option<&str> {
        self.options.get(keyword).map(String::as_str)
    }

    /// The user name, if set.
    pub fn user(&self) -> Option<&str> {
        self.get("user")
    }

    /// The password, if set.
    pub fn password(&self) -> Option<&Secret> {
        self.password.as_ref()
    }

    /// The `sslpassword` (client key passphrase), if set.
    pub fn sslpassword(&self) -> Option<&Secret> {
        self.sslpassword.as_ref()
    }

    /// The database name, if set (libpq then defaults it to the user name).
    pub fn dbname(&self) -> Option<&str> {
        self.get("dbname")
    }

    /// The database libpq would connect to: `dbname`, else the user name.
    pub fn effective_dbname(&self) -> Option<&str> {
        self.dbname().filter(|d| !d.is_empty()).or(self.user())
    }

    /// `sslmode` as libpq resolves it: the value set (an empty one is
    /// invalid, as in libpq), else `verify-full` with `sslrootcert=system`
    /// (libpq 16+), else libpq's default `prefer`.
    pub fn sslmode(&self) -> Result<SslMode, DsnError> {
        match self.get("sslmode") {
            Some(v) => SslMode::parse(v),
            None if self.get("sslrootcert") == Some("system") => Ok(SslMode::VerifyFull),
            None => Ok(SslMode::Prefer),
        }
    }

    /// `sslrootcert`, if set.
    pub fn sslrootcert(&self) -> Option<&str> {
        self.get("sslrootcert").filter(|v| !v.is_empty())
    }

    /// `connect_timeout`, with libpq's rules: an integer number of seconds
    /// (a C `int`; an empty value is invalid), zero or negative means none,
    /// and values below 2 s are raised to 2 s.
    pub fn connect_timeout(&self) -> Result<Option<Duration>, DsnError> {
        let Some(raw) = self.get("connect_timeout") else {
            return Ok(None);
        };
        let secs = libpq_int::parse(raw, "connect_timeout")?;
        Ok(match secs {
            i32::MIN..=0 => None,
            1 => Some(Duration::from_secs(2)),
            n => Some(Duration::from_secs(u64::from(n.unsigned_abs()))),
        })
    }

    /// Every check libpq makes when it connects, before any byte is sent:
    /// the option values (`sslmode`, `channel_binding`, `require_auth`,
    /// ...), the host/port pairing, each port and numeric address, the TCP
    /// options and `connect_timeout`. The first failure, in libpq's order
    /// and words.
    pub fn validate(&self) -> Result<(), DsnError> {
        validate::validate(self)
    }

    /// `options` (command-line options sent to the server), if set.
    pub fn server_options(&self) -> Option<&str> {
        self.get("options").filter(|v| !v.is_empty())
    }

    /// `application_name`, if set.
    pub fn application_name(&self) -> Option<&str> {
        self.get("application_name")
    }

    /// The servers this DSN may connect to, paired as libpq's
    /// `connectOptions2` pairs `host`, `hostaddr` and `port`.
    pub fn targets(&self) -> Result<Vec<Target>, DsnError> {
        self.targets_unchecked()?
            .into_iter()
            .map(|(mut target, raw_port)| {
                if let Some(raw) = raw_port {
                    target.port = validate::port(&raw)?;
                }
                Ok(target)
            })
            .collect()
    }

    /// The targets with their port text unread (`None`: the default port),
    /// after the list-length checks libpq makes first.
    fn targets_unchecked(&self) -> Result<Vec<(Target, Option<String>)>, DsnError> {
        let split = |key: &str| -> Option<Vec<String>> {
            self.get(key)
                .filter(|v| !v.is_empty())
                .map(|v| v.split(',').map(str::to_owned).collect())
        };
        let hostaddrs = split("hostaddr");
        let hosts = split("host");
        let count = hostaddrs
            .as_ref()
            .map(Vec::len)
            .or(hosts.as_ref().map(Vec::len))
            .unwrap_or(1);
        if let (Some(a), Some(h)) = (&hostaddrs, &hosts)
            && a.len() != h.len()
        {
            return Err(DsnError(format!(
                "could not match {} host names to {} hostaddr values",
                h.len(),
                a.len()
            )));
        }
        let ports: Vec<Option<String>> = match split("port") {
            None => vec![None; count],
            Some(raw) => {
                let raw: Vec<Option<String>> = raw
                    .into_iter()
                    .map(|p| Some(p).filter(|p| !p.is_empty()))
                    .collect();
                match raw.len() {
                    1 => vec![raw[0].clone(); count],
                    n if n == count => raw,
                    n => {
                        return Err(DsnError(format!(
                            "could not match {n} port numbers to {count} hosts"
                        )));
                    }
                }
            }
        };
        Ok(ports
            .into_iter()
            .enumerate()
            .map(|(i, port)| {
                let target = Target {
                    host: hosts
                        .as_ref()
                        .map(|h| h[i].clone())
                        .filter(|h| !h.is_empty()),
                    hostaddr: hostaddrs
                        .as_ref()
                        .map(|a| a[i].clone())
                        .filter(|a| !a.is_empty()),
                    port: 5432,
                };
                (target, port)
            })
            .collect())
    }

    /// TCP or Unix socket, judged by the first server libpq tries: its
    /// `hostaddr`, else its host (a directory path or `@name` is a socket,
    /// an empty host the default socket).
    pub fn connection_kind(&self) -> ConnectionKind {
        if validate::first_is_socket(self) {
            ConnectionKind::Local
        } else {
            ConnectionKind::Inet
        }
    }

    /// Every keyword the DSN set, decoded, with secrets as `***`, in
    /// keyword order.
    pub fn redacted_options(&self) -> BTreeMap<&'static str, String> {
        let mut all = self.options.clone();
        if self.password.is_some() {
            all.insert("password", REDACTED.to_owned());
        }
        if self.sslpassword.is_some() {
            all.insert("sslpassword", REDACTED.to_owned());
        }
        all
    }

    /// A copy with another user and password (provisioning derives DSNs).
    #[must_use]
    pub fn with_credentials(&self, user: &str, password: Option<Secret>) -> Self {
        let mut dsn = self.clone();
        dsn.options.insert("user", user.to_owned());
        dsn.password = password;
        dsn
    }

    /// A copy with another password, everything else kept.
    #[must_use]
    pub fn with_password(&self, password: Secret) -> Self {
        let mut dsn = self.clone();
        dsn.password = Some(password);
        dsn
    }

    /// A copy without the password (and `sslpassword`).
    #[must_use]
    pub fn without_password(&self) -> Self {
        let mut dsn = self.clone();
        dsn.password = None;
        dsn.sslpassword = None;
        dsn
    }

    /// A copy pointing at another database.
    #[must_use]
    pub fn with_dbname(&self, dbname: &str) -> Self {
        let mut dsn = self.clone();
        dsn.options.insert("dbname", dbname.to_owned());
        dsn
    }
}

/// Characters percent-encoded in the redacted URI display: everything but
/// RFC 3986 unreserved characters, so the display parses back to the same DSN.
fn encode(value: &str, out: &mut String) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

impl fmt::Display for Dsn {
    /// `postgres://user:***@host:port/dbname?key=value`, every value
    /// percent-encoded, the password redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::from("postgres://");
        // An empty user cannot be written in the authority (libpq would
        // not store it); it goes to the query like any other empty value.
        let inline_user = self.user().is_some_and(|u| !u.is_empty());
        if let Some(user) = self.user().filter(|_| inline_user) {
            encode(user, &mut s);
        }
        if self.password.is_some() {
            s.push(':');
            s.push_str(REDACTED);
        }
        if inline_user || self.password.is_some() {
            s.push('@');
        }
        let hosts: Vec<&str> = self
            .get("host")
            .map(|h| h.split(',').collect())
            .unwrap_or_default();
        let ports: Vec<&str> = self
            .get("port")
            .map(|p| p.split(',').collect())
            .unwrap_or_default();
        // Host and port lists pair up in the URI only when they have the
        // same length and say something; otherwise they go to the query,
        // still exact.
        let inline_hosts = self.get("host").is_some_and(|h| !h.is_empty())
            && match self.get("port") {
                // libpq stores a port list of commas for `h1,h2` with no
                // ports, so several hosts need explicit ports to be inline.
                None => hosts.len() == 1,
                Some(p) => !p.is_empty() && ports.len() == hosts.len(),
            }
            && hosts.iter().all(|h| !h.starts_with('/'));
        if inline_hosts {
            for (i, host) in hosts.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                if host.contains(':') {
                    // libpq decodes bracketed hosts too, so only an address's
                    // own characters need to stay readable.
                    s.push('[');
                    for c in host.chars() {
                        if c.is_ascii_hexdigit() || c == ':' || c == '.' {
                            s.push(c);
                        } else {
                            encode(c.encode_utf8(&mut [0; 4]), &mut s);
                        }
                    }
                    s.push(']');
                } else {
                    encode(host, &mut s);
                }
                if let Some(port) = ports.get(i).filter(|p| !p.is_empty()) {
                    s.push(':');
                    encode(port, &mut s);
                }
            }
        }
        if let Some(db) = self.dbname().filter(|d| !d.is_empty()) {
            s.push('/');
            encode(db, &mut s);
        }
        let mut sep = '?';
        for (key, value) in &self.options {
            let inline = match *key {
                "user" => inline_user,
                "dbname" => !value.is_empty(),
                "host" | "port" => inline_hosts,
                _ => false,
            };
            if inline {
                continue;
            }
            s.push(sep);
            sep = '&';
            s.push_str(key);
            s.push('=');
            encode(value, &mut s);
        }
        if self.sslpassword.is_some() {
            s.push(sep);
            s.push_str("sslpassword=");
            s.push_str(REDACTED);
        }
        f.write_str(&s)
    }
}

impl fmt::Debug for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dsn({self})")
    }
}
