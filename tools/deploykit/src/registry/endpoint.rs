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

/// A URL a server handed the client (a token realm), parsed as a URL and
/// judged on what it parses to: the scheme must be HTTP, it must carry no
/// userinfo (`http://localhost:1@evil.example/` names `evil.example`, and
/// userinfo would be a credential the server chose), and whether it is on
/// loopback is decided by its parsed host, never by splitting the text.
#[derive(Debug, Clone)]
pub struct ServerUrl {
    /// The parsed URL.
    pub url: url::Url,
    /// `host[:port]`, for messages.
    pub authority: String,
    /// Whether the host is `localhost` or a loopback address.
    pub loopback: bool,
}

impl ServerUrl {
    /// Parses `text`; the error says why it is refused (the caller adds
    /// who sent it).
    pub fn parse(text: &str) -> Result<ServerUrl, String> {
        let url = url::Url::parse(text).map_err(|e| format!("not a URL ({e}): {text:?}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("not an HTTP URL: {text:?}"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("a URL with userinfo (user@ or user:password@ before the host)".to_owned());
        }
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => return Err(format!("no host: {text:?}")),
        };
        let host = url.host_str().unwrap_or_default();
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Ok(ServerUrl {
            url,
            authority,
            loopback,
        })
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }
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
    fn server_urls_are_judged_on_their_parsed_host() {
        for hostile in [
            "http://localhost:1@evil.example:18089/token",
            "http://localhost:x@127.0.0.1:18089/token",
            "https://user@auth.example/token",
            "ftp://127.0.0.1/token",
            "127.0.0.1/token",
        ] {
            assert!(ServerUrl::parse(hostile).is_err(), "{hostile}");
        }
        let ok = ServerUrl::parse("http://127.0.0.1:5000/token?x=1").expect("loopback");
        assert!(ok.loopback && !ok.is_https());
        assert_eq!(ok.authority, "127.0.0.1:5000");
        for (text, loopback) in [
            ("http://LOCALHOST/t", true),
            ("http://[::1]:9/t", true),
            ("http://127.9.9.9/t", true),
            ("http://localhost.evil.example/t", false),
            ("https://auth.example/token", false),
            ("http://0x7f000001/t", true),
        ] {
            let u = ServerUrl::parse(text).expect(text);
            assert_eq!(u.loopback, loopback, "{text}");
        }
    }

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
