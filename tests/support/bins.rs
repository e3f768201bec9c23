//! Running the built tools from tests, with the secret sweep on every output.
//!
//! Every test runs a tool through [`Tool::run`], which fails the test when a
//! planted secret ([`PLANTED`]) shows up on stdout or stderr, on success and
//! on every error path alike. Tests plant these values as passwords and
//! tokens; the sweep is then automatic for every test that runs a tool.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Secret values tests plant in DSNs, env files and tokens. None of them may
/// ever appear in any output of any tool.
pub const PLANTED: &[&str] = &[
    "Pl4nted-Secret-7x",
    "pl4nted-app-pw",
    "pl4nted-svc-pw",
    "pl4nted-root-pw",
    "pl4nted-token",
];

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// The path of a tool's binary, built (once per test process) if needed.
///
/// `cargo test --workspace` builds every binary before running tests; this
/// also covers `cargo test -p deploykit-tests`, which does not, and makes
/// sure a test never runs a stale binary. The whole workspace is built, not
/// one package: features are unified across the workspace, so a one-package
/// build would compile the shared crate differently and rebuild every time.
pub fn bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--quiet", "--workspace", "--bins"])
            .current_dir(workspace_root())
            .status()
            .expect("running cargo build");
        assert!(status.success(), "cargo build --workspace --bins failed");
    });
    let path = target_dir().join("debug").join(name);
    assert!(path.exists(), "no binary at {}", path.display());
    path
}

/// What a tool run produced.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// stdout, as text.
    pub stdout: String,
    /// stderr, as text.
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing both streams on failure.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit status\n{self}");
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit: {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A tool invocation being prepared.
#[derive(Debug)]
pub struct Tool {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

impl Tool {
    /// A run of `name` with a clean environment: only `PATH`, `HOME` and
    /// what the test adds, so the developer's own `DATABASE_URL` or
    /// `DOCKER_CONFIG` never leaks into a test.
    pub fn new(name: &str) -> Tool {
        let mut cmd = Command::new(bin(name));
        cmd.env_clear();
        for keep in ["PATH", "HOME", "TMPDIR", "LANG"] {
            if let Some(v) = std::env::var_os(keep) {
                cmd.env(keep, v);
            }
        }
        Tool { cmd, stdin: None }
    }

    /// Adds arguments.
    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> Tool
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Adds one argument.
    #[must_use]
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Tool {
        self.cmd.arg(arg);
        self
    }

    /// Sets an environment variable.
    #[must_use]
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Tool {
        self.cmd.env(key, value);
        self
    }

    /// Sets several environment variables.
    #[must_use]
    pub fn envs(mut self, vars: &BTreeMap<String, String>) -> Tool {
        self.cmd.envs(vars);
        self
    }

    /// Runs in `dir`.
    #[must_use]
    pub fn current_dir(mut self, dir: &Path) -> Tool {
        self.cmd.current_dir(dir);
        self
    }

    /// Feeds `input` on stdin.
    #[must_use]
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Tool {
        self.stdin = Some(input.into());
        self
    }

    /// Runs to completion and sweeps both outputs for planted secrets.
    #[track_caller]
    pub fn run(mut self) -> Run {
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("spawning the tool");
        if let Some(input) = self.stdin.take() {
            let mut stdin = child.stdin.take().expect("stdin");
            // The tool may exit without reading; that is not the test's failure.
            let _ = stdin.write_all(&input);
        }
        let output: Output = child.wait_with_output().expect("waiting for the tool");
        let run = Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        sweep(&run);
        run
    }
}

/// Fails the test if any planted secret appears in the run's output.
#[track_caller]
pub fn sweep(run: &Run) {
    for secret in PLANTED {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "planted secret {secret:?} leaked into the output\n{run}"
        );
    }
}
