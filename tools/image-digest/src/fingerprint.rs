//! `image-digest fingerprint`: a content fingerprint of a build context.
//!
//! The fingerprint must be the same on a laptop and in CI, so it depends only
//! on what a build can see: for every included entry, its name (relative to
//! the root, `/`-separated: `--root`, else the deepest directory holding
//! every PATH, never the current directory), its kind, and for a file its sha256 and whether
//! it is executable, for a symlink its target. Mtimes, owners, permissions
//! other than the exec bit, and the order the file system lists entries in
//! do not count: entries are sorted by name bytes before they are folded.
//!
//! The walk only collects names (memory grows with the number of entries,
//! not their size) and hands each file, as it finds it, to a pool of
//! threads, each hashing several files at once through fixed buffers
//! ([`crate::filehash`]).
//!
//! The stream hashed for the fingerprint is, after the line
//! `deploykit-fingerprint-v1\0`, one record per entry:
//! `f\0<x|->\0<sha256 hex>\0<name>\0`, `l\0<target>\0<name>\0` or
//! `d\0<name>\0`.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};

use deploykit::exit::{Error, Exit, Result};
use deploykit::imageref::hex;
use deploykit::output::Reporter;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::cli::FingerprintArgs;
use crate::dockerignore::{self, MatchInfo, Matcher};
use crate::filehash::{FileFacts, hash_queue};

/// The kind of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A regular file.
    File {
        /// Any exec bit set.
        executable: bool,
        /// Size in bytes.
        size: u64,
    },
    /// A symbolic link (not followed).
    Symlink {
        /// Its target, as stored.
        target: String,
    },
    /// A directory (so empty directories count).
    Dir,
}

/// One entry of the context.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The name relative to the root, `/`-separated, as raw bytes.
    pub name: Vec<u8>,
    /// The path to read it from.
    pub path: PathBuf,
    /// What it is.
    pub kind: Kind,
    target_bytes: Vec<u8>,
}

/// An entry with its content hash, for `--list` and `--json`.
#[derive(Debug, Serialize)]
pub struct Listed {
    /// The name relative to the root.
    pub name: String,
    /// What it is.
    #[serde(flatten)]
    pub kind: Kind,
    /// The file's sha256 (files only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The result.
#[derive(Debug, Serialize)]
pub struct Fingerprint {
    /// `sha256:<hex>`.
    pub fingerprint: String,
    /// The first `--short` hex digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short: Option<String>,
    /// Regular files included.
    pub files: usize,
    /// Their total size.
    pub bytes: u64,
    /// The directory names are relative to.
    pub root: String,
    /// The `.dockerignore` honoured, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_file: Option<String>,
    /// Every entry (with `--list`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<Listed>>,
}

/// What to fingerprint.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Names are relative to this directory (absolute, canonical).
    pub root: PathBuf,
    /// The paths (absolute, canonical), all under `root`.
    pub paths: Vec<PathBuf>,
    /// The context root whose `.dockerignore` applies, and its matcher.
    pub ignore: Option<(PathBuf, PathBuf, Matcher)>,
}

fn canonical(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| Error::usage(format!("{}: {e}", path.display())))
}

/// The deepest directory containing every path (canonical, absolute): the
/// root names are relative to when no `--root` is given. For one directory
/// it is that directory, for one file its parent.
fn common_dir(paths: &[PathBuf]) -> PathBuf {
    let mut common: PathBuf = paths.first().cloned().unwrap_or_else(|| PathBuf::from("/"));
    for p in &paths[1..] {
        let shared: PathBuf = common
            .components()
            .zip(p.components())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect();
        common = shared;
    }
    if !common.is_dir() {
        common.pop();
    }
    common
}

/// Resolves a PATH given with `--root`: against the current directory as
/// usual, and when that is not a path under the root, against the root
/// (so `--root ctx src` means `ctx/src`). The error says where it looked.
fn resolve_under_root(path: &Path, root: &Path) -> Result<PathBuf> {
    if path.is_absolute() {
        let c = canonical(path)?;
        if !c.starts_with(root) {
            return Err(Error::usage(format!(
                "{} is outside --root {}: every PATH must be under it",
                path.display(),
                root.display()
            )));
        }
        return Ok(c);
    }
    let cwd =
        std::env::current_dir().map_err(|e| Error::usage(format!("the current directory: {e}")))?;
    let from_cwd = std::fs::canonicalize(path).ok();
    if let Some(c) = &from_cwd
        && c.starts_with(root)
    {
        return Ok(c.clone());
    }
    if let Ok(c) = std::fs::canonicalize(root.join(path))
        && c.starts_with(root)
    {
        return Ok(c);
    }
    Err(Error::usage(match from_cwd {
        Some(c) => format!(
            "{p}: resolved against the current directory ({cwd}) it is {c}, outside --root {root}, and {root} has no {p} (every PATH must be under --root)",
            p = path.display(),
            cwd = cwd.display(),
            c = c.display(),
            root = root.display()
        ),
        None => format!(
            "{p}: not found, neither against the current directory ({cwd}) nor under --root {root}",
            p = path.display(),
            cwd = cwd.display(),
            root = root.display()
        ),
    }))
}

/// Works out the root, the paths and the `.dockerignore` from the flags.
///
/// Names never depend on the current directory: they are relative to
/// `--root`, else to the deepest directory containing every PATH (the
/// context itself for one directory), so `fingerprint services/api` from
/// the repository and `fingerprint .` inside `services/api` agree. The
/// `.dockerignore` honoured is the one at that root.
pub fn plan(args: &FingerprintArgs) -> Result<Plan> {
    let (root, paths) = if let Some(r) = &args.root {
        let root = canonical(r)?;
        if !root.is_dir() {
            return Err(Error::usage(format!(
                "--root {}: not a directory",
                r.display()
            )));
        }
        let paths = args
            .paths
            .iter()
            .map(|p| resolve_under_root(p, &root))
            .collect::<Result<Vec<_>>>()?;
        (root, paths)
    } else {
        let paths = args
            .paths
            .iter()
            .map(|p| canonical(p))
            .collect::<Result<Vec<_>>>()?;
        let root = common_dir(&paths);
        if root.parent().is_none() {
            // The whole file system (with /proc and /dev) is no build
            // context; a user who means it says --root /.
            return Err(Error::usage(format!(
                "the PATHs have no common directory below / (names would be relative to /): give --root, or PATHs inside one directory ({})",
                args.paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        (root, paths)
    };
    let context = root.clone();
    let ignore = if args.no_ignore {
        None
    } else {
        let file = context.join(".dockerignore");
        match std::fs::read(&file) {
            Ok(bytes) => {
                let patterns = dockerignore::read_patterns_bytes(&bytes)
                    .map_err(|e| Error::usage(format!("{}: {e}", file.display())))?;
                let matcher = Matcher::new(&patterns)
                    .map_err(|e| Error::usage(format!("{}: {e}", file.display())))?;
                Some((context, file, matcher))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::usage(format!("reading {}: {e}", file.display()))),
        }
    };
    Ok(Plan {
        root,
        paths,
        ignore,
    })
}

fn rel_bytes(path: &Path, base: &Path) -> Option<Vec<u8>> {
    path.strip_prefix(base)
        .ok()
        .map(|r| r.as_os_str().as_bytes().to_vec())
}

/// A directory on the walk's path, for matching what is below it.
struct Visited {
    /// Its name relative to the context, with a trailing `/`.
    prefix: String,
    /// What its match hands to its children.
    info: MatchInfo,
    /// Excluded itself: recorded only once something below it is included
    /// (a build creates the directories of every file it copies).
    pending: Option<Entry>,
}

/// Walks the paths and returns the included entries, sorted by name, each
/// file with the slot `on_file` gave it (its kind's size and exec bit are
/// left for the hasher to fill in).
///
/// Matching follows BuildKit's walker: each entry is matched with its
/// parent directory's results; an excluded directory is only skipped
/// when no exception could re-include anything in it (there are no
/// exceptions at all), since an exception such as `!**/*.txt` can.
fn collect(
    plan: &Plan,
    out: &Reporter,
    on_file: &mut dyn FnMut(&Path) -> usize,
) -> Result<Vec<(Entry, Option<usize>)>> {
    let mut entries: BTreeMap<Vec<u8>, (Entry, Option<usize>)> = BTreeMap::new();
    for start in &plan.paths {
        let mut stack: Vec<Visited> = Vec::new();
        // The directories above the start, matched as a walk from the
        // context root would have met them.
        if let Some((context, _, matcher)) = &plan.ignore
            && let Ok(rel) = start.strip_prefix(context)
        {
            let mut acc = String::new();
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            for part in parts.iter().take(parts.len().saturating_sub(1)) {
                acc.push_str(part);
                let parent = stack.last().map(|v| v.info.clone()).unwrap_or_default();
                let (_, info) = matcher.matches_using_parent_results(&acc, &parent);
                acc.push('/');
                stack.push(Visited {
                    prefix: acc.clone(),
                    info,
                    pending: None,
                });
            }
        }
        let walker = walkdir::WalkDir::new(start).follow_links(false).into_iter();
        let mut it = walker;
        while let Some(item) = it.next() {
            let item =
                item.map_err(|e| Error::usage(format!("walking {}: {e}", start.display())))?;
            let path = item.path();
            let Some(name) = rel_bytes(path, &plan.root) else {
                continue;
            };
            if name.is_empty() {
                continue; // the root itself
            }
            let ft = item.file_type();
            let (kind, target_bytes) = if ft.is_symlink() {
                let target = std::fs::read_link(path)
                    .map_err(|e| Error::usage(format!("{}: {e}", path.display())))?;
                (
                    Kind::Symlink {
                        target: target.to_string_lossy().into_owned(),
                    },
                    target.as_os_str().as_bytes().to_vec(),
                )
            } else if ft.is_dir() {
                (Kind::Dir, Vec::new())
            } else if ft.is_file() {
                (
                    Kind::File {
                        executable: false,
                        size: 0,
                    },
                    Vec::new(),
                )
            } else {
                out.warn(format_args!(
                    "skipping {} (not a file, directory or symlink)",
                    path.display()
                ));
                continue;
            };
            let entry = Entry {
                name: name.clone(),
                path: path.to_owned(),
                kind,
                target_bytes,
            };
            if let Some((context, _, matcher)) = &plan.ignore
                && let Some(rel) = path
                    .strip_prefix(context)
                    .ok()
                    .filter(|r| !r.as_os_str().is_empty())
            {
                let rel = rel.to_string_lossy();
                while stack.last().is_some_and(|v| !rel.starts_with(&v.prefix)) {
                    stack.pop();
                }
                let parent = stack.last().map(|v| v.info.clone()).unwrap_or_default();
                let (excluded, info) = matcher.matches_using_parent_results(&rel, &parent);
                if ft.is_dir() {
                    if excluded && !matcher.has_exclusions() {
                        it.skip_current_dir();
                        continue;
                    }
                    stack.push(Visited {
                        prefix: format!("{rel}/"),
                        info,
                        pending: excluded.then(|| entry.clone()),
                    });
                }
                if excluded {
                    continue;
                }
                // Something included: the excluded directories above it
                // are created by the build, so they count.
                let depth = stack.len() - usize::from(ft.is_dir());
                for v in &mut stack[..depth] {
                    if let Some(dir) = v.pending.take() {
                        entries.insert(dir.name.clone(), (dir, None));
                    }
                }
            }
            let slot = matches!(entry.kind, Kind::File { .. }).then(|| on_file(path));
            entries.insert(name, (entry, slot));
        }
    }
    Ok(entries.into_values().collect())
}

/// Walks the paths and hashes every included file on `jobs` threads while
/// the walk goes on; returns the entries sorted by name and, indexed alike,
/// the files' hashes (`None` for other kinds).
///
/// The walk runs on the calling thread and hands each file to the pool as
/// it finds it, so hashing starts with the first file instead of after the
/// last directory. A file's size and exec bit come from the open file
/// (`fstat`), in the worker, so the walk itself reads no inode it does not
/// need and they describe the bytes that were hashed.
pub fn walk_and_hash(plan: &Plan, jobs: usize, out: &Reporter) -> Result<(Vec<Entry>, Hashes)> {
    let (work, queue) = mpsc::channel::<(usize, PathBuf)>();
    let queue = Mutex::new(queue);
    let (walked, results) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs.max(1))
            .map(|_| s.spawn(|| hash_queue(&queue)))
            .collect();
        let mut next_slot = 0;
        let walked = collect(plan, out, &mut |path: &Path| {
            let slot = next_slot;
            next_slot += 1;
            // A send fails only when every worker is gone, and a worker
            // only goes when the queue is closed: never during the walk.
            let _ = work.send((slot, path.to_owned()));
            slot
        });
        drop(work);
        let results: Vec<_> = workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect();
        (walked, results)
    });
    let walked = walked?;
    let mut facts: Vec<Option<std::result::Result<FileFacts, String>>> = Vec::new();
    for (slot, fact) in results.into_iter().flatten() {
        if facts.len() <= slot {
            facts.resize_with(slot + 1, || None);
        }
        facts[slot] = Some(fact);
    }
    let mut entries = Vec::with_capacity(walked.len());
    let mut hashes = Vec::with_capacity(walked.len());
    for (mut entry, slot) in walked {
        let hash = match slot {
            None => None,
            Some(slot) => match facts.get_mut(slot).and_then(Option::take) {
                Some(Ok(f)) => {
                    entry.kind = Kind::File {
                        executable: f.executable,
                        size: f.size,
                    };
                    Some(f.hash)
                }
                Some(Err(e)) => return Err(Error::usage(e)),
                None => {
                    return Err(Error::usage(format!(
                        "{}: not hashed (a worker stopped)",
                        entry.path.display()
                    )));
                }
            },
        };
        entries.push(entry);
        hashes.push(hash);
    }
    Ok((entries, hashes))
}

/// Each entry's sha256, for files; `None` for the other kinds.
pub type Hashes = Vec<Option<[u8; 32]>>;

/// Folds the sorted entries and their hashes into the fingerprint.
pub fn fold(entries: &[Entry], hashes: &[Option<[u8; 32]>]) -> String {
    let mut h = Sha256::new();
    h.update(b"deploykit-fingerprint-v1\0");
    for (e, hash) in entries.iter().zip(hashes) {
        match &e.kind {
            Kind::File { executable, .. } => {
                h.update(b"f\0");
                h.update(if *executable { b"x\0" } else { b"-\0" });
                h.update(hex(&hash.unwrap_or_default()).as_bytes());
                h.update(b"\0");
            }
            Kind::Symlink { .. } => {
                h.update(b"l\0");
                h.update(&e.target_bytes);
                h.update(b"\0");
            }
            Kind::Dir => h.update(b"d\0"),
        }
        h.update(&e.name);
        h.update(b"\0");
    }
    format!("sha256:{}", hex(&h.finalize()))
}

/// Runs `fingerprint`.
pub fn run(args: &FingerprintArgs, out: &Reporter) -> Result<Exit> {
    let plan = plan(args)?;
    if let Some((_, file, m)) = &plan.ignore {
        out.detail(format_args!(
            "honouring {} ({} patterns)",
            file.display(),
            m.patterns().len()
        ));
    }
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        usize::from,
    );
    let (entries, hashes) = walk_and_hash(&plan, jobs, out)?;
    let fingerprint = fold(&entries, &hashes);
    let short = args
        .short
        .map(|n| fingerprint["sha256:".len()..][..usize::from(n)].to_owned());
    let (mut files, mut bytes) = (0, 0);
    for e in &entries {
        if let Kind::File { size, .. } = e.kind {
            files += 1;
            bytes += size;
        }
    }
    out.detail(format_args!(
        "{files} files, {bytes} bytes, {} entries, {jobs} threads",
        entries.len()
    ));
    let listed: Option<Vec<Listed>> = args.list.then(|| {
        entries
            .iter()
            .zip(&hashes)
            .map(|(e, h)| Listed {
                name: String::from_utf8_lossy(&e.name).into_owned(),
                kind: e.kind.clone(),
                sha256: h.map(|h| hex(&h)),
            })
            .collect()
    });
    if out.json() {
        out.json_document(&Fingerprint {
            fingerprint,
            short,
            files,
            bytes,
            root: plan.root.display().to_string(),
            ignore_file: plan
                .ignore
                .as_ref()
                .map(|(_, f, _)| f.display().to_string()),
            entries: listed,
        })?;
        return Ok(Exit::Success);
    }
    if let Some(listed) = &listed {
        for l in listed {
            match &l.kind {
                Kind::File { executable, .. } => out.line(format_args!(
                    "{} {} {}",
                    l.sha256.as_deref().unwrap_or(""),
                    if *executable { 'x' } else { '-' },
                    l.name
                ))?,
                Kind::Symlink { target } => {
                    out.line(format_args!("{:<64} l {} -> {target}", "symlink", l.name))?;
                }
                Kind::Dir => {}
            }
        }
    }
    out.line(short.as_deref().unwrap_or(&fingerprint))?;
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, kind: Kind) -> Entry {
        let target_bytes = match &kind {
            Kind::Symlink { target } => target.as_bytes().to_vec(),
            _ => Vec::new(),
        };
        Entry {
            name: name.as_bytes().to_vec(),
            path: PathBuf::from(name),
            kind,
            target_bytes,
        }
    }

    #[test]
    fn fold_depends_on_names_kinds_exec_bits_and_targets() {
        let file = |x| Kind::File {
            executable: x,
            size: 1,
        };
        let base = vec![entry("a", file(false)), entry("b", Kind::Dir)];
        let h = vec![Some([1; 32]), None];
        let fp = fold(&base, &h);
        assert_eq!(fp, fold(&base, &h));
        assert_ne!(
            fp,
            fold(&[entry("a", file(true)), entry("b", Kind::Dir)], &h)
        );
        assert_ne!(
            fp,
            fold(&[entry("A", file(false)), entry("b", Kind::Dir)], &h)
        );
        assert_ne!(fp, fold(&base, &[Some([2; 32]), None]));
        assert_ne!(fp, fold(&base[..1], &h[..1]));
        let l1 = [entry("l", Kind::Symlink { target: "x".into() })];
        let l2 = [entry("l", Kind::Symlink { target: "y".into() })];
        assert_ne!(fold(&l1, &[None]), fold(&l2, &[None]));
        // name/content boundaries cannot be shifted
        assert_ne!(
            fold(&[entry("ab", Kind::Dir)], &[None]),
            fold(
                &[entry("a", Kind::Dir), entry("b", Kind::Dir)],
                &[None, None]
            )
        );
    }
}
