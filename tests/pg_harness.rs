//! `deploykit::dsn::connect` against a real PostgreSQL 15 started by the
//! harness in `tests/support/pg.rs`: every sslmode, certificate checks,
//! and the exit status and message of each kind of failure.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use deploykit::dsn::Dsn;
use deploykit::dsn::connect::connect;
use deploykit::{Error, Exit};
use deploykit_tests::pg::{TestPg, free_port};

const TIMEOUT: Duration = Duration::from_secs(10);

fn dsn(text: &str) -> Dsn {
    Dsn::parse(text).unwrap_or_else(|e| panic!("test DSN does not parse: {e}"))
}

/// The root URL of `pg` with a query string added.
fn root(pg: &TestPg, query: &str) -> Dsn {
    dsn(&format!("{}?{query}", pg.root_url()))
}

/// Connects, panicking with the (redacted) error if it fails.
fn must_connect(d: &Dsn) -> postgres::Client {
    connect(d, TIMEOUT).unwrap_or_else(|e| panic!("connecting with {d} failed: {e}"))
}

/// Connects, expecting a failure, and checks the password is not in it.
fn must_fail(d: &Dsn, secret: &str, timeout: Duration) -> Error {
    match connect(d, timeout) {
        Ok(_) => panic!("connecting with {d} succeeded, a failure was expected"),
        Err(e) => {
            let text = format!("{e} / {e:?}");
            eprintln!("expected failure, exit {}: {e}", e.status().code());
            assert!(
                !text.contains(secret),
                "the error shows the password: {text}"
            );
            e
        }
    }
}

/// Whether the session runs over TLS, as the server sees it.
fn uses_tls(client: &mut postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .expect("querying pg_stat_ssl")
        .get(0)
}

#[test]
fn sslmode_disable_connects_without_tls() {
    let pg = TestPg::start();
    let mut client = must_connect(&root(&pg, "sslmode=disable"));
    assert!(!uses_tls(&mut client));
    let one: i32 = client.query_one("SELECT 1", &[]).expect("SELECT 1").get(0);
    assert_eq!(one, 1);
}

#[test]
fn prefer_and_require_use_tls_when_the_server_offers_it() {
    let pg = TestPg::start();
    // prefer is libpq's default.
    let mut client = must_connect(&dsn(&pg.root_url()));
    assert!(
        uses_tls(&mut client),
        "sslmode=prefer should use the offered TLS"
    );
    let mut client = must_connect(&root(&pg, "sslmode=require"));
    assert!(uses_tls(&mut client), "sslmode=require must use TLS");
}

#[test]
fn prefer_falls_back_to_plaintext_and_require_fails_without_server_tls() {
    let pg = TestPg::builder().tls(false).start();
    let mut client = must_connect(&root(&pg, "sslmode=prefer"));
    assert!(!uses_tls(&mut client));
    let mut client = must_connect(&root(&pg, "sslmode=allow"));
    assert!(!uses_tls(&mut client));
    let err = must_fail(
        &root(&pg, "sslmode=require"),
        pg.superuser_password(),
        TIMEOUT,
    );
    assert_eq!(err.status(), Exit::Remote, "{err}");
    assert!(err.to_string().contains("does not support TLS"), "{err}");
}

#[test]
fn verify_ca_with_the_test_ca_connects_over_tls() {
    let pg = TestPg::start();
    let d = root(
        &pg,
        &format!("sslmode=verify-ca&sslrootcert={}", pg.ca_path().display()),
    );
    let mut client = must_connect(&d);
    assert!(uses_tls(&mut client));
}

#[test]
fn verify_ca_ignores_the_host_name_but_not_the_issuer() {
    // A certificate for another host still passes verify-ca...
    let pg = TestPg::builder().leaf_names(&["other.example"]).start();
    let ca = pg.ca_path().display().to_string();
    let mut client = must_connect(&root(&pg, &format!("sslmode=verify-ca&sslrootcert={ca}")));
    assert!(uses_tls(&mut client));
    // ...but a CA that did not sign it does not.
    let stranger = TestPg::start();
    let d = root(
        &pg,
        &format!(
            "sslmode=verify-ca&sslrootcert={}",
            stranger.ca_path().display()
        ),
    );
    let err = must_fail(&d, pg.superuser_password(), TIMEOUT);
    assert_eq!(err.status(), Exit::Remote, "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[test]
fn verify_full_checks_the_host_name_and_ip() {
    let pg = TestPg::start();
    let ca = pg.ca_path().display().to_string();
    for host in ["localhost", "127.0.0.1"] {
        let d = dsn(&format!(
            "postgres://postgres:{}@{host}:{}/postgres?sslmode=verify-full&sslrootcert={ca}",
            pg.superuser_password(),
            pg.port()
        ));
        let mut client = must_connect(&d);
        assert!(uses_tls(&mut client), "{host}");
    }
    // hostaddr alone is checked against the certificate's IP address.
    let d = dsn(&format!(
        "hostaddr=127.0.0.1 port={} user=postgres password={} dbname=postgres sslmode=verify-full sslrootcert={ca}",
        pg.port(),
        pg.superuser_password()
    ));
    must_connect(&d);
}

#[test]
fn verify_full_refuses_a_certificate_for_another_name() {
    let pg = TestPg::builder().leaf_names(&["other.example"]).start();
    let d = root(
        &pg,
        &format!("sslmode=verify-full&sslrootcert={}", pg.ca_path().display()),
    );
    let started = Instant::now();
    let err = must_fail(&d, pg.superuser_password(), TIMEOUT);
    assert!(started.elapsed() < TIMEOUT);
    assert_eq!(err.status(), Exit::Remote, "{err}");
    let text = err.to_string();
    assert!(text.contains("certificate"), "{text}");
    assert!(
        text.starts_with(&format!("connecting to 127.0.0.1:{}: ", pg.port())),
        "{text}"
    );
}

#[test]
fn require_with_an_existing_root_file_verifies_the_chain() {
    // libpq: with a root certificate file, require behaves as verify-ca.
    let pg = TestPg::start();
    let stranger = TestPg::start();
    let good = root(
        &pg,
        &format!("sslmode=require&sslrootcert={}", pg.ca_path().display()),
    );
    must_connect(&good);
    let bad = root(
        &pg,
        &format!(
            "sslmode=require&sslrootcert={}",
            stranger.ca_path().display()
        ),
    );
    let err = must_fail(&bad, pg.superuser_password(), TIMEOUT);
    assert_eq!(err.status(), Exit::Remote, "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[test]
fn verify_ca_without_a_root_certificate_is_a_clear_error() {
    let pg = TestPg::start();
    let missing = pg.data_dir().join("no-such-root.crt");
    let d = root(
        &pg,
        &format!("sslmode=verify-ca&sslrootcert={}", missing.display()),
    );
    let err = must_fail(&d, pg.superuser_password(), TIMEOUT);
    assert_eq!(err.status(), Exit::Usage, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "root certificate file \"{}\" does not exist",
            missing.display()
        )),
        "{text}"
    );
    assert!(text.contains("sslrootcert=system"), "{text}");
    assert!(text.contains("change sslmode"), "{text}");
    // Without sslrootcert, libpq's default ~/.postgresql/root.crt is used;
    // a machine that has one (a developer's) cannot show the error.
    let has_default = std::env::var_os("HOME").is_some_and(|h| {
        std::path::Path::new(&h)
            .join(".postgresql/root.crt")
            .exists()
    });
    if !has_default {
        let err = must_fail(
            &root(&pg, "sslmode=verify-full"),
            pg.superuser_password(),
            TIMEOUT,
        );
        assert_eq!(err.status(), Exit::Usage, "{err}");
        assert!(
            err.to_string().contains("root.crt\" does not exist"),
            "{err}"
        );
    }
}

#[test]
fn wrong_password_is_denied_without_showing_it() {
    let pg = TestPg::builder()
        .superuser_password("pl4nted-root-pw")
        .start();
    pg.exec("CREATE ROLE app LOGIN PASSWORD 'right-password'");
    for mode in ["disable", "prefer", "require"] {
        let d = dsn(&format!(
            "{}?sslmode={mode}",
            pg.url_for("app", "Pl4nted-Secret-7x", "postgres")
        ));
        let err = must_fail(&d, "Pl4nted-Secret-7x", TIMEOUT);
        assert_eq!(err.status(), Exit::Denied, "{mode}: {err}");
        assert_eq!(
            err.to_string(),
            format!(
                "connecting to 127.0.0.1:{}: password authentication failed for user \"app\"",
                pg.port()
            ),
            "{mode}"
        );
    }
    // The right one works, and the log holds neither password.
    must_connect(&dsn(&format!(
        "{}?sslmode=disable",
        pg.url_for("app", "right-password", "postgres")
    )));
    assert!(!pg.log_contents().contains("Pl4nted-Secret-7x"));
    assert!(!pg.log_contents().contains("pl4nted-root-pw"));
}

#[test]
fn unknown_role_and_missing_database_are_denied() {
    let pg = TestPg::start();
    let d = dsn(&format!(
        "{}?sslmode=disable",
        pg.url_for("nobody", "whatever-pw", "postgres")
    ));
    let err = must_fail(&d, "whatever-pw", TIMEOUT);
    assert_eq!(err.status(), Exit::Denied, "{err}");
    let d = dsn(&format!(
        "{}?sslmode=disable",
        pg.url_for("postgres", pg.superuser_password(), "nosuchdb")
    ));
    let err = must_fail(&d, pg.superuser_password(), TIMEOUT);
    assert_eq!(err.status(), Exit::Denied, "{err}");
    assert!(
        err.to_string()
            .ends_with("database \"nosuchdb\" does not exist"),
        "{err}"
    );
}

#[test]
fn missing_password_is_denied() {
    let pg = TestPg::start();
    let d = dsn(&format!(
        "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
        pg.port()
    ));
    let err = connect(&d, TIMEOUT).err().expect("no password must fail");
    assert_eq!(err.status(), Exit::Denied, "{err}");
    assert!(err.to_string().contains("no password"), "{err}");
}

#[test]
fn stopped_server_is_remote_within_the_timeout_and_a_restart_is_seen() {
    let mut pg = TestPg::start();
    pg.stop();
    let timeout = Duration::from_secs(3);
    let d = root(&pg, "sslmode=prefer");
    let started = Instant::now();
    let err = must_fail(&d, pg.superuser_password(), timeout);
    assert!(started.elapsed() < timeout + Duration::from_secs(1));
    assert_eq!(err.status(), Exit::Remote, "{err}");
    assert!(
        err.to_string()
            .contains(&format!("127.0.0.1:{}", pg.port())),
        "{err}"
    );
    pg.start_again();
    let mut client = must_connect(&d);
    assert!(uses_tls(&mut client));
}

#[test]
fn a_server_that_never_answers_cannot_hold_past_the_timeout() {
    // Accepted by the kernel's backlog, never read from or answered.
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a silent listener");
    let port = listener.local_addr().expect("listener address").port();
    for mode in ["disable", "require"] {
        let d = dsn(&format!(
            "postgres://app:Pl4nted-Secret-7x@127.0.0.1:{port}/app?sslmode={mode}"
        ));
        let started = Instant::now();
        let err = must_fail(&d, "Pl4nted-Secret-7x", Duration::from_secs(1));
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_millis(2500),
            "{mode}: took {elapsed:?}"
        );
        assert_eq!(err.status(), Exit::Remote, "{mode}: {err}");
        assert!(err.to_string().contains("timed out"), "{mode}: {err}");
    }
    drop(listener);
}

#[test]
fn nothing_listening_is_remote() {
    let port = free_port();
    let d = dsn(&format!(
        "postgres://app:Pl4nted-Secret-7x@127.0.0.1:{port}/app"
    ));
    let err = must_fail(&d, "Pl4nted-Secret-7x", TIMEOUT);
    assert_eq!(err.status(), Exit::Remote, "{err}");
}

#[test]
fn a_dead_first_host_falls_through_to_the_next() {
    let pg = TestPg::start();
    let dead = free_port();
    let d = dsn(&format!(
        "postgres://postgres:{}@127.0.0.1:{dead},127.0.0.1:{}/postgres?sslmode=require",
        pg.superuser_password(),
        pg.port()
    ));
    let mut client = must_connect(&d);
    assert!(uses_tls(&mut client));
}

#[test]
fn forced_tls_server_rejects_plaintext_as_denied() {
    let pg = TestPg::builder().force_tls(true).start();
    let err = must_fail(
        &root(&pg, "sslmode=disable"),
        pg.superuser_password(),
        TIMEOUT,
    );
    // pg_hba's reject is SQLSTATE 28000, a refusal by the server.
    assert_eq!(err.status(), Exit::Denied, "{err}");
    let text = err.to_string();
    assert!(text.contains("pg_hba.conf"), "{text}");
    assert!(text.contains("no encryption"), "{text}");
    // allow retries with TLS after the rejection; prefer/require use it.
    for mode in ["allow", "prefer", "require"] {
        let mut client = must_connect(&root(&pg, &format!("sslmode={mode}")));
        assert!(uses_tls(&mut client), "{mode}");
    }
}

#[test]
fn the_harness_runs_statements_and_logs_them_without_the_password() {
    let pg = TestPg::builder()
        .log_statement_all(true)
        .superuser_password("pl4nted-root-pw")
        .start();
    pg.exec("CREATE TABLE harness_marker (id int)");
    let mut client = must_connect(&root(&pg, "sslmode=require&application_name=harness-test"));
    let name: String = client
        .query_one("SELECT current_setting('application_name')", &[])
        .expect("application_name")
        .get(0);
    assert_eq!(name, "harness-test");
    let log = pg.log_contents();
    assert!(log.contains("CREATE TABLE harness_marker"), "{log}");
    assert!(!log.contains("pl4nted-root-pw"), "{log}");
    assert!(pg.data_dir().join("PG_VERSION").exists());
}
