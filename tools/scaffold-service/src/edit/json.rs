//! The JSON edit: root scripts in `package.json`.
//!
//! The members are added through the syntax tree of [`deploykit::edit::json`],
//! which takes the indentation and line endings of the members around them.

use deploykit::edit::Path;
use deploykit::edit::guard::Guard;
use deploykit::edit::json::{self, cst::CstInputValue};
use serde_json::Value as Json;

use super::outcome::{EditError, EditResult, Outcome, unsupported, within};

/// Adds `entries` to the `scripts` object of a root `package.json`.
pub fn add_scripts(src: &str, entries: &[(String, String)]) -> EditResult {
    let what = "package.json";
    let mut guard = Guard::<Json>::new(src).map_err(within(what))?;
    let root = guard
        .document()
        .as_object()
        .ok_or_else(|| unsupported(format!("{what} is not a JSON object")))?;
    let scripts = root.get("scripts");
    if scripts.is_some_and(|s| !s.is_object()) {
        return Err(unsupported(format!("{what}: `scripts` is not an object")));
    }
    let mut missing = Vec::new();
    for (key, value) in entries {
        match scripts.and_then(|s| s.get(key)) {
            Some(Json::String(v)) if v == value => {}
            Some(other) => {
                return Err(EditError::Conflict(format!(
                    "{what} already has a script {key:?} ({other}); remove it or choose another name"
                )));
            }
            None => missing.push((key, value)),
        }
    }
    if missing.is_empty() {
        return Ok(Outcome::Unchanged);
    }
    let tree = json::parse(src).map_err(within(what))?;
    let object = json::root_object(&tree).map_err(within(what))?;
    let scripts = match object.get("scripts") {
        Some(member) => member
            .object_value()
            .ok_or_else(|| unsupported(format!("{what}: `scripts` is not an object")))?,
        None => object.object_value_or_set("scripts"),
    };
    for (key, value) in &missing {
        scripts.append(key, CstInputValue::String((*value).clone()));
        guard.set(
            &Path::root().key("scripts").key(key),
            Json::String((*value).clone()),
        );
    }
    let new = tree.to_string();
    // Prove it: the scripts object gained exactly the missing entries.
    guard.check(&new, "add the scripts").map_err(within(what))?;
    Ok(Outcome::Changed(new))
}

#[cfg(test)]
mod tests {
    use super::super::outcome::changed;
    use super::*;

    #[test]
    fn scripts_are_appended_in_the_file_style() {
        let src = "{\n    \"name\": \"@acme/root\",\n    \"scripts\": {\n        \"dev\": \"next dev\"\n    },\n    \"packageManager\": \"pnpm@9.12.2\"\n}\n";
        let entries = vec![("w:build".to_owned(), "pnpm --filter x build".to_owned())];
        let new = changed(add_scripts(src, &entries));
        assert_eq!(
            new,
            "{\n    \"name\": \"@acme/root\",\n    \"scripts\": {\n        \"dev\": \"next dev\",\n        \"w:build\": \"pnpm --filter x build\"\n    },\n    \"packageManager\": \"pnpm@9.12.2\"\n}\n"
        );
        assert_eq!(add_scripts(&new, &entries), Ok(Outcome::Unchanged));
        let clash = vec![("w:build".to_owned(), "other".to_owned())];
        assert!(matches!(
            add_scripts(&new, &clash),
            Err(EditError::Conflict(_))
        ));
    }

    #[test]
    fn scripts_object_is_created_or_opened() {
        let entries = vec![("a".to_owned(), "b".to_owned())];
        let new = changed(add_scripts("{\n  \"name\": \"r\"\n}", &entries));
        assert_eq!(
            new,
            "{\n  \"name\": \"r\",\n  \"scripts\": {\n    \"a\": \"b\"\n  }\n}"
        );
        let new = changed(add_scripts(
            "{\n  \"scripts\": {},\n  \"x\": 1\n}\n",
            &entries,
        ));
        assert_eq!(
            new,
            "{\n  \"scripts\": {\n    \"a\": \"b\"\n  },\n  \"x\": 1\n}\n"
        );
    }

    #[test]
    fn crlf_and_tabs_are_kept() {
        let entries = vec![("c".to_owned(), "d".to_owned())];
        let new = changed(add_scripts(
            "{\r\n\t\"scripts\": {\r\n\t\t\"a\": \"b\"\r\n\t}\r\n}\r\n",
            &entries,
        ));
        assert_eq!(
            new,
            "{\r\n\t\"scripts\": {\r\n\t\t\"a\": \"b\",\r\n\t\t\"c\": \"d\"\r\n\t}\r\n}\r\n"
        );
    }
}
