//! SCRAM-SHA-256 verifiers: made on this side, checked on this side.
//!
//! Postgres stores a password as a verifier
//! `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (RFC 5802,
//! RFC 7677). `ALTER ROLE … PASSWORD '<verifier>'` stores a verifier as is,
//! so the plaintext never reaches the server, its statement log or
//! `pg_stat_activity`. To know whether a role's password already matches
//! the DSN without changing it, [`matches`] derives the keys from the
//! password with the stored salt and iteration count, exactly as the server
//! does at login (`scram_verify_plain_password`), and compares.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use deploykit::Secret;
use ring::{digest, hmac, pbkdf2};
use std::num::NonZeroU32;

/// A fresh verifier for `password` (random salt, 4096 iterations), as
/// libpq's `PQencryptPasswordConn` makes it. The result is secret-derived:
/// it is returned as a [`Secret`] so it is never printed by accident.
pub fn verifier(password: &Secret) -> Secret {
    Secret::new(postgres_protocol::password::scram_sha_256(
        password.expose().as_bytes(),
    ))
}

/// The parts of a stored SCRAM-SHA-256 verifier.
#[derive(PartialEq, Eq)]
struct Parsed {
    iterations: NonZeroU32,
    salt: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

/// Parses `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`; `None`
/// for anything else (an MD5 hash, a plaintext password, garbage).
fn parse(stored: &str) -> Option<Parsed> {
    let rest = stored.strip_prefix("SCRAM-SHA-256$")?;
    let (params, keys) = rest.split_once('$')?;
    let (iterations, salt) = params.split_once(':')?;
    let (stored_key, server_key) = keys.split_once(':')?;
    let iterations = NonZeroU32::new(iterations.parse().ok()?)?;
    let salt = STANDARD.decode(salt).ok()?;
    let stored_key = STANDARD.decode(stored_key).ok()?;
    let server_key = STANDARD.decode(server_key).ok()?;
    if salt.is_empty() || stored_key.len() != 32 || server_key.len() != 32 {
        return None;
    }
    Some(Parsed {
        iterations,
        salt,
        stored_key,
        server_key,
    })
}

/// SASLprep as the server and libpq apply it: when the password is not
/// valid UTF-8 or SASLprep rejects it, the raw bytes are used.
fn prepare(password: &str) -> Vec<u8> {
    match stringprep::saslprep(password) {
        Ok(prepared) => prepared.into_owned().into_bytes(),
        Err(_) => password.as_bytes().to_vec(),
    }
}

/// Whether `password` is the password the stored verifier was made from.
/// A stored value that is not a SCRAM-SHA-256 verifier never matches (an
/// MD5 hash is replaced by a SCRAM verifier on the next run).
pub fn matches(stored: &Secret, password: &Secret) -> bool {
    let Some(parsed) = parse(stored.expose()) else {
        return false;
    };
    let mut salted = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        parsed.iterations,
        &parsed.salt,
        &prepare(password.expose()),
        &mut salted,
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
    let client_key = hmac::sign(&key, b"Client Key");
    let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
    let server_key = hmac::sign(&key, b"Server Key");
    // Not secret-dependent timing in any useful sense (the attacker would
    // need to control the stored verifier), but constant time costs nothing.
    constant_time_eq(stored_key.as_ref(), &parsed.stored_key)
        & constant_time_eq(server_key.as_ref(), &parsed.server_key)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_verifier_matches_its_password_only() {
        let pw = Secret::new("pl4nted-app-pw");
        let v = verifier(&pw);
        assert!(v.expose().starts_with("SCRAM-SHA-256$4096:"));
        assert!(matches(&v, &pw));
        assert!(!matches(&v, &Secret::new("pl4nted-app-pX")));
        assert!(!matches(&v, &Secret::new("")));
        // Two verifiers of one password differ (random salt) and both match.
        let v2 = verifier(&pw);
        assert_ne!(v.expose(), v2.expose());
        assert!(matches(&v2, &pw));
    }

    #[test]
    fn verifiers_made_by_postgres_match() {
        // Made by PostgreSQL 15.18: CREATE ROLE t PASSWORD 'secret';
        // CREATE ROLE u PASSWORD 'pass word'; SELECT rolpassword FROM pg_authid.
        let t = Secret::new(
            "SCRAM-SHA-256$4096:371WFNsskh2WhUWgmeOPHQ==$gsGnxjE3LP9nYvQHGd42GohD6k086NndcMSPPEsErMo=:k0ICjaA13godNkeik81SQhu6CELD5fExgWIQf7tDGzM=",
        );
        let u = Secret::new(
            "SCRAM-SHA-256$4096:0lSXKcRckNyZQfAZMa5lNg==$rUQBUrmZHXVIqt05daH1JIdphs2uo77zbpYuNIt3Pks=:EoRHoDlupvkUVh8V2jSIJfnVksExsLSxxAkMVYoj8XI=",
        );
        assert!(matches(&t, &Secret::new("secret")));
        assert!(!matches(&t, &Secret::new("Secret")));
        assert!(matches(&u, &Secret::new("pass word")));
        // SASLprep maps a no-break space to a space, as the server does.
        assert!(matches(&u, &Secret::new("pass\u{00A0}word")));
        assert!(!matches(&u, &Secret::new("password")));
    }

    #[test]
    fn other_iteration_counts_and_saslprep_are_honoured() {
        // Build a verifier with 10 000 iterations the long way.
        let password = "pass\u{00A0}word"; // NBSP maps to a space under SASLprep
        let salt = b"0123456789abcdef";
        let iterations = NonZeroU32::new(10_000).unwrap_or(NonZeroU32::MIN);
        let mut salted = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            salt,
            b"pass word",
            &mut salted,
        );
        let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
        let stored = digest::digest(&digest::SHA256, hmac::sign(&key, b"Client Key").as_ref());
        let server = hmac::sign(&key, b"Server Key");
        let text = format!(
            "SCRAM-SHA-256$10000:{}${}:{}",
            STANDARD.encode(salt),
            STANDARD.encode(stored.as_ref()),
            STANDARD.encode(server.as_ref())
        );
        let stored = Secret::new(text);
        assert!(matches(&stored, &Secret::new(password)));
        assert!(matches(&stored, &Secret::new("pass word")));
        assert!(!matches(&stored, &Secret::new("password")));
    }

    #[test]
    fn non_scram_values_never_match() {
        let pw = Secret::new("secret");
        for stored in [
            "md55ebe2294ecd0e0f08eab7690d2a6ee69",
            "secret",
            "",
            "SCRAM-SHA-256$0:AAAA$AAAA:AAAA",
            "SCRAM-SHA-256$4096:!!!$x:y",
            "SCRAM-SHA-256$4096:c2FsdA==$c2hvcnQ=:c2hvcnQ=",
        ] {
            assert!(!matches(&Secret::new(stored), &pw), "{stored}");
        }
    }
}
