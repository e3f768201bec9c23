//! wait-probe against real servers on 127.0.0.1: tiny HTTP servers written
//! here (each misbehaving in one way the issue names), a rustls HTTPS server
//! with a test CA, and a real PostgreSQL from the harness that starts late.
//! Every run goes through `Tool`, so the planted-secret sweep covers it.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use deploykit_tests::pg::{TestPg, free_port};
use deploykit_tests::{Run, Tool, bins};

// ---------------------------------------------------------------------------
// Test servers

/// What a test server does with one connection.
#[derive(Clone)]
enum Reply {
    /// An HTTP/1.1 answer.
    Http {
        status: u16,
        body: String,
        headers: Vec<(String, String)>,
    },
    /// Accept the connection, read the request, never answer.
    Hang,
    /// Close with unread data pending, so the kernel sends a reset.
    Reset,
    /// Answer with bytes that are not HTTP.
    Garbage,
}

fn http(status: u16, body: &str) -> Reply {
    Reply::Http {
        status,
        body: body.to_owned(),
        headers: Vec::new(),
    }
}

/// A server on 127.0.0.1; `hits` counts the requests it received.
struct Server {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

type Handler = Arc<dyn Fn(usize, &str) -> Reply + Send + Sync>;

/// Serves every connection with `handler(request number, request head)`.
fn serve(handler: impl Fn(usize, &str) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a test server");
    let port = listener.local_addr().expect("local address").port();
    let hits = Arc::new(AtomicUsize::new(0));
    spawn_accept_loop(listener, Arc::new(handler), hits.clone());
    Server { port, hits }
}

/// Like [`serve`], but the port refuses connections until `delay` has passed.
fn serve_after(
    delay: Duration,
    handler: impl Fn(usize, &str) -> Reply + Send + Sync + 'static,
) -> Server {
    let port = free_port();
    let hits = Arc::new(AtomicUsize::new(0));
    let handler: Handler = Arc::new(handler);
    let counter = hits.clone();
    thread::spawn(move || {
        thread::sleep(delay);
        let listener = (0..100)
            .find_map(|_| {
                TcpListener::bind(("127.0.0.1", port))
                    .inspect_err(|_| thread::sleep(Duration::from_millis(10)))
                    .ok()
            })
            .expect("binding the delayed server's port");
        spawn_accept_loop(listener, handler, counter);
    });
    Server { port, hits }
}

fn spawn_accept_loop(listener: TcpListener, handler: Handler, hits: Arc<AtomicUsize>) {
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let n = hits.fetch_add(1, Ordering::SeqCst);
            let handler = handler.clone();
            thread::spawn(move || handle(stream, n, &*handler));
        }
    });
}

/// Reads a request head (up to the blank line).
fn read_head(stream: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn handle(mut stream: TcpStream, n: usize, handler: &(dyn Fn(usize, &str) -> Reply + Send + Sync)) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    if let Reply::Reset = handler(n, "") {
        // Wait for the request to arrive, leave it unread, close: RST.
        let mut peek = [0u8; 1];
        let _ = stream.peek(&mut peek);
        return;
    }
    let head = read_head(&mut stream);
    let reply = handler(n, &head);
    respond(&mut stream, &reply);
}

fn respond(stream: &mut impl Write, reply: &Reply) {
    match reply {
        Reply::Http {
            status,
            body,
            headers,
        } => {
            let mut text = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                let _ = write!(text, "{k}: {v}\r\n");
            }
            text.push_str("\r\n");
            text.push_str(body);
            let _ = stream.write_all(text.as_bytes());
            let _ = stream.flush();
        }
        Reply::Hang => thread::sleep(Duration::from_secs(60)),
        Reply::Reset => {}
        Reply::Garbage => {
            let _ = stream
                .write_all(b"\x16\x03\x01 SSH-2.0-OpenSSH_9.2 this is not HTTP at all\r\n\r\n");
            let _ = stream.flush();
        }
    }
}

/// A port nothing listens on.
fn refused_port() -> u16 {
    free_port()
}

fn wait_probe() -> Tool {
    Tool::new("wait-probe")
}

/// Runs and returns the run with its wall-clock time.
fn timed(tool: Tool) -> (Run, Duration) {
    let started = Instant::now();
    let run = tool.run();
    (run, started.elapsed())
}

fn count_lines(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

// ---------------------------------------------------------------------------
// HTTP: the ways a target can be not ready

#[test]
fn a_server_that_starts_late_is_waited_for() {
    let server = serve_after(Duration::from_millis(800), |_, _| http(200, "ok"));
    let run = wait_probe()
        .args(["--budget", "10s", &server.url("/livez")])
        .run();
    run.expect_code(0);
    assert!(run.stderr.contains("connection refused"), "{run}");
    assert!(run.stderr.contains("HTTP 200, ready after"), "{run}");
    // One line per state change, not one per refused attempt.
    assert_eq!(count_lines(&run.stderr, "connection refused"), 1, "{run}");
    assert!(run.stdout.is_empty(), "{run}");
}

#[test]
fn a_server_that_answers_503_then_200_is_ready_once_it_says_so() {
    let started = Instant::now();
    let server = serve(move |_, _| {
        if started.elapsed() < Duration::from_millis(1200) {
            http(503, "starting")
        } else {
            http(200, "ok")
        }
    });
    let run = wait_probe()
        .args(["--json", "--budget", "10s", &server.url("/readyz")])
        .run();
    run.expect_code(0);
    assert_eq!(count_lines(&run.stderr, "HTTP 503"), 1, "{run}");
    let json = run.json();
    assert_eq!(json["ready"], true);
    let stage = &json["stages"][0];
    assert_eq!(stage["ready"], true);
    assert_eq!(stage["last_status"], 200);
    assert!(stage["last_error"].is_null(), "{json}");
    let attempts = stage["attempts"].as_u64().unwrap();
    assert!(attempts >= 2, "{json}");
    assert_eq!(
        attempts,
        server.hits.load(Ordering::SeqCst) as u64,
        "{json}"
    );
    assert_eq!(stage["target"], server.url("/readyz"));
}

#[test]
fn a_server_that_never_answers_cannot_hold_the_stage_past_its_budget() {
    let server = serve(|_, _| Reply::Hang);
    let (run, elapsed) = timed(wait_probe().args([
        "--json",
        "--attempt-timeout",
        "700ms",
        "--budget",
        "2s",
        &server.url("/readyz"),
    ]));
    run.expect_code(1);
    // The budget holds: within a tenth of a second plus one attempt timeout
    // (and a generous margin for a loaded test machine).
    assert!(
        elapsed < Duration::from_millis(2000 + 700 + 500),
        "took {elapsed:?}\n{run}"
    );
    assert!(
        elapsed >= Duration::from_millis(1900),
        "gave up early: {elapsed:?}\n{run}"
    );
    let stage = &run.json()["stages"][0];
    assert_eq!(stage["ready"], false);
    assert!(stage["last_status"].is_null());
    assert!(
        stage["last_error"]
            .as_str()
            .unwrap()
            .contains("no answer within"),
        "{run}"
    );
    assert!(run.stderr.contains("not ready within 2.0s"), "{run}");
}

#[test]
fn an_attempt_timeout_longer_than_the_budget_does_not_extend_it() {
    let server = serve(|_, _| Reply::Hang);
    let (run, elapsed) = timed(wait_probe().args([
        "--attempt-timeout",
        "30s",
        "--budget",
        "1500ms",
        &server.url("/readyz"),
    ]));
    run.expect_code(1);
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}\n{run}");
}

#[test]
fn a_server_that_resets_connections_is_not_ready() {
    let server = serve(|_, _| Reply::Reset);
    let run = wait_probe()
        .args(["--json", "--budget", "1s", &server.url("/livez")])
        .run();
    run.expect_code(1);
    let stage = &run.json()["stages"][0];
    let error = stage["last_error"].as_str().unwrap();
    assert!(error.contains("reset") || error.contains("closed"), "{run}");
    assert!(server.hits.load(Ordering::SeqCst) >= 2, "{run}");
}

#[test]
fn a_server_that_sends_garbage_is_not_ready() {
    let server = serve(|_, _| Reply::Garbage);
    let run = wait_probe()
        .args(["--json", "--budget", "1s", &server.url("/livez")])
        .run();
    run.expect_code(1);
    let error = run.json()["stages"][0]["last_error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(error.contains("not an HTTP answer"), "{run}");
}

#[test]
fn success_rules_statuses_and_consecutive_answers() {
    // 200, 503, 200, 200, 200 ...: three in a row needs five requests.
    let server = serve(|n, _| {
        if n == 1 {
            http(503, "flap")
        } else {
            http(200, "ok")
        }
    });
    let run = wait_probe()
        .args([
            "--json",
            "--max-interval",
            "100ms",
            "--success-threshold",
            "3",
            &server.url("/readyz"),
        ])
        .run();
    run.expect_code(0);
    assert_eq!(run.json()["stages"][0]["attempts"], 5, "{run}");

    // A 204 is not accepted when only 200 is, and is with a range.
    let server = serve(|_, _| http(204, ""));
    let run = wait_probe()
        .args([
            "--json",
            "--status",
            "200",
            "--budget",
            "500ms",
            &server.url("/"),
        ])
        .run();
    run.expect_code(1);
    assert_eq!(run.json()["stages"][0]["last_status"], 204);
    assert!(run.stderr.contains("HTTP 204 (accepted: 200)"), "{run}");
    wait_probe()
        .args([
            "--status",
            "200,204-206",
            "--budget",
            "2s",
            &server.url("/"),
        ])
        .run()
        .expect_code(0);
}

#[test]
fn a_redirect_is_an_answer_judged_by_status_not_followed() {
    let server = serve(|_, _| Reply::Http {
        status: 302,
        body: String::new(),
        headers: vec![("Location".into(), "/login".into())],
    });
    let run = wait_probe()
        .args(["--budget", "300ms", &server.url("/readyz")])
        .run();
    run.expect_code(1);
    assert!(run.stderr.contains("last status: 302"), "{run}");
    wait_probe()
        .args(["--status", "300-399", &server.url("/readyz")])
        .run()
        .expect_code(0);
}

#[test]
fn headers_are_sent_and_never_shown() {
    let server = serve(|_, head| {
        if head
            .to_ascii_lowercase()
            .contains("\r\nauthorization: bearer pl4nted-token\r\n")
        {
            http(200, "ok")
        } else {
            http(401, "who are you")
        }
    });
    let run = wait_probe()
        .args(["--budget", "500ms", &server.url("/readyz")])
        .run();
    run.expect_code(1);
    assert!(
        run.stderr.contains("who are you"),
        "the body head is shown\n{run}"
    );
    wait_probe()
        .args([
            "-v",
            "--header",
            "Authorization: Bearer pl4nted-token",
            &server.url("/readyz"),
        ])
        .run()
        .expect_code(0);
}

// ---------------------------------------------------------------------------
// The version check

fn version_server(sha: &'static str) -> Server {
    serve(move |_, head| {
        if head.starts_with("GET /version ") {
            http(
                200,
                &format!(
                    r#"{{"sha":"{sha}","service":"api","buildTs":"2024-05-01T10:00:00Z","imageDigest":"sha256:0123"}}"#
                ),
            )
        } else {
            http(200, "ok")
        }
    })
}

#[test]
fn the_version_check_fails_when_the_old_build_still_answers() {
    let server = version_server("0ld5ha");
    let (run, elapsed) = timed(wait_probe().args([
        "--json",
        "--budget",
        "1500ms",
        "--expect-json",
        "sha=n3w5ha",
        "--expect-json",
        "imageDigest=sha256:0123",
        &server.url("/version"),
    ]));
    run.expect_code(1);
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert!(
        run.stderr
            .contains(r#"sha is "0ld5ha" (expected "n3w5ha")"#),
        "{run}"
    );
    // The failure shows the start of the last body.
    assert!(
        run.stderr.contains(r#"body: "{\"sha\":\"0ld5ha\""#),
        "{run}"
    );
    let stage = &run.json()["stages"][0];
    assert_eq!(stage["last_status"], 200);
    assert!(
        stage["last_error"].as_str().unwrap().contains("sha is"),
        "{run}"
    );
    // Backoff while the answer is not the right one: few requests.
    assert!(
        server.hits.load(Ordering::SeqCst) < 12,
        "{} requests",
        server.hits.load(Ordering::SeqCst)
    );
}

#[test]
fn the_version_check_passes_when_the_new_build_answers() {
    let server = version_server("n3w5ha");
    wait_probe()
        .args([
            "--expect-json",
            "sha=n3w5ha",
            "--expect-json",
            "service=api",
            &server.url("/version"),
        ])
        .run()
        .expect_code(0);
}

// ---------------------------------------------------------------------------
// Stages

#[test]
fn a_stage_out_of_budget_fails_the_call_at_once_and_is_named() {
    let ok = serve(|_, _| http(200, "ok"));
    let (run, elapsed) = timed(wait_probe().args([
        "--json",
        "--budget",
        "500ms",
        &format!("tcp://127.0.0.1:{}", refused_port()),
        "--budget",
        "20s",
        &ok.url("/readyz"),
    ]));
    run.expect_code(1);
    assert!(
        elapsed < Duration::from_secs(5),
        "the second budget was waited: {elapsed:?}"
    );
    let json = run.json();
    assert_eq!(json["ready"], false);
    assert_eq!(json["stages"][0]["ready"], false);
    assert_eq!(json["stages"][0]["last_error"], "connection refused");
    assert!(
        json["stages"][0]["attempts"].as_u64().unwrap() > 5,
        "quick retries\n{run}"
    );
    assert_eq!(json["stages"][1]["attempts"], 0);
    assert_eq!(json["stages"][1]["budget_ms"], 20_000);
    assert_eq!(ok.hits.load(Ordering::SeqCst), 0);
    assert!(run.stderr.contains("stage 1 of 2"), "{run}");
}

#[test]
fn the_second_stage_failing_is_reported_as_such() {
    let server = serve(|_, head| {
        if head.starts_with("GET /livez ") {
            http(200, "alive")
        } else {
            http(503, "db not connected")
        }
    });
    let run = wait_probe()
        .args([
            "--json",
            "--budget",
            "2s",
            &server.url("/livez"),
            "--budget",
            "700ms",
            &server.url("/readyz"),
        ])
        .run();
    run.expect_code(1);
    let json = run.json();
    assert_eq!(json["stages"][0]["ready"], true);
    assert_eq!(json["stages"][1]["ready"], false);
    assert_eq!(json["stages"][1]["last_status"], 503);
    assert!(
        run.stderr
            .contains("/readyz: not ready within 700ms (stage 2 of 2"),
        "{run}"
    );
    assert!(run.stderr.contains(r#"body: "db not connected""#), "{run}");
}

// ---------------------------------------------------------------------------
// -- COMMAND

#[test]
fn the_command_runs_after_every_stage_is_ready_and_its_status_passes_through() {
    let server = serve(|_, _| http(200, "ok"));
    let run = wait_probe()
        .args([
            &server.url("/livez"),
            "--",
            "sh",
            "-c",
            "echo ran \"$0\" \"$1\"; exit 7",
            "a b",
            "c",
        ])
        .run();
    run.expect_code(7);
    assert_eq!(run.stdout, "ran a b c\n", "{run}");
}

#[test]
fn the_command_never_runs_when_a_stage_fails() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let script = format!("touch '{}'", marker.display());
    let run = wait_probe()
        .args([
            "--budget",
            "300ms",
            &format!("tcp://127.0.0.1:{}", refused_port()),
            "--",
            "sh",
            "-c",
            &script,
        ])
        .run();
    run.expect_code(1);
    assert!(!marker.exists(), "the command ran after a failed wait");
}

#[test]
fn a_command_that_cannot_be_run_exits_127_or_126_before_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("migrate");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    let script = script.display().to_string();
    let folder = dir.path().display().to_string();
    let missing = dir.path().join("nope").display().to_string();
    let server = serve(|_, _| http(200, "ok"));
    // As `env` and `timeout`: 127 for no such command, 126 for one that
    // is there and cannot be executed (a file without x, a directory).
    for (command, code) in [
        ("no-such-command-xyz", 127),
        (missing.as_str(), 127),
        (script.as_str(), 126),
        (folder.as_str(), 126),
    ] {
        let run = wait_probe().args([&server.url("/"), "--", command]).run();
        run.expect_code(code);
        assert!(run.stderr.contains(command), "{run}");
    }
    // The same file found by a PATH search.
    let run = wait_probe()
        .env("PATH", format!("{folder}:/usr/bin:/bin"))
        .args([&server.url("/"), "--", "migrate"])
        .run();
    run.expect_code(126);
    assert_eq!(server.hits.load(Ordering::SeqCst), 0, "it waited first");
}

#[test]
fn host_port_is_a_tcp_target_as_in_wait_for_it() {
    let server = serve(|_, _| http(200, ""));
    let run = wait_probe()
        .args(["--json", &format!("127.0.0.1:{}", server.port)])
        .run();
    run.expect_code(0);
    assert_eq!(
        run.json()["stages"][0]["target"],
        format!("tcp://127.0.0.1:{}", server.port)
    );
}

#[test]
fn timeout_is_the_deadline_of_the_whole_wait() {
    // Nothing listens: every stage would wait its whole budget.
    let closed = format!("tcp://127.0.0.1:{}", free_port());
    let run = wait_probe()
        .args([
            "--json",
            "--timeout",
            "1.5",
            &closed,
            "--budget",
            "60s",
            &closed,
        ])
        .run();
    run.expect_code(1);
    let json = run.json();
    let stages = json["stages"].as_array().unwrap();
    // The first stage had no --budget: it got the whole --timeout, not 30 s,
    // and used it up, so the second one, budget or not, was never reached.
    let budget = stages[0]["budget_ms"].as_u64().unwrap();
    assert!(budget > 0 && budget <= 1500, "{run}");
    assert_eq!(stages[0]["ready"], false, "{run}");
    assert_eq!(stages[1]["attempts"], 0, "{run}");
    assert_eq!(json["exit"], 1, "{run}");
    // -t, as wait-for-it spells it; a --budget shorter than --timeout wins.
    let run = wait_probe()
        .args(["--json", "-t", "10s", "--budget", "500ms", &closed])
        .run();
    run.expect_code(1);
    assert_eq!(run.json()["stages"][0]["budget_ms"], 500, "{run}");
}

// ---------------------------------------------------------------------------
// TCP

#[test]
fn tcp_targets_are_ready_once_the_port_accepts() {
    let server = serve_after(Duration::from_millis(400), |_, _| http(200, ""));
    let run = wait_probe()
        .args([
            "--budget",
            "10s",
            &format!("tcp://127.0.0.1:{}", server.port),
        ])
        .run();
    run.expect_code(0);
    assert!(
        run.stderr.contains("connection accepted, ready after"),
        "{run}"
    );
}

// ---------------------------------------------------------------------------
// HTTPS

struct Tls {
    _dir: tempfile::TempDir,
    ca: std::path::PathBuf,
    port: u16,
}

/// A rustls HTTPS server on 127.0.0.1 with a leaf signed by a fresh test CA.
fn https_server() -> Tls {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "wait-probe test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca.pem()).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let config = config.clone();
            thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, &mut stream);
                let head = read_head(&mut tls);
                if head.is_empty() {
                    return; // the client refused the certificate
                }
                respond(&mut tls, &http(200, "secure ok"));
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    Tls {
        _dir: dir,
        ca: ca_path,
        port,
    }
}

#[test]
fn https_with_the_test_ca_passes_with_cacert() {
    let tls = https_server();
    let url = format!("https://127.0.0.1:{}/readyz", tls.port);
    let run = wait_probe()
        .args([Path::new("--cacert"), &tls.ca])
        .args(["--budget", "5s", &url])
        .run();
    run.expect_code(0);
    // Also by name: the leaf is valid for localhost too.
    let url = format!("https://localhost:{}/readyz", tls.port);
    wait_probe()
        .args([Path::new("--cacert"), &tls.ca])
        .args(["--budget", "5s", &url])
        .run()
        .expect_code(0);
}

#[test]
fn https_with_an_unknown_ca_fails_without_cacert() {
    let tls = https_server();
    let url = format!("https://127.0.0.1:{}/readyz", tls.port);
    let run = wait_probe()
        .args(["--json", "--budget", "700ms", &url])
        .run();
    run.expect_code(1);
    let error = run.json()["stages"][0]["last_error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(error.starts_with("TLS: "), "{run}");
    assert!(error.contains("certificate"), "{run}");
}

#[test]
fn https_with_an_unknown_ca_passes_with_insecure() {
    let tls = https_server();
    let url = format!("https://127.0.0.1:{}/readyz", tls.port);
    wait_probe()
        .args(["--insecure", "--budget", "5s", &url])
        .run()
        .expect_code(0);
}

// ---------------------------------------------------------------------------
// Proxies

/// A forward proxy that tunnels nothing: it accepts `CONNECT`, then
/// answers the tunnelled request itself. `hits` counts CONNECTs.
fn fake_proxy() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let counter = counter.clone();
            thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let head = read_head(&mut stream);
                if head.starts_with("CONNECT ") {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = stream.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                    let _ = read_head(&mut stream);
                }
                respond(&mut stream, &http(200, "from the proxy"));
            });
        }
    });
    Server { port, hits }
}

#[test]
fn proxies_from_the_environment_are_honoured_and_no_proxy_bypasses_them() {
    let proxy = fake_proxy();
    let run = wait_probe()
        .env("HTTP_PROXY", format!("http://127.0.0.1:{}", proxy.port))
        .args(["--budget", "3s", "http://service.invalid:9000/readyz"])
        .run();
    run.expect_code(0);
    assert_eq!(proxy.hits.load(Ordering::SeqCst), 1);

    // NO_PROXY sends loopback targets straight to the server.
    let server = serve(|_, _| http(200, "direct"));
    wait_probe()
        .env("HTTP_PROXY", format!("http://127.0.0.1:{}", proxy.port))
        .env("NO_PROXY", "127.0.0.1")
        .args(["--budget", "3s", &server.url("/readyz")])
        .run()
        .expect_code(0);
    assert_eq!(
        proxy.hits.load(Ordering::SeqCst),
        1,
        "the proxy was used despite NO_PROXY"
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------
// Postgres

#[test]
fn a_postgres_that_starts_late_is_waited_for() {
    // Build the binary now: the waiter must start while the server is down.
    bins::bin("wait-probe");
    let mut pg = TestPg::start();
    pg.exec("CREATE ROLE app LOGIN PASSWORD 'pl4nted-app-pw'");
    let url = pg.url_for("app", "pl4nted-app-pw", "postgres");
    pg.stop();
    let waiter = thread::spawn(move || {
        wait_probe()
            .env("DATABASE_URL", &url)
            .args(["--json", "--budget", "30s", "env:DATABASE_URL"])
            .run()
    });
    thread::sleep(Duration::from_millis(1500));
    pg.start_again();
    let run = waiter.join().expect("the waiter thread");
    run.expect_code(0);
    assert!(run.stderr.contains("Connection refused"), "{run}");
    assert!(
        run.stderr.contains("SELECT 1 succeeded, ready after"),
        "{run}"
    );
    let stage = &run.json()["stages"][0];
    assert_eq!(stage["ready"], true);
    let target = stage["target"].as_str().unwrap();
    assert!(
        target.starts_with("postgres://app:***@127.0.0.1:"),
        "{target}"
    );
}

#[test]
fn a_postgres_that_refuses_the_login_exits_4_at_once_and_the_password_stays_hidden() {
    let pg = TestPg::start();
    pg.exec("CREATE ROLE app LOGIN PASSWORD 'something-else'");
    let url = pg.url_for("app", "pl4nted-app-pw", "postgres");
    // A budget far longer than the run: the refusal is not retried.
    let run = wait_probe()
        .args(["--json", "--budget", "120s", &url])
        .run();
    run.expect_code(4);
    let json = run.json();
    assert_eq!(json["exit"], 4, "{run}");
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("password authentication failed"),
        "{run}"
    );
    let stage = &json["stages"][0];
    assert_eq!(stage["attempts"], 1, "{run}");
    assert!(
        stage["last_error"]
            .as_str()
            .unwrap()
            .contains("password authentication failed"),
        "{run}"
    );
    assert!(run.stderr.contains("app:***@127.0.0.1"), "{run}");
}

// Signals: SIGTERM and SIGINT mid-wait are in tests/sigterm.rs, with every
// other long-running tool.

// ---------------------------------------------------------------------------
// Usage errors

#[test]
fn usage_errors_are_exit_2_before_any_waiting() {
    let cases: &[&[&str]] = &[
        &["http://"],
        &["localhost:http"],
        &["db:99999"],
        &["--timeout", "0", "tcp://127.0.0.1:1"],
        &["ftp://ops:pl4nted-token@host/x"],
        &["tcp://db"],
        &["postgres://app:pl4nted-app-pw@db:notaport/app"],
        &["env:WAIT_PROBE_UNSET_VARIABLE"],
        &["tcp://127.0.0.1:1", "--budget", "5s"],
        &["--budget", "0s", "tcp://127.0.0.1:1"],
        &["--status", "2xx", "tcp://127.0.0.1:1"],
        &["--expect-json", "nonsense", "tcp://127.0.0.1:1"],
        &["--header", "no colon", "tcp://127.0.0.1:1"],
        &["--cacert", "/nonexistent/ca.pem", "https://127.0.0.1:1/"],
        &["--json", "tcp://127.0.0.1:1", "--", "true"],
        &[],
    ];
    for args in cases {
        let (run, elapsed) = timed(wait_probe().args(*args));
        assert_eq!(run.code, Some(2), "{args:?}\n{run}");
        if args.contains(&"--json") {
            assert_eq!(run.json()["exit"], 2, "{args:?}\n{run}");
        } else {
            assert!(run.stdout.is_empty(), "{args:?}\n{run}");
        }
        assert!(elapsed < Duration::from_secs(5), "{args:?} waited");
    }
}

#[test]
fn help_shows_the_stage_syntax_and_examples() {
    let run = wait_probe().args(["--help"]).run();
    run.expect_code(0);
    let text = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("apply to every target that comes AFTER them"),
        "{run}"
    );
    assert!(
        text.contains("--budget 20s URL1 --budget 120s URL2"),
        "{run}"
    );
    assert!(run.stdout.contains("Examples:"), "{run}");
}
