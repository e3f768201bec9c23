//! The fault matrix: every fault the hardening issue names, against every
//! tool that meets it, on the real components (PostgreSQL 15, the
//! distribution registry, dockerd), with the fault injected by a small
//! misbehaving peer written for the test. Each row is one test, named
//! `<fault>__<tool operation>` after its row; what a user notices is
//! asserted: the exit status, that stdout never carries a digest the tool
//! did not verify, that the run ends inside its budget, and what the real
//! component holds afterwards.
//!
//! Budgets: registry tools run with `--timeout 3s`, and every run must end
//! within that budget plus 5 s (process start, a last attempt's deadline);
//! wait-probe gets `--budget 2s` and must end within 2 s plus 2 s.
//!
//! ## Registry faults × operations
//!
//! Operations (columns): `resolve` = `image-digest resolve --platform
//! linux/arm64` of an index (a HEAD, then a GET whose body is hashed);
//! `retag` = `tag-image apply SRC prod-1` within the repository; `promote` =
//! `tag-image apply SRC prod-1 --to OTHER-REPO` (two child manifests, then
//! the index under its tag); `prune` = `prune-images registry --keep 0
//! --keep-tag '^keep-' --apply` on a repository with `keep-1`, `old-a`,
//! `old-b`. Faults on "reads" hit GET answers (the ones with bodies);
//! faults on "writes" hit the manifest PUT that sets the tag (retag,
//! promote: after the two child manifests went through) or the second
//! manifest DELETE (prune: after the credential probe and one real
//! deletion); `resolve` has no writes, so its write faults hit every
//! request.
//!
//! | row (test name prefix)    | fault                                             | on     | resolve | retag | promote | prune |
//! |---------------------------|---------------------------------------------------|--------|---------|-------|---------|-------|
//! | `http_500_always`         | every matching request answers 500                | writes | 3       | 3     | 3       | 3     |
//! | `http_500_twice`          | 500 twice, then forwarded                         | writes | 0       | 0     | 0       | 0     |
//! | `http_429_retry_after`    | 429 `Retry-After: 1` twice, then forwarded        | writes | 0 ≥2 s  | 0 ≥2 s| 0 ≥2 s  | 0 ≥2 s|
//! | `reset_mid_body_once`     | half a body, then RST, once                       | reads  | 0       | 0     | 0       | 0     |
//! | `reset_mid_body_always`   | half a body, then RST, every time                 | reads  | 3       | 3     | 3       | 3     |
//! | `body_cut_short_once`     | half the `Content-Length`, then FIN, once         | reads  | 0       | 0     | 0       | 0     |
//! | `body_cut_short_always`   | half the `Content-Length`, then FIN, every time   | reads  | 3       | 3     | 3       | 3     |
//! | `wrong_digest`            | a wrong `Docker-Content-Digest` on every answer   | all    | 3       | 3     | 3       | 3     |
//! | `never_answers`           | the request is read and never answered            | writes | 3       | 3     | 3       | 3     |
//!
//! Every cell also asserts: the fault fired (a request reached the point
//! it aims at) and, on exit 0, the tool said it was retrying; the run ended
//! within its budget; a digest on stdout is the true one (for `resolve`:
//! exactly the arm64 digest on exit 0, nothing on failure; for `prune`,
//! whose table shows short digests, a prefix of a digest in the
//! repository); afterwards the source tag is where it was, the new tag is
//! absent or on the source's digest (exactly there on exit 0), `keep-1`
//! survived the prune, and on exit 0 both old builds are gone.
//!
//! One more registry row: `wrong_digest_on_a_tag__resolve`: a plain
//! `resolve` of a tag behind a proxy that lies in `Docker-Content-Digest`
//! on manifests exits 3 and prints nothing (the manifest's bytes are hashed,
//! never the header relayed). And `the_matrix_faults_fire_as_they_say`
//! checks the proxy itself (a wrong digest, a real RST, a cut that happens
//! once).
//!
//! ## Other components
//!
//! | row (test name)                                             | fault                                                      | expected                                                                 |
//! |-------------------------------------------------------------|------------------------------------------------------------|--------------------------------------------------------------------------|
//! | `postgres_killed_mid_run__provision_db`                     | `pg_ctl stop -m immediate` while CREATE DATABASE waits      | exit 3, clear message; after a restart one run converges to the catalog of an uninterrupted run on a fresh server |
//! | `engine_stops_between_plan_and_apply__prune_images_local`   | the engine's socket vanishes after the first removal        | exit 3; only images the plan listed are gone, exactly the one removal that got through |
//! | `trickle_headers__wait_probe`, `trickle_body__wait_probe`   | a server that sends one byte a second                       | exit 1 within the budget                                                 |

use std::collections::BTreeSet;
use std::fs;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use deploykit_tests::engine::{Kind, TestEngine, TestImage};
use deploykit_tests::faults::{EngineProxy, Trickle, TricklePart, manifest_digest};
use deploykit_tests::pg::{PG_BIN, SUPERUSER, TestPg};
use deploykit_tests::registry::{FaultProxy, Faults, Format, OciImage, TestRegistry};
use deploykit_tests::{Run, Tool};

/// The registry tools' `--timeout`.
const TIMEOUT: &str = "3s";
/// How long a registry run may take: the timeout plus 5 s.
const REGISTRY_BOUND: Duration = Duration::from_secs(3 + 5);

fn timed(tool: Tool) -> (Run, Duration) {
    let started = Instant::now();
    let run = tool.run();
    (run, started.elapsed())
}

// ===================================================== registry faults

/// A registry tool operation: a column of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Resolve,
    Retag,
    Promote,
    Prune,
}

/// Where a fault is injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    /// GET answers (the ones with bodies).
    Reads,
    /// The write that matters (see the module docs).
    Writes,
    /// Every request.
    All,
}

impl Op {
    /// `(Faults::only, requests to let through first)` for a target.
    fn aim(self, on: On) -> (Option<String>, usize) {
        match (on, self) {
            (On::All, _) | (On::Writes, Op::Resolve) => (None, 0),
            (On::Reads, _) => (Some("GET ".into()), 0),
            (On::Writes, Op::Retag) => (Some("PUT ".into()), 0),
            (On::Writes, Op::Promote) => (Some("PUT ".into()), 2),
            (On::Writes, Op::Prune) => (Some("DELETE ".into()), 2),
        }
    }
}

/// A row: a fault, where it goes, and the exit status every operation must
/// end with.
struct Row {
    faults: Faults,
    on: On,
    expect: i32,
    /// For rows that pass only because the tool waited: the least time
    /// the run must take (`Retry-After` honoured).
    at_least: Duration,
}

fn row(faults: Faults, on: On, expect: i32) -> Row {
    Row {
        faults,
        on,
        expect,
        at_least: Duration::ZERO,
    }
}

fn status(code: u16, times: usize) -> Faults {
    Faults {
        fail_first: times,
        status: code,
        ..Faults::default()
    }
}

fn http_500_always() -> Row {
    row(status(500, usize::MAX), On::Writes, 3)
}

fn http_500_twice() -> Row {
    row(status(500, 2), On::Writes, 0)
}

fn http_429_retry_after() -> Row {
    Row {
        at_least: Duration::from_secs(2),
        ..row(
            Faults {
                retry_after: Some(1),
                ..status(429, 2)
            },
            On::Writes,
            0,
        )
    }
}

fn reset_mid_body(limit: Option<usize>) -> Faults {
    Faults {
        reset_body: true,
        limit,
        ..Faults::default()
    }
}

fn reset_mid_body_once() -> Row {
    row(reset_mid_body(Some(1)), On::Reads, 0)
}

fn reset_mid_body_always() -> Row {
    row(reset_mid_body(None), On::Reads, 3)
}

fn body_cut_short(limit: Option<usize>) -> Faults {
    Faults {
        cut_body: true,
        limit,
        ..Faults::default()
    }
}

fn body_cut_short_once() -> Row {
    row(body_cut_short(Some(1)), On::Reads, 0)
}

fn body_cut_short_always() -> Row {
    row(body_cut_short(None), On::Reads, 3)
}

fn wrong_digest() -> Row {
    row(
        Faults {
            wrong_digest: true,
            ..Faults::default()
        },
        On::All,
        3,
    )
}

fn never_answers() -> Row {
    row(
        Faults {
            hang: true,
            ..Faults::default()
        },
        On::Writes,
        3,
    )
}

/// The registry of one cell, its images, and the proxy in front.
struct Scene {
    reg: TestRegistry,
    /// `ci/app:build-1`, a two-platform OCI index.
    index: String,
    /// Its linux/arm64 manifest.
    arm64: String,
    /// `app:keep-1`, `app:old-a`, `app:old-b` (prune only).
    keep: String,
    old: [String; 2],
}

impl Scene {
    fn new(op: Op) -> Scene {
        let reg = TestRegistry::start();
        let scratch = reg.scratch();
        let mut scene = Scene {
            index: String::new(),
            arm64: String::new(),
            keep: String::new(),
            old: [String::new(), String::new()],
            reg,
        };
        if op == Op::Prune {
            let push = |seed: &str| {
                let image =
                    OciImage::write(&scratch.join(seed), seed, &["linux/amd64"], Format::Oci);
                scene.reg.push_image(&image, &format!("app:{seed}"))
            };
            scene.keep = push("keep-1");
            scene.old = [push("old-a"), push("old-b")];
        } else {
            let image = OciImage::write(
                &scratch.join("index"),
                "matrix",
                &["linux/amd64", "linux/arm64"],
                Format::Oci,
            );
            scene.index = scene.reg.push_image(&image, "ci/app:build-1");
            scene.arm64 = arm64_child(&image);
        }
        scene
    }

    /// The tool run of `op` through `proxy`.
    fn tool(&self, op: Op, via: &str) -> Tool {
        let empty = self.reg.scratch().join("no-docker-config");
        fs::create_dir_all(&empty).expect("empty DOCKER_CONFIG");
        let source = format!("{via}/ci/app:build-1");
        let tool = match op {
            Op::Resolve => Tool::new("image-digest").args([
                "resolve",
                "--digest-only",
                "--platform",
                "linux/arm64",
                &source,
            ]),
            Op::Retag => Tool::new("tag-image").args(["apply", &source, "prod-1"]),
            Op::Promote => Tool::new("tag-image").args([
                "apply",
                &source,
                "prod-1",
                "--to",
                &format!("{via}/release/app"),
            ]),
            Op::Prune => Tool::new("prune-images").args([
                "registry",
                &format!("{via}/app"),
                "--keep",
                "0",
                "--keep-tag",
                "^keep-",
                "--apply",
            ]),
        };
        tool.args(["--timeout", TIMEOUT])
            .env("DOCKER_CONFIG", &empty)
    }

    /// What the registry itself says `repo:reference` points to.
    fn digest(&self, repo: &str, reference: &str) -> Option<String> {
        manifest_digest(&self.reg.host(), repo, reference)
    }

    /// The digests stdout may carry for `op`.
    fn true_digest(&self, op: Op) -> &str {
        match op {
            Op::Resolve => &self.arm64,
            Op::Retag | Op::Promote => &self.index,
            Op::Prune => "",
        }
    }

    /// The registry after a run of `op` that ended with `code`.
    fn check_state(&self, op: Op, code: i32, run: &Run) {
        let ok = code == 0;
        match op {
            Op::Resolve => {}
            Op::Retag | Op::Promote => {
                assert_eq!(
                    self.digest("ci/app", "build-1").as_deref(),
                    Some(self.index.as_str()),
                    "the source tag moved\n{run}"
                );
                let repo = if op == Op::Retag {
                    "ci/app"
                } else {
                    "release/app"
                };
                let now = self.digest(repo, "prod-1");
                if ok {
                    assert_eq!(now.as_deref(), Some(self.index.as_str()), "{run}");
                } else {
                    assert!(
                        now.is_none() || now.as_deref() == Some(self.index.as_str()),
                        "{repo}:prod-1 points to {now:?}, not to {}\n{run}",
                        self.index
                    );
                }
            }
            Op::Prune => {
                assert_eq!(
                    self.digest("app", "keep-1").as_deref(),
                    Some(self.keep.as_str()),
                    "the kept image was deleted\n{run}"
                );
                assert_eq!(
                    self.digest("app", &self.keep).as_deref(),
                    Some(self.keep.as_str())
                );
                for (tag, digest) in ["old-a", "old-b"].iter().zip(&self.old) {
                    let left = self.digest("app", digest);
                    if ok {
                        assert!(left.is_none(), "{tag} was not deleted\n{run}");
                        assert!(self.digest("app", tag).is_none(), "{run}");
                    }
                }
            }
        }
    }
}

/// The linux/arm64 manifest of a two-platform layout, read from the
/// layout's own blobs (not through the code under test).
fn arm64_child(image: &OciImage) -> String {
    let blob = |digest: &str| -> serde_json::Value {
        let path = image
            .layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"));
        serde_json::from_slice(&fs::read(path).expect("layout blob")).expect("layout JSON")
    };
    let top: serde_json::Value =
        serde_json::from_slice(&fs::read(image.layout.join("index.json")).expect("index.json"))
            .expect("index.json JSON");
    let index = blob(top["manifests"][0]["digest"].as_str().expect("top digest"));
    index["manifests"]
        .as_array()
        .and_then(|m| m.iter().find(|e| e["platform"]["architecture"] == "arm64"))
        .and_then(|e| e["digest"].as_str())
        .expect("the arm64 manifest")
        .to_owned()
}

/// Every `sha256:…` on stdout.
fn digests_in(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
        .filter_map(|w| w.find("sha256:").map(|i| &w[i..]))
        .map(|w| w.chars().take(71).collect())
        .collect()
}

/// One cell: `row` against `op`.
fn cell(row: &Row, op: Op) {
    let scene = Scene::new(op);
    let (only, after) = op.aim(row.on);
    let proxy = FaultProxy::start(
        scene.reg.port(),
        Faults {
            only,
            after,
            ..row.faults.clone()
        },
    );
    let (run, took) = timed(scene.tool(op, &proxy.host()));
    run.expect_code(row.expect);
    let matched = proxy.matched.load(Ordering::SeqCst);
    assert!(matched > after, "{op:?}: the fault never fired\n{run}");
    if row.expect == 0 {
        assert!(run.stderr.contains("retrying"), "not retried?\n{run}");
    }
    if row.faults.hang {
        assert!(
            run.stderr
                .contains("no answer before the --timeout budget ran out"),
            "the message says why it gave up\n{run}"
        );
    }
    assert!(
        took < REGISTRY_BOUND,
        "{op:?} took {took:?}, past its budget\n{run}"
    );
    assert!(
        took >= row.at_least,
        "{op:?} ended after {took:?}: Retry-After not honoured\n{run}"
    );
    let truth = scene.true_digest(op);
    for d in digests_in(&run.stdout) {
        // prune's table shows digests cut short; each must be a real one.
        let known = |full: &str| full.starts_with(&d) && d.len() >= 19;
        assert!(
            if op == Op::Prune {
                known(&scene.keep) || scene.old.iter().any(|o| known(o))
            } else {
                d == truth
            },
            "{op:?} printed {d}, not a digest it verified\n{run}"
        );
    }
    if op == Op::Resolve {
        if row.expect == 0 {
            assert_eq!(run.stdout.trim(), truth, "{run}");
        } else {
            assert!(run.stdout.is_empty(), "printed on failure\n{run}");
        }
    }
    if row.expect != 0 {
        assert!(
            run.stderr.starts_with(match op {
                Op::Resolve => "image-digest: ",
                Op::Retag | Op::Promote => "tag-image: ",
                Op::Prune => "prune-images: ",
            }),
            "{run}"
        );
    }
    scene.check_state(op, row.expect, &run);
}

/// One test per cell: `matrix!(row => [test_name: Op, …])`.
macro_rules! matrix {
    ($($row:ident => [$($(#[$attr:meta])* $name:ident: $op:ident),* $(,)?];)*) => {
        $($(
            #[test]
            #[allow(non_snake_case)]
            $(#[$attr])*
            fn $name() {
                cell(&$row(), Op::$op);
            }
        )*)*
    };
}

matrix! {
    http_500_always => [
        http_500_always__resolve: Resolve,
        http_500_always__retag: Retag,
        http_500_always__promote: Promote,
        http_500_always__prune: Prune,
    ];
    http_500_twice => [
        http_500_twice__resolve: Resolve,
        http_500_twice__retag: Retag,
        http_500_twice__promote: Promote,
        http_500_twice__prune: Prune,
    ];
    http_429_retry_after => [
        http_429_retry_after__resolve: Resolve,
        http_429_retry_after__retag: Retag,
        http_429_retry_after__promote: Promote,
        http_429_retry_after__prune: Prune,
    ];
    reset_mid_body_once => [
        reset_mid_body_once__resolve: Resolve,
        reset_mid_body_once__retag: Retag,
        reset_mid_body_once__promote: Promote,
        reset_mid_body_once__prune: Prune,
    ];
    reset_mid_body_always => [
        reset_mid_body_always__resolve: Resolve,
        reset_mid_body_always__retag: Retag,
        reset_mid_body_always__promote: Promote,
        reset_mid_body_always__prune: Prune,
    ];
    body_cut_short_once => [
        body_cut_short_once__resolve: Resolve,
        body_cut_short_once__retag: Retag,
        body_cut_short_once__promote: Promote,
        body_cut_short_once__prune: Prune,
    ];
    body_cut_short_always => [
        body_cut_short_always__resolve: Resolve,
        body_cut_short_always__retag: Retag,
        body_cut_short_always__promote: Promote,
        body_cut_short_always__prune: Prune,
    ];
    wrong_digest => [
        wrong_digest__resolve: Resolve,
        wrong_digest__retag: Retag,
        wrong_digest__promote: Promote,
        wrong_digest__prune: Prune,
    ];
    never_answers => [
        never_answers__resolve: Resolve,
        never_answers__retag: Retag,
        never_answers__promote: Promote,
        never_answers__prune: Prune,
    ];
}

#[test]
#[allow(non_snake_case)]
fn wrong_digest_on_a_tag__resolve() {
    let scene = Scene::new(Op::Resolve);
    let proxy = FaultProxy::start(
        scene.reg.port(),
        Faults {
            wrong_digest: true,
            only: Some("/manifests/".into()),
            ..Faults::default()
        },
    );
    let (run, took) = timed(Tool::new("image-digest").args([
        "resolve",
        "--digest-only",
        "--timeout",
        TIMEOUT,
        &format!("{}/ci/app:build-1", proxy.host()),
    ]));
    assert!(took < REGISTRY_BOUND, "took {took:?}\n{run}");
    assert!(proxy.matched.load(Ordering::SeqCst) > 0, "the fault fired");
    run.expect_code(3);
    assert!(
        run.stdout.is_empty(),
        "no digest it could not verify\n{run}"
    );
    assert!(run.stderr.contains("hashes to"), "{run}");
}

// ===================================================== postgres

const ROOT_PW: &str = "pl4nted-root-pw";
const APP_PW: &str = "pl4nted-app-pw";
const SVC_PW: &str = "pl4nted-svc-pw";

fn provision(pg: &TestPg, args: &[&str]) -> Run {
    Tool::new("provision-db")
        .env("DATABASE_ROOT_URL", pg.root_url())
        .env("DATABASE_URL", pg.url_for("app", APP_PW, "shop"))
        .env("DATABASE_SERVICE_URL", pg.url_for("svc", SVC_PW, "shop"))
        .args(["--timeout", "5s"])
        .args(args)
        .run()
}

/// A superuser connection over the Unix socket to `db`.
fn socket_client(pg: &TestPg, db: &str) -> postgres::Client {
    postgres::Config::new()
        .host_path(pg.socket_dir())
        .port(pg.port())
        .user(SUPERUSER)
        .dbname(db)
        .connect(postgres::NoTls)
        .unwrap_or_else(|e| panic!("connecting to {db}: {e}"))
}

/// What provisioning is about, as comparable text: roles and their
/// attributes, memberships, databases with owner and ACL, and inside
/// `shop` the schemas, relations and default privileges (ACLs sorted, OIDs
/// replaced by names).
fn catalog(pg: &TestPg) -> Vec<String> {
    let rows = |client: &mut postgres::Client, sql: &str| -> Vec<String> {
        client
            .query(sql, &[])
            .unwrap_or_else(|e| panic!("{e}\n{sql}"))
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| r.get::<_, Option<String>>(i).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect()
    };
    let acl = |column: &str| {
        format!("(SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest({column}) a)")
    };
    let mut server = socket_client(pg, "postgres");
    let mut out = rows(
        &mut server,
        "SELECT 'role', rolname::text, concat_ws(',', rolsuper, rolinherit, rolcreaterole, \
         rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil) \
         FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 2",
    );
    out.extend(rows(
        &mut server,
        "SELECT 'member', r.rolname::text, m.rolname::text, a.admin_option::text \
         FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid \
         JOIN pg_roles m ON m.oid = a.member ORDER BY 2, 3",
    ));
    out.extend(rows(
        &mut server,
        &format!(
            "SELECT 'database', datname::text, pg_get_userbyid(datdba)::text, {} \
             FROM pg_database ORDER BY 2",
            acl("datacl")
        ),
    ));
    let mut shop = socket_client(pg, "shop");
    out.extend(rows(
        &mut shop,
        &format!(
            "SELECT 'schema', nspname::text, pg_get_userbyid(nspowner)::text, {} \
             FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' \
             ORDER BY 2",
            acl("nspacl")
        ),
    ));
    out.extend(rows(
        &mut shop,
        &format!(
            "SELECT 'relation', c.oid::regclass::text, pg_get_userbyid(c.relowner)::text, {} \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 2",
            acl("c.relacl")
        ),
    ));
    out.extend(rows(
        &mut shop,
        &format!(
            "SELECT 'default acl', pg_get_userbyid(d.defaclrole)::text, \
             coalesce(n.nspname::text, '*'), d.defaclobjtype::text, {} \
             FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace \
             ORDER BY 2, 3, 4",
            acl("d.defaclacl")
        ),
    ));
    out
}

/// `pg_ctl` as the server's OS user.
fn pg_ctl(pg: &TestPg, args: &[&str]) {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(format!("{PG_BIN}/pg_ctl"))
        .arg("-D")
        .arg(pg.data_dir())
        .args(args)
        .output()
        .expect("running pg_ctl");
    assert!(
        out.status.success(),
        "pg_ctl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[allow(non_snake_case)]
fn postgres_killed_mid_run__provision_db() {
    let pg = TestPg::builder().superuser_password(ROOT_PW).start();
    // A session in template1 makes CREATE DATABASE wait (up to 5 s) for
    // it to leave: a deterministic point in the middle of the run, after
    // the role steps committed and before the database exists.
    let template1 = socket_client(&pg, "template1");
    let (run, seen) = thread::scope(|s| {
        let tool = s.spawn(|| provision(&pg, &[]));
        let mut admin = pg.admin_client();
        // The first run of a tool may build the workspace first: wait for
        // the run itself, not for a clock.
        let deadline = Instant::now() + Duration::from_secs(600);
        let mut seen = None;
        while Instant::now() < deadline && !tool.is_finished() {
            let waiting: i64 = admin
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE state = 'active' AND query LIKE 'CREATE DATABASE%'",
                    &[],
                )
                .map_or(0, |r| r.get(0));
            if waiting > 0 {
                let roles: i64 = admin
                    .query_one(
                        "SELECT count(*) FROM pg_roles WHERE rolname IN ('app', 'svc')",
                        &[],
                    )
                    .map_or(0, |r| r.get(0));
                seen = Some(roles);
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        drop(admin);
        // Killed: every backend is cut off at once, no clean shutdown.
        pg_ctl(&pg, &["-m", "immediate", "-w", "-t", "30", "stop"]);
        (tool.join().expect("the provision-db run"), seen)
    });
    drop(template1);
    assert_eq!(
        seen,
        Some(2),
        "provision-db never reached CREATE DATABASE with both roles made\n{run}"
    );
    run.expect_code(3);
    assert!(run.stderr.starts_with("provision-db: "), "{run}");
    assert!(
        run.stderr.contains("create database \"shop\": "),
        "says what it was doing: {run}"
    );
    assert!(run.stderr.contains("run again"), "says what to do: {run}");
    assert_eq!(run.stderr.lines().count(), 1, "one clear line: {run}");

    // Restarted with the options it ran with (postmaster.opts), the next
    // run converges, and a check finds nothing left to do.
    let log = pg
        .data_dir()
        .parent()
        .expect("instance dir")
        .join("server.log");
    pg_ctl(
        &pg,
        &[
            "-w",
            "-t",
            "30",
            "-l",
            log.to_str().expect("log path"),
            "restart",
        ],
    );
    provision(&pg, &[]).expect_code(0);
    provision(&pg, &["--check"]).expect_code(0);

    // The same state as one uninterrupted run on a fresh server.
    let fresh = TestPg::builder().superuser_password(ROOT_PW).start();
    provision(&fresh, &[]).expect_code(0);
    assert_eq!(catalog(&pg), catalog(&fresh));
    for (user, pw) in [("app", APP_PW), ("svc", SVC_PW)] {
        postgres::Client::connect(&pg.url_for(user, pw, "shop"), postgres::NoTls)
            .unwrap_or_else(|e| panic!("{user} cannot log in after the recovery: {e}"));
    }
}

// ===================================================== engine

const APP: &str = "localhost/deploykit-test/fault";

fn removals(json: &serde_json::Value) -> BTreeSet<String> {
    json["images"]
        .as_array()
        .expect("images")
        .iter()
        .filter(|i| i["action"] == "remove")
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
#[allow(non_snake_case)]
fn engine_stops_between_plan_and_apply__prune_images_local() {
    let engine = TestEngine::start(Kind::Dockerd);
    for (v, days) in [("v1", 40), ("v2", 30), ("v3", 20), ("v4", 10)] {
        engine.load(
            &TestImage::new(&format!("fault-{v}"), days),
            &format!("{APP}:{v}"),
        );
    }
    let newest = engine.image_id(&format!("{APP}:v4")).expect("v4");
    let before: BTreeSet<String> = engine.image_ids().into_iter().collect();
    let prune = |host: &str| {
        Tool::new("prune-images").env("DOCKER_HOST", host).args([
            "local",
            "--keep",
            "1",
            "--timeout",
            TIMEOUT,
            "--json",
        ])
    };
    let plan = prune(&engine.host()).run();
    plan.expect_code(0);
    let planned = removals(&plan.json());
    assert_eq!(planned.len(), 3, "{plan}");

    // The engine answers the listings, removes one image, then is gone.
    let sock = engine.host().trim_start_matches("unix://").to_owned();
    let proxy = EngineProxy::start(std::path::Path::new(&sock), &engine.scratch(), 1);
    let (run, took) = timed(prune(&proxy.host()).arg("--apply"));
    run.expect_code(3);
    assert!(took < REGISTRY_BOUND, "took {took:?}\n{run}");
    assert!(
        run.stderr
            .contains("the engine closed the connection without answering")
            || run.stderr.contains("is the engine running?"),
        "the message says what happened to the engine\n{run}"
    );

    let after: BTreeSet<String> = engine.image_ids().into_iter().collect();
    let removed: BTreeSet<String> = before.difference(&after).cloned().collect();
    assert!(
        removed.is_subset(&planned),
        "removed {removed:?}, the plan listed {planned:?}"
    );
    let deletes = proxy
        .forwarded
        .lock()
        .expect("forwarded")
        .iter()
        .filter(|l| l.starts_with("DELETE "))
        .count();
    assert_eq!(deletes, 1);
    assert_eq!(removed.len(), 1, "exactly the removal that got through");
    assert!(after.contains(&newest));
    // The report says so too: one removed, the rest not attempted.
    let reported: BTreeSet<String> = run.json()["images"]
        .as_array()
        .expect("images")
        .iter()
        .filter(|i| i["outcome"]["result"] == "removed")
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(reported, removed, "{run}");
}

// ===================================================== wait-probe

fn trickle_row(part: TricklePart) {
    let server = Trickle::start(part);
    let (run, took) = timed(Tool::new("wait-probe").args([
        "--attempt-timeout",
        "30s",
        "--budget",
        "2s",
        &server.url("/readyz"),
    ]));
    run.expect_code(1);
    assert!(
        took < Duration::from_secs(2 + 2),
        "a trickling server held the stage for {took:?}\n{run}"
    );
    assert!(run.stdout.is_empty(), "{run}");
    assert!(run.stderr.contains("not ready within"), "{run}");
}

#[test]
#[allow(non_snake_case)]
fn trickle_headers__wait_probe() {
    trickle_row(TricklePart::Headers);
}

#[test]
#[allow(non_snake_case)]
fn trickle_body__wait_probe() {
    trickle_row(TricklePart::Body);
}

/// One raw GET of `path` through `host`: the bytes read and how reading
/// ended.
fn raw_get(host: &str, path: &str) -> (Vec<u8>, std::io::Result<usize>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: {}\r\n\r\n",
        deploykit::registry::model::ACCEPT
    )
    .expect("request");
    let mut got = Vec::new();
    let end = s.read_to_end(&mut got);
    (got, end)
}

#[test]
fn the_matrix_faults_fire_as_they_say() {
    // The proxy's own behaviour, checked once, so that a passing cell
    // cannot be a fault that never fired.
    let scene = Scene::new(Op::Retag);
    let path = "/v2/ci/app/manifests/build-1";
    let proxy = FaultProxy::start(scene.reg.port(), wrong_digest().faults);
    let got = manifest_digest(&proxy.host(), "ci/app", "build-1");
    assert!(got.is_some() && got.as_deref() != Some(scene.index.as_str()));

    let proxy = FaultProxy::start(scene.reg.port(), reset_mid_body(None));
    let (got, end) = raw_get(&proxy.host(), path);
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    assert_eq!(
        end.expect_err("a reset").kind(),
        std::io::ErrorKind::ConnectionReset
    );

    let proxy = FaultProxy::start(scene.reg.port(), body_cut_short(Some(1)));
    let (cut, end) = raw_get(&proxy.host(), path);
    end.expect("a clean close");
    let (whole, _) = raw_get(&proxy.host(), path);
    assert!(cut.len() < whole.len(), "cut, then whole");
    assert_eq!(proxy.matched.load(Ordering::SeqCst), 2);
}
