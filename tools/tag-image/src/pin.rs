//! `tag-image pin`: the promotion flow's edit, a PR that changes the image
//! digest in an overlay.
//!
//! The files are edited line by line, never parsed and re-serialised: a
//! YAML round trip would reorder keys, drop comments and re-quote values,
//! and a reviewer would have to read a reformatted file to find the one line
//! that matters. Each format's image entries are found with a small,
//! line-oriented reader ([`entries`]); the rewrite ([`rewrite`]) replaces only
//! the value of the lines that name a pinned repository (keeping quotes,
//! spacing and trailing comments), inserts a `digest:`/`newTag:` line into a
//! Kustomize entry that lacks one, and leaves every other byte, line endings
//! included, as it was.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use deploykit::exit::{Error, Exit, Result};
use deploykit::imageref::{self, Reference};
use deploykit::output::Reporter;
use regex::Regex;
use serde::Serialize;

/// The kind of file, which decides where image references live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `kustomization.yaml`: the `images:` list.
    Kustomize,
    /// A compose file: `image:` keys.
    Compose,
    /// An env file: `*_IMAGE=` variables.
    Env,
}

impl Kind {
    /// Guesses the kind from the file name, then from the content.
    pub fn detect(path: &Path, text: &str) -> Option<Kind> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "kustomization.yaml" | "kustomization.yml" | "kustomization"
        ) {
            return Some(Kind::Kustomize);
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ext == "env" || name.starts_with(".env") || name.contains(".env.") || name == "env" {
            return Some(Kind::Env);
        }
        let yaml = ext == "yaml" || ext == "yml";
        if yaml && (name.contains("compose") || text.lines().any(|l| l.starts_with("services:"))) {
            return Some(Kind::Compose);
        }
        if yaml && text.lines().any(|l| l.starts_with("images:")) {
            return Some(Kind::Kustomize);
        }
        if text
            .lines()
            .any(|l| ENV_RE.is_match(l.trim_end_matches('\r')))
        {
            return Some(Kind::Env);
        }
        None
    }
}

static COMPOSE_RE: LazyLock<Regex> =
    LazyLock::new(|| deploykit::constant_regex(r"^(\s*(?:-\s+)?image\s*:[ \t]*)(.*)$"));
static ENV_RE: LazyLock<Regex> = LazyLock::new(|| {
    deploykit::constant_regex(r"^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*_IMAGE)(\s*=\s*)(.*)$")
});
static KEY_RE: LazyLock<Regex> = LazyLock::new(|| {
    deploykit::constant_regex(r"^(\s*)(-\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*:[ \t]*(.*)$")
});

/// A value in a line: what precedes it, the value, what follows it (closing
/// quote, spaces, a comment).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Value {
    start: usize,
    end: usize,
}

/// Finds the value at `from` in `line`: quoted, or plain up to ` #`.
fn value_at(line: &str, from: usize) -> Value {
    let rest = &line[from..];
    if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'')
        && let Some(close) = rest[1..].find(q)
    {
        return Value {
            start: from + 1,
            end: from + 1 + close,
        };
    }
    let mut end = rest.len();
    let bytes = rest.as_bytes();
    for i in 0..bytes.len() {
        if bytes[i] == b'#' && (i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') {
            end = i;
            break;
        }
    }
    let trimmed = rest[..end].trim_end().len();
    Value {
        start: from,
        end: from + trimmed,
    }
}

/// An image reference found in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// 1-based line number (of the entry's first line for Kustomize).
    pub line: usize,
    /// What holds it: `image`, `API_IMAGE`, `images[name=api]`.
    pub key: String,
    /// The reference the entry makes (for Kustomize, composed from
    /// `newName`/`name`, `newTag` and `digest`).
    pub image: String,
}

/// One change made (or to be made) to a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// 1-based line number in the original file.
    pub line: usize,
    /// What holds the image.
    pub key: String,
    /// The reference before.
    pub old: String,
    /// The reference after.
    pub new: String,
}

/// A line split from its ending.
struct Line<'a> {
    body: &'a str,
    ending: &'a str,
}

fn split_lines(text: &str) -> Vec<Line<'_>> {
    text.split_inclusive('\n')
        .map(|l| {
            let body = l
                .strip_suffix('\n')
                .map_or(l, |b| b.strip_suffix('\r').unwrap_or(b));
            Line {
                body,
                ending: &l[body.len()..],
            }
        })
        .collect()
}

/// Splits a written reference into (name as written, tag, digest).
fn split_written(value: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match value.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (value, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..]), digest),
        None => (rest, None, digest),
    }
}

/// The repository (`domain/path`) a written reference names, if it parses.
fn repository_of(value: &str) -> Option<String> {
    if value.contains('$') {
        return None;
    }
    imageref::parse_normalized(value).ok().map(|r| r.name())
}

/// The new value for a compose or env entry: the name as written, the pin's
/// tag if it has one, its digest.
fn pinned_value(written: &str, pin: &Reference) -> String {
    let (name, _, _) = split_written(written);
    let mut v = name.to_owned();
    if let Some(tag) = pin.tag() {
        v.push(':');
        v.push_str(tag);
    }
    if let Some(d) = pin.digest() {
        v.push('@');
        v.push_str(&d.to_string());
    }
    v
}

/// A field of a Kustomize images entry.
#[derive(Debug, Clone)]
struct Field {
    idx: usize,
    value: Value,
}

#[derive(Debug, Clone, Default)]
struct KEntry {
    first: usize,
    last: usize,
    key_indent: usize,
    flow: bool,
    fields: BTreeMap<String, Field>,
}

impl KEntry {
    fn get<'t>(&self, lines: &[Line<'t>], key: &str) -> Option<&'t str> {
        self.fields
            .get(key)
            .map(|f| &lines[f.idx].body[f.value.start..f.value.end])
    }

    fn image(&self, lines: &[Line<'_>]) -> Option<String> {
        let name = self
            .get(lines, "newName")
            .or_else(|| self.get(lines, "name"))?;
        let mut s = name.to_owned();
        if let Some(t) = self.get(lines, "newTag") {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = self.get(lines, "digest") {
            s.push('@');
            s.push_str(d);
        }
        Some(s)
    }
}

fn indent_of(s: &str) -> usize {
    s.len() - s.trim_start_matches([' ', '\t']).len()
}

fn is_comment_or_blank(s: &str) -> bool {
    let t = s.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// The entries of the top-level `images:` list of a kustomization.
fn kustomize_entries(lines: &[Line<'_>]) -> Vec<KEntry> {
    let mut entries: Vec<KEntry> = Vec::new();
    let Some(start) = lines.iter().position(|l| {
        l.body
            .strip_prefix("images:")
            .is_some_and(|rest| is_comment_or_blank(rest) || rest.trim().is_empty())
    }) else {
        return entries;
    };
    let mut dash_indent: Option<usize> = None;
    for (idx, line) in lines.iter().enumerate().skip(start + 1) {
        let body = line.body;
        if is_comment_or_blank(body) {
            continue;
        }
        let indent = indent_of(body);
        let trimmed = &body[indent..];
        let is_dash = trimmed == "-" || trimmed.starts_with("- ") || trimmed.starts_with("-\t");
        if indent == 0 && !is_dash {
            break; // the next top-level key
        }
        if is_dash && dash_indent.is_none_or(|d| d == indent) {
            dash_indent = Some(indent);
            let after = trimmed[1..].trim_start_matches([' ', '\t']);
            let mut entry = KEntry {
                first: idx,
                last: idx,
                key_indent: body.len() - after.len(),
                flow: after.starts_with('{'),
                fields: BTreeMap::new(),
            };
            if !after.is_empty() && !entry.flow {
                add_field(&mut entry, body, idx);
            } else if after.is_empty() {
                entry.key_indent = usize::MAX; // set by the first key line
            }
            entries.push(entry);
            continue;
        }
        if dash_indent.is_some_and(|d| indent < d) || (dash_indent.is_none() && indent == 0) {
            break;
        }
        let Some(entry) = entries.last_mut() else {
            continue;
        };
        if entry.key_indent == usize::MAX {
            entry.key_indent = indent;
        }
        if indent == entry.key_indent {
            add_field(entry, body, idx);
            entry.last = idx;
        } else if indent > entry.key_indent {
            entry.last = idx; // a nested or continued value
        }
    }
    entries
}

fn add_field(entry: &mut KEntry, body: &str, idx: usize) {
    if let Some(c) = KEY_RE.captures(body) {
        let key = c.get(3).map_or("", |m| m.as_str()).to_owned();
        let from = c.get(4).map_or(body.len(), |m| m.start());
        entry.fields.insert(
            key,
            Field {
                idx,
                value: value_at(body, from),
            },
        );
    }
}

/// Every image entry of `text`.
pub fn entries(kind: Kind, text: &str) -> Vec<Entry> {
    let lines = split_lines(text);
    match kind {
        Kind::Kustomize => kustomize_entries(&lines)
            .iter()
            .filter_map(|e| {
                let image = e.image(&lines)?;
                let name = e.get(&lines, "name").unwrap_or("");
                Some(Entry {
                    line: e.first + 1,
                    key: format!("images[name={name}]"),
                    image,
                })
            })
            .collect(),
        Kind::Compose | Kind::Env => lines
            .iter()
            .enumerate()
            .filter_map(|(idx, l)| {
                let (key, v) = simple_entry(kind, l.body)?;
                Some(Entry {
                    line: idx + 1,
                    key,
                    image: l.body[v.start..v.end].to_owned(),
                })
            })
            .collect(),
    }
}

/// The key and value of a compose `image:` or env `*_IMAGE=` line.
fn simple_entry(kind: Kind, body: &str) -> Option<(String, Value)> {
    match kind {
        Kind::Compose => {
            let c = COMPOSE_RE.captures(body)?;
            let from = c.get(2)?.start();
            Some(("image".into(), value_at(body, from)))
        }
        Kind::Env => {
            let c = ENV_RE.captures(body)?;
            let from = c.get(4)?.start();
            Some((c.get(2)?.as_str().to_owned(), value_at(body, from)))
        }
        Kind::Kustomize => None,
    }
}

/// The outcome of rewriting one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    /// The new text (the same text when nothing changed).
    pub text: String,
    /// What changed.
    pub changes: Vec<Change>,
    /// The repositories of `pins` that matched an entry.
    pub matched: Vec<String>,
}

/// Rewrites the entries of `text` that name a repository of `pins` to the
/// pinned reference. `pins` must carry digests.
pub fn rewrite(kind: Kind, text: &str, pins: &[Reference]) -> Result<Rewrite> {
    let lines = split_lines(text);
    let by_repo: BTreeMap<String, &Reference> = pins.iter().map(|p| (p.name(), p)).collect();
    let mut replaced: BTreeMap<usize, String> = BTreeMap::new(); // line index -> new body
    let mut inserted: BTreeMap<usize, Vec<String>> = BTreeMap::new(); // after line index -> bodies
    let mut removed: Vec<usize> = Vec::new();
    let mut changes = Vec::new();
    let mut matched = Vec::new();
    match kind {
        Kind::Kustomize => {
            for e in kustomize_entries(&lines) {
                if e.flow {
                    let body = lines[e.first].body;
                    if pins.iter().any(|p| body.contains(p.path())) {
                        return Err(Error::usage(format!(
                            "line {}: a flow-style images entry ({{…}}) may name a pinned repository; write it in block style so it can be edited",
                            e.first + 1
                        )));
                    }
                    continue;
                }
                let Some(name) = e.get(&lines, "newName").or_else(|| e.get(&lines, "name")) else {
                    continue;
                };
                let Some(pin) = repository_of(name).and_then(|r| by_repo.get(&r).copied()) else {
                    continue;
                };
                matched.push(pin.name());
                let old = e.image(&lines).unwrap_or_default();
                let mut tail: Vec<String> = Vec::new();
                let indent = " ".repeat(e.key_indent);
                match (pin.tag(), e.fields.get("newTag")) {
                    (Some(tag), Some(f)) => {
                        if &lines[f.idx].body[f.value.start..f.value.end] != tag {
                            replaced.insert(f.idx, splice(lines[f.idx].body, &f.value, tag));
                        }
                    }
                    (Some(tag), None) => tail.push(format!("{indent}newTag: {tag}")),
                    (None, Some(f)) => removed.push(f.idx),
                    (None, None) => {}
                }
                let digest = pin.digest().map(ToString::to_string).unwrap_or_default();
                match e.fields.get("digest") {
                    Some(f) => {
                        if lines[f.idx].body[f.value.start..f.value.end] != digest {
                            replaced.insert(f.idx, splice(lines[f.idx].body, &f.value, &digest));
                        }
                    }
                    None => tail.push(format!("{indent}digest: {digest}")),
                }
                if !tail.is_empty() {
                    // After the entry's last key line, before trailing comments.
                    let after = e
                        .fields
                        .values()
                        .map(|f| f.idx)
                        .max()
                        .unwrap_or(e.first)
                        .max(e.last);
                    inserted.entry(after).or_default().extend(tail);
                }
                let mut new_image = name.to_owned();
                if let Some(t) = pin.tag() {
                    let _ = write!(new_image, ":{t}");
                }
                let _ = write!(new_image, "@{digest}");
                if new_image != old {
                    changes.push(Change {
                        line: e.first + 1,
                        key: format!("images[name={}]", e.get(&lines, "name").unwrap_or("")),
                        old,
                        new: new_image,
                    });
                }
            }
        }
        Kind::Compose | Kind::Env => {
            for (idx, l) in lines.iter().enumerate() {
                let Some((key, v)) = simple_entry(kind, l.body) else {
                    continue;
                };
                let written = &l.body[v.start..v.end];
                let Some(pin) = repository_of(written).and_then(|r| by_repo.get(&r).copied())
                else {
                    continue;
                };
                matched.push(pin.name());
                let new = pinned_value(written, pin);
                if new != written {
                    replaced.insert(idx, splice(l.body, &v, &new));
                    changes.push(Change {
                        line: idx + 1,
                        key,
                        old: written.to_owned(),
                        new,
                    });
                }
            }
        }
    }
    let mut out = String::with_capacity(text.len() + 128);
    for (idx, l) in lines.iter().enumerate() {
        let extra = inserted.get(&idx);
        let ending = if l.ending.is_empty() && extra.is_some() {
            // The last line had no newline: give it the file's usual one.
            if text.contains("\r\n") { "\r\n" } else { "\n" }
        } else {
            l.ending
        };
        if !removed.contains(&idx) {
            out.push_str(replaced.get(&idx).map_or(l.body, String::as_str));
            out.push_str(ending);
        }
        if let Some(extra) = extra {
            for (i, body) in extra.iter().enumerate() {
                out.push_str(body);
                let last = i + 1 == extra.len();
                if !(last && l.ending.is_empty()) {
                    out.push_str(ending);
                }
            }
        }
    }
    matched.sort();
    matched.dedup();
    Ok(Rewrite {
        text: out,
        changes,
        matched,
    })
}

fn splice(body: &str, v: &Value, new: &str) -> String {
    format!("{}{new}{}", &body[..v.start], &body[v.end..])
}

/// A unified diff of `old` → `new` for `path`.
pub fn diff(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// The pins given on the command line, parsed and checked: each has a
/// digest, and no repository is pinned twice.
pub fn parse_pins(refs: &[String]) -> Result<Vec<Reference>> {
    let mut pins: Vec<Reference> = Vec::new();
    for input in refs {
        let r = imageref::parse_normalized(input)
            .map_err(|e| Error::usage(format!("invalid image reference {input:?}: {e}")))?;
        if r.digest().is_none() {
            return Err(Error::usage(format!(
                "{input} has no digest: pin needs repo@sha256:… (image-digest resolve {input} prints it)"
            )));
        }
        if let Some(other) = pins.iter().find(|p| p.name() == r.name()) {
            return Err(Error::usage(format!(
                "{} is pinned twice ({other} and {r})",
                r.name()
            )));
        }
        pins.push(r);
    }
    Ok(pins)
}

#[derive(Serialize)]
struct FileReport {
    file: String,
    kind: Kind,
    changed: bool,
    changes: Vec<Change>,
}

#[derive(Serialize)]
struct Unpinned {
    file: String,
    #[serde(flatten)]
    entry: Entry,
}

/// Runs `pin`.
pub fn run(files: &[PathBuf], refs: &[String], check: bool, out: &Reporter) -> Result<Exit> {
    let pins = parse_pins(refs)?;
    if pins.is_empty() && !check {
        return Err(Error::usage(
            "give the digest-pinned references to write (or --check alone to list unpinned entries)",
        ));
    }
    let mut loaded = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::usage(format!("reading {}: {e}", path.display())))?;
        let kind = Kind::detect(path, &text).ok_or_else(|| {
            Error::usage(format!(
                "{}: not a kustomization.yaml, compose file or env file (no images:, services: or *_IMAGE= found)",
                path.display()
            ))
        })?;
        loaded.push((path, kind, text));
    }
    if pins.is_empty() {
        return list_unpinned(&loaded, out);
    }
    let mut plans = Vec::new();
    let mut matched: Vec<String> = Vec::new();
    for (path, kind, text) in &loaded {
        let r = rewrite(*kind, text, &pins).map_err(|e| e.context(path.display().to_string()))?;
        matched.extend(r.matched.iter().cloned());
        plans.push((path, *kind, text, r));
    }
    let unmatched: Vec<String> = pins
        .iter()
        .filter(|p| !matched.contains(&p.name()))
        .map(ToString::to_string)
        .collect();
    if !unmatched.is_empty() {
        return Err(Error::usage(format!(
            "no image entry in the files names the repository of {}",
            unmatched.join(", ")
        )));
    }
    let mut reports = Vec::new();
    let mut changed_files = 0;
    for (path, kind, text, r) in &plans {
        let changed = r.text != **text;
        if changed {
            changed_files += 1;
            if !out.json() {
                out.line(diff(&path.display().to_string(), text, &r.text).trim_end())?;
            }
            if !check {
                write_atomically(path, &r.text)?;
            }
        }
        reports.push(FileReport {
            file: path.display().to_string(),
            kind: *kind,
            changed,
            changes: r.changes.clone(),
        });
    }
    if out.json() {
        out.json_document(&serde_json::json!({ "check": check, "files": reports }))?;
    }
    let entries: usize = reports.iter().map(|r| r.changes.len()).sum();
    if changed_files == 0 {
        out.info(format_args!(
            "{} file(s) already pinned; nothing to change",
            files.len()
        ));
        return Ok(Exit::Success);
    }
    if check {
        out.info(format_args!(
            "{entries} image entr(ies) in {changed_files} file(s) would change"
        ));
        return Ok(Exit::No);
    }
    out.info(format_args!(
        "pinned {entries} image entr(ies) in {changed_files} file(s)"
    ));
    Ok(Exit::Success)
}

fn list_unpinned(loaded: &[(&PathBuf, Kind, String)], out: &Reporter) -> Result<Exit> {
    let mut unpinned = Vec::new();
    for (path, kind, text) in loaded {
        for e in entries(*kind, text) {
            if split_written(&e.image).2.is_none() {
                unpinned.push(Unpinned {
                    file: path.display().to_string(),
                    entry: e,
                });
            }
        }
    }
    if out.json() {
        out.json_document(&serde_json::json!({ "check": true, "unpinned": unpinned }))?;
    } else {
        for u in &unpinned {
            out.line(format_args!(
                "{}:{}: {}: {} is not pinned by digest",
                u.file, u.entry.line, u.entry.key, u.entry.image
            ))?;
        }
    }
    if unpinned.is_empty() {
        out.info(format_args!(
            "every image entry in {} file(s) is pinned by digest",
            loaded.len()
        ));
        Ok(Exit::Success)
    } else {
        out.info(format_args!(
            "{} image entr(ies) not pinned by digest",
            unpinned.len()
        ));
        Ok(Exit::No)
    }
}

/// Replaces `path` with `text` through a temporary file in the same
/// directory and a rename, keeping the file's permissions.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tag-image-{}.tmp", std::process::id()));
    let perms = std::fs::metadata(path).map(|m| m.permissions()).ok();
    let result = std::fs::write(&tmp, text)
        .and_then(|()| perms.map_or(Ok(()), |p| std::fs::set_permissions(&tmp, p)))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::usage(format!("writing {}: {e}", path.display())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn pins(refs: &[&str]) -> Vec<Reference> {
        parse_pins(&refs.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    const KUSTOMIZATION: &str = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
# promoted by CI
resources:
  - ../../base/api
images:
  # the API
  - name: api
    newName: ghcr.io/acme/api   # moved to GHCR
    newTag: \"prod-0000000\"
  - name: ghcr.io/acme/scheduler-worker
    digest: sha256:2222222222222222222222222222222222222222222222222222222222222222
  - name: redis
    newTag: '7.2'
namePrefix: prod-
";

    #[test]
    fn kustomize_only_image_lines_change() {
        let r = rewrite(
            Kind::Kustomize,
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
            Kind::Kustomize,
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
        let r = rewrite(
            Kind::Kustomize,
            text,
            &pins(&[&format!("ghcr.io/acme/api@{D1}")]),
        )
        .unwrap();
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
        let r = rewrite(
            Kind::Kustomize,
            text,
            &pins(&[&format!("ghcr.io/acme/api@{D1}")]),
        )
        .unwrap();
        assert_eq!(
            r.text,
            format!("images:\r\n  - name: ghcr.io/acme/api\r\n    digest: {D1}")
        );
    }

    #[test]
    fn kustomize_flow_entries_are_refused_when_they_may_match() {
        let text = "images:\n  - {name: ghcr.io/acme/api, newTag: x}\n";
        let err = rewrite(
            Kind::Kustomize,
            text,
            &pins(&[&format!("ghcr.io/acme/api@{D1}")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("block style"), "{err}");
    }

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
        let r = rewrite(
            Kind::Compose,
            text,
            &pins(&[&format!("ghcr.io/acme/api@{D1}")]),
        )
        .unwrap();
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
    fn env_files_match_by_repository_whatever_the_spelling() {
        let text = "# images\nAPI_IMAGE=ghcr.io/acme/api:prod-0000000\nexport SCHEDULER_WORKER_IMAGE='ghcr.io/acme/scheduler-worker:prod-0000000'  # worker\nAPI_URL=http://api\nHUB_IMAGE=library/nginx:1\n";
        let r = rewrite(
            Kind::Env,
            text,
            &pins(&[
                &format!("ghcr.io/acme/scheduler-worker:prod-abc1234-scheduler-worker@{D1}"),
                &format!("docker.io/library/nginx@{D2}"),
            ]),
        )
        .unwrap();
        assert_eq!(
            r.text,
            format!(
                "# images\nAPI_IMAGE=ghcr.io/acme/api:prod-0000000\nexport SCHEDULER_WORKER_IMAGE='ghcr.io/acme/scheduler-worker:prod-abc1234-scheduler-worker@{D1}'  # worker\nAPI_URL=http://api\nHUB_IMAGE=library/nginx@{D2}\n"
            )
        );
        let keys: Vec<&str> = r.changes.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["SCHEDULER_WORKER_IMAGE", "HUB_IMAGE"]);
    }

    #[test]
    fn pins_need_digests_and_one_per_repository() {
        let err = parse_pins(&["ghcr.io/acme/api:prod-abc1234".into()]).unwrap_err();
        assert!(err.to_string().contains("has no digest"), "{err}");
        let err =
            parse_pins(&[format!("api@{D1}"), format!("docker.io/library/api@{D2}")]).unwrap_err();
        assert!(err.to_string().contains("pinned twice"), "{err}");
    }

    #[test]
    fn entries_and_detection() {
        assert_eq!(
            Kind::detect(Path::new("overlays/prod/kustomization.yaml"), ""),
            Some(Kind::Kustomize)
        );
        assert_eq!(
            Kind::detect(Path::new("docker-compose.prod.yml"), ""),
            Some(Kind::Compose)
        );
        assert_eq!(
            Kind::detect(Path::new("deploy/runtime.env"), ""),
            Some(Kind::Env)
        );
        assert_eq!(Kind::detect(Path::new(".env.prod"), ""), Some(Kind::Env));
        assert_eq!(Kind::detect(Path::new("notes.txt"), "hello\n"), None);
        let e = entries(Kind::Kustomize, KUSTOMIZATION);
        let images: Vec<String> = e.iter().map(|e| e.image.clone()).collect();
        assert_eq!(
            images,
            [
                "ghcr.io/acme/api:prod-0000000".to_owned(),
                format!("ghcr.io/acme/scheduler-worker@{D2}"),
                "redis:7.2".to_owned()
            ]
        );
    }

    #[test]
    fn written_references_split() {
        assert_eq!(
            split_written("127.0.0.1:5000/app:1@sha256:x"),
            ("127.0.0.1:5000/app", Some("1"), Some("sha256:x"))
        );
        assert_eq!(
            split_written("127.0.0.1:5000/app"),
            ("127.0.0.1:5000/app", None, None)
        );
        assert_eq!(split_written("app:1"), ("app", Some("1"), None));
    }
}
