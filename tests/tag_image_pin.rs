//! `tag-image pin` on the seed's tag scheme and on YAML that is hard to edit
//! line by line, with the real binaries on real files.
//!
//! The seed puts the app (`{env}-{sha}`), the migrator (`{env}-{sha}-migrate`)
//! and each service (`{env}-{sha}-{service}`) in one repository, so a pin
//! must address entries, not repositories: each entry ends on its own
//! digest, an ambiguous reference is refused without a byte changed, and
//! `NAME=REF` settles it in every format. Every YAML input of the tricky
//! table is either rewritten so that it parses to the original but for the
//! images, or refused with exit 2 and left as it was. The scaffold's
//! placeholder digest fails every guard: `check --require-digest`,
//! `pin --check` and `deploy.sh`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use deploykit::imageref::PLACEHOLDER_DIGEST as ZEROS;
use deploykit_tests::{Run, Tool, bins};
use serde_yaml_ng::Value as Yaml;

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const D3: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

fn app() -> String {
    format!("ghcr.io/acme/api:prod-abc1234@{D1}")
}
fn migrator() -> String {
    format!("ghcr.io/acme/api:prod-abc1234-migrate@{D2}")
}
fn worker() -> String {
    format!("ghcr.io/acme/api:prod-abc1234-scheduler-worker@{D3}")
}

fn kustomization() -> String {
    format!(
        "\
# The api overlay: the app, its migrator and a worker, one repository.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base/api
images:
  - name: api
    newName: ghcr.io/acme/api
    newTag: prod-0000000
  - name: api-migrate
    newName: ghcr.io/acme/api
    newTag: \"prod-0000000-migrate\"   # the PreSync Job
  - name: scheduler-worker
    newName: ghcr.io/acme/api
    newTag: prod-0000000-scheduler-worker
    digest: {ZEROS}
  - name: redis
    newTag: '7.2'
"
    )
}

const COMPOSE: &str = "\
services:
  api:
    image: ghcr.io/acme/api:prod-0000000
  migrate:
    image: \"ghcr.io/acme/api:prod-0000000-migrate\"
    command: [\"node\", \"migrate.js\"]
  scheduler-worker:
    image: ghcr.io/acme/api:prod-0000000-scheduler-worker # the worker
  redis:
    image: redis:7.2
";

const ENV: &str = "\
# deploy.sh reads these.
APP_IMAGE=ghcr.io/acme/api:prod-0000000
MIGRATE_IMAGE=ghcr.io/acme/api:prod-0000000-migrate
export SCHEDULER_WORKER_IMAGE=\"ghcr.io/acme/api:prod-0000000-scheduler-worker\"
APP_URL=https://api.acme.example
";

const FILES: [&str; 3] = ["kustomization.yaml", "compose.yaml", "multi.env"];

/// The three seed files in a fresh directory.
fn seed() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(FILES[0]), kustomization()).unwrap();
    fs::write(dir.path().join(FILES[1]), COMPOSE).unwrap();
    fs::write(dir.path().join(FILES[2]), ENV).unwrap();
    dir
}

fn bytes(dir: &Path) -> Vec<Vec<u8>> {
    FILES
        .iter()
        .map(|f| fs::read(dir.join(f)).unwrap())
        .collect()
}

fn pin(dir: &Path, args: &[String]) -> Run {
    Tool::new("tag-image")
        .current_dir(dir)
        .args(["pin", "-f", FILES[0], "-f", FILES[1], "-f", FILES[2]])
        .args(args)
        .run()
}

#[test]
fn the_seed_scheme_puts_each_build_in_its_own_entry() {
    let dir = seed();
    let run = pin(dir.path(), &[app(), migrator(), worker()]);
    run.expect_code(0);
    assert_eq!(
        run.stderr, "tag-image: pinned 9 image entr(ies) in 3 file(s)\n",
        "{run}"
    );
    let k = kustomization()
        .replace(
            "newTag: prod-0000000\n",
            &format!("newTag: prod-abc1234\n    digest: {D1}\n"),
        )
        .replace(
            "\"prod-0000000-migrate\"   # the PreSync Job\n",
            &format!("\"prod-abc1234-migrate\"   # the PreSync Job\n    digest: {D2}\n"),
        )
        .replace(
            &format!("prod-0000000-scheduler-worker\n    digest: {ZEROS}"),
            &format!("prod-abc1234-scheduler-worker\n    digest: {D3}"),
        );
    let c = COMPOSE
        .replace("ghcr.io/acme/api:prod-0000000\n", &format!("{}\n", app()))
        .replace(
            "\"ghcr.io/acme/api:prod-0000000-migrate\"",
            &format!("\"{}\"", migrator()),
        )
        .replace("ghcr.io/acme/api:prod-0000000-scheduler-worker", &worker());
    let e = ENV
        .replace("ghcr.io/acme/api:prod-0000000\n", &format!("{}\n", app()))
        .replace("ghcr.io/acme/api:prod-0000000-migrate", &migrator())
        .replace("ghcr.io/acme/api:prod-0000000-scheduler-worker", &worker());
    assert_eq!(
        bytes(dir.path()),
        [k.into_bytes(), c.into_bytes(), e.into_bytes()],
        "{run}"
    );
    // The diff is the review: one hunk per file, on stdout.
    assert_eq!(run.stdout.matches("\n--- a/").count() + 1, 3, "{run}");
    assert!(
        run.stdout.contains(&format!("+APP_IMAGE={}\n", app())),
        "{run}"
    );

    // Again: nothing to do; --check agrees; the unpinned list has only redis.
    let again = pin(dir.path(), &[app(), migrator(), worker()]);
    again.expect_code(0);
    assert_eq!(again.stdout, "");
    pin(dir.path(), &["--check".into(), app(), migrator(), worker()]).expect_code(0);
    let listed = pin(dir.path(), &["--check".into()]);
    listed.expect_code(1);
    assert_eq!(
        listed.stdout,
        "kustomization.yaml:19: images[name=redis]: redis:7.2 is not pinned by digest\n\
         compose.yaml:10: services.redis.image: redis:7.2 is not pinned by digest\n",
        "{listed}"
    );
}

#[test]
fn an_ambiguous_or_unplaced_reference_exits_2_and_changes_no_byte() {
    let dir = seed();
    let before = bytes(dir.path());
    // Untagged: it could be any of the three.
    let run = pin(dir.path(), &[format!("ghcr.io/acme/api@{D1}")]);
    run.expect_code(2);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "tag-image: kustomization.yaml: ghcr.io/acme/api@{D1} is ambiguous: 3 entries on ghcr.io/acme/api could take it: \
             api (prod-0000000, the app), api-migrate (prod-0000000-migrate, the migrator), \
             scheduler-worker (prod-0000000-scheduler-worker, the service scheduler-worker); \
             name the entry it is for, e.g. api=ghcr.io/acme/api@{D1}\n"
        )
    );
    // A service no entry is for.
    let run = pin(
        dir.path(),
        &[app(), format!("ghcr.io/acme/api:prod-abc1234-billing@{D3}")],
    );
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("plays the part of ghcr.io/acme/api:prod-abc1234-billing@")
            && run.stderr.contains("(the service billing)")
            && run
                .stderr
                .contains("e.g. api=ghcr.io/acme/api:prod-abc1234-billing@"),
        "{run}"
    );
    // Two builds of the app.
    let run = pin(
        dir.path(),
        &[app(), format!("ghcr.io/acme/api:prod-def5678@{D2}")],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("api is addressed by both"), "{run}");
    // A NAME no file has.
    let run = pin(dir.path(), &[format!("billing={}", app())]);
    run.expect_code(2);
    assert!(
        run.stderr.contains(
            "no image entry in the files is named billing (the names: APP_IMAGE, MIGRATE_IMAGE,"
        ),
        "{run}"
    );
    // The placeholder is not a build.
    let run = pin(
        dir.path(),
        &[format!("ghcr.io/acme/api:prod-abc1234@{ZEROS}")],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("placeholder digest"), "{run}");
    // --check with an ambiguous reference is refused the same way.
    pin(
        dir.path(),
        &["--check".into(), format!("ghcr.io/acme/api@{D1}")],
    )
    .expect_code(2);
    assert_eq!(bytes(dir.path()), before);
}

#[test]
fn name_equals_ref_settles_it_in_every_format() {
    let dir = seed();
    let untagged = |d: &str| format!("ghcr.io/acme/api@{d}");
    let run = pin(
        dir.path(),
        &[
            format!("api-migrate={}", untagged(D1)),
            format!("scheduler-worker={}", untagged(D2)),
            format!("APP_IMAGE={}", untagged(D3)),
            // Another repository, as kustomize edit set image does.
            format!("redis=127.0.0.1:5000/mirror/redis:7.2@{D1}"),
        ],
    );
    run.expect_code(0);
    let got: Vec<String> = bytes(dir.path())
        .into_iter()
        .map(|b| String::from_utf8(b).unwrap())
        .collect();
    assert_eq!(
        got[0],
        kustomization()
            .replace(
                "    newTag: \"prod-0000000-migrate\"   # the PreSync Job\n",
                &format!("    digest: {D1}\n"),
            )
            // scheduler-worker is the name of an images entry too.
            .replace(
                &format!("    newTag: prod-0000000-scheduler-worker\n    digest: {ZEROS}\n"),
                &format!("    digest: {D2}\n"),
            )
            .replace(
                "  - name: redis\n    newTag: '7.2'\n",
                &format!("  - name: redis\n    newTag: '7.2'\n    newName: 127.0.0.1:5000/mirror/redis\n    digest: {D1}\n"),
            ),
        "{run}"
    );
    assert_eq!(
        got[1],
        COMPOSE
            .replace(
                "ghcr.io/acme/api:prod-0000000-scheduler-worker",
                &untagged(D2)
            )
            .replace(
                "image: redis:7.2",
                &format!("image: 127.0.0.1:5000/mirror/redis:7.2@{D1}")
            ),
        "{run}"
    );
    assert_eq!(
        got[2],
        ENV.replace(
            "ghcr.io/acme/api:prod-0000000\n",
            &format!("{}\n", untagged(D3))
        ),
        "{run}"
    );
    // A name and a bare reference on one repository, each to its own entries.
    let dir = seed();
    pin(
        dir.path(),
        &[format!("MIGRATE_IMAGE={}", untagged(D1)), migrator()],
    )
    .expect_code(0);
    let env = fs::read_to_string(dir.path().join("multi.env")).unwrap();
    assert!(
        env.contains(&format!("MIGRATE_IMAGE={}\n", untagged(D1))),
        "{env}"
    );
    let compose = fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    assert!(
        compose.contains(&format!("\"{}\"", migrator())),
        "{compose}"
    );
}

// ------------------------------------------------------ the scaffold's overlays

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&dest).unwrap();
            copy_tree(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// The `IMAGE_DIGEST` the overlay's patch sets.
fn image_digest_var(overlay: &Yaml) -> Option<String> {
    let patch = overlay["patches"][0]["patch"].as_str()?;
    let ops: Yaml = serde_yaml_ng::from_str(patch).ok()?;
    ops.as_sequence()?
        .iter()
        .find(|op| op["value"]["name"].as_str() == Some("IMAGE_DIGEST"))
        .and_then(|op| op["value"]["value"].as_str())
        .map(str::to_owned)
}

/// `kubectl kustomize DIR`'s container images, when kubectl is installed.
fn rendered_images(dir: &Path) -> Option<Vec<String>> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    Some(
        text.lines()
            .filter_map(|l| l.trim().strip_prefix("image: "))
            .map(str::to_owned)
            .collect(),
    )
}

#[test]
fn the_scaffold_placeholder_fails_every_guard_and_a_pin_replaces_it_with_its_image_digest() {
    let repo = tempfile::tempdir().unwrap();
    copy_tree(
        &bins::workspace_root().join("tests/fixtures/scaffold-monorepo"),
        repo.path(),
    );
    Tool::new("scaffold-service")
        .args(["billing-worker", "--repo"])
        .arg(repo.path())
        .run()
        .expect_code(0);
    let overlays: Vec<PathBuf> = ["staging", "production"]
        .iter()
        .map(|env| {
            repo.path().join(format!(
                "deployments/overlays/{env}/billing-worker/kustomization.yaml"
            ))
        })
        .collect();
    let read =
        |p: &Path| -> Yaml { serde_yaml_ng::from_str(&fs::read_to_string(p).unwrap()).unwrap() };
    let first = read(&overlays[0]);
    let image_repo = first["images"][0]["newName"].as_str().unwrap().to_owned();
    assert_eq!(first["images"][0]["digest"].as_str(), Some(ZEROS));
    assert_eq!(image_digest_var(&first).as_deref(), Some(ZEROS));

    let files: Vec<String> = overlays
        .iter()
        .flat_map(|p| ["-f".to_owned(), p.display().to_string()])
        .collect();
    let tag_image = |head: &[&str], tail: &[&str]| {
        Tool::new("tag-image")
            .args(head)
            .args(&files)
            .args(tail)
            .run()
    };

    // The placeholder fails check --require-digest and pin --check.
    let placeholder = format!("{image_repo}@{ZEROS}");
    let run = Tool::new("tag-image")
        .args(["check", "--require-digest", &placeholder])
        .run();
    run.expect_code(1);
    assert!(
        run.stdout
            .contains(&format!("{placeholder}: error[placeholder]")),
        "{run}"
    );
    let run = tag_image(&["pin", "--check"], &[]);
    run.expect_code(1);
    assert_eq!(
        run.stdout
            .matches("is on the placeholder digest (not built yet)")
            .count(),
        2,
        "{run}"
    );

    // One bare reference pins the one placeholder entry of each overlay,
    // and the IMAGE_DIGEST that /version reports with it.
    let built = format!("{image_repo}:prod-abc1234-billing-worker@{D1}");
    let run = tag_image(&["pin"], &[built.as_str()]);
    run.expect_code(0);
    for overlay in &overlays {
        let y = read(overlay);
        assert_eq!(
            y["images"][0]["newTag"].as_str(),
            Some("prod-abc1234-billing-worker")
        );
        assert_eq!(y["images"][0]["digest"].as_str(), Some(D1));
        assert_eq!(image_digest_var(&y).as_deref(), Some(D1), "{run}");
        if let Some(images) = rendered_images(overlay.parent().unwrap()) {
            assert_eq!(images, std::slice::from_ref(&built));
        }
    }
    tag_image(&["pin", "--check"], &[]).expect_code(0);
    // The next promotion, by name, moves both digests again.
    let next = format!("billing-worker={image_repo}:prod-def5678-billing-worker@{D2}");
    tag_image(&["pin"], &[next.as_str()]).expect_code(0);
    let y = read(&overlays[1]);
    assert_eq!(y["images"][0]["digest"].as_str(), Some(D2));
    assert_eq!(image_digest_var(&y).as_deref(), Some(D2));
    // A digest changed by hand, IMAGE_DIGEST forgotten: --check says so.
    let text = fs::read_to_string(&overlays[1]).unwrap();
    fs::write(
        &overlays[1],
        text.replacen(&format!("digest: {D2}"), &format!("digest: {D3}"), 1),
    )
    .unwrap();
    let run = tag_image(&["pin", "--check"], &[]);
    run.expect_code(1);
    assert!(
        run.stdout.contains(&format!(
            "IMAGE_DIGEST is \"{D2}\", not the image's digest (pin it again to move both)"
        )),
        "{run}"
    );
}

#[test]
fn deploy_sh_refuses_the_placeholder_before_touching_anything() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("runtime.env");
    fs::write(
        &env_file,
        "DATABASE_URL=postgres://app:pl4nted-app-pw@127.0.0.1:1/app\nDATABASE_SERVICE_URL=postgres://svc:pl4nted-svc-pw@127.0.0.1:1/app\n",
    )
    .unwrap();
    let bin_dir = bins::bin("tag-image").parent().unwrap().to_owned();
    let path = format!("{}:/usr/bin:/bin", bin_dir.display());
    // The engine is `false`: the deploy must stop before it is ever called.
    let run = Tool::program(bins::workspace_root().join("scripts/pipeline/deploy.sh"))
        .env("PATH", &path)
        .env("DOCKER", "false")
        .args(["--env-file"])
        .arg(&env_file)
        .args(["--sha", "abc1234", &format!("127.0.0.1:5000/shop@{ZEROS}")])
        .run();
    run.expect_code(1);
    assert!(run.stderr.contains("error[placeholder]"), "{run}");
    assert!(
        run.stderr.contains("the reference check failed (exit 1)"),
        "{run}"
    );
    assert_eq!(run.stdout, "");
}

// ------------------------------------------------------------ tricky YAML

/// What a tricky input must come to.
enum Want {
    /// Rewritten: the parsed `images:` afterwards (YAML), everything else
    /// as before; and a fragment the new text keeps.
    Pinned(String, String),
    /// Refused with exit 2, this on stderr, the file untouched.
    Refused(&'static str),
}

use Want::{Pinned, Refused};

/// Parses YAML, the image entries taken out: a kustomization's `images:`,
/// a compose file's `services.*.image` (as a mapping of service to image).
fn without_images(file: &str, text: &str) -> (Yaml, Yaml) {
    let mut doc: Yaml =
        serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("does not parse ({e}):\n{text}"));
    if file == "compose.yaml" {
        let mut images = serde_yaml_ng::Mapping::new();
        if let Some(services) = doc.get_mut("services").and_then(Yaml::as_mapping_mut) {
            for (name, service) in services.iter_mut() {
                if let Some(image) = service.as_mapping_mut().and_then(|m| m.remove("image")) {
                    images.insert(name.clone(), image);
                }
            }
        }
        return (doc, Yaml::Mapping(images));
    }
    let images = doc
        .as_mapping_mut()
        .and_then(|m| m.remove("images"))
        .unwrap_or(Yaml::Null);
    (doc, images)
}

#[test]
fn tricky_yaml_is_rewritten_right_or_refused_never_broken() {
    let app = format!("ghcr.io/acme/api:prod-abc1234@{D1}");
    let pinned =
        format!("[{{name: api, newName: ghcr.io/acme/api, newTag: prod-abc1234, digest: '{D1}'}}]");
    let untagged = format!("[{{name: api, newName: ghcr.io/acme/api, digest: '{D1}'}}]");
    let p = |keeps: &str| Pinned(pinned.clone(), keeps.to_owned());
    // (what, input, reference, outcome)
    let cases: Vec<(&str, String, String, Want)> = vec![
        (
            "block style",
            "images:\n  - name: api\n    newName: ghcr.io/acme/api\n    newTag: prod-0000000\n".into(),
            app.clone(),
            p("newTag: prod-abc1234\n"),
        ),
        (
            "flow entry",
            "images:\n  - {name: api, newName: ghcr.io/acme/api, newTag: prod-0000000}\n".into(),
            app.clone(),
            Refused("is in flow style ({…} or […]), which pin does not rewrite; write it in block style, one key per line: `- name: api`"),
        ),
        (
            "flow list",
            "images: [{name: api, newName: ghcr.io/acme/api, newTag: prod-0000000}]\nresources: [base]\n".into(),
            app.clone(),
            Refused("write it in block style"),
        ),
        (
            "newTag on the dash line, pinned without a tag",
            "images:\n  - newTag: prod-0000000  # moved by CI\n    name: api\n    newName: ghcr.io/acme/api\n".into(),
            format!("ghcr.io/acme/api@{D1}"),
            Pinned(untagged.clone(), "  - # moved by CI\n".into()),
        ),
        (
            "newTag on the dash line, pinned with a tag",
            "images:\n- newTag: prod-0000000\n  name: api\n  newName: ghcr.io/acme/api\n".into(),
            app.clone(),
            p("- newTag: prod-abc1234\n"),
        ),
        (
            "digest on the dash line",
            format!("images:\n  - digest: {ZEROS}\n    name: api\n    newName: ghcr.io/acme/api\n"),
            app.clone(),
            p(&format!("  - digest: {D1}\n")),
        ),
        (
            "quoted values and comments",
            "# top\nimages: # promoted by CI\n  # the app\n  - name: \"api\"   # short name\n    newName: 'ghcr.io/acme/api'\n    newTag: \"prod-0000000\" # tag\n    # end of api\nnamePrefix: x-\n".into(),
            app.clone(),
            p("    newTag: \"prod-abc1234\" # tag\n"),
        ),
        (
            "CRLF line endings",
            "images:\r\n  - name: api\r\n    newName: ghcr.io/acme/api\r\n    newTag: prod-0000000\r\nresources:\r\n  - base\r\n".into(),
            app.clone(),
            p(&format!("    newTag: prod-abc1234\r\n    digest: {D1}\r\nresources:\r\n")),
        ),
        (
            "no newline at the end",
            "images:\n  - name: api\n    newName: ghcr.io/acme/api\n    newTag: prod-0000000".into(),
            app.clone(),
            p(&format!("newTag: prod-abc1234\n    digest: {D1}")),
        ),
        (
            "a tab in the indentation",
            "images:\n  - name: api\n\tnewName: ghcr.io/acme/api\n".into(),
            app.clone(),
            Refused("line 3: a tab in the indentation (YAML indents with spaces only)"),
        ),
        (
            "a tab after the colon",
            "images:\n  - name: api\n    newName:\tghcr.io/acme/api\n    newTag:\tprod-0000000\n".into(),
            app.clone(),
            p("newTag:\tprod-abc1234\n"),
        ),
        (
            "an anchor on the tag, an alias elsewhere",
            "images:\n  - name: api\n    newName: ghcr.io/acme/api\n    newTag: &t prod-0000000\nlabels:\n  - pairs: {tag: *t}\n".into(),
            app.clone(),
            Refused("line 4: `newTag` is written in a form pin does not rewrite (an anchor, alias"),
        ),
        (
            "an entry that is an alias",
            "x-base: &base\n  name: api\n  newName: ghcr.io/acme/api\nimages:\n  - *base\n".into(),
            app.clone(),
            Refused("is written in a form pin does not rewrite"),
        ),
        (
            "an escape in a quoted value",
            "images:\n  - name: api\n    newName: \"ghcr.io/acme/\\x61pi\"\n    newTag: prod-0000000\n".into(),
            app.clone(),
            Refused("line 3: `newName` is written in a form pin does not rewrite"),
        ),
        (
            "a document start and end",
            "---\nimages:\n  - name: api\n    newName: ghcr.io/acme/api\n    newTag: prod-0000000\n...\n".into(),
            app.clone(),
            p("---\n"),
        ),
        (
            "a second document",
            "images:\n  - name: api\n    newName: ghcr.io/acme/api\n---\nimages: []\n".into(),
            app.clone(),
            Refused("does not parse as YAML"),
        ),
        (
            "a block scalar that mentions an image",
            "images:\n  - name: api\n    newName: ghcr.io/acme/api\n    newTag: prod-0000000\npatches:\n  - patch: |\n      images:\n        - name: api\n          newTag: prod-0000000\n".into(),
            app.clone(),
            p("          newTag: prod-0000000\n"),
        ),
        (
            "compose: quotes, comments and CRLF",
            "services:\r\n  api:\r\n    image: 'ghcr.io/acme/api:prod-0000000' # the app\r\n    command: |\r\n      image: ghcr.io/acme/api:prod-0000000\r\n".into(),
            app.clone(),
            Pinned(
                format!("{{api: '{app}'}}"),
                format!("    image: '{app}' # the app\r\n"),
            ),
        ),
        (
            "compose: a service in flow style",
            "services:\n  api: {image: ghcr.io/acme/api:prod-0000000, restart: always}\n".into(),
            app.clone(),
            Refused("services.api.image has no line of its own (it comes from an anchor, an alias or a merge key, or is in flow style); write `image:` under the service, in block style"),
        ),
        (
            "compose: an image from a merge key",
            "x-base: &base\n  image: ghcr.io/acme/api:prod-0000000\nservices:\n  api:\n    <<: *base\n    restart: always\n".into(),
            app.clone(),
            Refused("services.api.image has no line of its own"),
        ),
        (
            "compose: an anchored image value used twice",
            "services:\n  api:\n    image: &img ghcr.io/acme/api:prod-0000000\n  web:\n    image: *img\n".into(),
            app.clone(),
            Refused("is written in a form pin does not rewrite"),
        ),
    ];
    let mut failures = Vec::new();
    for (what, input, reference, want) in &cases {
        let dir = tempfile::tempdir().unwrap();
        let name = if what.starts_with("compose:") {
            "compose.yaml"
        } else {
            "kustomization.yaml"
        };
        let file = dir.path().join(name);
        fs::write(&file, input).unwrap();
        let run = Tool::new("tag-image")
            .current_dir(dir.path())
            .args(["pin", "-f", name, reference])
            .run();
        let after = fs::read_to_string(&file).unwrap();
        let problem = match want {
            Pinned(images, keeps) => {
                if run.code == Some(0) {
                    let (rest_before, _) = without_images(name, input);
                    let (rest_after, images_after) = without_images(name, &after);
                    let want_images: Yaml = serde_yaml_ng::from_str(images).unwrap();
                    let keeps = keeps.as_str();
                    if rest_before != rest_after {
                        Some("something besides the images changed".into())
                    } else if images_after != want_images {
                        Some(format!("images are {images_after:?}"))
                    } else if !after.contains(keeps) {
                        Some(format!("the new text lacks {keeps:?}"))
                    } else if !run.stdout.starts_with(&format!("--- a/{name}\n")) {
                        Some("no diff on stdout".into())
                    } else if input.contains('\r') && after.replace("\r\n", "").contains('\n') {
                        Some("a line lost its CRLF".into())
                    } else {
                        None
                    }
                } else {
                    Some(format!("exit {:?}, want 0", run.code))
                }
            }
            Refused(message) => {
                if run.code != Some(2) {
                    Some(format!("exit {:?}, want 2", run.code))
                } else if after != *input {
                    Some("the file changed".into())
                } else if !run.stderr.starts_with(&format!("tag-image: {name}: "))
                    || !run.stderr.contains(message)
                    || run.stderr.lines().count() != 1
                {
                    Some(format!("stderr lacks {message:?}"))
                } else if !run.stdout.is_empty() {
                    Some("stdout is not empty".into())
                } else {
                    None
                }
            }
        };
        if let Some(p) = problem {
            failures.push(format!(
                "{what}: {p}\n--- input:\n{input}\n--- after:\n{after}\n{run}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn pin_check_fails_on_entries_it_cannot_read_or_that_are_not_built() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("kustomization.yaml"),
        format!(
            "images: [{{name: api, newName: ghcr.io/acme/api, digest: '{ZEROS}'}}, {{name: web, newTag: v1}}, {{newTag: x}}]\n"
        ),
    )
    .unwrap();
    fs::write(
        dir.path().join("compose.yaml"),
        format!("services:\n  api: {{image: 'ghcr.io/acme/api@{D1}'}}\n  web:\n    image: 7\n"),
    )
    .unwrap();
    let run = Tool::new("tag-image")
        .current_dir(dir.path())
        .args([
            "pin",
            "--check",
            "-f",
            "kustomization.yaml",
            "-f",
            "compose.yaml",
        ])
        .run();
    run.expect_code(1);
    assert_eq!(
        run.stdout,
        format!(
            "kustomization.yaml:1: images[name=api]: ghcr.io/acme/api@{ZEROS} is on the placeholder digest (not built yet)\n\
             kustomization.yaml:1: images[name=web]: web:v1 is not pinned by digest\n\
             kustomization.yaml:1: images[2]: could not be read (line 1: images[2] has no name)\n\
             compose.yaml:4: services.web.image: could not be read (services.web.image is not a text)\n"
        ),
        "{run}"
    );
    assert_eq!(
        run.stderr,
        "tag-image: 4 image entr(ies) not pinned by digest, on the placeholder, unreadable or stale\n"
    );
    let run = Tool::new("tag-image")
        .current_dir(dir.path())
        .args(["pin", "--check", "--json", "-f", "kustomization.yaml"])
        .run();
    run.expect_code(1);
    let reasons: Vec<String> = run.json()["unpinned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            format!(
                "{}={}",
                u["name"].as_str().unwrap(),
                u["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        reasons,
        ["api=placeholder", "web=no-digest", "images[2]=unreadable"]
    );
}
