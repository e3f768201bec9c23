//! The command line of `validate-dsns`.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use deploykit::docs::{Example, ToolDoc};
use deploykit::dsn::sources::DsnArgs;
use deploykit::exit::Exit;
use deploykit::output::OutputArgs;

/// Examples and exit statuses, shared by `--help` and the man page.
pub const DOC: ToolDoc = ToolDoc {
    examples: &[
        Example {
            what: "Check the three DSNs in the environment (the provisioner's view)",
            command: "validate-dsns",
        },
        Example {
            what: "Check a runtime container's environment: no admin DSN, no legacy variables",
            command: "validate-dsns --runtime --env-file /etc/myapp/runtime.env",
        },
        Example {
            what: "Also log in with each DSN and check the roles' privileges and the environment marker",
            command: "validate-dsns --env production --connect --expect-env prod --timeout 5s",
        },
        Example {
            what: "Machine-readable findings for a CI step",
            command: "validate-dsns --json | jq '.findings[] | select(.severity == \"error\")'",
        },
        Example {
            what: "List the rule ids and what each checks",
            command: "validate-dsns rules",
        },
        Example {
            what: "Show how libpq would read a DSN, password redacted",
            command: "validate-dsns explain 'postgres://app:s3cret@db:5432/app?sslmode=verify-full' --json",
        },
    ],
    exit_statuses: &[
        (
            Exit::Success,
            "no errors (warnings allowed unless --strict)",
        ),
        (
            Exit::No,
            "at least one error finding (or a warning with --strict)",
        ),
        (
            Exit::Usage,
            "usage error, a required variable missing or a DSN that does not parse; explain: the DSN does not parse",
        ),
        (
            Exit::Remote,
            "--connect could not reach a server within --timeout",
        ),
        (Exit::Denied, "--connect: a login was refused"),
    ],
    security: &[
        "Without --connect nothing is sent anywhere. A DSN is printed only with its password as ***; one that does not parse is never echoed, and a password with an unencoded \"/\" or \"@\" (which libpq would read as a port, a database name or a host) is refused without showing its pieces.",
        "--connect logs in to each DSN's own server with its user and password (SCRAM or what the server asks for), TLS as its sslmode says: libpq's default prefer uses TLS when the server offers it without checking the certificate; verify-full checks the chain and the host name.",
    ],
    json: "The check: {\"ok\": bool, \"findings\": [{\"variable\", \"rule\", \"severity\", \"message\"}]}. explain: {\"ok\": bool, \"error\" (when the DSN does not parse), \"connection_kind\", \"options\": {keyword: value}} with the password as ***. rules: {\"rules\": [{\"rule\", \"explanation\"}]}.",
};

/// Check the three Postgres DSNs of a service and the isolation rules between them.
///
/// The admin DSN (DATABASE_ROOT_URL) is for provisioning only; the runtime
/// DSNs (DATABASE_URL for the app role, DATABASE_SERVICE_URL for the service
/// role) are what containers get. validate-dsns checks each DSN as libpq
/// parses it, then the rules between them, and with --connect logs in and
/// checks the roles on the server. Findings go to stdout, one per line, as
/// `VARIABLE: severity[rule-id]: message`; DSNs are always shown with the
/// password as ***.
///
/// Values come from the flags, then --env-file, then the environment.
///
/// Standards: each DSN is read as the newest released libpq (PostgreSQL 18)
/// reads it, including the checks libpq makes only when it connects: option
/// values (sslmode, channel_binding, require_auth, gssencmode, sslcertmode,
/// sslnegotiation, target_session_attrs, load_balance_hosts, the TLS
/// protocol bounds), integers as C reads them (at most 2147483647, ASCII
/// blanks only), ports from 1 to 65535, a numeric hostaddr, and
/// sslrootcert=system or sslnegotiation=direct with too weak an sslmode. An
/// empty value is a value: sslmode= is invalid, as in libpq. Older libpq
/// releases differ: 15 refuses require_auth, sslcertmode, load_balance_hosts
/// and gssdelegation as unknown keywords (added in 16), 16 also
/// sslnegotiation (17), and 17 also sslkeylogfile, min_protocol_version,
/// max_protocol_version, scram_client_key, scram_server_key and the oauth_*
/// keywords (18); before 16, "system" is an ordinary sslrootcert file name;
/// before 18, blanks in a URI component are kept in its value (18 drops them
/// around it and refuses one inside it: write %20). Unlike libpq, validate-dsns refuses an
/// unencoded "@" in the user information, a value that is not UTF-8 and a NUL
/// byte, names a foreign URI scheme (mysql://) instead of reporting a missing
/// "=", never quotes a password, and does not read service files.
#[derive(Debug, Parser)]
#[command(name = "validate-dsns", version, after_help = DOC.after_help())]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub check: CheckArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    Explain(ExplainArgs),
    /// List every rule id with what it checks
    Rules,
}

/// Print how a DSN parses (libpq's keywords and values, password redacted)
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The connection string (URI or keyword/value); `-` reads it from stdin
    #[arg(value_name = "DSN")]
    pub dsn: String,
}

/// The checks' inputs and switches.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub dsns: DsnArgs,

    /// Check a runtime container's environment: both runtime DSNs required,
    /// the admin DSN and legacy database variables must be absent
    #[arg(long)]
    pub runtime: bool,

    /// Deployment environment; production (`production` or `prod`, any case) requires
    /// sslmode=require or stronger
    ///
    /// One of production, prod, staging, stage, preview, development, dev, local, test,
    /// testing, in any case; any other name is refused (exit 2). Without --env or
    /// APP_ENV, NODE_ENV names it; VERCEL_ENV, when set, must agree on whether this is
    /// production.
    #[arg(long, value_name = "ENV", env = "APP_ENV")]
    pub env: Option<String>,

    /// Treat warnings as errors
    #[arg(long)]
    pub strict: bool,

    /// Log in with each DSN and check identities, role attributes and privileges
    #[arg(long)]
    pub connect: bool,

    /// Deadline for each connection and its checks (e.g. 500ms, 5s)
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = deploykit::duration::parse_budget)]
    pub timeout: Duration,

    /// With --connect: the environment the marker table must name (fails closed)
    #[arg(long, value_name = "ENV", requires = "connect")]
    pub expect_env: Option<String>,

    /// With --expect-env: the one-row marker table, read as `SELECT env FROM <table>`
    #[arg(long, value_name = "TABLE", default_value = "bk_env_marker")]
    pub marker_table: String,
}
