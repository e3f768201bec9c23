//! Compose files: the `image:` keys, wherever they are.
//!
//! A compose file names images as `image:` under each service (and under
//! `x-` extension blocks that services merge in), so every `image:` key of
//! the parsed document is an entry, called by its service (`services.api`
//! is `api`) or by its path (`x-app`); the text of a block scalar (a
//! `command: |` script that mentions `image:`) is not. An entry is
//! rewritten on its own line; one that has none (it comes from an anchor,
//! an alias or a merge key, or is in flow style) is refused when a pin
//! addresses it. A service's `environment: IMAGE_DIGEST:` is pinned with
//! its image.

use deploykit::edit::guard::{Guard, Tree};
use deploykit::edit::lines;
use deploykit::edit::yaml::{self, Doc};
use deploykit::edit::{Path, Step};
use deploykit::exit::{Error, Result};
use serde_yaml_ng::Value as Yaml;

use super::model::{Change, Entry, Rewrite, Target};

/// Every `image:` key below `node`, with its path.
fn walk<'v>(node: &'v Yaml, path: &Path, out: &mut Vec<(Path, &'v Yaml)>) {
    match node {
        Yaml::Mapping(m) => {
            for (k, v) in m {
                let Some(k) = k.as_str() else { continue };
                let here = path.key(k);
                if k == "image" {
                    out.push((here, v));
                } else {
                    walk(v, &here, out);
                }
            }
        }
        Yaml::Sequence(s) => {
            for (i, v) in s.iter().enumerate() {
                walk(v, &path.index(i), out);
            }
        }
        Yaml::Tagged(t) => walk(&t.value, path, out),
        _ => {}
    }
}

/// What `NAME=REF` calls the image at `path`: its service, else its path.
fn name_of(path: &Path) -> String {
    match path.steps() {
        [Step::Key(s), Step::Key(name), Step::Key(_)] if s == "services" => name.clone(),
        steps => Path(steps[..steps.len().saturating_sub(1)].to_vec()).to_string(),
    }
}

/// The image entries of a compose file. Fails (exit 2) on a file that does
/// not parse as YAML or that the scanner refuses (a tab in the indentation).
pub fn entries(text: &str) -> Result<Vec<Entry>> {
    let doc = Doc::scan(text)?;
    let mut tree = <Yaml as Tree>::parse(text)
        .map_err(|e| Error::usage(format!("does not parse as YAML: {e}")))?;
    // Services take keys from `<<: *anchor` merges; a failed merge leaves
    // the keys where they are written.
    let _ = tree.apply_merge();
    let mut found = Vec::new();
    walk(&tree, &Path::root(), &mut found);
    Ok(found
        .into_iter()
        .map(|(path, value)| {
            let line = doc
                .lines()
                .iter()
                .find(|l| l.path == path && l.key() == Some("image"));
            let parent = Path(path.steps()[..path.steps().len() - 1].to_vec());
            let number = line.map(|l| l.line.number()).or_else(|| {
                doc.lines()
                    .iter()
                    .find(|l| l.path == parent && l.node().is_some())
                    .map(|l| l.line.number())
            });
            let image = value.as_str().map(str::to_owned);
            let problem = match (line, &image) {
                (_, None) => Some(format!("{path} is not a text")),
                (Some(l), Some(i)) if l.value() == Some(i.as_str()) => None,
                (Some(l), Some(_)) => Some(format!(
                    "line {}: {path} is written in a form pin does not rewrite (an anchor, alias, tag, escape or a value over several lines); write the reference as a plain or quoted value",
                    l.line.number()
                )),
                (None, Some(_)) => Some(format!(
                    "{path} has no line of its own (it comes from an anchor, an alias or a merge key, or is in flow style); write `image:` under the service, in block style, to pin it"
                )),
            };
            Entry {
                line: number.unwrap_or(1),
                key: path.to_string(),
                name: name_of(&path),
                image,
                problem,
                stale: None,
                site: line.map_or(0, |l| l.line.index),
            }
        })
        .collect())
}

/// Rewrites the entries of `edits` (an index into `entries`, what it
/// becomes) and the service's `IMAGE_DIGEST`, and proves the result changes
/// nothing else.
pub fn rewrite(text: &str, entries: &[Entry], edits: &[(usize, Target)]) -> Result<Rewrite> {
    let doc = Doc::scan(text)?;
    let mut patch = doc.patch();
    let mut guard = Guard::<Yaml>::new(text)?;
    let mut changes = Vec::new();
    for (e, target) in edits {
        let entry = &entries[*e];
        if let Some(problem) = &entry.problem {
            return Err(Error::usage(problem.clone()));
        }
        let new = target.reference();
        let mut set = |index: usize, value: &str| -> Result<()> {
            let line = &doc.lines()[index];
            let Some(node) = line.node() else {
                return Ok(());
            };
            if line.value() == Some(value) {
                return Ok(());
            }
            let body = lines::splice(line.body(), node.value, value);
            guard.set(&line.path, yaml::scalar(&body[node.value_from..])?);
            patch.replace(index, body);
            Ok(())
        };
        set(entry.site, &new)?;
        let image_path = &doc.lines()[entry.site].path;
        if let [Step::Key(s), Step::Key(service), Step::Key(_)] = image_path.steps() {
            let var = Path::root()
                .key(s)
                .key(service)
                .key("environment")
                .key("IMAGE_DIGEST");
            if let Some(l) = doc
                .lines()
                .iter()
                .find(|l| l.path == var && l.key().is_some())
            {
                set(l.line.index, &target.digest)?;
            }
        }
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
    use super::super::testdata::D1;
    use super::{entries, rewrite};
    use deploykit::exit::Result;

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
    fn compose_keeps_quotes_comments_and_other_services() {
        let text = "\
services:
  api:
    image: \"ghcr.io/acme/api:prod-0000000\" # the app
    environment:
      IMAGE: ghcr.io/acme/api:not-this
      IMAGE_DIGEST: 'sha256:0000000000000000000000000000000000000000000000000000000000000000'
  worker:
    image: ghcr.io/acme/worker:prod-0000000
  db:
    image: postgres:15
  templated:
    image: ${REGISTRY}/acme/api:${TAG}
";
        let found = entries(text).unwrap();
        let names: Vec<&str> = found.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["api", "worker", "db", "templated"]);
        assert_eq!(found[0].key, "services.api.image");
        let got = pin(text, &[&format!("ghcr.io/acme/api:prod-abc1234@{D1}")]).unwrap();
        assert_eq!(
            got,
            text.replace(
                "\"ghcr.io/acme/api:prod-0000000\"",
                &format!("\"ghcr.io/acme/api:prod-abc1234@{D1}\"")
            )
            .replace(
                "'sha256:0000000000000000000000000000000000000000000000000000000000000000'",
                &format!("'{D1}'")
            )
        );
    }

    #[test]
    fn block_scalars_are_not_entries_and_tabs_are_refused() {
        let text = "services:\n  api:\n    command: |\n      image: ghcr.io/acme/api:x\n    image: ghcr.io/acme/api:y\n";
        let found = entries(text).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 5);
        let err = entries("services:\n  api:\n\timage: ghcr.io/acme/api:y\n").unwrap_err();
        assert!(err.to_string().starts_with("line 3: a tab"), "{err}");
    }

    #[test]
    fn an_entry_without_a_line_of_its_own_is_refused() {
        let text = "x-app: &app\n  image: ghcr.io/acme/api:y\nservices:\n  api: *app\n  web: {image: ghcr.io/acme/web:1}\n";
        let found = entries(text).unwrap();
        let names: Vec<&str> = found.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["x-app", "api", "web"]);
        assert!(found[0].problem.is_none());
        assert!(
            found[1]
                .problem
                .as_deref()
                .unwrap()
                .contains("no line of its own")
        );
        let err = pin(text, &[&format!("ghcr.io/acme/api@{D1}")]).unwrap_err();
        assert!(err.to_string().contains("no line of its own"), "{err}");
    }
}
