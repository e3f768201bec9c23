//! `WWW-Authenticate` challenges (RFC 7235), as registries send them.
//!
//! A registry answers 401 with one or more challenges, in one header or
//! several: `Bearer realm="https://auth.example/token",service="reg",
//! scope="repository:app:pull"`, `Basic realm="Registry"`. The parser is
//! strict where guessing would be dangerous (an unterminated quote, a missing
//! comma between parameters, a parameter without a value is an error: the
//! client then reports the challenge as unusable rather than sending
//! credentials to a half-parsed realm) and lenient where real registries
//! are sloppy (case of scheme and keys, spaces around `=`, unquoted values
//! such as `realm=/`, empty list elements).

use std::collections::BTreeMap;

/// One authentication challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme, lower-cased (`basic`, `bearer`).
    pub scheme: String,
    /// The parameters, keys lower-cased, values unquoted and unescaped.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// A parameter's value.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }
}

/// Why a header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// A quoted string without its closing quote.
    #[error("unterminated quoted string in WWW-Authenticate")]
    UnterminatedQuote,
    /// `key=` with nothing after it.
    #[error("parameter {0:?} has no value in WWW-Authenticate")]
    MissingValue(String),
    /// Two parameters not separated by a comma, or other junk.
    #[error("unexpected {0:?} in WWW-Authenticate (missing comma?)")]
    Unexpected(char),
}

/// Parses every challenge of every header line given, in order.
pub fn parse_headers<'a>(
    headers: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Challenge>, ChallengeError> {
    let mut all = Vec::new();
    for header in headers {
        all.extend(parse(header)?);
    }
    Ok(all)
}

/// Parses the challenges of one header value.
pub fn parse(header: &str) -> Result<Vec<Challenge>, ChallengeError> {
    let mut p = Parser {
        chars: header.chars().collect(),
        pos: 0,
    };
    let mut challenges = Vec::new();
    loop {
        p.skip_ws_and_commas();
        if p.at_end() {
            break;
        }
        let scheme = p.word()?.to_ascii_lowercase();
        if scheme.is_empty() {
            return Err(ChallengeError::Unexpected(p.peek().unwrap_or(' ')));
        }
        let mut challenge = Challenge {
            scheme,
            params: BTreeMap::new(),
        };
        // Parameters until the next challenge's scheme or the end.
        loop {
            p.skip_ws_and_commas();
            if p.at_end() {
                break;
            }
            let start = p.pos;
            let key = p.word()?;
            p.skip_ws();
            if p.peek() != Some('=') || key.is_empty() {
                // Not `key=`: the start of the next challenge.
                p.pos = start;
                break;
            }
            p.pos += 1;
            p.skip_ws();
            let value = match p.peek() {
                None | Some(',') => return Err(ChallengeError::MissingValue(key)),
                Some('"') => p.quoted()?,
                Some(_) => p.unquoted(),
            };
            challenge.params.insert(key.to_ascii_lowercase(), value);
            p.skip_ws();
            match p.peek() {
                None | Some(',') => {}
                Some(c) => return Err(ChallengeError::Unexpected(c)),
            }
        }
        challenges.push(challenge);
    }
    Ok(challenges)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
    }

    fn skip_ws_and_commas(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | ',')) {
            self.pos += 1;
        }
    }

    /// A token or a quoted string (some registries quote schemes and keys).
    fn word(&mut self) -> Result<String, ChallengeError> {
        if self.peek() == Some('"') {
            return self.quoted();
        }
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    /// An unquoted value: everything up to whitespace or a comma.
    fn unquoted(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| !matches!(c, ' ' | '\t' | ',' | '"'))
        {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// A quoted string; `\x` stands for `x`.
    fn quoted(&mut self) -> Result<String, ChallengeError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(ChallengeError::UnterminatedQuote),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        None => return Err(ChallengeError::UnterminatedQuote),
                        Some(c) => {
                            out.push(c);
                            self.pos += 1;
                        }
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(header: &str) -> Challenge {
        let mut all = parse(header).unwrap();
        assert_eq!(all.len(), 1, "{header}: {all:?}");
        all.remove(0)
    }

    fn params(c: &Challenge) -> Vec<(&str, &str)> {
        c.params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn bearer_with_realm_service_scope() {
        let c = one(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull""#,
        );
        assert_eq!(c.scheme, "bearer");
        assert_eq!(
            params(&c),
            [
                ("realm", "https://auth.docker.io/token"),
                ("scope", "repository:library/ubuntu:pull"),
                ("service", "registry.docker.io"),
            ]
        );
    }

    #[test]
    fn basic_forms() {
        assert_eq!(one("Basic").params.len(), 0);
        assert_eq!(one("BASIC   ").scheme, "basic");
        assert_eq!(one("Basic realm=/").param("realm"), Some("/"));
        assert_eq!(one("bAsIc ReAlM=\"x\"").param("realm"), Some("x"));
        assert_eq!(one(r#""Basic" "realm"="r""#).param("realm"), Some("r"));
    }

    #[test]
    fn quoting_and_escapes() {
        let c = one(r#"Bearer a="x\"y",b="\\",c="",d="he\"\l\lo",e="a,b c""#);
        assert_eq!(
            params(&c),
            [
                ("a", "x\"y"),
                ("b", "\\"),
                ("c", ""),
                ("d", "he\"llo"),
                ("e", "a,b c")
            ]
        );
    }

    #[test]
    fn spaces_around_equals_and_empty_elements() {
        let c = one(r#"Bearer realm = "r"  ,, service=s ,scope  ="x"  "#);
        assert_eq!(
            params(&c),
            [("realm", "r"), ("scope", "x"), ("service", "s")]
        );
    }

    #[test]
    fn several_challenges_in_one_header_and_across_headers() {
        let all = parse(r#"Bearer realm="r", scope="a b", Basic realm="B""#).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[0].scheme.as_str(), all[0].param("scope")),
            ("bearer", Some("a b"))
        );
        assert_eq!(
            (all[1].scheme.as_str(), all[1].param("realm")),
            ("basic", Some("B"))
        );
        let all = parse_headers(["Negotiate", r#"Basic realm="x""#]).unwrap();
        assert_eq!(
            all.iter().map(|c| c.scheme.as_str()).collect::<Vec<_>>(),
            ["negotiate", "basic"]
        );
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn malformed_headers_are_errors() {
        assert_eq!(
            parse(r#"Basic realm="open"#),
            Err(ChallengeError::UnterminatedQuote)
        );
        assert_eq!(
            parse(r#"Basic realm="x\"#),
            Err(ChallengeError::UnterminatedQuote)
        );
        assert_eq!(
            parse(r#"Basic realm="x" charset="y""#),
            Err(ChallengeError::Unexpected('c'))
        );
        assert_eq!(
            parse(r#"Bearer realm="x",service="#),
            Err(ChallengeError::MissingValue("service".into()))
        );
        assert_eq!(
            parse(r#"Bearer realm="x",service= "#),
            Err(ChallengeError::MissingValue("service".into()))
        );
    }
}
