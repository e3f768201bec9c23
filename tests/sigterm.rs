//! SIGTERM (and SIGINT) to each long-running tool in the middle of its
//! work: it stops promptly, exits 143 (130), says on stderr that it was
//! stopped by the signal, and leaves nothing half-done.
//!
//! "In the middle" is observed, not guessed: the test waits until a
//! loopback server that never answers has the tool's connection, until
//! Postgres shows the tool's session waiting on a lock, or until a slow
//! fault proxy (in front of the registry or of dockerd's socket) holds one
//! of the tool's requests, and only then signals.
//! Then it checks the state the user would find: the catalog, the tags,
//! the manifests left in the registry against what the report says.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use deploykit_tests::bins::Running;
use deploykit_tests::engine::{Kind, TestEngine, TestImage};
use deploykit_tests::faults::EngineProxy;
use deploykit_tests::pg::{TestPg, free_port};
use deploykit_tests::registry::{FaultProxy, Faults, Format, OciImage, TestRegistry};
use deploykit_tests::{Run, Tool};
use postgres::{Client, NoTls};

/// How soon after the signal the tool must be gone: generous for a loaded
/// CI machine, far below any remote's deadline in these tests (60 s).
const PROMPTLY: Duration = Duration::from_secs(2);

const ROOT_PW: &str = "pl4nted-root-pw";
const APP_PW: &str = "pl4nted-app-pw";
const SVC_PW: &str = "pl4nted-svc-pw";

/// Polls `cond` every 20 ms for up to 30 s; fails the test with `what`.
#[track_caller]
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` to a tool that is still running and checks the ending
/// every tool shares: the status, promptly, and a line naming the signal.
#[track_caller]
fn stop_with(mut tool: Running, signal: &str) -> Run {
    assert!(
        tool.is_running(),
        "the tool ended before the signal:\n{}",
        tool.wait()
    );
    let signalled = tool.signal(signal);
    let run = tool.wait();
    let waited = signalled.elapsed();
    let (code, says) = if signal == "INT" {
        (130, "interrupted by SIGINT")
    } else {
        (143, "terminated by SIGTERM")
    };
    run.expect_code(code);
    assert!(
        waited < PROMPTLY,
        "took {waited:?} to stop after SIG{signal}\n{run}"
    );
    assert!(run.stderr.contains(says), "stderr must say why\n{run}");
    run
}

/// A loopback server that accepts connections, reads what comes and never
/// answers: a Postgres or registry that hangs. Counts connections.
struct Silent {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Silent {
    fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        thread::spawn(move || {
            let held = Arc::new(Mutex::new(Vec::<TcpStream>::new()));
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let held = Arc::clone(&held);
                thread::spawn(move || {
                    let mut reader = stream.try_clone().expect("clone");
                    held.lock().expect("held").push(stream);
                    let mut buf = [0u8; 4096];
                    while matches!(reader.read(&mut buf), Ok(n) if n > 0) {}
                });
            }
        });
        Silent { port, accepted }
    }

    fn connected(&self) -> bool {
        self.accepted.load(Ordering::SeqCst) > 0
    }
}

// ------------------------------------------------------------------ wait-probe

fn wait_probe_on_a_closed_port(signal: &str) {
    let tool = Tool::new("wait-probe")
        .args(["--json", "--budget", "60s"])
        .arg(format!("tcp://127.0.0.1:{}", free_port()))
        .spawn();
    // The wait is a loop of refused attempts: any moment is mid-wait.
    thread::sleep(Duration::from_millis(500));
    let run = stop_with(tool, signal);
    // The summary still says how far the stage got.
    let summary = run.json();
    assert_eq!(summary["ready"], false, "{run}");
    assert!(
        summary["stages"][0]["attempts"].as_u64() >= Some(1),
        "{run}"
    );
}

#[test]
fn wait_probe_sigterm_ends_the_wait_with_143() {
    wait_probe_on_a_closed_port("TERM");
}

#[test]
fn wait_probe_sigint_ends_the_wait_with_130() {
    wait_probe_on_a_closed_port("INT");
}

// --------------------------------------------------------------- validate-dsns

#[test]
fn validate_dsns_connecting_to_a_server_that_never_answers() {
    let silent = Silent::start();
    let url = |user: &str, pw: &str| {
        format!(
            "postgres://{user}:{pw}@127.0.0.1:{}/shop?sslmode=disable",
            silent.port
        )
    };
    let tool = Tool::new("validate-dsns")
        .env("DATABASE_URL", url("app", APP_PW))
        .env("DATABASE_SERVICE_URL", url("svc", SVC_PW))
        .args(["--runtime", "--connect", "--timeout", "60s"])
        .spawn();
    wait_until("validate-dsns connects", || silent.connected());
    let run = stop_with(tool, "TERM");
    // No verdict on a check that never finished.
    assert!(!run.stdout.contains("ok"), "{run}");
}

/// With --json the signal still ends the run with its one document, also
/// where the signal handler itself ends the process.
#[test]
fn validate_dsns_json_sigterm_while_connecting_prints_one_document() {
    let silent = Silent::start();
    let tool = Tool::new("validate-dsns")
        .env(
            "DATABASE_URL",
            format!(
                "postgres://app:{APP_PW}@127.0.0.1:{}/shop?sslmode=disable",
                silent.port
            ),
        )
        .args(["--connect", "--json", "--timeout", "60s"])
        .spawn();
    wait_until("validate-dsns connects", || silent.connected());
    let run = stop_with(tool, "TERM");
    assert_eq!(
        run.json(),
        serde_json::json!({"error": "terminated by SIGTERM", "exit": 143}),
        "{run}"
    );
}

#[test]
fn validate_dsns_sigint_while_connecting() {
    let silent = Silent::start();
    let tool = Tool::new("validate-dsns")
        .env(
            "DATABASE_URL",
            format!(
                "postgres://app:{APP_PW}@127.0.0.1:{}/shop?sslmode=disable",
                silent.port
            ),
        )
        .args(["--connect", "--timeout", "60s"])
        .spawn();
    wait_until("validate-dsns connects", || silent.connected());
    stop_with(tool, "INT");
}

// ---------------------------------------------------------------- provision-db

fn provision_tool(pg: &TestPg) -> Tool {
    Tool::new("provision-db")
        .env("DATABASE_ROOT_URL", pg.root_url())
        .env("DATABASE_URL", pg.url_for("app", APP_PW, "shop"))
        .env("DATABASE_SERVICE_URL", pg.url_for("svc", SVC_PW, "shop"))
        .args(["--timeout", "5s"])
}

/// Sessions other than `except` waiting on an advisory lock (or, with
/// `advisory` false, on any other lock).
fn lock_waiters(pg: &TestPg, advisory: bool, except: &[i32]) -> i64 {
    pg.admin_client()
        .query_one(
            "SELECT count(*) FROM pg_locks l \
             WHERE NOT l.granted AND (l.locktype = 'advisory') = $1 AND NOT (l.pid = ANY($2))",
            &[&advisory, &except],
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0)
}

#[test]
fn provision_db_waiting_on_the_run_lock_stops_having_changed_nothing() {
    let pg = TestPg::builder().superuser_password(ROOT_PW).start();
    let before = pg.roles();
    let mut holder = pg.admin_client();
    holder
        .query_one(
            "SELECT pg_advisory_lock($1)",
            &[&provision_db::apply::LOCK_KEY],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let tool = provision_tool(&pg).args(["--lock-timeout", "60s"]).spawn();
    wait_until("provision-db waits on the lock", || {
        lock_waiters(&pg, true, &[]) > 0
    });
    stop_with(tool, "TERM");
    assert_eq!(pg.roles(), before, "nothing may change before the lock");
    // The next run, once the lock is free, converges.
    drop(holder);
    provision_tool(&pg)
        .args(["--lock-timeout", "30s"])
        .run()
        .expect_code(0);
    provision_tool(&pg).arg("--check").run().expect_code(0);
}

#[test]
fn provision_db_mid_apply_leaves_whole_steps_only() {
    let pg = TestPg::builder().superuser_password(ROOT_PW).start();
    provision_tool(&pg).run().expect_code(0);
    let svc_url = pg.url_for("svc", SVC_PW, "shop");
    let mut svc = Client::connect(&svc_url, NoTls).unwrap_or_else(|e| panic!("{e}"));
    svc.batch_execute("CREATE TABLE t (x int); REVOKE ALL ON t FROM app")
        .unwrap_or_else(|e| panic!("{e}"));
    // Drift in an earlier step (a role attribute) and in a later one (the
    // grants on t, which an application's open transaction blocks).
    pg.exec("ALTER ROLE app CREATEDB");
    let svc_pid: i32 = svc
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0);
    svc.batch_execute("BEGIN; ALTER TABLE t ADD COLUMN y int")
        .unwrap_or_else(|e| panic!("{e}"));
    let tool = provision_tool(&pg)
        .args(["--statement-lock-timeout", "60s"])
        .spawn();
    wait_until("provision-db's grant waits behind the transaction", || {
        lock_waiters(&pg, false, &[svc_pid]) > 0
    });
    stop_with(tool, "TERM");
    // The role step before it is whole.
    let createdb: bool = pg
        .admin_client()
        .query_one(
            "SELECT rolcreatedb FROM pg_roles WHERE rolname = 'app'",
            &[],
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0);
    assert!(!createdb, "the role step before the signal is done");
    // The application finishes; the cut-off step's transaction is rolled
    // back by the server (its client is gone), never committed.
    svc.batch_execute("ROLLBACK")
        .unwrap_or_else(|e| panic!("{e}"));
    wait_until("the cut-off session is gone", || {
        pg.admin_client()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'shop' AND pid <> $1",
                &[&svc_pid],
            )
            .is_ok_and(|r| r.get::<_, i64>(0) == 0)
    });
    let granted: bool = svc
        .query_one("SELECT has_table_privilege('app', 't', 'SELECT')", &[])
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0);
    assert!(!granted, "the interrupted step must not be half-applied");
    // And the next run converges.
    provision_tool(&pg).run().expect_code(0);
    provision_tool(&pg).arg("--check").run().expect_code(0);
    let granted: bool = svc
        .query_one("SELECT has_table_privilege('app', 't', 'SELECT')", &[])
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0);
    assert!(granted, "the converged run grants on t");
}

// ---------------------------------------------------------------- image-digest

#[test]
fn image_digest_resolve_against_a_registry_that_never_answers() {
    let silent = Silent::start();
    let tool = Tool::new("image-digest")
        .args(["resolve", "--timeout", "60s", "--plain-http"])
        .arg(format!("127.0.0.1:{}/app:1", silent.port))
        .spawn();
    wait_until("image-digest connects", || silent.connected());
    let run = stop_with(tool, "TERM");
    assert!(run.stdout.is_empty(), "no digest without an answer\n{run}");
}

/// A build context big enough that hashing it takes a while.
fn large_tree(dir: &Path) {
    let chunk = vec![b'x'; 1 << 20];
    for d in 0..4 {
        let sub = dir.join(format!("d{d}"));
        std::fs::create_dir_all(&sub).expect("mkdir");
        for f in 0..25 {
            let mut file = std::fs::File::create(sub.join(format!("f{f}"))).expect("create");
            file.write_all(&chunk).expect("write");
            writeln!(file, "{d}/{f}").expect("write");
        }
    }
}

#[test]
fn image_digest_fingerprint_of_a_large_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    large_tree(dir.path());
    let tool = Tool::new("image-digest")
        .args(["fingerprint", "."])
        .current_dir(dir.path())
        .spawn();
    thread::sleep(Duration::from_millis(200));
    let run = stop_with(tool, "TERM");
    assert!(
        run.stdout.is_empty(),
        "no fingerprint of half a tree\n{run}"
    );
}

// ------------------------------------------------------------------- tag-image

#[test]
fn tag_image_apply_mid_promotion_leaves_no_tag_on_another_digest() {
    let reg = TestRegistry::start();
    let scratch = reg.scratch();
    let old = OciImage::write(&scratch.join("old"), "old", &["linux/amd64"], Format::Oci);
    let new = OciImage::write(&scratch.join("new"), "new", &["linux/amd64"], Format::Oci);
    let old_digest = reg.push_image(&old, "app:build-1");
    let new_digest = reg.push_image(&new, "app:build-2");
    reg.push_image(&old, "app:prod-3333333");
    let proxy = FaultProxy::start(
        reg.port(),
        Faults {
            only: Some("PUT ".into()),
            delay: Some(Duration::from_millis(1500)),
            ..Faults::default()
        },
    );
    let tags = ["prod-1111111", "prod-2222222", "prod-3333333"];
    let tool = Tool::new("tag-image")
        .args(["apply", "--force", "--timeout", "60s"])
        .arg(format!("{}/app:build-2", proxy.host()))
        .args(tags)
        .spawn();
    wait_until("a tag write is in flight", || {
        proxy.matched.load(Ordering::SeqCst) > 0
    });
    stop_with(tool, "TERM");
    // Let the write already in the proxy land, then look.
    thread::sleep(Duration::from_secs(2));
    let mut written = 0;
    for tag in tags {
        let now = tag_digest(&reg, tag);
        match now.as_deref() {
            Some(d) if d == new_digest => written += 1,
            None => {}
            Some(d) if tag == "prod-3333333" && d == old_digest => {}
            other => panic!("{tag} points to {other:?}"),
        }
    }
    assert!(
        written < tags.len(),
        "the run was stopped before its last tag"
    );
}

/// The digest `repo app`'s tag points to, if the tag exists.
fn tag_digest(reg: &TestRegistry, tag: &str) -> Option<String> {
    let (status, headers) = head(&reg.host(), &format!("/v2/app/manifests/{tag}"));
    (status == 200).then(|| {
        headers
            .get("docker-content-digest")
            .cloned()
            .unwrap_or_default()
    })
}

/// A HEAD request with the manifest types accepted; status and headers.
fn head(host: &str, path: &str) -> (u16, BTreeMap<String, String>) {
    let mut stream = TcpStream::connect(host).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "HEAD {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    let mut lines = text.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers)
}

// ---------------------------------------------------------------- prune-images

#[test]
fn prune_images_registry_apply_stops_between_deletes_and_reports_them() {
    let reg = TestRegistry::start();
    let scratch = reg.scratch();
    for i in 1..=4 {
        let img = OciImage::write(
            &scratch.join(format!("b{i}")),
            &format!("b{i}"),
            &["linux/amd64"],
            Format::Oci,
        );
        reg.push_image(&img, &format!("app:t{i}"));
    }
    let proxy = FaultProxy::start(
        reg.port(),
        Faults {
            only: Some("DELETE ".into()),
            delay: Some(Duration::from_millis(600)),
            ..Faults::default()
        },
    );
    let empty = scratch.join("no-docker-config");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let tool = Tool::new("prune-images")
        .env("DOCKER_CONFIG", &empty)
        .args([
            "registry",
            "--keep",
            "0",
            "--apply",
            "--json",
            "--timeout",
            "60s",
        ])
        .arg(format!("{}/app", proxy.host()))
        .spawn();
    // The first DELETE is the permission check; the second a real one.
    wait_until("a delete is in flight", || {
        proxy.matched.load(Ordering::SeqCst) >= 2
    });
    let run = stop_with(tool, "TERM");
    let report = run.json();
    let manifests = report["manifests"].as_array().expect("manifests");
    assert_eq!(manifests.len(), 4, "{run}");
    let mut deleted = 0;
    for m in manifests {
        let digest = m["digest"].as_str().expect("digest");
        let present = head(&reg.host(), &format!("/v2/app/manifests/{digest}")).0 == 200;
        match m["outcome"]["result"].as_str() {
            Some("deleted") => {
                assert!(!present, "{digest} reported deleted but is there\n{run}");
                deleted += 1;
            }
            Some("not_attempted") => {
                assert!(
                    present,
                    "{digest} reported not attempted but is gone\n{run}"
                );
            }
            other => panic!("unexpected outcome {other:?}\n{run}"),
        }
    }
    assert!(
        (1..4).contains(&deleted),
        "stopped mid-run: some deleted, not all ({deleted})\n{run}"
    );
}

#[test]
fn prune_images_local_apply_stops_between_removals_and_reports_them() {
    let engine = TestEngine::start(Kind::Dockerd);
    let repo = "localhost/deploykit-test/sigterm";
    for (v, days) in [("v1", 50), ("v2", 40), ("v3", 30), ("v4", 20), ("v5", 10)] {
        engine.load(
            &TestImage::new(&format!("sigterm-{v}"), days),
            &format!("{repo}:{v}"),
        );
    }
    let newest = engine.image_id(&format!("{repo}:v5")).expect("v5");
    let before: BTreeSet<String> = engine.image_ids().into_iter().collect();
    // Each removal takes 600 ms on its way to dockerd.
    let sock = engine.host().trim_start_matches("unix://").to_owned();
    let proxy = EngineProxy::slow_deletes(
        Path::new(&sock),
        &engine.scratch(),
        Duration::from_millis(600),
    );
    let tool = Tool::new("prune-images")
        .env("DOCKER_HOST", proxy.host())
        .args([
            "local",
            "--keep",
            "1",
            "--apply",
            "--json",
            "--timeout",
            "60s",
        ])
        .spawn();
    wait_until("a removal went through", || {
        proxy
            .forwarded
            .lock()
            .expect("forwarded")
            .iter()
            .any(|l| l.starts_with("DELETE "))
    });
    let run = stop_with(tool, "TERM");

    // What the report says was removed is exactly what is gone, and the
    // rest is still there: the run stopped between two removals.
    let after: BTreeSet<String> = engine.image_ids().into_iter().collect();
    let gone: BTreeSet<String> = before.difference(&after).cloned().collect();
    let report = run.json();
    let outcome = |result: &str| -> BTreeSet<String> {
        report["images"]
            .as_array()
            .expect("images")
            .iter()
            .filter(|i| i["outcome"]["result"] == result)
            .map(|i| i["id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(outcome("removed"), gone, "{run}");
    assert!(
        (1..4).contains(&gone.len()),
        "stopped mid-run: some removed, not all four ({gone:?})\n{run}"
    );
    assert!(!outcome("not_attempted").is_empty(), "{run}");
    assert!(after.contains(&newest), "the kept image stays");
}
