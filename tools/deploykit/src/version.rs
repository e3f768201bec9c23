//! What `--version` says: the release and the commit it was built from.
//!
//! A bug report or a pinned CI step then names the exact source, also for a
//! binary built from a source archive without git (see `build.rs` for where
//! the commit comes from). The man pages carry the release only, so they do
//! not go stale with every commit.

/// The workspace release, `0.1.0`: SemVer, from the workspace manifest.
pub const RELEASE: &str = env!("CARGO_PKG_VERSION");

/// The commit the binary was built from (`abc1234`), or `unknown`.
pub const COMMIT: &str = env!("DEPLOYKIT_COMMIT");

/// The text after the tool's name in `--version`: `0.1.0 (abc1234)`.
pub const LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("DEPLOYKIT_COMMIT"),
    ")"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_the_release_and_the_commit() {
        assert_eq!(LINE, format!("{RELEASE} ({COMMIT})"));
        assert!(!COMMIT.is_empty());
    }
}
