//! Running a plan: the session settings, the advisory lock, the steps.
//!
//! Each action is one step, run in its own transaction (all of its
//! statements or none), except `CREATE DATABASE`, which Postgres refuses to
//! run in one. A step that fails leaves the steps before it whole, so the
//! next run picks up where this one stopped. Every statement runs under
//! Postgres' `lock_timeout`, so a GRANT queued behind an application's long
//! transaction fails (exit 3) instead of hanging the deploy.

use std::time::Duration;

use deploykit::exit::{Error, Result};
use deploykit::output::Reporter;
use postgres::Client;

use crate::catalog::query_error;
use crate::plan::Action;

/// The advisory lock key every provision-db run takes (the bytes of
/// "dk-prov1"), so runs against one server go one at a time.
pub const LOCK_KEY: i64 = 0x646b_2d70_726f_7631;

/// Per-session limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Postgres `lock_timeout` for each statement.
    pub statement_lock: Duration,
    /// Postgres `statement_timeout` for each statement.
    pub statement: Duration,
}

fn millis(d: Duration) -> u128 {
    d.as_millis().max(1)
}

/// Applies the limits to a fresh session.
pub fn configure(client: &mut Client, limits: Limits) -> Result<()> {
    client
        .batch_execute(&format!(
            "SET lock_timeout = {}; SET statement_timeout = {}",
            millis(limits.statement_lock),
            millis(limits.statement)
        ))
        .map_err(|e| query_error("setting the session's timeouts", &e))
}

/// Takes the run lock, waiting up to `wait` and saying once that it waits.
pub fn lock(client: &mut Client, wait: Duration, limits: Limits, out: &Reporter) -> Result<()> {
    let err = |e: postgres::Error| query_error("taking the provision-db lock", &e);
    let got: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
        .map_err(err)?
        .get(0);
    if got {
        return Ok(());
    }
    let holder: Option<i32> = client
        .query_opt(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 \
               AND classid::bigint = ($1 >> 32) & 4294967295 AND objid::bigint = $1 & 4294967295 LIMIT 1",
            &[&LOCK_KEY],
        )
        .ok()
        .flatten()
        .map(|r| r.get(0));
    out.info(format_args!(
        "waiting for another provision-db run{} (up to {})",
        holder
            .map(|p| format!(" (server pid {p})"))
            .unwrap_or_default(),
        deploykit::duration::format(wait)
    ));
    // A blocking wait under lock_timeout wakes the moment the other run
    // ends, where polling would add latency to every waiter.
    client
        .batch_execute(&format!(
            "SET lock_timeout = {}; SET statement_timeout = 0",
            millis(wait)
        ))
        .map_err(err)?;
    let waited = client.query_one("SELECT pg_advisory_lock($1)", &[&LOCK_KEY]);
    configure(client, limits)?;
    match waited {
        Ok(_) => {
            out.detail("got the provision-db lock");
            Ok(())
        }
        Err(e) if is_lock_timeout(&e) => Err(Error::remote(format!(
            "another provision-db run still held the lock after {} (--lock-timeout); nothing changed",
            deploykit::duration::format(wait)
        ))),
        Err(e) => Err(err(e)),
    }
}

fn is_lock_timeout(e: &postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|db| db.code().code() == "55P03")
}

/// Runs one step. `done` counts the steps that already changed something,
/// for the message when this one fails.
pub fn run(client: &mut Client, action: &Action, limits: Limits, done: usize) -> Result<()> {
    let outcome = if action.transactional {
        client.transaction().and_then(|mut tx| {
            for statement in &action.statements {
                tx.batch_execute(statement.sql())?;
            }
            tx.commit()
        })
    } else {
        action
            .statements
            .iter()
            .try_for_each(|statement| client.batch_execute(statement.sql()))
    };
    outcome.map_err(|e| step_error(action, &e, limits, done))
}

/// The error of a failed step: what it was doing, and that the steps
/// before it are done.
fn step_error(action: &Action, e: &postgres::Error, limits: Limits, done: usize) -> Error {
    // `create database "shop"`, `grant schema "public" privileges`: the
    // object may already name its kind (as in the plan's Display).
    let what = if action.object.starts_with(&format!("{} ", action.kind)) {
        format!("{} {}", action.action.as_str(), action.object)
    } else {
        format!(
            "{} {} {}",
            action.action.as_str(),
            action.object,
            action.kind
        )
    };
    let after = format!("; the {done} step(s) before it are done, this one was rolled back");
    match e.as_db_error() {
        Some(db) if db.code().code() == "55P03" => Error::remote(format!(
            "{what}: a lock was not granted within {} (--statement-lock-timeout): {}{after}",
            deploykit::duration::format(limits.statement_lock),
            db.message()
        )),
        Some(db) if db.code().code() == "57014" => Error::remote(format!(
            "{what}: cancelled after {} (--statement-timeout){after}",
            deploykit::duration::format(limits.statement)
        )),
        Some(db) if db.code().code() == "42501" || db.code().code().starts_with("28") => {
            Error::denied(format!(
                "{what}: permission denied: {}{after}",
                db.message()
            ))
        }
        Some(db) => Error::remote(format!("{what}: {}{after}", db.message())),
        // The connection broke: the server may or may not have run it.
        None => Error::remote(format!(
            "{what}: {e}; the {done} step(s) before it are done, this one may or may not \
             have taken effect: run again to converge"
        )),
    }
}
