//! `image-digest` against the real distribution registry (plain HTTP,
//! htpasswd Basic auth, bearer tokens from a test issuer, TLS with a test
//! CA), images pushed by skopeo, faults injected by a proxy in front; and
//! `from-log` / `fingerprint` on real files. Every run is swept for the
//! planted secrets by the harness.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use deploykit_tests::faults::WireTap;
use deploykit_tests::registry::{
    FaultProxy, Faults, Format, OciImage, TestRegistry, TokenAuth, count_methods,
};
use deploykit_tests::{PLANTED, Tool};

const USER: &str = "ci";

fn password() -> &'static str {
    PLANTED[0]
}

fn image(reg: &TestRegistry, name: &str, platforms: &[&str], format: Format) -> OciImage {
    OciImage::write(&reg.scratch().join(name), name, platforms, format)
}

fn resolve(args: &[&str]) -> Tool {
    Tool::new("image-digest").arg_list("resolve", args)
}

trait ArgList {
    fn arg_list(self, sub: &str, args: &[&str]) -> Tool;
}

impl ArgList for Tool {
    fn arg_list(self, sub: &str, args: &[&str]) -> Tool {
        self.args([sub]).args(args)
    }
}

#[test]
fn resolves_oci_docker_and_index_to_the_digests_skopeo_reports() {
    let reg = TestRegistry::start();
    let host = reg.host();
    let oci = reg.push_image(
        &image(&reg, "oci", &["linux/amd64"], Format::Oci),
        "team/oci:1",
    );
    let v2 = reg.push_image(
        &image(&reg, "v2", &["linux/amd64"], Format::DockerV2),
        "team/v2:1",
    );
    let idx = reg.push_image(
        &image(&reg, "multi", &["linux/amd64", "linux/arm64"], Format::Oci),
        "team/multi:1",
    );
    for (repo_tag, pushed) in [
        ("team/oci:1", &oci),
        ("team/v2:1", &v2),
        ("team/multi:1", &idx),
    ] {
        assert_eq!(&reg.skopeo_raw_digest(repo_tag), pushed);
        let r = resolve(&[&format!("{host}/{repo_tag}")]).run();
        r.expect_code(0);
        let repo = repo_tag.split(':').next().unwrap_or_default();
        assert_eq!(r.stdout, format!("{host}/{repo}@{pushed}\n"), "{repo_tag}");
    }
    // skopeo's own inspect agrees for single images
    assert_eq!(reg.skopeo_digest("team/oci:1"), oci);
    assert_eq!(reg.skopeo_digest("team/v2:1"), v2);

    // several references, digest only, in order
    let r = resolve(&[
        "--digest-only",
        &format!("{host}/team/oci:1"),
        &format!("{host}/team/v2:1"),
    ])
    .run();
    r.expect_code(0);
    assert_eq!(r.stdout, format!("{oci}\n{v2}\n"));

    // --json shows media type and size
    let r = resolve(&["--json", &format!("{host}/team/v2:1")]).run();
    r.expect_code(0);
    let j = r.json();
    let res = &j["results"][0];
    assert_eq!(res["digest"], v2.as_str());
    assert_eq!(
        res["media_type"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert!(res["size"].as_u64().unwrap_or(0) > 100);
    assert_eq!(res["repository"], format!("{host}/team/v2"));
    assert_eq!(res["tag"], "1");

    // --platform selects the child manifest of the index
    let raw_index = skopeo_raw(&reg, "team/multi:1");
    let arm = child_digest(&raw_index, "arm64");
    let r = resolve(&["--platform", "linux/arm64", &format!("{host}/team/multi:1")]).run();
    r.expect_code(0);
    assert_eq!(r.stdout, format!("{host}/team/multi@{arm}\n"));
    let r = resolve(&[
        "--json",
        "--platform",
        "linux/arm64",
        &format!("{host}/team/multi:1"),
    ])
    .run();
    let j = r.json();
    assert_eq!(j["results"][0]["digest"], idx.as_str());
    assert_eq!(
        j["results"][0]["media_type"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(j["results"][0]["platform"]["digest"], arm.as_str());
    assert_eq!(j["results"][0]["platform"]["platform"], "linux/arm64");
    // a platform the index does not have is a "no"
    let r = resolve(&["--platform", "linux/s390x", &format!("{host}/team/multi:1")]).run();
    r.expect_code(1);
    assert!(
        r.stderr.contains("linux/amd64") && r.stderr.contains("linux/arm64"),
        "{r}"
    );
    // a single-platform image checked against its config
    resolve(&["--platform", "linux/amd64", &format!("{host}/team/oci:1")])
        .run()
        .expect_code(0);
    resolve(&["--platform", "linux/arm64", &format!("{host}/team/oci:1")])
        .run()
        .expect_code(1);

    // by digest: verified to exist
    resolve(&[&format!("{host}/team/oci@{oci}")])
        .run()
        .expect_code(0);
}

fn skopeo_raw(reg: &TestRegistry, repo_tag: &str) -> serde_json::Value {
    let out = std::process::Command::new("skopeo")
        .args([
            "--insecure-policy",
            "inspect",
            "--tls-verify=false",
            "--raw",
        ])
        .arg(format!("docker://{}/{repo_tag}", reg.host()))
        .output()
        .expect("skopeo inspect --raw");
    serde_json::from_slice(&out.stdout).expect("raw manifest JSON")
}

fn child_digest(index: &serde_json::Value, arch: &str) -> String {
    index["manifests"]
        .as_array()
        .and_then(|m| m.iter().find(|e| e["platform"]["architecture"] == arch))
        .and_then(|e| e["digest"].as_str())
        .expect("child manifest")
        .to_owned()
}

#[test]
fn missing_tags_exit_1_and_bad_references_exit_2() {
    let reg = TestRegistry::start();
    let host = reg.host();
    reg.push_image(&image(&reg, "one", &["linux/amd64"], Format::Oci), "app:1");
    let r = resolve(&[&format!("{host}/app:2")]).run();
    r.expect_code(1);
    assert!(
        r.stderr.contains("not found") && r.stderr.contains(":2"),
        "{r}"
    );
    let r = resolve(&[&format!("{host}/nope:1")]).run();
    r.expect_code(1);
    // a missing one among found ones: the found are printed, status 1
    let r = resolve(&[&format!("{host}/app:1"), &format!("{host}/app:2")]).run();
    r.expect_code(1);
    assert_eq!(r.stdout.lines().count(), 1, "{r}");
    // invalid references are refused before any request
    for bad in ["Upper/Case:1", "app:bad tag", "app@sha256:123", ""] {
        let r = resolve(&[bad]).run();
        r.expect_code(2);
        assert!(
            r.stderr
                .starts_with("image-digest: invalid image reference"),
            "{r}"
        );
    }
}

#[test]
fn basic_auth_with_password_stdin_and_docker_config() {
    let reg = TestRegistry::builder().htpasswd(USER, password()).start();
    let host = reg.host();
    let pushed = reg.push_image(
        &image(&reg, "basic", &["linux/amd64"], Format::Oci),
        "app:1",
    );
    let target = format!("{host}/app:1");

    let r = resolve(&["-v", "--username", USER, "--password-stdin", &target])
        .stdin(format!("{}\n", password()))
        .run();
    r.expect_code(0);
    assert_eq!(r.stdout, format!("{host}/app@{pushed}\n"));
    // pre-emptive Basic: one HTTP request
    assert!(r.stderr.contains("1 HTTP request(s)"), "{r}");

    // wrong password: 4, and the password is nowhere in the output
    let r = resolve(&["--username", USER, "--password-stdin", &target])
        .stdin(PLANTED[1])
        .run();
    r.expect_code(4);
    assert!(r.stderr.contains("refused"), "{r}");
    // no credentials at all: 4 with a hint
    let r = resolve(&[&target]).run();
    r.expect_code(4);
    assert!(r.stderr.contains("no credentials"), "{r}");

    // ~/.docker/config.json via DOCKER_CONFIG
    let cfg = reg.write_docker_config(&reg.scratch().join("docker"), USER, password());
    let r = resolve(&[&target]).env("DOCKER_CONFIG", &cfg).run();
    r.expect_code(0);
    assert_eq!(r.stdout, format!("{host}/app@{pushed}\n"));

    // a credential helper (credsStore), speaking the protocol on stdin/stdout
    let bin = reg.scratch().join("bin");
    fs::create_dir_all(&bin).expect("bin dir");
    let helper = bin.join("docker-credential-dktest");
    fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\n[ \"$server\" = \"{host}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{}\"}}' \"$server\"\n",
            password()
        ),
    )
    .expect("helper");
    fs::set_permissions(&helper, fs::Permissions::from_mode(0o755)).expect("chmod");
    let store = reg.scratch().join("store");
    fs::create_dir_all(&store).expect("store dir");
    fs::write(store.join("config.json"), r#"{"credsStore":"dktest"}"#).expect("config");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let r = resolve(&[&target])
        .env("DOCKER_CONFIG", &store)
        .env("PATH", &path)
        .run();
    r.expect_code(0);
    assert_eq!(r.stdout, format!("{host}/app@{pushed}\n"));

    // A helper that fails after printing the secret: it fails, says how,
    // and its output (the secret) is never echoed.
    let failing = bin.join("docker-credential-dkfail");
    fs::write(
        &failing,
        format!(
            "#!/bin/sh\nprintf '{{\"Username\":\"{USER}\",\"Secret\":\"{}\"}} oops'\nexit 3\n",
            password()
        ),
    )
    .expect("failing helper");
    fs::set_permissions(&failing, fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::write(store.join("config.json"), r#"{"credsStore":"dkfail"}"#).expect("config");
    let r = resolve(&[&target])
        .env("DOCKER_CONFIG", &store)
        .env("PATH", &path)
        .run();
    r.expect_code(2);
    assert!(
        r.stderr
            .contains("credential helper docker-credential-dkfail failed"),
        "{r}"
    );
    assert!(!r.stderr.contains(password()), "{r}");
}

#[test]
fn bearer_tokens_from_the_token_service() {
    let reg = TestRegistry::builder()
        .token_auth(TokenAuth {
            user: USER.into(),
            password: password().into(),
            anonymous_pull: false,
        })
        .start();
    let host = reg.host();
    let pushed = reg.push_image(
        &image(&reg, "tok", &["linux/amd64"], Format::Oci),
        "svc/api:1",
    );
    let target = format!("{host}/svc/api:1");

    let before = reg.token_requests();
    let r = resolve(&["--username", USER, "--password-stdin", &target, &target])
        .stdin(password())
        .run();
    r.expect_code(0);
    assert_eq!(
        r.stdout,
        format!("{host}/svc/api@{pushed}\n{host}/svc/api@{pushed}\n")
    );
    // one token for the scope, reused for the second reference
    assert_eq!(reg.token_requests() - before, 1);

    let r = resolve(&["--username", USER, "--password-stdin", &target])
        .stdin(PLANTED[2])
        .run();
    r.expect_code(4);
    assert!(
        r.stderr.contains("token service") && r.stderr.contains("refused"),
        "{r}"
    );
    // anonymous token without pull access: the registry refuses it
    let r = resolve(&[&target]).run();
    r.expect_code(4);
    // a ready token in REGISTRY_TOKEN is sent as it is: one request, no exchange
    let realm = reg.token_realm().expect("realm");
    let out = std::process::Command::new("curl")
        .args(["-sf", "-K", "-"])
        .arg(format!(
            "{realm}?service={}&scope=repository:svc/api:pull",
            deploykit_tests::registry::TOKEN_SERVICE
        ))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            let mut stdin = c.stdin.take().expect("stdin");
            writeln!(stdin, "user = \"{USER}:{}\"", password())?;
            drop(stdin);
            c.wait_with_output()
        })
        .expect("curl for a token");
    let token: serde_json::Value = serde_json::from_slice(&out.stdout).expect("token JSON");
    let token = token["token"].as_str().expect("token").to_owned();
    let before = reg.token_requests();
    let r = resolve(&["-v", &target])
        .env("REGISTRY_TOKEN", &token)
        .run();
    r.expect_code(0);
    assert!(r.stderr.contains("1 HTTP request(s)"), "{r}");
    assert_eq!(reg.token_requests(), before);
    assert!(!r.stderr.contains(&token), "the token is never printed");
}

#[test]
fn anonymous_token_flow() {
    let reg = TestRegistry::builder()
        .token_auth(TokenAuth {
            user: USER.into(),
            password: password().into(),
            anonymous_pull: true,
        })
        .start();
    let pushed = reg.push_image(
        &image(&reg, "anon", &["linux/amd64"], Format::Oci),
        "pub/app:1",
    );
    let r = resolve(&["--digest-only", &format!("{}/pub/app:1", reg.host())]).run();
    r.expect_code(0);
    assert_eq!(r.stdout.trim(), pushed);
}

#[test]
fn tls_with_a_test_ca() {
    let reg = TestRegistry::builder().tls(true).start();
    let host = reg.host();
    let pushed = reg.push_image(&image(&reg, "tls", &["linux/amd64"], Format::Oci), "app:1");
    let ca = reg
        .ca_path()
        .expect("CA")
        .to_str()
        .expect("utf-8 path")
        .to_owned();
    let target = format!("{host}/app:1");
    let r = resolve(&["--cacert", &ca, &target]).run();
    r.expect_code(0);
    assert_eq!(r.stdout, format!("{host}/app@{pushed}\n"));
    // unknown CA: the remote is not trusted (3), no silent plain-HTTP fallback
    let r = resolve(&[&target]).run();
    r.expect_code(3);
    assert!(r.stderr.contains("TLS"), "{r}");
    resolve(&["--insecure", &target]).run().expect_code(0);
    // a --cacert that is not a certificate is an input error
    let junk = reg.scratch().join("junk.pem");
    fs::write(&junk, "not a cert").expect("junk");
    resolve(&["--cacert", junk.to_str().expect("path"), &target])
        .run()
        .expect_code(2);
}

/// The two rules of the scheme choice without `--plain-http`: a loopback
/// registry that speaks TLS is only ever reached over TLS (credentials
/// included), one that speaks plain HTTP works with no flag; and a
/// certificate the `--cacert` trust does not cover is checked against the
/// system roots, not refused by the narrower trust tried first.
#[test]
fn loopback_tls_is_never_downgraded_and_plain_needs_no_flag() {
    let tls = TestRegistry::builder()
        .tls(true)
        .htpasswd(USER, password())
        .start();
    let pushed = tls.push_image(
        &image(&tls, "tls-auth", &["linux/amd64"], Format::Oci),
        "app:1",
    );
    // The client talks to the registry through a tap that records how
    // each connection opens (the registry answers a plain request on its
    // TLS port with a 400 and logs nothing).
    let tap = WireTap::start(tls.port());
    let host = tap.host();
    let ca = tls
        .ca_path()
        .expect("CA")
        .to_str()
        .expect("utf-8")
        .to_owned();
    let cfg = tls.write_docker_config(&tls.scratch().join("docker"), USER, password());
    // The credentials are the tap's host's (the one the client is given).
    let config = cfg.join("config.json");
    let text = fs::read_to_string(&config).expect("docker config");
    fs::write(&config, text.replace(&tls.host(), &host)).expect("docker config");
    let target = format!("{host}/app:1");

    let r = resolve(&["-v", "--cacert", &ca, &target])
        .env("DOCKER_CONFIG", &cfg)
        .run();
    r.expect_code(0);
    assert_eq!(r.stdout, format!("{host}/app@{pushed}\n"));
    // Untrusted: refused over TLS, with no retry in plain HTTP.
    let r = resolve(&["-v", &target]).env("DOCKER_CONFIG", &cfg).run();
    r.expect_code(3);
    assert!(r.stderr.contains("UnknownIssuer"), "{r}");
    // A CA the system trusts (SSL_CERT_FILE is how rustls-native-certs and
    // OpenSSL are pointed at another bundle): found after the narrow try.
    let r = resolve(&["-v", &target])
        .env("DOCKER_CONFIG", &cfg)
        .env("SSL_CERT_FILE", &ca)
        .run();
    r.expect_code(0);
    assert!(r.stderr.contains("system roots"), "{r}");
    assert_eq!(r.stdout, format!("{host}/app@{pushed}\n"));
    assert!(
        tap.openings.lock().expect("tap").len() >= 4,
        "the tap saw the connections"
    );
    assert_eq!(
        tap.plain_openings(),
        Vec::<String>::new(),
        "plain HTTP reached the TLS registry"
    );
    // The tap tells plain HTTP apart (or its silence proves nothing).
    let _ = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", &format!("http://{host}/v2/")])
        .status()
        .expect("curl");
    assert_eq!(
        tap.plain_openings().len(),
        1,
        "the tap sees a plain request"
    );

    // Plain HTTP on loopback, with credentials: no flag needed, and no
    // system roots loaded for the TLS attempt that found it out.
    let plain = TestRegistry::builder().htpasswd(USER, password()).start();
    let host = plain.host();
    let pushed = plain.push_image(
        &image(&plain, "plain-auth", &["linux/amd64"], Format::Oci),
        "app:1",
    );
    let cfg = plain.write_docker_config(&plain.scratch().join("docker"), USER, password());
    let r = resolve(&["-v", &format!("{host}/app:1")])
        .env("DOCKER_CONFIG", &cfg)
        .run();
    r.expect_code(0);
    assert_eq!(r.stdout, format!("{host}/app@{pushed}\n"));
    assert!(r.stderr.contains("does not speak TLS"), "{r}");
    assert!(!r.stderr.contains("system roots"), "{r}");
}

#[test]
fn a_registry_that_goes_away_exits_3_within_the_budget() {
    let mut reg = TestRegistry::start();
    let host = reg.host();
    reg.push_image(&image(&reg, "gone", &["linux/amd64"], Format::Oci), "app:1");
    resolve(&[&format!("{host}/app:1")]).run().expect_code(0);
    reg.stop();
    let started = Instant::now();
    let r = resolve(&["--timeout", "2s", &format!("{host}/app:1")]).run();
    let took = started.elapsed();
    r.expect_code(3);
    assert!(r.stderr.contains("connection refused"), "{r}");
    assert!(r.stderr.contains("attempts"), "retried: {r}");
    // the budget is 2s; allow generous slack for process start-up
    assert!(took < Duration::from_secs(8), "took {took:?}");

    // a proxy that accepts and hangs up: also 3 within the budget
    let proxy = FaultProxy::start(
        reg.port(),
        Faults {
            refuse: true,
            ..Faults::default()
        },
    );
    let started = Instant::now();
    let r = resolve(&["--timeout", "2s", &format!("{}/app:1", proxy.host())]).run();
    r.expect_code(3);
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[test]
fn faults_in_front_of_the_registry() {
    let reg = TestRegistry::start();
    let pushed = reg.push_image(
        &image(&reg, "faults", &["linux/amd64", "linux/arm64"], Format::Oci),
        "app:1",
    );

    // no Docker-Content-Digest: the one GET's body is hashed
    let proxy = FaultProxy::start(
        reg.port(),
        Faults {
            drop_digest: true,
            ..Faults::default()
        },
    );
    let r = resolve(&["--digest-only", &format!("{}/app:1", proxy.host())]).run();
    r.expect_code(0);
    assert_eq!(r.stdout.trim(), pushed);
    let log = proxy.log.lock().expect("log").clone();
    let methods = count_methods(&log);
    assert_eq!(
        (methods.get("HEAD"), methods.get("GET")),
        (None, Some(&1)),
        "{log:?}"
    );

    // 429 with Retry-After, twice, then success
    let proxy = FaultProxy::start(
        reg.port(),
        Faults {
            fail_first: 2,
            status: 429,
            retry_after: Some(1),
            ..Faults::default()
        },
    );
    let started = Instant::now();
    let r = resolve(&["--digest-only", &format!("{}/app:1", proxy.host())]).run();
    r.expect_code(0);
    assert_eq!(r.stdout.trim(), pushed);
    assert_eq!(proxy.requests.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After honoured"
    );
    assert!(r.stderr.contains("429"), "progress shows the retries: {r}");

    // 503 for longer than the budget: 3
    let proxy = FaultProxy::start(
        reg.port(),
        Faults {
            fail_first: 1000,
            status: 503,
            ..Faults::default()
        },
    );
    let r = resolve(&["--timeout", "1500ms", &format!("{}/app:1", proxy.host())]).run();
    r.expect_code(3);
    assert!(r.stderr.contains("503"), "{r}");

    // a body cut short (and no digest header, so the body is needed): retried, then 3
    let proxy = FaultProxy::start(
        reg.port(),
        Faults {
            drop_digest: true,
            cut_body: true,
            ..Faults::default()
        },
    );
    let r = resolve(&["--timeout", "2s", &format!("{}/app:1", proxy.host())]).run();
    r.expect_code(3);

    // a wrong Docker-Content-Digest on a fetched body is caught
    let proxy = FaultProxy::start(
        reg.port(),
        Faults {
            wrong_digest_on_get: true,
            ..Faults::default()
        },
    );
    let r = resolve(&[
        "--platform",
        "linux/arm64",
        &format!("{}/app:1", proxy.host()),
    ])
    .run();
    r.expect_code(3);
    assert!(r.stderr.contains("hashes to"), "{r}");

    // a 12 KB response header is read; a 20 KB one is refused at once, not
    // taken for a connection closed early and retried until the budget ends
    let proxy = FaultProxy::start(
        reg.port(),
        Faults {
            pad_header: 12_000,
            ..Faults::default()
        },
    );
    let r = resolve(&["--digest-only", &format!("{}/app:1", proxy.host())]).run();
    r.expect_code(0);
    assert_eq!(r.stdout.trim(), pushed);
    proxy.set(Faults {
        pad_header: 20_000,
        ..Faults::default()
    });
    let started = Instant::now();
    let r = resolve(&["--timeout", "20s", &format!("{}/app:1", proxy.host())]).run();
    r.expect_code(3);
    assert!(
        r.stderr.contains("response header is larger than 16 KiB"),
        "{r}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "not retried: {r}"
    );
    assert_eq!(proxy.requests.load(std::sync::atomic::Ordering::SeqCst), 2);
}

// ------------------------------------------------------------- from-log

#[test]
fn from_log_reads_push_output_buildx_metadata_and_inspect_json() {
    let a = format!("sha256:{}", "a".repeat(64));
    let b = format!("sha256:{}", "b".repeat(64));
    let log = format!(
        "The push refers to repository [127.0.0.1:5000/team/api]\n5f70bf18a086: Pushed\n1.4: digest: {a} size: 528\nlatest: digest: {a} size: 528\n"
    );
    let r = Tool::new("image-digest")
        .args(["from-log", "-"])
        .stdin(log.clone())
        .run();
    r.expect_code(0);
    assert_eq!(r.stdout, format!("127.0.0.1:5000/team/api@{a}\n"));
    let r = Tool::new("image-digest")
        .args(["from-log", "--json"])
        .stdin(log)
        .run();
    let j = r.json();
    assert_eq!(j["digests"].as_array().map(Vec::len), Some(2));
    assert_eq!(j["digests"][1]["tag"], "latest");
    assert_eq!(j["digests"][0]["size"], 528);

    let dir = tempfile::tempdir().expect("tmp");
    let meta = dir.path().join("metadata.json");
    fs::write(
        &meta,
        format!(r#"{{"containerimage.digest":"{b}","image.name":"ghcr.io/acme/api:prod,ghcr.io/acme/api:sha-1"}}"#),
    )
    .expect("metadata");
    let r = Tool::new("image-digest")
        .args(["from-log", "--digest-only"])
        .arg_path(&meta)
        .run();
    r.expect_code(0);
    assert_eq!(r.stdout, format!("{b}\n"));

    let inspect = format!(
        r#"[{{"Id":"sha256:{c}","RepoTags":["app:1"],"RepoDigests":["ubuntu@{a}"]}}]"#,
        c = "c".repeat(64)
    );
    let r = Tool::new("image-digest")
        .args(["from-log"])
        .stdin(inspect)
        .run();
    r.expect_code(0);
    assert_eq!(r.stdout, format!("docker.io/library/ubuntu@{a}\n"));

    let r = Tool::new("image-digest")
        .args(["from-log"])
        .stdin("Writing manifest to image destination\n")
        .run();
    r.expect_code(1);
    assert!(r.stderr.contains("no image digest in stdin"), "{r}");
    let r = Tool::new("image-digest")
        .args(["from-log", "/nonexistent/log"])
        .run();
    r.expect_code(2);
}

trait ArgPath {
    fn arg_path(self, p: &Path) -> Tool;
}

impl ArgPath for Tool {
    fn arg_path(self, p: &Path) -> Tool {
        self.args([p.as_os_str()])
    }
}

// ---------------------------------------------------------- fingerprint

fn write_tree(root: &Path, order: &[usize]) {
    let files: [(&str, &[u8], bool); 5] = [
        ("Dockerfile", b"FROM scratch\nCOPY . /\n", false),
        ("src/main.rs", b"fn main() {}\n", false),
        ("bin/run.sh", b"#!/bin/sh\necho hi\n", true),
        ("target/debug/big.bin", b"build output", false),
        ("logs/app.log", b"noise", false),
    ];
    for &i in order {
        let (name, content, exec) = files[i];
        let p = root.join(name);
        fs::create_dir_all(p.parent().expect("parent")).expect("dirs");
        fs::write(&p, content).expect("write");
        fs::set_permissions(
            &p,
            fs::Permissions::from_mode(if exec { 0o755 } else { 0o644 }),
        )
        .expect("chmod");
    }
    std::os::unix::fs::symlink("src/main.rs", root.join("link")).expect("symlink");
    fs::write(
        root.join(".dockerignore"),
        "# build output\ntarget\n*.log\n**/*.log\n",
    )
    .expect("ignore");
}

fn fingerprint(dir: &Path, args: &[&str]) -> String {
    let r = Tool::new("image-digest")
        .args(["fingerprint"])
        .args(args)
        .current_dir(dir)
        .run();
    r.expect_code(0);
    r.stdout.trim().to_owned()
}

#[test]
fn fingerprints_are_stable_and_honour_dockerignore() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (a, b) = (tmp.path().join("a/ctx"), tmp.path().join("b/ctx"));
    write_tree(&a, &[0, 1, 2, 3, 4]);
    std::thread::sleep(Duration::from_millis(20));
    write_tree(&b, &[4, 3, 2, 1, 0]);
    let fa = fingerprint(&tmp.path().join("a"), &["ctx"]);
    assert!(fa.starts_with("sha256:") && fa.len() == 71, "{fa}");
    // same content, other order and mtimes, other location: same fingerprint
    assert_eq!(fa, fingerprint(&tmp.path().join("b"), &["ctx"]));

    // ignored files do not count
    fs::write(b.join("target/debug/big.bin"), "changed").expect("write");
    fs::write(b.join("logs/app.log"), "changed").expect("write");
    assert_eq!(fa, fingerprint(&tmp.path().join("b"), &["ctx"]));
    // content, exec bits and link targets do
    fs::write(b.join("src/main.rs"), "fn main() { }\n").expect("write");
    let changed = fingerprint(&tmp.path().join("b"), &["ctx"]);
    assert_ne!(fa, changed);
    fs::set_permissions(b.join("bin/run.sh"), fs::Permissions::from_mode(0o644)).expect("chmod");
    assert_ne!(changed, fingerprint(&tmp.path().join("b"), &["ctx"]));

    // --short, --list, --json
    let short = fingerprint(&tmp.path().join("a"), &["--short", "12", "ctx"]);
    assert_eq!(short, fa["sha256:".len()..][..12]);
    let list = fingerprint(&tmp.path().join("a"), &["--list", "ctx"]);
    assert!(list.contains(" x ctx/bin/run.sh"), "{list}");
    assert!(list.contains("ctx/link -> src/main.rs"), "{list}");
    assert!(
        !list.contains("target") && !list.contains("app.log"),
        "{list}"
    );
    assert_eq!(list.lines().last(), Some(fa.as_str()));
    let r = Tool::new("image-digest")
        .args(["fingerprint", "--json", "ctx"])
        .current_dir(&tmp.path().join("a"))
        .run();
    let doc = r.json();
    assert_eq!(doc["fingerprint"], fa.as_str());
    assert_eq!(doc["files"], 4);

    // several paths together, relative to --root
    let multi = fingerprint(&tmp.path().join("a"), &["ctx/src", "ctx/Dockerfile"]);
    assert_ne!(multi, fa);
    assert_eq!(
        multi,
        fingerprint(
            &tmp.path().join("a/ctx"),
            &["--root", "..", "src", "Dockerfile"]
        )
    );

    // a bad .dockerignore is an input error
    fs::write(a.join(".dockerignore"), "!\n").expect("write");
    let r = Tool::new("image-digest")
        .args(["fingerprint", "ctx"])
        .current_dir(&tmp.path().join("a"))
        .run();
    r.expect_code(2);
    let r = Tool::new("image-digest")
        .args(["fingerprint", "/"])
        .current_dir(&tmp.path().join("a"))
        .run();
    r.expect_code(2);
}

/// The fingerprint hashes several files at once on each thread (SHA-NI
/// lanes): every file's hash must still be the plain sha256 that
/// `sha256sum` prints, whatever sizes end up side by side, and the
/// fingerprint must not depend on the thread count.
#[test]
fn listed_hashes_match_sha256sum_for_every_size_and_thread_count() {
    deploykit_tests::util::require("sha256sum", "coreutils");
    let tmp = tempfile::tempdir().expect("tmp");
    let ctx = tmp.path().join("ctx");
    let sizes: Vec<usize> = (0..=130)
        .chain([
            4095, 4096, 4097, 65_535, 65_536, 65_537, 131_071, 131_072, 131_073, 131_136, 300_001,
            1_048_579,
        ])
        .collect();
    let mut seed = 0x9e37_79b9_u32;
    for (i, &size) in sizes.iter().enumerate() {
        let bytes: Vec<u8> = (0..size)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed.to_le_bytes()[0]
            })
            .collect();
        let p = ctx.join(format!("d{}/f{i:03}-{size}.bin", i % 7));
        fs::create_dir_all(p.parent().expect("parent")).expect("dirs");
        fs::write(&p, bytes).expect("write");
    }
    let peer = std::process::Command::new("sh")
        .args(["-c", "find ctx -type f -exec sha256sum {} +"])
        .current_dir(tmp.path())
        .output()
        .expect("sha256sum");
    let mut expected: Vec<(String, String)> = String::from_utf8_lossy(&peer.stdout)
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(h, n)| (n.to_owned(), h.to_owned()))
        .collect();
    expected.sort();
    assert_eq!(expected.len(), sizes.len());

    let mut fingerprints = Vec::new();
    for jobs in ["1", "2", "3"] {
        let out = fingerprint(tmp.path(), &["--list", "--jobs", jobs, "ctx"]);
        let mut lines: Vec<&str> = out.lines().collect();
        fingerprints.push(lines.pop().expect("fingerprint line").to_owned());
        let mut listed: Vec<(String, String)> = lines
            .iter()
            .map(|l| {
                let mut f = l.splitn(3, ' ');
                let (h, _, n) = (f.next(), f.next(), f.next());
                (n.expect("name").to_owned(), h.expect("hash").to_owned())
            })
            .collect();
        listed.sort();
        assert_eq!(listed, expected, "--jobs {jobs}");
    }
    assert!(
        fingerprints.windows(2).all(|w| w[0] == w[1]),
        "{fingerprints:?}"
    );
}

/// What `scripts/build-release.sh` ships on x86_64 Linux: a static-pie
/// executable (no program interpreter, type DYN), whose glibc host lookups
/// still find `localhost` without loading NSS modules.
#[test]
fn the_shipped_build_is_static_and_resolves_through_localhost() {
    let root = deploykit_tests::bins::workspace_root();
    let mut build = Tool::program(root.join("scripts/build-release.sh"))
        .args(["-p", "image-digest"])
        .current_dir(&root);
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        build = build.env("CARGO_TARGET_DIR", dir);
    }
    let build = build.run();
    build.expect_code(0);
    let dir = build.stdout.trim().to_owned();
    let binary = Path::new(&dir).join("image-digest");
    let elf = fs::read(&binary).expect("the shipped binary");
    if cfg!(all(target_arch = "x86_64", target_env = "gnu")) {
        let (e_type, interp) = elf_type_and_interpreter(&elf);
        assert_eq!(e_type, 3, "ET_DYN: position-independent");
        assert!(!interp, "no PT_INTERP: statically linked");
    }

    let reg = TestRegistry::start();
    let pushed = reg.push_image(
        &image(&reg, "shipped", &["linux/amd64"], Format::Oci),
        "team/shipped:1",
    );
    let r = Tool::program(&binary)
        .args([
            "resolve",
            "--digest-only",
            &format!("localhost:{}/team/shipped:1", reg.port()),
        ])
        .run();
    r.expect_code(0);
    assert_eq!(r.stdout, format!("{pushed}\n"));
}

/// `e_type` and whether a `PT_INTERP` program header exists, from a 64-bit
/// little-endian ELF image.
fn elf_type_and_interpreter(elf: &[u8]) -> (u16, bool) {
    assert_eq!(&elf[..4], b"\x7fELF", "an ELF file");
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]);
    let u64_at = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&elf[o..o + 8]);
        u64::from_le_bytes(b)
    };
    let phoff = usize::try_from(u64_at(0x20)).expect("phoff");
    let (phentsize, phnum) = (usize::from(u16_at(0x36)), usize::from(u16_at(0x38)));
    let interp = (0..phnum).any(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes([elf[at], elf[at + 1], elf[at + 2], elf[at + 3]]) == 3
    });
    (u16_at(0x10), interp)
}
