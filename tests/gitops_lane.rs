//! The GitOps lane `scaffold-service` generates, checked by the real tools:
//! every overlay is rendered by the upstream kustomize (`kubectl
//! kustomize`), before and after `tag-image pin`, every rendered object must
//! pass `kubernetes-validate --strict` for the newest Kubernetes it knows,
//! and the Argo CD objects must pass validators compiled from Argo CD's own
//! CRDs (`tests/support/k8s.rs`; `scripts/setup` installs all three). Two
//! services are scaffolded in a row, as a user adds them, the second reusing
//! what the first created.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use deploykit_tests::bins::workspace_root;
use deploykit_tests::k8s;
use deploykit_tests::{Run, Tool};
use serde_json::{Value as Json, json};

use super::scaffold_service::sample;

const ZEROS: &str = deploykit::imageref::PLACEHOLDER_DIGEST;

fn scaffold(repo: &Path, args: &[&str]) -> Run {
    Tool::new("scaffold-service")
        .args(args)
        .arg("--repo")
        .arg(repo)
        .run()
}

/// The two services of the sample: `billing-worker` with a migration Job
/// and a pull secret on the repo's default repository, then `api` on a
/// registry of its own.
fn two_services() -> tempfile::TempDir {
    let repo = sample();
    scaffold(
        repo.path(),
        &[
            "billing-worker",
            "--migrate",
            "--image-pull-secret",
            "regcred",
        ],
    )
    .expect_code(0);
    scaffold(
        repo.path(),
        &["api", "--image-repo", "127.0.0.1:5000/shop/api"],
    )
    .expect_code(0);
    repo
}

/// `deployments/overlays/<env>/<service>` directories: `(env, service, dir)`.
fn overlays(repo: &Path) -> Vec<(String, String, PathBuf)> {
    let mut out = Vec::new();
    let root = repo.join("deployments/overlays");
    for env in std::fs::read_dir(&root).expect("overlays/").flatten() {
        for svc in std::fs::read_dir(env.path())
            .expect("overlays/ENV")
            .flatten()
        {
            out.push((
                env.file_name().to_string_lossy().into_owned(),
                svc.file_name().to_string_lossy().into_owned(),
                svc.path(),
            ));
        }
    }
    out.sort();
    out
}

fn kind<'a>(objects: &'a [Json], kind: &str) -> Vec<&'a Json> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn pod_spec(o: &Json) -> &Json {
    &o["spec"]["template"]["spec"]
}

/// Every container's image, by `kind/container`.
fn images(objects: &[Json]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for o in objects {
        for c in pod_spec(o)["containers"].as_array().into_iter().flatten() {
            out.insert(
                format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap_or(""),
                    c["name"].as_str().unwrap_or("")
                ),
                c["image"].as_str().unwrap_or("").to_owned(),
            );
        }
    }
    out
}

fn env_var<'a>(deployment: &'a Json, service: &str, var: &str) -> &'a Json {
    let container = pod_spec(deployment)["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == service))
        .unwrap_or_else(|| panic!("no container {service}"));
    container["env"]
        .as_array()
        .and_then(|e| e.iter().find(|v| v["name"] == var))
        .unwrap_or_else(|| panic!("{service} has no {var}"))
}

/// What every rendered overlay must hold, whatever it pins.
fn check_lane(env: &str, service: &str, objects: &[Json], migrate: bool, pull_secret: bool) {
    let ctx = format!("{env}/{service}");
    for o in objects {
        let what = format!("{ctx}: {} {}", o["kind"], o["metadata"]["name"]);
        assert_eq!(o["metadata"]["namespace"], env, "{what}: namespace");
        assert_eq!(o["metadata"]["labels"]["environment"], env, "{what}: label");
        if o["spec"]["template"].is_object() {
            assert_eq!(
                o["spec"]["template"]["metadata"]["labels"]["environment"], env,
                "{what}: pod template label"
            );
        }
    }
    let deployments = kind(objects, "Deployment");
    assert_eq!(deployments.len(), 1, "{ctx}");
    let deployment = deployments[0];
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];

    // A Service selecting the pods, with the health port at least.
    let services = kind(objects, "Service");
    assert_eq!(services.len(), 1, "{ctx}");
    let svc = services[0];
    for (k, v) in svc["spec"]["selector"].as_object().expect("selector") {
        assert_eq!(&pod_labels[k], v, "{ctx}: the Service selects the pods");
    }
    assert!(
        svc["spec"]["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .any(|p| p["name"] == "health" && p["port"] == 9000 && p["targetPort"] == "health"),
        "{ctx}: {svc}"
    );

    // Production keeps a replica up during drains, and needs its Secret.
    let pdbs = kind(objects, "PodDisruptionBudget");
    let secret = &env_var(deployment, service, "DATABASE_URL")["valueFrom"]["secretKeyRef"];
    assert_eq!(secret["name"], format!("{service}-secrets"), "{ctx}");
    if env == "production" {
        assert_eq!(deployment["spec"]["replicas"], 2, "{ctx}");
        assert_eq!(pdbs.len(), 1, "{ctx}");
        assert_eq!(pdbs[0]["spec"]["minAvailable"], 1, "{ctx}");
        for (k, v) in pdbs[0]["spec"]["selector"]["matchLabels"]
            .as_object()
            .expect("matchLabels")
        {
            assert_eq!(&pod_labels[k], v, "{ctx}: the PDB selects the pods");
        }
        assert_eq!(secret["optional"], false, "{ctx}: {secret}");
    } else {
        assert!(pdbs.is_empty(), "{ctx}");
        assert_eq!(secret["optional"], true, "{ctx}: {secret}");
    }

    // The migration Job, a PreSync hook, only with --migrate.
    let jobs = kind(objects, "Job");
    if migrate {
        assert_eq!(jobs.len(), 1, "{ctx}");
        assert_eq!(
            jobs[0]["metadata"]["annotations"]["argocd.argoproj.io/hook"], "PreSync",
            "{ctx}"
        );
    } else {
        assert!(jobs.is_empty(), "{ctx}");
    }
    let pull: Json = if pull_secret {
        json!([{ "name": "regcred" }])
    } else {
        Json::Null
    };
    for o in deployments.iter().chain(&jobs) {
        assert_eq!(
            pod_spec(o)["imagePullSecrets"],
            pull,
            "{ctx}: {}",
            o["kind"]
        );
    }
}

/// `DIGEST` made of one repeated hex digit.
fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

#[test]
fn every_overlay_renders_validates_and_carries_exactly_what_is_pinned() {
    let repo = two_services();
    let overlays = overlays(repo.path());
    let names: Vec<String> = overlays
        .iter()
        .map(|(e, s, _)| format!("{e}/{s}"))
        .collect();
    assert_eq!(
        names,
        [
            "production/api",
            "production/billing-worker",
            "staging/api",
            "staging/billing-worker"
        ]
    );
    let billing = "ghcr.io/acme/monorepo";
    let api = "127.0.0.1:5000/shop/api";

    // As generated: the placeholder, on each service's repository.
    for (env, service, dir) in &overlays {
        let text = k8s::kustomize_text(dir).unwrap_or_else(|e| panic!("{env}/{service}: {e}"));
        let objects = k8s::documents(&text);
        let billing_worker = service == "billing-worker";
        check_lane(env, service, &objects, billing_worker, billing_worker);
        let mut want = BTreeMap::new();
        if billing_worker {
            want.insert(
                "Deployment/billing-worker".to_owned(),
                format!("{billing}@{ZEROS}"),
            );
            want.insert("Job/migrate".to_owned(), format!("{billing}@{ZEROS}"));
        } else {
            want.insert("Deployment/api".to_owned(), format!("{api}@{ZEROS}"));
        }
        assert_eq!(images(&objects), want, "{env}/{service}");
        k8s::validate_strict(&text).unwrap_or_else(|e| panic!("{env}/{service}: {e}"));
    }

    // Pinned: by entry name where one repository holds the app and its
    // migrator, by bare reference where the entry is alone, with and
    // without a tag.
    let pins: [(&str, &str, Vec<String>); 4] = [
        (
            "production",
            "billing-worker",
            vec![
                format!("billing-worker={billing}:prod-abc1234@{}", digest('a')),
                format!(
                    "billing-worker-migrate={billing}:prod-abc1234-migrate@{}",
                    digest('b')
                ),
            ],
        ),
        (
            "staging",
            "billing-worker",
            vec![
                format!("billing-worker={billing}@{}", digest('c')),
                format!(
                    "billing-worker-migrate={billing}:staging-abc1234-migrate@{}",
                    digest('d')
                ),
            ],
        ),
        (
            "production",
            "api",
            vec![format!("{api}:prod-abc1234@{}", digest('e'))],
        ),
        ("staging", "api", vec![format!("{api}@{}", digest('f'))]),
    ];
    for (env, service, refs) in &pins {
        let file = repo.path().join(format!(
            "deployments/overlays/{env}/{service}/kustomization.yaml"
        ));
        Tool::new("tag-image")
            .args(["pin", "-f"])
            .arg(&file)
            .args(refs)
            .run()
            .expect_code(0);
        Tool::new("tag-image")
            .args(["pin", "--check", "-f"])
            .arg(&file)
            .run()
            .expect_code(0);
    }
    let want: BTreeMap<&str, Vec<(&str, String)>> = BTreeMap::from([
        (
            "production/billing-worker",
            vec![
                (
                    "Deployment/billing-worker",
                    format!("{billing}:prod-abc1234@{}", digest('a')),
                ),
                (
                    "Job/migrate",
                    format!("{billing}:prod-abc1234-migrate@{}", digest('b')),
                ),
            ],
        ),
        (
            "staging/billing-worker",
            vec![
                (
                    "Deployment/billing-worker",
                    format!("{billing}@{}", digest('c')),
                ),
                (
                    "Job/migrate",
                    format!("{billing}:staging-abc1234-migrate@{}", digest('d')),
                ),
            ],
        ),
        (
            "production/api",
            vec![(
                "Deployment/api",
                format!("{api}:prod-abc1234@{}", digest('e')),
            )],
        ),
        (
            "staging/api",
            vec![("Deployment/api", format!("{api}@{}", digest('f')))],
        ),
    ]);
    for (env, service, dir) in &overlays {
        let key = format!("{env}/{service}");
        let text = k8s::kustomize_text(dir).unwrap_or_else(|e| panic!("{key} after the pin: {e}"));
        let objects = k8s::documents(&text);
        let billing_worker = service == "billing-worker";
        check_lane(env, service, &objects, billing_worker, billing_worker);
        let expected: BTreeMap<String, String> = want[key.as_str()]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        assert_eq!(images(&objects), expected, "{key}");
        // /version reports the app's digest, pinned with the image.
        let app = &expected[&format!("Deployment/{service}")];
        let app_digest = app.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        let deployment = kind(&objects, "Deployment")[0];
        assert_eq!(
            env_var(deployment, service, "IMAGE_DIGEST")["value"],
            app_digest,
            "{key}"
        );
        k8s::validate_strict(&text).unwrap_or_else(|e| panic!("{key} after the pin: {e}"));
    }
}

#[test]
fn the_validators_reject_what_is_wrong() {
    // The checks above can fail: a field Kubernetes does not know, and an
    // ApplicationSet whose generators are not a list.
    let bad = "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  portz: []\n";
    assert!(k8s::validate_strict(bad).is_err());
    let appset = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": { "name": "x", "namespace": "argocd" },
        "spec": { "generators": "deployments/overlays/*/*", "template": {} }
    });
    let err = k8s::validate_argo(&[appset]).expect_err("generators must be a list");
    assert!(err.contains("ApplicationSet/x"), "{err}");
}

/// What the ApplicationSet's template makes of one overlay directory, as
/// Argo CD's git directory generator fills it in (`path.segments`,
/// `path.basename`, `path.path`), with its `templatePatch` applied.
fn application(appset: &Json, path: &str) -> Json {
    let segments: Vec<&str> = path.split('/').collect();
    let fill = |text: &str| {
        text.replace("{{ index .path.segments 2 }}", segments[2])
            .replace("{{ .path.basename }}", segments[segments.len() - 1])
            .replace("{{ .path.path }}", path)
            .replace(
                r#"{{ eq (index .path.segments 2) "staging" }}"#,
                if segments[2] == "staging" {
                    "true"
                } else {
                    "false"
                },
            )
    };
    let template = serde_json::to_string(&appset["spec"]["template"]).expect("JSON");
    let mut app: Json = serde_json::from_str(&fill(&template)).expect("filled template");
    assert!(
        !app.to_string().contains("{{"),
        "an unfilled template field: {app}"
    );
    let template_patch: Json = serde_yaml_ng::from_str(&fill(
        appset["spec"]["templatePatch"]
            .as_str()
            .expect("templatePatch"),
    ))
    .expect("templatePatch is YAML");
    app["spec"]["syncPolicy"]["automated"]["prune"] =
        template_patch["spec"]["syncPolicy"]["automated"]["prune"].clone();
    app["apiVersion"] = json!("argoproj.io/v1alpha1");
    app["kind"] = json!("Application");
    app["metadata"]["namespace"] = json!("argocd");
    app
}

#[test]
fn argo_cd_syncs_every_overlay_through_one_project_and_applicationset() {
    let repo = two_services();
    let objects = k8s::kustomize(&repo.path().join("deployments/argocd"));
    k8s::validate_argo(&objects).unwrap_or_else(|e| panic!("{e}"));
    let project = kind(&objects, "AppProject");
    let appset = kind(&objects, "ApplicationSet");
    assert_eq!((project.len(), appset.len(), objects.len()), (1, 1, 2));
    let (project, appset) = (project[0], appset[0]);

    let git = &appset["spec"]["generators"][0]["git"];
    assert_eq!(
        git["directories"],
        json!([{ "path": "deployments/overlays/*/*" }])
    );
    let repo_url = "https://github.com/Acme/monorepo.git";
    assert_eq!(git["repoURL"], repo_url);
    assert_eq!(project["spec"]["sourceRepos"], json!([repo_url]));
    assert_eq!(appset["spec"]["goTemplate"], true);

    // The Applications the generator makes of the overlays on disk: one per
    // overlay, each valid, in its project, into its environment's
    // namespace, automated, pruning in staging only.
    let destinations = project["spec"]["destinations"]
        .as_array()
        .expect("destinations");
    let mut apps = Vec::new();
    for (env, service, _) in overlays(repo.path()) {
        let app = application(appset, &format!("deployments/overlays/{env}/{service}"));
        assert_eq!(app["metadata"]["name"], format!("{env}-{service}"));
        assert_eq!(app["spec"]["project"], project["metadata"]["name"]);
        assert_eq!(app["spec"]["source"]["repoURL"], repo_url);
        let dest = &app["spec"]["destination"];
        assert_eq!(dest["namespace"], env.as_str());
        assert!(
            destinations
                .iter()
                .any(|d| d["namespace"] == dest["namespace"] && d["server"] == dest["server"]),
            "{env}/{service}: the project does not allow {dest}"
        );
        let automated = &app["spec"]["syncPolicy"]["automated"];
        assert_eq!(automated["selfHeal"], true, "{env}/{service}");
        assert_eq!(automated["prune"], env == "staging", "{env}/{service}");
        apps.push(app);
    }
    assert_eq!(apps.len(), 4);
    k8s::validate_argo(&apps).unwrap_or_else(|e| panic!("{e}"));

    // And the files say how each environment is synced.
    let appset_text =
        std::fs::read_to_string(repo.path().join("deployments/argocd/applicationset.yaml"))
            .expect("applicationset.yaml");
    assert!(
        appset_text.contains("staging: automated sync"),
        "{appset_text}"
    );
    assert!(appset_text.contains("production: synced automatically too, but only ever to what its overlay\n#   pins by digest"), "{appset_text}");
    let production = std::fs::read_to_string(
        repo.path()
            .join("deployments/overlays/production/api/kustomization.yaml"),
    )
    .expect("overlay");
    assert!(
        production.contains("Argo CD syncs what\n# this overlay pins and nothing else"),
        "{production}"
    );
}

fn shared_files(repo: &Path) -> BTreeMap<String, Vec<u8>> {
    let dir = repo.join("deployments/argocd");
    std::fs::read_dir(&dir)
        .expect("deployments/argocd")
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

#[test]
fn the_next_service_reuses_the_shared_files_as_they_are() {
    let repo = sample();
    scaffold(repo.path(), &["billing-worker"]).expect_code(0);
    let first = shared_files(repo.path());
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        [
            "applicationset.yaml",
            "appproject.yaml",
            "kustomization.yaml"
        ]
    );

    let dry = Tool::new("scaffold-service")
        .args(["api", "--dry-run", "--json", "--repo"])
        .arg(repo.path())
        .run();
    dry.expect_code(0);
    assert_eq!(
        dry.json()["reused"],
        json!([
            "deployments/argocd/applicationset.yaml",
            "deployments/argocd/appproject.yaml",
            "deployments/argocd/kustomization.yaml"
        ]),
        "{dry}"
    );
    let run = scaffold(repo.path(), &["api"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("reuse deployments/argocd/applicationset.yaml (shared by every service)\n"),
        "{run}"
    );
    assert!(!run.stdout.contains("create deployments/argocd/"), "{run}");
    assert!(!run.stderr.contains("differs"), "{run}");
    assert_eq!(
        shared_files(repo.path()),
        first,
        "the second service rewrote a shared file"
    );
    for service in ["billing-worker", "api"] {
        Tool::new("scaffold-service")
            .args(["check", service, "--repo"])
            .arg(repo.path())
            .run()
            .expect_code(0);
    }

    // A shared file the user has since edited is kept as it is, and said so.
    let project = repo.path().join("deployments/argocd/appproject.yaml");
    let edited = format!(
        "{}# reviewed\n",
        std::fs::read_to_string(&project).expect("read")
    );
    std::fs::write(&project, &edited).expect("write");
    let run = scaffold(repo.path(), &["mailer"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("deployments/argocd/appproject.yaml differs from what the template generates; kept as it is"),
        "{run}"
    );
    assert_eq!(std::fs::read_to_string(&project).expect("read"), edited);
    assert!(
        repo.path()
            .join("deployments/overlays/production/mailer/pdb.yaml")
            .is_file()
    );
}

#[test]
fn an_image_repo_with_a_tag_is_refused_and_nothing_written() {
    let repo = sample();
    let run = scaffold(
        repo.path(),
        &["api", "--image-repo", "127.0.0.1:5000/shop/api:v1"],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("has a tag (v1)"), "{run}");
    assert!(!repo.path().join("deployments").exists());
    assert!(!repo.path().join("services").exists());
}

// ------------------------------------------------------------- promote.sh

const GIT_IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "CI"),
    ("GIT_AUTHOR_EMAIL", "ci@example.invalid"),
    ("GIT_COMMITTER_NAME", "CI"),
    ("GIT_COMMITTER_EMAIL", "ci@example.invalid"),
];

#[track_caller]
fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .envs(GIT_IDENTITY)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("running git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The two services' monorepo as a git checkout with one commit.
fn checkout() -> tempfile::TempDir {
    let repo = two_services();
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "two services"]);
    repo
}

fn promote(repo: &Path, args: &[&str]) -> Run {
    let tools = deploykit_tests::bins::bin("tag-image")
        .parent()
        .expect("target dir")
        .display()
        .to_string();
    let path = format!(
        "{tools}:{}:/usr/local/bin:/usr/bin:/bin",
        k8s::bin_dir().display()
    );
    Tool::program(workspace_root().join("scripts/pipeline/promote.sh"))
        .env("PATH", path)
        .envs(
            &GIT_IDENTITY
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
        .current_dir(repo)
        .args(args)
        .run()
}

/// What a refused promotion must leave alone: every file of the checkout,
/// its HEAD, branches and index.
fn state(repo: &Path) -> (BTreeMap<String, Vec<u8>>, String) {
    let mut files = BTreeMap::new();
    for line in git(repo, &["ls-files", "-co", "--exclude-standard"]).lines() {
        files.insert(
            line.to_owned(),
            std::fs::read(repo.join(line)).expect("read"),
        );
    }
    let refs = git(repo, &["for-each-ref", "--format=%(refname) %(objectname)"])
        + &git(repo, &["rev-parse", "HEAD"])
        + &git(repo, &["status", "--porcelain", "--untracked-files=all"]);
    (files, refs)
}

const OVERLAY: &str = "deployments/overlays/production/billing-worker/kustomization.yaml";

fn billing_pins() -> [String; 2] {
    [
        format!(
            "billing-worker=ghcr.io/acme/monorepo:prod-abc1234@{}",
            digest('a')
        ),
        format!(
            "billing-worker-migrate=ghcr.io/acme/monorepo:prod-abc1234-migrate@{}",
            digest('b')
        ),
    ]
}

#[test]
fn promote_commits_the_pins_on_a_branch_and_its_revert_restores_the_overlay() {
    let repo = checkout();
    let root = repo.path();
    let before = std::fs::read(root.join(OVERLAY)).expect("overlay");
    let head = git(root, &["rev-parse", "HEAD"]);
    let pins = billing_pins();
    let run = promote(root, &["--env", "production", &pins[0], &pins[1]]);
    run.expect_code(0);
    let branch = "promote/production/billing-worker-aaaaaaaaaaaa+1";
    assert_eq!(run.stdout, format!("{branch}\n"), "{run}");

    // The checkout is as it was: same branch, same commit, nothing modified.
    assert_eq!(git(root, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(root, &["branch", "--show-current"]), "main\n");
    assert_eq!(
        git(root, &["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    assert_eq!(std::fs::read(root.join(OVERLAY)).expect("overlay"), before);

    // One commit on HEAD, changing that overlay only, saying what moved.
    assert_eq!(git(root, &["rev-parse", &format!("{branch}^")]), head);
    assert_eq!(
        git(root, &["diff", "--name-only", head.trim(), branch]),
        format!("{OVERLAY}\n")
    );
    let message = git(root, &["log", "-1", "--format=%B", branch]);
    assert!(
        message.starts_with("promote production: billing-worker billing-worker-migrate\n"),
        "{message}"
    );
    assert!(
        message.contains(&format!("billing-worker: {ZEROS} -> {}\n", digest('a'))),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "billing-worker-migrate: {ZEROS} -> {}\n",
            digest('b')
        )),
        "{message}"
    );

    // The branch renders the pinned images, and passes the pin check.
    git(root, &["switch", "-q", branch]);
    let objects = k8s::kustomize(&root.join("deployments/overlays/production/billing-worker"));
    assert_eq!(
        images(&objects),
        BTreeMap::from([
            (
                "Deployment/billing-worker".to_owned(),
                format!("ghcr.io/acme/monorepo:prod-abc1234@{}", digest('a'))
            ),
            (
                "Job/migrate".to_owned(),
                format!("ghcr.io/acme/monorepo:prod-abc1234-migrate@{}", digest('b'))
            ),
        ])
    );
    Tool::new("tag-image")
        .args(["pin", "--check", "-f"])
        .arg(root.join(OVERLAY))
        .run()
        .expect_code(0);

    // Rolling back is reverting the commit: the overlay is back byte for byte.
    git(root, &["revert", "--no-edit", "HEAD"]);
    assert_eq!(std::fs::read(root.join(OVERLAY)).expect("overlay"), before);
}

#[test]
fn promote_refuses_bad_input_and_changes_nothing() {
    let repo = checkout();
    let root = repo.path();
    let pins = billing_pins();
    let unpinned = "billing-worker=ghcr.io/acme/monorepo:prod-abc1234".to_owned();
    let unknown = format!("nope=ghcr.io/acme/monorepo@{}", digest('a'));
    let bare = format!("ghcr.io/acme/monorepo:prod-abc1234@{}", digest('a'));
    let cases: [(&str, Vec<&str>, &str); 6] = [
        ("no --env", vec![&pins[0]], "--env is required"),
        (
            "unknown env",
            vec!["--env", "qa", &pins[0]],
            "overlays/qa is not a directory",
        ),
        (
            "unpinned REF",
            vec!["--env", "production", &unpinned],
            "not pinned by digest",
        ),
        (
            "unknown NAME",
            vec!["--env", "production", &unknown],
            "nope",
        ),
        (
            "bare REF",
            vec!["--env", "production", &bare],
            "give NAME=REF",
        ),
        ("nothing to pin", vec!["--env", "production"], "NAME=REF"),
    ];
    for (what, args, says) in &cases {
        let before = state(root);
        let run = promote(root, args);
        run.expect_code(2);
        assert!(run.stderr.contains(says), "{what}: {run}");
        assert_eq!(run.stdout, "", "{what}");
        assert!(state(root) == before, "{what}: the checkout changed");
    }

    // A dirty checkout: an edit, then an untracked file.
    let readme = root.join("package.json");
    let original = std::fs::read(&readme).expect("read");
    std::fs::write(&readme, b"{}\n").expect("write");
    for dirt in ["modified", "untracked"] {
        let before = state(root);
        let run = promote(root, &["--env", "production", &pins[0], &pins[1]]);
        run.expect_code(2);
        assert!(
            run.stderr.contains("uncommitted or untracked"),
            "{dirt}: {run}"
        );
        assert!(state(root) == before, "{dirt}: the checkout changed");
        std::fs::write(&readme, &original).expect("restore");
        std::fs::write(root.join("notes.txt"), b"todo\n").expect("write");
    }
    std::fs::remove_file(root.join("notes.txt")).expect("rm");

    // A pin that leaves the overlay's migrator on the placeholder fails the
    // check: exit 1, nothing kept.
    let before = state(root);
    let run = promote(root, &["--env", "production", &pins[0]]);
    run.expect_code(1);
    assert!(run.stderr.contains("nothing kept"), "{run}");
    assert!(
        state(root) == before,
        "a failed check left something behind"
    );

    // The same promotion twice: the branch exists, the second is refused.
    promote(root, &["--env", "production", &pins[0], &pins[1]]).expect_code(0);
    let before = state(root);
    let run = promote(root, &["--env", "production", &pins[0], &pins[1]]);
    run.expect_code(2);
    assert!(run.stderr.contains("exists already"), "{run}");
    assert!(state(root) == before);
}

#[test]
fn promote_pushes_the_branch_to_a_remote() {
    let repo = checkout();
    let root = repo.path();
    let remote = tempfile::tempdir().expect("tempdir");
    git(remote.path(), &["init", "-q", "--bare"]);
    git(
        root,
        &[
            "remote",
            "add",
            "origin",
            &remote.path().display().to_string(),
        ],
    );
    let pins = billing_pins();
    let run = promote(
        root,
        &["--env", "prod", "--push", "origin", &pins[0], &pins[1]],
    );
    run.expect_code(0);
    let branch = run.stdout.trim();
    assert_eq!(branch, "promote/production/billing-worker-aaaaaaaaaaaa+1");
    assert_eq!(
        git(
            remote.path(),
            &["rev-parse", &format!("refs/heads/{branch}")]
        ),
        git(root, &["rev-parse", &format!("refs/heads/{branch}")])
    );

    // A remote that refuses: exit 3, the branch kept locally.
    let pins = [format!(
        "api=127.0.0.1:5000/shop/api:prod-abc1234@{}",
        digest('e')
    )];
    let run = promote(
        root,
        &["--env", "production", "--push", "nowhere", &pins[0]],
    );
    run.expect_code(3);
    assert!(run.stderr.contains("the branch is kept locally"), "{run}");
}
