//! Image references: never panics; a normalised reference's canonical form
//! parses to itself, and its familiar form normalises back to it.
#![no_main]

use deploykit::imageref;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = imageref::parse(text);
    let _ = imageref::parse_any(text);
    let Ok(reference) = imageref::parse_normalized(text) else {
        return;
    };
    let canonical = reference.to_string();
    let again = imageref::parse_normalized(&canonical)
        .unwrap_or_else(|e| panic!("canonical {canonical:?} of {text:?} does not parse: {e}"));
    assert_eq!(again.to_string(), canonical, "{text:?}");
    let familiar = reference.familiar();
    let back = imageref::parse_normalized(&familiar)
        .unwrap_or_else(|e| panic!("familiar {familiar:?} of {text:?} does not parse: {e}"));
    assert_eq!(back.to_string(), canonical, "{text:?} via {familiar:?}");
});
