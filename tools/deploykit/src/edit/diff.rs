//! The unified diff of an edit, as the tools print it for review: the same
//! labels (`a/PATH`, `b/PATH`) and context as `git diff`, so a reviewer
//! reads it like any other patch.

/// A unified diff of `old` → `new`, labelled `a/{path}` and `b/{path}`,
/// with three lines of context; empty when the texts are equal.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_hunks() {
        let d = unified("x.yaml", "a\nb\n", "a\nc\n");
        assert_eq!(
            d,
            "--- a/x.yaml\n+++ b/x.yaml\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
        );
        assert_eq!(unified("x", "same\n", "same\n"), "");
    }
}
