//! `Www-Authenticate` headers: never panics; every challenge parsed has a
//! lower-case scheme and lower-case parameter names.
#![no_main]

use deploykit::registry::auth::challenge;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|header: &str| {
    let Ok(challenges) = challenge::parse(header) else {
        return;
    };
    for c in challenges {
        assert!(!c.scheme.is_empty(), "{header:?}");
        assert_eq!(c.scheme, c.scheme.to_ascii_lowercase(), "{header:?}");
        for key in c.params.keys() {
            assert_eq!(*key, key.to_ascii_lowercase(), "{header:?}");
        }
    }
});
