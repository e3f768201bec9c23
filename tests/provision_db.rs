//! provision-db against a real PostgreSQL 15: the "Done when" list of its
//! issue. Every run goes through `Tool::run`, which sweeps stdout and stderr
//! for the planted passwords; the server log is swept too.

use std::collections::BTreeSet;

use deploykit_tests::bins::PLANTED;
use deploykit_tests::pg::TestPg;
use deploykit_tests::{Run, Tool};
use postgres::{Client, NoTls};

const ROOT_PW: &str = "pl4nted-root-pw";
const APP_PW: &str = "pl4nted-app-pw";
const SVC_PW: &str = "pl4nted-svc-pw";

/// A cluster whose superuser password is planted too.
fn server() -> TestPg {
    TestPg::builder().superuser_password(ROOT_PW).start()
}

fn logged_server() -> TestPg {
    TestPg::builder()
        .superuser_password(ROOT_PW)
        .log_statement_all(true)
        .start()
}

/// The three DSNs of a test: app and svc roles on database `db`.
struct Dsns {
    root: String,
    app: String,
    svc: String,
}

fn dsns(pg: &TestPg, app: &str, svc: &str, db: &str) -> Dsns {
    Dsns {
        root: pg.root_url(),
        app: pg.url_for(app, APP_PW, db),
        svc: pg.url_for(svc, SVC_PW, db),
    }
}

fn shop(pg: &TestPg) -> Dsns {
    dsns(pg, "app", "svc", "shop")
}

fn tool(d: &Dsns) -> Tool {
    Tool::new("provision-db")
        .env("DATABASE_ROOT_URL", &d.root)
        .env("DATABASE_URL", &d.app)
        .env("DATABASE_SERVICE_URL", &d.svc)
}

fn provision(d: &Dsns, args: &[&str]) -> Run {
    tool(d).args(args).args(["--timeout", "5s"]).run()
}

fn login(url: &str) -> Result<Client, postgres::Error> {
    Client::connect(url, NoTls)
}

#[track_caller]
fn must_login(url: &str) -> Client {
    login(url).unwrap_or_else(|e| panic!("login failed: {e}"))
}

fn sqlstate(e: &postgres::Error) -> String {
    e.code().map(|c| c.code().to_owned()).unwrap_or_default()
}

/// `(rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolcanlogin)`.
fn attributes(pg: &TestPg, role: &str) -> Option<(bool, bool, bool, bool, bool)> {
    pg.admin_client()
        .query_opt(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = $1",
            &[&role],
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
}

fn databases(pg: &TestPg) -> BTreeSet<String> {
    pg.admin_client()
        .query("SELECT datname::text FROM pg_database", &[])
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The (object, kind, action) of every action that is not `unchanged`.
fn changes(run: &Run) -> Vec<(String, String, String)> {
    run.json()["actions"]
        .as_array()
        .unwrap_or_else(|| panic!("no actions\n{run}"))
        .iter()
        .filter(|a| a["action"] != "unchanged")
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_owned();
            (s("object"), s("kind"), s("action"))
        })
        .collect()
}

/// A secret never reaches the server log in plaintext.
#[track_caller]
fn log_is_clean(pg: &TestPg) {
    for secret in [APP_PW, SVC_PW, ROOT_PW] {
        assert!(PLANTED.contains(&secret), "{secret} is swept");
    }
    deploykit_tests::bins::sweep_text("the server log", &pg.log_contents(), &[]);
}

/// The statements a log excerpt shows that change something.
fn changing_statements(log: &str) -> Vec<String> {
    const WORDS: [&str; 9] = [
        "CREATE", "ALTER", "GRANT", "REVOKE", "DROP", "INSERT", "UPDATE", "DELETE", "BEGIN",
    ];
    log.lines()
        .filter_map(|line| {
            let sql = line
                .split_once("statement: ")
                .or_else(|| line.split_once("execute <unnamed>: "))?
                .1
                .trim_start()
                .to_uppercase();
            WORDS
                .iter()
                .any(|w| sql.starts_with(w))
                .then(|| line.to_owned())
        })
        .collect()
}

#[test]
fn a_fresh_server_is_provisioned_in_one_run_and_a_second_run_changes_nothing() {
    let pg = logged_server();
    let d = shop(&pg);
    let run = provision(&d, &[]);
    run.expect_code(0);
    // A DBA sees who issued each change: the session's application_name.
    let first = changing_statements(&pg.log_contents());
    assert!(!first.is_empty(), "statement logging was not on");
    for line in &first {
        assert!(line.contains(" app=provision-db "), "{line}");
    }
    assert!(run.stdout.contains("create role \"app\": LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"), "{run}");
    assert!(
        run.stdout
            .contains("create database \"shop\": owned by \"svc\""),
        "{run}"
    );
    assert!(run.stderr.contains("converged"), "{run}");
    assert_eq!(
        attributes(&pg, "app"),
        Some((false, false, false, false, true))
    );
    assert_eq!(
        attributes(&pg, "svc"),
        Some((false, false, false, true, true))
    );

    // The service role (migrations) creates a table afterwards; the app
    // role reads and writes it, sequence included, through the default
    // privileges.
    let mut svc = must_login(&d.svc);
    svc.batch_execute("CREATE TABLE orders (id serial PRIMARY KEY, item text)")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut app = must_login(&d.app);
    app.batch_execute(
        "INSERT INTO orders (item) VALUES ('tea'); UPDATE orders SET item = 'coffee'; \
         SELECT * FROM orders; DELETE FROM orders",
    )
    .unwrap_or_else(|e| panic!("the app role cannot use the service's table: {e}"));
    // The app role cannot create a table (nor a schema).
    let e = app.batch_execute("CREATE TABLE mine (x int)").err();
    assert_eq!(e.as_ref().map(sqlstate).as_deref(), Some("42501"), "{e:?}");
    let e = app.batch_execute("CREATE SCHEMA mine").err();
    assert_eq!(e.as_ref().map(sqlstate).as_deref(), Some("42501"), "{e:?}");
    // A third role cannot connect to the database.
    pg.exec(&format!(
        "CREATE ROLE intruder LOGIN PASSWORD '{}'",
        postgres_protocol::password::scram_sha_256(b"intruder-pw")
    ));
    let e = login(&pg.url_for("intruder", "intruder-pw", "shop")).err();
    assert_eq!(e.as_ref().map(sqlstate).as_deref(), Some("42501"), "{e:?}");
    drop((app, svc));

    // Second run: every object unchanged, and the server saw no change.
    let before = pg.log_contents().len();
    let run = provision(&d, &["--json"]);
    run.expect_code(0);
    let doc = run.json();
    assert_eq!(doc["changed"], false, "{run}");
    assert_eq!(changes(&run), [], "{run}");
    let actions = doc["actions"].as_array().map_or(0, Vec::len);
    assert!(actions >= 15, "{run}");
    let log = pg.log_contents();
    let second = &log[before..];
    assert!(
        second.contains("pg_roles"),
        "statement logging was not on:\n{second}"
    );
    assert_eq!(
        changing_statements(second),
        Vec::<String>::new(),
        "{second}"
    );
    // The first run did log its changes (so the check above could fail).
    assert!(!changing_statements(&log[..before]).is_empty());
    log_is_clean(&pg);
    provision(&d, &["--check"]).expect_code(0);
}

#[test]
fn plan_prints_redacted_sql_and_changes_nothing() {
    let pg = logged_server();
    let d = shop(&pg);
    let roles_before = pg.roles();
    let run = provision(&d, &["--plan"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("CREATE ROLE \"app\" LOGIN NOSUPERUSER"),
        "{run}"
    );
    assert!(
        run.stdout.contains("ALTER ROLE \"app\" PASSWORD '***';"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("CREATE DATABASE \"shop\" OWNER \"svc\";"),
        "{run}"
    );
    assert!(!run.stdout.contains("SCRAM-SHA-256$"), "{run}");
    let run = provision(&d, &["--check", "--json"]);
    run.expect_code(1);
    assert_eq!(run.json()["changed"], true);
    assert_eq!(pg.roles(), roles_before);
    assert!(!databases(&pg).contains("shop"));
    assert_eq!(
        changing_statements(&pg.log_contents()),
        Vec::<String>::new()
    );
}

#[test]
fn drift_is_detected_by_check_and_put_back_by_one_run() {
    let pg = server();
    let d = shop(&pg);
    provision(&d, &[]).expect_code(0);
    let drifts: [(&str, &str, &str); 7] = [
        ("ALTER ROLE app BYPASSRLS", "role", "alter"),
        // The app role would act as the owner: create tables, update the marker.
        ("GRANT svc TO app", "membership", "revoke"),
        ("GRANT postgres TO svc", "membership", "revoke"),
        ("ALTER ROLE app CREATEDB", "role", "alter"),
        ("ALTER ROLE svc SUPERUSER", "role", "alter"),
        (
            "GRANT CONNECT ON DATABASE shop TO PUBLIC",
            "privileges",
            "revoke",
        ),
        (
            "GRANT CREATE ON DATABASE shop TO app",
            "privileges",
            "revoke",
        ),
    ];
    for (sql, kind, action) in drifts {
        pg.exec(sql);
        let check = provision(&d, &["--check", "--json"]);
        check.expect_code(1);
        let found = changes(&check);
        assert!(
            found.len() == 1 && found[0].1 == kind && found[0].2 == action,
            "{sql}: {found:?}"
        );
        provision(&d, &[]).expect_code(0);
        provision(&d, &["--check"]).expect_code(0);
    }
    assert_eq!(
        attributes(&pg, "app"),
        Some((false, false, false, false, true))
    );
    assert_eq!(
        attributes(&pg, "svc"),
        Some((false, false, false, true, true))
    );

    // A password changed by hand: the DSN's password works again after one run.
    pg.exec(&format!(
        "ALTER ROLE app PASSWORD '{}'",
        postgres_protocol::password::scram_sha_256(b"changed-by-hand")
    ));
    assert!(login(&d.app).is_err());
    let check = provision(&d, &["--check", "--json"]);
    check.expect_code(1);
    assert_eq!(
        changes(&check),
        [("role \"app\"".into(), "password".into(), "alter".into())]
    );
    provision(&d, &[]).expect_code(0);
    must_login(&d.app);
    provision(&d, &["--check"]).expect_code(0);

    // Drift inside the database: a table the app lost its grants on.
    let mut svc = must_login(&d.svc);
    svc.batch_execute("CREATE TABLE t (x int); REVOKE ALL ON t FROM app")
        .unwrap_or_else(|e| panic!("{e}"));
    provision(&d, &["--check"]).expect_code(1);
    let run = provision(&d, &[]);
    run.expect_code(0);
    assert!(run.stdout.contains("on 1 tables: \"t\""), "{run}");
    must_login(&d.app)
        .batch_execute("INSERT INTO t VALUES (1)")
        .unwrap_or_else(|e| panic!("{e}"));
}

/// One drift, just made by `what`: `--check` exits 1 naming exactly one
/// change of `kind`/`action`, a run repairs it, and the run after that
/// writes nothing (the server log).
#[track_caller]
fn repaired_in_one_run(pg: &TestPg, d: &Dsns, what: &str, kind: &str, action: &str) {
    let check = provision(d, &["--check", "--json"]);
    check.expect_code(1);
    let found = changes(&check);
    assert!(
        found.len() == 1 && found[0].1 == kind && found[0].2 == action,
        "{what}: {found:?}"
    );
    provision(d, &[]).expect_code(0);
    let before = pg.log_contents().len();
    provision(d, &[]).expect_code(0);
    let log = pg.log_contents();
    assert_eq!(
        changing_statements(&log[before..]),
        Vec::<String>::new(),
        "{what}: the run after the repair wrote"
    );
}

/// Drift that leaves a role unable to log in without touching an
/// attribute: an expiry in the past, a connection limit of 0. `--check`
/// names it, one run repairs it (the role logs in again), and the run after
/// that issues no write.
#[test]
fn an_expired_or_connection_less_role_is_drift_and_repaired() {
    let pg = logged_server();
    let d = shop(&pg);
    provision(&d, &[]).expect_code(0);
    for (sql, url) in [
        ("ALTER ROLE app VALID UNTIL '2001-01-01'", &d.app),
        ("ALTER ROLE svc CONNECTION LIMIT 0", &d.svc),
    ] {
        pg.exec(sql);
        assert!(login(url).is_err(), "{sql}: the role still logs in");
        repaired_in_one_run(&pg, &d, sql, "role", "alter");
        must_login(url);
    }
}

/// Default privileges that give more than intended: TRUNCATE on the
/// owner's future tables, anything for PUBLIC, or defaults set for every
/// schema. `--check` names each, one run revokes it, the next writes
/// nothing, and a table the owner creates afterwards is not truncatable by
/// the app role.
#[test]
fn default_privileges_beyond_the_intended_ones_are_drift() {
    let pg = logged_server();
    let d = shop(&pg);
    provision(&d, &[]).expect_code(0);
    let as_svc = |sql: &str| {
        must_login(&d.svc)
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    };
    for sql in [
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT TRUNCATE ON TABLES TO app",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO PUBLIC",
        "ALTER DEFAULT PRIVILEGES GRANT DELETE, TRUNCATE ON TABLES TO app",
    ] {
        as_svc(sql);
        repaired_in_one_run(&pg, &d, sql, "default privileges", "revoke");
    }
    as_svc("CREATE TABLE later (x int)");
    let e = must_login(&d.app).batch_execute("TRUNCATE later").err();
    assert_eq!(e.as_ref().map(sqlstate).as_deref(), Some("42501"), "{e:?}");
    must_login(&d.app)
        .batch_execute("INSERT INTO later VALUES (1); DELETE FROM later")
        .unwrap_or_else(|e| panic!("the intended privileges are gone: {e}"));
}

#[test]
fn eight_concurrent_runs_end_as_one_run() {
    let pg = server();
    let d = shop(&pg);
    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| provision(&d, &["--lock-timeout", "60s"])))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| panic!("a run panicked")))
            .collect()
    });
    for run in &runs {
        run.expect_code(0);
        assert!(!run.stderr.contains("concurrently"), "{run}");
    }
    // Exactly one run created the roles: the others found them converged.
    let creators = runs
        .iter()
        .filter(|r| r.stdout.contains("create role \"app\""))
        .count();
    assert_eq!(creators, 1, "{runs:#?}");
    provision(&d, &["--check"]).expect_code(0);
    assert_eq!(
        attributes(&pg, "app"),
        Some((false, false, false, false, true))
    );
    must_login(&d.app);
}

/// The run lock holds server-wide: runs whose admin DSNs name different
/// databases (`postgres`, `template1`, one of the admin's own) still
/// exclude each other, and none sits on `template1` while another creates
/// the database from it. Five fresh servers, eight runs each.
#[test]
fn eight_concurrent_runs_with_admin_dsns_on_three_databases_all_succeed() {
    for round in 0..5 {
        let pg = server();
        pg.exec("CREATE DATABASE admin");
        let d = shop(&pg);
        let roots = [
            pg.root_url(),
            pg.url_for("postgres", pg.superuser_password(), "template1"),
            pg.url_for("postgres", pg.superuser_password(), "admin"),
        ];
        let runs: Vec<Run> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let root = roots[i % roots.len()].clone();
                    let d = &d;
                    s.spawn(move || {
                        Tool::new("provision-db")
                            .env("DATABASE_ROOT_URL", &root)
                            .env("DATABASE_URL", &d.app)
                            .env("DATABASE_SERVICE_URL", &d.svc)
                            .args(["--lock-timeout", "60s"])
                            .run()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| panic!("a run panicked")))
                .collect()
        });
        let ok = runs.iter().filter(|r| r.code == Some(0)).count();
        assert_eq!(ok, 8, "round {round}: {ok}/8 succeeded: {runs:#?}");
        let creators = runs
            .iter()
            .filter(|r| r.stdout.contains("create database \"shop\""))
            .count();
        assert_eq!(creators, 1, "round {round}: {runs:#?}");
        provision(&d, &["--check"]).expect_code(0);
        assert!(databases(&pg).contains("shop"));
        must_login(&d.app);
        must_login(&d.svc);
    }
}

#[test]
fn a_run_waits_for_the_lock_and_gives_up_at_lock_timeout() {
    let pg = server();
    let d = shop(&pg);
    let mut holder = pg.admin_client();
    holder
        .query_one(
            "SELECT pg_advisory_lock($1)",
            &[&provision_db::apply::LOCK_KEY],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let run = provision(&d, &["--lock-timeout", "1s"]);
    run.expect_code(3);
    assert_eq!(
        run.stderr
            .matches("waiting for another provision-db run")
            .count(),
        1,
        "{run}"
    );
    assert!(run.stderr.contains("--lock-timeout"), "{run}");
    assert!(attributes(&pg, "app").is_none());
    drop(holder);
    provision(&d, &["--lock-timeout", "1s"]).expect_code(0);
}

#[test]
fn a_statement_behind_a_long_transaction_times_out_with_earlier_steps_whole() {
    let pg = server();
    let d = shop(&pg);
    provision(&d, &[]).expect_code(0);
    let mut svc = must_login(&d.svc);
    svc.batch_execute("CREATE TABLE t (x int); REVOKE ALL ON t FROM app")
        .unwrap_or_else(|e| panic!("{e}"));
    pg.exec("ALTER ROLE app CREATEDB");
    // An application's transaction holds t (and its pg_class row).
    svc.batch_execute("BEGIN; ALTER TABLE t ADD COLUMN y int")
        .unwrap_or_else(|e| panic!("{e}"));
    let run = provision(&d, &["--statement-lock-timeout", "300ms"]);
    run.expect_code(3);
    assert!(run.stderr.contains("--statement-lock-timeout"), "{run}");
    // The role step before it is done.
    assert_eq!(
        attributes(&pg, "app"),
        Some((false, false, false, false, true))
    );
    svc.batch_execute("ROLLBACK")
        .unwrap_or_else(|e| panic!("{e}"));
    provision(&d, &[]).expect_code(0);
    provision(&d, &["--check"]).expect_code(0);
}

#[test]
fn managed_postgres_mode_converges_and_resets_passwords_every_run() {
    let pg = server();
    pg.exec(&format!(
        "CREATE ROLE adm LOGIN CREATEROLE CREATEDB PASSWORD '{}'",
        postgres_protocol::password::scram_sha_256(ROOT_PW.as_bytes())
    ));
    let d = Dsns {
        root: pg.url_for("adm", ROOT_PW, "postgres"),
        ..shop(&pg)
    };
    // PostgreSQL 15: BYPASSRLS needs a superuser; refused before any change.
    let run = provision(&d, &[]);
    run.expect_code(4);
    assert!(run.stderr.contains("SUPERUSER"), "{run}");
    assert!(run.stderr.contains("--no-service-bypassrls"), "{run}");
    assert!(attributes(&pg, "app").is_none());

    let run = provision(&d, &["--no-service-bypassrls"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("passwords cannot be compared, so they are set on every run"),
        "{run}"
    );
    assert!(
        run.stdout.contains("grant role \"adm\" membership"),
        "{run}"
    );
    let mut svc = must_login(&d.svc);
    svc.batch_execute("CREATE TABLE orders (id serial PRIMARY KEY)")
        .unwrap_or_else(|e| panic!("{e}"));
    must_login(&d.app)
        .batch_execute("INSERT INTO orders DEFAULT VALUES; SELECT * FROM orders")
        .unwrap_or_else(|e| panic!("{e}"));

    // Again: only the passwords are set, and --check does not call that drift.
    let run = provision(&d, &["--no-service-bypassrls", "--json"]);
    run.expect_code(0);
    let mut found = changes(&run);
    found.sort();
    assert_eq!(
        found,
        [
            ("role \"app\"".into(), "password".into(), "alter".into()),
            ("role \"svc\"".into(), "password".into(), "alter".into()),
        ]
    );
    assert!(run.stderr.contains("set on every run"), "{run}");
    let check = provision(&d, &["--no-service-bypassrls", "--check"]);
    check.expect_code(0);
    assert!(
        check.stderr.contains("passwords cannot be compared"),
        "{check}"
    );
    must_login(&d.app);

    // Drift a CREATEROLE admin can repair on PostgreSQL 15…
    pg.exec("ALTER ROLE app CREATEDB");
    provision(&d, &["--no-service-bypassrls"]).expect_code(0);
    assert_eq!(
        attributes(&pg, "app"),
        Some((false, false, false, false, true))
    );
    // …and drift it cannot: named, nothing changed.
    pg.exec("ALTER ROLE app BYPASSRLS");
    let run = provision(&d, &["--no-service-bypassrls"]);
    run.expect_code(4);
    assert!(run.stderr.contains("lacks SUPERUSER"), "{run}");
}

#[test]
fn an_admin_without_createrole_is_told_what_it_lacks() {
    let pg = server();
    pg.exec(&format!(
        "CREATE ROLE adm LOGIN CREATEDB PASSWORD '{}'",
        postgres_protocol::password::scram_sha_256(ROOT_PW.as_bytes())
    ));
    let d = Dsns {
        root: pg.url_for("adm", ROOT_PW, "postgres"),
        ..shop(&pg)
    };
    let run = provision(&d, &["--no-service-bypassrls"]);
    run.expect_code(4);
    assert!(
        run.stderr
            .contains("the admin role \"adm\" lacks CREATEROLE"),
        "{run}"
    );
    assert!(attributes(&pg, "app").is_none());
    // A wrong admin password is a refused login: 4 as well.
    let d = Dsns {
        root: pg.url_for("adm", "wrong-pw", "postgres"),
        ..shop(&pg)
    };
    provision(&d, &[]).expect_code(4);
}

#[test]
fn hostile_names_work_as_names() {
    let pg = server();
    pg.exec("CREATE TABLE x (id int)");
    let role = "a\"b; DROP TABLE x";
    let db = "shop\"; DROP DATABASE postgres; --";
    let d = dsns(&pg, role, "svc'; DROP ROLE postgres; --", db);
    let run = provision(&d, &["--env-marker", "it's \"dev\""]);
    run.expect_code(0);
    assert!(attributes(&pg, role).is_some());
    assert!(databases(&pg).contains(db));
    pg.admin_client()
        .batch_execute("SELECT * FROM x")
        .unwrap_or_else(|e| panic!("table x is gone: {e}"));
    assert!(pg.roles().contains("postgres"));
    let mut app = must_login(&d.app);
    let env: String = app
        .query_one("SELECT env FROM bk_env_marker", &[])
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0);
    assert_eq!(env, "it's \"dev\"");
    provision(&d, &["--env-marker", "it's \"dev\"", "--check"]).expect_code(0);

    // Names Postgres would reject: refused before any connection.
    let before = pg.roles();
    for (app_role, why) in [(&"x".repeat(64)[..], "63 bytes"), ("pg_app", "reserved")] {
        let d = dsns(&pg, app_role, "svc2", "shop2");
        let run = provision(&d, &[]);
        run.expect_code(2);
        assert!(run.stderr.contains(why), "{run}");
    }
    assert_eq!(pg.roles(), before);
    assert!(!databases(&pg).contains("shop2"));
}

#[test]
fn inconsistent_dsns_and_an_unreachable_server_change_nothing() {
    let pg = server();
    let before = (pg.roles(), databases(&pg));
    // The runtime DSNs name two databases.
    let mut d = shop(&pg);
    d.svc = pg.url_for("svc", SVC_PW, "other");
    let run = provision(&d, &[]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("names database \"shop\" but DATABASE_SERVICE_URL names \"other\""),
        "{run}"
    );
    // The admin DSN points at another host.
    let mut d = shop(&pg);
    d.root = d.root.replace("127.0.0.1", "127.0.0.2");
    let run = provision(&d, &[]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("the admin DSN must reach the same server"),
        "{run}"
    );
    // A DSN missing.
    let run = Tool::new("provision-db")
        .env("DATABASE_URL", shop(&pg).app)
        .env("DATABASE_SERVICE_URL", shop(&pg).svc)
        .run();
    run.expect_code(2);
    assert!(run.stderr.contains("DATABASE_ROOT_URL is not set"), "{run}");
    assert_eq!((pg.roles(), databases(&pg)), before);

    // Nothing listens: 3, within the timeout.
    let port = deploykit_tests::pg::free_port();
    let url =
        |user: &str, pw: &str, db: &str| format!("postgres://{user}:{pw}@127.0.0.1:{port}/{db}");
    let d = Dsns {
        root: url("postgres", ROOT_PW, "postgres"),
        app: url("app", APP_PW, "shop"),
        svc: url("svc", SVC_PW, "shop"),
    };
    let run = tool(&d).args(["--timeout", "2s"]).run();
    run.expect_code(3);
    assert!(run.stderr.contains(&format!("127.0.0.1:{port}")), "{run}");
}

#[test]
fn the_environment_marker_is_created_verified_and_fails_closed() {
    let pg = server();
    let d = shop(&pg);
    provision(&d, &["--env-marker", "dev"]).expect_code(0);
    let mut app = must_login(&d.app);
    let env: String = app
        .query_one("SELECT env FROM bk_env_marker", &[])
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0);
    assert_eq!(env, "dev");
    // The app role may read the marker, not change it.
    let e = app
        .batch_execute("UPDATE bk_env_marker SET env = 'prod'")
        .err();
    assert_eq!(e.as_ref().map(sqlstate).as_deref(), Some("42501"), "{e:?}");
    // A run without --env-marker leaves it read-only for the app.
    provision(&d, &[]).expect_code(0);
    provision(&d, &["--env-marker", "dev", "--check"]).expect_code(0);

    // A production DSN set pointed at this dev database: refused before
    // any change, even the drift it would otherwise repair.
    pg.exec("ALTER ROLE app CREATEDB");
    for args in [
        &["--env-marker", "prod"][..],
        &["--env-marker", "prod", "--check"][..],
    ] {
        let run = provision(&d, args);
        run.expect_code(1);
        assert!(run.stderr.contains("says 'dev', not 'prod'"), "{run}");
    }
    assert_eq!(
        attributes(&pg, "app"),
        Some((false, true, false, false, true))
    );
}

#[test]
fn the_production_lock_needs_a_confirmation_to_change_anything() {
    let pg = server();
    let d = shop(&pg);
    let run = provision(&d, &["--env", "production"]);
    run.expect_code(1);
    assert!(run.stderr.contains("CONFIRM_PROD_MIGRATE=YES"), "{run}");
    let run = tool(&d).env("APP_ENV", "production").run();
    run.expect_code(1);
    assert!(attributes(&pg, "app").is_none());
    // Plan and check always work.
    provision(&d, &["--env", "production", "--plan"]).expect_code(0);
    provision(&d, &["--env", "production", "--check"]).expect_code(1);
    // CONFIRM_PROD_MIGRATE must be exactly YES.
    tool(&d)
        .env("APP_ENV", "production")
        .env("CONFIRM_PROD_MIGRATE", "yes")
        .run()
        .expect_code(1);
    tool(&d)
        .env("APP_ENV", "production")
        .env("CONFIRM_PROD_MIGRATE", "YES")
        .run()
        .expect_code(0);
    provision(
        &d,
        &["--env", "production", "--confirm-production", "--check"],
    )
    .expect_code(0);
}

#[test]
fn owner_root_keeps_the_database_with_the_admin() {
    let pg = server();
    let d = shop(&pg);
    provision(&d, &["--owner", "root"]).expect_code(0);
    let owner: String = pg
        .admin_client()
        .query_one(
            "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = 'shop'",
            &[],
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0);
    assert_eq!(owner, "postgres");
    // Objects the admin creates are usable by both runtime roles; neither creates.
    let mut root = must_login(&pg.url_for("postgres", ROOT_PW, "shop"));
    root.batch_execute("CREATE TABLE t (id serial)")
        .unwrap_or_else(|e| panic!("{e}"));
    for url in [&d.app, &d.svc] {
        let mut c = must_login(url);
        c.batch_execute("INSERT INTO t DEFAULT VALUES; SELECT * FROM t")
            .unwrap_or_else(|e| panic!("{e}"));
        let e = c.batch_execute("CREATE TABLE mine (x int)").err();
        assert_eq!(e.as_ref().map(sqlstate).as_deref(), Some("42501"), "{e:?}");
    }
    provision(&d, &["--owner", "root", "--check"]).expect_code(0);
}

#[test]
fn tls_verify_full_against_the_test_ca() {
    let pg = TestPg::builder()
        .superuser_password(ROOT_PW)
        .force_tls(true)
        .start();
    let ca = pg.ca_path().display().to_string();
    let tls = |url: String, mode: &str| format!("{url}?sslmode={mode}&sslrootcert={ca}");
    let d = Dsns {
        root: tls(pg.root_url(), "verify-full"),
        app: tls(pg.url_for("app", APP_PW, "shop"), "verify-full"),
        svc: tls(pg.url_for("svc", SVC_PW, "shop"), "verify-full"),
    };
    provision(&d, &[]).expect_code(0);
    provision(&d, &["--check"]).expect_code(0);
    // Plaintext is rejected by this server: a refused login, nothing changed.
    let plain = Dsns {
        root: format!("{}?sslmode=disable", pg.root_url()),
        ..shop(&pg)
    };
    provision(&plain, &["--check"]).expect_code(4);
}

/// DSNs holding a planted password wherever a parser could quote it back.
const BROKEN_DSNS: &[&str] = &[
    "postgres://app:Pl4nted-Secret-7x@[::1",
    "postgres://app:Pl4nted-Secret-7x@[::1]z/app",
    "postgres://app:Pl4nted-Secret-7x%zz@db/app",
    "postgres://app@db/app?password=Pl4nted-Secret-7x&sslmode=bogus",
    "postgres://app@db/app?password=Pl4nted-Secret-7x&port=x",
    "host=db password='Pl4nted-Secret-7x",
    "user=app password=Pl4nted-Secret-7x",
    "postgres://app:Pl4nted-Secret-7x@elsewhere:5432/shop",
];

#[test]
fn broken_dsns_are_usage_errors_that_never_print_a_planted_secret() {
    let good = [
        (
            "DATABASE_ROOT_URL",
            "postgres://postgres:pl4nted-root-pw@db.internal/postgres",
        ),
        (
            "DATABASE_URL",
            "postgres://app:pl4nted-app-pw@db.internal/shop",
        ),
        (
            "DATABASE_SERVICE_URL",
            "postgres://svc:pl4nted-svc-pw@db.internal/shop",
        ),
    ];
    for dsn in BROKEN_DSNS {
        for (var, _) in good {
            for args in [&[][..], &["--json"], &["-v", "--plan"], &["--check"]] {
                let mut t = Tool::new("provision-db").args(args);
                for (name, value) in good {
                    t = t.env(name, if name == var { dsn } else { value });
                }
                t.run().expect_code(2);
            }
        }
        Tool::new("provision-db")
            .args(["--root-url", dsn, "--url", dsn, "--service-url", dsn])
            .run()
            .expect_code(2);
    }
}
