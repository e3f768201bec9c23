//! The reference grammar of distribution/reference (`regexp.go`), matched
//! by hand.
//!
//! Why not the regular expressions: compiling them cost more than the rest
//! of a one-reference `image-digest resolve`, paid on every run of every
//! tool that takes a reference. The grammar needs no search: each part is
//! delimited by a character the parts after it cannot contain (the digest
//! follows the first `@`, a tag follows the first `:` after the last `/`, a
//! domain ends at the first `/`), so a reference splits in one pass and each
//! part is a loop over its bytes. The unit tests keep the expressions,
//! transcribed from `regexp.go`, and compare both on random strings; the
//! conformance tests run the reference implementation's vectors.
//!
//! Everything here is syntax only: the counted limits (a tag of at most 128
//! characters, 32 or more hex digits in a digest) are the caller's.
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [ domain "/" ] remote-name
//! domain           := ( domain-name | "[" [a-fA-F0-9:]+ "]" ) [ ":" [0-9]+ ]
//! domain-name      := domain-component ( "." domain-component )*
//! domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
//! remote-name      := path-component ( "/" path-component )*
//! path-component   := [a-z0-9]+ ( separator [a-z0-9]+ )*
//! separator        := [._] | "__" | [-]+
//! tag              := [\w][\w.-]*
//! digest           := algorithm ":" [0-9a-fA-F]+
//! algorithm        := [A-Za-z][A-Za-z0-9]* ( [-_+.] [A-Za-z][A-Za-z0-9]* )*
//! ```

/// The parts of a reference: `(name, tag, digest)`, when `text` matches
/// `^(name)(?::(tag))?(?:@(digest))?$`.
pub fn reference(text: &str) -> Option<(&str, Option<&str>, Option<&str>)> {
    let (left, digest) = match text.split_once('@') {
        Some((left, digest)) => (left, Some(digest)),
        None => (text, None),
    };
    if digest.is_some_and(|d| !self::digest(d)) {
        return None;
    }
    // A tag holds neither `/` nor `:`, and a name holds `:` only in its
    // domain, before its first `/`.
    let last_component = left.rfind('/').map_or(0, |slash| slash + 1);
    let (name, tag) = match left[last_component..].find(':') {
        Some(colon) => {
            let colon = last_component + colon;
            (&left[..colon], Some(&left[colon + 1..]))
        }
        None => (left, None),
    };
    if tag.is_some_and(|t| !self::tag(t)) {
        return None;
    }
    self::name(name)?;
    Some((name, tag, digest))
}

/// `(domain, remote-name)` when `text` matches `^(?:(domain)/)?(remote-name)$`.
/// As with the expression, the first component is the domain whenever it
/// can be (`foo/bar` gives `foo`); the caller decides what a domain means.
pub fn name(text: &str) -> Option<(Option<&str>, &str)> {
    if let Some((domain, remote)) = text.split_once('/')
        && domain_and_port(domain)
        && remote_name(remote)
    {
        return Some((Some(domain), remote));
    }
    remote_name(text).then_some((None, text))
}

/// Whether `text` is `host[:port]` by the domain rule.
pub fn domain_and_port(text: &str) -> bool {
    let (host_ok, port) = if let Some(inner) = text.strip_prefix('[') {
        let Some((address, after)) = inner.split_once(']') else {
            return false;
        };
        let address_ok =
            !address.is_empty() && address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return false,
            },
        };
        (address_ok, port)
    } else {
        match text.split_once(':') {
            Some((host, port)) => (domain_name(host), Some(port)),
            None => (domain_name(text), None),
        }
    };
    host_ok && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `text` is a tag: `[\w][\w.-]*`, ASCII `\w` as in Go.
pub fn tag(text: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut bytes = text.bytes();
    bytes.next().is_some_and(word) && bytes.all(|b| word(b) || b == b'.' || b == b'-')
}

/// Whether `text` is `algorithm:hex` by the reference grammar.
pub fn digest(text: &str) -> bool {
    let Some((algorithm, hex)) = text.split_once(':') else {
        return false;
    };
    let component = |c: &str| {
        let mut bytes = c.bytes();
        bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric())
    };
    algorithm.split(['-', '_', '+', '.']).all(component)
        && !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `text` matches go-digest's `DigestRegexp`
/// (`[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+`): well formed, whether
/// or not the algorithm is known.
pub fn go_digest(text: &str) -> bool {
    let Some((algorithm, encoded)) = text.split_once(':') else {
        return false;
    };
    let component = |c: &str| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    };
    algorithm.split(['.', '+', '_', '-']).all(component)
        && !encoded.is_empty()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'=' || b == b'_' || b == b'-')
}

fn remote_name(text: &str) -> bool {
    text.split('/').all(path_component)
}

fn path_component(text: &str) -> bool {
    let alphanumeric = |b: &u8| b.is_ascii_digit() || b.is_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut i = 0;
    loop {
        let run = bytes[i..].iter().take_while(|b| alphanumeric(b)).count();
        if run == 0 {
            return false;
        }
        i += run;
        if i == bytes.len() {
            return true;
        }
        let sep = bytes[i..].iter().take_while(|b| !alphanumeric(b)).count();
        let separator = &bytes[i..i + sep];
        if !(matches!(separator, b"." | b"_" | b"__") || separator.iter().all(|&b| b == b'-')) {
            return false;
        }
        i += sep;
    }
}

fn domain_name(text: &str) -> bool {
    text.split('.').all(|c| {
        !c.is_empty()
            && !c.starts_with('-')
            && !c.ends_with('-')
            && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;

    // regexp.go, transcribed (Go's ASCII `\w` spelled out).
    const ALPHANUMERIC: &str = "[a-z0-9]+";
    const SEPARATOR: &str = "(?:[._]|__|[-]+)";
    const DOMAIN_NAME_COMPONENT: &str = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    const IPV6_ADDRESS: &str = r"\[(?:[a-fA-F0-9:]+)\]";
    const TAG: &str = r"[0-9A-Za-z_][0-9A-Za-z_.-]*";
    const DIGEST: &str = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]+";
    const GO_DIGEST: &str = "[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+";

    struct Expressions {
        reference: Regex,
        name: Regex,
        domain: Regex,
        tag: Regex,
        digest: Regex,
        go_digest: Regex,
    }

    fn expressions() -> Expressions {
        let pc = format!("{ALPHANUMERIC}(?:{SEPARATOR}{ALPHANUMERIC})*");
        let remote = format!("{pc}(?:/{pc})*");
        let domain_name = format!("{DOMAIN_NAME_COMPONENT}(?:\\.{DOMAIN_NAME_COMPONENT})*");
        let domain = format!("(?:{domain_name}|{IPV6_ADDRESS})(?::[0-9]+)?");
        let re = |p: String| Regex::new(&p).unwrap();
        Expressions {
            reference: re(format!(
                "^((?:{domain}/)?{remote})(?::({TAG}))?(?:@({DIGEST}))?$"
            )),
            name: re(format!("^(?:({domain})/)?({remote})$")),
            domain: re(format!("^{domain}$")),
            tag: re(format!("^{TAG}$")),
            digest: re(format!("^{DIGEST}$")),
            go_digest: re(format!("^{GO_DIGEST}$")),
        }
    }

    fn check(e: &Expressions, text: &str) {
        let want = e.reference.captures(text).map(|c| {
            (
                c.get(1).map_or("", |m| m.as_str()),
                c.get(2).map(|m| m.as_str()),
                c.get(3).map(|m| m.as_str()),
            )
        });
        assert_eq!(reference(text), want, "reference {text:?}");
        let want = e.name.captures(text).map(|c| {
            (
                c.get(1).map(|m| m.as_str()),
                c.get(2).map_or("", |m| m.as_str()),
            )
        });
        assert_eq!(name(text), want, "name {text:?}");
        assert_eq!(
            domain_and_port(text),
            e.domain.is_match(text),
            "domain {text:?}"
        );
        assert_eq!(tag(text), e.tag.is_match(text), "tag {text:?}");
        assert_eq!(digest(text), e.digest.is_match(text), "digest {text:?}");
        assert_eq!(
            go_digest(text),
            e.go_digest.is_match(text),
            "go digest {text:?}"
        );
    }

    #[test]
    fn hand_matching_agrees_with_the_expressions_on_random_strings() {
        let e = expressions();
        // Small alphabets that hit every rule's edges often.
        let alphabets: [&[u8]; 4] = [
            b"a0/:@.-_",
            b"aZ9/:.-_[]@+=",
            b"ab:/@.",
            b"af09AF:/@sha256+.-_[]=x",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for alphabet in alphabets {
            for _ in 0..40_000 {
                let len = usize::try_from(next() % 14).unwrap();
                let text: String = (0..len)
                    .map(|_| {
                        let i = usize::try_from(next()).unwrap() % alphabet.len();
                        char::from(alphabet[i])
                    })
                    .collect();
                check(&e, &text);
            }
        }
    }

    #[test]
    fn hand_matching_agrees_with_the_expressions_on_chosen_strings() {
        let e = expressions();
        for text in [
            "",
            "a",
            "ubuntu",
            "ubuntu:22.04",
            "library/ubuntu:latest@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "localhost:5000/app",
            "localhost:5000",
            "[::1]:5000/app:v1",
            "[::1]/app",
            "[::1]:/app",
            "[]/app",
            "[::1]x/app",
            "Foo/bar",
            "foo/Bar",
            "a--b",
            "a---b/c__d/e.f/g_h",
            "a___b",
            "a._b",
            "a-/b",
            "-a",
            "a-.b/c",
            "host-.com/x",
            "host.-com/x",
            "host..com/x",
            "h:/x",
            "h:x/y",
            "a/b:c:d",
            "a@b:c",
            "a@sha256:abc@sha256:abc",
            "a:_tag.-x",
            "a:.tag",
            "a@sha256+b.c-d_e:0a",
            "a@sha256+:0a",
            "a@1sha:0a",
            "sha256:abc=_-",
            "a.b+c_d-e:x",
            "é/x",
            "x/é",
        ] {
            check(&e, text);
        }
    }
}
