//! The connection keywords libpq knows (PostgreSQL 18's `PQconninfoOptions`).
//!
//! A parameter outside this list is an error, exactly as libpq reports it, so
//! a typo such as `sslmdoe=require` cannot silently leave TLS off. The list
//! follows the newest released libpq; [`ADDED`] says which keywords older
//! releases still refuse as unknown, for the documentation and the
//! differential test against the system's libpq. (`servicefile`, planned
//! for 18, did not ship in it: libpq 18 refuses it as unknown.)

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
    "sslkeylogfile",
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
    "min_protocol_version",
    "max_protocol_version",
    "gssencmode",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "replication",
    "target_session_attrs",
    "load_balance_hosts",
    "scram_client_key",
    "scram_server_key",
    "oauth_issuer",
    "oauth_client_id",
    "oauth_client_secret",
    "oauth_scope",
];

/// Keywords whose value is a secret and is shown as `***`.
pub const SECRET: &[&str] = &["password", "sslpassword"];

/// Keywords newer than PostgreSQL 15, with the major release that added
/// each: an older libpq refuses them as unknown options.
pub const ADDED: &[(&str, u32)] = &[
    ("require_auth", 16),
    ("sslcertmode", 16),
    ("load_balance_hosts", 16),
    ("gssdelegation", 16),
    ("sslnegotiation", 17),
    ("sslkeylogfile", 18),
    ("min_protocol_version", 18),
    ("max_protocol_version", 18),
    ("scram_client_key", 18),
    ("scram_server_key", 18),
    ("oauth_issuer", 18),
    ("oauth_client_id", 18),
    ("oauth_client_secret", 18),
    ("oauth_scope", 18),
];

/// The canonical `&'static str` for a known keyword.
pub fn lookup(keyword: &str) -> Option<&'static str> {
    KNOWN.iter().copied().find(|k| *k == keyword)
}

/// The libpq major release that added `keyword`, for keywords newer than
/// PostgreSQL 15 (`None` for the older ones and for unknown words).
pub fn added_in(keyword: &str) -> Option<u32> {
    ADDED.iter().find(|(k, _)| *k == keyword).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_added_keyword_is_known() {
        for (keyword, release) in ADDED {
            assert!(lookup(keyword).is_some(), "{keyword}");
            assert!((16..=18).contains(release), "{keyword}");
        }
        assert_eq!(added_in("sslnegotiation"), Some(17));
        assert_eq!(added_in("sslmode"), None);
    }
}
