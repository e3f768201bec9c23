//! What "ready" means for an HTTP answer: the accepted statuses, the JSON
//! body expectations, and the request headers that go with them.
//!
//! All of it is pure: parsed once from the command line (a bad value is a
//! usage error before any waiting starts) and applied to each answer.

use std::fmt;

use serde_json::Value;

/// A set of accepted HTTP statuses: codes and inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSet {
    ranges: Vec<(u16, u16)>,
}

impl Default for StatusSet {
    /// Any 2xx.
    fn default() -> Self {
        StatusSet {
            ranges: vec![(200, 299)],
        }
    }
}

impl StatusSet {
    /// Parses `200,204,300-399` (clap value parser; the error is shown as is).
    pub fn parse(text: &str) -> Result<Self, String> {
        let code = |s: &str| -> Result<u16, String> {
            let s = s.trim();
            match s.parse::<u16>() {
                Ok(n) if (100..=599).contains(&n) => Ok(n),
                _ => Err(format!(
                    "invalid HTTP status '{s}' (expected a code from 100 to 599, e.g. 200,204,300-399)"
                )),
            }
        };
        let mut ranges = Vec::new();
        for part in text.split(',') {
            if part.trim().is_empty() {
                return Err(format!("empty status in '{text}' (e.g. 200,204,300-399)"));
            }
            let range = if let Some((lo, hi)) = part.split_once('-') {
                (code(lo)?, code(hi)?)
            } else {
                let n = code(part)?;
                (n, n)
            };
            if range.0 > range.1 {
                return Err(format!("empty status range '{}'", part.trim()));
            }
            ranges.push(range);
        }
        Ok(StatusSet { ranges })
    }

    /// Whether `status` is accepted.
    pub fn accepts(&self, status: u16) -> bool {
        self.ranges
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&status))
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (lo, hi)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

/// One `--expect-json PATH=VALUE`: the body must hold VALUE at PATH.
///
/// PATH is dotted: each segment is an object key, or an index into an
/// array (`items.0.id`). A string in the body is compared with VALUE as
/// is; a number, boolean or null by its JSON text, so `ready=true` and
/// `count=3` work without quoting. Keys that contain a dot cannot be named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// The path segments.
    pub path: Vec<String>,
    /// The expected value, as text.
    pub value: String,
}

impl Expect {
    /// Parses `PATH=VALUE` (clap value parser).
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some((path, value)) = text.split_once('=') else {
            return Err(format!(
                "'{text}' is not PATH=VALUE (e.g. sha=abc123 or checks.db=ok)"
            ));
        };
        let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            return Err(format!(
                "invalid JSON path '{path}': empty segment (use dots between keys, e.g. checks.db)"
            ));
        }
        Ok(Expect {
            path: segments,
            value: value.to_owned(),
        })
    }

    /// The dotted path, for messages.
    pub fn path_text(&self) -> String {
        self.path.join(".")
    }

    /// Checks a parsed body; `Err` says what differs.
    pub fn check(&self, body: &Value) -> Result<(), String> {
        let mut at = body;
        for segment in &self.path {
            let next = match at {
                Value::Object(map) => map.get(segment),
                Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(v) => at = v,
                None => {
                    return Err(format!(
                        "{} is missing (expected {:?})",
                        self.path_text(),
                        self.value
                    ));
                }
            }
        }
        let actual = match at {
            Value::String(s) => s.clone(),
            Value::Number(_) | Value::Bool(_) | Value::Null => at.to_string(),
            Value::Array(_) | Value::Object(_) => {
                return Err(format!(
                    "{} is {} (expected {:?})",
                    self.path_text(),
                    if at.is_array() {
                        "an array"
                    } else {
                        "an object"
                    },
                    self.value
                ));
            }
        };
        if actual == self.value {
            Ok(())
        } else {
            Err(format!(
                "{} is {:?} (expected {:?})",
                self.path_text(),
                actual,
                self.value
            ))
        }
    }
}

/// Checks every expectation against a body; the first mismatch wins.
pub fn check_body(expects: &[Expect], body: &[u8]) -> Result<(), String> {
    if expects.is_empty() {
        return Ok(());
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON ({e})"))?;
    expects.iter().try_for_each(|e| e.check(&value))
}

/// One `--header 'Name: value'`.
///
/// The value may be a credential (`Authorization: Bearer …`), so `Debug`
/// shows the name only and no message ever prints the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    /// The header name.
    pub name: String,
    /// The header value.
    pub value: String,
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Header({}: ***)", self.name)
    }
}

impl Header {
    /// Parses `Name: value` (clap value parser). The error never repeats the value.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some((name, value)) = text.split_once(':') else {
            return Err("a header must be 'Name: value'".into());
        };
        let name = name.trim();
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_name {
            return Err(format!("invalid header name '{name}'"));
        }
        let value = value.trim();
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(format!(
                "the value of header '{name}' contains a line break or NUL"
            ));
        }
        Ok(Header {
            name: name.to_owned(),
            value: value.to_owned(),
        })
    }
}

/// The clap value parser of `--header`: unlike a plain function parser,
/// its error never repeats the value, which may hold a credential.
#[derive(Debug, Clone, Copy)]
pub struct HeaderParser;

impl clap::builder::TypedValueParser for HeaderParser {
    type Value = Header;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Header, clap::Error> {
        let text = value.to_str().ok_or_else(|| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidUtf8,
                "--header: the header is not valid UTF-8\n",
            )
        })?;
        Header::parse(text).map_err(|why| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid --header (value not shown): {why}\n"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_parse_codes_and_ranges() {
        let s = StatusSet::parse("200,204, 300-399").unwrap();
        assert!(s.accepts(200) && s.accepts(204) && s.accepts(301) && s.accepts(399));
        assert!(!s.accepts(201) && !s.accepts(400));
        assert_eq!(s.to_string(), "200,204,300-399");
        assert!(StatusSet::default().accepts(204));
        assert!(!StatusSet::default().accepts(503));
    }

    #[test]
    fn statuses_reject_junk() {
        for bad in ["", "abc", "200,", "99", "600", "300-200", "2xx", "200--300"] {
            assert!(StatusSet::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn expectations_follow_dotted_paths() {
        let body = json!({
            "sha": "abc123",
            "ready": true,
            "count": 3,
            "gone": null,
            "checks": {"db": "ok"},
            "items": [{"id": 7}],
        });
        for ok in [
            "sha=abc123",
            "ready=true",
            "count=3",
            "gone=null",
            "checks.db=ok",
            "items.0.id=7",
        ] {
            assert_eq!(Expect::parse(ok).unwrap().check(&body), Ok(()), "{ok}");
        }
        let err = Expect::parse("sha=def456")
            .unwrap()
            .check(&body)
            .unwrap_err();
        assert_eq!(err, r#"sha is "abc123" (expected "def456")"#);
        let err = Expect::parse("checks.cache=ok")
            .unwrap()
            .check(&body)
            .unwrap_err();
        assert!(err.contains("checks.cache is missing"), "{err}");
        let err = Expect::parse("checks=ok")
            .unwrap()
            .check(&body)
            .unwrap_err();
        assert!(err.contains("an object"), "{err}");
        let err = Expect::parse("items.1.id=7")
            .unwrap()
            .check(&body)
            .unwrap_err();
        assert!(err.contains("missing"), "{err}");
    }

    #[test]
    fn values_may_contain_equals_and_be_empty() {
        let e = Expect::parse("token=a=b").unwrap();
        assert_eq!((e.path_text(), e.value.as_str()), ("token".into(), "a=b"));
        assert_eq!(Expect::parse("x=").unwrap().value, "");
        assert!(Expect::parse("nothing").is_err());
        assert!(Expect::parse("a..b=1").is_err());
        assert!(Expect::parse("=1").is_err());
    }

    #[test]
    fn a_body_that_is_not_json_fails_the_check() {
        let expects = [Expect::parse("sha=1").unwrap()];
        assert!(
            check_body(&expects, b"<html>")
                .unwrap_err()
                .contains("not JSON")
        );
        assert_eq!(check_body(&[], b"<html>"), Ok(()));
        assert_eq!(check_body(&expects, br#"{"sha":"1"}"#), Ok(()));
    }

    #[test]
    fn headers_parse_and_hide_their_value() {
        let h = Header::parse("Authorization: Bearer pl4nted-token").unwrap();
        assert_eq!(h.name, "Authorization");
        assert_eq!(h.value, "Bearer pl4nted-token");
        assert!(!format!("{h:?}").contains("pl4nted"));
        assert!(Header::parse("no colon").is_err());
        assert!(Header::parse(": v").is_err());
        assert!(Header::parse("Bad Name: v").is_err());
        let err = Header::parse("X: a\nb-pl4nted").unwrap_err();
        assert!(!err.contains("pl4nted"), "{err}");
    }
}
