//! `prune-images registry` against a real registry (distribution 2.8, with
//! `storage.delete.enabled: true`, started by the harness), with images
//! written as OCI layouts (no engine) whose configs carry a `created` time,
//! pushed with skopeo. What is left is checked on the registry itself, over
//! plain HTTP: `tags/list`, and a HEAD of every digest.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use deploykit_tests::registry::{Format, OciImage, TestRegistry, TokenAuth};
use deploykit_tests::{PLANTED, Tool};
use serde_json::{Value, json};

// ------------------------------------------------------------- images

fn sha256(bytes: &[u8]) -> String {
    deploykit::imageref::Digest::sha256_of(bytes).to_string()
}

fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    layout
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

fn put_json(layout: &Path, value: &Value) -> (String, usize) {
    let bytes = serde_json::to_vec(value).unwrap();
    let digest = sha256(&bytes);
    fs::write(blob_path(layout, &digest), &bytes).unwrap();
    (digest, bytes.len())
}

fn read_json(layout: &Path, digest: &str) -> Value {
    serde_json::from_slice(&fs::read(blob_path(layout, digest)).unwrap()).unwrap()
}

/// A build: what `OciImage::write` makes, with `created` set in every config
/// (and, for an index, optionally the `org.opencontainers.image.created`
/// annotation).
struct Build {
    image: OciImage,
    /// The top manifest's digest (the index for several platforms).
    digest: String,
    /// The platform manifests' digests (empty for a single manifest).
    children: Vec<String>,
}

fn build(
    dir: &Path,
    seed: &str,
    platforms: &[&str],
    format: Format,
    created: &str,
    index_created: Option<&str>,
) -> Build {
    let layout = dir.join(seed);
    let image = OciImage::write(&layout, seed, platforms, format);
    let mut top_index: Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let set_created = |manifest_digest: &str| -> (String, usize) {
        let mut manifest = read_json(&layout, manifest_digest);
        let mut config = read_json(&layout, manifest["config"]["digest"].as_str().unwrap());
        config["created"] = json!(created);
        let (cd, cs) = put_json(&layout, &config);
        manifest["config"]["digest"] = json!(cd);
        manifest["config"]["size"] = json!(cs);
        put_json(&layout, &manifest)
    };
    let top = &mut top_index["manifests"][0];
    let mut children = Vec::new();
    if top["mediaType"] == "application/vnd.oci.image.index.v1+json" {
        let mut index = read_json(&layout, top["digest"].as_str().unwrap());
        for entry in index["manifests"].as_array_mut().unwrap() {
            let (d, s) = set_created(entry["digest"].as_str().unwrap());
            entry["digest"] = json!(d);
            entry["size"] = json!(s);
            children.push(d);
        }
        if let Some(c) = index_created {
            index["annotations"] = json!({ "org.opencontainers.image.created": c });
        }
        let (d, s) = put_json(&layout, &index);
        top["digest"] = json!(d);
        top["size"] = json!(s);
    } else {
        let (d, s) = set_created(top["digest"].as_str().unwrap());
        top["digest"] = json!(d);
        top["size"] = json!(s);
    }
    let digest = top["digest"].as_str().unwrap().to_owned();
    fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&top_index).unwrap(),
    )
    .unwrap();
    Build {
        image,
        digest,
        children,
    }
}

/// A layout whose top manifest is `child` of `index_build` (to tag a
/// platform manifest on its own).
fn child_layout(dir: &Path, index_build: &Build, child: &str) -> OciImage {
    let layout = dir.join(format!("child-{}", &child[7..19]));
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&index_build.image.layout)
        .arg(&layout)
        .status()
        .unwrap();
    assert!(status.success());
    let manifest = fs::read(blob_path(&layout, child)).unwrap();
    let top = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": child,
            "size": manifest.len(),
            "annotations": { "org.opencontainers.image.ref.name": "test" }
        }]
    });
    fs::write(layout.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    OciImage {
        layout,
        tag: "test".into(),
        platforms: vec![index_build.image.platforms[0].clone()],
        format: index_build.image.format,
    }
}

// ------------------------------------------------------------- checks

/// One HTTP/1.0 exchange (no chunking, connection closed by the server).
fn http(host: &str, method: &str, path: &str, bearer: Option<&str>) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = bearer.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\nAccept: {}\r\n{auth}\r\n",
        deploykit::registry::model::ACCEPT
    )
    .unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let status: u16 = String::from_utf8_lossy(&resp[..12])
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(resp.len(), |p| p + 4);
    (status, resp[split..].to_vec())
}

/// The registry as a client without credentials sees it (an anonymous pull
/// token on a token registry).
struct View<'a> {
    reg: &'a TestRegistry,
    repo: &'a str,
    token: Option<String>,
}

impl<'a> View<'a> {
    fn new(reg: &'a TestRegistry, repo: &'a str) -> View<'a> {
        let token = reg.token_realm().map(|realm| {
            let hostport = realm.trim_start_matches("http://");
            let (host, path) = hostport.split_once('/').unwrap();
            let (status, body) = http(
                host,
                "GET",
                &format!(
                    "/{path}?service={}&scope=repository:{repo}:pull",
                    deploykit_tests::registry::TOKEN_SERVICE
                ),
                None,
            );
            assert_eq!(status, 200);
            let v: Value = serde_json::from_slice(&body).unwrap();
            v["token"].as_str().unwrap().to_owned()
        });
        View { reg, repo, token }
    }

    /// `tags/list`, sorted; `{"tags":null}` is empty.
    fn tags(&self) -> BTreeSet<String> {
        let (status, body) = http(
            &self.reg.host(),
            "GET",
            &format!("/v2/{}/tags/list", self.repo),
            self.token.as_deref(),
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let v: Value = serde_json::from_slice(&body).unwrap();
        v["tags"]
            .as_array()
            .map(|a| a.iter().map(|t| t.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    }

    /// Whether `HEAD /v2/REPO/manifests/DIGEST` finds it.
    fn has(&self, digest: &str) -> bool {
        let (status, _) = http(
            &self.reg.host(),
            "HEAD",
            &format!("/v2/{}/manifests/{digest}", self.repo),
            self.token.as_deref(),
        );
        assert!(matches!(status, 200 | 404), "HEAD {digest}: {status}");
        status == 200
    }
}

fn tags(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|t| (*t).to_owned()).collect()
}

fn prune(reg: &TestRegistry, repo: &str) -> Tool {
    let empty = reg.scratch().join("no-docker-config");
    fs::create_dir_all(&empty).unwrap();
    Tool::new("prune-images")
        .env("DOCKER_CONFIG", &empty)
        .arg("registry")
        .arg(format!("{}/{repo}", reg.host()))
}

fn deletes(json: &Value) -> BTreeSet<String> {
    json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["action"] == "delete")
        .map(|m| m["digest"].as_str().unwrap().to_owned())
        .collect()
}

fn digests(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|d| (*d).to_owned()).collect()
}

// ------------------------------------------------------------- scenarios

/// Five builds, pushed out of order, some with two tags; `--keep 2
/// --keep-tag '^prod-'` keeps the two newest by `created` and the prod build
/// (with its other, old tag: it shares the digest), deletes the other two.
fn five_builds(format: Format, repo: &str) {
    let reg = TestRegistry::start();
    let dir = reg.scratch();
    let day = |d: u32| format!("2024-01-0{d}T12:00:00Z");
    let b: Vec<Build> = (1..=5)
        .map(|i| {
            build(
                &dir,
                &format!("{repo}-b{i}").replace('/', "-"),
                &["linux/amd64"],
                format,
                &day(i),
                None,
            )
        })
        .collect();
    let tagging: [(usize, &[&str]); 5] = [
        (4, &["1.4.0", "latest"]),
        (0, &["1.0.0", "prod-1"]),
        (2, &["1.2.0"]),
        (1, &["1.1.0"]),
        (3, &["1.3.0", "rc"]),
    ];
    for (i, names) in tagging {
        for t in names {
            let pushed = reg.push_image(&b[i].image, &format!("{repo}:{t}"));
            if format == Format::Oci {
                assert_eq!(pushed, b[i].digest, "pushed as written");
            }
        }
    }
    let view = View::new(&reg, repo);
    let all = view.tags();
    assert_eq!(all.len(), 8);
    // skopeo converts to schema2 for DockerV2: take the digests it pushed.
    let digest_of = |t: &str| reg.skopeo_raw_digest(&format!("{repo}:{t}"));
    let d: Vec<String> = ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"]
        .iter()
        .map(|t| digest_of(t))
        .collect();

    let flags = |t: Tool| t.args(["--keep", "2", "--keep-tag", "^prod-"]);

    // The plan names exactly builds 2 and 3, and deletes nothing.
    let run = flags(prune(&reg, repo)).arg("--json").run();
    run.expect_code(0);
    let plan = run.json();
    assert_eq!(plan["applied"], false);
    assert_eq!(deletes(&plan), digests(&[&d[1], &d[2]]), "{plan:#}");
    assert_eq!(plan["delete_count"], 2);
    let reason = |digest: &str| {
        plan["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["digest"] == digest)
            .unwrap()["reasons"][0]["reason"]
            .clone()
    };
    assert_eq!(reason(&d[0]), "keep_tag");
    assert_eq!(reason(&d[4]), "newest");
    assert_eq!(view.tags(), all, "a plan deletes nothing");

    // A protect file naming build 2 keeps it too (plan only).
    let compose = dir.join("compose.yml");
    fs::write(
        &compose,
        format!(
            "services:\n  app:\n    image: {}/{repo}:1.1.0\n",
            reg.host()
        ),
    )
    .unwrap();
    let run = flags(prune(&reg, repo))
        .arg("--protect-file")
        .arg(&compose)
        .arg("--json")
        .run();
    run.expect_code(0);
    assert_eq!(deletes(&run.json()), digests(&[&d[2]]));

    // The human plan.
    let run = flags(prune(&reg, repo)).run();
    run.expect_code(0);
    assert!(
        run.stdout.contains("plan: delete 2 manifest(s)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("tag prod-1 matches --keep-tag"),
        "{}",
        run.stdout
    );

    // Applied: exactly the expected tags are left.
    let run = flags(prune(&reg, repo)).arg("--apply").run();
    run.expect_code(0);
    assert!(run.stdout.contains("deleted 2 of 2 manifest(s)"), "{run}");
    assert!(run.stdout.contains("garbage collection"), "{run}");
    assert_eq!(
        view.tags(),
        tags(&["1.0.0", "prod-1", "1.3.0", "rc", "1.4.0", "latest"])
    );
    for (i, d) in d.iter().enumerate() {
        assert_eq!(view.has(d), ![1, 2].contains(&i), "build {}", i + 1);
    }

    // Again: nothing left to delete.
    let run = flags(prune(&reg, repo)).args(["--apply", "--json"]).run();
    run.expect_code(0);
    let json = run.json();
    assert_eq!(json["applied"], true);
    assert_eq!(json["delete_count"], 0);
}

#[test]
fn five_oci_builds_keep_two_and_the_prod_tag() {
    five_builds(Format::Oci, "team/oci-app");
}

#[test]
fn five_schema2_builds_keep_two_and_the_prod_tag() {
    five_builds(Format::DockerV2, "team/docker-app");
}

/// A two-platform index tagged `prod-1` survives whole with its children,
/// even its amd64 manifest that also carries an old tag of its own; an old
/// index goes with its children; an index's time is its annotation when it
/// has one (else its newest platform's).
#[test]
fn a_kept_index_survives_whole_with_its_children() {
    let reg = TestRegistry::start();
    let dir = reg.scratch();
    let repo = "team/multi";
    let two = ["linux/amd64", "linux/arm64"];
    let m1 = build(&dir, "m1", &two, Format::Oci, "2024-01-01T00:00:00Z", None);
    let m2 = build(&dir, "m2", &two, Format::Oci, "2024-01-02T00:00:00Z", None);
    let s3 = build(
        &dir,
        "s3",
        &["linux/amd64"],
        Format::Oci,
        "2024-01-03T00:00:00Z",
        None,
    );
    let s4 = build(
        &dir,
        "s4",
        &["linux/amd64"],
        Format::Oci,
        "2024-01-04T00:00:00Z",
        None,
    );
    // Platform configs older than everything, but the index says day 5.
    let m5 = build(
        &dir,
        "m5",
        &two,
        Format::Oci,
        "2023-06-01T00:00:00Z",
        Some("2024-01-05T00:00:00Z"),
    );
    assert_eq!(
        reg.push_image(&m1.image, &format!("{repo}:prod-1")),
        m1.digest
    );
    let amd = child_layout(&dir, &m1, &m1.children[0]);
    assert_eq!(
        reg.push_image(&amd, &format!("{repo}:old-amd64")),
        m1.children[0]
    );
    assert_eq!(
        reg.push_image(&m2.image, &format!("{repo}:2.0.0")),
        m2.digest
    );
    assert_eq!(
        reg.push_image(&s3.image, &format!("{repo}:3.0.0")),
        s3.digest
    );
    assert_eq!(
        reg.push_image(&s4.image, &format!("{repo}:4.0.0")),
        s4.digest
    );
    assert_eq!(
        reg.push_image(&m5.image, &format!("{repo}:5.0.0")),
        m5.digest
    );
    let view = View::new(&reg, repo);
    for d in m2.children.iter().chain(&m1.children) {
        assert!(view.has(d), "pushed {d}");
    }

    let run = prune(&reg, repo)
        .args(["--keep", "2", "--keep-tag", "^prod-", "--json"])
        .run();
    run.expect_code(0);
    let plan = run.json();
    let expected: BTreeSet<String> = [&m2.digest, &m2.children[0], &m2.children[1], &s3.digest]
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(deletes(&plan), expected, "{plan:#}");
    let entry = |d: &str| {
        plan["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["digest"] == d)
            .unwrap()
            .clone()
    };
    assert_eq!(entry(&m2.children[0])["why"], "child_of_deleted_index");
    assert_eq!(entry(&m2.digest)["index"], true);
    assert_eq!(
        entry(&m1.children[0])["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["reason"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["child_of_kept_index"],
        "the old-amd64 tag alone would go; its index keeps it"
    );
    assert_eq!(
        entry(&m5.digest)["created"],
        1_704_412_800,
        "the annotation"
    );
    assert_eq!(entry(&m5.digest)["reasons"][0]["rank"], 1);

    let run = prune(&reg, repo)
        .args(["--keep", "2", "--keep-tag", "^prod-", "--apply"])
        .run();
    run.expect_code(0);
    assert_eq!(
        view.tags(),
        tags(&["prod-1", "old-amd64", "4.0.0", "5.0.0"])
    );
    for d in [&m1.digest, &s4.digest, &m5.digest]
        .into_iter()
        .chain(&m1.children)
        .chain(&m5.children)
    {
        assert!(view.has(d), "kept {d}");
    }
    for d in [&m2.digest, &s3.digest].into_iter().chain(&m2.children) {
        assert!(!view.has(d), "deleted {d}");
    }
    // The kept index still pulls: skopeo reads it and both platforms.
    assert_eq!(reg.skopeo_raw_digest(&format!("{repo}:prod-1")), m1.digest);
}

/// A token without `delete` (anonymous pull on a token registry) stops
/// `--apply` with exit 4 before anything is deleted; the plan alone works
/// with it; the user's token (all actions) deletes.
#[test]
fn a_pull_only_token_exits_4_having_deleted_nothing() {
    let reg = TestRegistry::builder()
        .token_auth(TokenAuth {
            user: "ci".into(),
            password: PLANTED[4].into(),
            anonymous_pull: true,
        })
        .start();
    let dir = reg.scratch();
    let repo = "team/locked";
    let b: Vec<Build> = (1..=3)
        .map(|i| {
            build(
                &dir,
                &format!("l{i}"),
                &["linux/amd64"],
                Format::Oci,
                &format!("2024-02-0{i}T00:00:00Z"),
                None,
            )
        })
        .collect();
    for (i, b) in b.iter().enumerate() {
        reg.push_image(&b.image, &format!("{repo}:v{}", i + 1));
    }
    let view = View::new(&reg, repo);
    let before = view.tags();
    assert_eq!(before.len(), 3);

    let run = prune(&reg, repo).args(["--keep", "1", "--json"]).run();
    run.expect_code(0);
    assert_eq!(deletes(&run.json()).len(), 2);

    let tokens_before = reg.token_requests();
    let run = prune(&reg, repo).args(["--keep", "1", "--apply"]).run();
    run.expect_code(4);
    assert!(
        run.stderr.contains("delete"),
        "the error names the missing action: {run}"
    );
    assert!(run.stdout.is_empty(), "{run}");
    assert!(
        reg.token_requests() > tokens_before,
        "a token was asked for"
    );
    assert_eq!(view.tags(), before, "nothing deleted");
    for x in &b {
        assert!(view.has(&x.digest));
    }
    let log = reg.log_contents();
    for x in &b {
        assert!(
            !log.contains(&format!("\"DELETE /v2/{repo}/manifests/{}", x.digest)),
            "no delete of a real manifest was even sent"
        );
    }

    // With the user's credentials the same run deletes.
    let run = prune(&reg, repo)
        .args([
            "--keep",
            "1",
            "--apply",
            "--username",
            "ci",
            "--password-stdin",
        ])
        .stdin(PLANTED[4])
        .run();
    run.expect_code(0);
    assert_eq!(view.tags(), tags(&["v3"]));
}

/// A repository whose every manifest was deleted lists `{"tags":null}`.
#[test]
fn keep_zero_empties_a_repository_and_an_empty_one_is_fine() {
    let reg = TestRegistry::start();
    let dir = reg.scratch();
    let repo = "team/tmp";
    for i in 1..=2 {
        let b = build(
            &dir,
            &format!("t{i}"),
            &["linux/amd64"],
            Format::Oci,
            "2024-03-01T00:00:00Z",
            None,
        );
        reg.push_image(&b.image, &format!("{repo}:t{i}"));
    }
    let run = prune(&reg, repo).args(["--keep", "0", "--apply"]).run();
    run.expect_code(0);
    let (status, body) = http(&reg.host(), "GET", &format!("/v2/{repo}/tags/list"), None);
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["tags"].is_null(), "{v}");
    let run = prune(&reg, repo).args(["--keep", "0", "--apply"]).run();
    run.expect_code(0);
    assert!(run.stdout.contains("no tags in"), "{run}");

    let run = prune(&reg, "team/never-pushed").run();
    run.expect_code(1);
    assert!(run.stderr.contains("repository not found"), "{run}");
}

// ------------------------------------------------------------- pagination

/// A proxy in front of the real registry that paginates `tags/list` two
/// tags a page, as registries other than distribution 2.8 do: the first
/// `Link` relative, the next ones absolute. Everything else is forwarded.
struct Paginator {
    port: u16,
    stop: Arc<AtomicBool>,
    pages: Arc<AtomicUsize>,
}

impl Paginator {
    fn start(upstream: String) -> Paginator {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let pages = Arc::new(AtomicUsize::new(0));
        let (s2, p2) = (Arc::clone(&stop), Arc::clone(&pages));
        thread::spawn(move || {
            while !s2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = serve_page(stream, &upstream, port, &p2);
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Paginator { port, stop, pages }
    }
}

impl Drop for Paginator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve_page(
    mut client: TcpStream,
    upstream: &str,
    port: u16,
    pages: &AtomicUsize,
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
            // A TLS hello: answer as Go's server does, so the client falls
            // back to plain HTTP on loopback.
            return client.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut parts = head.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if method == "GET" && path.ends_with("/tags/list") {
        let (_, body) = http(upstream, "GET", path, None);
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        let mut all: Vec<String> = v["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        all.sort();
        let last = query
            .split('&')
            .find_map(|p| p.strip_prefix("last="))
            .unwrap_or("");
        let page: Vec<&String> = all.iter().filter(|t| t.as_str() > last).take(2).collect();
        let n = pages.fetch_add(1, Ordering::SeqCst);
        let more = page.last().is_some_and(|l| all.iter().any(|t| t > *l));
        let link = match (more, page.last()) {
            (true, Some(l)) if n == 0 => {
                format!("Link: <{path}?n=2&last={l}>; rel=\"next\"\r\n")
            }
            (true, Some(l)) => {
                format!("Link: <http://127.0.0.1:{port}{path}?n=2&last={l}>; rel=\"next\"\r\n")
            }
            _ => String::new(),
        };
        let body = json!({ "name": v["name"], "tags": page }).to_string();
        return write!(
            client,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDocker-Distribution-Api-Version: registry/2.0\r\n{link}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    // Anything else: forward as it came.
    let mut up = TcpStream::connect(upstream)?;
    let mut forwarded = String::new();
    for l in head
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("connection:"))
    {
        forwarded.push_str(l);
        forwarded.push_str("\r\n");
    }
    write!(up, "{forwarded}Connection: close\r\n\r\n")?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp)?;
    client.write_all(&resp)
}

#[test]
fn tag_pages_are_followed_relative_and_absolute() {
    let reg = TestRegistry::start();
    let dir = reg.scratch();
    let repo = "team/paged";
    let mut builds = Vec::new();
    for i in 1..=5 {
        let b = build(
            &dir,
            &format!("p{i}"),
            &["linux/amd64"],
            Format::Oci,
            &format!("2024-04-0{i}T00:00:00Z"),
            None,
        );
        reg.push_image(&b.image, &format!("{repo}:p{i}"));
        builds.push(b);
    }
    let proxy = Paginator::start(reg.host());
    let empty = reg.scratch().join("no-docker-config");
    fs::create_dir_all(&empty).unwrap();
    let run = Tool::new("prune-images")
        .env("DOCKER_CONFIG", &empty)
        .args(["registry", &format!("127.0.0.1:{}/{repo}", proxy.port)])
        .args(["--keep", "2", "--json"])
        .run();
    run.expect_code(0);
    let plan = run.json();
    assert_eq!(proxy.pages.load(Ordering::SeqCst), 3, "three pages of two");
    let listed: BTreeSet<String> = plan["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["tags"].as_array().unwrap().clone())
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, tags(&["p1", "p2", "p3", "p4", "p5"]));
    assert_eq!(
        deletes(&plan),
        digests(&[&builds[0].digest, &builds[1].digest, &builds[2].digest])
    );
}

// ------------------------------------------------------------- deletes off

/// A distribution registry with `storage.delete.enabled: false` (the
/// harness always enables deletes), killed on drop.
struct NoDeleteRegistry {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for NoDeleteRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_registry_with_deletes_disabled_exits_4_having_deleted_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = deploykit_tests::registry::free_port();
    let config = dir.path().join("config.yml");
    fs::write(
        &config,
        format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: false\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let child = std::process::Command::new("docker-registry")
        .arg("serve")
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("docker-registry (scripts/setup installs it)");
    let reg = NoDeleteRegistry { child, port, dir };
    let host = format!("127.0.0.1:{}", reg.port);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(&host).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "registry did not start"
        );
        thread::sleep(Duration::from_millis(20));
    }
    let b = build(
        reg.dir.path(),
        "nd1",
        &["linux/amd64"],
        Format::Oci,
        "2024-05-01T00:00:00Z",
        None,
    );
    let status = std::process::Command::new("skopeo")
        .args([
            "--insecure-policy",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
        ])
        .env("HOME", reg.dir.path())
        .arg(format!("oci:{}:{}", b.image.layout.display(), b.image.tag))
        .arg(format!("docker://{host}/team/kept:v1"))
        .status()
        .unwrap();
    assert!(status.success());
    let run = Tool::new("prune-images")
        .env("DOCKER_CONFIG", reg.dir.path())
        .args([
            "registry",
            &format!("{host}/team/kept"),
            "--keep",
            "0",
            "--apply",
        ])
        .run();
    run.expect_code(4);
    assert!(run.stderr.contains("storage.delete.enabled"), "{run}");
    let (status, _) = http(
        &host,
        "HEAD",
        &format!("/v2/team/kept/manifests/{}", b.digest),
        None,
    );
    assert_eq!(status, 200);
}
