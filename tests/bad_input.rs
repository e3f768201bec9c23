//! The bad-input table: per tool, the wrong things a user plausibly feeds it,
//! with the exit status and the message each must produce.
//!
//! The table ([`CASES`]) IS the test: [`every_row_of_the_bad_input_table`]
//! runs every row in its own temp dir (the working directory of the run) and
//! reports all failing rows at once. Besides the row's own status and
//! message, every row must keep the contract of CONVENTIONS.md for errors:
//!
//! - stdout empty (unless the row says the tool documents a result there),
//! - stderr is one message starting `<tool>: ` (or clap's own `error: ` for
//!   argument-parsing errors), under 2 KiB however big the input, with no
//!   panic, backtrace or `Debug` output,
//! - no planted secret anywhere (the sweep of [`Tool::run`]),
//! - nothing in the temp dir changed (scaffold-service writes nothing, pin
//!   rewrites nothing),
//! - the run ends within [`HANG`] (a hang is a failure, not a wait).
//!
//! Rows never need network or a real service: input is rejected before any
//! connection, and where a connection is reached on purpose it goes to
//! 127.0.0.1 port 1, where nothing listens.
//!
//! Rows that cannot be made here: "unreadable file" as a permission problem
//! (the tests run as root, who reads every file; the unprivileged run of
//! tests/scaffold_service.rs covers it for the one tool that writes). A
//! directory where a file is expected, a path under a missing directory, a
//! dangling symlink and a symlink loop stand in for it. A FIFO without a
//! writer is left out on purpose: every tool would rightly block on it.
//! Arguments and variables cannot exceed 128 KiB each (Linux
//! MAX_ARG_STRLEN), so the 1 MiB DSN goes through stdin and an env file.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use deploykit_tests::{Run, Tool, bins};

/// A run that takes longer than this is reported as a hang.
const HANG: Duration = Duration::from_secs(30);

/// The most stderr a rejected input may produce, however big the input.
const MAX_STDERR: usize = 2048;

/// A piece of input: an argument, a variable's value, stdin or a file's content.
#[derive(Clone, Copy)]
enum Text {
    /// Plain text.
    S(&'static str),
    /// Raw bytes, not UTF-8.
    Bytes(&'static [u8]),
    /// `head`, then `unit` repeated `times`, then `tail`: a huge input.
    Rep {
        head: &'static str,
        unit: &'static str,
        times: usize,
        tail: &'static str,
    },
}

use Text::{Bytes, Rep, S};

impl Text {
    fn bytes(self) -> Vec<u8> {
        match self {
            S(s) => s.as_bytes().to_vec(),
            Bytes(b) => b.to_vec(),
            Rep {
                head,
                unit,
                times,
                tail,
            } => [head, &unit.repeat(times), tail].concat().into_bytes(),
        }
    }

    fn os(self) -> OsString {
        OsString::from_vec(self.bytes())
    }
}

/// A 100 KiB run of one letter (arguments stay under 128 KiB each).
const fn huge(head: &'static str, tail: &'static str) -> Text {
    Rep {
        head,
        unit: "a",
        times: 100 * 1024,
        tail,
    }
}

/// A relative path of 10,000 components.
const DEEP: Text = Rep {
    head: "",
    unit: "d/",
    times: 10_000,
    tail: "f",
};

/// Something made in the row's temp dir before the run.
#[derive(Clone, Copy)]
enum Fs {
    /// A file with this content.
    File(&'static str, Text),
    /// A directory.
    Dir(&'static str),
    /// A symlink `path -> target`.
    Link(&'static str, &'static str),
    /// A copy of a fixture directory (relative to the workspace) at `path`.
    Fixture(&'static str, &'static str),
}

use Fs::{Dir, File, Fixture, Link};

/// What stdout must hold.
#[derive(Clone, Copy)]
enum Out {
    /// Nothing: the usual case for an error.
    Empty,
    /// The tool documents a result on stdout even on this path (findings
    /// lines): it must contain this.
    Has(&'static str),
}

/// One row of the table.
#[derive(Clone, Copy)]
struct Case {
    tool: &'static str,
    what: &'static str,
    args: &'static [Text],
    env: &'static [(&'static str, Text)],
    stdin: Option<Text>,
    setup: &'static [Fs],
    code: i32,
    stderr: &'static str,
    stdout: Out,
    /// clap prints the whole help on stderr (no subcommand given): exempt
    /// from the prefix and size checks.
    help: bool,
}

/// A row: `tool`, what it tries, then the builder calls below.
const fn row(tool: &'static str, what: &'static str) -> Case {
    Case {
        tool,
        what,
        args: &[],
        env: &[],
        stdin: None,
        setup: &[],
        code: -1,
        stderr: "",
        stdout: Out::Empty,
        help: false,
    }
}

impl Case {
    const fn args(self, args: &'static [Text]) -> Case {
        Case { args, ..self }
    }
    const fn env(self, env: &'static [(&'static str, Text)]) -> Case {
        Case { env, ..self }
    }
    const fn stdin(self, stdin: Text) -> Case {
        Case {
            stdin: Some(stdin),
            ..self
        }
    }
    const fn setup(self, setup: &'static [Fs]) -> Case {
        Case { setup, ..self }
    }
    /// The expected exit status and a fragment of stderr.
    const fn fails(self, code: i32, stderr: &'static str) -> Case {
        Case {
            code,
            stderr,
            ..self
        }
    }
    /// No subcommand: clap's help on stderr, exit 2.
    const fn prints_help(self) -> Case {
        Case {
            code: 2,
            stderr: "Usage:",
            help: true,
            ..self
        }
    }
    /// stdout must contain `fragment` (findings documented on stdout).
    const fn stdout(self, fragment: &'static str) -> Case {
        Case {
            stdout: Out::Has(fragment),
            ..self
        }
    }
}

// Planted secrets (bins::PLANTED) used as passwords below.
const APP_URL: Text = S("postgres://app:pl4nted-app-pw@127.0.0.1:1/app");
const SVC_URL: Text = S("postgres://svc:pl4nted-svc-pw@127.0.0.1:1/app");
const ROOT_URL: Text = S("postgres://root:pl4nted-root-pw@127.0.0.1:1/postgres");
const PINNED: Text = S(
    "ghcr.io/acme/api:prod-abc1234@sha256:1111111111111111111111111111111111111111111111111111111111111111",
);
const NO_ENGINE: Text = S("unix:///nonexistent/docker.sock");
const MONOREPO: &[Fs] = &[Fixture("tests/fixtures/scaffold-monorepo", "repo")];
const PIN_FILES: &[Fs] = &[
    Fixture("tests/fixtures/tag-image", "deploy"),
    File("bad.yaml", S("::: not yaml [\n")),
    File(
        "nonutf8.yaml",
        Bytes(b"images:\n  - name: x\n    newName: \xff\n"),
    ),
    File(
        "flow/kustomization.yaml",
        S("images: [{name: api, newName: ghcr.io/acme/api, newTag: prod-0000000}]\n"),
    ),
    File(
        "alias/compose.yaml",
        S("x-app: &app\n  image: ghcr.io/acme/api:prod-0000000\nservices:\n  api: *app\n"),
    ),
];
/// A pinned reference without a tag: it says nothing about its part.
const UNTAGGED: Text =
    S("ghcr.io/acme/api@sha256:1111111111111111111111111111111111111111111111111111111111111111");

/// The 1 MiB DSN (stdin and env files carry what argv cannot).
const MIB_ENV: Text = Rep {
    head: "DATABASE_URL=postgres://app:Pl4nted-Secret-7x@127.0.0.1:",
    unit: "1",
    times: 1 << 20,
    tail: "/app\n",
};

#[rustfmt::skip]
const CASES: &[Case] = &[
    // ------------------------------------------------------------ validate-dsns
    // The check prints findings (one per DSN) on stdout, documented, even on exit 2.
    row("validate-dsns", "no DSN at all").fails(2, "3 error(s)").stdout("DATABASE_URL: error[missing]: not set"),
    row("validate-dsns", "port out of range, password planted")
        .args(&[S("--url"), S("postgres://app:Pl4nted-Secret-7x@127.0.0.1:99999/app")])
        .fails(2, "error(s)").stdout("invalid port number"),
    row("validate-dsns", "unterminated IPv6 bracket")
        .args(&[S("--url"), S("postgres://app:Pl4nted-Secret-7x@[::1/app")])
        .fails(2, "error(s)").stdout("postgres://app:***@[::1/app"),
    row("validate-dsns", "bad percent-encoding in the password")
        .args(&[S("--url"), S("postgres://app:%zzPl4nted-Secret-7x@h/app")])
        .fails(2, "error(s)").stdout("invalid percent-encoded token"),
    row("validate-dsns", "unknown sslmode")
        .args(&[S("--url"), S("postgres://app:Pl4nted-Secret-7x@h/app?sslmode=on")])
        .fails(2, "error(s)").stdout("invalid sslmode value"),
    row("validate-dsns", "unknown URI parameter")
        .args(&[S("--url"), S("postgres://app:Pl4nted-Secret-7x@h/app?pasword=x")])
        .fails(2, "error(s)").stdout("invalid URI query parameter"),
    row("validate-dsns", "a mysql:// URL")
        .args(&[S("--url"), S("mysql://app:Pl4nted-Secret-7x@h/app")])
        .fails(2, "error(s)").stdout("DATABASE_URL: error[parse-error]"),
    row("validate-dsns", "keyword/value with an unterminated quote")
        .args(&[S("--url"), S("host=h password='Pl4nted-Secret-7x")])
        .fails(2, "error(s)").stdout("unterminated quoted string"),
    row("validate-dsns", "non-UTF-8 DSN argument")
        .args(&[S("--url"), Bytes(b"postgres://app:Pl4nted-Secret-7x@h/\xff")])
        .fails(2, "invalid UTF-8"),
    row("validate-dsns", "non-UTF-8 DSN in the environment")
        .env(&[("DATABASE_URL", Bytes(b"postgres://app:Pl4nted-Secret-7x@h/\xff"))])
        .fails(2, "invalid UTF-8"),
    row("validate-dsns", "100 KiB port in a DSN argument")
        .args(&[S("--url"), huge("postgres://app:Pl4nted-Secret-7x@h:", "/app")])
        .fails(2, "error(s)").stdout("invalid integer value"),
    row("validate-dsns", "1 MiB DSN in an env file")
        .setup(&[File("huge.env", MIB_ENV)]).args(&[S("--env-file"), S("huge.env")])
        .fails(2, "error(s)").stdout("invalid integer value"),
    row("validate-dsns", "env file missing")
        .args(&[S("--env-file"), S("missing/runtime.env")]).fails(2, "reading env file missing/runtime.env: No such file"),
    row("validate-dsns", "env file is a directory")
        .setup(&[Dir("env.d")]).args(&[S("--env-file"), S("env.d")]).fails(2, "Is a directory"),
    row("validate-dsns", "env file is a symlink loop")
        .setup(&[Link("a.env", "b.env"), Link("b.env", "a.env")]).args(&[S("--env-file"), S("a.env")])
        .fails(2, "symbolic links"),
    row("validate-dsns", "env file with a syntax error")
        .args(&[S("--env-file"), S("-")]).stdin(S("DATABASE_URL='postgres://app:Pl4nted-Secret-7x@h/app\n"))
        .fails(2, "syntax error on line 1"),
    row("validate-dsns", "env file not UTF-8")
        .setup(&[File("bad.env", Bytes(b"DATABASE_URL=postgres://app:Pl4nted-Secret-7x@h/\xff\n"))])
        .args(&[S("--env-file"), S("bad.env")]).fails(2, "valid UTF-8"),
    row("validate-dsns", "--runtime with the admin DSN present")
        .args(&[S("--runtime"), S("--root-url"), ROOT_URL, S("--url"), APP_URL, S("--service-url"), SVC_URL])
        .fails(1, "error(s)").stdout("DATABASE_ROOT_URL"),
    row("validate-dsns", "bad --timeout")
        .args(&[S("--timeout"), S("soon")]).fails(2, "invalid value 'soon' for '--timeout"),
    row("validate-dsns", "--expect-env without --connect")
        .args(&[S("--expect-env"), S("prod")]).fails(2, "--connect"),
    row("validate-dsns", "--connect to a closed port")
        .args(&[S("--connect"), S("--timeout"), S("2s"), S("--root-url"), ROOT_URL, S("--url"), APP_URL, S("--service-url"), SVC_URL])
        .fails(3, "error(s)").stdout("error[unreachable]"),
    row("validate-dsns", "unknown flag").args(&[S("--password"), S("Pl4nted-Secret-7x")]).fails(2, "unexpected argument '--password'"),
    row("validate-dsns", "--timeout 0").args(&[S("--timeout"), S("0ms")]).fails(2, "is a zero duration"),
    row("validate-dsns", "explain: unparseable DSN")
        .args(&[S("explain"), S("postgres://app:Pl4nted-Secret-7x@[::1/app")]).fails(2, "IPv6 host address"),
    row("validate-dsns", "explain: bad percent-encoding from stdin")
        .args(&[S("explain"), S("-")]).stdin(S("postgres://app:Pl4nted-Secret-7x%ff@h/app"))
        .fails(2, "percent-decoded value is not valid UTF-8"),
    row("validate-dsns", "explain: 1 MiB DSN on stdin, bad parameter")
        .args(&[S("explain"), S("-")])
        .stdin(Rep { head: "postgres://app:Pl4nted-Secret-7x@h/app?", unit: "x", times: 1 << 20, tail: "=1" })
        .fails(2, "invalid URI query parameter"),
    row("validate-dsns", "explain: non-UTF-8 argument")
        .args(&[S("explain"), Bytes(b"host=\xff")]).fails(2, "invalid UTF-8"),
    row("validate-dsns", "explain: no DSN").args(&[S("explain")]).fails(2, "<DSN>"),

    // ------------------------------------------------------------- provision-db
    row("provision-db", "no DSN at all").args(&[S("--plan")]).fails(2, "DATABASE_ROOT_URL is not set"),
    row("provision-db", "admin DSN missing")
        .args(&[S("--plan"), S("--url"), APP_URL, S("--service-url"), SVC_URL]).fails(2, "DATABASE_ROOT_URL is not set"),
    row("provision-db", "unparseable app DSN")
        .args(&[S("--plan"), S("--url"), S("postgres://app:pl4nted-app-pw@[::1/app"), S("--service-url"), SVC_URL, S("--root-url"), ROOT_URL])
        .fails(2, "IPv6 host address"),
    row("provision-db", "app DSN without a password")
        .args(&[S("--plan"), S("--url"), S("postgres://app@127.0.0.1:1/app"), S("--service-url"), SVC_URL, S("--root-url"), ROOT_URL])
        .fails(2, "DATABASE_URL has no password"),
    row("provision-db", "app DSN without a database")
        .args(&[S("--plan"), S("--url"), S("postgres://app:pl4nted-app-pw@127.0.0.1:1/"), S("--service-url"), SVC_URL, S("--root-url"), ROOT_URL])
        .fails(2, "names no database"),
    row("provision-db", "runtime DSNs name different databases")
        .args(&[S("--plan"), S("--url"), S("postgres://app:pl4nted-app-pw@127.0.0.1:1/other"), S("--service-url"), SVC_URL, S("--root-url"), ROOT_URL])
        .fails(2, "must name one database"),
    row("provision-db", "app and service are one role")
        .args(&[S("--plan"), S("--url"), APP_URL, S("--service-url"), S("postgres://app:pl4nted-svc-pw@127.0.0.1:1/app"), S("--root-url"), ROOT_URL])
        .fails(2, "the app and service roles must differ"),
    row("provision-db", "admin DSN on another server")
        .args(&[S("--plan"), S("--url"), APP_URL, S("--service-url"), SVC_URL, S("--root-url"), S("postgres://root:pl4nted-root-pw@127.0.0.2:1/postgres")])
        .fails(2, "must reach the same server"),
    row("provision-db", "reserved role name pg_*")
        .args(&[S("--plan"), S("--url"), S("postgres://pg_app:pl4nted-app-pw@127.0.0.1:1/app"), S("--service-url"), SVC_URL, S("--root-url"), ROOT_URL])
        .fails(2, "reserved"),
    row("provision-db", "role name over 63 bytes")
        .args(&[S("--plan"), S("--url"), S("postgres://a234567890123456789012345678901234567890123456789012345678901234:pl4nted-app-pw@127.0.0.1:1/app"), S("--service-url"), SVC_URL, S("--root-url"), ROOT_URL])
        .fails(2, "truncates names to 63 bytes"),
    row("provision-db", "role name with a NUL byte")
        .args(&[S("--plan"), S("--url"), S("postgres://a%00b:pl4nted-app-pw@127.0.0.1:1/app"), S("--service-url"), SVC_URL, S("--root-url"), ROOT_URL])
        .fails(2, "%00"),
    row("provision-db", "system database postgres")
        .args(&[S("--plan"), S("--url"), S("postgres://app:pl4nted-app-pw@127.0.0.1:1/postgres"), S("--service-url"), S("postgres://svc:pl4nted-svc-pw@127.0.0.1:1/postgres"), S("--root-url"), ROOT_URL])
        .fails(2, "system database \"postgres\""),
    row("provision-db", "system database template1")
        .args(&[S("--plan"), S("--url"), S("postgres://app:pl4nted-app-pw@127.0.0.1:1/template1"), S("--service-url"), S("postgres://svc:pl4nted-svc-pw@127.0.0.1:1/template1"), S("--root-url"), ROOT_URL])
        .fails(2, "system database \"template1\""),
    // Quotes and semicolons are legal in quoted Postgres names: quoted, not
    // rejected, so the run gets as far as the (closed) server.
    row("provision-db", "hostile role name is quoted, reaches the server")
        .args(&[S("--plan"), S("--timeout"), S("2s"), S("--url"), S("postgres://app%22%3B%20DROP%20ROLE%20postgres%3B--:pl4nted-app-pw@127.0.0.1:1/app"), S("--service-url"), SVC_URL, S("--root-url"), ROOT_URL])
        .fails(3, "connecting with DATABASE_ROOT_URL"),
    row("provision-db", "reserved schema pg_*")
        .args(&[S("--plan"), S("--url"), APP_URL, S("--service-url"), SVC_URL, S("--root-url"), ROOT_URL, S("--schema"), S("pg_evil")])
        .fails(2, "--schema \"pg_evil\""),
    row("provision-db", "marker table with two dots")
        .args(&[S("--plan"), S("--url"), APP_URL, S("--service-url"), SVC_URL, S("--root-url"), ROOT_URL, S("--marker-table"), S("a.b.c")])
        .fails(2, "is not `table` or `schema.table`"),
    row("provision-db", "empty --env-marker")
        .args(&[S("--plan"), S("--url"), APP_URL, S("--service-url"), SVC_URL, S("--root-url"), ROOT_URL, S("--env-marker"), S("")])
        .fails(2, "--env-marker is empty"),
    row("provision-db", "production without the confirmation")
        .args(&[S("--url"), APP_URL, S("--service-url"), SVC_URL, S("--root-url"), ROOT_URL, S("--env"), S("production")])
        .fails(1, "refusing to change a production database"),
    row("provision-db", "--timeout 0").args(&[S("--timeout"), S("0s")]).fails(2, "is a zero duration"),
    row("provision-db", "--statement-timeout 0 (Postgres would read it as no limit)").args(&[S("--statement-timeout"), S("0")]).fails(2, "is a zero duration"),
    row("provision-db", "--lock-timeout with an unknown unit").args(&[S("--lock-timeout"), S("1.5y")]).fails(2, "unknown unit \"y\""),
    row("provision-db", "--plan and --check together").args(&[S("--plan"), S("--check")]).fails(2, "cannot be used with"),
    row("provision-db", "unknown --owner").args(&[S("--owner"), S("app")]).fails(2, "invalid value 'app' for '--owner"),
    row("provision-db", "non-UTF-8 DSN argument").args(&[S("--url"), Bytes(b"postgres://app:pl4nted-app-pw@h/\xff")]).fails(2, "invalid UTF-8"),
    row("provision-db", "1 MiB DSN in an env file")
        .setup(&[File("huge.env", MIB_ENV)]).args(&[S("--plan"), S("--env-file"), S("huge.env")])
        .fails(2, "invalid integer value"),
    row("provision-db", "env file is a directory").setup(&[Dir("env.d")]).args(&[S("--env-file"), S("env.d")]).fails(2, "Is a directory"),
    row("provision-db", "env file under a missing directory").args(&[S("--env-file"), S("missing/provision.env")]).fails(2, "No such file"),
    row("provision-db", "DSN variable set but empty")
        .env(&[("DATABASE_URL", S("")), ("DATABASE_SERVICE_URL", SVC_URL), ("DATABASE_ROOT_URL", ROOT_URL)])
        .args(&[S("--plan")]).fails(2, "DATABASE_URL"),
    row("provision-db", "closed port: the server is unreachable")
        .args(&[S("--plan"), S("--timeout"), S("2s"), S("--url"), APP_URL, S("--service-url"), SVC_URL, S("--root-url"), ROOT_URL])
        .fails(3, "Connection refused"),

    // --------------------------------------------------------------- wait-probe
    row("wait-probe", "no target").fails(2, "<TARGET>"),
    row("wait-probe", "DSN with port out of range").args(&[S("postgres://app:Pl4nted-Secret-7x@h:99999/app")]).fails(2, "invalid port number"),
    row("wait-probe", "DSN with unterminated IPv6").args(&[S("postgres://app:Pl4nted-Secret-7x@[::1/app")]).fails(2, "postgres://app:***@[::1/app"),
    row("wait-probe", "URL with password and bad host").args(&[S("http://u:Pl4nted-Secret-7x@[::1/")]).fails(2, "invalid URL"),
    row("wait-probe", "URL with port out of range").args(&[S("http://127.0.0.1:99999/")]).fails(2, "invalid port number"),
    row("wait-probe", "tcp target without port").args(&[S("tcp://127.0.0.1")]).fails(2, "no port"),
    row("wait-probe", "tcp target with port 0").args(&[S("tcp://127.0.0.1:0")]).fails(2, "port 0"),
    row("wait-probe", "unsupported scheme").args(&[S("ftp://127.0.0.1/")]).fails(2, "unsupported target scheme"),
    row("wait-probe", "a bare word").args(&[S("localhost")]).fails(2, "localhost"),
    // wait-for-it's host:port is a TCP target; one that cannot be says how to write it.
    row("wait-probe", "host:port with port 0").args(&[S("localhost:0")]).fails(2, "(expected tcp://host:port)"),
    row("wait-probe", "host:port out of range").args(&[S("db:99999")]).fails(2, "(expected tcp://host:port)"),
    row("wait-probe", "host:service name").args(&[S("localhost:http")]).fails(2, "tcp://host:port"),
    row("wait-probe", "--timeout 0").args(&[S("--timeout"), S("0"), S("tcp://127.0.0.1:1")]).fails(2, "is a zero duration"),
    row("wait-probe", "--timeout a fraction with a bad unit").args(&[S("--timeout"), S("1.5x"), S("tcp://127.0.0.1:1")]).fails(2, "unknown unit \"x\""),
    row("wait-probe", "host:port closed within the --timeout").args(&[S("-t"), S("300ms"), S("127.0.0.1:1")]).fails(1, "tcp://127.0.0.1:1: not ready within"),
    row("wait-probe", "env: target not set").args(&[S("env:DATABASE_URL")]).fails(2, "DATABASE_URL (from env:DATABASE_URL) is not set"),
    row("wait-probe", "env: target without a name").args(&[S("env:")]).fails(2, "needs a variable name"),
    row("wait-probe", "env: target holding a bad DSN")
        .env(&[("DATABASE_URL", S("postgres://app:Pl4nted-Secret-7x@[::1/app"))]).args(&[S("env:DATABASE_URL")])
        .fails(2, "(from environment variable DATABASE_URL)"),
    row("wait-probe", "env: target holding non-UTF-8")
        .env(&[("DATABASE_URL", Bytes(b"postgres://app:Pl4nted-Secret-7x@h/\xff"))]).args(&[S("env:DATABASE_URL")])
        .fails(2, "DATABASE_URL"),
    row("wait-probe", "non-UTF-8 target").args(&[Bytes(b"http://127.0.0.1:1/\xff")]).fails(2, "invalid UTF-8"),
    row("wait-probe", "100 KiB URL").args(&[huge("http://127.0.0.1:1/", "")]).fails(2, "too long"),
    row("wait-probe", "100 KiB DSN").args(&[huge("postgres://app:Pl4nted-Secret-7x@127.0.0.1:1/", "")]).fails(2, "too long"),
    row("wait-probe", "--cacert missing").args(&[S("--cacert"), S("missing/ca.pem"), S("https://127.0.0.1:1/")]).fails(2, "--cacert missing/ca.pem"),
    row("wait-probe", "--cacert is a directory").setup(&[Dir("ca.d")]).args(&[S("--cacert"), S("ca.d"), S("https://127.0.0.1:1/")]).fails(2, "Is a directory"),
    row("wait-probe", "--cacert not PEM")
        .setup(&[File("ca.pem", S("not a certificate\n"))]).args(&[S("--cacert"), S("ca.pem"), S("https://127.0.0.1:1/")])
        .fails(2, "no PEM certificate"),
    row("wait-probe", "--header without a colon, secret in it")
        .args(&[S("--header"), S("Authorization Bearer pl4nted-token"), S("http://127.0.0.1:1/")]).fails(2, "value not shown"),
    row("wait-probe", "--header value with a line break")
        .args(&[S("--header"), S("Authorization: Bearer pl4nted-token\r\nX-Evil: 1"), S("http://127.0.0.1:1/")]).fails(2, "line break"),
    row("wait-probe", "--status out of range").args(&[S("--status"), S("999"), S("http://127.0.0.1:1/")]).fails(2, "invalid HTTP status '999'"),
    row("wait-probe", "--status reversed range").args(&[S("--status"), S("300-200"), S("http://127.0.0.1:1/")]).fails(2, "empty status range"),
    row("wait-probe", "--expect-json empty path").args(&[S("--expect-json"), S("=x"), S("http://127.0.0.1:1/")]).fails(2, "invalid JSON path"),
    row("wait-probe", "--success-threshold 0").args(&[S("--success-threshold"), S("0"), S("http://127.0.0.1:1/")]).fails(2, "0 is not in 1.."),
    row("wait-probe", "--budget 0").args(&[S("--budget"), S("0s"), S("http://127.0.0.1:1/")]).fails(2, "is a zero duration"),
    row("wait-probe", "--budget not a duration").args(&[S("--budget"), S("forever"), S("http://127.0.0.1:1/")]).fails(2, "forever"),
    row("wait-probe", "stage option after the last target").args(&[S("http://127.0.0.1:1/"), S("--budget"), S("1s")]).fails(2, "after the last target"),
    row("wait-probe", "COMMAND that does not exist")
        .args(&[S("--budget"), S("5s"), S("tcp://127.0.0.1:1"), S("--"), S("missing/migrate")]).fails(127, "cannot run missing/migrate"),
    row("wait-probe", "COMMAND not in PATH")
        .args(&[S("--budget"), S("5s"), S("tcp://127.0.0.1:1"), S("--"), S("no-such-migrate-xyz")]).fails(127, "command not found in PATH"),
    row("wait-probe", "COMMAND not executable")
        .setup(&[File("migrate", S("#!/bin/sh\n"))]).args(&[S("--budget"), S("5s"), S("tcp://127.0.0.1:1"), S("--"), S("./migrate")]).fails(126, "not an executable file"),
    row("wait-probe", "COMMAND is a directory")
        .setup(&[Dir("bin")]).args(&[S("--budget"), S("5s"), S("tcp://127.0.0.1:1"), S("--"), S("./bin")]).fails(126, "cannot run ./bin"),
    row("wait-probe", "closed port within a short budget")
        .args(&[S("--budget"), S("300ms"), S("http://u:Pl4nted-Secret-7x@127.0.0.1:1/")]).fails(1, "not ready within 300ms"),

    // ------------------------------------------------------------- image-digest
    row("image-digest", "no subcommand").prints_help(),
    row("image-digest", "resolve: uppercase repository").args(&[S("resolve"), S("127.0.0.1:1/App:1")]).fails(2, "must be lowercase"),
    row("image-digest", "resolve: empty reference").args(&[S("resolve"), S("")]).fails(2, "invalid image reference"),
    row("image-digest", "resolve: short digest").args(&[S("resolve"), S("127.0.0.1:1/app@sha256:abc")]).fails(2, "invalid reference format"),
    row("image-digest", "resolve: tag with a space").args(&[S("resolve"), S("127.0.0.1:1/app:bad tag")]).fails(2, "invalid reference format"),
    row("image-digest", "resolve: a URL instead of a reference").args(&[S("resolve"), S("https://127.0.0.1:1/app:1")]).fails(2, "invalid image reference"),
    row("image-digest", "resolve: 100 KiB tag").args(&[S("resolve"), huge("127.0.0.1:1/app:", "")]).fails(2, "invalid image reference"),
    row("image-digest", "resolve: 100 KiB repository").args(&[S("resolve"), huge("127.0.0.1:1/", ":1")]).fails(2, "invalid image reference"),
    row("image-digest", "resolve: non-UTF-8 reference").args(&[S("resolve"), Bytes(b"127.0.0.1:1/\xff:1")]).fails(2, "invalid UTF-8"),
    row("image-digest", "resolve: bad --platform").args(&[S("resolve"), S("--platform"), S("linux"), S("127.0.0.1:1/app:1")]).fails(2, "invalid platform \"linux\""),
    row("image-digest", "resolve: --password-stdin without --username")
        .args(&[S("resolve"), S("--password-stdin"), S("127.0.0.1:1/app:1")]).stdin(S("pl4nted-token")).fails(2, "--username"),
    row("image-digest", "resolve: --password-stdin with empty stdin")
        .args(&[S("resolve"), S("--username"), S("ci"), S("--password-stdin"), S("127.0.0.1:1/app:1")]).stdin(S("")).fails(2, "stdin was empty"),
    row("image-digest", "resolve: --cacert missing").args(&[S("resolve"), S("--cacert"), S("missing/ca.pem"), S("127.0.0.1:1/app:1")]).fails(2, "missing/ca.pem"),
    row("image-digest", "resolve: --cacert is a directory")
        .setup(&[Dir("ca.d")]).args(&[S("resolve"), S("--cacert"), S("ca.d"), S("127.0.0.1:1/app:1")]).fails(2, "Is a directory"),
    row("image-digest", "resolve: --cacert not PEM")
        .setup(&[File("ca.pem", S("nope\n"))]).args(&[S("resolve"), S("--cacert"), S("ca.pem"), S("127.0.0.1:1/app:1")]).fails(2, "no PEM certificate"),
    row("image-digest", "resolve: bad --timeout").args(&[S("resolve"), S("--timeout"), S("1x"), S("127.0.0.1:1/app:1")]).fails(2, "--timeout"),
    row("image-digest", "resolve: --timeout 0").args(&[S("resolve"), S("--timeout"), S("0"), S("127.0.0.1:1/app:1")]).fails(2, "is a zero duration"),
    row("image-digest", "resolve: closed port")
        .args(&[S("resolve"), S("--timeout"), S("1s"), S("127.0.0.1:1/app:1")]).fails(3, "registry 127.0.0.1:1"),
    row("image-digest", "from-log: file missing").args(&[S("from-log"), S("missing/push.log")]).fails(2, "No such file"),
    row("image-digest", "from-log: a directory").setup(&[Dir("logs")]).args(&[S("from-log"), S("logs")]).fails(2, "Is a directory"),
    row("image-digest", "from-log: symlink loop")
        .setup(&[Link("a.log", "b.log"), Link("b.log", "a.log")]).args(&[S("from-log"), S("a.log")]).fails(2, "symbolic links"),
    row("image-digest", "from-log: not UTF-8").args(&[S("from-log"), S("-")]).stdin(Bytes(b"\xff\xfe junk")).fails(2, "valid UTF-8"),
    row("image-digest", "from-log: no digest in the input").args(&[S("from-log"), S("-")]).stdin(S("")).fails(1, "no image digest in stdin"),
    row("image-digest", "from-log: JSON with a bad digest")
        .args(&[S("from-log"), S("-")]).stdin(S("{\"containerimage.digest\": \"sha256:zz\"}")).fails(1, "no image digest"),
    row("image-digest", "fingerprint: path missing").args(&[S("fingerprint"), S("missing")]).fails(2, "missing: No such file"),
    row("image-digest", "fingerprint: 10,000-component path").args(&[S("fingerprint"), DEEP]).fails(2, "No such file"),
    row("image-digest", "fingerprint: non-UTF-8 path").args(&[S("fingerprint"), Bytes(b"ctx-\xff")]).fails(2, "No such file"),
    row("image-digest", "fingerprint: PATH is a symlink loop")
        .setup(&[Link("ctx", "ctx2"), Link("ctx2", "ctx")]).args(&[S("fingerprint"), S("ctx")]).fails(2, "symbolic links"),
    row("image-digest", "fingerprint: bad .dockerignore pattern")
        .setup(&[File("ctx/.dockerignore", S("[\n")), File("ctx/app.js", S("x\n"))]).args(&[S("fingerprint"), S("ctx")])
        .fails(2, "syntax error in pattern \"[\""),
    row("image-digest", "fingerprint: .dockerignore is a directory")
        .setup(&[Dir("ctx/.dockerignore"), File("ctx/app.js", S("x\n"))]).args(&[S("fingerprint"), S("ctx")])
        .fails(2, "Is a directory"),
    row("image-digest", "fingerprint: PATH outside --root")
        .setup(&[Dir("root"), File("other/app.js", S("x\n"))]).args(&[S("fingerprint"), S("--root"), S("root"), S("other")])
        .fails(2, "outside the root"),
    row("image-digest", "fingerprint: --root missing").args(&[S("fingerprint"), S("--root"), S("missing"), S(".")]).fails(2, "No such file"),
    row("image-digest", "fingerprint: --short 0").args(&[S("fingerprint"), S("--short"), S("0"), S(".")]).fails(2, "0 is not in 4..=64"),
    row("image-digest", "fingerprint: --jobs 0").args(&[S("fingerprint"), S("--jobs"), S("0"), S(".")]).fails(2, "0 is not in 1.."),

    // ---------------------------------------------------------------- tag-image
    row("tag-image", "name: no --env").args(&[S("name")]).fails(2, "--env is required"),
    row("tag-image", "name: no --sha").args(&[S("name"), S("--env"), S("prod")]).fails(2, "--sha is required"),
    row("tag-image", "name: --sha not hex").args(&[S("name"), S("--env"), S("prod"), S("--sha"), S("xyz1234")]).fails(2, "is not hexadecimal"),
    row("tag-image", "name: --sha too short").args(&[S("name"), S("--env"), S("prod"), S("--sha"), S("abc12")]).fails(2, "at least 7"),
    row("tag-image", "name: --env uppercase").args(&[S("name"), S("--env"), S("Prod"), S("--sha"), S("abc1234")]).fails(2, "not lowercase kebab-case"),
    row("tag-image", "name: --env latest").args(&[S("name"), S("--env"), S("latest"), S("--sha"), S("abc1234")]).fails(2, "is not an environment"),
    row("tag-image", "name: 100 KiB --env").args(&[S("name"), S("--env"), huge("", ""), S("--sha"), S("abc1234")]).fails(2, "tag"),
    row("tag-image", "name: --service with a path").args(&[S("name"), S("--env"), S("prod"), S("--sha"), S("abc1234"), S("--service"), S("../x")]).fails(2, "--service \"../x\""),
    row("tag-image", "name: --fingerprint not hex").args(&[S("name"), S("--service"), S("api"), S("--fingerprint"), S("zz")]).fails(2, "is not hexadecimal"),
    row("tag-image", "name: --sha-length longer than --sha")
        .args(&[S("name"), S("--env"), S("prod"), S("--sha"), S("abc1234"), S("--sha-length"), S("41")]).fails(2, "--sha-length asks for 41"),
    row("tag-image", "name: non-UTF-8 --env").args(&[S("name"), S("--env"), Bytes(b"pr\xffod"), S("--sha"), S("abc1234")]).fails(2, "invalid UTF-8"),
    row("tag-image", "ref: repository with a tag").args(&[S("ref"), S("ghcr.io/acme/api:tag"), S("--env"), S("prod"), S("--sha"), S("abc1234")]).fails(2, "without tag or digest"),
    row("tag-image", "ref: 100 KiB repository").args(&[S("ref"), huge("ghcr.io/acme/", ""), S("--env"), S("prod"), S("--sha"), S("abc1234")]).fails(2, "invalid repository"),
    row("tag-image", "ref: empty repository").args(&[S("ref"), S(""), S("--env"), S("prod"), S("--sha"), S("abc1234")]).fails(2, "invalid repository \"\""),
    // check documents one finding per reference on stdout.
    row("tag-image", "check: not a reference").args(&[S("check"), S("Bad/Ref")]).fails(2, "not fit to deploy").stdout("error[invalid]"),
    row("tag-image", "check: 100 KiB reference").args(&[S("check"), huge("ghcr.io/acme/api:", "")]).fails(2, "not fit to deploy").stdout("error[invalid]"),
    row("tag-image", "apply: --timeout 0").args(&[S("apply"), S("--timeout"), S("0"), S("127.0.0.1:1/api:staging-abc1234"), S("prod-abc1234")]).fails(2, "is a zero duration"),
    row("tag-image", "apply: closed port, a fractional --timeout").args(&[S("apply"), S("--timeout"), S("0.5"), S("127.0.0.1:1/api:staging-abc1234"), S("prod-abc1234")]).fails(3, "registry 127.0.0.1:1"),
    row("tag-image", "check: latest parses and is not fit").args(&[S("check"), S("api:latest")]).fails(1, "1 of 1 reference(s) not fit to deploy").stdout("error[latest]"),
    row("tag-image", "apply: SOURCE without tag").args(&[S("apply"), S("127.0.0.1:1/api"), S("prod-abc1234")]).fails(2, "SOURCE needs a tag or a digest"),
    row("tag-image", "apply: tag with a space").args(&[S("apply"), S("127.0.0.1:1/api:staging-abc1234"), S("bad tag")]).fails(2, "is not a valid tag"),
    row("tag-image", "apply: mutable tag latest").args(&[S("apply"), S("127.0.0.1:1/api:staging-abc1234"), S("latest")]).fails(2, "refusing a mutable-looking tag"),
    row("tag-image", "apply: 100 KiB tag").args(&[S("apply"), S("127.0.0.1:1/api:staging-abc1234"), huge("", "")]).fails(2, "is not a valid tag"),
    row("tag-image", "apply: --to with a tag")
        .args(&[S("apply"), S("127.0.0.1:1/api:staging-abc1234"), S("prod-abc1234"), S("--to"), S("127.0.0.1:1/x:tag")]).fails(2, "without tag or digest"),
    row("tag-image", "apply: --password-stdin with empty stdin")
        .args(&[S("apply"), S("--username"), S("ci"), S("--password-stdin"), S("127.0.0.1:1/api:staging-abc1234"), S("prod-abc1234")]).stdin(S(""))
        .fails(2, "stdin was empty"),
    row("tag-image", "apply: closed port")
        .args(&[S("apply"), S("--timeout"), S("1s"), S("127.0.0.1:1/api:staging-abc1234"), S("prod-abc1234")]).fails(3, "registry 127.0.0.1:1"),
    row("tag-image", "pin: file missing").args(&[S("pin"), S("--file"), S("missing/kustomization.yaml"), PINNED]).fails(2, "No such file"),
    row("tag-image", "pin: file is a directory").setup(PIN_FILES).args(&[S("pin"), S("--file"), S("deploy"), PINNED]).fails(2, "Is a directory"),
    row("tag-image", "pin: 10,000-component path").args(&[S("pin"), S("--file"), DEEP, PINNED]).fails(2, "too long"),
    row("tag-image", "pin: reference without digest")
        .setup(PIN_FILES).args(&[S("pin"), S("--file"), S("deploy/kustomization.yaml"), S("ghcr.io/acme/api:prod-abc1234")]).fails(2, "has no digest"),
    row("tag-image", "pin: 100 KiB reference")
        .setup(PIN_FILES).args(&[S("pin"), S("--file"), S("deploy/kustomization.yaml"), huge("ghcr.io/acme/api:", "@sha256:1111111111111111111111111111111111111111111111111111111111111111")])
        .fails(2, "invalid image reference"),
    row("tag-image", "pin: not YAML").setup(PIN_FILES).args(&[S("pin"), S("--file"), S("bad.yaml"), PINNED]).fails(2, "not a kustomization.yaml, compose file or env file"),
    row("tag-image", "pin: not UTF-8").setup(PIN_FILES).args(&[S("pin"), S("--file"), S("nonutf8.yaml"), PINNED]).fails(2, "valid UTF-8"),
    row("tag-image", "pin: one bad file among good ones rewrites none")
        .setup(PIN_FILES).args(&[S("pin"), S("-f"), S("deploy/kustomization.yaml"), S("-f"), S("bad.yaml"), PINNED]).fails(2, "bad.yaml"),
    row("tag-image", "pin: no --file").args(&[S("pin"), PINNED]).fails(2, "--file"),
    row("tag-image", "pin: a bare reference several entries could take")
        .setup(PIN_FILES).args(&[S("pin"), S("-f"), S("deploy/multi.env"), UNTAGGED]).fails(2, "is ambiguous: 3 entries on ghcr.io/acme/api could take it"),
    row("tag-image", "pin: a reference no entry plays the part of")
        .setup(PIN_FILES).args(&[S("pin"), S("-f"), S("deploy/multi.env"), S("ghcr.io/acme/api:prod-abc1234-billing@sha256:1111111111111111111111111111111111111111111111111111111111111111")])
        .fails(2, "plays the part of"),
    row("tag-image", "pin: two references for one entry")
        .setup(PIN_FILES).args(&[S("pin"), S("-f"), S("deploy/multi.env"), PINNED, S("ghcr.io/acme/api:prod-def5678@sha256:2222222222222222222222222222222222222222222222222222222222222222")])
        .fails(2, "APP_IMAGE is addressed by both"),
    row("tag-image", "pin: NAME no entry has")
        .setup(PIN_FILES).args(&[S("pin"), S("-f"), S("deploy/multi.env"), S("BILLING_IMAGE=ghcr.io/acme/api@sha256:1111111111111111111111111111111111111111111111111111111111111111")])
        .fails(2, "no image entry in the files is named BILLING_IMAGE"),
    row("tag-image", "pin: empty NAME")
        .setup(PIN_FILES).args(&[S("pin"), S("-f"), S("deploy/multi.env"), S("=ghcr.io/acme/api@sha256:1111111111111111111111111111111111111111111111111111111111111111")])
        .fails(2, "give NAME=REF"),
    row("tag-image", "pin: NAME given twice")
        .setup(PIN_FILES).args(&[S("pin"), S("-f"), S("deploy/multi.env"), S("APP_IMAGE=ghcr.io/acme/api@sha256:1111111111111111111111111111111111111111111111111111111111111111"), S("APP_IMAGE=ghcr.io/acme/api@sha256:2222222222222222222222222222222222222222222222222222222222222222")])
        .fails(2, "APP_IMAGE is given twice"),
    row("tag-image", "pin: the placeholder digest")
        .setup(PIN_FILES).args(&[S("pin"), S("-f"), S("deploy/multi.env"), S("ghcr.io/acme/api:prod-abc1234@sha256:0000000000000000000000000000000000000000000000000000000000000000")])
        .fails(2, "carries the placeholder digest"),
    row("tag-image", "pin: a flow-style images list")
        .setup(PIN_FILES).args(&[S("pin"), S("-f"), S("flow/kustomization.yaml"), PINNED]).fails(2, "write it in block style"),
    row("tag-image", "pin: an image that comes from an alias")
        .setup(PIN_FILES).args(&[S("pin"), S("-f"), S("alias/compose.yaml"), PINNED]).fails(2, "services.api.image has no line of its own"),
    row("tag-image", "check: the placeholder digest")
        .args(&[S("check"), S("--require-digest"), S("ghcr.io/acme/api@sha256:0000000000000000000000000000000000000000000000000000000000000000")])
        .fails(1, "not fit to deploy").stdout("error[placeholder]"),

    // --------------------------------------------------------- scaffold-service
    // A typo of a subcommand is never a service name (nothing is written).
    row("scaffold-service", "mistyped subcommand with a name").setup(MONOREPO).args(&[S("--repo"), S("repo"), S("chekc"), S("billing")]).fails(2, "did you mean `scaffold-service check`?"),
    row("scaffold-service", "mistyped subcommand alone").setup(MONOREPO).args(&[S("--repo"), S("repo"), S("chekc")]).fails(2, "did you mean `scaffold-service check`?"),
    row("scaffold-service", "mistyped templates").setup(MONOREPO).args(&[S("--repo"), S("repo"), S("tempaltes"), S("out")]).fails(2, "did you mean `scaffold-service templates`?"),
    row("scaffold-service", "uppercase name").setup(MONOREPO).args(&[S("--repo"), S("repo"), S("Billing")]).fails(2, "must start with a lowercase letter"),
    row("scaffold-service", "path traversal in the name").setup(MONOREPO).args(&[S("--repo"), S("repo"), S("../evil")]).fails(2, "service name \"../evil\""),
    row("scaffold-service", "a slash in the name").setup(MONOREPO).args(&[S("--repo"), S("repo"), S("a/b")]).fails(2, "service name \"a/b\""),
    row("scaffold-service", "empty name").setup(MONOREPO).args(&[S("--repo"), S("repo"), S("")]).fails(2, "the service name is empty"),
    row("scaffold-service", "double hyphen").setup(MONOREPO).args(&[S("--repo"), S("repo"), S("a--b")]).fails(2, "double hyphen"),
    row("scaffold-service", "name longer than a DNS label").setup(MONOREPO)
        .args(&[S("--repo"), S("repo"), S("a-very-long-service-name-that-does-not-fit-in-a-label-x")]).fails(2, "service name"),
    row("scaffold-service", "100 KiB name").setup(MONOREPO).args(&[S("--repo"), S("repo"), huge("", "")]).fails(2, "service name"),
    row("scaffold-service", "non-UTF-8 name").setup(MONOREPO).args(&[S("--repo"), S("repo"), Bytes(b"bill\xffing")]).fails(2, "invalid UTF-8"),
    row("scaffold-service", "--port 0").setup(MONOREPO).args(&[S("--repo"), S("repo"), S("billing"), S("--port"), S("0")]).fails(2, "0 is not in 1..=65535"),
    row("scaffold-service", "--port equals --health-port").setup(MONOREPO)
        .args(&[S("--repo"), S("repo"), S("billing"), S("--port"), S("9000"), S("--health-port"), S("9000")]).fails(2, "both 9000"),
    row("scaffold-service", "--scope without @").setup(MONOREPO).args(&[S("--repo"), S("repo"), S("billing"), S("--scope"), S("acme")]).fails(2, "is not an npm scope"),
    row("scaffold-service", "--image-repo with a space").setup(MONOREPO)
        .args(&[S("--repo"), S("repo"), S("billing"), S("--image-repo"), S("Bad Repo")]).fails(2, "is not an image repository"),
    row("scaffold-service", "--image-repo with a tag").setup(MONOREPO)
        .args(&[S("--repo"), S("repo"), S("billing"), S("--image-repo"), S("127.0.0.1:5000/shop/api:v1")]).fails(2, "has a tag (v1)"),
    row("scaffold-service", "--image-repo with a digest").setup(MONOREPO)
        .args(&[S("--repo"), S("repo"), S("billing"), S("--image-repo"), S("ghcr.io/acme/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]).fails(2, "has a digest"),
    row("scaffold-service", "--image-repo as a URL").setup(MONOREPO)
        .args(&[S("--repo"), S("repo"), S("billing"), S("--image-repo"), S("https://ghcr.io/acme/api")]).fails(2, "is a URL"),
    row("scaffold-service", "--image-pull-secret not a Secret name").setup(MONOREPO)
        .args(&[S("--repo"), S("repo"), S("billing"), S("--image-pull-secret"), S("Reg_Cred")]).fails(2, "is not a Secret name"),
    row("scaffold-service", "--image-repo of 100 KiB").setup(MONOREPO)
        .args(&[S("--repo"), S("repo"), S("billing"), S("--image-repo"), huge("ghcr.io/acme/", "")]).fails(2, "--image-repo"),
    row("scaffold-service", "--repo missing").args(&[S("--repo"), S("missing"), S("billing")]).fails(2, "repo missing: No such file"),
    row("scaffold-service", "--repo is a file").setup(&[File("repo", S("x\n"))]).args(&[S("--repo"), S("repo"), S("billing")]).fails(2, "is not a directory"),
    row("scaffold-service", "--repo of 10,000 components").args(&[S("--repo"), DEEP, S("billing")]).fails(2, "too long"),
    row("scaffold-service", "--repo not a pnpm monorepo").setup(&[Dir("repo")]).args(&[S("--repo"), S("repo"), S("billing")]).fails(2, "has no package.json"),
    row("scaffold-service", "package.json is a directory")
        .setup(&[Fixture("tests/fixtures/scaffold-monorepo/platform", "repo/platform"), Dir("repo/package.json"), File("repo/pnpm-workspace.yaml", S("packages:\n  - \"packages/*\"\n"))])
        .args(&[S("--repo"), S("repo"), S("billing")]).fails(2, "package.json"),
    row("scaffold-service", "package.json does not parse")
        .setup(&[Fixture("tests/fixtures/scaffold-monorepo", "repo"), File("repo/package.json", S("{\n"))])
        .args(&[S("--repo"), S("repo"), S("billing")]).fails(2, "package.json does not parse as JSON"),
    row("scaffold-service", "pnpm-workspace.yaml does not parse")
        .setup(&[Fixture("tests/fixtures/scaffold-monorepo", "repo"), File("repo/pnpm-workspace.yaml", S("packages: [\n"))])
        .args(&[S("--repo"), S("repo"), S("billing")]).fails(2, "pnpm-workspace.yaml"),
    row("scaffold-service", "--template missing").setup(MONOREPO).args(&[S("--repo"), S("repo"), S("billing"), S("--template"), S("missing")]).fails(2, "template directory missing"),
    row("scaffold-service", "--template is a file").setup(MONOREPO).args(&[S("--repo"), S("repo"), S("billing"), S("--template"), S("repo/package.json")]).fails(2, "is not a directory"),
    row("scaffold-service", "--compose missing").setup(MONOREPO).args(&[S("--repo"), S("repo"), S("billing"), S("--compose"), S("repo/missing.yml")]).fails(2, "No such file"),
    row("scaffold-service", "--compose outside the repo")
        .setup(&[Fixture("tests/fixtures/scaffold-monorepo", "repo"), File("compose.yml", S("services: {}\n"))])
        .args(&[S("--repo"), S("repo"), S("billing"), S("--compose"), S("compose.yml")]).fails(2, "outside the repo"),
    row("scaffold-service", "services/NAME is a symlink loop")
        .setup(&[Fixture("tests/fixtures/scaffold-monorepo", "repo"), Link("repo/services/billing", "billing")])
        .args(&[S("--repo"), S("repo"), S("billing")]).fails(1, "already exists"),
    row("scaffold-service", "check: never generated").setup(MONOREPO).args(&[S("check"), S("--repo"), S("repo"), S("nope")]).fails(2, "was nope generated by scaffold-service?"),
    row("scaffold-service", "check: path traversal").setup(MONOREPO).args(&[S("check"), S("--repo"), S("repo"), S("../x")]).fails(2, "service name \"../x\""),
    row("scaffold-service", "check: .scaffold.json does not parse")
        .setup(&[Fixture("tests/fixtures/scaffold-monorepo", "repo"), File("repo/services/billing/.scaffold.json", S("{ nope"))])
        .args(&[S("check"), S("--repo"), S("repo"), S("billing")]).fails(2, ".scaffold.json"),
    row("scaffold-service", "templates: DIR exists").setup(MONOREPO).args(&[S("templates"), S("--repo"), S("repo"), S("repo/src")]).fails(1, "already exists"),

    // ------------------------------------------------------------- prune-images
    row("prune-images", "no subcommand").prints_help(),
    row("prune-images", "local: unsupported --host").args(&[S("local"), S("--host"), S("ftp://x")]).fails(2, "is not supported"),
    row("prune-images", "local: DOCKER_HOST unsupported").env(&[("DOCKER_HOST", S("ssh://deploy@host"))]).args(&[S("local")]).fails(2, "is not supported"),
    row("prune-images", "local: no engine socket").args(&[S("local"), S("--host"), NO_ENGINE]).fails(3, "no engine socket"),
    row("prune-images", "local: socket path is a directory").setup(&[Dir("docker.sock")])
        .args(&[S("local"), S("--timeout"), S("2s"), S("--host"), S("unix://docker.sock")]).fails(3, "docker.sock"),
    row("prune-images", "local: --keep negative").args(&[S("local"), S("--host"), NO_ENGINE, S("--keep"), S("-1")]).fails(2, "'-1'"),
    row("prune-images", "local: --protect not a reference").args(&[S("local"), S("--host"), NO_ENGINE, S("--protect"), S("Bad Ref")]).fails(2, "--protect: \"Bad Ref\""),
    row("prune-images", "local: --protect 100 KiB").args(&[S("local"), S("--host"), NO_ENGINE, S("--protect"), huge("ghcr.io/", "")]).fails(2, "--protect"),
    row("prune-images", "local: --protect-file missing").args(&[S("local"), S("--host"), NO_ENGINE, S("--protect-file"), S("missing/compose.yml")]).fails(2, "No such file"),
    row("prune-images", "local: --protect-file is a directory").setup(&[Dir("compose.d")])
        .args(&[S("local"), S("--host"), NO_ENGINE, S("--protect-file"), S("compose.d")]).fails(2, "Is a directory"),
    row("prune-images", "local: --protect-file symlink loop").setup(&[Link("a.yml", "b.yml"), Link("b.yml", "a.yml")])
        .args(&[S("local"), S("--host"), NO_ENGINE, S("--protect-file"), S("a.yml")]).fails(2, "symbolic links"),
    row("prune-images", "local: --protect-file YAML of neither kind").setup(&[File("x.yaml", S("foo: 1\n"))])
        .args(&[S("local"), S("--host"), NO_ENGINE, S("--protect-file"), S("x.yaml")]).fails(2, "without `services:`"),
    row("prune-images", "local: --protect-file with a bad image").setup(&[File("compose.yml", S("services:\n  a:\n    image: Bad Ref\n"))])
        .args(&[S("local"), S("--host"), NO_ENGINE, S("--protect-file"), S("compose.yml")]).fails(2, "compose.yml:3 (service a)"),
    row("prune-images", "local: --protect-file not UTF-8").setup(&[File("list.txt", Bytes(b"ghcr.io/acme/\xff:1\n"))])
        .args(&[S("local"), S("--host"), NO_ENGINE, S("--protect-file"), S("list.txt")]).fails(2, "valid UTF-8"),
    row("prune-images", "local: --target-free bad unit").args(&[S("local"), S("--host"), NO_ENGINE, S("--target-free"), S("20X")]).fails(2, "unknown unit \"X\""),
    row("prune-images", "local: --target-free overflow").args(&[S("local"), S("--host"), NO_ENGINE, S("--target-free"), S("99999999999999999999G")]).fails(2, "out of range"),
    row("prune-images", "local: --timeout 0").args(&[S("local"), S("--host"), NO_ENGINE, S("--timeout"), S("0")]).fails(2, "is a zero duration"),
    row("prune-images", "registry: --timeout 0").args(&[S("registry"), S("--timeout"), S("0s"), S("127.0.0.1:1/app")]).fails(2, "is a zero duration"),
    row("prune-images", "local: --target-free fraction with a bad unit").args(&[S("local"), S("--host"), NO_ENGINE, S("--target-free"), S("1.5X")]).fails(2, "unknown unit \"X\""),
    row("prune-images", "local: --min-age not a duration").args(&[S("local"), S("--host"), NO_ENGINE, S("--min-age"), S("forever")]).fails(2, "invalid duration \"forever\""),
    row("prune-images", "registry: REPO with a tag").args(&[S("registry"), S("127.0.0.1:1/app:tag")]).fails(2, "without a tag or digest"),
    row("prune-images", "registry: REPO of 100 KiB").args(&[S("registry"), huge("127.0.0.1:1/", "")]).fails(2, "REPO"),
    row("prune-images", "registry: non-UTF-8 REPO").args(&[S("registry"), Bytes(b"127.0.0.1:1/\xff")]).fails(2, "invalid UTF-8"),
    row("prune-images", "registry: --keep-tag unclosed group").args(&[S("registry"), S("127.0.0.1:1/app"), S("--keep-tag"), S("(")]).fails(2, "--keep-tag \"(\""),
    row("prune-images", "registry: --keep-tag too big to compile")
        .args(&[S("registry"), S("127.0.0.1:1/app"), S("--keep-tag"), S("(a{1000}){1000}")]).fails(2, "exceeds size limit"),
    row("prune-images", "registry: --protect-file is a directory").setup(&[Dir("compose.d")])
        .args(&[S("registry"), S("127.0.0.1:1/app"), S("--protect-file"), S("compose.d")]).fails(2, "Is a directory"),
    row("prune-images", "registry: --password-stdin and --protect-file -")
        .args(&[S("registry"), S("127.0.0.1:1/app"), S("--username"), S("ci"), S("--password-stdin"), S("--protect-file"), S("-")]).stdin(S("pl4nted-token"))
        .fails(2, "both want stdin"),
    row("prune-images", "registry: --password-stdin with empty stdin")
        .args(&[S("registry"), S("127.0.0.1:1/app"), S("--username"), S("ci"), S("--password-stdin")]).stdin(S("")).fails(2, "stdin was empty"),
    row("prune-images", "registry: --cacert is a directory").setup(&[Dir("ca.d")])
        .args(&[S("registry"), S("127.0.0.1:1/app"), S("--cacert"), S("ca.d")]).fails(2, "Is a directory"),
    row("prune-images", "registry: closed port")
        .args(&[S("registry"), S("--timeout"), S("1s"), S("127.0.0.1:1/app")]).fails(3, "registry 127.0.0.1:1"),
];

// ------------------------------------------------------------------ runner

/// Every entry below `root`: relative path → (kind, content or link target).
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .map_or_else(|_| path.display().to_string(), |p| p.display().to_string());
            let meta = std::fs::symlink_metadata(&path);
            let value = match meta {
                Ok(m) if m.is_symlink() => {
                    format!("link {:?}", std::fs::read_link(&path).ok())
                }
                Ok(m) if m.is_dir() => {
                    stack.push(path);
                    "dir".to_owned()
                }
                Ok(m) => format!(
                    "file {} {}",
                    m.len(),
                    deploykit_tests::util::sha256_hex(&std::fs::read(&path).unwrap_or_default())
                ),
                Err(e) => format!("error {e}"),
            };
            out.insert(rel, value);
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from)
        .expect("reading a fixture")
        .flatten()
    {
        let dest = to.join(entry.file_name());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).expect("copying a fixture");
        }
    }
}

fn prepare(case: &Case, dir: &Path) {
    for item in case.setup {
        match *item {
            File(path, text) => {
                let path = dir.join(path);
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(path, text.bytes()).expect("writing a setup file");
            }
            Dir(path) => std::fs::create_dir_all(dir.join(path)).expect("mkdir"),
            Link(path, target) => {
                let path = dir.join(path);
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::os::unix::fs::symlink(target, path).expect("symlink");
            }
            Fixture(from, to) => copy_dir(&bins::workspace_root().join(from), &dir.join(to)),
        }
    }
}

/// How a row is run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// As written.
    Plain,
    /// With `--json` first: stdout must be exactly one JSON object whose
    /// `exit` is the process status and whose `error` says why.
    Json,
}

/// Runs one row; `Err` lists what is wrong with it.
fn check(case: Case, mode: Mode) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    prepare(&case, dir.path());
    let before = snapshot(dir.path());

    let mut args: Vec<OsString> = case.args.iter().map(|a| a.os()).collect();
    if mode == Mode::Json {
        // After the subcommand, where every tool takes it (some tools
        // refuse their own options in front of a subcommand).
        let at = usize::from(
            args.first()
                .is_some_and(|first| is_subcommand(case.tool, first)),
        );
        args.insert(at, "--json".into());
    }
    let mut tool = Tool::new(case.tool).current_dir(dir.path()).args(args);
    for (key, value) in case.env {
        tool = tool.env(key, value.os());
    }
    if let Some(input) = case.stdin {
        tool = tool.stdin(input.bytes());
    }

    // A run that never ends is a failure of its row, not a stuck test; the
    // secret sweep of Tool::run panics, which is also a failure of the row.
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let run = tool.run();
        let _ = tx.send(());
        run
    });
    let run: Run = match rx.recv_timeout(HANG) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Ok(run) => run,
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                return Err(format!("the run failed: {why}"));
            }
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            return Err(format!("no exit within {HANG:?} (a hang)"));
        }
    };

    let mut problems = Vec::new();
    if run.code != Some(case.code) {
        problems.push(format!("exit {:?}, expected {}", run.code, case.code));
    }
    if !run.stderr.contains(case.stderr) {
        problems.push(format!("stderr lacks {:?}", case.stderr));
    }
    match (mode, case.stdout) {
        (Mode::Json, _) => {
            if let Err(why) = one_json_document(&run) {
                problems.push(why);
            }
        }
        (Mode::Plain, Out::Empty) if !run.stdout.is_empty() => {
            problems.push("stdout is not empty".into());
        }
        (Mode::Plain, Out::Has(fragment)) if !run.stdout.contains(fragment) => {
            problems.push(format!("stdout lacks {fragment:?}"));
        }
        _ => {}
    }
    let prefix = format!("{}: ", case.tool);
    if !run.stderr.starts_with(&prefix) && !case.help {
        problems.push(format!("stderr does not start with {prefix:?}"));
    }
    if run.stderr.len() > MAX_STDERR && !case.help {
        problems.push(format!(
            "stderr is {} bytes (at most {MAX_STDERR}): the input is echoed",
            run.stderr.len()
        ));
    }
    for bad in [
        "panicked",
        "RUST_BACKTRACE",
        "stack backtrace",
        "Error {",
        "Os {",
        "Custom {",
        "kind: ",
    ] {
        if run.stderr.contains(bad) {
            problems.push(format!("stderr holds {bad:?} (a panic or Debug output)"));
        }
    }
    let after = snapshot(dir.path());
    if before != after {
        let changed: Vec<&String> = before
            .keys()
            .chain(after.keys())
            .filter(|k| before.get(*k) != after.get(*k))
            .collect();
        problems.push(format!("files changed: {changed:?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n  exit {:?}\n  stdout: {}\n  stderr: {}",
            problems.join("; "),
            run.code,
            clipped(&run.stdout),
            clipped(&run.stderr)
        ))
    }
}

/// Whether `word` names one of `tool`'s subcommands.
fn is_subcommand(tool: &str, word: &OsString) -> bool {
    deploykit_tests::tools::all()
        .into_iter()
        .filter(|t| t.name == tool)
        .any(|t| {
            (t.command)()
                .get_subcommands()
                .any(|s| s.get_name() == word)
        })
}

/// stdout of a `--json` run is exactly one JSON object, with `exit` equal to
/// the process status and, on a failure, a non-empty `error`.
fn one_json_document(run: &Run) -> Result<(), String> {
    let documents: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&run.stdout)
        .into_iter::<serde_json::Value>()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("stdout is not JSON: {e}"))?;
    let [doc] = documents.as_slice() else {
        return Err(format!(
            "stdout holds {} JSON documents, not one",
            documents.len()
        ));
    };
    let object = doc
        .as_object()
        .ok_or("the JSON document is not an object")?;
    let exit = object.get("exit").and_then(serde_json::Value::as_i64);
    if exit != run.code.map(i64::from) {
        return Err(format!(
            "\"exit\" is {exit:?}, the process exited {:?}",
            run.code
        ));
    }
    let error = object.get("error").and_then(serde_json::Value::as_str);
    if run.code != Some(0) && error.is_none_or(|e| e.trim().is_empty()) {
        return Err("a failure's JSON document has no \"error\"".into());
    }
    Ok(())
}

/// At most 300 bytes of an output, for the failure report.
fn clipped(text: &str) -> String {
    let mut cut = text.len().min(300);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let more = if cut < text.len() { "…" } else { "" };
    format!("{:?}{more}", &text[..cut])
}

#[test]
fn every_row_of_the_bad_input_table() {
    let mut failures = Vec::new();
    for case in CASES {
        let started = std::time::Instant::now();
        let outcome = check(*case, Mode::Plain);
        let took = started.elapsed();
        if took > Duration::from_secs(3) {
            // Not a failure (no timing assertions); shown with --nocapture.
            eprintln!("slow row ({took:?}): [{}] {}", case.tool, case.what);
        }
        if let Err(why) = outcome {
            failures.push(format!("[{}] {}: {why}", case.tool, case.what));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad-input rows failed:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

/// Every row again with `--json`: every tool and subcommand prints exactly
/// one JSON document on its failure paths too, with the error and the exit
/// status in it (CONVENTIONS.md, Output). Rows that run a COMMAND after
/// `--` are left out: `--json` and a COMMAND exclude each other.
#[test]
fn every_row_of_the_bad_input_table_with_json() {
    let mut failures = Vec::new();
    let mut rows = 0;
    for case in CASES {
        if case.args.iter().any(|a| a.bytes() == b"--") {
            continue;
        }
        rows += 1;
        if let Err(why) = check(*case, Mode::Json) {
            failures.push(format!("[{}] {} (--json): {why}", case.tool, case.what));
        }
    }
    assert!(rows > 150, "only {rows} rows ran with --json");
    assert!(
        failures.is_empty(),
        "{} of {rows} bad-input rows failed with --json:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The table covers every tool, each with a real set of rows, and every row
/// says what it expects.
#[test]
fn the_table_covers_every_tool() {
    for tool in deploykit_tests::tools::all() {
        let rows = CASES.iter().filter(|c| c.tool == tool.name).count();
        assert!(rows >= 10, "{} has only {rows} bad-input rows", tool.name);
    }
    for case in CASES {
        assert!(
            case.code > 0 && !case.stderr.is_empty(),
            "[{}] {}: no expected status or message",
            case.tool,
            case.what
        );
    }
    // The hostile DSNs carry planted secrets, so the sweep means something.
    let planted = CASES
        .iter()
        .flat_map(|c| c.args.iter().chain(c.env.iter().map(|(_, v)| v)))
        .filter(|t| {
            let bytes = t.bytes();
            let text = String::from_utf8_lossy(&bytes);
            bins::PLANTED.iter().any(|p| text.contains(p))
        })
        .count();
    assert!(
        planted >= 20,
        "only {planted} inputs carry a planted secret"
    );
}

/// Every duration flag of every tool and subcommand, found in the clap
/// definitions, reads one grammar (CONVENTIONS.md, Input): fractions and
/// units alike everywhere, junk refused, and zero refused as a usage error
/// wherever the flag bounds a wait (a minimum age of zero means something).
#[test]
fn every_duration_flag_reads_one_grammar() {
    const ZERO_MEANS_SOMETHING: &[(&str, &str)] = &[("prune-images", "min-age")];
    let mut flags = Vec::new();
    for tool in deploykit_tests::tools::all() {
        let cmd = (tool.command)();
        let mut places: Vec<(Option<String>, &clap::Command)> = vec![(None, &cmd)];
        places.extend(
            cmd.get_subcommands()
                .map(|s| (Some(s.get_name().to_owned()), s)),
        );
        for (sub, place) in places {
            for arg in place.get_arguments() {
                let is_duration = arg
                    .get_value_names()
                    .is_some_and(|names| names.iter().any(|n| n.as_str() == "DURATION"));
                if let (true, Some(long)) = (is_duration, arg.get_long()) {
                    flags.push((tool.name, sub.clone(), long.to_owned()));
                }
            }
        }
    }
    assert!(
        flags.len() >= 12,
        "only {} duration flags found: {flags:?}",
        flags.len()
    );

    let mut failures = Vec::new();
    for (tool, sub, long) in &flags {
        let run = |value: &str| {
            // Nothing reachable: a run that gets past the flags fails fast.
            Tool::new(tool)
                .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
                .args(sub.iter())
                .arg(format!("--{long}={value}"))
                .run()
        };
        let zero_ok = ZERO_MEANS_SOMETHING.contains(&(tool, long.as_str()));
        let place = format!("{tool} {} --{long}", sub.as_deref().unwrap_or(""));
        for good in ["1.5", "1.5s", ".5s", "250ms", "2m", "1h30m"] {
            let r = run(good);
            if r.stderr.contains("invalid value") {
                failures.push(format!("{place} {good}: refused: {}", r.stderr));
            }
        }
        for bad in ["1.5x", "soon", "-1s", "5 5"] {
            let r = run(bad);
            if r.code != Some(2) || !r.stderr.contains("invalid duration") {
                failures.push(format!("{place} {bad}: exit {:?}: {}", r.code, r.stderr));
            }
        }
        for zero in ["0", "0s", "0ms", "0.0"] {
            let r = run(zero);
            let refused = r.code == Some(2) && r.stderr.contains("is a zero duration");
            if refused == zero_ok {
                failures.push(format!("{place} {zero}: exit {:?}: {}", r.code, r.stderr));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
