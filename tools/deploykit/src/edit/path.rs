//! Where a value sits in a document: the steps from the root, mapping keys
//! and sequence indexes.
//!
//! The YAML scanner gives every line the path of its node and the guard
//! sets intended values at paths, so an edit names what it changes the same
//! way in both: `images[1].digest`, `services.api.image`.

use std::fmt;

/// One step into a document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// A mapping (object) key.
    Key(String),
    /// A sequence (array) index, from 0.
    Index(usize),
}

/// The steps from a document's root to one of its values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path(pub Vec<Step>);

impl Path {
    /// The root.
    pub fn root() -> Self {
        Path(Vec::new())
    }

    /// This path, one mapping key deeper.
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Step::Key(key.to_owned()));
        p
    }

    /// This path, one sequence index deeper.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Step::Index(index));
        p
    }

    /// The steps.
    pub fn steps(&self) -> &[Step] {
        &self.0
    }

    /// Whether `prefix` is this path or one of its ancestors.
    pub fn starts_with(&self, prefix: &Path) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The last step, if this is not the root.
    pub fn last(&self) -> Option<&Step> {
        self.0.last()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(root)");
        }
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(k) if i == 0 => f.write_str(k)?,
                Step::Key(k) => write!(f, ".{k}")?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_prefixes() {
        let p = Path::root().key("images").index(1).key("digest");
        assert_eq!(p.to_string(), "images[1].digest");
        assert!(p.starts_with(&Path::root().key("images").index(1)));
        assert!(!p.starts_with(&Path::root().key("images").index(0)));
        assert_eq!(Path::root().to_string(), "(root)");
        assert_eq!(p.last(), Some(&Step::Key("digest".into())));
    }
}
