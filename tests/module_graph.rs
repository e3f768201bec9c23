//! No import circles inside a crate: a module that uses another is never
//! used back by it, directly or through others.
//!
//! A circle means two files that can only be read, changed and tested
//! together, which is what splitting them was meant to end. The graph is
//! built from the source text: every path a file names that starts with
//! `crate::`, `super::` or `self::` (in `use` trees too), resolved to the
//! file of the longest module prefix it names. A `mod` declaration is not
//! an edge, and neither is a reference from a file to itself or from a
//! module to one of its own descendants (a parent running its children is
//! their purpose); a child that uses its parent while the parent uses it is
//! a circle like any other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use deploykit_tests::bins::workspace_root;

/// A crate's modules: module path (`a::b`, `` for the root) to its file.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for entry in walkdir(src) {
        let rel = entry.strip_prefix(src).expect("under src");
        let mut parts: Vec<String> = rel
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if matches!(
            parts.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            parts.pop();
        }
        out.insert(parts.join("::"), entry);
    }
    out
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Every path the source names from `crate::`, `super::` or `self::`,
/// with `use` trees expanded, as lists of segments (the anchor first).
fn named_paths(source: &str) -> Vec<Vec<String>> {
    let code: String = source
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !code.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let rest = &code[i..];
        let anchor = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|a| rest.starts_with(a));
        match anchor {
            Some(a) if starts_word => {
                let (paths, used) = tree(&rest[a.len()..]);
                let head = a.trim_end_matches("::").to_owned();
                for mut p in paths {
                    p.insert(0, head.clone());
                    out.push(p);
                }
                i += a.len() + used.max(1);
            }
            _ => i += 1,
        }
    }
    out
}

/// Parses a path continuation (`a::b`, `a::{b, c::d}`, `super::x`) and
/// returns the paths it names and how many bytes it took.
fn tree(text: &str) -> (Vec<Vec<String>>, usize) {
    let ident_len = |t: &str| {
        t.bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count()
    };
    let mut segs = Vec::new();
    let mut pos = 0;
    loop {
        let t = &text[pos..];
        if let Some(inner) = t.strip_prefix('{') {
            let mut paths = Vec::new();
            let mut used = 1;
            let mut rest = inner;
            loop {
                let trimmed = rest.trim_start();
                used += rest.len() - trimmed.len();
                rest = trimmed;
                if rest.starts_with('}') {
                    used += 1;
                    break;
                }
                if rest.is_empty() {
                    break;
                }
                let (sub, n) = tree(rest);
                for mut p in sub {
                    let mut full = segs.clone();
                    full.append(&mut p);
                    paths.push(full);
                }
                used += n.max(1);
                rest = &rest[n.max(1)..];
                let trimmed = rest.trim_start();
                used += rest.len() - trimmed.len();
                rest = trimmed;
                if let Some(r) = rest.strip_prefix(',') {
                    used += 1;
                    rest = r;
                }
            }
            return (paths, pos + used);
        }
        let n = ident_len(t);
        if n == 0 {
            break;
        }
        segs.push(t[..n].to_owned());
        pos += n;
        if text[pos..].starts_with("::") {
            pos += 2;
        } else {
            break;
        }
    }
    (vec![segs], pos)
}

/// The module a path names, by the longest prefix that is a module.
fn resolve(from: &str, path: &[String], mods: &BTreeMap<String, PathBuf>) -> Option<String> {
    let mut base: Vec<String> = if from.is_empty() {
        Vec::new()
    } else {
        from.split("::").map(str::to_owned).collect()
    };
    let mut segs = path.iter().peekable();
    match segs.next().map(String::as_str) {
        Some("crate") => base.clear(),
        Some("self") => {}
        // A `mod.rs` file is its directory's module, so `super` is the
        // parent of the module in every kind of file.
        Some("super") => {
            base.pop();
        }
        _ => return None,
    }
    while segs.peek().map(|s| s.as_str()) == Some("super") {
        segs.next();
        base.pop();
    }
    let mut best = None;
    let mut cur = base.clone();
    for s in segs {
        cur.push(s.clone());
        let key = cur.join("::");
        if mods.contains_key(&key) {
            best = Some(key);
        }
    }
    best.or_else(|| Some(base.join("::")))
}

/// The circles (strongly connected sets of more than one module) of the
/// crate whose sources are in `src`.
fn circles(src: &Path) -> Vec<BTreeSet<String>> {
    let mods = modules(src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, file) in &mods {
        let text = std::fs::read_to_string(file).expect("read source");
        for path in named_paths(&text) {
            let Some(target) = resolve(name, &path, &mods) else {
                continue;
            };
            let descendant = name.is_empty() || target.starts_with(&format!("{name}::"));
            if target != *name && !descendant && mods.contains_key(&target) {
                edges.entry(name.clone()).or_default().insert(target);
            }
        }
    }
    let mut state = State {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in mods.keys() {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    state.out
}

/// Tarjan's strongly connected components, over the module graph.
struct State<'a> {
    edges: &'a BTreeMap<String, BTreeSet<String>>,
    index: BTreeMap<String, usize>,
    low: BTreeMap<String, usize>,
    stack: Vec<String>,
    on_stack: BTreeSet<String>,
    next: usize,
    out: Vec<BTreeSet<String>>,
}
fn visit(s: &mut State<'_>, v: &str) {
    s.index.insert(v.to_owned(), s.next);
    s.low.insert(v.to_owned(), s.next);
    s.next += 1;
    s.stack.push(v.to_owned());
    s.on_stack.insert(v.to_owned());
    let targets: Vec<String> = s
        .edges
        .get(v)
        .map(|t| t.iter().cloned().collect())
        .unwrap_or_default();
    for w in targets {
        if !s.index.contains_key(&w) {
            visit(s, &w);
            let lw = s.low[&w];
            let lv = s.low.get_mut(v).expect("visited");
            *lv = (*lv).min(lw);
        } else if s.on_stack.contains(&w) {
            let iw = s.index[&w];
            let lv = s.low.get_mut(v).expect("visited");
            *lv = (*lv).min(iw);
        }
    }
    if s.low[v] == s.index[v] {
        let mut comp = BTreeSet::new();
        while let Some(w) = s.stack.pop() {
            s.on_stack.remove(&w);
            let done = w == v;
            comp.insert(w);
            if done {
                break;
            }
        }
        if comp.len() > 1 {
            s.out.push(comp);
        }
    }
}

#[test]
fn no_crate_has_an_import_circle() {
    let tools = workspace_root().join("tools");
    let mut found = Vec::new();
    let mut crates = 0;
    for entry in std::fs::read_dir(&tools).expect("tools/") {
        let src = entry.expect("entry").path().join("src");
        if src.is_dir() {
            crates += 1;
            for c in circles(&src) {
                found.push(format!("{}: {c:?}", src.display()));
            }
        }
    }
    assert!(
        crates >= 8,
        "only {crates} crates found under {}",
        tools.display()
    );
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

/// The checker itself finds a circle, through `use` trees and `super`.
#[test]
fn a_planted_circle_is_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path();
    std::fs::create_dir_all(src.join("local")).expect("mkdir");
    std::fs::write(src.join("lib.rs"), "pub mod local;\npub mod report;\n").expect("write");
    std::fs::write(
        src.join("report.rs"),
        "use crate::{local::plan::Plan, other};\n",
    )
    .expect("write");
    std::fs::write(src.join("local/mod.rs"), "pub mod plan;\n").expect("write");
    std::fs::write(
        src.join("local/plan.rs"),
        "pub struct Plan;\nfn f() { super::super::report::g() }\n",
    )
    .expect("write");
    let found = circles(src);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("report") && found[0].contains("local::plan"));

    // Without the way back there is none.
    std::fs::write(src.join("local/plan.rs"), "pub struct Plan;\n").expect("write");
    assert!(circles(src).is_empty());
}
