//! A DSN built around a known password, broken anywhere: neither the
//! parsed DSN's display nor any parse error may contain the password.
#![no_main]

use arbitrary::Arbitrary;
use deploykit::Secret;
use deploykit::dsn::Dsn;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    uri: bool,
    before: &'a str,
    password: &'a str,
    after: &'a str,
}

fuzz_target!(|input: Input<'_>| {
    let pw = input.password;
    // Short passwords can legitimately appear elsewhere; a password with
    // the form's own syntax in it is not a password there (libpq reads
    // `u:a/b@h` as host `u`, port `a`, database `b@h`), so it must be
    // encoded or quoted by whoever writes the DSN.
    let structural: &[char] = if input.uri {
        &['@', '/', '?', ':', '[', ']', ',', '%', '&', '=']
    } else {
        &[' ', '\t', '\n', '\r', '\x0b', '\x0c', '\'', '\\', '=']
    };
    // With '/', '?' or '@' before it, the "password" is part of a database
    // name or a query, not a password.
    if input.uri && input.before.contains(['/', '?', '@']) {
        return;
    }
    // In keyword/value form, `host= password=…` makes the whole rest the
    // host's value, and an open quote swallows it: then it is no password.
    if !input.uri
        && (input.before.starts_with("postgres://")
            || input.before.starts_with("postgresql://")
            || input.before.trim_end().ends_with('=')
            || input.before.contains(['\'', '\\']))
    {
        return;
    }
    if pw.len() < 6
        || pw.contains(structural)
        || input.before.contains(pw)
        || input.after.contains(pw)
    {
        return;
    }
    let text = if input.uri {
        format!("postgres://{}:{pw}@{}", input.before, input.after)
    } else {
        format!("{} password={pw} {}", input.before, input.after)
    };
    if text.matches(pw).count() != 1 {
        return;
    }
    match Dsn::parse(&text) {
        Ok(dsn) => {
            // Every rendering must be the same whatever the password is:
            // then nothing of it can be in there.
            let renderings = |d: &Dsn| {
                [
                    d.to_string(),
                    format!("{d:?}"),
                    format!("{:?}", d.targets()),
                ]
            };
            if dsn.password().is_some() {
                let other = dsn.with_password(Secret::new("x".repeat(pw.len())));
                assert_eq!(renderings(&dsn), renderings(&other), "{text:?}");
            }
        }
        Err(e) => {
            // The same DSN with another password of the same shape: if its
            // error holds `pw` too, that is the message's own wording.
            let other = text.replace(pw, &"x".repeat(pw.len()));
            let coincidence = Dsn::parse(&other)
                .err()
                .is_some_and(|o| o.to_string().contains(pw));
            assert!(
                coincidence || !e.to_string().contains(pw),
                "{text:?} failed with {e}"
            );
        }
    }
});
