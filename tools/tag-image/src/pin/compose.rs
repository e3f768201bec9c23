//! Compose files: the `image:` keys, wherever they are.
//!
//! A compose file names images as `image:` under each service (and under
//! `x-` extension blocks that services merge in), so every `image:` node
//! the YAML scanner finds is an entry; the text of a block scalar (a
//! `command: |` script that mentions `image:`) is not.

use deploykit::edit::guard::Guard;
use deploykit::edit::yaml::{self, Doc};
use deploykit::exit::Result;
use serde_yaml_ng::Value as Yaml;

use super::model::{Entry, Pins, Rewrite, ValueLine, pin_values};

fn image_lines<'d>(doc: &'d Doc<'_>) -> impl Iterator<Item = ValueLine<'d>> {
    doc.lines().iter().filter_map(|l| {
        let node = l.node().filter(|n| n.key.as_deref() == Some("image"))?;
        Some(ValueLine {
            index: l.line.index,
            key: "image".into(),
            body: l.body(),
            span: node.value,
        })
    })
}

/// The image entries of a compose file.
pub fn entries(text: &str) -> Result<Vec<Entry>> {
    let doc = Doc::scan(text)?;
    Ok(image_lines(&doc).map(|v| v.entry()).collect())
}

/// Pins the `image:` values that name a pinned repository, and proves the
/// result changes nothing else.
pub fn rewrite(text: &str, pins: &Pins) -> Result<Rewrite> {
    let doc = Doc::scan(text)?;
    let pinned = pin_values(image_lines(&doc), pins);
    let mut patch = doc.patch();
    let mut guard: Option<Guard<Yaml>> = None;
    for (index, body) in pinned.bodies {
        let line = &doc.lines()[index];
        let from = line.node().map_or(body.len(), |n| n.value_from);
        let intended = yaml::scalar(&body[from..])?;
        let g = match &mut guard {
            Some(g) => g,
            None => guard.insert(Guard::new(text)?),
        };
        g.set(&line.path, intended);
        patch.replace(index, body);
    }
    let new = patch.apply();
    if let Some(g) = &guard {
        g.check(&new, &format!("pin {}", pinned.matched.join(", ")))?;
    }
    Ok(Rewrite::new(new, pinned.changes, pinned.matched))
}

#[cfg(test)]
mod tests {
    use super::super::testdata::{D1, pins};
    use super::rewrite;

    #[test]
    fn compose_keeps_quotes_comments_and_other_services() {
        let text = "\
services:
  api:
    image: \"ghcr.io/acme/api:prod-0000000\" # the app
    environment:
      IMAGE: ghcr.io/acme/api:not-this
  worker:
    image: ghcr.io/acme/worker:prod-0000000
  db:
    image: postgres:15
  templated:
    image: ${REGISTRY}/acme/api:${TAG}
";
        let r = rewrite(text, &pins(&[&format!("ghcr.io/acme/api@{D1}")])).unwrap();
        assert_eq!(
            r.text,
            text.replace(
                "\"ghcr.io/acme/api:prod-0000000\"",
                &format!("\"ghcr.io/acme/api@{D1}\"")
            )
        );
        assert_eq!(r.changes.len(), 1);
        assert_eq!(r.changes[0].line, 3);
    }

    #[test]
    fn block_scalars_are_not_entries_and_tabs_are_refused() {
        let text = "services:\n  api:\n    command: |\n      image: ghcr.io/acme/api:x\n    image: ghcr.io/acme/api:y\n";
        let r = rewrite(text, &pins(&[&format!("ghcr.io/acme/api@{D1}")])).unwrap();
        assert_eq!(r.changes.len(), 1);
        assert_eq!(r.changes[0].line, 5);
        let err = rewrite(
            "services:\n  api:\n\timage: ghcr.io/acme/api:y\n",
            &pins(&[&format!("ghcr.io/acme/api@{D1}")]),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("line 3: a tab"), "{err}");
    }

    #[test]
    fn an_edit_the_guard_cannot_prove_is_refused() {
        // The anchor's image is also the alias's: changing one line changes two values.
        let text = "x-app: &app\n  image: ghcr.io/acme/api:y\nservices:\n  api: *app\n";
        let err = rewrite(text, &pins(&[&format!("ghcr.io/acme/api@{D1}")])).unwrap_err();
        assert!(
            err.to_string().contains("without changing other entries"),
            "{err}"
        );
    }
}
