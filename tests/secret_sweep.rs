//! The secret sweep: every tool, on its success and error paths, with the
//! planted secrets of `deploykit_tests::PLANTED` in its DSNs, variables,
//! files and arguments. `Tool::run` fails the test if any of them appears
//! on stdout or stderr; these cases go out of their way to reach the paths
//! where a secret could slip into a message.

use deploykit_tests::Tool;

/// DSNs that hold a planted password in every position a parser could
/// quote back: valid, and broken before, at and after the password.
const DSNS: &[&str] = &[
    "postgres://app:Pl4nted-Secret-7x@db:5432/app",
    "postgres://app:Pl4nted-Secret-7x@[::1",
    "postgres://app:Pl4nted-Secret-7x@[]",
    "postgres://app:Pl4nted-Secret-7x@[::1]z/app",
    "postgres://app:Pl4nted-Secret-7x%zz@db/app",
    "postgres://app:Pl4nted-Secret-7x%00@db/app",
    "postgres://app@db/app?password=Pl4nted-Secret-7x%zz",
    "postgres://app@db/app?password=Pl4nted-Secret-7x&sslmode=bogus",
    "postgres://app@db/app?password=Pl4nted-Secret-7x&port=x",
    "postgres://app:Pl4nted-Secret-7x@db/app?sslpassword=pl4nted-token&nope=1",
    "host=db password=Pl4nted-Secret-7x dbname",
    "host=db password='Pl4nted-Secret-7x",
    "host=db password=Pl4nted-Secret-7x sslmode=bogus",
    "user=app password=Pl4nted-Secret-7x",
];

#[test]
fn validate_dsns_never_prints_a_planted_secret() {
    for dsn in DSNS {
        for args in [&["explain"][..], &["explain", "--json"], &["explain", "-v"]] {
            Tool::new("validate-dsns").args(args).arg(dsn).run();
        }
        Tool::new("validate-dsns")
            .args(["explain", "-"])
            .stdin(*dsn)
            .run();
        for var in ["DATABASE_ROOT_URL", "DATABASE_URL", "DATABASE_SERVICE_URL"] {
            for args in [
                &[][..],
                &["--json"],
                &["--runtime", "-v"],
                &["--env", "production", "--strict"],
            ] {
                Tool::new("validate-dsns").args(args).env(var, dsn).run();
            }
        }
        Tool::new("validate-dsns")
            .args(["--url", dsn, "--service-url", dsn, "--root-url", dsn])
            .run();
    }
}

/// Passwords with an unencoded `/` (base64 passwords have `/`, `+` and
/// `=`): libpq ends the host and port at the first `/`, so each planted
/// piece lands in the port, the database name or the query.
const SLASH_DSNS: &[&str] = &[
    "postgres://app:Pl4nted-Secret-7x/pl4nted-token@127.0.0.1:5432/shop",
    "postgres://app:Pl4nted-Secret-7x:s/pl4nted-token+Q=@127.0.0.1:5432/shop",
    "postgres://app:Pl4nted-Secret-7x%zz/+pl4nted-token=@db/shop",
    "postgres://app:/Pl4nted-Secret-7x+pl4nted-token==@127.0.0.1:5432/shop",
    "postgres://app:5432/Pl4nted-Secret-7x+/pl4nted-token=@db/shop",
    "postgres://app:1/x?Pl4nted-Secret-7x=+/pl4nted-token@db/shop",
    "postgres://db:5432,app:Pl4nted-Secret-7x/pl4nted-token=@db/shop",
];

#[test]
fn a_password_with_an_unencoded_slash_is_never_printed() {
    let asks_to_encode = |run: &deploykit_tests::Run| {
        assert!(
            run.stderr.contains("percent-encode the password")
                || run.stdout.contains("percent-encode the password"),
            "the message says what to do\n{run}"
        );
    };
    for dsn in SLASH_DSNS {
        for args in [&["explain"][..], &["explain", "--json"], &["explain", "-v"]] {
            let run = Tool::new("validate-dsns").args(args).arg(dsn).run();
            run.expect_code(2);
            asks_to_encode(&run);
        }
        for args in [&[][..], &["--json"], &["--connect", "--timeout", "1s"]] {
            let run = Tool::new("validate-dsns")
                .args(args)
                .env("DATABASE_URL", dsn)
                .env("DATABASE_SERVICE_URL", dsn)
                .env("DATABASE_ROOT_URL", dsn)
                .run();
            run.expect_code(2);
            asks_to_encode(&run);
        }
        for args in [&[][..], &["--plan"], &["--check", "--json"]] {
            let run = Tool::new("provision-db")
                .args(args)
                .args(["--timeout", "1s"])
                .env(
                    "DATABASE_URL",
                    "postgres://app:pl4nted-app-pw@127.0.0.1:1/shop",
                )
                .env(
                    "DATABASE_SERVICE_URL",
                    "postgres://svc:pl4nted-svc-pw@127.0.0.1:1/shop",
                )
                .env("DATABASE_ROOT_URL", dsn)
                .run();
            run.expect_code(2);
            asks_to_encode(&run);
        }
        for args in [&[][..], &["--json"], &["-v"]] {
            let run = Tool::new("wait-probe")
                .args(args)
                .args(["--budget", "1s"])
                .arg(dsn)
                .run();
            run.expect_code(2);
            asks_to_encode(&run);
            let run = Tool::new("wait-probe")
                .args(args)
                .args(["--budget", "1s", "env:DATABASE_URL"])
                .env("DATABASE_URL", dsn)
                .run();
            run.expect_code(2);
            asks_to_encode(&run);
        }
    }
}

#[test]
fn validate_dsns_help_and_usage_errors_hide_environment_values() {
    let secret_env = |tool: Tool| {
        tool.env("DATABASE_URL", "postgres://app:Pl4nted-Secret-7x@db/app")
            .env(
                "DATABASE_ROOT_URL",
                "postgres://root:pl4nted-root-pw@db/postgres",
            )
            .env(
                "DATABASE_SERVICE_URL",
                "postgres://svc:pl4nted-svc-pw@db/app",
            )
    };
    secret_env(Tool::new("validate-dsns").arg("--help"))
        .run()
        .expect_code(0);
    secret_env(Tool::new("validate-dsns").args(["--timeout", "soon"]))
        .run()
        .expect_code(2);
    secret_env(Tool::new("validate-dsns").args(["--no-such-flag"]))
        .run()
        .expect_code(2);
    secret_env(Tool::new("validate-dsns").args(["explain"]))
        .run()
        .expect_code(2);
}

#[test]
fn validate_dsns_env_files_with_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        "DATABASE_URL=postgres://app:Pl4nted-Secret-7x@db/app\n",
        "DATABASE_URL='postgres://app:Pl4nted-Secret-7x@db/app\n",
        "DATABASE_URL=\"postgres://app:Pl4nted-Secret-7x@[::1\"\nPOSTGRES_PASSWORD=pl4nted-root-pw\n",
        "Pl4nted-Secret-7x\n",
        "export = Pl4nted-Secret-7x\n",
    ];
    for (i, text) in cases.iter().enumerate() {
        let path = dir.path().join(format!("{i}.env"));
        std::fs::write(&path, text).expect("write");
        let path = path.to_str().expect("utf-8 path");
        Tool::new("validate-dsns").args(["--env-file", path]).run();
        Tool::new("validate-dsns")
            .args(["--runtime", "--json", "--env-file", path])
            .run();
        Tool::new("validate-dsns")
            .args(["--env-file", "-"])
            .stdin(*text)
            .run();
    }
}

// ------------------------------------------------- beyond stdout and stderr
//
// A secret can also escape into what the remotes log and into what `ps`
// shows: the registry's log, the Postgres server log (every statement and
// connection logged), and the argv of every process a tool or script
// starts. `Tool::watch_argv` samples the argv of the whole process tree
// while it runs (the environment is the documented channel, so
// `/proc/*/environ` is not swept).

use std::path::{Path, PathBuf};

use deploykit_tests::bins::{self, sweep_text};
use deploykit_tests::pg::TestPg;
use deploykit_tests::registry::{Format, OciImage, TestRegistry, TokenAuth};

const USER: &str = "ci";
const REGISTRY_PW: &str = "Pl4nted-Secret-7x";
const WRONG_PW: &str = "pl4nted-token";

/// Every registry-facing tool, with the password on stdin, from a Docker
/// config and wrong, against `reg` (which holds `app:build-1`).
fn registry_tools_with_credentials(reg: &TestRegistry, good: &str) {
    let image = format!("{}/app:build-1", reg.host());
    let repo = format!("{}/app", reg.host());
    let config = reg.write_docker_config(&reg.scratch().join("docker-config"), USER, good);
    let stdin = |tool: &str, pw: &str, args: &[&str]| {
        Tool::new(tool)
            .args(args)
            .args(["-u", USER, "--password-stdin"])
            .stdin(pw)
            .run()
    };
    let from_config = |tool: &str, args: &[&str]| {
        Tool::new(tool)
            .env("DOCKER_CONFIG", &config)
            .args(args)
            .run()
    };
    let resolve = ["resolve", "--json", image.as_str()];
    stdin("image-digest", good, &resolve).expect_code(0);
    from_config("image-digest", &resolve).expect_code(0);
    stdin("image-digest", WRONG_PW, &resolve).expect_code(4);
    stdin("tag-image", good, &["apply", &image, "prod-1111111"]).expect_code(0);
    from_config("tag-image", &["apply", "--json", &image, "prod-2222222"]).expect_code(0);
    stdin("tag-image", WRONG_PW, &["apply", &image, "prod-3333333"]).expect_code(4);
    stdin("prune-images", good, &["registry", "--keep", "5", &repo]).expect_code(0);
    from_config(
        "prune-images",
        &["registry", "--keep", "1", "--apply", "--json", &repo],
    )
    .expect_code(0);
    stdin("prune-images", WRONG_PW, &["registry", "--apply", &repo]).expect_code(4);
}

/// A registry holding `app:build-1`.
fn with_app(reg: TestRegistry) -> TestRegistry {
    let img = OciImage::write(
        &reg.scratch().join("app"),
        "app",
        &["linux/amd64"],
        Format::Oci,
    );
    reg.push_image(&img, "app:build-1");
    reg
}

#[track_caller]
fn registry_log_is_clean(reg: &TestRegistry) {
    // Not vacuous: the tools' requests are in it.
    assert!(reg.access_log_lines() > 10, "{}", reg.log_contents());
    sweep_text("the registry log", &reg.log_contents(), &[USER]);
}

#[test]
fn the_registry_log_never_holds_a_basic_auth_password() {
    let reg = with_app(TestRegistry::builder().htpasswd(USER, REGISTRY_PW).start());
    registry_tools_with_credentials(&reg, REGISTRY_PW);
    registry_log_is_clean(&reg);
}

#[test]
fn the_registry_log_never_holds_a_token_service_password() {
    let reg = with_app(
        TestRegistry::builder()
            .token_auth(TokenAuth {
                user: USER.into(),
                password: REGISTRY_PW.into(),
                anonymous_pull: false,
            })
            .start(),
    );
    registry_tools_with_credentials(&reg, REGISTRY_PW);
    assert!(reg.token_requests() > 0, "the token flow was used");
    registry_log_is_clean(&reg);
}

const ROOT_PW: &str = "pl4nted-root-pw";
const APP_PW: &str = "pl4nted-app-pw";
const SVC_PW: &str = "pl4nted-svc-pw";

/// A cluster logging every statement and connection, superuser password
/// planted.
fn logged_pg() -> TestPg {
    let pg = TestPg::builder()
        .superuser_password(ROOT_PW)
        .log_statement_all(true)
        .start();
    pg.exec("ALTER SYSTEM SET log_connections = on");
    pg.exec("ALTER SYSTEM SET log_disconnections = on");
    pg.exec("SELECT pg_reload_conf()");
    pg
}

fn pg_env(tool: Tool, root: &str, app: &str, svc: &str) -> Tool {
    tool.env("DATABASE_ROOT_URL", root)
        .env("DATABASE_URL", app)
        .env("DATABASE_SERVICE_URL", svc)
}

#[test]
fn the_postgres_log_never_holds_a_password() {
    let pg = logged_pg();
    let root = pg.root_url();
    let app = pg.url_for("app", APP_PW, "shop");
    let svc = pg.url_for("svc", SVC_PW, "shop");
    let wrong_root = root.replace(ROOT_PW, WRONG_PW);
    let wrong_app = app.replace(APP_PW, WRONG_PW);
    let provision = |root: &str, args: &[&str]| {
        pg_env(Tool::new("provision-db"), root, &app, &svc)
            .args(["--timeout", "5s"])
            .args(args)
            .run()
    };
    provision(&root, &["--plan"]).expect_code(0);
    provision(&root, &[]).expect_code(0);
    provision(&root, &["--check", "--json"]).expect_code(0);
    provision(&wrong_root, &[]).expect_code(4);
    // A password change is sent as a SCRAM verifier, never in plaintext.
    pg.exec("ALTER ROLE app PASSWORD NULL");
    provision(&root, &["-v"]).expect_code(0);
    let connect = |app: &str| {
        pg_env(Tool::new("validate-dsns"), &root, app, &svc)
            .args(["--connect", "--timeout", "5s"])
            .run()
    };
    connect(&app);
    connect(&wrong_app).expect_code(4);
    let log = pg.log_contents();
    assert!(log.contains("connection authorized"), "{log}");
    assert!(log.contains("statement: "), "{log}");
    assert!(log.contains("password authentication failed"), "{log}");
    sweep_text("the Postgres server log", &log, &[]);
}

/// A directory on PATH holding `docker-credential-slow`: reads the server
/// on stdin, sleeps a second (a window to sample the process list), then
/// answers with the planted password.
fn slow_helper(dir: &Path) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let helper = bin.join("docker-credential-slow");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread -r server\nsleep 1\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{REGISTRY_PW}\"}}' \"$server\"\n"
        ),
    )
    .expect("write helper");
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Whether any sampled argv has an argument containing `needle`.
fn saw(argv: &[Vec<String>], needle: &str) -> bool {
    argv.iter().flatten().any(|a| a.contains(needle))
}

#[test]
fn a_credential_helper_gets_no_secret_in_argv() {
    let reg = with_app(TestRegistry::builder().htpasswd(USER, REGISTRY_PW).start());
    let dir = reg.scratch();
    let path = slow_helper(&dir);
    let config = dir.join("helper-config");
    std::fs::create_dir_all(&config).expect("mkdir");
    std::fs::write(
        config.join("config.json"),
        format!(r#"{{"credHelpers":{{"{}":"slow"}}}}"#, reg.host()),
    )
    .expect("config.json");
    let image = format!("{}/app:build-1", reg.host());
    for tool in [
        Tool::new("image-digest").args(["resolve", &image]),
        Tool::new("tag-image").args(["apply", &image, "prod-4444444"]),
        Tool::new("prune-images").args(["registry", "--keep", "5", &format!("{}/app", reg.host())]),
    ] {
        let (run, argv) = tool
            .env("PATH", &path)
            .env("DOCKER_CONFIG", &config)
            .watch_argv()
            .spawn()
            .wait_with_argv();
        run.expect_code(0);
        assert!(saw(&argv, "docker-credential-slow"), "{argv:?}");
    }
    registry_log_is_clean(&reg);
}

#[test]
fn wait_probe_runs_its_command_without_the_dsn_in_argv() {
    let pg = TestPg::builder().superuser_password(ROOT_PW).start();
    let (run, argv) = Tool::new("wait-probe")
        .env("DATABASE_ROOT_URL", pg.root_url())
        .args(["--budget", "20s", "env:DATABASE_ROOT_URL", "--"])
        .args(["sh", "-c", "sleep 0.5; echo ready-marker"])
        .watch_argv()
        .spawn()
        .wait_with_argv();
    run.expect_code(0);
    assert!(run.stdout.contains("ready-marker"), "{run}");
    assert!(saw(&argv, "sleep 0.5"), "{argv:?}");
}

/// PATH with the built tools first, for the scripts.
fn tools_path() -> String {
    let dir: PathBuf = bins::bin("validate-dsns")
        .parent()
        .expect("target dir")
        .to_owned();
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn provision_sh_passes_no_dsn_in_argv() {
    let pg = logged_pg();
    let (run, argv) = pg_env(
        Tool::program(bins::workspace_root().join("scripts/pipeline/provision.sh")),
        &pg.root_url(),
        &pg.url_for("app", APP_PW, "shop"),
        &pg.url_for("svc", SVC_PW, "shop"),
    )
    .env("PATH", tools_path())
    .watch_argv()
    .spawn()
    .wait_with_argv();
    run.expect_code(0);
    for tool in ["validate-dsns", "provision-db"] {
        assert!(saw(&argv, tool), "{tool} was not seen running: {argv:?}");
    }
    sweep_text("the Postgres server log", &pg.log_contents(), &[]);
}

#[test]
fn the_scripts_never_put_a_secret_on_a_command_line() {
    // What the process-list test cannot reach (docker login, curl -u,
    // a DSN or password expanded into argv): none of it in the scripts.
    let scripts = bins::workspace_root().join("scripts/pipeline");
    let mut checked = 0;
    for entry in std::fs::read_dir(&scripts).expect("scripts").flatten() {
        let path = entry.path();
        let is_sh = path.extension().is_some_and(|e| e == "sh");
        if !is_sh {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("script");
        for (n, line) in text.lines().enumerate() {
            let code = line.split(" #").next().unwrap_or("").trim();
            if code.starts_with('#') {
                continue;
            }
            for bad in [
                "--password ",
                "--password=",
                "login -p",
                "login -u",
                "curl -u",
                "\"$DATABASE_URL\"",
                "\"$DATABASE_ROOT_URL\"",
                "\"$DATABASE_SERVICE_URL\"",
                "${DATABASE_URL}",
                "${DATABASE_ROOT_URL}",
                "${DATABASE_SERVICE_URL}",
                "PGPASSWORD=",
            ] {
                assert!(
                    !code.contains(bad),
                    "{}:{}: {bad:?} puts a secret on a command line: {line}",
                    path.display(),
                    n + 1
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 4, "the scripts were found");
}

#[test]
fn wait_probe_hides_tokens_in_health_url_queries() {
    // Nothing listens on port 1: every progress line and the final error
    // name the target, which carries a token in its query.
    for args in [&["-v"][..], &["--json"], &[]] {
        let run = Tool::new("wait-probe")
            .args(args)
            .args(["--budget", "1s"])
            .arg("http://127.0.0.1:1/readyz?access_token=pl4nted-token&full=1")
            .run();
        run.expect_code(1);
        assert!(
            run.stderr.contains("access_token=***") || run.stdout.contains("access_token=***"),
            "the target is still named, its token hidden\n{run}"
        );
    }
}

#[test]
fn wait_probe_scrubs_what_a_health_endpoint_echoes_back() {
    use base64::Engine as _;
    use deploykit_tests::faults::{Answer, Scripted};
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{REGISTRY_PW}"));
    let full = Scripted::echo(503);
    // One that echoes only the first bytes, cutting the credential short.
    let cut = Scripted::start(|_, req| {
        let at = req
            .head
            .find("Basic ")
            .map_or(0, |i| i + "Basic ".len() + 12);
        Answer::new(503, &req.head.as_bytes()[..at])
    });
    for server in [&full, &cut] {
        for args in [&[][..], &["--json"], &["-v"]] {
            let run = Tool::new("wait-probe")
                .args(args)
                .args(["--budget", "1s"])
                .args(["--header", &format!("Authorization: Basic {basic}")])
                .args(["--header", "X-Api-Key: pl4nted-app-pw"])
                .arg(format!(
                    "http://ops:pl4nted-root-pw@{}/readyz?access_token=pl4nted-token&full=1",
                    server.host()
                ))
                .run();
            run.expect_code(1);
            let out = format!("{}{}", run.stdout, run.stderr);
            assert!(
                out.contains("body: \"GET /readyz?access_token=***&full=1 HTTP/1.1"),
                "the excerpt is shown, scrubbed\n{run}"
            );
            sweep_text("wait-probe's output", &out, &[USER, "ops"]);
            assert!(!out.contains(&basic[..12]), "a cut credential\n{run}");
        }
    }
    // Not vacuous: the server saw every secret and sent it back.
    let sent = &full.requests()[0].head;
    for secret in ["pl4nted-token", "pl4nted-app-pw", basic.as_str()] {
        assert!(sent.contains(secret), "{sent}");
    }
}
