//! The connection keywords libpq knows (PostgreSQL 17's `PQconninfoOptions`).
//!
//! A parameter outside this list is an error, exactly as libpq reports it, so
//! a typo such as `sslmdoe=require` cannot silently leave TLS off.

/// Every keyword libpq accepts in a connection string.
pub const KNOWN: &[&str] = &[
    "service",
    "user",
    "password",
    "passfile",
    "channel_binding",
    "connect_timeout",
    "dbname",
    "host",
    "hostaddr",
    "port",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "sslmode",
    "sslnegotiation",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslcertmode",
    "sslpassword",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "require_auth",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "gssencmode",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "replication",
    "target_session_attrs",
    "load_balance_hosts",
];

/// Keywords whose value is a secret and is shown as `***`.
pub const SECRET: &[&str] = &["password", "sslpassword"];

/// The canonical `&'static str` for a known keyword.
pub fn lookup(keyword: &str) -> Option<&'static str> {
    KNOWN.iter().copied().find(|k| *k == keyword)
}
