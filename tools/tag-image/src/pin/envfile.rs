//! Env files (`runtime.env`, `.env.prod`): the `*_IMAGE=` variables.
//!
//! An env file is read by a shell or a dotenv loader, not by a YAML
//! parser, so it has no scanner beyond the variable's line: the value is
//! the rest of the line (inside its quotes, before a ` #` comment), and a
//! rewrite replaces only that value. The variable's name is what
//! `NAME=REF` calls the entry. The rewrite is proven like the YAML ones:
//! the file is read again as a dotenv loader reads it, and every assignment
//! but the pinned ones must be as it was.

use std::sync::LazyLock;

use deploykit::edit::Path;
use deploykit::edit::guard::{Env, Guard};
use deploykit::edit::lines::{self, Patch};
use deploykit::exit::{Error, Result};
use regex::Regex;

use super::model::{Change, Entry, Rewrite, Target};

/// `NAME_IMAGE=value`, optionally after `export`.
static ENV_RE: LazyLock<Regex> = LazyLock::new(|| {
    deploykit::constant_regex(r"^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*_IMAGE)(\s*=\s*)(.*)$")
});

/// Whether `line` sets a `*_IMAGE` variable.
pub fn is_image_line(line: &str) -> bool {
    ENV_RE.is_match(line.trim_end_matches('\r'))
}

/// The image entries of an env file.
pub fn entries(text: &str) -> Vec<Entry> {
    lines::split(text)
        .into_iter()
        .filter_map(|l| {
            let c = ENV_RE.captures(l.body)?;
            let name = c.get(2)?.as_str().to_owned();
            let span = lines::value_span(l.body, c.get(4)?.start());
            Some(Entry {
                line: l.number(),
                key: name.clone(),
                name,
                image: Some(span.of(l.body).to_owned()),
                problem: None,
                stale: None,
                site: l.index,
            })
        })
        .collect()
}

/// Rewrites the entries of `edits` (an index into `entries`, what it
/// becomes), and proves the result changes nothing else.
pub fn rewrite(text: &str, entries: &[Entry], edits: &[(usize, Target)]) -> Result<Rewrite> {
    let all = lines::split(text);
    let mut patch = Patch::new(text);
    let mut guard = Guard::<Env>::new(text)?;
    let mut changes = Vec::new();
    for (e, target) in edits {
        let entry = &entries[*e];
        let Some(line) = all.get(entry.site) else {
            continue;
        };
        let Some(value) = ENV_RE.captures(line.body).and_then(|c| c.get(4)) else {
            return Err(Error::usage(format!(
                "line {}: not an image variable",
                entry.line
            )));
        };
        let span = lines::value_span(line.body, value.start());
        let new = target.reference();
        if span.of(line.body) == new {
            continue;
        }
        patch.replace(entry.site, lines::splice(line.body, span, &new));
        guard.set(&Path::root().key(&entry.name), Env::Value(new.clone()));
        changes.push(Change::of(entry, new));
    }
    if patch.is_empty() {
        return Ok(Rewrite {
            text: None,
            changes,
        });
    }
    let names: Vec<&str> = changes.iter().map(|c| c.name.as_str()).collect();
    let checked = guard.checked(patch.apply(), &format!("pin {}", names.join(", ")))?;
    Ok(Rewrite {
        text: Some(checked),
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::super::model::parse_pins;
    use super::super::testdata::{D1, D2};
    use super::{entries, rewrite};

    #[test]
    fn env_files_keep_quotes_comments_and_other_lines() {
        let text = "# images\nAPP_IMAGE=ghcr.io/acme/api:prod-0000000\nexport SCHEDULER_WORKER_IMAGE='ghcr.io/acme/scheduler-worker:prod-0000000'  # worker\nAPI_URL=http://api\nHUB_IMAGE=library/nginx:1\n";
        let found = entries(text);
        let pins = parse_pins(&[
            format!("ghcr.io/acme/scheduler-worker:prod-abc1234-scheduler-worker@{D1}"),
            format!("docker.io/library/nginx@{D2}"),
        ])
        .unwrap();
        let edits = vec![
            (1, pins[0].target(&found[1])),
            (2, pins[1].target(&found[2])),
        ];
        let r = rewrite(text, &found, &edits).unwrap();
        assert_eq!(
            r.text.unwrap().text(),
            format!(
                "# images\nAPP_IMAGE=ghcr.io/acme/api:prod-0000000\nexport SCHEDULER_WORKER_IMAGE='ghcr.io/acme/scheduler-worker:prod-abc1234-scheduler-worker@{D1}'  # worker\nAPI_URL=http://api\nHUB_IMAGE=library/nginx@{D2}\n"
            )
        );
        let keys: Vec<&str> = r.changes.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["SCHEDULER_WORKER_IMAGE", "HUB_IMAGE"]);
    }

    #[test]
    fn a_file_a_dotenv_loader_cannot_read_is_refused() {
        let text = "APP_IMAGE=ghcr.io/acme/api:x\nBAD='unclosed\n";
        let found = entries(text);
        let pins = parse_pins(&[format!("ghcr.io/acme/api@{D1}")]).unwrap();
        let err = rewrite(text, &found, &[(0, pins[0].target(&found[0]))]).unwrap_err();
        assert!(
            err.to_string().contains("does not parse as an env file"),
            "{err}"
        );
    }
}
