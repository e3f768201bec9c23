//! The command line of `provision-db`.

use std::time::Duration;

use clap::Parser;
use deploykit::docs::{Example, ToolDoc};
use deploykit::dsn::sources::DsnArgs;
use deploykit::exit::Exit;
use deploykit::output::OutputArgs;

use crate::plan::OwnerChoice;

/// Examples and exit statuses, shared by `--help` and the man page.
pub const DOC: ToolDoc = ToolDoc {
    examples: &[
        Example {
            what: "Converge the database and roles named by the three DSNs in the environment",
            command: "provision-db",
        },
        Example {
            what: "Show the statements a run would issue (passwords as ***), change nothing",
            command: "provision-db --plan --env-file /etc/myapp/provision.env",
        },
        Example {
            what: "Drift detection in CI: exit 1 when anything differs",
            command: "provision-db --check --env-marker prod --json | jq '.actions[] | select(.action != \"unchanged\")'",
        },
        Example {
            what: "A production deploy: the marker must say prod, and the lock must be lifted",
            command: "APP_ENV=production CONFIRM_PROD_MIGRATE=YES provision-db --env-marker prod",
        },
        Example {
            what: "Managed Postgres (admin has CREATEROLE and CREATEDB, not SUPERUSER) on PostgreSQL 15",
            command: "provision-db --no-service-bypassrls --schema public --schema billing",
        },
    ],
    exit_statuses: &[
        (
            Exit::Success,
            "converged (or, with --plan/--check, nothing would change)",
        ),
        (
            Exit::No,
            "--check found drift; the environment marker names another environment; \
             the production lock refused the run",
        ),
        (
            Exit::Usage,
            "a DSN is missing, does not parse, or the three disagree (database, server, roles); \
             a name Postgres would reject; nothing was touched",
        ),
        (
            Exit::Remote,
            "the server was unreachable, or a lock was not granted within --lock-timeout or \
             --statement-lock-timeout (the steps already done are whole)",
        ),
        (
            Exit::Denied,
            "a login was refused, or the admin role lacks a privilege the plan needs (named)",
        ),
    ],
    security: &[
        "Connects only to the server of DATABASE_ROOT_URL, with the admin credentials, TLS as its sslmode says (verify-full to check the certificate and host name). The app and service passwords are never sent: each role gets a SCRAM-SHA-256 verifier computed here, so the server and its logs never see the plaintext. DSNs are printed with their passwords as ***, and an unparseable one is never echoed.",
    ],
    json: "{\"changed\": bool, \"actions\": [{\"object\", \"kind\", \"action\", \"detail\", \"statements\"}]}; a run that fails before it has a plan (bad DSN, unreachable server, the production lock) has only \"error\" and \"exit\".",
};

/// Converge a Postgres database and its two runtime roles from the three DSNs alone.
///
/// From DATABASE_URL (the app role) and DATABASE_SERVICE_URL (the service
/// role) it derives the database, both roles and their passwords; it
/// connects with DATABASE_ROOT_URL (the admin role) and makes the server so:
/// both roles log in with exactly the intended attributes (app: no
/// SUPERUSER, CREATEDB, CREATEROLE, REPLICATION, BYPASSRLS; service: the
/// same but BYPASSRLS unless --no-service-bypassrls); their passwords match
/// the DSNs; the database exists, owned by --owner; PUBLIC has no
/// privileges on it and both roles may connect; in each --schema the app
/// role has USAGE and only the owner CREATE, the app role has DML on
/// existing tables and sequences and, through ALTER DEFAULT PRIVILEGES, on
/// future ones; with --env-marker, a one-row marker table names the
/// environment (a marker naming another fails closed before any change).
///
/// Every step reads the catalogs first and issues a statement only when
/// something differs, so a second run changes nothing. Passwords are sent
/// as SCRAM-SHA-256 verifiers computed here, never in plaintext. Where the
/// admin role cannot read pg_authid (managed Postgres), an unchanged
/// password cannot be detected and it is set on every run (--check does not
/// count that as drift). Concurrent runs against one server are serialised
/// by an advisory lock.
///
/// On PostgreSQL 15 a non-superuser admin cannot grant BYPASSRLS (use
/// --no-service-bypassrls) and is made a member of the owner role, which it
/// needs to give it the database and grant on its objects.
///
/// Output: a run prints each change on stdout (`create role "app": …`) and a
/// summary on stderr; --plan and --check print the SQL. --json prints
/// {"changed": bool, "actions": [{"object", "kind", "action", "detail",
/// "statements"}]} with action one of create, alter, grant, revoke,
/// unchanged, and statements redacted; with --check, "changed" also counts
/// passwords set only because they cannot be compared, the exit status does
/// not.
///
/// Values come from the flags, then --env-file, then the environment.
#[derive(Debug, Parser)]
#[command(name = "provision-db", version, after_help = DOC.after_help())]
pub struct Cli {
    #[command(flatten)]
    pub dsns: DsnArgs,

    /// Print the statements that would run (passwords as ***); change nothing
    #[arg(long, conflicts_with = "check")]
    pub plan: bool,

    /// Like --plan, but exit 1 when anything would change (drift detection)
    #[arg(long)]
    pub check: bool,

    /// Who owns the database and creates its objects
    #[arg(long, value_name = "WHO", value_enum, default_value = "service")]
    pub owner: OwnerChoice,

    /// A schema to manage (repeatable); created for the owner when missing
    #[arg(long = "schema", value_name = "NAME", default_value = "public")]
    pub schemas: Vec<String>,

    /// Do not give the service role BYPASSRLS (take it away if it has it)
    #[arg(long)]
    pub no_service_bypassrls: bool,

    /// Create the one-row marker table naming ENV, or verify it; another value fails closed
    #[arg(long, value_name = "ENV")]
    pub env_marker: Option<String>,

    /// The marker table (`table` or `schema.table`; an unqualified one goes in the first --schema)
    #[arg(long, value_name = "TABLE", default_value = "bk_env_marker")]
    pub marker_table: String,

    /// Deployment environment; production (`production` or `prod`, any case) needs
    /// --confirm-production to change anything
    ///
    /// One of production, prod, staging, stage, preview, development, dev, local, test,
    /// testing, in any case; any other name is refused (exit 2). Without --env or
    /// APP_ENV, NODE_ENV names it; VERCEL_ENV, when set, must agree on whether this is
    /// production.
    #[arg(long, value_name = "ENV", env = "APP_ENV")]
    pub env: Option<String>,

    /// Lift the production lock (the same as CONFIRM_PROD_MIGRATE=YES)
    #[arg(long)]
    pub confirm_production: bool,

    /// Deadline for each connection (DNS, connect, TLS, login)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = deploykit::duration::parse_budget)]
    pub timeout: Duration,

    /// How long to wait for another provision-db run on the same server
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = deploykit::duration::parse_budget)]
    pub lock_timeout: Duration,

    /// Postgres lock_timeout for each statement: a GRANT behind a long transaction fails (exit 3) instead of hanging
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = deploykit::duration::parse_budget)]
    pub statement_lock_timeout: Duration,

    /// Postgres statement_timeout for each statement and catalog query
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = deploykit::duration::parse_budget)]
    pub statement_timeout: Duration,

    #[command(flatten)]
    pub output: OutputArgs,
}
