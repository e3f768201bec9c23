//! Connecting with a [`Dsn`]: libpq's sslmode semantics on rustls.
//!
//! [`connect`] tries the DSN's targets in order, as libpq does, within one
//! overall deadline that covers name lookup, the TCP connect, the TLS
//! handshake and authentication. A server that accepts the TCP connection
//! and then never answers cannot hold the caller past its budget: each
//! attempt runs on a helper thread that is abandoned when the budget ends.
//!
//! TLS follows libpq's `sslmode` (rust-postgres' own `Config` refuses
//! `verify-ca` and `verify-full`, so those are enforced here, in the rustls
//! certificate verifier, with the ring provider):
//!
//! | sslmode       | TLS                                  | certificate check                      |
//! |---------------|--------------------------------------|----------------------------------------|
//! | `disable`     | never                                | —                                      |
//! | `allow`       | plaintext first, TLS if the server rejects it | none                          |
//! | `prefer`      | TLS if offered, plaintext if refused or the handshake fails | none           |
//! | `require`     | mandatory                            | none, or as `verify-ca` if a root certificate file exists |
//! | `verify-ca`   | mandatory                            | chain to `sslrootcert`                 |
//! | `verify-full` | mandatory                            | chain, and the host name (or IP)       |
//!
//! `sslrootcert` defaults to `~/.postgresql/root.crt`; `sslrootcert=system`
//! uses the platform's trust store (through `rustls-native-certs`) and, as in
//! libpq 16+, implies `verify-full`. Unix-socket targets never use TLS.
//!
//! Failures keep the status the conventions give them: the server refusing
//! the login (SQLSTATE class 28, a missing database 3D000, no CONNECT
//! privilege 42501) is [`Exit::Denied`]; anything on the way there (refused,
//! timed out, name lookup, TLS, certificate, server gone) is
//! [`Exit::Remote`]; a DSN or root-certificate problem on this side is
//! [`Exit::Usage`]. Messages name the target as `host:port` and never
//! contain the password.

use std::error::Error as _;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use postgres::config::{ChannelBinding, SslMode as PgSslMode, SslNegotiation, TargetSessionAttrs};
use postgres::{Client, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{Dsn, SslMode, Target};
use crate::exit::{Error, Exit, Result};

/// The `sslrootcert` value that selects the platform's trust store.
const SYSTEM_ROOTS: &str = "system";

/// The end of libpq's message for a missing root certificate file.
const MISSING_ROOT_HINT: &str = "either provide the file, use the system's trusted roots with \
                                 sslrootcert=system, or change sslmode to disable server \
                                 certificate verification";

/// Connects with `dsn`, trying its targets in order like libpq, bounded by
/// `timeout` overall (DNS, connect, TLS, auth included).
///
/// A connection-level failure (refused, timed out, TLS, certificate) moves
/// on to the next target; a refusal by a server (bad password, no
/// `pg_hba.conf` entry, missing database) ends the attempt at once, as in
/// libpq. `connect_timeout`, when the DSN sets it, bounds each target's
/// attempt within the overall budget.
pub fn connect(dsn: &Dsn, timeout: Duration) -> Result<Client> {
    let deadline = Instant::now() + timeout;
    // What libpq would refuse before sending a byte is refused here too, by
    // every tool that connects, with libpq's words.
    dsn.validate()
        .map_err(|e| Error::usage(format!("invalid DSN {dsn}: {e}")))?;
    let targets = dsn
        .targets()
        .map_err(|e| Error::usage(format!("invalid DSN {dsn}: {e}")))?;
    let base = base_config(dsn)?;
    let per_target = dsn
        .connect_timeout()
        .map_err(|e| Error::usage(format!("invalid DSN {dsn}: {e}")))?;
    // Resolved only when a target really uses TCP: libpq never reads the
    // root certificate for a Unix socket.
    let tls = if targets.iter().all(Target::is_socket) {
        None
    } else {
        Some(TlsPlan::from_dsn(dsn)?)
    };

    let mut failures: Vec<Error> = Vec::new();
    for target in &targets {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            failures.push(Error::remote(format!(
                "connecting to {}: not tried, the {} budget was spent",
                target.display(),
                crate::duration::format(timeout)
            )));
            break;
        }
        let attempt_deadline = Instant::now() + per_target.map_or(remaining, |t| t.min(remaining));
        let config = target_config(&base, target)?;
        match connect_target(&config, target, tls.as_ref(), attempt_deadline) {
            Ok(client) => return Ok(client),
            Err(err) if err.status() == Exit::Remote => failures.push(err),
            Err(err) => return Err(err),
        }
    }
    Err(combine(failures))
}

/// One failure as it is, several as one remote error listing each.
fn combine(mut failures: Vec<Error>) -> Error {
    match failures.len() {
        0 => Error::remote("no server to connect to"),
        1 => failures.remove(0),
        n => {
            let each: Vec<String> = failures.iter().map(ToString::to_string).collect();
            Error::remote(format!(
                "could not connect to any of {n} servers: {}",
                each.join("; ")
            ))
        }
    }
}

/// How the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Not at all (`prefer`, `allow`, `require` without a root file); the
    /// handshake signatures are still verified.
    Nothing,
    /// The chain must lead to a trusted root (`verify-ca`).
    Chain,
    /// The chain, and the certificate must name the host (`verify-full`).
    ChainAndName,
}

/// What TLS a DSN asks for, with the root certificates already loaded.
#[derive(Clone)]
struct TlsPlan {
    mode: SslMode,
    config: Option<Arc<ClientConfig>>,
}

impl TlsPlan {
    /// Resolves `sslmode` and `sslrootcert` as libpq does, loading the roots.
    fn from_dsn(dsn: &Dsn) -> Result<Self> {
        let explicit_mode = dsn.get("sslmode").is_some_and(|m| !m.is_empty());
        let mut mode = dsn
            .sslmode()
            .map_err(|e| Error::usage(format!("invalid DSN {dsn}: {e}")))?;
        let rootcert = dsn.sslrootcert();
        if rootcert == Some(SYSTEM_ROOTS) {
            if !explicit_mode {
                mode = SslMode::VerifyFull;
            } else if mode != SslMode::VerifyFull {
                return Err(Error::usage(format!(
                    "weak sslmode \"{}\" may not be used with sslrootcert=system (use \"verify-full\")",
                    mode.as_str()
                )));
            }
        }
        let (check, roots) = match mode {
            SslMode::Disable => return Ok(TlsPlan { mode, config: None }),
            SslMode::Allow | SslMode::Prefer => (Check::Nothing, None),
            SslMode::Require => {
                // libpq: "if a root CA file exists, the behavior of
                // sslmode=require will be the same as that of verify-ca".
                match root_file(rootcert) {
                    Some(path) if path.is_file() => (Check::Chain, Some(load_roots_file(&path)?)),
                    _ => (Check::Nothing, None),
                }
            }
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let check = if mode == SslMode::VerifyCa {
                    Check::Chain
                } else {
                    Check::ChainAndName
                };
                let roots = if rootcert == Some(SYSTEM_ROOTS) {
                    load_system_roots()?
                } else {
                    match root_file(rootcert) {
                        Some(path) if path.is_file() => load_roots_file(&path)?,
                        Some(path) => {
                            return Err(Error::usage(format!(
                                "root certificate file \"{}\" does not exist; {MISSING_ROOT_HINT}",
                                path.display()
                            )));
                        }
                        None => {
                            return Err(Error::usage(format!(
                                "could not get home directory to locate root certificate file; \
                                 {MISSING_ROOT_HINT}"
                            )));
                        }
                    }
                };
                (check, Some(roots))
            }
        };
        Ok(TlsPlan {
            mode,
            config: Some(Arc::new(client_config(check, roots)?)),
        })
    }
}

/// The root certificate file libpq would read: `sslrootcert`, else
/// `~/.postgresql/root.crt` (`None` when there is no home directory).
fn root_file(sslrootcert: Option<&str>) -> Option<PathBuf> {
    match sslrootcert {
        Some(path) => Some(PathBuf::from(path)),
        None => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|home| Path::new(&home).join(".postgresql").join("root.crt")),
    }
}

/// Loads every certificate of a PEM file as a trust anchor.
fn load_roots_file(path: &Path) -> Result<RootCertStore> {
    let unreadable = |e: &dyn fmt::Display| {
        Error::usage(format!(
            "could not read root certificate file \"{}\": {e}",
            path.display()
        ))
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
        let cert = cert.map_err(|e| unreadable(&e))?;
        roots.add(cert).map_err(|e| unreadable(&e))?;
    }
    if roots.is_empty() {
        return Err(unreadable(&"no certificate found in it"));
    }
    Ok(roots)
}

/// The platform's trusted roots, for `sslrootcert=system`.
fn load_system_roots() -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = found
            .errors
            .first()
            .map_or_else(|| "none found".to_owned(), ToString::to_string);
        return Err(Error::usage(format!(
            "could not load the system's trusted root certificates for sslrootcert=system: {why}"
        )));
    }
    Ok(roots)
}

/// A rustls client configuration on the ring provider that checks the
/// server certificate as `check` says.
fn client_config(check: Check, roots: Option<RootCertStore>) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = PgCertVerifier {
        check,
        roots: Arc::new(roots.unwrap_or_else(RootCertStore::empty)),
        algorithms: provider.signature_verification_algorithms,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::usage(format!("setting up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(config)
}

/// The server certificate verifier of libpq's sslmodes.
///
/// `verify-ca` checks the chain with the same webpki call
/// `WebPkiServerVerifier` makes, and skips only its host-name step;
/// `verify-full` does both; the unverified modes accept any certificate.
/// The handshake signatures are always checked with the provider's
/// algorithms, so the peer must hold the key of the certificate it sent.
#[derive(Debug)]
struct PgCertVerifier {
    check: Check,
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PgCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if self.check == Check::Nothing {
            return Ok(ServerCertVerified::assertion());
        }
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        if self.check == Check::ChainAndName {
            verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Everything but the host: user, password, database and session options.
fn base_config(dsn: &Dsn) -> Result<postgres::Config> {
    let invalid = |e: &dyn fmt::Display| Error::usage(format!("invalid DSN {dsn}: {e}"));
    let mut config = postgres::Config::new();
    // libpq defaults the user to the operating-system user.
    let user = match dsn.user().filter(|u| !u.is_empty()) {
        Some(user) => user.to_owned(),
        None => ["USER", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
            .ok_or_else(|| Error::usage(format!("invalid DSN {dsn}: no user name given")))?,
    };
    config.user(&user);
    if let Some(password) = dsn.password() {
        config.password(password.expose());
    }
    config.dbname(
        dsn.effective_dbname()
            .filter(|d| !d.is_empty())
            .unwrap_or(&user),
    );
    if let Some(options) = dsn.server_options() {
        config.options(options);
    }
    // As libpq: application_name, else fallback_application_name; and, as
    // psql does for itself, the tool's own name when the DSN names neither.
    if let Some(name) = dsn
        .application_name()
        .or_else(|| dsn.get("fallback_application_name"))
        .filter(|n| !n.is_empty())
        .or_else(|| crate::process::tool_name())
    {
        config.application_name(name);
    }
    if let Some(value) = nonempty(dsn, "target_session_attrs") {
        config.target_session_attrs(match value {
            "any" => TargetSessionAttrs::Any,
            "read-write" => TargetSessionAttrs::ReadWrite,
            "read-only" => TargetSessionAttrs::ReadOnly,
            other => {
                return Err(invalid(&format_args!(
                    "target_session_attrs value \"{other}\" is not supported (any, read-write, read-only)"
                )));
            }
        });
    }
    if let Some(value) = nonempty(dsn, "channel_binding") {
        config.channel_binding(match value {
            "disable" => ChannelBinding::Disable,
            "prefer" => ChannelBinding::Prefer,
            "require" => ChannelBinding::Require,
            other => {
                return Err(invalid(&format_args!(
                    "invalid channel_binding value: \"{other}\""
                )));
            }
        });
    }
    if let Some(value) = nonempty(dsn, "sslnegotiation") {
        config.ssl_negotiation(match value {
            "postgres" => SslNegotiation::Postgres,
            "direct" => SslNegotiation::Direct,
            other => {
                return Err(invalid(&format_args!(
                    "invalid sslnegotiation value: \"{other}\""
                )));
            }
        });
    }
    if let Some(n) = int_option(dsn, "keepalives")? {
        config.keepalives(n != 0);
    }
    if let Some(n) = int_option(dsn, "keepalives_idle")?.filter(|n| *n > 0) {
        config.keepalives_idle(Duration::from_secs(n.unsigned_abs()));
    }
    if let Some(n) = int_option(dsn, "keepalives_interval")?.filter(|n| *n > 0) {
        config.keepalives_interval(Duration::from_secs(n.unsigned_abs()));
    }
    if let Some(n) = int_option(dsn, "keepalives_count")?.filter(|n| *n > 0) {
        config.keepalives_retries(u32::try_from(n).unwrap_or(u32::MAX));
    }
    if let Some(n) = int_option(dsn, "tcp_user_timeout")?.filter(|n| *n > 0) {
        config.tcp_user_timeout(Duration::from_millis(n.unsigned_abs()));
    }
    Ok(config)
}

fn nonempty<'a>(dsn: &'a Dsn, keyword: &str) -> Option<&'a str> {
    dsn.get(keyword).filter(|v| !v.is_empty())
}

/// An integer keyword, with libpq's error text.
fn int_option(dsn: &Dsn, keyword: &str) -> Result<Option<i64>> {
    nonempty(dsn, keyword)
        .map(|raw| {
            raw.trim().parse::<i64>().map_err(|_| {
                Error::usage(format!(
                    "invalid DSN {dsn}: invalid integer value \"{raw}\" for connection option \"{keyword}\""
                ))
            })
        })
        .transpose()
}

/// `base` pointed at one target. With `hostaddr` alone, the address is also
/// the TLS server name (rust-postgres needs one for the handshake).
fn target_config(base: &postgres::Config, target: &Target) -> Result<postgres::Config> {
    let mut config = base.clone();
    config.port(target.port);
    if target.is_socket() {
        let dir = target
            .host
            .as_deref()
            .filter(|h| !h.is_empty())
            .unwrap_or("/var/run/postgresql");
        config.host_path(dir);
        return Ok(config);
    }
    let addr = target
        .hostaddr
        .as_deref()
        .map(|a| {
            a.parse::<IpAddr>()
                .map_err(|_| Error::usage(format!("could not parse network address \"{a}\"")))
        })
        .transpose()?;
    match (target.host.as_deref(), addr) {
        (Some(host), addr) => {
            config.host(host);
            if let Some(addr) = addr {
                config.hostaddr(addr);
            }
        }
        (None, Some(addr)) => {
            config.host(&addr.to_string());
            config.hostaddr(addr);
        }
        (None, None) => unreachable!("a TCP target has a host or a hostaddr"),
    }
    Ok(config)
}

/// The TLS set-up of one attempt.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wire {
    /// No TLS at all.
    Plain,
    /// TLS if the server offers it.
    TlsIfOffered,
    /// TLS or fail.
    TlsRequired,
}

/// Connects to one target, with libpq's `allow`/`prefer` second tries.
fn connect_target(
    config: &postgres::Config,
    target: &Target,
    tls: Option<&TlsPlan>,
    deadline: Instant,
) -> Result<Client> {
    let mode = match tls {
        Some(plan) if !target.is_socket() => plan.mode,
        _ => SslMode::Disable,
    };
    let rustls = tls.and_then(|p| p.config.clone());
    let once = |wire: Wire| attempt(config, target, wire, rustls.clone(), deadline);
    match mode {
        SslMode::Disable => once(Wire::Plain).map_err(|f| f.into_error(target)),
        SslMode::Allow => match once(Wire::Plain) {
            // libpq: "allow" retries with TLS when the server rejects the
            // plaintext connection.
            Err(Failure::Postgres(e)) if e.code().is_some_and(|c| c.code() == "28000") => {
                once(Wire::TlsRequired).map_err(|f| f.into_error(target))
            }
            other => other.map_err(|f| f.into_error(target)),
        },
        SslMode::Prefer => match once(Wire::TlsIfOffered) {
            // libpq: "prefer" retries without TLS when the handshake fails
            // or the server rejects the TLS connection (a hostnossl-only
            // pg_hba). A wrong password or a missing database would be the
            // same in plaintext, so those are not retried.
            Err(Failure::Postgres(e))
                if is_tls_failure(&e) || e.code().is_some_and(|c| c.code() == "28000") =>
            {
                once(Wire::Plain).map_err(|f| f.into_error(target))
            }
            other => other.map_err(|f| f.into_error(target)),
        },
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            once(Wire::TlsRequired).map_err(|f| f.into_error(target))
        }
    }
}

/// Why one attempt failed.
enum Failure {
    Postgres(postgres::Error),
    TimedOut(Duration),
    Lost,
}

impl Failure {
    fn into_error(self, target: &Target) -> Error {
        let at = target.display();
        match self {
            Failure::Postgres(e) => classify(&at, &e),
            Failure::TimedOut(budget) => Error::remote(format!(
                "connecting to {at}: timed out after {}",
                // The budget left when the attempt began, shown as the
                // round figure the caller asked for (999ms reads as 1.0s).
                crate::duration::format(Duration::from_millis(
                    u64::try_from(budget.as_millis().div_ceil(100) * 100).unwrap_or(u64::MAX)
                ))
            )),
            Failure::Lost => Error::remote(format!(
                "connecting to {at}: the connection attempt ended without a result"
            )),
        }
    }
}

/// One connection attempt on a helper thread, abandoned at `deadline`.
fn attempt(
    config: &postgres::Config,
    target: &Target,
    wire: Wire,
    rustls: Option<Arc<ClientConfig>>,
    deadline: Instant,
) -> std::result::Result<Client, Failure> {
    let budget = deadline.saturating_duration_since(Instant::now());
    if budget.is_zero() {
        return Err(Failure::TimedOut(budget));
    }
    let mut config = config.clone();
    config.connect_timeout(budget);
    let (tx, rx) = mpsc::sync_channel(1);
    let tls = match (wire, rustls) {
        (Wire::Plain, _) | (_, None) => {
            config.ssl_mode(PgSslMode::Disable);
            None
        }
        (Wire::TlsIfOffered, Some(c)) => {
            config.ssl_mode(PgSslMode::Prefer);
            Some(MakeRustlsConnect::new((*c).clone()))
        }
        (Wire::TlsRequired, Some(c)) => {
            config.ssl_mode(PgSslMode::Require);
            Some(MakeRustlsConnect::new((*c).clone()))
        }
    };
    let spawned = thread::Builder::new()
        .name(format!("pg-connect {}", target.display()))
        .spawn(move || {
            let result = match tls {
                Some(tls) => config.connect(tls),
                None => config.connect(NoTls),
            };
            // The caller may have given up: then the client is dropped here.
            let _ = tx.send(result);
        });
    if spawned.is_err() {
        return Err(Failure::Lost);
    }
    match rx.recv_timeout(budget) {
        Ok(result) => result.map_err(Failure::Postgres),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Failure::TimedOut(budget)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Failure::Lost),
    }
}

/// Whether rust-postgres failed in the TLS negotiation (its error kinds are
/// private; the kind's text is its stable `Display`).
fn is_tls_failure(e: &postgres::Error) -> bool {
    e.as_db_error().is_none() && e.to_string() == "error performing TLS handshake"
}

/// The exit status and message of a failed connection to `at`.
fn classify(at: &str, e: &postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let message = format!("connecting to {at}: {}", db.message());
        return match db.code().code() {
            // invalid_authorization_specification (no pg_hba.conf entry,
            // role does not exist), invalid_password, and the rest of
            // class 28; invalid_catalog_name (no such database);
            // insufficient_privilege (no CONNECT privilege).
            c if c.starts_with("28") || c == "3D000" || c == "42501" => Error::denied(message),
            _ => Error::remote(message),
        };
    }
    let kind = e.to_string();
    let cause = e.source().map(chain).unwrap_or_default();
    match kind.as_str() {
        // The server asked for a password the DSN does not have.
        "invalid configuration" if cause == "password missing" => Error::denied(format!(
            "connecting to {at}: the server requested password authentication, but no password was given"
        )),
        "authentication error" => Error::denied(format!(
            "connecting to {at}: authentication failed: {cause}"
        )),
        "error performing TLS handshake" if cause == "server does not support TLS" => {
            Error::remote(format!(
                "connecting to {at}: the server does not support TLS, but sslmode requires it"
            ))
        }
        "error performing TLS handshake" if cause.contains("UnknownIssuer") => {
            Error::remote(format!(
                "connecting to {at}: TLS handshake failed: {cause} (the server certificate is \
                 not signed by a CA of the root certificate file)"
            ))
        }
        "error performing TLS handshake" => {
            Error::remote(format!("connecting to {at}: TLS handshake failed: {cause}"))
        }
        "connection closed" => Error::remote(format!(
            "connecting to {at}: the server closed the connection unexpectedly"
        )),
        _ if cause.is_empty() => Error::remote(format!("connecting to {at}: {kind}")),
        _ => Error::remote(format!("connecting to {at}: {kind}: {cause}")),
    }
}

/// An error and its sources, joined with `: `, each said once.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};

    struct Pki {
        ca: CertificateDer<'static>,
        ca_pem: String,
        leaf: CertificateDer<'static>,
        other_ca: CertificateDer<'static>,
    }

    fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        (params.self_signed(&key).unwrap(), key)
    }

    fn pki(leaf_names: &[&str]) -> Pki {
        let (ca_cert, ca_key) = ca("test ca");
        let (other, _) = ca("other ca");
        let names: Vec<String> = leaf_names.iter().map(|s| (*s).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.is_ca = IsCa::ExplicitNoCa;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let leaf = params.signed_by(&key, &ca_cert, &ca_key).unwrap();
        Pki {
            ca: ca_cert.der().clone(),
            ca_pem: ca_cert.pem(),
            leaf: leaf.der().clone(),
            other_ca: other.der().clone(),
        }
    }

    fn verifier(check: Check, root: Option<&CertificateDer<'static>>) -> PgCertVerifier {
        let mut roots = RootCertStore::empty();
        if let Some(root) = root {
            roots.add(root.clone()).unwrap();
        }
        PgCertVerifier {
            check,
            roots: Arc::new(roots),
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        }
    }

    fn verify(
        v: &PgCertVerifier,
        leaf: &CertificateDer<'_>,
        name: &str,
    ) -> std::result::Result<(), rustls::Error> {
        let name = ServerName::try_from(name.to_owned()).unwrap();
        v.verify_server_cert(leaf, &[], &name, &[], UnixTime::now())
            .map(|_| ())
    }

    #[test]
    fn verify_ca_checks_the_chain_but_not_the_name() {
        let p = pki(&["db.internal"]);
        let v = verifier(Check::Chain, Some(&p.ca));
        verify(&v, &p.leaf, "db.internal").unwrap();
        verify(&v, &p.leaf, "elsewhere.example").unwrap();
        verify(&v, &p.leaf, "10.1.2.3").unwrap();
        let wrong_root = verifier(Check::Chain, Some(&p.other_ca));
        let err = verify(&wrong_root, &p.leaf, "db.internal").unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
            ),
            "{err:?}"
        );
    }

    #[test]
    fn verify_full_checks_the_chain_and_the_name() {
        let p = pki(&["localhost", "127.0.0.1"]);
        let v = verifier(Check::ChainAndName, Some(&p.ca));
        verify(&v, &p.leaf, "localhost").unwrap();
        verify(&v, &p.leaf, "127.0.0.1").unwrap();
        let err = verify(&v, &p.leaf, "db.example").unwrap_err();
        assert!(err.to_string().contains("certificate"), "{err}");
        assert!(verify(&v, &p.leaf, "127.0.0.2").is_err());
        let wrong_root = verifier(Check::ChainAndName, Some(&p.other_ca));
        assert!(verify(&wrong_root, &p.leaf, "localhost").is_err());
    }

    #[test]
    fn unverified_modes_accept_any_certificate() {
        let p = pki(&["x.example"]);
        let v = verifier(Check::Nothing, None);
        verify(&v, &p.leaf, "anything.example").unwrap();
        verify(&v, &p.ca, "anything.example").unwrap();
        assert!(!v.supported_verify_schemes().is_empty());
    }

    #[test]
    fn a_self_signed_ca_is_not_accepted_as_a_server_certificate() {
        let p = pki(&["localhost"]);
        let v = verifier(Check::Chain, Some(&p.ca));
        assert!(verify(&v, &p.ca, "localhost").is_err());
    }

    fn dsn(text: &str) -> Dsn {
        Dsn::parse(text).unwrap()
    }

    #[test]
    fn base_config_maps_the_session_keywords() {
        let d = dsn(
            "postgres://app:s3cret@db:6543/shop?application_name=probe&options=-c%20search_path%3Dx&target_session_attrs=read-write",
        );
        let c = base_config(&d).unwrap();
        assert_eq!(c.get_user(), Some("app"));
        assert_eq!(c.get_password(), Some(&b"s3cret"[..]));
        assert_eq!(c.get_dbname(), Some("shop"));
        assert_eq!(c.get_application_name(), Some("probe"));
        assert_eq!(c.get_options(), Some("-c search_path=x"));
        assert_eq!(c.get_target_session_attrs(), TargetSessionAttrs::ReadWrite);
        // dbname defaults to the user, as in libpq.
        let c = base_config(&dsn("postgres://app@db")).unwrap();
        assert_eq!(c.get_dbname(), Some("app"));
    }

    #[test]
    fn bad_session_keywords_are_usage_errors_without_the_password() {
        let d = dsn("postgres://app:s3cret@db/x?target_session_attrs=primary");
        let err = base_config(&d).unwrap_err();
        assert_eq!(err.status(), Exit::Usage);
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(err.to_string().contains("target_session_attrs"), "{err}");
        let err = base_config(&dsn("postgres://app:s3cret@db/x?keepalives=yes")).unwrap_err();
        assert_eq!(err.status(), Exit::Usage);
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn target_config_maps_host_hostaddr_and_sockets() {
        use postgres::config::Host;
        let base = postgres::Config::new();
        let targets = dsn("host=db.internal,/run/pg hostaddr=10.0.0.5, port=6000,6001 user=u")
            .targets()
            .unwrap();
        let [tcp, sock] = targets.as_slice() else {
            panic!("two targets expected: {targets:?}");
        };
        let c = target_config(&base, tcp).unwrap();
        assert_eq!(c.get_hosts(), &[Host::Tcp("db.internal".into())]);
        assert_eq!(c.get_hostaddrs(), &["10.0.0.5".parse::<IpAddr>().unwrap()]);
        assert_eq!(c.get_ports(), &[6000]);
        let c = target_config(&base, sock).unwrap();
        assert_eq!(c.get_hosts(), &[Host::Unix("/run/pg".into())]);
        assert_eq!(c.get_ports(), &[6001]);
        // hostaddr alone: the address is also the TLS name.
        let t = Target {
            host: None,
            hostaddr: Some("127.0.0.1".into()),
            port: 5432,
        };
        let c = target_config(&base, &t).unwrap();
        assert_eq!(c.get_hosts(), &[Host::Tcp("127.0.0.1".into())]);
        let bad = Target {
            host: Some("db".into()),
            hostaddr: Some("db.internal".into()),
            port: 5432,
        };
        assert_eq!(
            target_config(&base, &bad).unwrap_err().status(),
            Exit::Usage
        );
    }

    #[test]
    fn verify_modes_need_a_root_certificate() {
        let dir = std::env::temp_dir().join(format!("deploykit-connect-{}", std::process::id()));
        let missing = dir.join("nope.crt");
        let d = dsn(&format!(
            "postgres://u:pw@db/x?sslmode=verify-ca&sslrootcert={}",
            missing.display()
        ));
        let Err(err) = TlsPlan::from_dsn(&d) else {
            panic!("a missing root file must be an error");
        };
        assert_eq!(err.status(), Exit::Usage);
        let text = err.to_string();
        assert!(text.contains("root certificate file"), "{text}");
        assert!(text.contains("does not exist"), "{text}");
        assert!(text.contains("sslrootcert=system"), "{text}");
        // require with a missing root file is fine: no verification.
        let d = dsn(&format!(
            "postgres://u:pw@db/x?sslmode=require&sslrootcert={}",
            missing.display()
        ));
        assert_eq!(
            TlsPlan::from_dsn(&d).ok().map(|p| p.mode),
            Some(SslMode::Require)
        );
    }

    #[test]
    fn sslrootcert_system_implies_verify_full_and_refuses_weaker_modes() {
        let err = TlsPlan::from_dsn(&dsn("postgres://u@db/x?sslmode=require&sslrootcert=system"))
            .err()
            .unwrap();
        assert_eq!(err.status(), Exit::Usage);
        assert!(err.to_string().contains("verify-full"), "{err}");
        // Without sslmode it becomes verify-full (if the host has a trust store).
        if let Ok(plan) = TlsPlan::from_dsn(&dsn("postgres://u@db/x?sslrootcert=system")) {
            assert_eq!(plan.mode, SslMode::VerifyFull);
        }
    }

    #[test]
    fn roots_load_from_pem_and_reject_garbage() {
        let p = pki(&["localhost"]);
        let dir =
            std::env::temp_dir().join(format!("deploykit-connect-pem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("ca.pem");
        std::fs::write(&good, &p.ca_pem).unwrap();
        assert_eq!(load_roots_file(&good).unwrap().len(), 1);
        let bad = dir.join("bad.pem");
        std::fs::write(&bad, "not a certificate\n").unwrap();
        let err = load_roots_file(&bad).unwrap_err();
        assert_eq!(err.status(), Exit::Usage);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refused_connections_are_remote_errors_within_the_budget() {
        // A port nothing listens on: bind, read the port, drop.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dsn(&format!(
            "postgres://app:hunter2@127.0.0.1:{port}/x?sslmode=disable"
        ));
        let started = Instant::now();
        let err = connect(&d, Duration::from_secs(3)).err().unwrap();
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(err.status(), Exit::Remote);
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("connecting to 127.0.0.1:{port}: ")),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn several_failed_targets_are_listed_in_one_error() {
        let ports: Vec<u16> = (0..2)
            .map(|_| {
                std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port()
            })
            .collect();
        let d = dsn(&format!(
            "postgres://app:hunter2@127.0.0.1:{},127.0.0.1:{}/x?sslmode=disable",
            ports[0], ports[1]
        ));
        let err = connect(&d, Duration::from_secs(3)).err().unwrap();
        assert_eq!(err.status(), Exit::Remote);
        let text = err.to_string();
        assert!(text.contains("any of 2 servers"), "{text}");
        assert!(text.contains(&ports[1].to_string()), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn chain_joins_sources_without_repeating_them() {
        let io = std::io::Error::other("inner");
        assert_eq!(chain(&io), "inner");
    }
}
