//! Kustomizations: the entries of the top-level `images:` list.
//!
//! An entry names its image by `newName` (or `name`) and pins it with
//! `newTag` and `digest`. The entries are read from the parsed document, so
//! flow style, quotes and escapes read as Kustomize reads them; the edit is
//! made on the lines, so only entries written in block style, each value a
//! plain or quoted scalar on its own line, can be rewritten, and any other
//! entry a pin addresses is refused with the block form to write instead.
//!
//! A rewrite replaces values in place, inserts a `newTag:`/`digest:` (or
//! `newName:`) line into an entry that lacks one (after its last key, before
//! the comments that follow it), and drops `newTag` when the pin has no
//! tag; a `newTag:` on the entry's `- ` line leaves the dash behind. The
//! scaffold's overlays also tell the running container its digest
//! (`IMAGE_DIGEST` in a JSON patch of the Deployment the entry is for), and
//! that value is pinned with the entry.

use deploykit::edit::Path;
use deploykit::edit::guard::{Guard, Tree};
use deploykit::edit::lines::{self, Patch};
use deploykit::edit::yaml::{self, Doc, Item, Kind};
use deploykit::exit::{Error, Result};
use serde_yaml_ng::Value as Yaml;

use super::model::{Change, Entry, Rewrite, Target};

/// The list the images are in.
const IMAGES: &str = "images";

/// The fields of an entry the edit reads or writes.
const FIELDS: [&str; 4] = ["name", "newName", "newTag", "digest"];

/// The variable that tells a container its own digest.
const DIGEST_VAR: &str = "IMAGE_DIGEST";

fn parse(text: &str) -> Result<Yaml> {
    <Yaml as Tree>::parse(text).map_err(|e| Error::usage(format!("does not parse as YAML: {e}")))
}

/// A scalar as text (a tag may be written as a number).
fn scalar_text(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The reference an entry makes: `newName` (or `name`), `newTag`, `digest`.
fn image_of(m: &serde_yaml_ng::Mapping) -> Option<String> {
    let field = |k: &str| m.get(k).and_then(scalar_text);
    let mut s = field("newName").or_else(|| field("name"))?;
    if let Some(t) = field("newTag") {
        s.push(':');
        s.push_str(&t);
    }
    if let Some(d) = field("digest") {
        s.push('@');
        s.push_str(&d);
    }
    Some(s)
}

/// The message for an entry in flow style.
fn flow_problem(line: usize, name: &str) -> String {
    format!(
        "line {line}: the images entry {name} is in flow style ({{…}} or […]), which pin does not rewrite; write it in block style, one key per line: `- name: {name}` then `newTag: …` and `digest: …` indented under it"
    )
}

/// The line (index) of the top-level `images:` key.
fn images_line(doc: &Doc<'_>) -> Option<usize> {
    doc.lines()
        .iter()
        .position(|l| l.indent == 0 && !l.is_item() && l.key() == Some(IMAGES))
}

/// The image entries of a kustomization. Fails (exit 2) on a file that
/// does not parse as YAML or that the scanner refuses (a tab in the
/// indentation).
pub fn entries(text: &str) -> Result<Vec<Entry>> {
    let doc = Doc::scan(text)?;
    let tree = parse(text)?;
    let Some(images) = tree.get(IMAGES).filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let key_line = images_line(&doc);
    let at_key = key_line.map_or(1, |i| i + 1);
    let Yaml::Sequence(list) = images else {
        return Ok(vec![Entry {
            line: at_key,
            key: IMAGES.into(),
            name: IMAGES.into(),
            image: None,
            problem: Some(format!("line {at_key}: `images:` is not a list")),
            stale: None,
            site: 0,
        }]);
    };
    let inline = key_line
        .and_then(|i| doc.lines()[i].raw_value())
        .is_some_and(|v| !v.trim().is_empty() && !v.trim_start().starts_with('#'));
    let items = doc.items(IMAGES);
    let readable_lines = !inline && items.len() == list.len();
    let mut out = Vec::new();
    for (index, value) in list.iter().enumerate() {
        let item = items
            .iter()
            .find(|i| i.index == index)
            .filter(|_| readable_lines);
        let line = item.map_or(at_key, |i| i.first + 1);
        let Some(m) = value.as_mapping() else {
            out.push(Entry {
                line,
                key: format!("images[{index}]"),
                name: format!("images[{index}]"),
                image: None,
                problem: Some(format!(
                    "line {line}: images[{index}] is not a mapping with a name"
                )),
                stale: None,
                site: index,
            });
            continue;
        };
        let Some(name) = m.get("name").and_then(scalar_text) else {
            out.push(Entry {
                line,
                key: format!("images[{index}]"),
                name: format!("images[{index}]"),
                image: None,
                problem: Some(format!("line {line}: images[{index}] has no name")),
                stale: None,
                site: index,
            });
            continue;
        };
        let problem = match item {
            None if inline => Some(flow_problem(line, &name)),
            None => Some(format!(
                "line {line}: the images entry {name} could not be read line by line; write `images:` in block style, one entry per `- name:`"
            )),
            Some(item) if item.flow => Some(flow_problem(line, &name)),
            Some(item) => field_problem(&doc, item, m),
        };
        let image = image_of(m);
        let digest = image
            .as_deref()
            .and_then(|i| super::model::split_written(i).2)
            .unwrap_or("");
        let stale = digest_lines(&doc, &tree, &name)
            .into_iter()
            .map(|(_, at)| (at, digest_var_value(&doc, at)))
            .find(|(_, v)| !digest.is_empty() && v.as_str() != digest)
            .map(|(at, v)| {
                format!(
                    "line {}: {DIGEST_VAR} is {v:?}, not the image's digest",
                    at + 1
                )
            });
        out.push(Entry {
            line,
            key: format!("images[name={name}]"),
            name,
            image,
            problem,
            stale,
            site: index,
        });
    }
    Ok(out)
}

/// Where the value of an `IMAGE_DIGEST` `value:` line is.
fn digest_var_span(body: &str) -> lines::Span {
    let from = body
        .find("value:")
        .map_or(body.len(), |i| i + "value:".len());
    let from = from + (body[from..].len() - body[from..].trim_start().len());
    lines::value_span(body, from)
}

/// The value of the `IMAGE_DIGEST` `value:` line `at`.
fn digest_var_value(doc: &Doc<'_>, at: usize) -> String {
    let body = doc.lines()[at].body();
    digest_var_span(body).of(body).to_owned()
}

/// Why the lines of an entry do not say what its parsed fields do, if they
/// do not: an anchor, an alias, a tag, an escape, a value over several
/// lines, a key the scanner does not see.
fn field_problem(doc: &Doc<'_>, item: &Item, m: &serde_yaml_ng::Mapping) -> Option<String> {
    for key in FIELDS {
        let Some(value) = m.get(key) else { continue };
        let line = item.fields.get(key).map(|&i| &doc.lines()[i]);
        let written = line.and_then(deploykit::edit::yaml::YamlLine::value);
        if written.is_none() || written.map(str::to_owned) != scalar_text(value) {
            let at = line.map_or(item.first + 1, |l| l.line.number());
            return Some(format!(
                "line {at}: `{key}` is written in a form pin does not rewrite (an anchor, alias, tag, escape or a value over several lines); write it as a plain or quoted value on its own line"
            ));
        }
    }
    None
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

    /// Removes `key`'s line, if the entry has one. On the entry's `- ` line
    /// only the key goes: the dash stays, with the comment after it, and
    /// the keys below remain its mapping.
    fn remove(&mut self, key: &str) {
        let Some(&i) = self.item.fields.get(key) else {
            return;
        };
        let line = &self.doc.lines()[i];
        if line.is_item() {
            let body = line.body();
            let comment = line
                .node()
                .map(|n| body[n.value.end..].trim())
                .filter(|c| c.starts_with('#'))
                .map_or(String::new(), |c| format!(" {c}"));
            self.patch
                .replace(i, format!("{}-{comment}", " ".repeat(line.indent)));
        } else {
            self.patch.remove(i);
        }
        self.intents.push(Intent::Remove(self.path.key(key)));
    }

    /// Adds the new lines after the entry's last line, before the comments
    /// that follow it.
    fn finish(self) {
        if !self.tail.is_empty() {
            self.patch.insert_after(self.item.last, self.tail);
        }
    }
}

/// The `IMAGE_DIGEST` value lines in the text of `patches[k].patch` block
/// scalars whose target is the Deployment `name`: (patch path, line index).
fn digest_lines(doc: &Doc<'_>, tree: &Yaml, name: &str) -> Vec<(Path, usize)> {
    let mut out = Vec::new();
    let lines = doc.lines();
    for (i, l) in lines.iter().enumerate() {
        if l.kind != Kind::Text
            || l.body().trim().trim_start_matches("- ").trim() != format!("name: {DIGEST_VAR}")
        {
            continue;
        }
        let steps = l.path.steps();
        let [
            deploykit::edit::Step::Key(top),
            deploykit::edit::Step::Index(k),
            deploykit::edit::Step::Key(field),
        ] = steps
        else {
            continue;
        };
        if top != "patches" || field != "patch" {
            continue;
        }
        let target = tree
            .get("patches")
            .and_then(|p| p.get(*k))
            .and_then(|p| p.get("target"))
            .and_then(|t| t.get("name"))
            .and_then(Yaml::as_str);
        if target != Some(name) {
            continue;
        }
        let next = lines[i + 1..]
            .iter()
            .position(|n| !n.is_blank())
            .map(|off| i + 1 + off);
        if let Some(v) = next.filter(|&v| {
            lines[v].kind == Kind::Text
                && lines[v].path == l.path
                && lines[v].body().trim_start().starts_with("value:")
        }) {
            out.push((l.path.clone(), v));
        }
    }
    out
}

/// Sets the `IMAGE_DIGEST` value on line `at` of the block scalar at
/// `path` to `digest`, and what the scalar's text then means to be.
fn pin_digest_var(
    doc: &Doc<'_>,
    tree: &Yaml,
    path: &Path,
    at: usize,
    digest: &str,
    patch: &mut Patch<'_>,
) -> Result<Option<Intent>> {
    let lines = doc.lines();
    let body = lines[at].body();
    let span = digest_var_span(body);
    if span.of(body) == digest {
        return Ok(None);
    }
    let new = lines::splice(body, span, digest);
    // The scalar's text, line for line: its content starts at the first
    // text line of the block and is indented as that line is.
    let Some(first) = lines
        .iter()
        .position(|l| l.kind == Kind::Text && l.path == *path && !l.is_blank())
    else {
        return Ok(None);
    };
    let indent = lines[first].indent;
    let mut node: Option<&Yaml> = Some(tree);
    for step in path.steps() {
        node = node.and_then(|n| match step {
            deploykit::edit::Step::Key(k) => n.get(k.as_str()),
            deploykit::edit::Step::Index(i) => n.get(*i),
        });
    }
    let Some(text) = node.and_then(Yaml::as_str) else {
        return Err(Error::usage(format!(
            "line {}: could not pin {DIGEST_VAR} with the image ({path} is not a text)",
            at + 1
        )));
    };
    let mut parts: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let rel = at - first;
    let (Some(old), Some(replaced)) = (body.get(indent..), new.get(indent..)) else {
        return Err(Error::usage(format!(
            "line {}: could not pin {DIGEST_VAR} with the image",
            at + 1
        )));
    };
    if parts.get(rel).map(String::as_str) != Some(old) {
        return Err(Error::usage(format!(
            "line {}: could not pin {DIGEST_VAR} with the image ({path} does not read line by line); set it by hand",
            at + 1
        )));
    }
    replaced.clone_into(&mut parts[rel]);
    patch.replace(at, new);
    Ok(Some(Intent::Set(
        path.clone(),
        Yaml::String(parts.join("\n")),
    )))
}

/// Rewrites the entries of `edits` (an index into `entries`, what it
/// becomes) and the `IMAGE_DIGEST` that goes with each, and proves the
/// result changes nothing else.
pub fn rewrite(text: &str, entries: &[Entry], edits: &[(usize, Target)]) -> Result<Rewrite> {
    let doc = Doc::scan(text)?;
    let tree = parse(text)?;
    let items = doc.items(IMAGES);
    let mut patch = doc.patch();
    let mut intents = Vec::new();
    let mut changes = Vec::new();
    for (e, target) in edits {
        let entry = &entries[*e];
        if let Some(problem) = &entry.problem {
            return Err(Error::usage(problem.clone()));
        }
        let Some(item) = items.iter().find(|i| i.index == entry.site) else {
            continue;
        };
        let current = entry
            .image
            .as_deref()
            .map(|i| super::model::split_written(i).0.to_owned());
        let mut edit = EntryEdit {
            doc: &doc,
            item,
            path: item.path(IMAGES),
            indent: " ".repeat(item.column.unwrap_or(doc.lines()[item.first].indent + 2)),
            patch: &mut patch,
            intents: &mut intents,
            tail: Vec::new(),
        };
        if current.as_deref() != Some(target.name.as_str()) {
            edit.set("newName", &target.name)?;
        }
        match &target.tag {
            Some(tag) => edit.set("newTag", tag)?,
            None => edit.remove("newTag"),
        }
        edit.set("digest", &target.digest)?;
        edit.finish();
        for (path, at) in digest_lines(&doc, &tree, &entry.name) {
            if let Some(intent) =
                pin_digest_var(&doc, &tree, &path, at, &target.digest, &mut patch)?
            {
                intents.push(intent);
            }
        }
        let new = target.reference();
        if entry.image.as_deref() != Some(new.as_str()) {
            changes.push(Change::of(entry, new));
        }
    }
    if patch.is_empty() {
        return Ok(Rewrite {
            text: None,
            changes,
        });
    }
    let mut guard = Guard::<Yaml>::new(text)?;
    for intent in intents {
        match intent {
            Intent::Set(path, value) => guard.set(&path, value),
            Intent::Remove(path) => guard.remove(&path),
        };
    }
    let names: Vec<&str> = edits
        .iter()
        .map(|(e, _)| entries[*e].name.as_str())
        .collect();
    let checked = guard.checked(patch.apply(), &format!("pin {}", names.join(", ")))?;
    Ok(Rewrite {
        text: Some(checked),
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::super::model::{Pin, parse_pins};
    use super::super::testdata::{D1, D2, KUSTOMIZATION};
    use super::{entries, rewrite};
    use deploykit::exit::Result;

    /// Rewrites the entries each pin (by repository, for these tests) names.
    fn pin(text: &str, refs: &[&str]) -> Result<String> {
        let pins: Vec<Pin> =
            parse_pins(&refs.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap();
        let found = entries(text)?;
        let edits: Vec<_> = found
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let p = pins
                    .iter()
                    .find(|p| e.repository() == Some(p.repository()))?;
                Some((i, p.target(e)))
            })
            .collect();
        let r = rewrite(text, &found, &edits)?;
        Ok(r.text
            .map_or_else(|| text.to_owned(), |t| t.text().to_owned()))
    }

    #[test]
    fn kustomize_only_image_lines_change() {
        let got = pin(
            KUSTOMIZATION,
            &[
                &format!("ghcr.io/acme/api:prod-abc1234@{D1}"),
                &format!("ghcr.io/acme/scheduler-worker@{D1}"),
            ],
        )
        .unwrap();
        let want = KUSTOMIZATION
            .replace(
                "newTag: \"prod-0000000\"",
                &format!("newTag: \"prod-abc1234\"\n    digest: {D1}"),
            )
            .replace(&format!("digest: {D2}"), &format!("digest: {D1}"));
        assert_eq!(got, want);
        // A second run changes nothing.
        let again = pin(&got, &[&format!("ghcr.io/acme/api:prod-abc1234@{D1}")]).unwrap();
        assert_eq!(again, got);
    }

    #[test]
    fn kustomize_without_tag_drops_new_tag_and_handles_dash_at_column_zero() {
        let text = "images:\n- name: ghcr.io/acme/api\n  newTag: prod-0000000\n  # keep me\nresources: []\n";
        let got = pin(text, &[&format!("ghcr.io/acme/api@{D1}")]).unwrap();
        assert_eq!(
            got,
            format!(
                "images:\n- name: ghcr.io/acme/api\n  digest: {D1}\n  # keep me\nresources: []\n"
            )
        );
    }

    #[test]
    fn a_new_tag_on_the_dash_line_leaves_the_dash() {
        let text = "images:\n  - newTag: prod-0000000 # old\n    name: ghcr.io/acme/api\n";
        let got = pin(text, &[&format!("ghcr.io/acme/api@{D1}")]).unwrap();
        assert_eq!(
            got,
            format!("images:\n  - # old\n    name: ghcr.io/acme/api\n    digest: {D1}\n")
        );
        let got = pin(text, &[&format!("ghcr.io/acme/api:prod-abc1234@{D1}")]).unwrap();
        assert_eq!(
            got,
            format!(
                "images:\n  - newTag: prod-abc1234 # old\n    name: ghcr.io/acme/api\n    digest: {D1}\n"
            )
        );
    }

    #[test]
    fn kustomize_crlf_and_no_final_newline() {
        let text = "images:\r\n  - name: ghcr.io/acme/api";
        let got = pin(text, &[&format!("ghcr.io/acme/api@{D1}")]).unwrap();
        assert_eq!(
            got,
            format!("images:\r\n  - name: ghcr.io/acme/api\r\n    digest: {D1}")
        );
    }

    #[test]
    fn flow_entries_are_read_and_refused_with_the_block_form() {
        for text in [
            "images:\n  - {name: ghcr.io/acme/api, newTag: x}\n",
            "images: [{name: ghcr.io/acme/api, newTag: x}]\n",
        ] {
            let found = entries(text).unwrap();
            assert_eq!(found[0].image.as_deref(), Some("ghcr.io/acme/api:x"));
            let err = pin(text, &[&format!("ghcr.io/acme/api@{D1}")]).unwrap_err();
            assert!(err.to_string().contains("write it in block style"), "{err}");
        }
    }

    #[test]
    fn numeric_tags_keep_their_type_and_tabs_are_refused() {
        let text = "images:\n  - name: ghcr.io/acme/api\n    newTag: 7.2\n";
        let got = pin(text, &[&format!("ghcr.io/acme/api:7.3@{D1}")]).unwrap();
        assert_eq!(
            got,
            format!("images:\n  - name: ghcr.io/acme/api\n    newTag: 7.3\n    digest: {D1}\n")
        );
        let err = pin(
            "images:\n  - name: ghcr.io/acme/api\n  \tnewTag: x\n",
            &[&format!("ghcr.io/acme/api@{D1}")],
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("line 3: a tab"), "{err}");
    }

    #[test]
    fn the_image_digest_of_the_scaffold_is_pinned_with_the_entry() {
        let z = deploykit::imageref::PLACEHOLDER_DIGEST;
        let text = format!(
            "images:\n  - name: api\n    newName: ghcr.io/acme/api\n    digest: {z}\npatches:\n  - target:\n      kind: Deployment\n      name: api\n    patch: |-\n      - op: add\n        path: /spec/template/spec/containers/0/env/-\n        value:\n          name: IMAGE_DIGEST\n          value: \"{z}\"\n  - target:\n      name: other\n    patch: |-\n      - value:\n          name: IMAGE_DIGEST\n          value: \"{z}\"\n"
        );
        let before = entries(&text).unwrap();
        assert_eq!(before[0].stale, None, "the placeholder is reported as such");
        let got = pin(&text, &[&format!("ghcr.io/acme/api:prod-abc1234@{D1}")]).unwrap();
        assert_eq!(entries(&got).unwrap()[0].stale, None);
        let stale = got.replacen(&format!("digest: {D1}"), &format!("digest: {D2}"), 1);
        let found = entries(&stale).unwrap();
        assert!(
            found[0]
                .stale
                .as_deref()
                .unwrap()
                .contains(&format!("IMAGE_DIGEST is \"{D1}\"")),
            "{found:?}"
        );
        let want = text
            .replacen(
                &format!("digest: {z}"),
                &format!("digest: {D1}\n    newTag: prod-abc1234"),
                1,
            )
            .replacen(&format!("value: \"{z}\""), &format!("value: \"{D1}\""), 1);
        assert_eq!(got, want);
    }
}
