//! The checks libpq makes when it connects, before it sends a byte.
//!
//! `PQconninfoParse` only reads keywords; `PQconnectdb` then validates the
//! values (`pqConnectOptions2`) and, host by host, the port, the numeric
//! address and the TCP options, and `connect_timeout` once an attempt
//! waits on the network. A DSN that
//! fails any of these never reaches a server, so a linter that stops at the
//! parser passes DSNs that cannot work. [`validate`] makes the same checks
//! in the same order, with libpq's texts, following the newest released
//! libpq where releases differ.
//!
//! An empty value is a value: `sslmode=` is refused as libpq refuses it.
//! Only where libpq itself treats an empty string as "not set" (host, port,
//! dbname, user, `require_auth`, the TLS protocol bounds) does it mean the
//! default here.

use super::{Dsn, DsnError, SslMode, Target, libpq_int, numeric_host};

/// The whole connect-time check, first failure first.
///
/// libpq checks each target as it reaches it: its port and numeric address,
/// then, for TCP, the socket options; `connect_timeout` is read the first
/// time an attempt waits on the network. A TCP connect always waits; a
/// socket connect fails at once when no server made the socket, so only the
/// last target's socket (the one that must be there for the DSN to work at
/// all) is taken to get that far.
pub(super) fn validate(dsn: &Dsn) -> Result<(), DsnError> {
    let targets = dsn.targets_unchecked()?;
    options(dsn)?;
    let mut tcp_checked = false;
    for (i, (target, raw_port)) in targets.iter().enumerate() {
        if let Some(raw) = raw_port {
            port(raw)?;
        }
        if let Some(addr) = &target.hostaddr
            && numeric_host::parse(addr).is_none()
        {
            return Err(DsnError(format!(
                "could not parse network address \"{addr}\": Name or service not known"
            )));
        }
        if !target.is_socket() && !tcp_checked {
            tcp_options(dsn)?;
            tcp_checked = true;
        }
        if (!target.is_socket() || i + 1 == targets.len())
            && let Some(raw) = dsn.get("connect_timeout")
        {
            libpq_int::parse(raw, "connect_timeout")?;
        }
    }
    Ok(())
}

/// A port element: an integer as libpq reads it, then 1..=65535.
pub(super) fn port(raw: &str) -> Result<u16, DsnError> {
    let n = libpq_int::parse(raw, "port")?;
    u16::try_from(n)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| DsnError(format!("invalid port number: \"{raw}\"")))
}

fn invalid(keyword: &str, value: &str) -> DsnError {
    DsnError(format!("invalid {keyword} value: \"{value}\""))
}

/// `value` must be one of `allowed` when set (an empty string included).
fn one_of(dsn: &Dsn, keyword: &str, allowed: &[&str]) -> Result<(), DsnError> {
    match dsn.get(keyword) {
        Some(v) if !allowed.contains(&v) => Err(invalid(keyword, v)),
        _ => Ok(()),
    }
}

/// `pqConnectOptions2`, in its order.
fn options(dsn: &Dsn) -> Result<(), DsnError> {
    if let Some(v) = dsn.get("require_auth").filter(|v| !v.is_empty()) {
        require_auth(v)?;
    }
    one_of(dsn, "channel_binding", &["disable", "prefer", "require"])?;
    let mode = dsn.sslmode()?;
    one_of(dsn, "sslnegotiation", &["postgres", "direct"])?;
    if dsn.get("sslnegotiation") == Some("direct") && mode < SslMode::Require {
        return Err(DsnError(format!(
            "weak sslmode \"{}\" may not be used with sslnegotiation=direct (use \"require\", \"verify-ca\", or \"verify-full\")",
            mode.as_str()
        )));
    }
    if dsn.get("sslrootcert") == Some("system") && mode != SslMode::VerifyFull {
        return Err(DsnError(format!(
            "weak sslmode \"{}\" may not be used with sslrootcert=system (use \"verify-full\")",
            mode.as_str()
        )));
    }
    tls_versions(dsn)?;
    one_of(dsn, "sslcertmode", &["disable", "allow", "require"])?;
    one_of(dsn, "gssencmode", &["disable", "prefer", "require"])?;
    one_of(
        dsn,
        "target_session_attrs",
        &[
            "any",
            "read-write",
            "read-only",
            "primary",
            "standby",
            "prefer-standby",
        ],
    )?;
    for (keyword, what) in [
        ("scram_client_key", "client"),
        ("scram_server_key", "server"),
    ] {
        if let Some(v) = dsn.get(keyword) {
            scram_key(v, what)?;
        }
    }
    one_of(dsn, "load_balance_hosts", &["disable", "random"])?;
    protocol_versions(dsn)
}

/// `ssl_min_protocol_version` (default TLSv1.2) and
/// `ssl_max_protocol_version`, compared without regard to case.
fn tls_versions(dsn: &Dsn) -> Result<(), DsnError> {
    const VERSIONS: [&str; 4] = ["tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3"];
    let rank = |v: &str| VERSIONS.iter().position(|k| v.eq_ignore_ascii_case(k));
    let min = dsn.get("ssl_min_protocol_version").unwrap_or("TLSv1.2");
    let max = dsn.get("ssl_max_protocol_version").unwrap_or("");
    for (keyword, value) in [
        ("ssl_min_protocol_version", min),
        ("ssl_max_protocol_version", max),
    ] {
        if !value.is_empty() && rank(value).is_none() {
            return Err(DsnError(format!(
                "invalid \"{keyword}\" value: \"{value}\""
            )));
        }
    }
    if let (Some(lo), Some(hi)) = (rank(min), rank(max))
        && lo > hi
    {
        return Err(DsnError("invalid SSL protocol version range".into()));
    }
    Ok(())
}

/// `min_protocol_version` / `max_protocol_version` (libpq 18): 3.0, 3.2 or
/// `latest` (3.2), the minimum not above the maximum.
fn protocol_versions(dsn: &Dsn) -> Result<(), DsnError> {
    let read = |keyword: &str| -> Result<Option<u8>, DsnError> {
        match dsn.get(keyword) {
            None => Ok(None),
            Some("3.0") => Ok(Some(0)),
            Some("3.2" | "latest") => Ok(Some(2)),
            Some(other) => Err(invalid(keyword, other)),
        }
    };
    let min = read("min_protocol_version")?;
    let max = read("max_protocol_version")?;
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        return Err(DsnError(
            "\"min_protocol_version\" is greater than \"max_protocol_version\"".into(),
        ));
    }
    Ok(())
}

/// The authentication methods `require_auth` names, each with the request
/// bits libpq tracks for it (GSS and SSPI share their continuation bit).
const AUTH_METHODS: &[(&str, u32)] = &[
    ("password", 1 << 3),
    ("md5", 1 << 5),
    ("gss", (1 << 7) | (1 << 8)),
    ("sspi", (1 << 9) | (1 << 8)),
    ("scram-sha-256", 1 << 10),
    ("oauth", 1 << 11),
];

/// libpq's `require_auth` list: methods, or negated methods (`!md5`), never
/// both, none twice; `none` allows (or with `!`, forbids) no authentication.
fn require_auth(value: &str) -> Result<(), DsnError> {
    let mut negated = false;
    let mut auth_required = true;
    let mut allowed: u32 = 0;
    for (i, part) in value.split(',').enumerate() {
        let method = if let Some(rest) = part.strip_prefix('!') {
            if i == 0 {
                auth_required = false;
                allowed = u32::MAX;
            } else if !negated {
                return Err(DsnError(format!(
                    "negative require_auth method \"{part}\" cannot be mixed with non-negative methods"
                )));
            }
            negated = true;
            rest
        } else if negated {
            return Err(DsnError(format!(
                "require_auth method \"{part}\" cannot be mixed with negative methods"
            )));
        } else {
            part
        };
        let duplicate = || {
            DsnError(format!(
                "require_auth method \"{part}\" is specified more than once"
            ))
        };
        if method == "none" {
            // "none" clears the need for a challenge, "!none" sets it.
            if auth_required == negated {
                return Err(duplicate());
            }
            auth_required = negated;
            continue;
        }
        let Some((_, bits)) = AUTH_METHODS.iter().find(|(m, _)| *m == method) else {
            return Err(invalid("require_auth", method));
        };
        if negated {
            if allowed & bits == 0 {
                return Err(duplicate());
            }
            allowed &= !bits;
        } else {
            if allowed & bits == *bits {
                return Err(duplicate());
            }
            allowed |= bits;
        }
    }
    Ok(())
}

/// A SCRAM key (libpq 18): base64 of exactly 32 bytes.
fn scram_key(value: &str, what: &str) -> Result<(), DsnError> {
    match pg_b64_decoded_len(value) {
        None => Err(DsnError(format!("invalid SCRAM {what} key"))),
        Some(32) => Ok(()),
        Some(n) => Err(DsnError(format!("invalid SCRAM {what} key length: {n}"))),
    }
}

/// The length PostgreSQL's own base64 decoder produces, or `None` where it
/// fails: `=` may start only in a group's third or fourth place, and from
/// then on every group yields as many bytes as that first padded one (the
/// decoder does not refuse data after the padding); any other character
/// outside the alphabet, a blank included, is refused.
fn pg_b64_decoded_len(value: &str) -> Option<usize> {
    let mut pos = 0;
    let mut pad = 0;
    let mut len = 0;
    for c in value.bytes() {
        if c == b'=' {
            if pad == 0 {
                pad = match pos {
                    2 => 1,
                    3 => 2,
                    _ => return None,
                };
            }
        } else if !(c.is_ascii_alphanumeric() || c == b'+' || c == b'/') {
            return None;
        }
        pos += 1;
        if pos == 4 {
            len += match pad {
                0 => 3,
                1 => 1,
                _ => 2,
            };
            pos = 0;
        }
    }
    (pos == 0).then_some(len)
}

/// The TCP options libpq reads once it has a TCP socket: `keepalives`, and
/// only while keepalives are on, their timings and `tcp_user_timeout`.
///
/// libpq hands the timings to `setsockopt`, raising negative ones to 0, and
/// Linux refuses what is outside its own ranges (idle and interval 1 to
/// 32767 seconds, count 1 to 127), so on Linux those fail the connection
/// like a malformed number does.
fn tcp_options(dsn: &Dsn) -> Result<(), DsnError> {
    const TIMINGS: [(&str, &str, i32); 3] = [
        ("keepalives_idle", "TCP_KEEPIDLE", 32767),
        ("keepalives_interval", "TCP_KEEPINTVL", 32767),
        ("keepalives_count", "TCP_KEEPCNT", 127),
    ];
    if let Some(raw) = dsn.get("keepalives")
        && libpq_int::parse(raw, "keepalives")? == 0
    {
        return Ok(());
    }
    for (keyword, option, max) in TIMINGS {
        if let Some(raw) = dsn.get(keyword) {
            let n = libpq_int::parse(raw, keyword)?;
            if cfg!(target_os = "linux") && !(1..=max).contains(&n) {
                return Err(DsnError(format!(
                    "setsockopt({option}) failed: Invalid argument"
                )));
            }
        }
    }
    if let Some(raw) = dsn.get("tcp_user_timeout") {
        libpq_int::parse(raw, "tcp_user_timeout")?;
    }
    Ok(())
}

/// Whether the first server libpq tries is a Unix-domain socket, judged
/// from the host lists alone (a bad port does not change what the host is).
pub(super) fn first_is_socket(dsn: &Dsn) -> bool {
    let first = |key: &str| {
        dsn.get(key)
            .and_then(|v| v.split(',').next())
            .filter(|v| !v.is_empty())
    };
    if dsn.get("hostaddr").is_some_and(|a| !a.is_empty()) {
        // With a hostaddr list its first element decides; an empty one
        // falls back to the host of the same position.
        if first("hostaddr").is_some() {
            return false;
        }
    }
    Target {
        host: first("host").map(str::to_owned),
        hostaddr: None,
        port: 5432,
    }
    .is_socket()
}

#[cfg(test)]
mod tests;
