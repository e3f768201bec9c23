//! `image-digest fingerprint --list` against what Docker really copies: each
//! context is built on the test's dockerd (`FROM scratch`, `COPY . /ctx/`,
//! exported with `--output type=local`, so no image and no frontend is
//! pulled), and the files in the result are compared with the files the
//! fingerprint lists. A hand table of the cases where readings differ
//! (Go's escapes and classes, exceptions on parents, wildcard exceptions
//! in excluded directories, the 64 KiB line), then a seeded generator of
//! random trees whose patterns are drawn from their own names; a failure
//! prints the seed (`DK_DIFF_SEED=N` replays it).
//!
//! BuildKit is the reference. The BuildKit client walks the context, so
//! what counts is the docker CLI's version: the Debian CLI 20.10 has
//! BuildKit built in (newer CLIs need buildx, which may be absent), and
//! its walker predates two upstream changes listed in [`VERSION_TABLE`].
//! On such a CLI the test computes what that walker does from the same
//! parsed patterns and asserts the engine does exactly that, so every
//! disagreement with image-digest is one the table explains; with a
//! current client (buildx) it asserts agreement everywhere. Contexts are
//! built several per build (each tree in its own subdirectory, its
//! patterns prefixed with it) and several builds at once.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use deploykit_tests::Tool;
use deploykit_tests::engine::TestEngine;
use image_digest::dockerignore::Matcher;

/// Upstream changes between the walker of an older BuildKit client and the
/// current one: (name, upstream change, what changed).
const VERSION_TABLE: &[(&str, &str, &str)] = &[
    (
        "pattern-matcher",
        "tonistiigi/fsutil#108 (Sep 2021): walk with patternmatcher's PatternMatcher",
        "before: the deprecated Matches tried each pattern on one parent only (the one of the pattern's depth), and patterns were judged by their Go regexp alone, so `a/**/[*` (which filepath.Match refuses) was accepted; now every parent counts and filepath.Match's syntax check refuses such patterns",
    ),
    (
        "parent-results",
        "tonistiigi/fsutil#114 (Nov 2021): walk with MatchesUsingParentResults",
        "before: each pattern was also tried on every parent directory, so `p/q/r` then `!p` re-included p/q/r; now an exception re-includes only what it matches itself",
    ),
    (
        "wildcard-exceptions",
        "tonistiigi/fsutil#121 (Jan 2022): enter excluded directories an exception could reach",
        "before: an excluded directory was entered only when an exception started with its path, so `foo` then `!**/*.txt` left foo/a.txt out; now it is included",
    ),
];

/// The docker CLI and how it builds.
struct Builder {
    cli: PathBuf,
    /// The client predates the [`VERSION_TABLE`] changes.
    legacy_walker: bool,
    engine_host: String,
}

fn cli_version(cli: &Path) -> Option<(u32, u32)> {
    let out = Command::new(cli).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v = text.split_whitespace().nth(2)?;
    let mut parts = v.split(['.', '+', '-', ',']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

impl Builder {
    /// The first docker CLI on PATH that builds `FROM scratch` with BuildKit
    /// on `engine`, offline.
    fn find(engine: &TestEngine) -> Builder {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut tried = Vec::new();
        for dir in std::env::split_paths(&path) {
            let cli = dir.join("docker");
            if !cli.is_file() || tried.iter().any(|(c, _): &(PathBuf, String)| *c == cli) {
                continue;
            }
            let mut b = Builder {
                cli: cli.clone(),
                legacy_walker: false,
                engine_host: engine.host(),
            };
            let probe = tempfile::tempdir().expect("probe dir");
            fs::create_dir(probe.path().join("ctx")).expect("ctx");
            fs::write(probe.path().join("ctx/f"), "x").expect("f");
            match b.build(probe.path()) {
                Ok(files) if files.contains("f") => {
                    let (major, _) = cli_version(&cli).unwrap_or((0, 0));
                    b.legacy_walker = major < 23;
                    eprintln!(
                        "BuildKit through {} (client {major}.x, {} walker)",
                        cli.display(),
                        if b.legacy_walker { "legacy" } else { "current" }
                    );
                    return b;
                }
                Ok(files) => tried.push((cli, format!("built {files:?}"))),
                Err(e) => tried.push((cli, e)),
            }
        }
        panic!(
            "no docker CLI on PATH builds with BuildKit (docker.io's 20.10 CLI has it built in; newer ones need docker-buildx): {tried:?}"
        );
    }

    /// Builds `dir/ctx` with BuildKit; returns the files and symlinks
    /// copied (relative to the context), or the build's error output.
    fn build(&self, dir: &Path) -> Result<BTreeSet<String>, String> {
        let dockerfile = dir.join("Dockerfile");
        fs::write(&dockerfile, "FROM scratch\nCOPY . /ctx/\n").expect("Dockerfile");
        let out_dir = dir.join("out");
        let _ = fs::remove_dir_all(&out_dir);
        let home = dir.join("home");
        fs::create_dir_all(&home).expect("home");
        let out = Command::new(&self.cli)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("DOCKER_HOST", &self.engine_host)
            .env("DOCKER_BUILDKIT", "1")
            .args(["build", "--quiet", "--pull=false", "-f"])
            .arg(&dockerfile)
            .arg("--output")
            .arg(format!("type=local,dest={}", out_dir.display()))
            .arg(dir.join("ctx"))
            .output()
            .map_err(|e| format!("running {}: {e}", self.cli.display()))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let mut files = BTreeSet::new();
        collect_files(&out_dir.join("ctx"), "", &mut files);
        Ok(files)
    }
}

/// The files and symlinks under `dir`, named from `prefix`.
fn collect_files(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
    let Ok(read) = fs::read_dir(dir) else { return };
    for e in read.flatten() {
        let name = format!("{prefix}{}", e.file_name().to_string_lossy());
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            collect_files(&e.path(), &format!("{name}/"), out);
        } else {
            out.insert(name);
        }
    }
}

/// What `image-digest fingerprint --list` includes of `ctx`: the files and
/// symlinks, or the exit status and stderr.
fn listed(ctx: &Path) -> Result<BTreeSet<String>, (i32, String)> {
    let r = Tool::new("image-digest")
        .args(["fingerprint", "--json", "--list", "--jobs", "1"])
        .args([ctx.as_os_str()])
        .run();
    if r.code != Some(0) {
        return Err((r.code.unwrap_or(-1), r.stderr.clone()));
    }
    let doc = r.json();
    Ok(doc["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e.get("dir").is_none())
        .map(|e| e["name"].as_str().expect("name").to_owned())
        .collect())
}

/// Which directories and files a tree has, from its file names.
fn all_paths(files: &[String]) -> Vec<(String, bool)> {
    let mut set: BTreeSet<(String, bool)> = BTreeSet::new();
    for f in files {
        let parts: Vec<&str> = f.split('/').collect();
        for k in 1..parts.len() {
            set.insert((parts[..k].join("/"), true));
        }
        set.insert((f.clone(), false));
    }
    // filepath.Walk's order: lexical by name within each directory, which
    // for these names is the byte order of the full paths with `/` first.
    let mut v: Vec<(String, bool)> = set.into_iter().collect();
    v.sort_by_key(|a| a.0.replace('/', "\0"));
    v
}

/// What the walker of a BuildKit client before the [`VERSION_TABLE`]
/// changes keeps: patterns judged by their Go regexp alone, each tried on
/// the path and on its parent of the pattern's depth (the deprecated
/// `Matches`), and an excluded directory entered only when an exception
/// starts with its path.
fn legacy_walk(patterns: &[String], files: &[String]) -> BTreeSet<String> {
    let Ok(m) = Matcher::new_legacy(patterns) else {
        return BTreeSet::new();
    };
    let mut kept = BTreeSet::new();
    let mut skipped: Vec<String> = Vec::new();
    for (path, is_dir) in all_paths(files) {
        if skipped.iter().any(|s| path.starts_with(&format!("{s}/"))) {
            continue;
        }
        if m.matches_by_depth(&path) {
            if is_dir {
                let dir_slash = format!("{path}/");
                let entered = m
                    .patterns()
                    .iter()
                    .any(|p| p.is_exclusion() && format!("{}/", p.text()).starts_with(&dir_slash));
                if !entered {
                    skipped.push(path);
                }
            }
            continue;
        }
        if !is_dir {
            kept.insert(path);
        }
    }
    kept
}

/// One context to build: its files (name, content) and `.dockerignore`.
#[derive(Clone, Debug)]
struct Case {
    label: String,
    files: Vec<String>,
    ignore: Vec<u8>,
}

impl Case {
    /// The patterns, or why Docker refuses the file (a 64 KiB line).
    fn patterns(&self) -> Result<Vec<String>, String> {
        image_digest::dockerignore::read_patterns_bytes(&self.ignore).map_err(|e| e.to_string())
    }

    fn write(&self, dir: &Path) {
        let ctx = dir.join("ctx");
        fs::create_dir_all(&ctx).expect("ctx");
        for f in &self.files {
            let p = ctx.join(f);
            fs::create_dir_all(p.parent().expect("parent")).expect("dirs");
            fs::write(&p, f.as_bytes()).expect("file");
        }
        fs::write(ctx.join(".dockerignore"), &self.ignore).expect(".dockerignore");
    }
}

fn case(label: &str, patterns: &[&str], files: &[&str]) -> Case {
    Case {
        label: label.to_owned(),
        files: files.iter().map(|s| (*s).to_owned()).collect(),
        ignore: patterns.join("\n").into_bytes(),
    }
}

/// Runs `f` over `items` on a few threads at once; results in order.
fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let chunk = items.len().div_ceil(4).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    })
}

/// Builds every case and compares; returns the disagreements, and how
/// many files the engine copied and how many of those lists differ from
/// image-digest's (each explained by the version table).
fn compare(builder: &Builder, scratch: &Path, cases: &[Case]) -> (Vec<String>, usize, usize) {
    let results = parallel(cases, |c| {
        let dir = tempfile::tempdir_in(scratch).expect("case dir");
        c.write(dir.path());
        let files: Vec<String> = c
            .files
            .iter()
            .chain([&".dockerignore".to_owned()])
            .cloned()
            .collect();
        let engine = builder.build(dir.path());
        let tool = listed(&dir.path().join("ctx"));
        // What the engine must do: on a legacy client, what its walker
        // does (None: refuse the context); else what image-digest does.
        let want: Option<BTreeSet<String>> = if builder.legacy_walker {
            c.patterns()
                .ok()
                .filter(|p| Matcher::new_legacy(p).is_ok())
                .map(|p| legacy_walk(&p, &files))
        } else {
            tool.as_ref().ok().cloned()
        };
        let counts = match (&engine, &tool) {
            (Ok(e), Ok(t)) => (e.len(), e.symmetric_difference(t).count()),
            _ => (0, 0),
        };
        let agrees = match (&engine, &want) {
            (Ok(e), Some(w)) => e == w,
            (Err(_), None) => true,
            _ => false,
        };
        let tool_refusal_ok = !matches!(&tool, Err((code, _)) if *code != 2);
        if agrees && tool_refusal_ok {
            (None, counts)
        } else {
            (
                Some(format!(
                    "{}: {:?} on {:?}\n  engine:       {engine:?}\n  expected:     {want:?}\n  image-digest: {tool:?}",
                    c.label,
                    c.patterns(),
                    c.files
                )),
                counts,
            )
        }
    });
    let copied = results.iter().map(|(_, (n, _))| n).sum();
    let differ = results.iter().map(|(_, (_, d))| d).sum();
    (
        results.into_iter().filter_map(|(f, _)| f).collect(),
        copied,
        differ,
    )
}

/// The hand table: each case where a reading could differ.
fn hand_table() -> Vec<Case> {
    let mut cases = vec![
        case("class &&", &["x[a&&b]"], &["x&", "xa", "xb", "xc"]),
        case("class ~~", &["x[a~~b]"], &["x~", "xa", "xc"]),
        case("[ in a class", &["[[a]]"], &["[]", "a]", "a", "b]"]),
        case("* in a class", &["[*]"], &["*", "]", "[^]"]),
        case("posix class", &["[[:alpha:]]"], &["a", "é", "1"]),
        case("\\w is ASCII", &["a\\w"], &["ab", "aé"]),
        case("\\d is ASCII", &["\\d"], &["1", "٣"]),
        case("\\s is ASCII", &["a\\sb"], &["a b", "a\u{a0}b"]),
        case("\\b is ASCII", &["é\\b"], &["é"]),
        case("\\< \\> are characters", &["\\<a\\>"], &["<a>", "a"]),
        case("\\0 is built", &["a\\0"], &["a0", "a"]),
        case("octal", &["a\\101"], &["aA", "a101"]),
        case("parent exception", &["p/q/r", "!p"], &["p/q/r", "p/s"]),
        case(
            "wildcard exception",
            &["foo", "!**/*.txt"],
            &["foo/a.txt", "foo/b.md"],
        ),
        case(
            "prefix exception",
            &["foo", "!foo/*.txt"],
            &["foo/a.txt", "foo/b.md"],
        ),
        case(
            "everything but",
            &["**", "!src", "src/gen"],
            &["src/a", "src/gen/b", "x"],
        ),
        case("suffix", &["**/*.log"], &["a.log", "d/b.log", "d/c.txt"]),
        case("bad escape", &["a\\é"], &["a"]),
    ];
    let mut long = b"x\n".to_vec();
    long.extend(std::iter::repeat_n(b'a', 64 * 1024));
    long.push(b'\n');
    cases.push(Case {
        label: "64 KiB line".into(),
        files: vec!["a".into()],
        ignore: long,
    });
    let mut fits = b"x\n".to_vec();
    fits.extend(std::iter::repeat_n(b'a', 64 * 1024 - 1));
    fits.push(b'\n');
    cases.push(Case {
        label: "64 KiB - 1 line".into(),
        files: vec!["a".into(), "x".into()],
        ignore: fits,
    });
    cases
}

/// xorshift64*: small, seeded, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("small")
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &[
    "a", "b", "ab", "x.txt", "y.md", "d", "p", "q", "src", "gen", "a.log", "[x]", "x&y", "é", "v1",
    "n_2",
];

/// A random tree and patterns drawn from its own names.
fn random_case(rng: &mut Rng, i: usize) -> Case {
    let mut files = BTreeSet::new();
    for _ in 0..2 + rng.below(8) {
        let depth = 1 + rng.below(3);
        let name: Vec<&str> = (0..depth).map(|_| *rng.pick(NAMES)).collect();
        files.insert(name.join("/"));
    }
    // a file may not also be a directory
    let all: Vec<String> = files.iter().cloned().collect();
    let files: Vec<String> = all
        .iter()
        .filter(|f| !all.iter().any(|g| g.starts_with(&format!("{f}/"))))
        .cloned()
        .collect();
    let mut patterns = Vec::new();
    for _ in 0..=rng.below(4) {
        let f = rng.pick(&files).clone();
        let parts: Vec<&str> = f.split('/').collect();
        let mut parts: Vec<String> = parts[..=rng.below(parts.len())]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let k = rng.below(parts.len());
        let c0 = parts[k].chars().next().unwrap_or('a');
        // Escapes Go accepts: a punctuation character escaped, or a Perl
        // class (ASCII in Go, so `\w` does not match `é`).
        let escaped = if c0.is_ascii_alphanumeric() || !c0.is_ascii() {
            (*rng.pick(&["\\w", "\\S"])).to_owned()
        } else {
            format!("\\{c0}")
        };
        parts[k] = match rng.below(8) {
            0 => "*".into(),
            1 => format!("{c0}*"),
            2 => parts[k].replacen(c0, "?", 1),
            3 => parts[k].replacen(c0, &format!("[{c0}z]"), 1),
            4 => parts[k].replacen(c0, &escaped, 1),
            _ => parts[k].clone(),
        };
        let mut p = parts.join("/");
        match rng.below(6) {
            0 => p = format!("**/{p}"),
            1 => p = format!("{p}/**"),
            _ => {}
        }
        if rng.below(3) == 0 {
            p = format!("!{p}");
        }
        patterns.push(p);
    }
    Case {
        label: format!("random #{i}"),
        files,
        ignore: patterns.join("\n").into_bytes(),
    }
}

/// Several cases as one context: case k in `tK/`, its patterns prefixed.
fn batch(cases: &[Case], n: usize) -> Case {
    let mut files = Vec::new();
    let mut patterns = Vec::new();
    for (k, c) in cases.iter().enumerate() {
        files.extend(c.files.iter().map(|f| format!("t{k}/{f}")));
        for p in c.patterns().expect("generated patterns") {
            patterns.push(match p.strip_prefix('!') {
                Some(rest) => format!("!t{k}/{rest}"),
                None => format!("t{k}/{p}"),
            });
        }
    }
    Case {
        label: format!("batch {n}"),
        files,
        ignore: patterns.join("\n").into_bytes(),
    }
}

#[test]
fn fingerprint_lists_what_docker_copies() {
    let engine = TestEngine::dockerd();
    let builder = Builder::find(&engine);
    let scratch = engine.scratch();
    let seed: u64 = std::env::var("DK_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x19_d0c4_e219);
    let mut rng = Rng(seed | 1);
    let randoms: Vec<Case> = (0..120).map(|i| random_case(&mut rng, i)).collect();

    let hand = hand_table();
    deploykit_tests::bins::bin("image-digest");
    let started = std::time::Instant::now();
    let (mut failures, hand_copied, hand_differ) = compare(&builder, &scratch, &hand);
    let batches: Vec<Case> = randoms
        .chunks(10)
        .enumerate()
        .map(|(n, c)| batch(c, n))
        .collect();
    let (more, copied, differ) = compare(&builder, &scratch, &batches);
    failures.extend(more);
    eprintln!(
        "{} hand cases ({hand_copied} files copied, {hand_differ} listed otherwise by image-digest), \
         120 random trees in {} builds ({copied} files copied, {differ} listed otherwise), {:?}",
        hand.len(),
        batches.len(),
        started.elapsed()
    );
    // The generator must produce trees the rules act on.
    assert!(copied > 300, "the random trees copied only {copied} files");
    assert!(
        failures.is_empty(),
        "seed {seed} (DK_DIFF_SEED={seed} replays it); version table: {VERSION_TABLE:#?}\n{}",
        failures.join("\n")
    );

    // On a legacy client, the listed differences really show: these rows
    // are where the engine and image-digest part, as the table says.
    if builder.legacy_walker {
        for (label, name) in [
            ("parent exception", "parent-results"),
            ("wildcard exception", "wildcard-exceptions"),
        ] {
            let c = hand.iter().find(|c| c.label == label).expect("row");
            let dir = tempfile::tempdir_in(&scratch).expect("dir");
            c.write(dir.path());
            let engine_files = builder.build(dir.path()).expect("build");
            let tool = listed(&dir.path().join("ctx")).expect("fingerprint");
            assert_ne!(engine_files, tool, "{name}: expected the listed difference");
            assert!(VERSION_TABLE.iter().any(|(n, _, _)| *n == name));
        }
    }
}
