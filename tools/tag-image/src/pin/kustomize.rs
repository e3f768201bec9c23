//! Kustomizations: the entries of the top-level `images:` list.
//!
//! An entry names its image by `newName` (or `name`) and pins it with
//! `newTag` and `digest`. A rewrite replaces those values in place, inserts
//! a `newTag:`/`digest:` line into an entry that lacks one (after its last
//! key, before the comments that follow it), and drops `newTag` when the
//! pin has no tag. A flow-style entry (`- {name: …}`) cannot be edited line
//! by line, so one that may name a pinned repository is refused.

use deploykit::edit::Path;
use deploykit::edit::guard::Guard;
use deploykit::edit::lines::{self, Patch};
use deploykit::edit::yaml::{self, Doc, Item};
use deploykit::exit::{Error, Result};
use serde_yaml_ng::Value as Yaml;

use super::model::{Change, Entry, Pins, Rewrite, pinned};

/// The list the images are in.
const IMAGES: &str = "images";

/// The value of the entry's `key`, as written.
fn get<'t>(doc: &Doc<'t>, item: &Item, key: &str) -> Option<&'t str> {
    item.fields.get(key).and_then(|&i| doc.lines()[i].value())
}

/// The reference the entry makes: `newName` (or `name`), `newTag`, `digest`.
fn image(doc: &Doc<'_>, item: &Item) -> Option<String> {
    let name = get(doc, item, "newName").or_else(|| get(doc, item, "name"))?;
    let mut s = name.to_owned();
    if let Some(t) = get(doc, item, "newTag") {
        s.push(':');
        s.push_str(t);
    }
    if let Some(d) = get(doc, item, "digest") {
        s.push('@');
        s.push_str(d);
    }
    Some(s)
}

fn key(doc: &Doc<'_>, item: &Item) -> String {
    format!("images[name={}]", get(doc, item, "name").unwrap_or(""))
}

/// The image entries of a kustomization.
pub fn entries(text: &str) -> Result<Vec<Entry>> {
    let doc = Doc::scan(text)?;
    Ok(doc
        .items(IMAGES)
        .iter()
        .filter_map(|item| {
            Some(Entry {
                line: item.first + 1,
                key: key(&doc, item),
                image: image(&doc, item)?,
            })
        })
        .collect())
}

/// What the edit means to do to the document.
enum Intent {
    Set(Path, Yaml),
    Remove(Path),
}

/// The edit of one entry, collected into the file's patch and intents.
struct EntryEdit<'e, 't> {
    doc: &'e Doc<'t>,
    item: &'e Item,
    path: Path,
    indent: String,
    patch: &'e mut Patch<'t>,
    intents: &'e mut Vec<Intent>,
    /// Lines to add after the entry's last line.
    tail: Vec<String>,
}

impl EntryEdit<'_, '_> {
    /// Sets `key` to `value`: in place if the entry has it, else on a new line.
    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let intended = match self.item.fields.get(key).map(|&i| &self.doc.lines()[i]) {
            Some(line) if line.value() == Some(value) => return Ok(()),
            Some(line) => {
                let Some(node) = line.node() else {
                    return Ok(());
                };
                let new = lines::splice(line.body(), node.value, value);
                let intended = yaml::scalar(&new[node.value_from..])?;
                self.patch.replace(line.line.index, new);
                intended
            }
            None => {
                self.tail.push(format!("{}{key}: {value}", self.indent));
                yaml::scalar(value)?
            }
        };
        self.intents.push(Intent::Set(self.path.key(key), intended));
        Ok(())
    }

    /// Removes `key`'s line, if the entry has one.
    fn remove(&mut self, key: &str) {
        if let Some(&i) = self.item.fields.get(key) {
            self.patch.remove(i);
            self.intents.push(Intent::Remove(self.path.key(key)));
        }
    }

    /// Adds the new lines after the entry's last line, before the comments
    /// that follow it.
    fn finish(self) {
        if !self.tail.is_empty() {
            self.patch.insert_after(self.item.last, self.tail);
        }
    }
}

/// Pins the entries that name a pinned repository, and proves the result
/// changes nothing else.
pub fn rewrite(text: &str, pins: &Pins) -> Result<Rewrite> {
    let doc = Doc::scan(text)?;
    let mut patch = doc.patch();
    let mut intents = Vec::new();
    let mut changes = Vec::new();
    let mut matched = Vec::new();
    for item in doc.items(IMAGES) {
        if item.flow {
            if pins.mentioned_in(doc.lines()[item.first].body()) {
                return Err(Error::usage(format!(
                    "line {}: a flow-style images entry ({{…}}) may name a pinned repository; write it in block style so it can be edited",
                    item.first + 1
                )));
            }
            continue;
        }
        let Some(name) = get(&doc, &item, "newName").or_else(|| get(&doc, &item, "name")) else {
            continue;
        };
        let Some(pin) = pins.get(name) else {
            continue;
        };
        matched.push(pin.name());
        let mut edit = EntryEdit {
            doc: &doc,
            item: &item,
            path: item.path(IMAGES),
            indent: " ".repeat(item.column.unwrap_or(doc.lines()[item.first].indent + 2)),
            patch: &mut patch,
            intents: &mut intents,
            tail: Vec::new(),
        };
        match pin.tag() {
            Some(tag) => edit.set("newTag", tag)?,
            None => edit.remove("newTag"),
        }
        edit.set(
            "digest",
            &pin.digest().map(ToString::to_string).unwrap_or_default(),
        )?;
        edit.finish();
        let old = image(&doc, &item).unwrap_or_default();
        let new = pinned(name, pin);
        if new != old {
            changes.push(Change {
                line: item.first + 1,
                key: key(&doc, &item),
                old,
                new,
            });
        }
    }
    let new = patch.apply();
    if !intents.is_empty() {
        let mut guard = Guard::<Yaml>::new(text)?;
        for intent in intents {
            match intent {
                Intent::Set(path, value) => guard.set(&path, value),
                Intent::Remove(path) => guard.remove(&path),
            };
        }
        guard.check(&new, &format!("pin {}", matched.join(", ")))?;
    }
    Ok(Rewrite::new(new, changes, matched))
}

#[cfg(test)]
mod tests {
    use super::super::testdata::{D1, D2, KUSTOMIZATION, pins};
    use super::rewrite;

    #[test]
    fn kustomize_only_image_lines_change() {
        let r = rewrite(
            KUSTOMIZATION,
            &pins(&[
                &format!("ghcr.io/acme/api:prod-abc1234@{D1}"),
                &format!("ghcr.io/acme/scheduler-worker@{D1}"),
            ]),
        )
        .unwrap();
        let want = KUSTOMIZATION
            .replace(
                "newTag: \"prod-0000000\"",
                &format!("newTag: \"prod-abc1234\"\n    digest: {D1}"),
            )
            .replace(&format!("digest: {D2}"), &format!("digest: {D1}"));
        assert_eq!(r.text, want);
        assert_eq!(r.changes.len(), 2);
        assert_eq!(r.changes[0].old, "ghcr.io/acme/api:prod-0000000");
        assert_eq!(
            r.changes[0].new,
            format!("ghcr.io/acme/api:prod-abc1234@{D1}")
        );
        // A second run changes nothing.
        let again = rewrite(
            &r.text,
            &pins(&[&format!("ghcr.io/acme/api:prod-abc1234@{D1}")]),
        )
        .unwrap();
        assert_eq!(again.text, r.text);
        assert!(again.changes.is_empty());
        assert_eq!(again.matched, ["ghcr.io/acme/api"]);
    }

    #[test]
    fn kustomize_without_tag_drops_new_tag_and_handles_dash_at_column_zero() {
        let text = "images:\n- name: ghcr.io/acme/api\n  newTag: prod-0000000\n  # keep me\nresources: []\n";
        let r = rewrite(text, &pins(&[&format!("ghcr.io/acme/api@{D1}")])).unwrap();
        assert_eq!(
            r.text,
            format!(
                "images:\n- name: ghcr.io/acme/api\n  digest: {D1}\n  # keep me\nresources: []\n"
            )
        );
    }

    #[test]
    fn kustomize_crlf_and_no_final_newline() {
        let text = "images:\r\n  - name: ghcr.io/acme/api";
        let r = rewrite(text, &pins(&[&format!("ghcr.io/acme/api@{D1}")])).unwrap();
        assert_eq!(
            r.text,
            format!("images:\r\n  - name: ghcr.io/acme/api\r\n    digest: {D1}")
        );
    }

    #[test]
    fn kustomize_flow_entries_are_refused_when_they_may_match() {
        let text = "images:\n  - {name: ghcr.io/acme/api, newTag: x}\n";
        let err = rewrite(text, &pins(&[&format!("ghcr.io/acme/api@{D1}")])).unwrap_err();
        assert!(err.to_string().contains("block style"), "{err}");
    }

    #[test]
    fn numeric_tags_keep_their_type_and_tabs_are_refused() {
        let text = "images:\n  - name: ghcr.io/acme/api\n    newTag: 7.2\n";
        let r = rewrite(text, &pins(&[&format!("ghcr.io/acme/api:7.3@{D1}")])).unwrap();
        assert_eq!(
            r.text,
            format!("images:\n  - name: ghcr.io/acme/api\n    newTag: 7.3\n    digest: {D1}\n")
        );
        let err = rewrite(
            "images:\n  - name: ghcr.io/acme/api\n  \tnewTag: x\n",
            &pins(&[&format!("ghcr.io/acme/api@{D1}")]),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("line 3: a tab"), "{err}");
    }
}
