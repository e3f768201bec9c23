//! The proof an edit did what it meant and nothing else.
//!
//! The edits are made on text, by scanners that read far less than the
//! whole grammar. So before anything is written the rewritten text is
//! parsed again, and it must equal the original document with the intended
//! values set at the intended paths: a comment, a key order or a quote the
//! edit kept is invisible here, while a value the edit moved, broke or
//! duplicated is not. A failed guard is an input error (exit 2), the file is
//! left alone, and the user is told to make the change by hand.
//!
//! A guard that passes hands back a [`Checked`] text, and that is what the
//! tools write ([`Checked::write`]): an edit cannot reach a file without
//! having been parsed again. Env files have a guard too ([`Env`]): they are
//! compared as the list of their assignments, as a dotenv loader reads them.

use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

use super::path::{Path, Step};
use super::write;
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

/// An env file as the guard compares it: every assignment in order, a
/// repeated variable included ([`crate::envfile::assignments`]). A path into
/// it is one step, the variable's name; setting it sets every assignment
/// of that variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Env {
    /// The file: its assignments, in order.
    File(Vec<(String, Env)>),
    /// The value of one assignment.
    Value(String),
}

impl Tree for Env {
    const FORMAT: &'static str = "an env file";

    fn parse(text: &str) -> std::result::Result<Self, String> {
        Ok(Env::File(
            crate::envfile::assignments(text)?
                .into_iter()
                .map(|(k, v)| (k, Env::Value(v)))
                .collect(),
        ))
    }

    fn empty_mapping() -> Self {
        Env::File(Vec::new())
    }

    fn is_null(&self) -> bool {
        false
    }

    fn child_mut(&mut self, step: &Step) -> Option<&mut Self> {
        match (self, step) {
            (Env::File(vars), Step::Key(k)) => {
                vars.iter_mut().find(|(n, _)| n == k).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    fn put(&mut self, step: &Step, value: Self) -> bool {
        match (self, step) {
            (Env::File(vars), Step::Key(k)) => {
                let mut found = false;
                for (_, v) in vars.iter_mut().filter(|(n, _)| n == k) {
                    *v = value.clone();
                    found = true;
                }
                if !found {
                    vars.push((k.clone(), value));
                }
                true
            }
            _ => false,
        }
    }

    fn take(&mut self, step: &Step) -> bool {
        match (self, step) {
            (Env::File(vars), Step::Key(k)) => {
                let before = vars.len();
                vars.retain(|(n, _)| n != k);
                vars.len() != before
            }
            _ => false,
        }
    }
}

/// An edited text that passed its guard ([`Guard::checked`]): the one
/// thing the tools write, so that no rewrite reaches a file unproven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked(String);

impl Checked {
    /// The text.
    pub fn text(&self) -> &str {
        &self.0
    }

    /// Replaces `target` with the text ([`write::replace`]).
    pub fn write(&self, target: &std::path::Path) -> Result<()> {
        write::replace(target, &self.0)
    }

    /// Stages the text beside `target` ([`write::stage`]).
    pub fn stage(&self, target: &std::path::Path) -> Result<write::Staged> {
        write::stage(target, &self.0)
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

    /// [`Guard::check`]s `edited` and hands it back as the text to write.
    pub fn checked(&self, edited: String, edit: &str) -> Result<Checked> {
        self.check(&edited, edit)?;
        Ok(Checked(edited))
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
    fn env_files_are_compared_assignment_by_assignment() {
        let before = "# c\nA=1\nexport B='x y'  # note\nA=2\n";
        let mut g = Guard::<Env>::new(before).unwrap();
        g.set(&p(&["B"]), Env::Value("z".into()));
        let ok = g
            .checked("# c\nA=1\nexport B='z'  # note\nA=2\n".into(), "pin B")
            .unwrap();
        assert!(ok.text().contains("B='z'"));
        // Every assignment counts, the overridden one too.
        let err = g.check("# c\nA=3\nexport B=z\nA=2\n", "pin B").unwrap_err();
        assert!(
            err.to_string().contains("without changing other entries"),
            "{err}"
        );
        let err = g.check("A=1\nB='z\n", "pin B").unwrap_err();
        assert!(
            err.to_string().contains("would not parse as an env file"),
            "{err}"
        );
        let mut g = Guard::<Env>::new("A=1\n").unwrap();
        g.remove(&p(&["A"]));
        g.check("", "drop A").unwrap();
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
