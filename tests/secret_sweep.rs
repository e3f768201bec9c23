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
