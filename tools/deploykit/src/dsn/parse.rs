//! The two libpq parsers, `conninfo_uri_parse_options` and `conninfo_parse`,
//! followed step by step so that edge cases behave as they do in `psql`.
//!
//! Where libpq quotes the whole input in an error, this quotes it with the
//! password replaced by `***`: libpq's own messages would leak it. Two
//! slips in a password are refused where libpq would read on: an unencoded
//! `@` (the rest would be a host name) and an unencoded `/` (libpq ends the
//! user information, host and port at the first `/`, so the pieces would
//! be a port, a database name or a query that libpq prints); neither error
//! shows the piece.

use super::{Dsn, DsnError, Form};
use crate::secret::REDACTED;

/// Parses either form, choosing as libpq does: a URI only with one of the
/// two exact, case-sensitive prefixes.
pub fn parse(text: &str) -> Result<Dsn, DsnError> {
    // libpq reads a C string, so it would silently stop at a NUL; a DSN
    // from a file or stdin may hold one, and must not mean something shorter.
    if text.contains('\0') {
        return Err(DsnError("connection string contains a NUL byte".into()));
    }
    if let Some(rest) = uri_rest(text) {
        parse_uri(text, text.len() - rest.len())
    } else if let Some(scheme) = foreign_scheme(text) {
        // libpq would read this as keyword/value text and complain about a
        // missing "=", which says nothing useful about a MySQL URL.
        Err(DsnError(format!(
            "unsupported scheme \"{scheme}\" (a Postgres DSN starts with postgres:// or postgresql://, or is keyword=value pairs)"
        )))
    } else {
        parse_keyword_value(text)
    }
}

/// The scheme of a `scheme://` prefix (RFC 3986 scheme characters) that is
/// not one of libpq's two.
fn foreign_scheme(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

fn uri_rest(text: &str) -> Option<&str> {
    text.strip_prefix("postgresql://")
        .or_else(|| text.strip_prefix("postgres://"))
}

/// The URI with the password span (byte range) replaced, for error messages.
struct Quoted<'a> {
    uri: &'a str,
    password: Option<(usize, usize)>,
}

impl Quoted<'_> {
    fn text(&self) -> String {
        match self.password {
            Some((start, end)) if start < end => {
                format!("{}{REDACTED}{}", &self.uri[..start], &self.uri[end..])
            }
            _ => self.uri.to_owned(),
        }
    }
}

/// libpq's `conninfo_uri_decode`. `shown` is what the error quotes.
///
/// As libpq 18 does, blanks (the ASCII space only) around a component are
/// dropped and a blank inside one is refused: a space in a URI is almost
/// always a pasting mistake, and an encoded one (`%20`) says it is meant.
/// Errors are met in the order of the text, as libpq meets them.
fn uri_decode(value: &str, shown: &str) -> Result<String, DsnError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = bytes.iter().take_while(|b| **b == b' ').count();
    while i < bytes.len() {
        if bytes[i] == b' ' {
            if bytes[i..].iter().all(|b| *b == b' ') {
                break;
            }
            return Err(DsnError(format!(
                "unexpected spaces found in \"{shown}\", use percent-encoded spaces (%20) instead"
            )));
        }
        if bytes[i] == b'%' {
            let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
            let (Some(hi), Some(lo)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) else {
                return Err(DsnError(format!(
                    "invalid percent-encoded token: \"{shown}\""
                )));
            };
            let byte = u8::try_from(hi * 16 + lo).unwrap_or(0);
            if byte == 0 {
                return Err(DsnError(format!(
                    "forbidden value %00 in percent-encoded value: \"{shown}\""
                )));
            }
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| {
        DsnError(format!(
            "percent-decoded value is not valid UTF-8: \"{shown}\""
        ))
    })
}

/// Stores a URI component, decoding it first. The password is decoded with
/// its own text hidden from the error.
fn store_decoded(dsn: &mut Dsn, keyword: &str, raw: &str) -> Result<(), DsnError> {
    let shown = if keyword == "password" { REDACTED } else { raw };
    let value = uri_decode(raw, shown)?;
    dsn.store(keyword, value)
}

fn parse_uri(uri: &str, prefix_len: usize) -> Result<Dsn, DsnError> {
    let mut dsn = Dsn::empty(Form::Uri);
    let b = uri.as_bytes();
    let start = prefix_len;
    let mut quoted = Quoted {
        uri,
        password: None,
    };

    // Credentials: only when an '@' comes before the first '/'.
    let mut p = start;
    while p < b.len() && b[p] != b'@' && b[p] != b'/' {
        p += 1;
    }
    let has_userinfo = p < b.len() && b[p] == b'@';
    if has_userinfo {
        let at = p;
        let mut q = start;
        while b[q] != b':' && b[q] != b'@' {
            q += 1;
        }
        let user = &uri[start..q];
        if !user.is_empty() {
            store_decoded(&mut dsn, "user", user)?;
        }
        if b[q] == b':' {
            // The password runs to the first '@' after the colon.
            let pw_start = q + 1;
            let pw_end = at;
            quoted.password = Some((pw_start, pw_end));
            let password = &uri[pw_start..pw_end];
            if !password.is_empty() {
                store_decoded(&mut dsn, "password", password)?;
            }
        }
        p = at + 1;
    } else {
        p = start;
    }

    // An '@' left in the authority is almost always an unencoded '@' in
    // the password: libpq would take the rest of the password for a host
    // name and print it in its "could not translate host name" error.
    let authority_end = uri[p..].find(['/', '?']).map_or(b.len(), |i| p + i);
    if uri[p..authority_end].contains('@') {
        return Err(DsnError(
            "unencoded \"@\" after the user information in URI: write \"@\" in a user name or password as %40".into(),
        ));
    }

    // One or more netloc[:port], separated by commas.
    let mut hosts = String::new();
    let mut ports = String::new();
    let mut terminator: Option<u8>;
    // Whether a host not in brackets was followed by ':', as `user:` is.
    let mut plain_host_colon = false;
    loop {
        let bracketed = p < b.len() && b[p] == b'[';
        if bracketed {
            p += 1;
            let host_start = p;
            while p < b.len() && b[p] != b']' {
                p += 1;
            }
            if p >= b.len() {
                return Err(DsnError(format!(
                    "end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"{}\"",
                    quoted.text()
                )));
            }
            if p == host_start {
                return Err(DsnError(format!(
                    "IPv6 host address may not be empty in URI: \"{}\"",
                    quoted.text()
                )));
            }
            hosts.push_str(&uri[host_start..p]);
            p += 1;
            if p < b.len() && !matches!(b[p], b':' | b'/' | b'?' | b',') {
                let c = uri[p..].chars().next().unwrap_or('?');
                return Err(DsnError(format!(
                    "unexpected character \"{c}\" at position {} in URI (expected \":\" or \"/\"): \"{}\"",
                    p + 1,
                    quoted.text()
                )));
            }
        } else {
            let host_start = p;
            while p < b.len() && !matches!(b[p], b':' | b'/' | b'?' | b',') {
                p += 1;
            }
            hosts.push_str(&uri[host_start..p]);
        }
        terminator = b.get(p).copied();
        if terminator == Some(b':') {
            plain_host_colon |= !bracketed;
            p += 1;
            let port_start = p;
            while p < b.len() && !matches!(b[p], b'/' | b'?' | b',') {
                p += 1;
            }
            ports.push_str(&uri[port_start..p]);
            terminator = b.get(p).copied();
        }
        if terminator != Some(b',') {
            break;
        }
        p += 1;
        hosts.push(',');
        ports.push(',');
    }
    // Without user information, an '@' further on means the user
    // information may have ended early, at a '/' in the password.
    let at_follows = !has_userinfo && uri[p..].contains('@');
    if at_follows && !ports.split(',').all(is_port_or_empty) {
        return Err(misplaced_password("port"));
    }
    if !hosts.is_empty() {
        store_decoded(&mut dsn, "host", &hosts)?;
    }
    if !ports.is_empty() {
        store_decoded(&mut dsn, "port", &ports)?;
    }
    // `user:` read as a host and a port: what follows up to the '@' is
    // the rest of the password.
    let password_may_follow = at_follows && plain_host_colon;

    // The database name follows a '/', up to the query.
    if terminator.is_some() && terminator != Some(b'?') {
        p += 1;
        let db_start = p;
        while p < b.len() && b[p] != b'?' {
            p += 1;
        }
        terminator = b.get(p).copied();
        let dbname = &uri[db_start..p];
        if password_may_follow && dbname.contains('@') {
            return Err(misplaced_password("database name"));
        }
        // An empty name is not stored: it would force the default.
        if !dbname.is_empty() {
            store_decoded(&mut dsn, "dbname", dbname)?;
        }
    }

    if terminator.is_some() {
        let query = &uri[p + 1..];
        parse_uri_params(query, &mut dsn).map_err(|e| {
            if password_may_follow && query.contains('@') {
                misplaced_password("query")
            } else {
                e
            }
        })?;
    }
    Ok(dsn)
}

/// Whether a URI's port text is empty or a port libpq accepts.
fn is_port_or_empty(raw: &str) -> bool {
    raw.is_empty()
        || uri_decode(raw, REDACTED).is_ok_and(|port| super::validate::port(&port).is_ok())
}

/// A password with an unencoded '/': libpq ends the user information, host
/// and port at the first '/', so in `postgres://app:Zq9:s/ec@db/shop` the
/// password lands in the port (`Zq9:s`) and the database name. Neither is
/// shown: the error names the part and asks for the encoding.
fn misplaced_password(part: &str) -> DsnError {
    DsnError(format!(
        "misplaced password in URI: an \"@\" follows a \"/\", and libpq would read a password with an unencoded \"/\" as the {part} \"{REDACTED}\"; percent-encode the password (\"/\" as %2F, \"@\" as %40)"
    ))
}

/// libpq's `conninfo_uri_parse_params`: `key=value` pairs joined by `&`.
fn parse_uri_params(params: &str, dsn: &mut Dsn) -> Result<(), DsnError> {
    if params.is_empty() {
        return Ok(());
    }
    // libpq stops at the end of the string; a trailing '&' ends the loop.
    let mut rest = params;
    while !rest.is_empty() {
        let (pair, next) = match rest.find('&') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let Some((raw_key, raw_value)) = pair.split_once('=') else {
            return Err(DsnError(format!(
                "missing key/value separator \"=\" in URI query parameter: \"{pair}\""
            )));
        };
        if raw_value.contains('=') {
            return Err(DsnError(format!(
                "extra key/value separator \"=\" in URI query parameter: \"{raw_key}\""
            )));
        }
        let key = uri_decode(raw_key, raw_key)?;
        let shown = if matches!(key.as_str(), "password" | "sslpassword") {
            REDACTED
        } else {
            raw_value
        };
        let value = uri_decode(raw_value, shown)?;
        // JDBC compatibility, as libpq has it.
        let (key, value) = if key == "ssl" && value == "true" {
            ("sslmode".to_owned(), "require".to_owned())
        } else {
            (key, value)
        };
        dsn.store(&key, value).map_err(|e| {
            if e.0.starts_with("invalid connection option") {
                DsnError(format!("invalid URI query parameter: \"{key}\""))
            } else {
                e
            }
        })?;
        rest = next;
    }
    Ok(())
}

/// Hides what looks like `user:password@` in a word: everything between the
/// first `:` of the user part and the last `@`.
fn redact_userinfo(word: &str) -> String {
    let Some(at) = word.rfind('@') else {
        return word.to_owned();
    };
    let start = word[..at].find("//").map_or(0, |i| i + 2);
    match word[start..at].find(':') {
        Some(colon) => format!("{}:{REDACTED}{}", &word[..start + colon], &word[at..]),
        None => word.to_owned(),
    }
}

/// C's `isspace` in the "C" locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// libpq's `conninfo_parse`: `keyword = value` pairs separated by blanks,
/// values optionally single-quoted, backslash escaping the next character.
fn parse_keyword_value(text: &str) -> Result<Dsn, DsnError> {
    let mut dsn = Dsn::empty(Form::KeyValue);
    let b = text.as_bytes();
    let mut p = 0;
    let mut last_was_secret = false;
    while p < b.len() {
        if is_space(b[p]) {
            p += 1;
            continue;
        }
        let name_start = p;
        let mut name_end;
        loop {
            name_end = p;
            if p >= b.len() || b[p] == b'=' {
                break;
            }
            if is_space(b[p]) {
                while p < b.len() && is_space(b[p]) {
                    p += 1;
                }
                break;
            }
            p += 1;
        }
        let name = &text[name_start..name_end];
        if p >= b.len() || b[p] != b'=' {
            // libpq quotes the stray word, which may be the rest of an
            // unquoted password (`password=two words`) or a mistyped URI
            // with credentials in it (`postgres:/u:pw@h`).
            let shown = if last_was_secret {
                REDACTED.to_owned()
            } else {
                redact_userinfo(name)
            };
            return Err(DsnError(format!(
                "missing \"=\" after \"{shown}\" in connection info string"
            )));
        }
        last_was_secret = matches!(name, "password" | "sslpassword");
        p += 1;
        while p < b.len() && is_space(b[p]) {
            p += 1;
        }
        let mut value = Vec::new();
        if p < b.len() && b[p] == b'\'' {
            p += 1;
            loop {
                if p >= b.len() {
                    return Err(DsnError(
                        "unterminated quoted string in connection info string".into(),
                    ));
                }
                match b[p] {
                    b'\\' => {
                        p += 1;
                        if p < b.len() {
                            value.push(b[p]);
                            p += 1;
                        }
                    }
                    b'\'' => {
                        p += 1;
                        break;
                    }
                    c => {
                        value.push(c);
                        p += 1;
                    }
                }
            }
        } else {
            while p < b.len() {
                if is_space(b[p]) {
                    p += 1;
                    break;
                }
                if b[p] == b'\\' {
                    p += 1;
                    if p < b.len() {
                        value.push(b[p]);
                        p += 1;
                    }
                } else {
                    value.push(b[p]);
                    p += 1;
                }
            }
        }
        // Escapes only ever drop ASCII backslashes, so this stays UTF-8.
        let value = String::from_utf8(value)
            .map_err(|_| DsnError("connection info string is not valid UTF-8".into()))?;
        dsn.store(name, value)?;
    }
    Ok(dsn)
}

#[cfg(test)]
mod tests;
