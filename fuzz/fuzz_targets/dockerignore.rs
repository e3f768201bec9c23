//! `.dockerignore` text and a path: reading, compiling and matching never
//! panic, and a path excluded by a pattern list stays excluded when the
//! same list is read again.
#![no_main]

use arbitrary::Arbitrary;
use image_digest::dockerignore::{Matcher, clean, read_patterns};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    dockerignore: &'a str,
    path: &'a str,
}

fuzz_target!(|input: Input<'_>| {
    let patterns = read_patterns(input.dockerignore);
    let _ = clean(input.path);
    let Ok(matcher) = Matcher::new(&patterns) else {
        return;
    };
    let first = matcher.matches_or_parent_matches(input.path);
    let again = Matcher::new(&read_patterns(input.dockerignore)).expect("compiled once already");
    assert_eq!(first, again.matches_or_parent_matches(input.path));
});
