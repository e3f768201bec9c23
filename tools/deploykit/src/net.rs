//! HTTP agents for the tools, built once so every tool talks HTTP alike.
//!
//! ureq's default resolver runs each lookup on a fresh thread when a timeout
//! is set, and every request here has one (nothing waits past a budget).
//! Most requests these tools make name an IP literal (`127.0.0.1:5000`, the
//! health port of a container on the host network), where there is nothing
//! to look up: spawning and reaping a thread for it is a measurable part of
//! a one-request run (`image-digest resolve`). [`LiteralFirst`] answers IP
//! literals itself and hands every name to ureq's resolver, deadline and all.
//!
//! ureq also zeroes large input and output buffers on every connection by
//! default, more than these tools ever exchange; [`config_builder`] starts every
//! tool's agent with buffers sized for what these tools exchange. The input
//! buffer is also the most of a response header ureq reads (it does not grow
//! it): a header that filled it would read as a connection closed early and
//! be retried until the budget ran out, so the limit is set just below it
//! and a larger header is an error that says so.

use std::net::{IpAddr, SocketAddr};

use ureq::config::{Config, ConfigBuilder};
use ureq::http::Uri;
use ureq::typestate::AgentScope;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::{Agent, Error};

/// A resolver that answers IP literals without a lookup and sends names to
/// ureq's [`DefaultResolver`].
#[derive(Debug, Default)]
pub struct LiteralFirst {
    names: DefaultResolver,
}

impl LiteralFirst {
    /// The address of `uri` when its host is an IP literal, with the
    /// scheme's default port when it names none.
    fn literal(uri: &Uri) -> Option<SocketAddr> {
        let host = uri.host()?;
        let ip: IpAddr = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .parse()
            .ok()?;
        let port = uri.port_u16().or_else(|| match uri.scheme_str()? {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        })?;
        Some(SocketAddr::new(ip, port))
    }
}

impl Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, Error> {
        match Self::literal(uri) {
            Some(addr) => {
                let mut found = self.empty();
                found.push(addr);
                Ok(found)
            }
            None => self.names.resolve(uri, config, timeout),
        }
    }
}

/// The input buffer of every connection: the largest response header the
/// tools accept is one byte less (nginx, in front of many registries, passes
/// on upstream headers of 4 or 8 KiB by default). Bodies stream through it,
/// whatever their size.
pub const INPUT_BUFFER: usize = 16 * 1024;

/// The output buffer of every connection: the longest request header line
/// must fit (8 KiB, nginx's limit; a registry token is a few KiB).
pub const OUTPUT_BUFFER: usize = 8 * 1024;

/// ureq's agent configuration with the tools' buffer sizes and the response
/// header limit that goes with them.
pub fn config_builder() -> ConfigBuilder<AgentScope> {
    Agent::config_builder()
        .input_buffer_size(INPUT_BUFFER)
        .max_response_header_size(INPUT_BUFFER - 1)
        .output_buffer_size(OUTPUT_BUFFER)
}

/// An agent with `config`, ureq's connectors (TLS per the config) and the
/// [`LiteralFirst`] resolver.
pub fn agent(config: Config) -> Agent {
    Agent::with_parts(config, DefaultConnector::default(), LiteralFirst::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal(uri: &str) -> Option<SocketAddr> {
        LiteralFirst::literal(&uri.parse().ok()?)
    }

    #[test]
    fn ip_literals_resolve_to_themselves_with_the_default_ports() {
        assert_eq!(
            literal("http://127.0.0.1:5000/v2/"),
            Some("127.0.0.1:5000".parse().unwrap())
        );
        assert_eq!(
            literal("https://10.0.0.1/x"),
            Some("10.0.0.1:443".parse().unwrap())
        );
        assert_eq!(
            literal("http://[::1]:9000/livez"),
            Some("[::1]:9000".parse().unwrap())
        );
        assert_eq!(literal("http://[::1]/"), Some("[::1]:80".parse().unwrap()));
    }

    #[test]
    fn names_are_left_to_the_lookup() {
        assert_eq!(literal("http://localhost:5000/"), None);
        assert_eq!(literal("https://registry-1.docker.io/v2/"), None);
        assert_eq!(literal("http://127.0.0.1.nip.io/"), None);
    }
}
