//! Running the built tools from tests, with the secret sweep on every output.
//!
//! Every test runs a tool through [`Tool::run`], which fails the test when a
//! planted secret ([`PLANTED`]) shows up on stdout or stderr, on success and
//! on every error path alike. Tests plant these values as passwords and
//! tokens; the sweep is then automatic for every test that runs a tool.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

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

/// The cargo target directory (`CARGO_TARGET_DIR`, else `target/`).
pub fn target_dir() -> PathBuf {
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
    watch_argv: bool,
}

impl Tool {
    /// A run of `name` with a clean environment: only `PATH`, `HOME` and
    /// what the test adds, so the developer's own `DATABASE_URL` or
    /// `DOCKER_CONFIG` never leaks into a test.
    pub fn new(name: &str) -> Tool {
        Tool::program(bin(name))
    }

    /// Any program (a script of `scripts/`, say) run the same way: clean
    /// environment, outputs swept.
    pub fn program(program: impl AsRef<OsStr>) -> Tool {
        let mut cmd = Command::new(program);
        cmd.env_clear();
        for keep in ["PATH", "HOME", "TMPDIR", "LANG"] {
            if let Some(v) = std::env::var_os(keep) {
                cmd.env(keep, v);
            }
        }
        Tool {
            cmd,
            stdin: None,
            watch_argv: false,
        }
    }

    /// Also samples the argv (`/proc/PID/cmdline`) of the process and all
    /// its descendants while it runs, and fails the test if a planted
    /// secret is in one ([`Running::wait_with_argv`] returns them).
    #[must_use]
    pub fn watch_argv(mut self) -> Tool {
        self.watch_argv = true;
        self
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
    pub fn run(self) -> Run {
        self.spawn().wait()
    }

    /// Starts the program and leaves it running: for tests that act on it
    /// meanwhile (send it a signal, say). Its stdin gets the input set with
    /// [`Tool::stdin`] and is then closed.
    #[track_caller]
    pub fn spawn(mut self) -> Running {
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("spawning the tool");
        let watcher = self.watch_argv.then(|| ArgvWatcher::start(child.id()));
        if let Some(input) = self.stdin.take() {
            let mut stdin = child.stdin.take().expect("stdin");
            // The tool may exit without reading; that is not the test's failure.
            let _ = stdin.write_all(&input);
        }
        Running {
            child,
            started: Instant::now(),
            watcher,
        }
    }
}

/// A program started with [`Tool::spawn`].
#[derive(Debug)]
pub struct Running {
    child: Child,
    started: Instant,
    watcher: Option<ArgvWatcher>,
}

impl Running {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How long ago it was started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `signal` (`TERM`, `INT`…) to the process with kill(1) and
    /// returns the moment it was sent.
    #[track_caller]
    pub fn signal(&self, signal: &str) -> Instant {
        let status = Command::new("kill")
            .args(["-s", signal, &self.pid().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -s {signal} failed");
        Instant::now()
    }

    /// Waits for the end and sweeps the outputs (and the sampled argv, with
    /// [`Tool::watch_argv`]) for planted secrets.
    #[track_caller]
    pub fn wait(self) -> Run {
        self.wait_with_argv().0
    }

    /// Like [`Running::wait`], also returning every distinct argv seen in
    /// the process tree while it ran (empty without [`Tool::watch_argv`]),
    /// so a test can show the sampling saw the child it is about.
    #[track_caller]
    pub fn wait_with_argv(self) -> (Run, Vec<Vec<String>>) {
        let output: Output = self.child.wait_with_output().expect("waiting for the tool");
        let run = Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        sweep(&run);
        let argv = self.watcher.map(ArgvWatcher::finish).unwrap_or_default();
        for args in &argv {
            for secret in PLANTED {
                assert!(
                    !args.iter().any(|a| a.contains(secret)),
                    "planted secret {secret:?} is in the argv of a child process: {args:?}\n{run}"
                );
            }
        }
        (run, argv)
    }
}

/// Samples the argv of a process tree every few milliseconds until told
/// to stop: what `ps` shows any local user while the tree runs.
#[derive(Debug)]
struct ArgvWatcher {
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<BTreeSet<Vec<String>>>,
}

impl ArgvWatcher {
    fn start(root: u32) -> ArgvWatcher {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut seen = BTreeSet::new();
            // One last sample after the stop, for children that ran briefly.
            let mut last = false;
            while !last {
                last = stop2.load(Ordering::SeqCst);
                for pid in process_tree(root) {
                    if let Some(argv) = argv_of(pid) {
                        seen.insert(argv);
                    }
                }
                thread::sleep(Duration::from_millis(3));
            }
            seen
        });
        ArgvWatcher { stop, thread }
    }

    fn finish(self) -> Vec<Vec<String>> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .join()
            .expect("argv watcher")
            .into_iter()
            .collect()
    }
}

/// `root` and all its living descendants, from the parent ids in
/// `/proc/*/stat`.
pub fn process_tree(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // `pid (comm) state ppid …`; comm may hold spaces and parens.
            let parent = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse().ok());
            if let Some(parent) = parent {
                parents.push((pid, parent));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    tree
}

/// A process's argv, as `ps` shows it (`None` once it is gone or a zombie).
pub fn argv_of(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    if raw.is_empty() {
        return None;
    }
    Some(
        raw.split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// Fails the test if a planted secret appears in `text` (a server log, a
/// file a tool wrote), as itself or inside a Basic `Authorization` value
/// (`base64(user:secret)`) for any of `users`. `source` names the text.
#[track_caller]
pub fn sweep_text(source: &str, text: &str, users: &[&str]) {
    use base64::Engine as _;
    for secret in PLANTED {
        assert!(
            !text.contains(secret),
            "planted secret {secret:?} leaked into {source}:\n{text}"
        );
        for user in users {
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
            assert!(
                !text.contains(&basic),
                "planted secret {secret:?} leaked into {source} as a Basic credential:\n{text}"
            );
        }
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
