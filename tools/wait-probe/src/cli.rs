//! The command line of `wait-probe`.
//!
//! Targets are positional and form stages, in order. The stage options
//! (`--budget`, `--status`, `--success-threshold`, `--expect-json`,
//! `--header`) apply to the targets that come after them on the command
//! line, so `--budget 20s A --budget 120s B` gives A 20 s and B 120 s; how
//! the options are matched to targets is [`crate::stages`]'s job, from the
//! argument positions clap records.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use deploykit::docs::{Example, ToolDoc};
use deploykit::exit::Exit;
use deploykit::output::OutputArgs;

/// Examples and exit statuses, shared by `--help` and the man page.
pub const DOC: ToolDoc = ToolDoc {
    examples: &[
        Example {
            what: "deploy.sh: the process must be alive within 20 s, then ready within 120 s",
            command: "wait-probe --budget 20s http://127.0.0.1:9000/livez --budget 120s http://127.0.0.1:9000/readyz",
        },
        Example {
            what: "Prove the new build is the one answering, not the old container",
            command: "wait-probe --budget 60s --expect-json sha=\"$GIT_SHA\" --expect-json imageDigest=\"$DIGEST\" http://127.0.0.1:9000/version",
        },
        Example {
            what: "Wait for Postgres (connect and SELECT 1), then run the migrations",
            command: "wait-probe --budget 30s env:DATABASE_URL -- ./migrate up",
        },
        Example {
            what: "Wait for a TCP port, then start the app in its place (exec)",
            command: "wait-probe tcp://db:5432 -- node server.js",
        },
        Example {
            what: "An HTTPS endpoint behind a private CA, ready only after 3 answers in a row",
            command: "wait-probe --cacert ca.pem --success-threshold 3 --status 200,204 https://svc.internal/readyz",
        },
        Example {
            what: "Machine-readable summary for a CI step",
            command: "wait-probe --json --budget 15s http://127.0.0.1:8080/livez | jq '.stages[] | select(.ready | not)'",
        },
    ],
    exit_statuses: &[
        (
            Exit::Success,
            "every stage was ready (with -- COMMAND, the command's own status instead)",
        ),
        (
            Exit::No,
            "a stage was not ready within its budget (never answered, wrong status, body never matched)",
        ),
        (
            Exit::Usage,
            "usage error: a target that does not parse, a bad option, an unreadable --cacert",
        ),
        (
            Exit::Denied,
            "a Postgres target refused the login (password, role, database): at once, not retried",
        ),
        (
            Exit::CannotExecute,
            "COMMAND was found but cannot be executed (checked before the wait)",
        ),
        (
            Exit::CommandNotFound,
            "COMMAND was not found (checked before the wait)",
        ),
        (Exit::Interrupted, "interrupted by SIGINT"),
        (Exit::Terminated, "terminated by SIGTERM"),
    ],
    security: &[
        "An HTTP target gets one GET per attempt with the --header values given (and a URL's user information as Basic), TLS verified against the built-in roots plus --cacert unless --insecure; plain HTTP only for an http:// URL. Redirects are not followed, so no credential goes on to another host. A Postgres target logs in with its DSN, TLS as its sslmode says.",
        "Targets print with their password and credential query values (token, key, sig, ...) as ***. The excerpt of a failing body, and every error text, is scrubbed of each secret the request carried, in every form: query values as sent and decoded, the password, each header value and its Basic pair and base64. The command after -- inherits the environment; no DSN is put in its argv.",
    ],
    json: "{\"ready\": bool, \"stages\": [{\"target\", \"ready\", \"elapsed_ms\", \"attempts\", \"last_status\", \"last_error\", \"budget_ms\"}]}, one stage per target in order; a stage never reached has 0 attempts. --json cannot be combined with a COMMAND (stdout belongs to it).",
};

/// Wait for HTTP, TCP and Postgres targets to be ready, stage by stage.
///
/// Each TARGET is a stage, waited for in order; a stage that runs out of
/// its budget fails the whole call at once. Then, if given, COMMAND is run
/// in wait-probe's place (exec), so its exit status and signals pass
/// through; it never runs unless every stage was ready.
///
/// Targets: `http://…` and `https://…` URLs (ready on an accepted status
/// and matching body), `tcp://host:port` or wait-for-it's `host:port`
/// (ready when a connection is accepted), `postgres://…` or `postgresql://…` DSNs and libpq
/// `key=value` strings (ready when a login and `SELECT 1` succeed; a
/// login the server refuses ends the wait at once with exit 4; the
/// password is always shown as ***), and `env:NAME`, which reads the target
/// from the environment variable NAME so a password stays out of argv.
///
/// Stage options (--budget, --status, --success-threshold, --expect-json,
/// --header) apply to every target that comes AFTER them on the command
/// line, until the same option is given again (--expect-json and --header
/// add up instead); a stage option after the last target is an error.
/// `--budget 20s URL1 --budget 120s URL2` gives URL1 20 s and then URL2
/// 120 s; `--header 'X: y' URL1 --expect-json sha=abc URL2` sends the
/// header to both and checks the body of URL2 only.
///
/// Deadlines: each stage has its --budget (30s by default); --timeout
/// bounds the whole wait, as `timeout COMMAND` and wait-for-it's -t do: a
/// stage no --budget precedes gets what is left of it, one with a --budget
/// the shorter of the two.
///
/// Polling: the first attempt at once; while the connection is refused,
/// quick retries (20 ms apart: nothing listens, it costs the target
/// nothing); once the target answers, or fails in any other way, an
/// exponential backoff with jitter from 50 ms up to --max-interval
/// (Retry-After is honoured up to that cap). Each attempt is bounded by
/// --attempt-timeout (name lookup, connect, TLS, status and body) and by
/// what is left of the budget, so a target that accepts a connection and
/// never answers cannot hold a stage past its budget. Redirects are not
/// followed: a 3xx is judged by --status like any other answer.
///
/// stderr shows one line per change of state with the elapsed time, and
/// on failure the last status, error and the first 200 bytes of the last
/// body. HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY are honoured for
/// http(s) targets. Nothing is printed on stdout (it belongs to COMMAND)
/// unless --json asks for the summary, one document printed whether the
/// wait succeeded or not: `{"ready": bool, "stages": [{"target",
/// "ready", "elapsed_ms", "attempts", "last_status", "last_error",
/// "budget_ms"}]}`, one entry per target in order (a stage never reached
/// has 0 attempts; `last_status` is the HTTP status or null; `last_error`
/// is null once ready).
#[derive(Debug, Parser)]
#[command(name = "wait-probe", version, after_help = DOC.after_help())]
pub struct Cli {
    /// What to wait for, in order: http(s):// URL, tcp://host:port,
    /// postgres:// DSN, or env:NAME
    #[arg(value_name = "TARGET", required = true)]
    pub targets: Vec<String>,

    /// Stage option: the budget of the targets that follow (default 30s,
    /// or what is left of --timeout)
    #[arg(long, value_name = "DURATION", value_parser = deploykit::duration::parse_budget)]
    pub budget: Vec<Duration>,

    /// The deadline of the whole wait, every stage included (as `timeout`
    /// and wait-for-it's -t): a stage no --budget precedes gets what is left
    /// of it, one with a --budget the shorter of the two
    #[arg(long, short = 't', value_name = "DURATION", value_parser = deploykit::duration::parse_budget)]
    pub timeout: Option<Duration>,

    /// Stage option: accepted HTTP statuses for the targets that follow,
    /// a list of codes and ranges (default 200-299)
    #[arg(long, value_name = "LIST", value_parser = crate::rules::StatusSet::parse)]
    pub status: Vec<crate::rules::StatusSet>,

    /// Stage option: consecutive ready answers needed, --max-interval apart (default 1)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub success_threshold: Vec<u32>,

    /// Stage option (repeatable, adds up): the JSON body must hold VALUE at
    /// the dotted PATH (e.g. `sha=abc123`, `checks.db=ok`, `items.0.id=7`)
    #[arg(long, value_name = "PATH=VALUE", value_parser = crate::rules::Expect::parse)]
    pub expect_json: Vec<crate::rules::Expect>,

    /// Stage option (repeatable, adds up): an HTTP request header, `Name: value`
    #[arg(long, value_name = "HEADER", value_parser = crate::rules::HeaderParser)]
    pub header: Vec<crate::rules::Header>,

    /// Deadline of each attempt: name lookup, connect, TLS, status and body
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = deploykit::duration::parse_budget)]
    pub attempt_timeout: Duration,

    /// The cap of the backoff between attempts once a target answers
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = deploykit::duration::parse_budget)]
    pub max_interval: Duration,

    /// Trust this CA (PEM) for https targets, in addition to the built-in roots
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub cacert: Option<PathBuf>,

    /// Do not verify https targets' certificates (Postgres TLS follows the DSN's sslmode)
    #[arg(long)]
    pub insecure: bool,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Run this command in wait-probe's place once every stage is ready
    #[arg(last = true, value_name = "COMMAND", conflicts_with = "json")]
    pub command: Vec<OsString>,
}
