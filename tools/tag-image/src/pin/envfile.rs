//! Env files (`runtime.env`, `.env.prod`): the `*_IMAGE=` variables.
//!
//! An env file is read by a shell or a dotenv loader, not by a YAML
//! parser, so it has no scanner beyond the variable's line: the value is
//! the rest of the line (inside its quotes, before a ` #` comment), and a
//! rewrite replaces only that value.

use std::sync::LazyLock;

use deploykit::edit::lines::{self, Patch};
use regex::Regex;

use super::model::{Entry, Pins, Rewrite, ValueLine, pin_values};

/// `NAME_IMAGE=value`, optionally after `export`.
static ENV_RE: LazyLock<Regex> = LazyLock::new(|| {
    deploykit::constant_regex(r"^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*_IMAGE)(\s*=\s*)(.*)$")
});

/// Whether `line` sets a `*_IMAGE` variable.
pub fn is_image_line(line: &str) -> bool {
    ENV_RE.is_match(line.trim_end_matches('\r'))
}

fn image_lines(text: &str) -> impl Iterator<Item = ValueLine<'_>> {
    lines::split(text).into_iter().filter_map(|l| {
        let c = ENV_RE.captures(l.body)?;
        Some(ValueLine {
            index: l.index,
            key: c.get(2)?.as_str().to_owned(),
            body: l.body,
            span: lines::value_span(l.body, c.get(4)?.start()),
        })
    })
}

/// The image entries of an env file.
pub fn entries(text: &str) -> Vec<Entry> {
    image_lines(text).map(|v| v.entry()).collect()
}

/// Pins the `*_IMAGE` variables that name a pinned repository.
pub fn rewrite(text: &str, pins: &Pins) -> Rewrite {
    let pinned = pin_values(image_lines(text), pins);
    let mut patch = Patch::new(text);
    for (index, body) in pinned.bodies {
        patch.replace(index, body);
    }
    Rewrite::new(patch.apply(), pinned.changes, pinned.matched)
}

#[cfg(test)]
mod tests {
    use super::super::testdata::{D1, D2, pins};
    use super::rewrite;

    #[test]
    fn env_files_match_by_repository_whatever_the_spelling() {
        let text = "# images\nAPI_IMAGE=ghcr.io/acme/api:prod-0000000\nexport SCHEDULER_WORKER_IMAGE='ghcr.io/acme/scheduler-worker:prod-0000000'  # worker\nAPI_URL=http://api\nHUB_IMAGE=library/nginx:1\n";
        let r = rewrite(
            text,
            &pins(&[
                &format!("ghcr.io/acme/scheduler-worker:prod-abc1234-scheduler-worker@{D1}"),
                &format!("docker.io/library/nginx@{D2}"),
            ]),
        );
        assert_eq!(
            r.text,
            format!(
                "# images\nAPI_IMAGE=ghcr.io/acme/api:prod-0000000\nexport SCHEDULER_WORKER_IMAGE='ghcr.io/acme/scheduler-worker:prod-abc1234-scheduler-worker@{D1}'  # worker\nAPI_URL=http://api\nHUB_IMAGE=library/nginx@{D2}\n"
            )
        );
        let keys: Vec<&str> = r.changes.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["SCHEDULER_WORKER_IMAGE", "HUB_IMAGE"]);
    }
}
