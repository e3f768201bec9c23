//! Push logs and inspect JSON: never panics, and every digest found is a
//! valid digest whose hex really appears in the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    for found in image_digest::fromlog::extract(text) {
        let digest = found.digest.to_string();
        let hex = digest.split_once(':').map_or("", |(_, h)| h);
        assert!(
            !hex.is_empty() && text.contains(hex),
            "{digest} not in {text:?}"
        );
        assert!(
            deploykit::imageref::Digest::parse(&digest).is_ok(),
            "{digest}"
        );
    }
});
