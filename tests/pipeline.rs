//! End-to-end tests of the pipeline glue in `scripts/pipeline/` (deploy.sh, push.sh,
//! build-service.sh, test-image.sh, services-matrix.sh, provision.sh), run
//! as processes the way a CI job or a deploy host runs them, with the built
//! tools first on PATH, against real components: dockerd
//! (`support/engine.rs`), the distribution registry (`support/registry.rs`)
//! and PostgreSQL (`support/pg.rs`).
//!
//! The deployed images are made without any engine by `scripts/pipeline/oci-image.sh`
//! (the same builder the demo uses): the static busybox, `/serve.sh` (busybox
//! httpd on 127.0.0.1:$HEALTH_PORT, a free port the test picks and passes in
//! the runtime env file; it exits at once on SIGTERM) and the files
//! `/www/livez`, `/www/readyz` and `/www/version` (`{"sha":"…"}`). push.sh
//! pushes them with skopeo; deploy.sh pulls them with `docker pull` from
//! 127.0.0.1, which dockerd treats as an insecure registry.
//!
//! The "never ready" build leaves `/www/readyz` out, so `/readyz` answers
//! 404 for as long as it runs. busybox httpd cannot answer 503 on a static
//! path (CGI only runs under `/cgi-bin/`, and Debian's busybox has no proxy
//! support to map `/readyz` there); to wait-probe any status outside 2xx is
//! "not ready", exactly like a 503, so the deploy path under test is the same.
//!
//! Every script run goes through the secret sweep (`bins::sweep`): the
//! runtime env files and DSNs carry the planted passwords.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use deploykit_tests::bins::{self, Run};
use deploykit_tests::engine::TestEngine;
use deploykit_tests::pg::TestPg;
use deploykit_tests::registry::{TestRegistry, free_port};

const TOOLS: [&str; 7] = [
    "validate-dsns",
    "provision-db",
    "wait-probe",
    "image-digest",
    "tag-image",
    "scaffold-service",
    "prune-images",
];

/// PATH with the freshly built tools first.
fn tools_path() -> String {
    for tool in TOOLS {
        bins::bin(tool);
    }
    let dir = bins::bin("wait-probe")
        .parent()
        .expect("target dir")
        .display()
        .to_string();
    format!("{dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
}

/// A script of `scripts/`, run with a clean environment.
struct Script {
    name: String,
    cmd: Command,
}

fn script(name: &str) -> Script {
    let mut cmd = Command::new(bins::workspace_root().join("scripts").join(name));
    let home = std::env::temp_dir().join("dk-pipeline-home");
    fs::create_dir_all(&home).expect("home dir");
    cmd.env_clear()
        .env("PATH", tools_path())
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null());
    Script {
        name: name.to_owned(),
        cmd,
    }
}

impl Script {
    fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Script {
        self.cmd.arg(arg);
        self
    }

    fn args<I, S>(mut self, args: I) -> Script
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Script {
        self.cmd.env(key, value);
        self
    }

    fn envs(mut self, vars: &BTreeMap<String, String>) -> Script {
        self.cmd.envs(vars);
        self
    }

    fn run(mut self) -> Run {
        let out = self
            .cmd
            .output()
            .unwrap_or_else(|e| panic!("running scripts/{}: {e}", self.name));
        let run = Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        bins::sweep(&run);
        run
    }
}

// ------------------------------------------------------------------ images

/// What one build of the test service answers.
struct Build<'a> {
    tag: &'a str,
    /// The sha its /version reports.
    sha: &'a str,
    /// Whether /readyz exists (else it answers 404 forever).
    ready: bool,
    /// The image config's `created` (the prune orders by it).
    created: &'a str,
}

const SERVE_SH: &str = r#"trap 'kill "$pid"; exit 0' TERM INT
/bin/busybox httpd -f -p "127.0.0.1:${HEALTH_PORT:?}" -h /www &
pid=$!
wait "$pid"
"#;

/// Writes `build` into the OCI layout `work/layout` with scripts/pipeline/oci-image.sh.
fn make_image(work: &Path, build: &Build<'_>) {
    let rootfs = work.join(format!("rootfs-{}", build.tag));
    fs::create_dir_all(rootfs.join("bin")).expect("rootfs");
    fs::create_dir_all(rootfs.join("www")).expect("rootfs");
    fs::copy("/bin/busybox", rootfs.join("bin/busybox"))
        .expect("copying /bin/busybox (busybox-static: run scripts/setup)");
    fs::write(rootfs.join("serve.sh"), SERVE_SH).expect("serve.sh");
    fs::write(rootfs.join("www/livez"), "alive\n").expect("livez");
    if build.ready {
        fs::write(rootfs.join("www/readyz"), "ready\n").expect("readyz");
    }
    fs::write(
        rootfs.join("www/version"),
        format!("{{\"sha\":\"{}\"}}\n", build.sha),
    )
    .expect("version");
    script("pipeline/oci-image.sh")
        .arg("--rootfs")
        .arg(&rootfs)
        .arg("--layout")
        .arg(work.join("layout"))
        .args(["--tag", build.tag, "--created", build.created])
        .args(["--cmd", "/bin/busybox", "--cmd", "sh", "--cmd", "/serve.sh"])
        .run()
        .expect_code(0);
}

/// Builds and pushes `build` as `shop:TAG`; returns push.sh's pinned reference.
fn publish(reg: &TestRegistry, work: &Path, build: &Build<'_>) -> String {
    make_image(work, build);
    let run = script("pipeline/push.sh")
        .args(["--insecure", "--from"])
        .arg(format!(
            "oci:{}:{}",
            work.join("layout").display(),
            build.tag
        ))
        .arg(format!("{}/shop:{}", reg.host(), build.tag))
        .run();
    run.expect_code(0);
    let reference = run.stdout.trim().to_owned();
    assert_eq!(
        reference,
        format!(
            "{}/shop@{}",
            reg.host(),
            reg.skopeo_digest(&format!("shop:{}", build.tag))
        ),
        "push.sh must print the pushed digest\n{run}"
    );
    reference
}

// ------------------------------------------------------------------ HTTP

/// One GET on 127.0.0.1:port with short deadlines: `(status, body)`.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Some((status, body))
}

/// The sha the service on `port` reports, if it answers.
fn version(port: u16) -> Option<String> {
    let (status, body) = get(port, "/version")?;
    if status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    v["sha"].as_str().map(str::to_owned)
}

/// Polls /version every 20 ms in a thread, recording what answered.
struct Poller {
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<Vec<(Instant, Option<String>)>>,
}

impl Poller {
    fn start(port: u16) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let handle = thread::spawn(move || {
            let mut samples = Vec::new();
            while !stop2.load(Ordering::SeqCst) {
                samples.push((Instant::now(), version(port)));
                thread::sleep(Duration::from_millis(20));
            }
            samples.push((Instant::now(), version(port)));
            samples
        });
        Poller { stop, handle }
    }

    fn finish(self) -> Vec<(Instant, Option<String>)> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().expect("poller thread")
    }
}

/// The longest time between two answered samples (from the first sample).
fn longest_gap(samples: &[(Instant, Option<String>)]) -> Duration {
    let mut last_ok = samples.first().map(|s| s.0);
    let mut gap = Duration::ZERO;
    for (at, answer) in samples {
        if answer.is_some() {
            if let Some(prev) = last_ok {
                gap = gap.max(at.duration_since(prev));
            }
            last_ok = Some(*at);
        }
    }
    if let (Some(prev), Some((end, _))) = (last_ok, samples.last()) {
        gap = gap.max(end.duration_since(prev));
    }
    gap
}

// ------------------------------------------------------------------ deploys

/// One deploy host: dockerd, the registry, a health port and a runtime env.
struct Host {
    engine: TestEngine,
    reg: TestRegistry,
    work: tempfile::TempDir,
    port: u16,
    /// Where deploy.sh stages a candidate (`--stage-offset` = this − port).
    stage_port: u16,
    env_file: PathBuf,
}

impl Host {
    fn start() -> Host {
        let engine = TestEngine::dockerd();
        let reg = TestRegistry::start();
        let work = tempfile::Builder::new()
            .prefix("dk-pipeline-")
            .tempdir()
            .expect("work dir");
        let port = free_port();
        let stage_port = loop {
            let p = free_port();
            if p != port {
                break p;
            }
        };
        let env_file = work.path().join("runtime.env");
        fs::write(
            &env_file,
            format!(
                "HEALTH_PORT={port}\n\
                 DATABASE_URL=postgres://shop_app:pl4nted-app-pw@127.0.0.1:5432/shop\n\
                 DATABASE_SERVICE_URL=postgres://shop_service:pl4nted-svc-pw@127.0.0.1:5432/shop\n"
            ),
        )
        .expect("runtime.env");
        fs::create_dir_all(work.path().join("run")).expect("lock dir");
        Host {
            engine,
            reg,
            work,
            port,
            stage_port,
            env_file,
        }
    }

    fn publish(&self, build: &Build<'_>) -> String {
        publish(&self.reg, self.work.path(), build)
    }

    /// deploy.sh with short budgets, the host's env file, `--keep 1` and no
    /// minimum age, so the prune acts on these young images.
    fn deploy(&self, sha: &str, reference: &str) -> Script {
        script("pipeline/deploy.sh")
            .env("DOCKER_HOST", self.engine.host())
            .env("XDG_RUNTIME_DIR", self.work.path().join("run"))
            .arg("--env-file")
            .arg(&self.env_file)
            .args([
                "--sha",
                sha,
                "--livez-budget",
                "5s",
                "--readyz-budget",
                "3s",
            ])
            .args(["--version-budget", "3s", "--stop-timeout", "5"])
            .args(["--keep", "1", "--prune-min-age", "0s"])
            .arg("--stage-offset")
            .arg((i32::from(self.stage_port) - i32::from(self.port)).to_string())
            .arg(reference)
    }

    /// The engine's containers: `(name, image, running)`.
    fn containers(&self) -> Vec<(String, String, bool)> {
        let (status, body) = self.engine.api("GET", "/containers/json?all=1", None);
        assert_eq!(status, 200, "{body}");
        let list: Vec<serde_json::Value> = serde_json::from_str(&body).expect("containers JSON");
        let mut out: Vec<(String, String, bool)> = list
            .iter()
            .map(|c| {
                (
                    c["Names"][0]
                        .as_str()
                        .unwrap_or("")
                        .trim_start_matches('/')
                        .to_owned(),
                    c["Image"].as_str().unwrap_or("").to_owned(),
                    c["State"].as_str() == Some("running"),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// Asserts that exactly one container runs, as `app`, from `reference`.
    #[track_caller]
    fn assert_serving(&self, reference: &str, sha: &str) {
        assert_eq!(
            self.containers(),
            vec![("app".to_owned(), reference.to_owned(), true)],
            "one container, app, running {reference}"
        );
        assert_eq!(version(self.port).as_deref(), Some(sha), "/version");
    }
}

#[test]
fn a_never_ready_build_and_a_wrong_sha_are_refused_while_the_previous_version_answers_throughout() {
    let host = Host::start();
    let good = host.publish(&Build {
        tag: "v1",
        sha: "aaa1111",
        ready: true,
        created: "2024-01-01T00:00:00Z",
    });
    let never_ready = host.publish(&Build {
        tag: "v2",
        sha: "bbb2222",
        ready: false,
        created: "2024-01-02T00:00:00Z",
    });
    let wrong_sha = host.publish(&Build {
        tag: "v3",
        sha: "ccc3333",
        ready: true,
        created: "2024-01-03T00:00:00Z",
    });

    let run = host.deploy("aaa1111", &good).run();
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), good, "stdout is the reference deployed");
    host.assert_serving(&good, "aaa1111");

    let poller = Poller::start(host.port);
    let started = Instant::now();

    // /readyz answers 404 forever: not ready within 3 s as a candidate on
    // the stage port, so it is removed; v1 never stopped.
    let run = host.deploy("bbb2222", &never_ready).run();
    run.expect_code(1);
    assert!(
        run.stdout.is_empty(),
        "nothing deployed, nothing printed\n{run}"
    );
    assert!(
        run.stderr.contains(&format!(
            "127.0.0.1:{}/readyz: not ready within 3.0s",
            host.stage_port
        )) && run.stderr.contains("removed the candidate")
            && !run.stderr.contains("rolling back"),
        "{run}"
    );
    host.assert_serving(&good, "aaa1111");

    // Alive and ready, but /version names another commit: not the build we
    // meant to ship (a stale cache, the wrong tag): removed as well.
    let run = host.deploy("ddd4444", &wrong_sha).run();
    run.expect_code(1);
    assert!(
        run.stderr
            .contains(r#"but sha is "ccc3333" (expected "ddd4444")"#)
            && run.stderr.contains("removed the candidate"),
        "{run}"
    );
    host.assert_serving(&good, "aaa1111");
    let elapsed = started.elapsed();
    thread::sleep(Duration::from_millis(200));
    let samples = poller.finish();

    // The previous version answered every poll, all along: the failed
    // builds never took the real port.
    assert!(
        samples.len() > 50,
        "the poller ran: {} samples",
        samples.len()
    );
    let others: Vec<_> = samples
        .iter()
        .filter(|(_, v)| v.as_deref() != Some("aaa1111"))
        .map(|(at, v)| (at.duration_since(started), v))
        .collect();
    assert!(
        others.is_empty(),
        "during {elapsed:?} of failed deploys, {} of {} polls were not answered by v1: {others:?}",
        others.len(),
        samples.len()
    );

    // Without staging (an app that cannot move its port), the new build
    // takes the port, fails, and v1 is put back: the site answers but for
    // the moments of the swaps.
    let poller = Poller::start(host.port);
    let started = Instant::now();
    let run = host.deploy("bbb2222", &never_ready).arg("--no-stage").run();
    run.expect_code(1);
    assert!(
        run.stderr.contains("/readyz: not ready within 3.0s") && run.stderr.contains("rolled back"),
        "{run}"
    );
    host.assert_serving(&good, "aaa1111");
    let elapsed = started.elapsed();
    thread::sleep(Duration::from_millis(200));
    let samples = poller.finish();
    let gap = longest_gap(&samples);
    eprintln!("--no-stage: longest gap in answers: {gap:?} over {elapsed:?}");
    assert!(
        gap < Duration::from_secs(2),
        "the site stopped answering for {gap:?} during {elapsed:?} of deploy"
    );
    let tail: Vec<_> = samples.iter().rev().take(5).collect();
    assert!(
        tail.iter().all(|(_, v)| v.as_deref() == Some("aaa1111")),
        "the previous version answers at the end: {tail:?}"
    );
    // The failed images stay for inspection only until a prune removes them;
    // the good one is never touched.
    assert!(host.engine.image_id(&good).is_some());
}

#[test]
fn deploy_refuses_bad_input_before_touching_what_runs() {
    let host = Host::start();
    let good = host.publish(&Build {
        tag: "v1",
        sha: "aaa1111",
        ready: true,
        created: "2024-01-01T00:00:00Z",
    });
    let never_ready = host.publish(&Build {
        tag: "v2",
        sha: "bbb2222",
        ready: false,
        created: "2024-01-02T00:00:00Z",
    });

    // A first deploy that fails has nothing to put back: it leaves nothing.
    let run = host.deploy("bbb2222", &never_ready).run();
    run.expect_code(1);
    assert!(
        run.stderr.contains("no previous version to put back"),
        "{run}"
    );
    assert_eq!(host.containers(), vec![]);

    host.deploy("aaa1111", &good).run().expect_code(0);
    host.assert_serving(&good, "aaa1111");

    // A tag can move: refused before anything happens.
    let run = host
        .deploy("bbb2222", &format!("{}/shop:v2", host.reg.host()))
        .run();
    run.expect_code(1);
    assert!(run.stderr.contains("error[no-digest]"), "{run}");
    host.assert_serving(&good, "aaa1111");

    // The admin DSN must never reach a runtime container.
    let bad_env = host.work.path().join("admin.env");
    fs::write(
        &bad_env,
        format!(
            "{}DATABASE_ROOT_URL=postgres://postgres:pl4nted-root-pw@127.0.0.1:5432/postgres\n",
            fs::read_to_string(&host.env_file).expect("env file")
        ),
    )
    .expect("admin.env");
    let run = host
        .deploy("bbb2222", &never_ready)
        .arg("--env-file")
        .arg(&bad_env)
        .run();
    run.expect_code(1);
    assert!(
        run.stderr.contains("the runtime environment check failed"),
        "{run}"
    );
    host.assert_serving(&good, "aaa1111");

    // The scaffold's placeholder digest names no build: refused up front.
    let placeholder = format!(
        "{}/shop@{}",
        host.reg.host(),
        deploykit::imageref::PLACEHOLDER_DIGEST
    );
    let run = host.deploy("bbb2222", &placeholder).run();
    run.expect_code(1);
    assert!(run.stderr.contains("error[placeholder]"), "{run}");
    host.assert_serving(&good, "aaa1111");

    // A digest the registry does not have: the pull fails before the swap.
    let missing = format!("{}/shop@sha256:{}", host.reg.host(), "e".repeat(64));
    let run = host.deploy("bbb2222", &missing).run();
    run.expect_code(3);
    assert!(run.stderr.contains("pulling"), "{run}");
    host.assert_serving(&good, "aaa1111");

    // The same digest again: nothing restarts, the probes still pass.
    let started = || {
        let (_, body) = host.engine.api("GET", "/containers/app/json", None);
        let v: serde_json::Value = serde_json::from_str(&body).expect("inspect JSON");
        (v["Id"].to_string(), v["State"]["StartedAt"].to_string())
    };
    let before = started();
    let run = host.deploy("aaa1111", &good).run();
    run.expect_code(0);
    assert!(run.stderr.contains("already running"), "{run}");
    assert_eq!(started(), before, "the same container, not restarted");

    // Usage errors.
    script("pipeline/deploy.sh")
        .arg("--env-file")
        .arg(&host.env_file)
        .arg(&good)
        .run()
        .expect_code(2); // no --sha
    script("pipeline/deploy.sh")
        .args(["--sha", "aaa1111", &good])
        .run()
        .expect_code(2); // no --env-file
    // A candidate that cannot be staged is refused before anything starts:
    // an offset of nothing, one past the last port, and port variables that
    // leave the health port where v1 listens.
    let bad_stage: [(&[&str], &str); 3] = [
        (&["--stage-offset", "0"], "not a non-zero whole number"),
        (&["--stage-offset", "70000"], "out of the port range"),
        (&["--stage-vars", "PORT"], "holds the health port"),
    ];
    for (args, says) in bad_stage {
        let run = host.deploy("bbb2222", &never_ready).args(args).run();
        run.expect_code(2);
        assert!(run.stderr.contains(says), "{run}");
    }
    host.assert_serving(&good, "aaa1111");
}

#[test]
fn the_rollback_window_survives_the_prune() {
    let mut host = Host::start();
    let builds = [
        ("v1", "aaa1111", "2024-01-01T00:00:00Z"),
        ("v2", "bbb2222", "2024-01-02T00:00:00Z"),
        ("v3", "ccc3333", "2024-01-03T00:00:00Z"),
    ];
    let refs: Vec<String> = builds
        .iter()
        .map(|(tag, sha, created)| {
            host.publish(&Build {
                tag,
                sha,
                ready: true,
                created,
            })
        })
        .collect();
    for (reference, (_, sha, _)) in refs.iter().zip(builds) {
        let run = host.deploy(sha, reference).run();
        run.expect_code(0);
        host.assert_serving(reference, sha);
    }
    // --keep 1: v3 runs, v2 is the rollback window (protected although it is
    // not the newest), v1 is gone.
    assert!(host.engine.image_id(&refs[2]).is_some(), "v3 (running)");
    assert!(
        host.engine.image_id(&refs[1]).is_some(),
        "v2 (the rollback window)"
    );
    assert!(host.engine.image_id(&refs[0]).is_none(), "v1 (pruned)");

    // With the registry down, rolling back to v2 works from the engine alone…
    host.reg.stop();
    let run = host.deploy("bbb2222", &refs[1]).run();
    run.expect_code(0);
    assert!(run.stderr.contains("already on this host"), "{run}");
    host.assert_serving(&refs[1], "bbb2222");
    // …and v1, pruned, cannot come back without it: refused before the swap.
    let run = host.deploy("aaa1111", &refs[0]).run();
    run.expect_code(3);
    host.assert_serving(&refs[1], "bbb2222");
    // The deploy before last (v3) is the new rollback window.
    assert!(
        host.engine.image_id(&refs[2]).is_some(),
        "v3 (now the rollback window)"
    );
}

// ------------------------------------------------------------------ CI

/// A monorepo with two services (one whose process exits at once) and a
/// directory that is not a service.
fn ci_repo(dir: &Path) {
    let hello = dir.join("services/hello/rootfs");
    fs::create_dir_all(hello.join("bin")).expect("dirs");
    fs::create_dir_all(hello.join("www")).expect("dirs");
    fs::copy("/bin/busybox", hello.join("bin/busybox")).expect("busybox");
    fs::write(hello.join("serve.sh"), SERVE_SH).expect("serve.sh");
    fs::write(hello.join("www/livez"), "alive\n").expect("livez");
    fs::write(
        dir.join("services/hello/Dockerfile"),
        "FROM scratch\nCOPY services/hello/rootfs/ /\nCMD [\"/bin/busybox\", \"sh\", \"/serve.sh\"]\n",
    )
    .expect("Dockerfile");
    fs::create_dir_all(dir.join("services/crashes")).expect("dirs");
    fs::write(
        dir.join("services/crashes/Dockerfile"),
        "FROM scratch\nCOPY services/hello/rootfs/bin/ /bin/\nCMD [\"/bin/busybox\", \"false\"]\n",
    )
    .expect("Dockerfile");
    fs::create_dir_all(dir.join("services/docs")).expect("dirs");
    fs::write(dir.join("services/docs/README.md"), "not a service\n").expect("README");
    fs::write(dir.join("package.json"), "{\"name\":\"@acme/root\"}\n").expect("package.json");
}

#[test]
fn ci_builds_each_service_smoke_tests_it_and_pushes_by_digest() {
    let engine = TestEngine::dockerd();
    let reg = TestRegistry::start();
    let repo = tempfile::tempdir().expect("repo");
    ci_repo(repo.path());
    let docker = |s: Script| s.env("DOCKER_HOST", engine.host());

    let run = script("pipeline/services-matrix.sh")
        .arg("--root")
        .arg(repo.path())
        .run();
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "{\"include\":[\
         {\"service\":\"crashes\",\"dockerfile\":\"services/crashes/Dockerfile\",\"context\":\".\"},\
         {\"service\":\"hello\",\"dockerfile\":\"services/hello/Dockerfile\",\"context\":\".\"}]}\n"
    );

    let image_repo = format!("{}/acme", reg.host());
    let build = |name: &str| {
        docker(script("pipeline/build-service.sh"))
            .arg("--root")
            .arg(repo.path())
            .args(["--repo", &image_repo, "--env", "staging"])
            .args(["--sha", "3f2a9c01be47d2e8", name])
            .run()
    };
    let run = build("hello");
    run.expect_code(0);
    let fingerprint = Command::new(bins::bin("image-digest"))
        .args([
            "fingerprint",
            "--short",
            "12",
            "services/hello",
            "package.json",
        ])
        .current_dir(repo.path())
        .output()
        .expect("image-digest fingerprint");
    let fingerprint = String::from_utf8_lossy(&fingerprint.stdout)
        .trim()
        .to_owned();
    assert_eq!(
        run.stdout,
        format!("{image_repo}:staging-3f2a9c0-hello\n{image_repo}:hello-{fingerprint}\n")
    );
    let release = format!("{image_repo}:staging-3f2a9c0-hello");
    let content = format!("{image_repo}:hello-{fingerprint}");
    let id = engine
        .image_id(&release)
        .expect("the release tag is in the engine");
    assert_eq!(engine.image_id(&content), Some(id), "both tags, one image");

    // The pre-push gate: alive within the budget, and no container left.
    let port = free_port().to_string();
    let run = docker(script("pipeline/test-image.sh"))
        .args(["--port", &port, &release])
        .run();
    run.expect_code(0);
    assert!(run.stderr.contains("is alive"), "{run}");
    let no_containers = || {
        let (_, body) = engine.api("GET", "/containers/json?all=1", None);
        serde_json::from_str::<Vec<serde_json::Value>>(&body)
            .expect("JSON")
            .is_empty()
    };
    assert!(no_containers(), "test-image.sh removed its container");

    build("crashes").expect_code(0);
    let run = docker(script("pipeline/test-image.sh"))
        .args(["--port", &port, "--budget", "2s"])
        .arg(format!("{image_repo}:staging-3f2a9c0-crashes"))
        .run();
    run.expect_code(1);
    assert!(run.stderr.contains("exited (exit code 1)"), "{run}");
    assert!(
        no_containers(),
        "test-image.sh removed the failed container too"
    );
    docker(script("pipeline/test-image.sh"))
        .args(["--budget", "30s", &release])
        .run()
        .expect_code(2);

    // Push: the digest from docker push's own output…
    let run = docker(script("pipeline/push.sh")).arg(&release).run();
    run.expect_code(0);
    let digest = reg.skopeo_digest("acme:staging-3f2a9c0-hello");
    assert_eq!(run.stdout, format!("{image_repo}@{digest}\n"));
    // …or, when the push printed none (quiet), from the registry.
    let run = docker(script("pipeline/push.sh"))
        .args(["--quiet", &content])
        .run();
    run.expect_code(0);
    assert!(run.stderr.contains("asking the registry"), "{run}");
    assert_eq!(
        run.stdout,
        format!("{image_repo}@{digest}\n"),
        "same image, same digest"
    );
    // A failed push stops with exit 3 and prints no reference.
    let run = docker(script("pipeline/push.sh"))
        .arg(format!("{image_repo}:not-built"))
        .run();
    run.expect_code(3);
    assert!(run.stdout.is_empty(), "{run}");
}

#[test]
fn provision_checks_the_dsns_then_provisions_behind_the_production_lock() {
    let pg = TestPg::start();
    let tls = format!(
        "?sslmode=verify-full&sslrootcert={}",
        pg.ca_path().display()
    );
    let mut env = BTreeMap::new();
    env.insert(
        "DATABASE_ROOT_URL".to_owned(),
        format!("{}{tls}", pg.root_url()),
    );
    env.insert(
        "DATABASE_URL".to_owned(),
        format!("{}{tls}", pg.url_for("shop_app", "pl4nted-app-pw", "shop")),
    );
    env.insert(
        "DATABASE_SERVICE_URL".to_owned(),
        format!(
            "{}{tls}",
            pg.url_for("shop_service", "pl4nted-svc-pw", "shop")
        ),
    );
    let has_db = || {
        !pg.admin_client()
            .query("SELECT 1 FROM pg_database WHERE datname = 'shop'", &[])
            .expect("query")
            .is_empty()
    };

    // A bad set stops at the first step: nothing reaches the server.
    let mut bad = env.clone();
    bad.insert(
        "DATABASE_URL".to_owned(),
        format!(
            "{}{tls}",
            pg.url_for("shop_service", "pl4nted-svc-pw", "shop")
        ),
    );
    let run = script("pipeline/provision.sh")
        .envs(&bad)
        .args(["--env", "production", "--env-marker", "prod"])
        .run();
    run.expect_code(1);
    assert!(
        run.stderr.contains("checking the three DSNs: failed"),
        "{run}"
    );
    assert!(!has_db());

    // Production without the lock lifted: refused, nothing changed.
    let run = script("pipeline/provision.sh")
        .envs(&env)
        .args(["--env", "production", "--env-marker", "prod"])
        .run();
    run.expect_code(1);
    assert!(run.stderr.contains("provisioning: failed"), "{run}");
    assert!(!has_db());
    script("pipeline/provision.sh")
        .envs(&env)
        .args(["--env", "production", "--", "--confirm-production"])
        .run()
        .expect_code(2);

    // Lifted on purpose: provisioned, then every role logs in.
    let run = script("pipeline/provision.sh")
        .envs(&env)
        .env("CONFIRM_PROD_MIGRATE", "YES")
        .args(["--env", "production", "--env-marker", "prod"])
        .run();
    run.expect_code(0);
    assert!(run.stderr.contains("verifying every login"), "{run}");
    assert!(has_db());
    // Converged: --check finds no drift.
    script("pipeline/provision.sh")
        .envs(&env)
        .args([
            "--env",
            "production",
            "--env-marker",
            "prod",
            "--",
            "--check",
        ])
        .run()
        .expect_code(0);
}

// ------------------------------------------------------------------ CLI

#[test]
fn every_script_has_help_and_rejects_unknown_flags() {
    for name in [
        "pipeline/deploy.sh",
        "pipeline/push.sh",
        "pipeline/build-service.sh",
        "pipeline/test-image.sh",
        "pipeline/services-matrix.sh",
        "pipeline/provision.sh",
        "pipeline/oci-image.sh",
        "build-release.sh",
        "release.sh",
        "install.sh",
    ] {
        let run = script(name).arg("--help").run();
        run.expect_code(0);
        assert!(
            run.stdout.starts_with("Usage: ")
                && run.stdout.contains("Examples:")
                && run.stdout.contains("Exit status:"),
            "{name} --help\n{run}"
        );
        let run = script(name).arg("--no-such-flag").run();
        run.expect_code(2);
        assert!(
            run.stderr
                .starts_with(&format!("{}: ", name.trim_start_matches("pipeline/"))),
            "{name}\n{run}"
        );
    }
    let empty = tempfile::tempdir().expect("dir");
    let run = script("pipeline/services-matrix.sh")
        .arg("--root")
        .arg(empty.path())
        .run();
    run.expect_code(0);
    assert_eq!(run.stdout, "{\"include\":[]}\n");
    fs::create_dir_all(empty.path().join("services/Bad_Name")).expect("dir");
    fs::write(
        empty.path().join("services/Bad_Name/Dockerfile"),
        "FROM scratch\n",
    )
    .expect("df");
    script("pipeline/services-matrix.sh")
        .arg("--root")
        .arg(empty.path())
        .run()
        .expect_code(2);
}

#[test]
fn the_bench_report_merges_every_section_with_fresh_headlines() {
    let out = tempfile::tempdir().expect("dir");
    let report = out.path().join("RESULTS.md");
    script("bench/run")
        .args(["--merge-only", "--output"])
        .arg(&report)
        .run()
        .expect_code(0);
    let text = fs::read_to_string(&report).expect("report");
    assert!(
        text.contains("## Machine") && text.contains("## Headline figures"),
        "{text}"
    );
    let bench = bins::workspace_root().join("scripts/bench");
    for entry in fs::read_dir(&bench).expect("scripts/bench") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("RESULTS-") && path.extension().is_some_and(|e| e == "md") {
            let section = fs::read_to_string(&path).expect("section");
            assert!(text.contains(&section), "{name} is merged verbatim");
        }
    }
    // A headline whose figure is no longer in its section is marked: the
    // figures were re-measured and headlines.tsv must follow.
    assert!(
        !text.contains("(stale") && !text.contains("(no section)"),
        "update scripts/bench/headlines.tsv:\n{text}"
    );
}

#[test]
fn the_ci_example_parses_and_uses_only_the_installed_release() {
    let root = bins::workspace_root();
    let text =
        fs::read_to_string(root.join("scripts/pipeline/ci-example.yml")).expect("ci-example.yml");
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("valid YAML");
    let jobs = doc["jobs"].as_mapping().expect("jobs");
    let mut runs = Vec::new();
    for (name, job) in jobs {
        let steps = job["steps"].as_sequence().expect("steps");
        // Every job installs the release with the action before it runs
        // anything of deploykit's.
        let action = steps.iter().position(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("deploykit/deploykit@v"))
        });
        let action = action.unwrap_or_else(|| panic!("job {name:?} does not use the action"));
        assert_eq!(
            steps[action]["with"]["version"].as_str(),
            Some("${{ env.DEPLOYKIT_VERSION }}")
        );
        for step in steps {
            if let Some(run) = step["run"].as_str() {
                runs.push(run.to_owned());
            }
        }
    }
    assert_eq!(
        doc["env"]["DEPLOYKIT_VERSION"].as_str(),
        Some(env!("CARGO_PKG_VERSION")),
        "the example pins this release"
    );
    let all = runs.join("\n");
    // Nothing of this repository: only what the installed release has, the
    // pipeline scripts in $DEPLOYKIT_SHARE (share/deploykit of the archive,
    // every scripts/pipeline/*.sh) and the tools on PATH.
    assert!(
        !all.contains("scripts/"),
        "a script of this repository:\n{all}"
    );
    let mut used = Vec::new();
    for word in all.split(|c: char| c.is_whitespace() || "\"'()$".contains(c)) {
        if let Some(name) = word.strip_suffix(".sh") {
            let name = format!("{name}.sh");
            let script = name
                .strip_prefix("{DEPLOYKIT_SHARE}/")
                .or_else(|| name.strip_prefix("DEPLOYKIT_SHARE/"));
            let script =
                script.unwrap_or_else(|| panic!("{name} is not run from $DEPLOYKIT_SHARE"));
            assert!(
                root.join("scripts/pipeline").join(script).exists(),
                "{script} is not a pipeline script, so not in the release"
            );
            used.push(script.to_owned());
        }
    }
    for script in [
        "services-matrix.sh",
        "build-service.sh",
        "test-image.sh",
        "push.sh",
        "promote.sh",
    ] {
        assert!(used.iter().any(|u| u == script), "uses {script}");
    }
    for (tool, sub) in [
        ("tag-image", "check --require-digest"),
        ("tag-image", "apply"),
    ] {
        assert!(all.contains(&format!("{tool} {sub}")), "uses {tool} {sub}");
    }
    // Secrets reach the steps through `env:` only: a run line never holds
    // one (GitHub would paste it into the script text).
    assert!(!all.contains("secrets."), "a secret in a run line:\n{all}");
    assert!(
        text.contains("${{ secrets.GITHUB_TOKEN }}"),
        "the token is passed, through env"
    );
}

#[test]
fn a_deploy_terminated_during_its_gate_puts_the_previous_version_back() {
    let host = Host::start();
    let good = host.publish(&Build {
        tag: "v1",
        sha: "aaa1111",
        ready: true,
        created: "2024-01-01T00:00:00Z",
    });
    let never_ready = host.publish(&Build {
        tag: "v2",
        sha: "bbb2222",
        ready: false,
        created: "2024-01-02T00:00:00Z",
    });
    host.deploy("aaa1111", &good).run().expect_code(0);

    // Staged, the signal removes the candidate; unstaged, it puts v1 back.
    for (staged, port, says) in [
        (true, host.stage_port, "removed the candidate"),
        (false, host.port, "rolled back"),
    ] {
        terminate_during_gate(&host, &never_ready, staged, port, says);
        host.assert_serving(&good, "aaa1111");
    }
}

/// Starts a deploy of the never-ready `reference`, waits until it answers
/// on `port`, sends SIGTERM, and checks the exit and what stderr `says`.
fn terminate_during_gate(host: &Host, reference: &str, staged: bool, port: u16, says: &str) {
    // A long readyz budget: only the signal can end this deploy early.
    let mut deploy = host
        .deploy("bbb2222", reference)
        .args(["--readyz-budget", "60s"]);
    if !staged {
        deploy = deploy.arg("--no-stage");
    }
    let child = deploy
        .cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("deploy.sh");
    let deadline = Instant::now() + Duration::from_secs(30);
    while version(port).as_deref() != Some("bbb2222") {
        assert!(Instant::now() < deadline, "the new build never started");
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(300)); // inside the readyz stage
    let sent = Instant::now();
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok);
    let out = child.wait_with_output().expect("deploy.sh output");
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    bins::sweep(&run);
    run.expect_code(143);
    assert!(
        run.stderr.contains("terminated") && run.stderr.contains(says),
        "{run}"
    );
    // Not after the 60 s budget: the signal cut the wait short.
    assert!(
        sent.elapsed() < Duration::from_secs(30),
        "{:?}",
        sent.elapsed()
    );
}
