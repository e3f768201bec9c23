//! The process set-up every tool relies on: std's own runtime set-up before
//! an ordinary `fn main`, and `deploykit::process::run` around the body.
//! A closed pipe, a closed stdout and an exec'd command must behave as a
//! user of a Unix tool expects.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};

use deploykit_tests::{Tool, bins};

/// A reader that goes away is not an error: a write to the closed pipe is
/// EPIPE (not death by SIGPIPE), and the tool exits 0 without a word.
#[test]
fn a_closed_pipe_on_stdout_ends_the_run_quietly_with_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..200 {
        std::fs::write(dir.path().join(format!("f{i}")), format!("{i}")).expect("file");
    }
    let mut child = Command::new(bins::bin("image-digest"))
        .args(["fingerprint", "--list", "."])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn image-digest");
    drop(child.stdout.take()); // the reader leaves before the first line
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{status:?}, stderr: {stderr}");
    assert_eq!(stderr, "");
}

/// With fd 1 closed, a tool's output goes nowhere and nothing fails: the
/// fd is filled with /dev/null before anything else can be opened on it.
#[test]
fn a_closed_stdout_is_not_reused() {
    let r = Tool::program("sh")
        .args(["-c", r#"exec "$0" "$@" >&-"#])
        .arg(bins::bin("tag-image"))
        .args([
            "name",
            "--env",
            "prod",
            "--sha",
            "0123456789abc",
            "--service",
            "api",
        ])
        .run();
    r.expect_code(0);
    assert_eq!(r.stderr, "", "{r}");
}

/// What the tool handles SIGPIPE with must not reach a program it execs:
/// wait-probe's COMMAND starts with the default, so `yes` in a pipeline
/// cut short dies quietly instead of complaining of a broken pipe.
#[test]
fn an_execd_command_gets_the_default_sigpipe() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = listener.local_addr().expect("addr").port();
    let r = Tool::new("wait-probe")
        .args(["-q", "--budget", "10s", &format!("tcp://127.0.0.1:{port}")])
        .args(["--", "sh", "-c", "yes | head -n 1"])
        .run();
    r.expect_code(0);
    assert_eq!(r.stdout, "y\n", "{r}");
    assert!(!r.stderr.contains("Broken pipe"), "{r}");
}
