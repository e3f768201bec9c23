//! The YAML edits: a glob in `pnpm-workspace.yaml`'s `packages:`, a service
//! under a Compose file's `services:`.
//!
//! Both append an entry at the end of a top-level block, in the block's own
//! style (its indentation, its quotes, a blank line between services if it
//! has them), or add the block at the end of the file when it is missing.

use deploykit::edit::Path;
use deploykit::edit::guard::{Guard, Tree};
use deploykit::edit::lines;
use deploykit::edit::yaml::Doc;
use serde_yaml_ng::Value as Yaml;

use super::outcome::{EditError, EditResult, Outcome, unsupported, within};

/// Adds `glob` to the top-level `packages:` list of `pnpm-workspace.yaml`.
pub fn add_workspace_package(src: &str, glob: &str) -> EditResult {
    let what = "pnpm-workspace.yaml";
    let doc = Doc::scan(src).map_err(within(what))?;
    let mut guard = Guard::<Yaml>::new(src).map_err(within(what))?;
    let root = guard
        .document()
        .as_mapping()
        .ok_or_else(|| unsupported(format!("{what} is not a mapping")))?;
    let mut packages: Vec<Yaml> = match root.get("packages") {
        None | Some(Yaml::Null) => Vec::new(),
        Some(Yaml::Sequence(s)) => s.clone(),
        Some(_) => return Err(unsupported(format!("{what}: `packages` is not a list"))),
    };
    if packages.iter().any(|p| p.as_str() == Some(glob)) {
        return Ok(Outcome::Unchanged);
    }
    let mut patch = doc.patch();
    match doc.top_level("packages").map_err(within(what))? {
        None => patch.append(["packages:".to_owned(), format!("  - \"{glob}\"")]),
        Some(block) => {
            let first_item = doc.lines()[block.key_line + 1..block.end]
                .iter()
                .find(|l| !l.is_blank() && !l.is_comment());
            // Follow the list's style: its indentation, its quotes.
            let (indent, quote) = match first_item {
                Some(item) => {
                    let value = item
                        .body()
                        .trim_start()
                        .trim_start_matches('-')
                        .trim_start();
                    let quote = match value.chars().next() {
                        Some('"') => "\"",
                        Some('\'') => "'",
                        _ => "",
                    };
                    (item.indent, quote)
                }
                None => (2, "\""),
            };
            let item = format!("{}- {quote}{glob}{quote}", " ".repeat(indent));
            patch.insert_after(block.last_content.unwrap_or(block.key_line), [item]);
        }
    }
    let new = patch.apply();
    // Prove it: the list gained exactly `glob`, nothing else moved.
    packages.push(Yaml::String(glob.to_owned()));
    guard.set(&Path::root().key("packages"), Yaml::Sequence(packages));
    guard
        .check(&new, &format!("add {glob:?}"))
        .map_err(within(what))?;
    Ok(Outcome::Changed(new))
}

/// Adds the service `name`, defined by `block` (YAML rendered at indent 0,
/// starting with `name:`), under the top-level `services:` of a Compose file.
///
/// A service of that name that builds `services/<name>/Dockerfile` is this
/// one, already wired (unchanged); any other service of that name conflicts.
pub fn add_compose_service(src: &str, what: &str, name: &str, block: &str) -> EditResult {
    let doc = Doc::scan(src).map_err(within(what))?;
    let mut guard = Guard::<Yaml>::new(src).map_err(within(what))?;
    let snippet = Yaml::parse(block).map_err(|e| {
        unsupported(format!(
            "the Compose service template does not parse as YAML: {e}"
        ))
    })?;
    let definition = snippet
        .get(name)
        .ok_or_else(|| {
            unsupported(format!(
                "the Compose service template does not define `{name}`"
            ))
        })?
        .clone();
    let services = guard.document().get("services");
    if let Some(existing) = services.and_then(|s| s.get(name)) {
        let dockerfile = format!("services/{name}/Dockerfile");
        let ours = existing
            .get("build")
            .and_then(|b| b.get("dockerfile"))
            .and_then(Yaml::as_str)
            == Some(dockerfile.as_str());
        return if ours {
            Ok(Outcome::Unchanged)
        } else {
            Err(EditError::Conflict(format!(
                "{what} already has a service named {name:?} (not built from {dockerfile})"
            )))
        };
    }
    if services.is_some_and(|s| !s.is_mapping() && !s.is_null()) {
        return Err(unsupported(format!("{what}: `services` is not a mapping")));
    }
    if !guard.document().is_mapping() {
        return Err(unsupported(format!("{what} is not a mapping")));
    }
    let mut patch = doc.patch();
    match doc.top_level("services").map_err(within(what))? {
        None => {
            let sep = (!src.trim().is_empty()).then(String::new);
            let head = sep.into_iter().chain(["services:".to_owned()]);
            patch.append(head.chain(lines::indented(block, 2)));
        }
        Some(b) => {
            let ls = doc.lines();
            let indent = b.child_indent.unwrap_or(2);
            // Follow the file's habit: a blank line between services if it has them.
            let spaced = (b.key_line + 1..b.end).any(|i| {
                ls[i].is_blank()
                    && ls
                        .get(i + 1)
                        .is_some_and(|n| n.indent == indent && !n.is_blank() && !n.is_comment())
            });
            let sep = spaced.then(String::new);
            patch.insert_after(
                b.last_content.unwrap_or(b.key_line),
                sep.into_iter().chain(lines::indented(block, indent)),
            );
        }
    }
    let new = patch.apply();
    guard.set(&Path::root().key("services").key(name), definition);
    guard
        .check(&new, &format!("add service {name:?}"))
        .map_err(within(what))?;
    Ok(Outcome::Changed(new))
}

#[cfg(test)]
mod tests {
    use super::super::outcome::changed;
    use super::*;

    #[test]
    fn workspace_glob_follows_the_file_style_and_is_idempotent() {
        let src = "# workspace\npackages:\n  - 'packages/*'\n  - 'apps/*'\n\ncatalog:\n  zod: ^3\n";
        let new = changed(add_workspace_package(src, "services/*"));
        assert_eq!(
            new,
            "# workspace\npackages:\n  - 'packages/*'\n  - 'apps/*'\n  - 'services/*'\n\ncatalog:\n  zod: ^3\n"
        );
        assert_eq!(
            add_workspace_package(&new, "services/*"),
            Ok(Outcome::Unchanged)
        );
    }

    #[test]
    fn workspace_glob_at_column_zero_and_missing_key() {
        let new = changed(add_workspace_package(
            "packages:\n- packages/*\n",
            "services/*",
        ));
        assert_eq!(new, "packages:\n- packages/*\n- services/*\n");
        let new = changed(add_workspace_package("catalog:\n  a: b", "services/*"));
        assert_eq!(new, "catalog:\n  a: b\npackages:\n  - \"services/*\"\n");
        assert!(matches!(
            add_workspace_package("packages: [a, b]\n", "services/*"),
            Err(EditError::Unsupported(_))
        ));
    }

    #[test]
    fn a_tab_in_the_indentation_names_the_file_and_line() {
        let err = add_workspace_package("packages:\n\t- a\n", "services/*").unwrap_err();
        assert!(matches!(err, EditError::Unsupported(_)));
        assert!(
            err.to_string()
                .starts_with("pnpm-workspace.yaml: line 2: a tab in the indentation"),
            "{err}"
        );
    }

    const COMPOSE: &str = "services:\n  postgres:\n    image: postgres:15\n\n  app:\n    build: .\n    # app notes\n\n# shared volumes\nvolumes:\n  pgdata: {}\n";

    #[test]
    fn compose_service_goes_at_the_end_of_services() {
        let new = changed(add_compose_service(
            COMPOSE,
            "compose",
            "w",
            "w:\n  build:\n    dockerfile: services/w/Dockerfile\n",
        ));
        assert_eq!(
            new,
            "services:\n  postgres:\n    image: postgres:15\n\n  app:\n    build: .\n    # app notes\n\n  w:\n    build:\n      dockerfile: services/w/Dockerfile\n\n# shared volumes\nvolumes:\n  pgdata: {}\n"
        );
        assert_eq!(
            add_compose_service(
                &new,
                "compose",
                "w",
                "w:\n  build:\n    dockerfile: services/w/Dockerfile\n"
            ),
            Ok(Outcome::Unchanged)
        );
    }

    #[test]
    fn compose_name_clash_is_a_conflict() {
        assert!(matches!(
            add_compose_service(COMPOSE, "compose", "postgres", "postgres:\n  image: x\n"),
            Err(EditError::Conflict(_))
        ));
    }

    #[test]
    fn compose_crlf_and_four_space_indent() {
        let src = "version: '3'\r\nservices:\r\n    app:\r\n        image: a\r\n";
        let new = changed(add_compose_service(src, "c", "w", "w:\n  image: b\n"));
        assert_eq!(
            new,
            "version: '3'\r\nservices:\r\n    app:\r\n        image: a\r\n    w:\r\n      image: b\r\n"
        );
    }
}
