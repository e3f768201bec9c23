//! validate-dsns against a real PostgreSQL 15 with TLS and SCRAM, and its
//! parser against libpq itself (psql) where the two must agree.

use std::time::{Duration, Instant};

use deploykit_tests::pg::TestPg;
use deploykit_tests::{Run, Tool};

const APP_PW: &str = "pl4nted-app-pw";
const SVC_PW: &str = "pl4nted-svc-pw";
const ROOT_PW: &str = "pl4nted-root-pw";

/// A server with the service's roles, database and a `prod` marker.
fn server() -> TestPg {
    let pg = TestPg::builder().superuser_password(ROOT_PW).start();
    pg.exec(&format!(
        "CREATE ROLE shop_service LOGIN PASSWORD '{SVC_PW}';
         CREATE ROLE shop_app LOGIN PASSWORD '{APP_PW}';"
    ));
    // CREATE DATABASE cannot share a multi-statement batch (a transaction).
    pg.exec("CREATE DATABASE shop OWNER shop_service");
    let mut shop = client_for(&pg, "shop");
    shop.batch_execute(
        "CREATE TABLE bk_env_marker (id int PRIMARY KEY CHECK (id = 1), env text NOT NULL);
         INSERT INTO bk_env_marker VALUES (1, 'prod');
         GRANT SELECT ON bk_env_marker TO shop_app, shop_service;",
    )
    .expect("marker table");
    pg
}

/// A superuser client on another database, over the socket.
fn client_for(pg: &TestPg, db: &str) -> postgres::Client {
    postgres::Config::new()
        .host_path(pg.socket_dir())
        .port(pg.port())
        .user("postgres")
        .dbname(db)
        .connect(postgres::NoTls)
        .expect("superuser connection")
}

/// The three DSNs over verified TLS (host name `localhost`, the test CA).
fn dsns(pg: &TestPg) -> [(&'static str, String); 3] {
    let tls = format!("sslmode=verify-full&sslrootcert={}", pg.ca_path().display());
    let url = |user: &str, pw: &str, db: &str| {
        format!("postgres://{user}:{pw}@localhost:{}/{db}?{tls}", pg.port())
    };
    [
        ("DATABASE_ROOT_URL", url("postgres", ROOT_PW, "postgres")),
        ("DATABASE_URL", url("shop_app", APP_PW, "shop")),
        ("DATABASE_SERVICE_URL", url("shop_service", SVC_PW, "shop")),
    ]
}

fn validate(pg: &TestPg, args: &[&str]) -> Tool {
    let mut tool = Tool::new("validate-dsns").args(args);
    for (name, value) in dsns(pg) {
        tool = tool.env(name, value);
    }
    tool
}

fn rules(run: &Run) -> Vec<String> {
    run.json()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["variable"].as_str().unwrap(),
                f["rule"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_good_set_passes_every_live_check() {
    let pg = server();
    let run = validate(
        &pg,
        &["--env", "production", "--connect", "--expect-env", "prod"],
    )
    .run();
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("logged in"), "{run}");

    let run = validate(&pg, &["--connect", "--expect-env", "prod", "--json"]).run();
    run.expect_code(0);
    assert_eq!(
        run.json(),
        serde_json::json!({"ok": true, "findings": [], "exit": 0})
    );
}

#[test]
fn privileged_runtime_roles_are_flagged() {
    let pg = server();
    pg.exec("ALTER ROLE shop_app SUPERUSER; ALTER ROLE shop_service CREATEDB CREATEROLE;");
    let run = validate(&pg, &["--connect", "--json"]).run();
    run.expect_code(1);
    assert_eq!(
        rules(&run),
        [
            "DATABASE_URL:runtime-superuser",
            "DATABASE_SERVICE_URL:runtime-createrole",
            "DATABASE_SERVICE_URL:runtime-createdb",
        ]
    );

    pg.exec("ALTER ROLE shop_app NOSUPERUSER BYPASSRLS; ALTER ROLE shop_service NOCREATEDB NOCREATEROLE;");
    let run = validate(&pg, &["--connect"]).run();
    run.expect_code(1);
    assert_eq!(
        run.stdout,
        "DATABASE_URL: error[app-bypassrls]: the app role \"shop_app\" has BYPASSRLS\n"
    );
}

#[test]
fn an_admin_without_createrole_is_flagged() {
    let pg = server();
    pg.exec("CREATE ROLE weak_admin LOGIN CREATEDB PASSWORD 'Pl4nted-Secret-7x';");
    let root = format!(
        "postgres://weak_admin:Pl4nted-Secret-7x@127.0.0.1:{}/postgres?sslmode=require",
        pg.port()
    );
    let run = validate(&pg, &["--connect"])
        .env("DATABASE_ROOT_URL", root)
        .run();
    run.expect_code(1);
    assert!(run.stdout.contains(
        "DATABASE_ROOT_URL: error[admin-privileges]: the admin role \"weak_admin\" lacks CREATEROLE"
    ), "{run}");
}

#[test]
fn a_wrong_password_exits_4() {
    let pg = server();
    let bad = dsns(&pg)[1].1.replace(APP_PW, "Pl4nted-Secret-7x");
    let run = validate(&pg, &["--connect"]).env("DATABASE_URL", bad).run();
    run.expect_code(4);
    assert!(
        run.stdout
            .starts_with("DATABASE_URL: error[login-refused]: ")
            && run
                .stdout
                .contains("password authentication failed for user \"shop_app\""),
        "{run}"
    );
}

#[test]
fn a_stopped_server_exits_3_within_the_timeout() {
    let mut pg = server();
    let args = ["--connect", "--timeout", "2s"];
    let tool = validate(&pg, &args);
    pg.stop();
    let started = Instant::now();
    let run = tool.run();
    let elapsed = started.elapsed();
    run.expect_code(3);
    assert!(
        run.stdout.contains("DATABASE_URL: error[unreachable]: "),
        "{run}"
    );
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
}

#[test]
fn a_server_that_never_answers_is_bounded_by_the_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let url =
        |user: &str, pw: &str, db: &str| format!("postgres://{user}:{pw}@127.0.0.1:{port}/{db}");
    let tool = Tool::new("validate-dsns")
        .args(["--connect", "--timeout", "1s"])
        .env("DATABASE_ROOT_URL", url("postgres", ROOT_PW, "postgres"))
        .env("DATABASE_URL", url("shop_app", APP_PW, "shop"))
        .env("DATABASE_SERVICE_URL", url("shop_service", SVC_PW, "shop"));
    let started = Instant::now();
    let run = tool.run();
    let elapsed = started.elapsed();
    run.expect_code(3);
    assert_eq!(run.stdout.matches("error[unreachable]").count(), 3, "{run}");
    // The three DSNs are checked at once: one timeout, not three.
    assert!(elapsed < Duration::from_millis(2500), "took {elapsed:?}");
    drop(listener);
}

#[test]
fn verify_full_rejects_a_certificate_for_another_host() {
    let pg = TestPg::builder()
        .superuser_password(ROOT_PW)
        .leaf_names(&["db.other.example"])
        .start();
    let root = format!(
        "postgres://postgres:{ROOT_PW}@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        pg.port(),
        pg.ca_path().display()
    );
    let run = Tool::new("validate-dsns")
        .args(["--connect", "--timeout", "5s", "--json"])
        .env("DATABASE_ROOT_URL", &root)
        .env(
            "DATABASE_URL",
            root.replace("//postgres:", "//app:")
                .replace("/postgres?", "/shop?"),
        )
        .env(
            "DATABASE_SERVICE_URL",
            root.replace("//postgres:", "//svc:")
                .replace("/postgres?", "/shop?"),
        )
        .run();
    run.expect_code(3);
    let findings = run.json()["findings"].clone();
    let root_finding = &findings.as_array().unwrap()[0];
    assert_eq!(root_finding["rule"], "unreachable");
    let message = root_finding["message"].as_str().unwrap();
    assert!(message.contains("certificate"), "{message}");

    // verify-ca checks the chain only, so the same server passes it: the
    // admin logs in; the runtime roles do not exist, so their logins fail.
    let root = root.replace("verify-full", "verify-ca");
    let run = Tool::new("validate-dsns")
        .args(["--connect", "--timeout", "5s"])
        .env("DATABASE_ROOT_URL", &root)
        .env(
            "DATABASE_URL",
            root.replace("//postgres:", "//app:")
                .replace("/postgres?", "/shop?"),
        )
        .env(
            "DATABASE_SERVICE_URL",
            root.replace("//postgres:", "//svc:")
                .replace("/postgres?", "/shop?"),
        )
        .run();
    run.expect_code(4);
    assert!(
        !run.stdout
            .lines()
            .any(|l| l.starts_with("DATABASE_ROOT_URL:")),
        "{run}"
    );
    assert!(
        run.stdout.contains("DATABASE_URL: error[login-refused]"),
        "{run}"
    );
}

#[test]
fn the_marker_gate_fails_closed() {
    let pg = server();
    let run = validate(&pg, &["--connect", "--expect-env", "dev"]).run();
    run.expect_code(1);
    assert_eq!(
        run.stdout,
        "DATABASE_URL: error[marker-mismatch]: marker table bk_env_marker says \"prod\", expected \"dev\"\n"
    );

    let run = validate(
        &pg,
        &[
            "--connect",
            "--expect-env",
            "prod",
            "--marker-table",
            "no_such_marker",
        ],
    )
    .run();
    run.expect_code(1);
    assert!(run.stdout.contains("error[marker-missing]"), "{run}");
    assert!(run.stdout.contains("failing closed"), "{run}");

    client_for(&pg, "shop")
        .batch_execute("DELETE FROM bk_env_marker")
        .expect("delete");
    let run = validate(&pg, &["--connect", "--expect-env", "prod"]).run();
    run.expect_code(1);
    assert!(
        run.stdout.contains("marker table bk_env_marker is empty"),
        "{run}"
    );
}

#[test]
fn the_env_file_is_read_and_flags_win_over_it() {
    let pg = server();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("runtime.env");
    let [_, (_, app), (_, service)] = dsns(&pg);
    std::fs::write(
        &file,
        format!("# runtime env\nDATABASE_URL='{app}'\nexport DATABASE_SERVICE_URL=\"{service}\"\nAPP_DB_PASSWORD={APP_PW}\n"),
    )
    .expect("write env file");
    let env_file = file.to_str().unwrap();

    // The file's legacy variable is found; the process environment's admin
    // DSN is ignored in favour of the file.
    let run = Tool::new("validate-dsns")
        .args(["--runtime", "--env-file", env_file, "--connect"])
        .env("DATABASE_ROOT_URL", pg.root_url())
        .run();
    run.expect_code(1);
    assert_eq!(
        run.stdout,
        "environment: error[legacy-variable]: APP_DB_PASSWORD is set; a runtime container gets only DATABASE_URL and DATABASE_SERVICE_URL\n"
    );

    // A flag wins over the file.
    let run = Tool::new("validate-dsns")
        .args([
            "--runtime",
            "--env-file",
            env_file,
            "--url",
            "postgres://shop_app@localhost/shop",
        ])
        .run();
    run.expect_code(1);
    assert!(
        run.stdout.contains("DATABASE_URL: error[missing-password]"),
        "{run}"
    );

    let run = Tool::new("validate-dsns")
        .args(["--env-file", "/no/such/file"])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr
            .starts_with("validate-dsns: reading env file /no/such/file: "),
        "{run}"
    );
}

/// Where libpq rejects a connection string before connecting, `explain`
/// must reject it with the same message (psql prints `psql: error: …`).
#[test]
fn parse_errors_match_libpq() {
    let inputs = [
        "postgres://[::1",
        "postgres://[]",
        "postgres://[::1]z",
        "postgresql://host?zzz",
        "postgresql://host?value1&value2",
        "postgresql://host?key=key=value",
        "postgres://host?dbname=%XXfoo",
        "postgresql://a%00b",
        "postgresql://%zz",
        "postgresql://host/db?u%7aer=x",
        "postgres://h/db?sslmdoe=require",
        "dbname=x y",
        "password='x",
        "hots=db",
    ];
    // (psql reads an argument without '=' and without the URI prefix as a
    // database name, so those cases are pinned by the unit tests only. A
    // foreign scheme such as `postgre://=` is named instead of libpq's
    // "missing \"=\"": a deliberate difference, asserted in
    // tests/libpq_differential.rs.)
    for input in inputs {
        let psql = std::process::Command::new("psql")
            .args(["-X", "-w", input, "-c", "select 1"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .expect("psql is installed (scripts/setup installs it)");
        let libpq = String::from_utf8_lossy(&psql.stderr);
        let libpq = libpq
            .trim_end()
            .strip_prefix("psql: error: ")
            .unwrap_or(&libpq);
        let run = Tool::new("validate-dsns").args(["explain", input]).run();
        run.expect_code(2);
        assert_eq!(
            run.stderr
                .trim_end()
                .strip_prefix("validate-dsns: ")
                .unwrap_or(&run.stderr),
            libpq,
            "{input}"
        );
    }
}
