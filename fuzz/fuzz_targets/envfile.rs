//! dotenv text: never panics, and a syntax error never quotes a value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Err(e) = deploykit::envfile::parse(text) {
        assert!(
            e.starts_with("syntax error on line") || e == "cannot parse" || !e.contains('='),
            "{e}"
        );
    }
});
