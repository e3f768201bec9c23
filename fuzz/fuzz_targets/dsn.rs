//! Any string: the DSN parser never panics; a DSN that parses redisplays as
//! a URI that parses back to the same keywords; the display never holds the
//! password.
#![no_main]

use deploykit::dsn::Dsn;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(dsn) = Dsn::parse(text) else {
        return;
    };
    // Connect-time checks must not panic either.
    let _ = dsn.targets();
    let _ = dsn.sslmode();
    let _ = dsn.connect_timeout();
    let _ = dsn.connection_kind();

    let shown = dsn.to_string();
    let again =
        Dsn::parse(&shown).unwrap_or_else(|e| panic!("display {shown:?} does not parse: {e}"));
    let mut want = dsn.redacted_options();
    let mut got = again.redacted_options();
    // An empty user or password is not stored by the URI form.
    for options in [&mut want, &mut got] {
        options.retain(|k, v| !(*k == "password" && v.is_empty()));
    }
    assert_eq!(got, want, "{text:?} displayed as {shown:?}");

    if let Some(password) = dsn.password() {
        // The display is the display without a password plus the marker:
        // nothing of the password itself can be in it.
        let without = dsn.without_password().to_string();
        let has_user = dsn.user().is_some_and(|u| !u.is_empty());
        let stripped = shown.replacen(":***@", if has_user { "@" } else { "" }, 1);
        if dsn.sslpassword().is_none() {
            assert_eq!(stripped, without, "{text:?}");
        }
        let pw = password.expose();
        if pw.len() >= 4 && !without.contains(pw) {
            assert!(
                !stripped.contains(pw),
                "display {shown:?} holds the password"
            );
        }
    }
});
