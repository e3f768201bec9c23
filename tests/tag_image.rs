//! `tag-image` end to end: `pin` on sample files, `apply` against a real
//! registry (distribution 2.8) with images pushed by skopeo, checked with
//! skopeo.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use deploykit_tests::registry::{Format, OciImage, TestRegistry, TokenAuth};
use deploykit_tests::{Run, Tool, bins};

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const PASSWORD: &str = "Pl4nted-Secret-7x";

fn fixtures() -> std::path::PathBuf {
    bins::workspace_root().join("tests/fixtures/tag-image")
}

// ---------------------------------------------------------------- pin

fn pin_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["kustomization.yaml", "compose.yaml", "runtime.env"] {
        fs::copy(fixtures().join(f), dir.path().join(f)).unwrap();
    }
    dir
}

fn pin(dir: &Path, extra: &[&str]) -> Run {
    Tool::new("tag-image")
        .current_dir(dir)
        .args([
            "pin",
            "-f",
            "kustomization.yaml",
            "-f",
            "compose.yaml",
            "-f",
            "runtime.env",
        ])
        .args(extra)
        .run()
}

fn pins() -> [String; 2] {
    [
        format!("ghcr.io/acme/api:prod-abc1234@{D1}"),
        format!("ghcr.io/acme/scheduler-worker:prod-abc1234-scheduler-worker@{D2}"),
    ]
}

#[test]
fn pin_changes_only_the_image_lines_and_a_second_run_nothing() {
    let dir = pin_copy();
    let [a, b] = pins();
    let run = pin(dir.path(), &[&a, &b]);
    run.expect_code(0);
    for (file, want) in [
        ("kustomization.yaml", "kustomization.pinned.yaml"),
        ("compose.yaml", "compose.pinned.yaml"),
        ("runtime.env", "runtime.pinned.env"),
    ] {
        let got = fs::read(dir.path().join(file)).unwrap();
        let want = fs::read(fixtures().join(want)).unwrap();
        assert!(
            got == want,
            "{file} differs from its expected rewrite:\n{}",
            String::from_utf8_lossy(&got)
        );
    }
    // Only image lines differ from the originals, comments and order kept.
    for file in ["kustomization.yaml", "compose.yaml", "runtime.env"] {
        let before = fs::read_to_string(fixtures().join(file)).unwrap();
        let after = fs::read_to_string(dir.path().join(file)).unwrap();
        let kept: Vec<&str> = before
            .lines()
            .filter(|l| after.lines().any(|m| m == *l))
            .collect();
        for line in before.lines().filter(|l| !kept.contains(l)) {
            let t = line.trim_start();
            assert!(
                t.starts_with("newTag:")
                    || t.starts_with("digest:")
                    || t.starts_with("image:")
                    || t.contains("_IMAGE="),
                "{file}: a non-image line changed: {line:?}"
            );
        }
        let comments = |s: &str| {
            s.lines()
                .filter(|l| l.trim_start().starts_with('#'))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(comments(&before), comments(&after), "{file}: comments");
    }
    // The diff is on stdout.
    assert!(run.stdout.contains("--- a/kustomization.yaml"), "{run}");
    assert!(run.stdout.contains(&format!("+    digest: {D1}")), "{run}");
    // Again: nothing to change, nothing printed, exit 0; --check agrees.
    let again = pin(dir.path(), &[&a, &b]);
    again.expect_code(0);
    assert_eq!(again.stdout, "");
    assert!(again.stderr.contains("already pinned"), "{again}");
    pin(dir.path(), &["--check", &a, &b]).expect_code(0);
}

#[test]
fn pin_check_exits_1_and_writes_nothing() {
    let dir = pin_copy();
    let [a, b] = pins();
    let run = pin(dir.path(), &["--check", &a, &b]);
    run.expect_code(1);
    assert!(
        run.stdout
            .contains("+APP_IMAGE=ghcr.io/acme/api:prod-abc1234@"),
        "{run}"
    );
    for f in ["kustomization.yaml", "compose.yaml", "runtime.env"] {
        assert_eq!(
            fs::read(dir.path().join(f)).unwrap(),
            fs::read(fixtures().join(f)).unwrap(),
            "{f}"
        );
    }
    // --check without REF lists unpinned entries.
    let run = pin(dir.path(), &["--check", "--json"]);
    run.expect_code(1);
    let unpinned: Vec<String> = run.json()["unpinned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| format!("{}:{}", u["file"].as_str().unwrap(), u["line"]))
        .collect();
    assert!(
        unpinned.contains(&"kustomization.yaml:12".to_owned()),
        "{unpinned:?}"
    );
    assert!(
        unpinned.contains(&"runtime.env:2".to_owned()),
        "{unpinned:?}"
    );
}

#[test]
fn pin_refuses_refs_without_digest_or_matching_nothing() {
    let dir = pin_copy();
    let run = pin(dir.path(), &["ghcr.io/acme/api:prod-abc1234"]);
    run.expect_code(2);
    assert!(run.stderr.contains("has no digest"), "{run}");
    let run = pin(dir.path(), &[&format!("ghcr.io/acme/billing@{D1}")]);
    run.expect_code(2);
    assert!(run.stderr.contains("ghcr.io/acme/billing"), "{run}");
    for f in ["kustomization.yaml", "compose.yaml", "runtime.env"] {
        assert_eq!(
            fs::read(dir.path().join(f)).unwrap(),
            fs::read(fixtures().join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn concurrent_pins_of_one_file_both_land() {
    // Two pins of different entries of one env file at once: each holds
    // the file from its read to its rename, so neither undoes the other.
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("runtime.env");
    let [a, b] = pins();
    for round in 0..20 {
        fs::copy(fixtures().join("runtime.env"), &env).unwrap();
        let racing: Vec<_> = [&a, &b]
            .into_iter()
            .map(|r| {
                Tool::new("tag-image")
                    .args(["pin", "-q", "-f"])
                    .arg(&env)
                    .arg(r)
                    .spawn()
            })
            .collect();
        for run in racing {
            run.wait().expect_code(0);
        }
        let text = fs::read_to_string(&env).unwrap();
        assert!(
            text.contains(D1) && text.contains(D2),
            "round {round}: a pin that exited 0 is lost:\n{text}"
        );
    }
}

#[test]
fn pin_writes_through_a_symlink() {
    let dir = pin_copy();
    let shared = dir.path().join("shared");
    fs::create_dir(&shared).unwrap();
    fs::rename(dir.path().join("runtime.env"), shared.join("runtime.env")).unwrap();
    std::os::unix::fs::symlink("shared/runtime.env", dir.path().join("runtime.env")).unwrap();
    let [a, b] = pins();
    pin(dir.path(), &[&a, &b]).expect_code(0);
    let link = dir.path().join("runtime.env");
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    assert_eq!(
        fs::read_link(&link).unwrap(),
        Path::new("shared/runtime.env")
    );
    assert_eq!(
        fs::read(shared.join("runtime.env")).unwrap(),
        fs::read(fixtures().join("runtime.pinned.env")).unwrap(),
        "the target has the pins"
    );
    let names: Vec<_> = fs::read_dir(&shared)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        names,
        ["runtime.env"],
        "no temporary left beside the target"
    );
}

// ---------------------------------------------------------------- apply

fn tag_image(args: &[&str]) -> Run {
    Tool::new("tag-image").args(args).run()
}

/// `skopeo inspect --raw` of an open registry's `repo:tag`, as text.
fn raw_manifest(reg: &TestRegistry, repo_tag: &str) -> String {
    let out = Command::new("skopeo")
        .env("HOME", reg.scratch())
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{}/{repo_tag}", reg.host()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect --raw: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Pulls every platform of `repo_tag` with skopeo into an OCI layout: fails
/// if any blob or child manifest is missing.
fn skopeo_pull_all(reg: &TestRegistry, repo_tag: &str) {
    let dest = reg
        .scratch()
        .join(format!("pulled-{}", repo_tag.replace(['/', ':'], "_")));
    let out = Command::new("skopeo")
        .env("HOME", reg.scratch())
        .args([
            "--insecure-policy",
            "copy",
            "--quiet",
            "--all",
            "--src-tls-verify=false",
        ])
        .arg(format!("docker://{}/{repo_tag}", reg.host()))
        .arg(format!("oci:{}:x", dest.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy of {repo_tag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Pushed {
    name: &'static str,
    digest: String,
    platforms: usize,
}

fn push_three(reg: &TestRegistry, repo_prefix: &str) -> Vec<Pushed> {
    let scratch = reg.scratch();
    let cases: [(&'static str, &[&str], Format); 3] = [
        ("oci", &["linux/amd64"], Format::Oci),
        ("docker", &["linux/amd64"], Format::DockerV2),
        ("index", &["linux/amd64", "linux/arm64"], Format::Oci),
    ];
    cases
        .iter()
        .map(|(name, platforms, format)| {
            let img = OciImage::write(
                &scratch.join(format!("layout-{repo_prefix}-{name}")),
                &format!("{repo_prefix}-{name}"),
                platforms,
                *format,
            );
            let digest = reg.push_image(&img, &format!("{repo_prefix}/{name}:build-1"));
            Pushed {
                name,
                digest,
                platforms: platforms.len(),
            }
        })
        .collect()
}

#[test]
fn retag_and_promote_keep_digests_for_oci_docker_and_index() {
    let reg = TestRegistry::start();
    let host = reg.host();
    for p in push_three(&reg, "ci") {
        let source = format!("{host}/ci/{}:build-1", p.name);
        // Retag within the repository.
        let run = tag_image(&["apply", &source, "prod-abc1234", "prod-abc1234-api"]);
        run.expect_code(0);
        assert_eq!(
            run.stdout,
            format!(
                "{host}/ci/{n}:prod-abc1234@{d}\n{host}/ci/{n}:prod-abc1234-api@{d}\n",
                n = p.name,
                d = p.digest
            )
        );
        for tag in ["prod-abc1234", "prod-abc1234-api"] {
            let rt = format!("ci/{}:{tag}", p.name);
            assert_eq!(reg.skopeo_raw_digest(&rt), p.digest, "{rt}");
            assert_eq!(reg.skopeo_digest(&rt), p.digest, "{rt}");
        }
        // Promote into another repository.
        let run = tag_image(&[
            "apply",
            &source,
            "prod-abc1234",
            "--to",
            &format!("{host}/release/{}", p.name),
            "--json",
        ]);
        run.expect_code(0);
        let json = run.json();
        assert_eq!(json["digest"], p.digest.as_str());
        assert_eq!(json["tags"][0]["action"], "created");
        assert_eq!(json["tags"][0]["digest"], p.digest.as_str());
        assert_eq!(
            json["transfer"]["blobs_copied"], 0,
            "the registry mounts: nothing is copied\n{run}"
        );
        assert!(
            json["transfer"]["blobs_mounted"].as_u64().unwrap() >= 2,
            "{run}"
        );
        let rt = format!("release/{}:prod-abc1234", p.name);
        assert_eq!(reg.skopeo_raw_digest(&rt), p.digest, "{rt}");
        assert_eq!(reg.skopeo_digest(&rt), p.digest, "{rt}");
        skopeo_pull_all(&reg, &rt);
        if p.platforms > 1 {
            assert_eq!(json["transfer"]["manifests_copied"], 2, "{run}");
            let raw: serde_json::Value = serde_json::from_str(&raw_manifest(&reg, &rt)).unwrap();
            let platforms: Vec<String> = raw["manifests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    format!(
                        "{}/{}",
                        m["platform"]["os"].as_str().unwrap(),
                        m["platform"]["architecture"].as_str().unwrap()
                    )
                })
                .collect();
            assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
        }
    }
}

#[test]
fn moving_a_tag_is_refused_and_force_moves_it() {
    let reg = TestRegistry::start();
    let host = reg.host();
    let scratch = reg.scratch();
    let a = reg.push_image(
        &OciImage::write(&scratch.join("a"), "a", &["linux/amd64"], Format::Oci),
        "app:build-a",
    );
    let b = reg.push_image(
        &OciImage::write(&scratch.join("b"), "b", &["linux/amd64"], Format::Oci),
        "app:build-b",
    );
    tag_image(&["apply", &format!("{host}/app:build-a"), "prod-aaaaaaa"]).expect_code(0);

    let refused = tag_image(&[
        "apply",
        &format!("{host}/app:build-b"),
        "prod-aaaaaaa",
        "--json",
    ]);
    refused.expect_code(1);
    assert!(
        refused.stderr.contains(&a) && refused.stderr.contains(&b),
        "names both digests\n{refused}"
    );
    let json = refused.json();
    assert_eq!(json["tags"][0]["action"], "refused");
    assert_eq!(json["tags"][0]["previous"], a.as_str());
    assert_eq!(
        reg.skopeo_raw_digest("app:prod-aaaaaaa"),
        a,
        "the tag did not move"
    );

    let same = tag_image(&[
        "apply",
        &format!("{host}/app:build-a"),
        "prod-aaaaaaa",
        "--json",
    ]);
    same.expect_code(0);
    assert_eq!(same.json()["tags"][0]["action"], "unchanged");
    assert!(same.stderr.contains("already points to"), "{same}");

    let dry = tag_image(&[
        "apply",
        &format!("{host}/app:build-b"),
        "prod-aaaaaaa",
        "prod-bbbbbbb",
        "--force",
        "--dry-run",
    ]);
    dry.expect_code(0);
    assert_eq!(
        dry.stdout,
        format!("move {host}/app:prod-aaaaaaa@{b}\ncreate {host}/app:prod-bbbbbbb@{b}\n")
    );
    assert_eq!(
        reg.skopeo_raw_digest("app:prod-aaaaaaa"),
        a,
        "--dry-run writes nothing"
    );

    let forced = tag_image(&[
        "apply",
        &format!("{host}/app:build-b"),
        "prod-aaaaaaa",
        "--force",
        "--json",
    ]);
    forced.expect_code(0);
    assert_eq!(forced.json()["tags"][0]["action"], "moved");
    assert_eq!(reg.skopeo_raw_digest("app:prod-aaaaaaa"), b);
}

#[test]
fn apply_refuses_mutable_tags_and_untagged_sources() {
    let run = tag_image(&["apply", "127.0.0.1:1/app:build-1", "latest"]);
    run.expect_code(2);
    assert!(run.stderr.contains("mutable-looking"), "{run}");
    let run = tag_image(&["apply", "127.0.0.1:1/app", "prod-abc1234"]);
    run.expect_code(2);
    assert!(run.stderr.contains("needs a tag or a digest"), "{run}");
}

#[test]
fn basic_auth_registry() {
    let reg = TestRegistry::builder().htpasswd("ci", PASSWORD).start();
    let host = reg.host();
    let scratch = reg.scratch();
    let d = reg.push_image(
        &OciImage::write(&scratch.join("a"), "basic", &["linux/amd64"], Format::Oci),
        "ci/app:build-1",
    );
    let source = format!("{host}/ci/app:build-1");
    let to = format!("{host}/release/app");
    let run = Tool::new("tag-image")
        .args([
            "apply",
            &source,
            "prod-abc1234",
            "--to",
            &to,
            "--username",
            "ci",
            "--password-stdin",
        ])
        .stdin(PASSWORD)
        .run();
    run.expect_code(0);
    assert_eq!(reg.skopeo_raw_digest("release/app:prod-abc1234"), d);
    // With a Docker config instead.
    let cfg = reg.write_docker_config(&scratch.join("docker"), "ci", PASSWORD);
    Tool::new("tag-image")
        .env("DOCKER_CONFIG", &cfg)
        .args(["apply", &source, "prod-abc1234-api"])
        .run()
        .expect_code(0);
    assert_eq!(reg.skopeo_raw_digest("ci/app:prod-abc1234-api"), d);
    // Without credentials: refused.
    let run = tag_image(&["apply", &source, "prod-abc1234-worker"]);
    run.expect_code(4);
}

#[test]
fn token_auth_registry_and_a_pull_only_token() {
    let reg = TestRegistry::builder()
        .token_auth(TokenAuth {
            user: "ci".into(),
            password: PASSWORD.into(),
            anonymous_pull: true,
        })
        .start();
    let host = reg.host();
    let scratch = reg.scratch();
    let d = reg.push_image(
        &OciImage::write(
            &scratch.join("i"),
            "token",
            &["linux/amd64", "linux/arm64"],
            Format::Oci,
        ),
        "ci/app:build-1",
    );
    let source = format!("{host}/ci/app:build-1");
    // Anonymous: the token service grants pull only.
    for extra in [
        vec![],
        vec!["--to".to_owned(), format!("{host}/release/app")],
    ] {
        let run = Tool::new("tag-image")
            .args(["apply", &source, "prod-abc1234"])
            .args(&extra)
            .run();
        run.expect_code(4);
        assert!(run.stderr.contains("refused"), "{run}");
    }
    let out = Command::new("skopeo")
        .env("HOME", &scratch)
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{host}/release/app:prod-abc1234"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "nothing was tagged");
    // With credentials: promoted, digest kept.
    let run = Tool::new("tag-image")
        .args([
            "apply",
            &source,
            "prod-abc1234",
            "--to",
            &format!("{host}/release/app"),
            "-u",
            "ci",
            "--password-stdin",
        ])
        .stdin(PASSWORD)
        .run();
    run.expect_code(0);
    assert_eq!(reg.skopeo_raw_digest("release/app:prod-abc1234"), d);
}

#[test]
fn promote_across_registries_streams_the_blobs() {
    let from = TestRegistry::start();
    let to = TestRegistry::start();
    let scratch = from.scratch();
    let d = from.push_image(
        &OciImage::write(
            &scratch.join("i"),
            "xreg",
            &["linux/amd64", "linux/arm64"],
            Format::DockerV2,
        ),
        "ci/app:build-1",
    );
    let run = tag_image(&[
        "apply",
        &format!("{}/ci/app:build-1", from.host()),
        "prod-abc1234",
        "--to",
        &format!("{}/app", to.host()),
        "--json",
    ]);
    run.expect_code(0);
    let json = run.json();
    assert_eq!(json["transfer"]["blobs_copied"], 4, "{run}");
    assert_eq!(json["transfer"]["blobs_mounted"], 0, "{run}");
    assert_eq!(to.skopeo_raw_digest("app:prod-abc1234"), d);
    skopeo_pull_all(&to, "app:prod-abc1234");
}

// ---------------------------------------------------------------- faults

/// A proxy that forwards one request per connection (bodies included) and
/// answers 500 to every write (PUT, POST, PATCH) after the first `ok_writes`.
struct WriteFaultProxy {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl WriteFaultProxy {
    fn start(upstream: u16, ok_writes: usize) -> WriteFaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let writes = Arc::new(AtomicUsize::new(0));
        let s2 = Arc::clone(&stop);
        thread::spawn(move || {
            while !s2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let w = Arc::clone(&writes);
                        thread::spawn(move || {
                            let _ = forward(stream, upstream, &w, ok_writes);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        WriteFaultProxy { port, stop }
    }
}

impl Drop for WriteFaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn forward(
    mut client: TcpStream,
    upstream: u16,
    writes: &AtomicUsize,
    ok_writes: usize,
) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
        if head.len() == 1 && !byte[0].is_ascii_uppercase() {
            // A TLS hello: answer as Go's server does, so the client falls back to HTTP.
            return client.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    client.read_exact(&mut body)?;
    let method = head.split_whitespace().next().unwrap_or("").to_owned();
    if matches!(method.as_str(), "PUT" | "POST" | "PATCH")
        && writes.fetch_add(1, Ordering::SeqCst) >= ok_writes
    {
        return client.write_all(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 58\r\nConnection: close\r\n\r\n{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"injected fault\"}]}",
        );
    }
    let mut forwarded = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(forwarded.as_bytes())?;
    up.write_all(&body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    client.write_all(&response)
}

#[test]
fn a_registry_failing_mid_promotion_leaves_no_tag_on_another_digest() {
    let reg = TestRegistry::start();
    let scratch = reg.scratch();
    let d = reg.push_image(
        &OciImage::write(
            &scratch.join("i"),
            "faults",
            &["linux/amd64", "linux/arm64"],
            Format::Oci,
        ),
        "ci/app:build-1",
    );
    let old_image = OciImage::write(&scratch.join("o"), "old", &["linux/amd64"], Format::Oci);
    // Promoting the index into a fresh repository takes 7 writes: 4 blob
    // mounts, 2 child manifests, then the tag. The tag exists there on
    // another digest and --force moves it; fail after each number of writes.
    for ok_writes in 0..=7 {
        let repo = format!("release/app-{ok_writes}");
        let old = reg.push_image(&old_image, &format!("{repo}:prod-abc1234"));
        let proxy = WriteFaultProxy::start(reg.port(), ok_writes);
        let via = format!("127.0.0.1:{}", proxy.port);
        // The proxy's 500s never stop: the tool retries them (a 500 may be
        // transient) until its budget is spent, kept short here.
        let run = tag_image(&[
            "apply",
            &format!("{via}/ci/app:build-1"),
            "prod-abc1234",
            "--force",
            "--timeout",
            "2s",
            "--to",
            &format!("{via}/{repo}"),
        ]);
        let now = reg.skopeo_raw_digest(&format!("{repo}:prod-abc1234"));
        if ok_writes < 7 {
            run.expect_code(3);
            assert!(run.stderr.contains("500"), "{run}");
            assert_eq!(
                now, old,
                "a failed promotion left the tag where it was ({ok_writes} writes)"
            );
        } else {
            run.expect_code(0);
            assert_eq!(now, d);
        }
    }
    // Without faults the half-done promotions complete, and the content is whole.
    for ok_writes in 0..7 {
        let repo = format!("{}/release/app-{ok_writes}", reg.host());
        tag_image(&[
            "apply",
            &format!("{}/ci/app:build-1", reg.host()),
            "prod-abc1234",
            "--force",
            "--to",
            &repo,
        ])
        .expect_code(0);
        assert_eq!(
            reg.skopeo_raw_digest(&format!("release/app-{ok_writes}:prod-abc1234")),
            d
        );
    }
    skopeo_pull_all(&reg, "release/app-3:prod-abc1234");
}
