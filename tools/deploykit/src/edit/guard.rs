//! The proof an edit did what it meant and nothing else.
//!
//! The edits are made on text, by scanners that read far less than the
//! whole grammar. So before anything is written the rewritten text is
//! parsed again, and it must equal the original document with the intended
//! values set at the intended paths: a comment, a key order or a quote the
//! edit kept is invisible here, while a value the edit moved, broke or
//! duplicated is not. A failed guard is an input error (exit 2), the file is
//! left alone, and the user is told to make the change by hand.

use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

use super::path::{Path, Step};
use crate::exit::{Error, Result};

/// A parsed document the guard can compare: YAML (`serde_yaml_ng`) or
/// JSON (`serde_json`).
pub trait Tree: Clone + PartialEq + Sized {
    /// The format's name, for messages.
    const FORMAT: &'static str;

    /// Parses a whole document.
    fn parse(text: &str) -> std::result::Result<Self, String>;

    /// An empty mapping (object).
    fn empty_mapping() -> Self;

    /// Whether this is null.
    fn is_null(&self) -> bool;

    /// The child at `step`, if there is one.
    fn child_mut(&mut self, step: &Step) -> Option<&mut Self>;

    /// Sets the child at `step` (a mapping key is added if missing; a
    /// sequence index must exist); false if this node cannot hold it.
    fn put(&mut self, step: &Step, value: Self) -> bool;

    /// Removes the child at `step`; false if there is none.
    fn take(&mut self, step: &Step) -> bool;
}

impl Tree for Yaml {
    const FORMAT: &'static str = "YAML";

    /// An empty (or blank) file is an empty mapping, so a key can be added
    /// to it.
    fn parse(text: &str) -> std::result::Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::empty_mapping());
        }
        serde_yaml_ng::from_str(text).map_err(|e| e.to_string())
    }

    fn empty_mapping() -> Self {
        Yaml::Mapping(serde_yaml_ng::Mapping::new())
    }

    fn is_null(&self) -> bool {
        Yaml::is_null(self)
    }

    fn child_mut(&mut self, step: &Step) -> Option<&mut Self> {
        match (self, step) {
            (Yaml::Mapping(m), Step::Key(k)) => m.get_mut(k.as_str()),
            (Yaml::Sequence(s), Step::Index(i)) => s.get_mut(*i),
            _ => None,
        }
    }

    fn put(&mut self, step: &Step, value: Self) -> bool {
        match (self, step) {
            (Yaml::Mapping(m), Step::Key(k)) => {
                m.insert(Yaml::String(k.clone()), value);
                true
            }
            (Yaml::Sequence(s), Step::Index(i)) => s.get_mut(*i).map(|v| *v = value).is_some(),
            _ => false,
        }
    }

    fn take(&mut self, step: &Step) -> bool {
        match (self, step) {
            (Yaml::Mapping(m), Step::Key(k)) => m.shift_remove(k.as_str()).is_some(),
            (Yaml::Sequence(s), Step::Index(i)) if *i < s.len() => {
                s.remove(*i);
                true
            }
            _ => false,
        }
    }
}

impl Tree for Json {
    const FORMAT: &'static str = "JSON";

    fn parse(text: &str) -> std::result::Result<Self, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    fn empty_mapping() -> Self {
        Json::Object(serde_json::Map::new())
    }

    fn is_null(&self) -> bool {
        Json::is_null(self)
    }

    fn child_mut(&mut self, step: &Step) -> Option<&mut Self> {
        match (self, step) {
            (Json::Object(m), Step::Key(k)) => m.get_mut(k),
            (Json::Array(a), Step::Index(i)) => a.get_mut(*i),
            _ => None,
        }
    }

    fn put(&mut self, step: &Step, value: Self) -> bool {
        match (self, step) {
            (Json::Object(m), Step::Key(k)) => {
                m.insert(k.clone(), value);
                true
            }
            (Json::Array(a), Step::Index(i)) => a.get_mut(*i).map(|v| *v = value).is_some(),
            _ => false,
        }
    }

    fn take(&mut self, step: &Step) -> bool {
        match (self, step) {
            (Json::Object(m), Step::Key(k)) => m.remove(k).is_some(),
            (Json::Array(a), Step::Index(i)) if *i < a.len() => {
                a.remove(*i);
                true
            }
            _ => false,
        }
    }
}

/// The node at `steps` below `node`, missing or null mappings on the way
/// created.
fn reach<'n, T: Tree>(mut node: &'n mut T, steps: &[Step]) -> Option<&'n mut T> {
    for step in steps {
        if node.child_mut(step).is_none_or(|c| c.is_null()) && !node.put(step, T::empty_mapping()) {
            return None;
        }
        node = node.child_mut(step)?;
    }
    Some(node)
}

/// The original document with the edit's intended values, to compare the
/// rewritten text against.
#[derive(Debug, Clone)]
pub struct Guard<T> {
    expected: T,
    /// The first intended change that did not fit the document.
    missed: Option<Path>,
}

impl<T: Tree> Guard<T> {
    /// Parses the original text. Fails (exit 2) if it does not parse.
    pub fn new(original: &str) -> Result<Self> {
        let expected = T::parse(original)
            .map_err(|e| Error::usage(format!("does not parse as {}: {e}", T::FORMAT)))?;
        Ok(Guard {
            expected,
            missed: None,
        })
    }

    /// The document as the edit means it to be (the original until a
    /// value is set or removed).
    pub fn document(&self) -> &T {
        &self.expected
    }

    /// Means the value at `path` to become `value`. Missing (or null)
    /// mappings on the way are created, as an edit that adds a first entry
    /// creates them.
    pub fn set(&mut self, path: &Path, value: T) -> &mut Self {
        let done = match path.steps().split_last() {
            None => {
                self.expected = value;
                true
            }
            Some((last, parents)) => reach(&mut self.expected, parents).is_some_and(|node| {
                if node.is_null() && matches!(last, Step::Key(_)) {
                    *node = T::empty_mapping();
                }
                node.put(last, value)
            }),
        };
        if !done {
            self.missed.get_or_insert_with(|| path.clone());
        }
        self
    }

    /// Means the value at `path` to go away.
    pub fn remove(&mut self, path: &Path) -> &mut Self {
        let Some((last, parents)) = path.steps().split_last() else {
            self.missed.get_or_insert_with(|| path.clone());
            return self;
        };
        let mut node = Some(&mut self.expected);
        for step in parents {
            node = node.and_then(|n| n.child_mut(step));
        }
        if !node.is_some_and(|n| n.take(last)) {
            self.missed.get_or_insert_with(|| path.clone());
        }
        self
    }

    /// Checks that `edited` parses to the intended document. `edit` says
    /// what the edit does, for the message (`add "services/*"`). Fails
    /// (exit 2) otherwise: nothing may be written then.
    pub fn check(&self, edited: &str, edit: &str) -> Result<()> {
        if let Some(path) = &self.missed {
            return Err(Error::usage(format!(
                "could not {edit} without changing other entries ({path} is not where the edit expected it)"
            )));
        }
        let after = T::parse(edited).map_err(|e| {
            Error::usage(format!(
                "could not {edit}: the edited file would not parse as {} ({e})",
                T::FORMAT
            ))
        })?;
        if after != self.expected {
            return Err(Error::usage(format!(
                "could not {edit} without changing other entries"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(steps: &[&str]) -> Path {
        Path(
            steps
                .iter()
                .map(|s| match s.parse() {
                    Ok(i) => Step::Index(i),
                    Err(_) => Step::Key((*s).to_owned()),
                })
                .collect(),
        )
    }

    #[test]
    fn yaml_edits_pass_only_when_nothing_else_moved() {
        let before = "a: 1\nlist:\n  - x\n  - y\n";
        let mut g = Guard::<Yaml>::new(before).unwrap();
        g.set(&p(&["list", "1"]), Yaml::String("z".into()));
        g.check("a: 1 # kept\nlist: [x, z]\n", "change y").unwrap();
        let err = g.check("a: 2\nlist: [x, z]\n", "change y").unwrap_err();
        assert_eq!(
            err.to_string(),
            "could not change y without changing other entries"
        );
        let err = g.check("a: [\n", "change y").unwrap_err();
        assert!(err.to_string().contains("would not parse as YAML"), "{err}");
    }

    #[test]
    fn set_creates_missing_and_null_mappings_and_remove_needs_the_value() {
        let mut g = Guard::<Yaml>::new("services:\n").unwrap();
        g.set(&p(&["services", "w", "image"]), Yaml::String("b".into()));
        g.check("services:\n  w:\n    image: b\n", "add w").unwrap();
        let mut g = Guard::<Yaml>::new("").unwrap();
        g.set(&p(&["packages"]), Yaml::Sequence(vec![]));
        g.check("packages: []\n", "add packages").unwrap();
        let mut g = Guard::<Yaml>::new("a: 1\n").unwrap();
        g.remove(&p(&["b"]));
        assert!(g.check("a: 1\n", "remove b").is_err());
        let mut g = Guard::<Yaml>::new("a: [1]\n").unwrap();
        g.set(&p(&["a", "3"]), Yaml::Null);
        assert!(g.check("a: [1]\n", "set a[3]").is_err());
    }

    #[test]
    fn json_is_compared_as_data() {
        let mut g = Guard::<Json>::new("{\"a\": 1}").unwrap();
        assert_eq!(g.document()["a"], 1);
        g.set(&p(&["scripts", "x"]), Json::String("y".into()));
        g.check(
            "{\n  \"scripts\": {\"x\": \"y\"},\n  \"a\": 1\n}\n",
            "add x",
        )
        .unwrap();
        let err = Guard::<Json>::new("{").unwrap_err();
        assert!(
            err.to_string().starts_with("does not parse as JSON"),
            "{err}"
        );
    }
}
