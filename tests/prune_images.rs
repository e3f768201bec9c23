//! `prune-images local` against real engines: dockerd and podman's
//! Docker-compatible service, each started by the harness on a socket in a
//! temp dir, with images built by hand and loaded (never pulled). The same
//! scenarios run against both engines (see the `against_each_engine!`
//! macro at the bottom).

use std::collections::BTreeSet;
use std::fs;

use deploykit::engine::{Engine, EngineOptions};
use deploykit::output::{OutputArgs, Reporter};
use deploykit_tests::Tool;
use deploykit_tests::engine::{Kind, TestEngine, TestImage};
use deploykit_tests::faults::EngineProxy;
use prune_images::local::apply::{self, Outcome};
use prune_images::local::plan::{self, Options};
use prune_images::protect::ProtectSet;

const APP: &str = "localhost/deploykit-test/app";
const WEB: &str = "localhost/deploykit-test/web";
const TMP: &str = "localhost/deploykit-test/tmp";

fn prune(engine: &TestEngine) -> Tool {
    Tool::new("prune-images")
        .arg("local")
        .env("DOCKER_HOST", engine.host())
}

fn set(items: &[String]) -> BTreeSet<String> {
    items.iter().cloned().collect()
}

fn removals(json: &serde_json::Value) -> BTreeSet<String> {
    json["images"]
        .as_array()
        .expect("images")
        .iter()
        .filter(|i| i["action"] == "remove")
        .map(|i| {
            i["tags"]
                .as_array()
                .and_then(|t| t.first())
                .and_then(|t| t.as_str())
                .map_or_else(|| i["id"].as_str().expect("id").to_owned(), str::to_owned)
        })
        .collect()
}

/// The rollback window, a stopped container's image, protections by id,
/// compose, Kustomize and a plain list, and a dangling image, in one engine.
fn policy(kind: Kind) {
    let engine = TestEngine::start(kind);
    let app_v1 = engine.load(
        &TestImage::new("app-v1", 60).runnable(),
        &format!("{APP}:v1"),
    );
    for (v, days) in [("v2", 50), ("v3", 40), ("v4", 30), ("v5", 20), ("v6", 10)] {
        engine.load(
            &TestImage::new(&format!("app-{v}"), days),
            &format!("{APP}:{v}"),
        );
    }
    let web_w1 = engine.load(&TestImage::new("web-w1", 60), &format!("{WEB}:w1"));
    for (v, days) in [("w2", 50), ("w3", 45), ("w4", 5), ("w5", 2)] {
        engine.load(
            &TestImage::new(&format!("web-{v}"), days),
            &format!("{WEB}:{v}"),
        );
    }
    // Loading a second image under the same tag leaves the first dangling.
    let dangling = engine.load(&TestImage::new("tmp-old", 70), &format!("{TMP}:x"));
    let tmp_new = engine.load(&TestImage::new("tmp-new", 2), &format!("{TMP}:x"));
    assert_ne!(dangling, tmp_new);
    assert!(
        engine.image_ids().contains(&dangling),
        "the old tmp:x image is listed, untagged"
    );
    // A container that ran and exited still needs its image.
    engine.run_to_exit(&format!("{APP}:v1"), "old-app");

    let dir = engine.scratch();
    let compose = dir.join("compose.yml");
    fs::write(
        &compose,
        format!("services:\n  web:\n    image: {WEB}:w2\n    restart: always\n"),
    )
    .unwrap();
    let kustomize = dir.join("kustomization.yaml");
    fs::write(
        &kustomize,
        format!(
            "kind: Kustomization\nimages:\n  - name: app\n    newName: {APP}\n    newTag: v2\n"
        ),
    )
    .unwrap();
    let list = dir.join("rollback.lst");
    fs::write(&list, format!("# the last known good builds\n{APP}:v3\n")).unwrap();
    let before = engine.tags();

    let flags = |t: Tool| {
        t.args(["--keep", "2", "--protect", &web_w1, "--protect-file"])
            .arg(&compose)
            .arg("--protect-file")
            .arg(&kustomize)
            .arg("--protect-file")
            .arg(&list)
    };

    // The plan alone removes nothing and names exactly the three to go.
    let run = flags(prune(&engine)).arg("--json").run();
    run.expect_code(0);
    let json = run.json();
    assert_eq!(json["applied"], false);
    assert_eq!(
        removals(&json),
        BTreeSet::from([dangling.clone(), format!("{APP}:v4"), format!("{WEB}:w3")]),
        "{json:#}"
    );
    assert_eq!(engine.tags(), before, "a plan must not remove anything");
    let reasons = |id: &str| -> String {
        let img = json["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .expect("image in plan")
            .clone();
        img["reasons"][0]["reason"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(reasons(&app_v1), "in_use");
    assert_eq!(reasons(&web_w1), "protected");

    // The human table says the same.
    let run = flags(prune(&engine)).run();
    run.expect_code(0);
    assert!(run.stdout.contains("in use by old-app"), "{}", run.stdout);
    assert!(
        run.stdout.contains("rollback window: #1 newest of"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("plan: remove 3 image(s)"),
        "{}",
        run.stdout
    );

    // Apply.
    let run = flags(prune(&engine)).arg("--apply").run();
    run.expect_code(0);
    assert!(run.stdout.contains("removed 3 image(s)"), "{}", run.stdout);
    let expected: Vec<String> = before
        .iter()
        .filter(|t| **t != format!("{APP}:v4") && **t != format!("{WEB}:w3"))
        .cloned()
        .collect();
    assert_eq!(set(&engine.tags()), set(&expected));
    let ids = engine.image_ids();
    assert!(!ids.contains(&dangling), "the dangling image is gone");
    assert!(
        ids.contains(&app_v1),
        "the stopped container's image survives"
    );
    assert!(ids.contains(&web_w1), "the protected image survives");

    // Nothing left to do: a second run is a no-op.
    let run = flags(prune(&engine)).args(["--apply", "--json"]).run();
    run.expect_code(0);
    assert!(removals(&run.json()).is_empty());
}

/// An image that becomes in use between the plan and its removal is
/// skipped and reported, and the rest of the plan still happens.
fn race(kind: Kind) {
    let engine = TestEngine::start(kind);
    let old1 = engine.load(
        &TestImage::new("race-old1", 100).runnable(),
        &format!("{APP}:old1"),
    );
    engine.tag(&old1, &format!("{APP}:old1-alias"));
    let old2 = engine.load(&TestImage::new("race-old2", 90), &format!("{APP}:old2"));
    let old3 = engine.load(
        &TestImage::new("race-old3", 85).runnable(),
        &format!("{APP}:old3"),
    );
    let new = engine.load(&TestImage::new("race-new", 80), &format!("{APP}:new"));

    let client = Engine::connect(&EngineOptions {
        host: Some(engine.host()),
        timeout: std::time::Duration::from_secs(30),
    })
    .unwrap();
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    let options = Options {
        keep: 1,
        min_age: std::time::Duration::from_secs(3600),
        repos: Vec::new(),
        target_free: None,
        free_now: None,
    };
    let stale = plan::plan(
        &client.images().unwrap(),
        &client.containers().unwrap(),
        &ProtectSet::default(),
        now,
        &options,
    );
    let planned: BTreeSet<&str> = stale.removals().map(|e| e.id.as_str()).collect();
    assert_eq!(
        planned,
        BTreeSet::from([old1.as_str(), old2.as_str(), old3.as_str()])
    );

    // Meanwhile, deploys create containers from old1 (two tags) and old3
    // (one tag: the engine's own 409 guards it).
    engine.create_container(&format!("{APP}:old1"), "rollback");
    engine.create_container(&format!("{APP}:old3"), "hotfix");

    let reporter = Reporter::new(
        "prune-images",
        &OutputArgs {
            quiet: true,
            ..OutputArgs::default()
        },
    );
    let applied = apply::apply(&client, &stale, None, &reporter);
    assert!(applied.error.is_none(), "{:?}", applied.error);
    let outcome = |id: &str| {
        applied
            .outcomes
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, o)| o.clone())
            .unwrap()
    };
    assert!(
        matches!(outcome(&old1), Outcome::SkippedInUse { .. }),
        "{:?}",
        outcome(&old1)
    );
    assert!(
        matches!(outcome(&old2), Outcome::Removed { .. }),
        "{:?}",
        outcome(&old2)
    );
    assert!(
        matches!(outcome(&old3), Outcome::SkippedInUse { .. }),
        "{:?}",
        outcome(&old3)
    );
    let ids = engine.image_ids();
    assert!(ids.contains(&old1), "the image in use survives");
    assert!(ids.contains(&old3), "the image in use survives");
    assert!(!ids.contains(&old2));
    assert!(ids.contains(&new));
    // Not even one of its tags was removed.
    let tags = engine.tags();
    assert!(
        tags.contains(&format!("{APP}:old1")) && tags.contains(&format!("{APP}:old1-alias")),
        "{tags:?}"
    );

    // The CLI now sees it in use and plans nothing for it.
    let run = prune(&engine).args(["--keep", "1", "--json"]).run();
    run.expect_code(0);
    assert!(removals(&run.json()).is_empty(), "{}", run.stdout);
}

/// `--target-free`: an already reached target removes nothing; an
/// unreachable one removes everything the policy allows, oldest first.
fn target_free(kind: Kind) {
    let engine = TestEngine::start(kind);
    for (v, days) in [("a", 30), ("b", 20), ("c", 10)] {
        engine.load(
            &TestImage::new(&format!("tf-{v}"), days),
            &format!("{APP}:{v}"),
        );
    }
    let run = prune(&engine)
        .args(["--keep", "0", "--target-free", "1", "--apply", "--json"])
        .run();
    run.expect_code(0);
    let json = run.json();
    assert!(removals(&json).is_empty(), "{json:#}");
    assert_eq!(engine.tags().len(), 3);
    assert!(json["free_before"].as_u64().unwrap() > 1);

    let run = prune(&engine)
        .args([
            "--keep",
            "0",
            "--target-free",
            "1000000T",
            "--repo",
            "localhost/deploykit-test/*",
        ])
        .run();
    run.expect_code(0);
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("remove"))
        .collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(
        lines[0].contains(":a") && lines[2].contains(":c"),
        "oldest first: {}",
        run.stdout
    );
    let run = prune(&engine)
        .args(["--keep", "0", "--target-free", "1000000T", "--apply"])
        .run();
    run.expect_code(0);
    assert!(engine.tags().is_empty(), "{:?}", engine.tags());
}

/// `--protect` takes what the docker CLI takes (a short id as the plan
/// table prints it, `sha256:` and a prefix, `repo:tag`); a rule that
/// matches nothing is a warning, and with --strict-protect an error.
fn protect_as_docker_reads_it(kind: Kind) {
    let engine = TestEngine::start(kind);
    let mut ids = Vec::new();
    for (v, days) in [("p1", 40), ("p2", 30), ("p3", 20), ("p4", 10)] {
        ids.push(engine.load(
            &TestImage::new(&format!("protect-{v}"), days),
            &format!("{APP}:{v}"),
        ));
    }
    let hex = |id: &str| id.trim_start_matches("sha256:").to_owned();
    // The short id exactly as the plan table shows it.
    let table = prune(&engine).args(["--keep", "0"]).run();
    table.expect_code(0);
    let short = hex(&ids[0])[..12].to_owned();
    assert!(table.stdout.contains(&short), "{}", table.stdout);
    let typo = format!("{APP}:p9");
    let rules = [
        short.clone(),
        format!("sha256:{}", &hex(&ids[1])[..10]),
        format!("{APP}:p3"),
        typo.clone(),
    ];
    let protect_args: Vec<&str> = rules
        .iter()
        .flat_map(|r| ["--protect", r.as_str()])
        .collect();

    let run = prune(&engine)
        .args(["--keep", "0", "--json"])
        .args(&protect_args)
        .run();
    run.expect_code(0);
    assert_eq!(
        removals(&run.json()),
        BTreeSet::from([format!("{APP}:p4")]),
        "{run}"
    );
    // One warning, for the one rule that named nothing.
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("matches no image"))
        .collect();
    assert_eq!(warnings.len(), 1, "{run}");
    assert!(warnings[0].contains(&typo), "{run}");

    // --strict-protect: the same run is refused, and nothing is removed.
    let before = engine.tags();
    let run = prune(&engine)
        .args(["--keep", "0", "--apply", "--strict-protect"])
        .args(&protect_args)
        .run();
    run.expect_code(2);
    assert!(run.stderr.contains("--strict-protect"), "{run}");
    assert_eq!(engine.tags(), before, "a refused run removed something");
    let json = prune(&engine)
        .args(["--keep", "0", "--apply", "--strict-protect", "--json"])
        .args(&protect_args)
        .run();
    assert_eq!(json.json()["exit"], 2, "{json}");

    // Without the typo the strict run goes ahead: only p4 goes.
    let run = prune(&engine)
        .args(["--keep", "0", "--apply", "--strict-protect"])
        .args(&protect_args[..6])
        .run();
    run.expect_code(0);
    let left: BTreeSet<String> = engine.tags().into_iter().collect();
    assert_eq!(
        left,
        BTreeSet::from([
            format!("{APP}:p1"),
            format!("{APP}:p2"),
            format!("{APP}:p3")
        ]),
        "{run}"
    );
}

/// A plan reads the engine with three requests: the version from
/// `/_ping`, the images, the containers. Not `/version`, which podman
/// answers by running conmon, the runtime and the package manager (on
/// 500 images it added a fifth to the listing's time); and the plan made
/// that way is the one the engine's own listing gives.
fn plan_reads_only_the_listings(kind: Kind) {
    let engine = TestEngine::start(kind);
    let old = engine.load(&TestImage::new("reads-old", 30), &format!("{TMP}:old"));
    engine.load(&TestImage::new("reads-new", 20), &format!("{TMP}:new"));
    let sock = engine.host().trim_start_matches("unix://").to_owned();
    let proxy = EngineProxy::start(std::path::Path::new(&sock), &engine.scratch(), usize::MAX);
    let run = Tool::new("prune-images")
        .args(["local", "--json", "--keep", "1", "--min-age", "1h"])
        .env("DOCKER_HOST", proxy.host())
        .run();
    run.expect_code(0);
    let removed = removals(&run.json());
    assert_eq!(removed, set(&[format!("{TMP}:old")]), "{run}");
    assert_eq!(
        engine.image_id(&format!("{TMP}:old")),
        Some(old),
        "nothing removed"
    );
    let asked: Vec<String> = proxy.forwarded.lock().unwrap().clone();
    let paths: Vec<&str> = asked
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap_or(""))
        .map(|p| p.split('?').next().unwrap_or(""))
        .map(without_api_version)
        .collect();
    assert_eq!(
        paths,
        ["/_ping", "/images/json", "/containers/json"],
        "{asked:?}"
    );
}

/// `/v1.41/images/json` → `/images/json`: the engine answers both.
fn without_api_version(path: &str) -> &str {
    path.strip_prefix("/v")
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .filter(|_| path[2..].starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(path)
}

/// Errors the user sees: no engine, bad input.
#[test]
fn errors_have_their_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let run = Tool::new("prune-images")
        .arg("local")
        .env(
            "DOCKER_HOST",
            format!("unix://{}/none.sock", dir.path().display()),
        )
        .run();
    run.expect_code(3);
    assert!(run.stderr.contains("no engine socket"), "{}", run.stderr);

    let bad = dir.path().join("bad.yml");
    fs::write(&bad, "services:\n  x:\n    image: NOT VALID\n").unwrap();
    let run = Tool::new("prune-images")
        .arg("local")
        .arg("--protect-file")
        .arg(&bad)
        .run();
    run.expect_code(2);
    assert!(run.stderr.contains("bad.yml:3"), "{}", run.stderr);

    let run = Tool::new("prune-images")
        .args(["local", "--target-free", "12X"])
        .run();
    run.expect_code(2);
    let run = Tool::new("prune-images")
        .args(["local", "--host", "ssh://me@host"])
        .run();
    run.expect_code(2);
}

macro_rules! against_each_engine {
    ($($scenario:ident),* $(,)?) => {
        mod dockerd {
            $(#[test] fn $scenario() { super::$scenario(super::Kind::Dockerd) })*
        }
        mod podman {
            $(#[test] fn $scenario() { super::$scenario(super::Kind::Podman) })*
        }
    };
}

against_each_engine!(
    policy,
    race,
    target_free,
    protect_as_docker_reads_it,
    plan_reads_only_the_listings
);
