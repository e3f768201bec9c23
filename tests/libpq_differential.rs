//! deploykit's DSN parser and connect-time checks against libpq itself, on
//! every run: the system's libpq (15 on Debian 12) and the newest release,
//! libpq 18, which deploykit follows.
//!
//! A small C program (`tests/libpq/probe.c`), built here with the system's
//! compiler against each libpq, reads each DSN with `PQconninfoParse` and then tries
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
//! corpus DSN may differ only in the way one row describes. The system's
//! libpq is older than the one deploykit follows; the releases' own
//! differences are rows too, marked with the release that made them, and
//! against libpq 18 each such row must agree outright.
//!
//! libpq 18 comes from PyPI: the `psycopg-binary` wheel carries the
//! library, built by psycopg's maintainers from the PostgreSQL release
//! (`scripts/setup` unpacks it, see [`LIBPQ18_DIR`]). A missing compiler or
//! libpq fails the test: `scripts/setup` installs both.

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
    /// What the test calls this libpq in its messages.
    label: &'static str,
}

/// Where `scripts/setup` unpacks libpq 18 when `DEPLOYKIT_LIBPQ18` names
/// no other directory.
const LIBPQ18_DIR: &str = "/opt/deploykit-test/libpq18";

/// The libpq a probe is linked against.
#[derive(Clone, Copy)]
enum Library {
    /// The system's, from libpq-dev.
    System,
    /// libpq 18, from the psycopg-binary wheel.
    Release18,
}

/// Builds the probe; any failure fails the test (no silent skip).
fn build_probe(library: Library) -> Probe {
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = dir.path().join("probe");
    let source = workspace_root().join("tests/libpq/probe.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut command = Command::new(&cc);
    command
        .arg("-O1")
        .arg("-o")
        .arg(&exe)
        .arg(&source)
        .arg("-I/usr/include/postgresql");
    let label = match library {
        Library::System => {
            command.arg("-lpq");
            "the system libpq"
        }
        Library::Release18 => {
            let lib_dir = PathBuf::from(
                std::env::var("DEPLOYKIT_LIBPQ18").unwrap_or_else(|_| LIBPQ18_DIR.into()),
            );
            let lib = std::fs::read_dir(&lib_dir)
                .unwrap_or_else(|e| {
                    panic!(
                        "{}: {e} (scripts/setup unpacks libpq 18 there)",
                        lib_dir.display()
                    )
                })
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|n| n.starts_with("libpq") && n.contains(".so.5."))
                .unwrap_or_else(|| panic!("no libpq in {} (scripts/setup)", lib_dir.display()));
            command
                .arg(format!("-L{}", lib_dir.display()))
                .arg(format!("-l:{lib}"))
                .arg(format!("-Wl,-rpath,{}", lib_dir.display()));
            "libpq 18"
        }
    };
    let out = command
        .arg("-lpthread")
        .output()
        .unwrap_or_else(|e| panic!("running {cc} to build the libpq probe: {e} (scripts/setup installs a compiler and libpq-dev)"));
    assert!(
        out.status.success(),
        "building {} against {label} failed (is libpq-dev installed? scripts/setup installs it):\n{}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::create_dir(dir.path().join("sock")).expect("socket dir");
    Probe { dir, exe, label }
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

/// Runs every DSN through one probe process: the library's major release,
/// and its answers.
fn libpq(probe: &Probe, dsns: &[Vec<u8>]) -> (u32, Vec<Libpq>) {
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
    let mut major = None;
    for line in text.lines() {
        if let Some(version) = line.strip_prefix("LIBPQ ") {
            major = version.parse::<u32>().ok().map(|v| v / 10_000);
        } else if line == "BEGIN" {
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
    let major = major.expect("the probe names its libpq version");
    if matches!(probe.label, "libpq 18") {
        assert_eq!(major, 18, "the libpq 18 directory holds libpq 18");
    }
    (major, results)
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

/// One deliberate difference between deploykit and libpq, or between the
/// newest libpq (which deploykit follows) and an older one.
struct Difference {
    /// The class name corpus DSNs are tallied under.
    class: &'static str,
    /// For a difference between releases: the libpq release that made
    /// deploykit's behaviour libpq's own. Against that release and later
    /// ones the row must agree outright.
    since: Option<u32>,
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
        since: None,
        reason: "an '@' left in the authority is almost always an unencoded '@' in the password; libpq would take the rest of the password for a host name and print it in its error",
        dsn: b"postgres://app:p@ss@db/app",
        deploykit: Expect::Refused(
            "unencoded \"@\" after the user information in URI: write \"@\" in a user name or password as %40",
        ),
        libpq: Expect::Accepted,
    },
    Difference {
        class: "misplaced-password",
        since: None,
        reason: "libpq ends the user information, host and port at the first '/': a password with an unencoded '/' lands in the port, which libpq quotes in its error",
        dsn: b"postgres://app:Zq9:s/ec@127.0.0.1:5432/shop",
        deploykit: Expect::Refused(
            "misplaced password in URI: an \"@\" follows a \"/\", and libpq would read a password with an unencoded \"/\" as the port \"***\"; percent-encode the password (\"/\" as %2F, \"@\" as %40)",
        ),
        libpq: Expect::Refused("invalid integer value \"Zq9:s\" for connection option \"port\""),
    },
    Difference {
        class: "misplaced-password",
        since: None,
        reason: "or, after a port that reads as one, in the database name: libpq accepts it and would show it as the database",
        dsn: b"postgres://app:/Zq9sec@127.0.0.1:5432/shop",
        deploykit: Expect::Refused(
            "misplaced password in URI: an \"@\" follows a \"/\", and libpq would read a password with an unencoded \"/\" as the database name \"***\"; percent-encode the password (\"/\" as %2F, \"@\" as %40)",
        ),
        libpq: Expect::Accepted,
    },
    Difference {
        class: "foreign-scheme",
        since: None,
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
        since: None,
        reason: "deploykit's values are Rust strings: a value that is not UTF-8, raw or percent-decoded, is refused; libpq passes the bytes on",
        dsn: b"postgres://db/app?application_name=%FF",
        deploykit: Expect::Refused("percent-decoded value is not valid UTF-8: \"%FF\""),
        libpq: Expect::Accepted,
    },
    Difference {
        class: "not-utf8",
        since: None,
        reason: "a raw byte that is not UTF-8 cannot reach deploykit as a string",
        dsn: b"host=db application_name=\xff",
        deploykit: Expect::Refused("the DSN is not valid UTF-8"),
        libpq: Expect::Accepted,
    },
    Difference {
        class: "nul",
        since: None,
        reason: "libpq reads a C string and would stop at a NUL, silently meaning something shorter; deploykit refuses the NUL (the probe can only be handed the part before it)",
        dsn: b"host=db sslmode=verify-full\0 sslmode=disable",
        deploykit: Expect::Refused("connection string contains a NUL byte"),
        libpq: Expect::Accepted,
    },
    Difference {
        class: "newer-keyword",
        since: Some(16),
        reason: "libpq 15 does not know keywords added in 16 (require_auth, sslcertmode, load_balance_hosts, gssdelegation), 17 (sslnegotiation) and 18 (sslkeylogfile, min/max_protocol_version, scram_client_key, scram_server_key, oauth_*); deploykit follows the newest release",
        dsn: b"postgres://db/app?load_balance_hosts=random",
        deploykit: Expect::Accepted,
        libpq: Expect::Refused("invalid URI query parameter: \"load_balance_hosts\""),
    },
    Difference {
        class: "newer-keyword",
        since: Some(17),
        reason: "as above, keyword/value form (libpq 17)",
        dsn: b"host=db sslmode=require sslnegotiation=direct",
        deploykit: Expect::Accepted,
        libpq: Expect::Refused("invalid connection option \"sslnegotiation\""),
    },
    Difference {
        class: "system-roots-weak-sslmode",
        since: Some(16),
        reason: "libpq 16+ refuses sslrootcert=system with an sslmode weaker than verify-full; libpq 15 reads \"system\" as a file name",
        dsn: b"postgres://db/app?sslrootcert=system&sslmode=require",
        deploykit: Expect::Refused(
            "weak sslmode \"require\" may not be used with sslrootcert=system (use \"verify-full\")",
        ),
        libpq: Expect::Accepted,
    },
    Difference {
        class: "tls-version-wording",
        since: Some(18),
        reason: "newer libpq quotes the option name in this message; libpq 15 does not",
        dsn: b"host=db ssl_min_protocol_version=TLSv1.4",
        deploykit: Expect::Refused("invalid \"ssl_min_protocol_version\" value: \"TLSv1.4\""),
        libpq: Expect::Refused("invalid ssl_min_protocol_version value: \"TLSv1.4\""),
    },
    Difference {
        class: "redacted",
        since: None,
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
        since: None,
        reason: "likewise the stray word of an unquoted password with a blank in it",
        dsn: b"host=db password=two words",
        deploykit: Expect::Refused("missing \"=\" after \"***\" in connection info string"),
        libpq: Expect::Refused("missing \"=\" after \"words\" in connection info string"),
    },
    Difference {
        class: "service-file",
        since: None,
        reason: "libpq reads service files (pg_service.conf), a property of the machine; deploykit does not, and leaves `service` to libpq-based clients",
        dsn: b"host=db service=billing",
        deploykit: Expect::Accepted,
        libpq: Expect::Refused("definition of service \"billing\" not found"),
    },
    Difference {
        class: "uri-blanks",
        since: Some(18),
        reason: "libpq 18 refuses a blank inside a URI component (encode it as %20); older releases keep it in the value",
        dsn: b"postgres://d b/app",
        deploykit: Expect::Refused(
            "unexpected spaces found in \"d b\", use percent-encoded spaces (%20) instead",
        ),
        libpq: Expect::Accepted,
    },
    Difference {
        class: "uri-blanks-trimmed",
        since: Some(18),
        reason: "libpq 18 drops blanks around a URI component; older releases keep them in the value (both accept, the values differ), or in a query keyword, which they then do not know",
        dsn: b"postgres://db/app ",
        deploykit: Expect::Accepted,
        libpq: Expect::Accepted,
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

/// Whether a row of `class` may explain a disagreement with libpq `major`:
/// deliberate rows always, a release's rows only before that release.
fn class_applies(class: &str, major: u32) -> bool {
    DIFFERENCES
        .iter()
        .filter(|d| d.class == class)
        .all(|d| d.since.is_none_or(|since| major < since))
}

/// Whether each of deploykit's values is libpq's with blanks dropped around
/// it (libpq before 18 keeps them), and at least one differs so.
fn same_but_trimmed(dk: &BTreeMap<String, String>, lp: &BTreeMap<String, String>) -> bool {
    dk.len() == lp.len()
        && dk != lp
        && dk.iter().all(|(k, v)| {
            lp.get(k).is_some_and(|l| {
                l == v
                    || l.find(v.as_str()).is_some_and(|at| {
                        l[..at].bytes().all(|b| b == b' ')
                            && l[at + v.len()..].bytes().all(|b| b == b' ')
                    })
            })
        })
}

/// The deliberate-difference class a disagreement with libpq `major`
/// belongs to, if its shape is exactly that class's.
fn classify(dk: &Deploykit, lp: &Libpq, major: u32) -> Option<&'static str> {
    let class = classify_shape(dk, lp, major)?;
    class_applies(class, major).then_some(class)
}

fn classify_shape(dk: &Deploykit, lp: &Libpq, major: u32) -> Option<&'static str> {
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
        if e.starts_with("unexpected spaces found in \"") {
            return Some("uri-blanks");
        }
    }
    // libpq looked the service up in the machine's service files.
    if dk
        .options
        .as_ref()
        .is_some_and(|o| o.contains_key("service"))
        && lp_errors
            .iter()
            .any(|l| l.starts_with("definition of service \""))
    {
        return Some("service-file");
    }
    if let (Some(d), Some(l)) = (&dk.options, &lp.options)
        && same_but_trimmed(d, l)
    {
        return Some("uri-blanks-trimmed");
    }
    if lp.options.is_none()
        && let [only] = lp_errors
    {
        let keyword = only
            .strip_prefix("invalid connection option \"")
            .or_else(|| only.strip_prefix("invalid URI query parameter: \""))
            .and_then(|r| r.strip_suffix('"'));
        // A query keyword with blanks around it: libpq 18 drops them, an
        // older libpq looks the blanks up with the keyword and fails.
        if only.starts_with("invalid URI query parameter: \"")
            && keyword.is_some_and(|k| k.trim_matches(' ') != k)
        {
            return Some("uri-blanks-trimmed");
        }
        if keyword.is_some_and(|k| keywords::added_in(k).is_some_and(|since| major < since)) {
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
    let inputs: Vec<Vec<u8>> = DIFFERENCES
        .iter()
        .map(|d| {
            // The probe gets what a C caller would pass: up to a NUL.
            let end = d.dsn.iter().position(|b| *b == 0).unwrap_or(d.dsn.len());
            d.dsn[..end].to_vec()
        })
        .collect();
    let mut failures = String::new();
    for library in [Library::System, Library::Release18] {
        let probe = build_probe(library);
        let (major, answers) = libpq(&probe, &inputs);
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
            if d.since.is_some_and(|since| major >= since) {
                // The release made it libpq's behaviour: no difference left.
                if !agree(&dk, lp) {
                    let _ = writeln!(
                        failures,
                        "{} ({shown:?}): libpq {major} {:?} {:?}, deploykit {:?} {:?}: listed as agreeing since libpq {}",
                        d.class,
                        lp.verdict,
                        lp.options,
                        dk.verdict,
                        dk.options,
                        d.since.unwrap_or_default()
                    );
                }
                continue;
            }
            if !matches(d.libpq, &lp.verdict) {
                let _ = writeln!(
                    failures,
                    "{} ({shown:?}): {} ({major}) {:?}, listed {:?} ({})",
                    d.class, probe.label, lp.verdict, d.libpq, d.reason
                );
            }
            if !d.dsn.contains(&0) {
                assert_eq!(
                    classify(&dk, lp, major),
                    Some(d.class),
                    "{shown:?}, libpq {major}"
                );
            }
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
        "min_protocol_version" | "max_protocol_version" => {
            &["3.0", "3.2", "latest", "3.1", "", "x", "2.0", "Latest"]
        }
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
/// verdict depends on the machine's service files, `requirepeer`, which
/// libpq 18 checks against the probe's listener before it reads
/// connect_timeout, so that the probe's peer decides the verdict, and
/// `gssencmode=require`, excluded by its value list) and a few it does not
/// know, `servicefile` among them (planned for 18, not in it).
fn keyword_pool() -> Vec<&'static str> {
    let mut pool: Vec<&'static str> = keywords::KNOWN
        .iter()
        .copied()
        .filter(|k| !matches!(*k, "service" | "requirepeer"))
        .collect();
    pool.extend([
        "sslmdoe",
        "SSLMODE",
        "foo",
        "requiressl",
        "ssl",
        "hosts",
        "servicefile",
    ]);
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
fn deploykit_agrees_with_libpq_15_and_18() {
    let seed = std::env::var("LIBPQ_DIFF_SEED")
        .ok()
        .and_then(|s| {
            let s = s.trim_start_matches("0x");
            u64::from_str_radix(s, 16).ok()
        })
        .unwrap_or(DEFAULT_SEED);
    let regress = regress_cases();
    assert!(regress.len() > 50, "the regression list is there");
    let mut corpus = regress.clone();
    corpus.extend(generate(seed, GENERATED));
    for library in [Library::System, Library::Release18] {
        compare_corpus(&build_probe(library), &corpus, regress.len(), seed);
    }
}

fn compare_corpus(probe: &Probe, corpus: &[Vec<u8>], regress: usize, seed: u64) {
    let (major, answers) = libpq(probe, corpus);

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
        // Blanks around URI values are a release difference of their own,
        // which may come with any other row.
        let options_agree = match (&dk.options, &lp.options) {
            (Some(a), Some(b)) => {
                a == b || (class_applies("uri-blanks-trimmed", major) && same_but_trimmed(a, b))
            }
            _ => true,
        };
        match classify(&dk, lp, major) {
            Some(class) if options_agree || matches!(class, "not-utf8" | "uri-blanks-trimmed") => {
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
        "libpq differential against {} ({major}): {} DSNs ({regress} from regress.in, {} generated, seed {seed:#x}): {tally:?}",
        probe.label,
        corpus.len(),
        GENERATED
    );
    assert!(
        failures.is_empty(),
        "{} of {} DSNs disagree with {} ({major}) (seed {seed:#x}; rerun with LIBPQ_DIFF_SEED={seed:x}); first ones:\n{}",
        failures.len(),
        corpus.len(),
        probe.label,
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
