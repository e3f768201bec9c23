//! Numeric host addresses as libpq accepts them in `hostaddr`.
//!
//! libpq passes `hostaddr` to `getaddrinfo` with `AI_NUMERICHOST`, so a
//! name there is refused before any connection. glibc reads IPv4 the way
//! `inet_aton` does, which is wider than dotted quads (`127.1`,
//! `0x7f.0.0.1` and `2130706433` are all 127.0.0.1), and IPv6 the way
//! `inet_pton` does, with an optional `%scope`. This module reads the same
//! forms, so that the same strings are refused, and returns the address so
//! that two spellings of one address compare equal.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Parses a numeric host address, or `None` where libpq would report
/// "could not parse network address".
pub fn parse(text: &str) -> Option<IpAddr> {
    if let Some(v4) = parse_inet_aton(text) {
        return Some(IpAddr::V4(v4));
    }
    let (addr, scope) = match text.split_once('%') {
        Some((a, s)) => (a, Some(s)),
        None => (text, None),
    };
    let v6: Ipv6Addr = addr.parse().ok()?;
    match scope {
        None => {}
        // glibc: a decimal interface index up to u32::MAX.
        Some(s) if s.bytes().next().is_some_and(|b| b.is_ascii_digit()) => {
            s.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
            s.parse::<u32>().ok()?;
        }
        // An interface name, only for link-local addresses. Whether the
        // interface exists is this machine's business, not the DSN's.
        Some(s) => {
            let link_local = (v6.segments()[0] & 0xffc0) == 0xfe80
                || (v6.segments()[0] & 0xff0f) == 0xff02
                || (v6.segments()[0] & 0xff0f) == 0xff01;
            let plausible = !s.is_empty()
                && s.len() < 16
                && s.bytes().all(|b| b.is_ascii_graphic() && b != b'/');
            if !(link_local && plausible) {
                return None;
            }
        }
    }
    Some(IpAddr::V6(v6))
}

/// glibc's `inet_aton`, without its tolerance of trailing text (`getaddrinfo`
/// uses the exact variant): one to four parts, each decimal, octal (leading
/// `0`) or hexadecimal (`0x`), the last one filling the remaining bytes.
fn parse_inet_aton(text: &str) -> Option<Ipv4Addr> {
    let mut parts: Vec<u64> = Vec::with_capacity(4);
    let b = text.as_bytes();
    let mut i = 0;
    loop {
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let mut base = 10;
        let mut digit = false;
        if b[i] == b'0' {
            i += 1;
            if matches!(b.get(i), Some(b'x' | b'X')) {
                base = 16;
                i += 1;
            } else {
                base = 8;
                digit = true;
            }
        }
        let mut value: u64 = 0;
        while let Some(&c) = b.get(i) {
            let d = match c {
                b'0'..=b'9' => u64::from(c - b'0'),
                b'a'..=b'f' if base == 16 => u64::from(c - b'a' + 10),
                b'A'..=b'F' if base == 16 => u64::from(c - b'A' + 10),
                _ => break,
            };
            if d >= base {
                return None;
            }
            value = value * base + d;
            if value > 0xffff_ffff {
                return None;
            }
            digit = true;
            i += 1;
        }
        if b.get(i) == Some(&b'.') {
            if parts.len() >= 3 || value > 0xff {
                return None;
            }
            parts.push(value);
            i += 1;
        } else {
            if !digit || i != b.len() {
                return None;
            }
            parts.push(value);
            break;
        }
    }
    let last = *parts.last()?;
    let head = &parts[..parts.len() - 1];
    let limit: u64 = match head.len() {
        0 => 0xffff_ffff,
        1 => 0x00ff_ffff,
        2 => 0xffff,
        _ => 0xff,
    };
    if last > limit {
        return None;
    }
    let mut addr: u64 = last;
    for (n, part) in head.iter().enumerate() {
        addr |= part << (24 - 8 * n);
    }
    u32::try_from(addr).ok().map(Ipv4Addr::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_getaddrinfo_accepts() {
        for (text, want) in [
            ("127.0.0.1", "127.0.0.1"),
            ("127.1", "127.0.0.1"),
            ("127.0.1", "127.0.0.1"),
            ("2130706433", "127.0.0.1"),
            ("0x7f.0.0.1", "127.0.0.1"),
            ("0177.0.0.01", "127.0.0.1"),
            ("10.0.0.255", "10.0.0.255"),
            ("::1", "::1"),
            ("2001:db8::1234", "2001:db8::1234"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("fe80::1%2", "fe80::1"),
            ("fe80::1%eth0", "fe80::1"),
        ] {
            assert_eq!(parse(text), Some(want.parse().unwrap()), "{text}");
        }
    }

    #[test]
    fn refuses_names_and_junk() {
        for text in [
            "",
            "db.internal",
            "localhost",
            "256.0.0.1",
            "1.2.3.4.5",
            "1.2.3.256",
            "1.2.65536",
            "08.0.0.1",
            "127.0.0.1 ",
            " 127.0.0.1",
            "127.0.0.1x",
            "4294967296",
            "1..2",
            "1.",
            "[::1]",
            "200z:db8::1234",
            "::1%",
            "::1%eth0",
            "fe80::1%a/b",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }
}
