//! `--expect-json PATH=VALUE` and `--header` arguments against any body:
//! never panics, and a header error never repeats the header's value.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wait_probe::rules::{Expect, Header, check_body};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    expect: &'a str,
    header: &'a str,
    body: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    if let Ok(expect) = Expect::parse(input.expect) {
        let _ = check_body(&[expect], input.body);
    }
    if let Err(e) = Header::parse(input.header) {
        if let Some((name, value)) = input.header.split_once(':') {
            // The same header with another value: what its error says is
            // the message's own wording (or the name), not the value.
            let other = format!("{name}:{}", "x".repeat(value.len()));
            let wording = Header::parse(&other).err().unwrap_or_default();
            let value = value.trim();
            if value.len() >= 6 && !wording.contains(value) {
                assert!(!e.contains(value), "{e}");
            }
        }
    }
});
