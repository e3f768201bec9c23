//! Where a registry's API is reached, and how its URLs are written.
//!
//! A reference names a registry by its domain, which is not always the host
//! serving the API: Docker Hub's `docker.io` is served by
//! `registry-1.docker.io`. Whether a domain is on the loopback interface
//! decides what the client allows itself there (falling back to plain HTTP,
//! sending credentials to a plain-HTTP token service), so it is decided in
//! one place. Query components are percent-encoded here, for the token
//! requests and the upload URLs alike.

/// The host serving Docker Hub's registry API.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";

/// The API host of a registry domain (`docker.io` → `registry-1.docker.io`).
pub fn api_host(domain: &str) -> &str {
    if domain == crate::imageref::DEFAULT_DOMAIN {
        DOCKER_HUB_API_HOST
    } else {
        domain
    }
}

/// Whether a registry domain is on the loopback interface.
pub fn is_loopback(domain: &str) -> bool {
    let host = if let Some(rest) = domain.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        domain.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Percent-encodes a query component.
pub fn encode(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_mapping_and_loopback() {
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("ghcr.io"), "ghcr.io");
        for l in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
        ] {
            assert!(is_loopback(l), "{l}");
        }
        for n in [
            "ghcr.io",
            "10.0.0.1:5000",
            "[fc00::1]:5000",
            "localhost.example",
        ] {
            assert!(!is_loopback(n), "{n}");
        }
    }

    #[test]
    fn query_encoding() {
        assert_eq!(
            encode("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }
}
