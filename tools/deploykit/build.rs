//! Records the commit the tools are built from, for `--version`.
//!
//! The commit comes from, in order: `DEPLOYKIT_COMMIT` in the environment
//! (a packager who builds from elsewhere says so); the `COMMIT` file next to
//! this script, which `git archive` fills in (`export-subst`), so a source
//! archive without `.git` still knows its commit; `git rev-parse`; and
//! otherwise `unknown`, so a build never fails for want of it. The file goes
//! before git because a source archive unpacked inside another repository
//! would otherwise report that repository's commit.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-env-changed=DEPLOYKIT_COMMIT");
    println!("cargo::rerun-if-changed=COMMIT");
    let commit = from_env()
        .or_else(from_file)
        .or_else(from_git)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo::rustc-env=DEPLOYKIT_COMMIT={commit}");
}

fn from_env() -> Option<String> {
    std::env::var("DEPLOYKIT_COMMIT")
        .ok()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
}

/// The commit `git archive` wrote into `COMMIT`; in a checkout the file
/// still holds the unexpanded placeholder.
fn from_file() -> Option<String> {
    let text = std::fs::read_to_string("COMMIT").ok()?;
    let commit = text.trim();
    let hex = !commit.is_empty() && commit.bytes().all(|b| b.is_ascii_hexdigit());
    hex.then(|| commit.to_owned())
}

fn from_git() -> Option<String> {
    let commit = git(&["rev-parse", "--short=7", "HEAD"])?;
    // Rebuild when HEAD moves: the HEAD file itself (a checkout, a detached
    // HEAD) and the branch it names (a commit), wherever this worktree keeps
    // them. Only existing paths: a missing one would rerun on every build.
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch]));
    }
    watched.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    for path in watched.into_iter().flatten() {
        if Path::new(&path).exists() {
            println!("cargo::rerun-if-changed={path}");
        }
    }
    Some(commit)
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_owned())
}
