//! `--connect`: log in with each DSN and check what only the server knows.
//!
//! The three DSNs are checked at once, each in its own thread, so the whole
//! run is bounded by one `--timeout`, not three.

use std::time::Duration;

use deploykit::dsn::Dsn;
use deploykit::dsn::connect::connect;
use deploykit::exit::Exit;
use deploykit::sql::quote_qualified;

use crate::findings::{Class, Finding};
use crate::rules::{Parsed, Var};

/// What `--connect` checks beyond the login.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Deadline for each connection and its queries.
    pub timeout: Duration,
    /// `--expect-env`: the environment the marker must name.
    pub expect_env: Option<String>,
    /// The marker table.
    pub marker_table: String,
}

/// Connects with every parsed DSN and returns the findings.
pub fn check(parsed: &Parsed, options: &LiveOptions) -> Vec<Finding> {
    let mut results: Vec<(Var, Vec<Finding>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = parsed
            .iter()
            .map(|(var, dsn)| {
                let marker = marker_var(parsed) == Some(*var);
                (
                    *var,
                    scope.spawn(move || check_one(*var, dsn, options, marker)),
                )
            })
            .collect();
        handles
            .into_iter()
            .map(|(var, h)| {
                let findings = h.join().unwrap_or_else(|_| {
                    vec![
                        Finding::error(var.name(), "unreachable", "the check panicked")
                            .class(Class::Unreachable),
                    ]
                });
                (var, findings)
            })
            .collect()
    });
    results.sort_by_key(|(var, _)| *var);
    results.into_iter().flat_map(|(_, f)| f).collect()
}

/// The marker is read through a runtime DSN: that is the database the
/// deployment would write to.
fn marker_var(parsed: &Parsed) -> Option<Var> {
    [Var::App, Var::Service]
        .into_iter()
        .find(|v| parsed.contains_key(v))
}

/// The facts about the logged-in role.
struct Identity {
    user: String,
    database: String,
    superuser: bool,
    createrole: bool,
    createdb: bool,
    bypassrls: bool,
}

fn check_one(var: Var, dsn: &Dsn, options: &LiveOptions, check_marker: bool) -> Vec<Finding> {
    let name = var.name();
    let mut client = match connect(dsn, options.timeout) {
        Ok(client) => client,
        Err(err) => {
            return vec![match err.status() {
                Exit::Denied => {
                    Finding::error(name, "login-refused", err.to_string()).class(Class::Refused)
                }
                _ => Finding::error(name, "unreachable", err.to_string()).class(Class::Unreachable),
            }];
        }
    };
    let (identity, marker) = match query(&mut client, options, check_marker) {
        Ok(v) => v,
        Err(e) => {
            return vec![
                Finding::error(name, "unreachable", format!("checking {dsn}: {e}"))
                    .class(Class::Unreachable),
            ];
        }
    };
    let mut findings = judge(var, dsn, &identity);
    if let (Some(result), Some(expected)) = (marker, &options.expect_env) {
        findings.extend(judge_marker(name, &options.marker_table, expected, result));
    }
    findings
}

/// The marker table's rows, when `--expect-env` asks for them.
type MarkerRows = Option<Result<Vec<String>, postgres::Error>>;

/// Reads the role's facts and, if asked, the marker rows. A marker read
/// that fails is kept as data: it is a finding, not a connection problem.
fn query(
    client: &mut postgres::Client,
    options: &LiveOptions,
    check_marker: bool,
) -> Result<(Identity, MarkerRows), postgres::Error> {
    let ms = options.timeout.as_millis().max(1);
    client.batch_execute(&format!("SET statement_timeout = {ms}"))?;
    let row = client.query_one(
        "SELECT current_user::text, current_database()::text, r.rolsuper, r.rolcreaterole, \
         r.rolcreatedb, r.rolbypassrls FROM pg_roles r WHERE r.rolname = current_user",
        &[],
    )?;
    let identity = Identity {
        user: row.get(0),
        database: row.get(1),
        superuser: row.get(2),
        createrole: row.get(3),
        createdb: row.get(4),
        bypassrls: row.get(5),
    };
    let marker = if check_marker && options.expect_env.is_some() {
        let sql = format!(
            "SELECT env::text FROM {}",
            quote_qualified(&options.marker_table)
        );
        Some(client.query(&sql, &[]).map(|rows| {
            rows.iter()
                .map(|r| r.get::<_, Option<String>>(0).unwrap_or_default())
                .collect()
        }))
    } else {
        None
    };
    Ok((identity, marker))
}

fn judge(var: Var, dsn: &Dsn, id: &Identity) -> Vec<Finding> {
    let name = var.name();
    let mut findings = Vec::new();
    let want_user = dsn.user().unwrap_or_default();
    let want_db = dsn.effective_dbname().unwrap_or_default();
    if id.user != want_user || id.database != want_db {
        findings.push(Finding::error(
            name,
            "identity-mismatch",
            format!(
                "logged in as \"{}\" on \"{}\" but the DSN names \"{want_user}\" on \"{want_db}\"",
                id.user, id.database
            ),
        ));
    }
    if var.is_runtime() {
        let role = &id.user;
        if id.superuser {
            findings.push(Finding::error(
                name,
                "runtime-superuser",
                format!("the runtime role \"{role}\" is a superuser"),
            ));
        }
        if id.createrole {
            findings.push(Finding::error(
                name,
                "runtime-createrole",
                format!("the runtime role \"{role}\" has CREATEROLE"),
            ));
        }
        if id.createdb {
            findings.push(Finding::error(
                name,
                "runtime-createdb",
                format!("the runtime role \"{role}\" has CREATEDB"),
            ));
        }
        if var == Var::App && id.bypassrls && !id.superuser {
            findings.push(Finding::error(
                name,
                "app-bypassrls",
                format!("the app role \"{role}\" has BYPASSRLS"),
            ));
        }
    } else if !(id.superuser || id.createrole && id.createdb) {
        let missing: Vec<&str> = [(!id.createrole, "CREATEROLE"), (!id.createdb, "CREATEDB")]
            .into_iter()
            .filter_map(|(lacks, what)| lacks.then_some(what))
            .collect();
        findings.push(Finding::error(
            name,
            "admin-privileges",
            format!(
                "the admin role \"{}\" lacks {}",
                id.user,
                missing.join(" and ")
            ),
        ));
    }
    findings
}

fn judge_marker(
    name: &'static str,
    table: &str,
    expected: &str,
    result: Result<Vec<String>, postgres::Error>,
) -> Option<Finding> {
    match result {
        Err(e) => {
            let why = e
                .as_db_error()
                .map_or_else(|| e.to_string(), |db| db.message().to_owned());
            Some(Finding::error(
                name,
                "marker-missing",
                format!("cannot read marker table {table}: {why}; failing closed"),
            ))
        }
        Ok(rows) if rows.is_empty() => Some(Finding::error(
            name,
            "marker-missing",
            format!("marker table {table} is empty; failing closed"),
        )),
        Ok(rows) if rows.len() > 1 => Some(Finding::error(
            name,
            "marker-missing",
            format!(
                "marker table {table} has {} rows, expected one; failing closed",
                rows.len()
            ),
        )),
        Ok(rows) if rows[0] != expected => Some(Finding::error(
            name,
            "marker-mismatch",
            format!(
                "marker table {table} says \"{}\", expected \"{expected}\"",
                rows[0]
            ),
        )),
        Ok(_) => None,
    }
}
