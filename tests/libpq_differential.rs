//! deploykit's DSN parser and connect-time checks against the system's
//! libpq, on every run.
//!
//! A small C program (`tests/libpq/probe.c`), built here with the system's
//! compiler and `-lpq`, reads each DSN with `PQconninfoParse` and then tries
//! `PQconnectdb` against listeners of its own that never let a connection
//! through, so that libpq makes every check it makes before a server
//! answers. Both sides' verdicts must agree: the same keywords and values
//! when a DSN parses, and the same refusal, or an acceptance on both sides.
//! The corpus is PostgreSQL's own URI regression list plus a seeded,
//! generated one (mutations of valid DSNs over the characters that matter
//! to the two grammars, percent escapes, known and unknown keywords with
//! valid, invalid and empty values).
//!
//! Where deploykit differs on purpose, the difference is a row of
//! [`DIFFERENCES`] with its reason, each row is asserted exactly, and a
//! corpus DSN may differ only in the way one row describes. The machine's
//! libpq may be older than the one deploykit follows (the newest release);
//! the releases' own differences are rows too. A missing compiler or libpq
//! fails the test: `scripts/setup` installs libpq-dev.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use deploykit::dsn::{Dsn, keywords};
use deploykit_tests::bins::workspace_root;

/// The generated corpus: at least this many DSNs.
const GENERATED: usize = 12_000;

/// The seed when `LIBPQ_DIFF_SEED` does not name another.
const DEFAULT_SEED: u64 = 0x5eed_0018_11b9_0001;

// ---------------------------------------------------------------------------
// The two verdicts.

/// What one side made of a DSN.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Parsed, and every connect-time check passed.
    Accepted,
    /// Refused: deploykit's one reason, or every option error libpq listed.
    Refused(Vec<String>),
}

/// libpq's answer for one DSN.
#[derive(Debug, Clone)]
struct Libpq {
    /// The keywords `PQconninfoParse` set, when it parsed.
    options: Option<BTreeMap<String, String>>,
    verdict: Verdict,
}

/// deploykit's answer for one DSN.
#[derive(Debug, Clone)]
struct Deploykit {
    options: Option<BTreeMap<String, String>>,
    verdict: Verdict,
}

fn deploykit(dsn: &[u8]) -> Deploykit {
    let Ok(text) = std::str::from_utf8(dsn) else {
        return Deploykit {
            options: None,
            verdict: Verdict::Refused(vec!["the DSN is not valid UTF-8".into()]),
        };
    };
    match Dsn::parse(text) {
        Err(e) => Deploykit {
            options: None,
            verdict: Verdict::Refused(vec![e.to_string()]),
        },
        Ok(parsed) => {
            let mut options: BTreeMap<String, String> = parsed
                .redacted_options()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            if let Some(p) = parsed.password() {
                options.insert("password".into(), p.expose().to_owned());
            }
            if let Some(p) = parsed.sslpassword() {
                options.insert("sslpassword".into(), p.expose().to_owned());
            }
            let verdict = match parsed.validate() {
                Ok(()) => Verdict::Accepted,
                Err(e) => Verdict::Refused(vec![e.to_string()]),
            };
            Deploykit {
                options: Some(options),
                verdict,
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The probe.

struct Probe {
    dir: tempfile::TempDir,
    exe: PathBuf,
}

/// Builds the probe; any failure fails the test (no silent skip).
fn build_probe() -> Probe {
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = dir.path().join("probe");
    let source = workspace_root().join("tests/libpq/probe.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .arg("-O1")
        .arg("-o")
        .arg(&exe)
        .arg(&source)
        .arg("-I/usr/include/postgresql")
        .args(["-lpq", "-lpthread"])
        .output()
        .unwrap_or_else(|e| panic!("running {cc} to build the libpq probe: {e} (scripts/setup installs a compiler and libpq-dev)"));
    assert!(
        out.status.success(),
        "building {} failed (is libpq-dev installed? scripts/setup installs it):\n{}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::create_dir(dir.path().join("sock")).expect("socket dir");
    Probe { dir, exe }
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The error lines of a failed `PQconnectdb` that are about the options,
/// not about the (absent) server.
fn option_errors(message: &str) -> Vec<String> {
    const CONNECTION_STAGE: &[&str] = &[
        "Connection refused",
        "No such file or directory",
        "server closed the connection unexpectedly",
        "requirepeer specifies ",
        "GSSAPI encryption required but no credential cache",
        "SSL SYSCALL error",
        "OK",
    ];
    let mut errors = Vec::new();
    for line in message.lines() {
        if line.starts_with('\t') || line.is_empty() {
            continue;
        }
        let rest = strip_host_prefix(line);
        if CONNECTION_STAGE.iter().any(|p| rest.starts_with(p)) {
            continue;
        }
        errors.push(rest.to_owned());
    }
    errors
}

/// Drops libpq's `connection to server ... failed: ` prefix.
fn strip_host_prefix(line: &str) -> &str {
    if line.starts_with("connection to server ")
        && let Some(i) = line.find(" failed: ")
    {
        return &line[i + " failed: ".len()..];
    }
    line
}

/// Runs every DSN through one probe process.
fn libpq(probe: &Probe, dsns: &[Vec<u8>]) -> Vec<Libpq> {
    let mut input = Vec::new();
    for dsn in dsns {
        assert!(!dsn.contains(&0), "the probe takes NUL-separated input");
        input.extend_from_slice(dsn);
        input.push(0);
    }
    let mut child = Command::new(&probe.exe)
        .arg(probe.dir.path().join("sock"))
        .env_clear()
        .env("HOME", probe.dir.path())
        .env("LANG", "C")
        .env("LC_ALL", "C")
        .env("PGSYSCONFDIR", probe.dir.path())
        .env("PGPASSFILE", probe.dir.path().join("no-pass-file"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the libpq probe");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("libpq probe output");
    writer.join().expect("writer").expect("writing DSNs");
    assert!(
        out.status.success(),
        "libpq probe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut results = Vec::new();
    let mut options = BTreeMap::new();
    let mut parse_error = None;
    let mut connect = None;
    for line in text.lines() {
        if line == "BEGIN" {
            options = BTreeMap::new();
            parse_error = None;
            connect = None;
        } else if let Some(rest) = line.strip_prefix("PARSE-ERROR ") {
            parse_error = Some(unescape(rest));
        } else if let Some(rest) = line.strip_prefix("OPT ") {
            let (k, v) = rest.split_once(' ').unwrap_or((rest, ""));
            options.insert(k.to_owned(), unescape(v));
        } else if let Some(rest) = line.strip_prefix("CONNECT ") {
            connect = Some(unescape(rest));
        } else if line == "END" {
            results.push(match (parse_error.take(), connect.take()) {
                (Some(e), _) => Libpq {
                    options: None,
                    verdict: Verdict::Refused(vec![e]),
                },
                (None, Some(message)) => {
                    let errors = option_errors(&message);
                    Libpq {
                        options: Some(std::mem::take(&mut options)),
                        verdict: if errors.is_empty() {
                            Verdict::Accepted
                        } else {
                            Verdict::Refused(errors)
                        },
                    }
                }
                (None, None) => panic!("probe record without a verdict"),
            });
        }
    }
    assert_eq!(results.len(), dsns.len(), "one probe record per DSN");
    results
}

// ---------------------------------------------------------------------------
// Deliberate differences.

/// What a row expects from one side.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Accepted,
    /// Refused with exactly this message (among libpq's, if it lists several).
    Refused(&'static str),
}

/// One deliberate difference between deploykit and the machine's libpq.
struct Difference {
    /// The class name corpus DSNs are tallied under.
    class: &'static str,
    /// Why deploykit differs.
    reason: &'static str,
    /// A DSN showing it.
    dsn: &'static [u8],
    deploykit: Expect,
    libpq: Expect,
}

const DIFFERENCES: &[Difference] = &[
    Difference {
        class: "unencoded-at",
        reason: "an '@' left in the authority is almost always an unencoded '@' in the password; libpq would take the rest of the password for a host name and print it in its error",
        dsn: b"postgres://app:p@ss@db/app",
        deploykit: Expect::Refused(
            "unencoded \"@\" after the user information in URI: write \"@\" in a user name or password as %40",
        ),
        libpq: Expect::Accepted,
    },
    Difference {
        class: "misplaced-password",
        reason: "libpq ends the user information, host and port at the first '/': a password with an unencoded '/' lands in the port, which libpq quotes in its error",
        dsn: b"postgres://app:Zq9:s/ec@127.0.0.1:5432/shop",
        deploykit: Expect::Refused(
            "misplaced password in URI: an \"@\" follows a \"/\", and libpq would read a password with an unencoded \"/\" as the port \"***\"; percent-encode the password (\"/\" as %2F, \"@\" as %40)",
        ),
        libpq: Expect::Refused("invalid integer value \"Zq9:s\" for connection option \"port\""),
    },
    Difference {
        class: "misplaced-password",
        reason: "or, after a port that reads as one, in the database name: libpq accepts it and would show it as the database",
        dsn: b"postgres://app:/Zq9sec@127.0.0.1:5432/shop",
        deploykit: Expect::Refused(
            "misplaced password in URI: an \"@\" follows a \"/\", and libpq would read a password with an unencoded \"/\" as the database name \"***\"; percent-encode the password (\"/\" as %2F, \"@\" as %40)",
        ),
        libpq: Expect::Accepted,
    },
    Difference {
        class: "foreign-scheme",
        reason: "libpq reads `mysql://...` as keyword/value text and complains about a missing \"=\" (quoting the whole string, password included); deploykit names the scheme",
        dsn: b"mysql://app@db/app",
        deploykit: Expect::Refused(
            "unsupported scheme \"mysql\" (a Postgres DSN starts with postgres:// or postgresql://, or is keyword=value pairs)",
        ),
        libpq: Expect::Refused(
            "missing \"=\" after \"mysql://app@db/app\" in connection info string",
        ),
    },
    Difference {
        class: "not-utf8",
        reason: "deploykit's values are Rust strings: a value that is not UTF-8, raw or percent-decoded, is refused; libpq passes the bytes on",
        dsn: b"postgres://db/app?application_name=%FF",
        deploykit: Expect::Refused("percent-decoded value is not valid UTF-8: \"%FF\""),
        libpq: Expect::Accepted,
    },
    Difference {
        class: "not-utf8",
        reason: "a raw byte that is not UTF-8 cannot reach deploykit as a string",
        dsn: b"host=db application_name=\xff",
        deploykit: Expect::Refused("the DSN is not valid UTF-8"),
        libpq: Expect::Accepted,
    },
    Difference {
        class: "nul",
        reason: "libpq reads a C string and would stop at a NUL, silently meaning something shorter; deploykit refuses the NUL (the probe can only be handed the part before it)",
        dsn: b"host=db sslmode=verify-full\0 sslmode=disable",
        deploykit: Expect::Refused("connection string contains a NUL byte"),
        libpq: Expect::Accepted,
    },
    Difference {
        class: "newer-keyword",
        reason: "libpq 15 does not know keywords added in 16 (require_auth, sslcertmode, load_balance_hosts, gssdelegation), 17 (sslnegotiation) and 18 (servicefile, sslkeylogfile, min/max_protocol_version, scram_client_key, scram_server_key, oauth_*); deploykit follows the newest release",
        dsn: b"postgres://db/app?load_balance_hosts=random",
        deploykit: Expect::Accepted,
        libpq: Expect::Refused("invalid URI query parameter: \"load_balance_hosts\""),
    },
    Difference {
        class: "newer-keyword",
        reason: "as above, keyword/value form (libpq 17)",
        dsn: b"host=db sslmode=require sslnegotiation=direct",
        deploykit: Expect::Accepted,
        libpq: Expect::Refused("invalid connection option \"sslnegotiation\""),
    },
    Difference {
        class: "system-roots-weak-sslmode",
        reason: "libpq 16+ refuses sslrootcert=system with an sslmode weaker than verify-full; libpq 15 reads \"system\" as a file name",
        dsn: b"postgres://db/app?sslrootcert=system&sslmode=require",
        deploykit: Expect::Refused(
            "weak sslmode \"require\" may not be used with sslrootcert=system (use \"verify-full\")",
        ),
        libpq: Expect::Accepted,
    },
    Difference {
        class: "tls-version-wording",
        reason: "newer libpq quotes the option name in this message; libpq 15 does not",
        dsn: b"host=db ssl_min_protocol_version=TLSv1.4",
        deploykit: Expect::Refused("invalid \"ssl_min_protocol_version\" value: \"TLSv1.4\""),
        libpq: Expect::Refused("invalid ssl_min_protocol_version value: \"TLSv1.4\""),
    },
    Difference {
        class: "redacted",
        reason: "libpq quotes the whole URI, password included, in some errors; deploykit shows the password as ***",
        dsn: b"postgres://app:hunter2@[::1]z/app",
        deploykit: Expect::Refused(
            "unexpected character \"z\" at position 29 in URI (expected \":\" or \"/\"): \"postgres://app:***@[::1]z/app\"",
        ),
        libpq: Expect::Refused(
            "unexpected character \"z\" at position 29 in URI (expected \":\" or \"/\"): \"postgres://app:hunter2@[::1]z/app\"",
        ),
    },
    Difference {
        class: "redacted",
        reason: "likewise the stray word of an unquoted password with a blank in it",
        dsn: b"host=db password=two words",
        deploykit: Expect::Refused("missing \"=\" after \"***\" in connection info string"),
        libpq: Expect::Refused("missing \"=\" after \"words\" in connection info string"),
    },
    Difference {
        class: "service-file",
        reason: "libpq reads service files (pg_service.conf), a property of the machine; deploykit does not, and leaves `service` to libpq-based clients",
        dsn: b"host=db service=billing",
        deploykit: Expect::Accepted,
        libpq: Expect::Refused("definition of service \"billing\" not found"),
    },
];

fn matches(expect: Expect, verdict: &Verdict) -> bool {
    match (expect, verdict) {
        (Expect::Accepted, Verdict::Accepted) => true,
        (Expect::Refused(want), Verdict::Refused(got)) => lists(got, want),
        _ => false,
    }
}

/// Whether libpq's error lines hold `message`, which may itself span lines
/// (a value with a newline in it is quoted as it is).
fn lists(lines: &[String], message: &str) -> bool {
    lines.iter().any(|l| l == message)
        || format!("\n{}\n", lines.join("\n")).contains(&format!("\n{message}\n"))
}

/// Whether `libpq_message` is `deploykit_message` with each `***` standing
/// for some text (the password libpq quotes).
fn same_but_redacted(deploykit_message: &str, libpq_message: &str) -> bool {
    let parts: Vec<&str> = deploykit_message.split("***").collect();
    if parts.len() < 2 {
        return false;
    }
    let mut rest = libpq_message;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part) && rest.len() >= part.len();
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

/// The deliberate-difference class a disagreement belongs to, if its shape
/// is exactly that class's.
fn classify(dk: &Deploykit, lp: &Libpq) -> Option<&'static str> {
    let dk_error = match &dk.verdict {
        Verdict::Refused(e) => Some(e[0].as_str()),
        Verdict::Accepted => None,
    };
    let lp_errors: &[String] = match &lp.verdict {
        Verdict::Refused(e) => e,
        Verdict::Accepted => &[],
    };
    if let Some(e) = dk_error {
        if e.starts_with("unencoded \"@\" after the user information") {
            return Some("unencoded-at");
        }
        if e.starts_with("misplaced password in URI:") {
            return Some("misplaced-password");
        }
        // libpq read it as keyword/value text and refused it there.
        if e.starts_with("unsupported scheme \"") && lp.options.is_none() && lp_errors.len() == 1 {
            return Some("foreign-scheme");
        }
        if e.contains("not valid UTF-8") {
            return Some("not-utf8");
        }
        if e.contains("may not be used with sslrootcert=system") {
            return Some("system-roots-weak-sslmode");
        }
        if let Some(rest) = e.strip_prefix("invalid \"ssl_")
            && let Some((name, value)) = rest.split_once("\" value: ")
            && lists(lp_errors, &format!("invalid ssl_{name} value: {value}"))
        {
            return Some("tls-version-wording");
        }
        if lp_errors.iter().any(|l| same_but_redacted(e, l)) {
            return Some("redacted");
        }
    }
    if lp.options.is_none()
        && let [only] = lp_errors
    {
        let keyword = only
            .strip_prefix("invalid connection option \"")
            .or_else(|| only.strip_prefix("invalid URI query parameter: \""))
            .and_then(|r| r.strip_suffix('"'));
        if keyword.is_some_and(|k| keywords::added_in(k).is_some()) {
            return Some("newer-keyword");
        }
    }
    None
}

/// Whether the two sides agree outright.
fn agree(dk: &Deploykit, lp: &Libpq) -> bool {
    let options_agree = match (&dk.options, &lp.options) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    let verdicts_agree = match (&dk.verdict, &lp.verdict) {
        (Verdict::Accepted, Verdict::Accepted) => true,
        (Verdict::Refused(d), Verdict::Refused(l)) => lists(l, &d[0]),
        _ => false,
    };
    options_agree && verdicts_agree
}

#[test]
fn each_deliberate_difference_is_exactly_as_listed() {
    let probe = build_probe();
    let inputs: Vec<Vec<u8>> = DIFFERENCES
        .iter()
        .map(|d| {
            // The probe gets what a C caller would pass: up to a NUL.
            let end = d.dsn.iter().position(|b| *b == 0).unwrap_or(d.dsn.len());
            d.dsn[..end].to_vec()
        })
        .collect();
    let answers = libpq(&probe, &inputs);
    let mut failures = String::new();
    for (d, lp) in DIFFERENCES.iter().zip(&answers) {
        let dk = deploykit(d.dsn);
        let shown = String::from_utf8_lossy(d.dsn);
        if !matches(d.deploykit, &dk.verdict) {
            let _ = writeln!(
                failures,
                "{} ({shown:?}): deploykit {:?}, listed {:?}",
                d.class, dk.verdict, d.deploykit
            );
        }
        if !matches(d.libpq, &lp.verdict) {
            let _ = writeln!(
                failures,
                "{} ({shown:?}): libpq {:?}, listed {:?} ({})",
                d.class, lp.verdict, d.libpq, d.reason
            );
        }
        if !d.dsn.contains(&0) && d.class != "service-file" {
            assert_eq!(classify(&dk, lp), Some(d.class), "{shown:?}");
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

// ---------------------------------------------------------------------------
// The corpus.

/// splitmix64: small, seedable, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("fits")
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const BASES: &[&str] = &[
    "postgres://app:pw@db:5432/app",
    "postgresql://app:pw@db.internal/app?sslmode=verify-full",
    "postgres://app@db/app",
    "postgres://db,db2:5433/app",
    "postgres://[::1]:5432/app",
    "postgres://%2Ftmp/app",
    "postgres:///app?host=/tmp",
    "postgres://app:pw@/app",
    "postgres://",
    "postgres://db",
    "host=db port=5432 dbname=app user=app password=pw",
    "host=db,db2 port=5432,5433 dbname=app",
    "host=/tmp dbname=app",
    "hostaddr=127.0.0.1 dbname=app",
    "host=db hostaddr=10.0.0.1 user=app",
    "dbname=app sslmode=require",
    "user='app' password='a b'",
    "",
];

const SPECIAL: &[u8] = b"@:/?&=%[],'\\ ";

const ESCAPES: &[&str] = &[
    "%40", "%3A", "%2F", "%3F", "%26", "%3D", "%25", "%5B", "%5D", "%2C", "%27", "%5C", "%20",
    "%00", "%C2%A0", "%FF", "%zz", "%4", "%", "%61", "%2f", "%0A", "%09",
];

const INTS: &[&str] = &[
    "0",
    "1",
    "10",
    "-1",
    " 5",
    "5 ",
    "+5",
    "2147483647",
    "2147483648",
    "-2147483649",
    "",
    "x",
    "1e3",
    "0x10",
    "5\u{a0}",
    "5\t",
    "\u{2003}5",
];

/// Values to try for a keyword: valid ones, invalid ones, the empty one.
fn values(keyword: &str) -> &'static [&'static str] {
    match keyword {
        "sslmode" => &[
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
            "",
            "bogus",
            "Require",
            " require",
        ],
        "channel_binding" => &["disable", "prefer", "require", "", "on"],
        // Not "require": libpq then needs a Kerberos credential cache, a
        // property of the machine, and stops before reading connect_timeout.
        "gssencmode" => &["disable", "prefer", "", "x", "Prefer"],
        "target_session_attrs" => &[
            "any",
            "read-write",
            "read-only",
            "primary",
            "standby",
            "prefer-standby",
            "",
            "master",
        ],
        "load_balance_hosts" => &["disable", "random", "", "x"],
        "require_auth" => &[
            "md5",
            "!md5",
            "md5,scram-sha-256",
            "!md5,password",
            "md5,md5",
            "none",
            "!none",
            "",
            "x",
            "md5,",
            "gss,sspi",
        ],
        "sslcertmode" => &["disable", "allow", "require", "", "x"],
        "sslnegotiation" => &["postgres", "direct", "", "x"],
        "ssl_min_protocol_version" | "ssl_max_protocol_version" => &[
            "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "tlsv1.3", "", "TLSv1.4",
        ],
        "min_protocol_version" | "max_protocol_version" => &["3.0", "3.2", "latest"],
        "connect_timeout"
        | "keepalives"
        | "keepalives_idle"
        | "keepalives_interval"
        | "keepalives_count"
        | "tcp_user_timeout" => INTS,
        "port" => &[
            "5432",
            "1",
            "65535",
            "0",
            "65536",
            "99999",
            "",
            "x",
            " 5432",
            "5432,5433",
            "5432,",
            "+5432",
        ],
        "hostaddr" => &[
            "127.0.0.1",
            "::1",
            "10.0.0.1",
            "127.1",
            "db.internal",
            "",
            "1.2.3.4.5",
            "10.0.0.1,10.0.0.2",
            "10.0.0.1,",
            "0x7f.1",
        ],
        "host" => &["db", "db,db2", "/tmp", "", "@abstract", "::1", "DB", ",db"],
        "sslrootcert" => &["system", "System", "/ca.pem", ""],
        "replication" => &["database", "true", "x", ""],
        "scram_client_key" | "scram_server_key" => {
            &["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "", "AAAA"]
        }
        "oauth_issuer" | "oauth_client_id" | "oauth_client_secret" | "oauth_scope" => {
            &["https://issuer.example", ""]
        }
        _ => &["x", "", "a b", "v'q", "p\\q"],
    }
}

/// Keywords the generator draws from: libpq's (but `service`, whose
/// verdict depends on the machine's service files, and `gssencmode=require`,
/// excluded by its value list) and a few it does not know.
fn keyword_pool() -> Vec<&'static str> {
    let mut pool: Vec<&'static str> = keywords::KNOWN
        .iter()
        .copied()
        .filter(|k| *k != "service")
        .collect();
    pool.extend(["sslmdoe", "SSLMODE", "foo", "requiressl", "ssl", "hosts"]);
    pool
}

fn uri_encode(value: &str, rng: &mut Rng) -> String {
    let mut out = String::new();
    for c in value.chars() {
        let special = matches!(
            c,
            '&' | '=' | '%' | '#' | ' ' | '?' | '/' | ',' | '\'' | '\\'
        ) || !c.is_ascii();
        if special && rng.chance(90) {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn kv_quote(value: &str, rng: &mut Rng) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._,/:!@+".contains(&b));
    if plain && rng.chance(70) {
        return value.to_owned();
    }
    let mut out = String::from("'");
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

fn generate(seed: u64, count: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(seed);
    let pool = keyword_pool();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let base = *rng.pick(BASES);
        let uri = base.starts_with("postgres");
        let mut text = base.to_owned();
        // Keywords with values.
        for _ in 0..rng.below(4) {
            let keyword = *rng.pick(&pool);
            let value = *rng.pick(values(keyword));
            if uri {
                let sep = if text.contains('?') { '&' } else { '?' };
                let _ = write!(text, "{sep}{keyword}={}", uri_encode(value, &mut rng));
            } else {
                if !text.is_empty() {
                    text.push(' ');
                }
                let _ = write!(text, "{keyword}={}", kv_quote(value, &mut rng));
            }
        }
        let mut bytes = text.into_bytes();
        // Character mutations.
        for _ in 0..rng.below(3) {
            let at = rng.below(bytes.len() + 1);
            match rng.below(6) {
                0 | 1 => bytes.insert(at, *rng.pick(SPECIAL)),
                2 if at < bytes.len() => {
                    bytes.remove(at);
                }
                3 if at < bytes.len() => bytes[at] = *rng.pick(SPECIAL),
                4 => {
                    let esc = rng.pick(ESCAPES).as_bytes();
                    bytes.splice(at..at, esc.iter().copied());
                }
                _ if rng.chance(5) => bytes.insert(at, 0xff),
                _ => {}
            }
        }
        out.push(bytes);
    }
    out
}

fn regress_cases() -> Vec<Vec<u8>> {
    let path: &Path = &workspace_root().join("tests/libpq/regress.in");
    std::fs::read_to_string(path)
        .expect("tests/libpq/regress.in")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.as_bytes().to_vec())
        .collect()
}

#[test]
fn deploykit_agrees_with_the_system_libpq() {
    let seed = std::env::var("LIBPQ_DIFF_SEED")
        .ok()
        .and_then(|s| {
            let s = s.trim_start_matches("0x");
            u64::from_str_radix(s, 16).ok()
        })
        .unwrap_or(DEFAULT_SEED);
    let probe = build_probe();
    let regress = regress_cases();
    assert!(regress.len() > 50, "the regression list is there");
    let mut corpus = regress.clone();
    corpus.extend(generate(seed, GENERATED));
    let answers = libpq(&probe, &corpus);

    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (dsn, lp) in corpus.iter().zip(&answers) {
        let dk = deploykit(dsn);
        if agree(&dk, lp) {
            let key = match dk.verdict {
                Verdict::Accepted => "agree: accepted",
                Verdict::Refused(_) => "agree: refused",
            };
            *tally.entry(key).or_default() += 1;
            continue;
        }
        let options_agree = match (&dk.options, &lp.options) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        match classify(&dk, lp) {
            Some(class) if options_agree || class == "not-utf8" => {
                *tally.entry(class).or_default() += 1;
            }
            _ => failures.push(format!(
                "{:?}\n    deploykit: {:?} {:?}\n    libpq:     {:?} {:?}",
                String::from_utf8_lossy(dsn),
                dk.verdict,
                dk.options,
                lp.verdict,
                lp.options
            )),
        }
    }
    eprintln!(
        "libpq differential: {} DSNs ({} from regress.in, {} generated, seed {seed:#x}): {tally:?}",
        corpus.len(),
        regress.len(),
        GENERATED
    );
    assert!(
        failures.is_empty(),
        "{} of {} DSNs disagree with the system libpq (seed {seed:#x}; rerun with LIBPQ_DIFF_SEED={seed:x}); first ones:\n{}",
        failures.len(),
        corpus.len(),
        failures
            .iter()
            .take(
                std::env::var("LIBPQ_DIFF_SHOW")
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(25)
            )
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Both verdicts are well represented, or the corpus tests little.
    assert!(
        tally.get("agree: accepted").copied().unwrap_or(0) > 1000,
        "{tally:?}"
    );
    assert!(
        tally.get("agree: refused").copied().unwrap_or(0) > 1000,
        "{tally:?}"
    );
}
