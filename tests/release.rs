//! Shipping: what a user installs names its version, and the release
//! archive, the Debian package, the image and the CI action deliver the
//! same seven tools with their man pages, completions and pipeline scripts.

use std::process::Command;

use deploykit_tests::bins::{Tool, bin, workspace_root};
use deploykit_tests::tools;

/// The seven shipped tools, in the order of the README.
fn tool_names() -> Vec<&'static str> {
    tools::all().iter().map(|t| t.name).collect()
}

/// `git` in the workspace, its trimmed stdout.
fn git(args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("running git");
    assert!(out.status.success(), "git {args:?} failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// The commit `--version` must name: the workspace's HEAD, abbreviated.
fn head() -> String {
    git(&["rev-parse", "--short=7", "HEAD"])
}

#[track_caller]
fn assert_version_line(tool: &str, stdout: &str) {
    assert_eq!(
        stdout,
        format!("{tool} {} ({})\n", env!("CARGO_PKG_VERSION"), head()),
        "{tool} --version"
    );
}

#[test]
fn every_tool_names_its_release_and_commit() {
    for tool in tool_names() {
        let r = Tool::program(bin(tool)).arg("--version").run();
        r.expect_code(0);
        assert_version_line(tool, &r.stdout);
    }
}

/// A source archive made by `git archive` has no `.git`: the commit is in
/// the file the build script reads, filled in by `export-subst`.
#[test]
fn a_source_archive_records_its_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("src.tar");
    git(&[
        "archive",
        "-o",
        archive.to_str().expect("utf-8 path"),
        "HEAD",
        "tools/deploykit/COMMIT",
    ]);
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(&archive)
        .output()
        .expect("tar");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        git(&["rev-parse", "--short", "HEAD"])
    );
    let placeholder = std::fs::read_to_string(workspace_root().join("tools/deploykit/COMMIT"))
        .expect("tools/deploykit/COMMIT");
    assert_eq!(
        placeholder.trim(),
        "$Format:%h$",
        "the checkout keeps the placeholder"
    );
}
