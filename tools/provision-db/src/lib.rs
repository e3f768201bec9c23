//! `provision-db`: converge a database and its two runtime roles from the
//! three DSNs alone.
//!
//! The run is read, plan, act: [`inputs`] derives the desired state from
//! the DSNs (refusing, before any connection, DSNs that disagree),
//! [`catalog`] reads the facts under an advisory lock, [`plan`] computes
//! the actions as data (a pure function, unit-tested without a server),
//! [`apply`] runs the changed ones, one transaction per step, and
//! [`report`] prints the same actions as a summary, SQL or JSON.

pub mod apply;
pub mod catalog;
pub mod cli;
pub mod facts;
pub mod inputs;
pub mod plan;
pub mod report;
pub mod scram;

use std::collections::BTreeMap;

use deploykit::dsn::connect::connect;
use deploykit::dsn::sources::FromFlags;
use deploykit::environment::Environment;
use deploykit::exit::{Error, Exit, Result};
use deploykit::output::Reporter;
use deploykit::sql::quote_ident;
use postgres::Client;

use crate::apply::Limits;
use crate::cli::Cli;
use crate::facts::Facts;
use crate::inputs::{Dsns, Options};
use crate::plan::{Action, Desired, Scope};
use crate::report::Mode;

/// The clap command, for the man page generator and tests.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Parses the command line and runs the tool.
pub fn main() -> Result<Exit> {
    let matches = deploykit::process::arg_matches(command());
    let cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    run(&cli, FromFlags::of(&matches))
}

/// The variables, merged from flags, `--env-file` and the environment.
struct Gathered {
    values: BTreeMap<&'static str, String>,
    environment: Option<Environment>,
    confirm: Option<String>,
}

/// A flag wins, then `--env-file`, then the process environment (which
/// clap has already merged into the flag's value).
fn gather(cli: &Cli, flags: FromFlags) -> Result<Gathered> {
    let deploykit::dsn::sources::Gathered { values, file } = cli.dsns.gather(flags)?;
    let explicit = match (&file, flags.env) {
        (Some(file), false) => file
            .get("APP_ENV")
            .map(|v| ("APP_ENV", v.as_str()))
            .or_else(|| cli.env.as_deref().map(|v| ("APP_ENV", v))),
        _ => cli
            .env
            .as_deref()
            .map(|v| (if flags.env { "--env" } else { "APP_ENV" }, v)),
    };
    let environment = deploykit::environment::resolve(explicit, |name| match &file {
        Some(file) => file.get(name).cloned(),
        None => std::env::var(name).ok(),
    })?;
    let confirm = file
        .as_ref()
        .and_then(|f| f.get("CONFIRM_PROD_MIGRATE").cloned())
        .or_else(|| std::env::var("CONFIRM_PROD_MIGRATE").ok());
    Ok(Gathered {
        values,
        environment,
        confirm,
    })
}

/// Runs the tool on parsed arguments.
pub fn run(cli: &Cli, flags: FromFlags) -> Result<Exit> {
    let out = Reporter::new("provision-db", &cli.output);
    let gathered = gather(cli, flags)?;
    let options = Options {
        owner: cli.owner,
        schemas: cli.schemas.clone(),
        service_bypassrls: !cli.no_service_bypassrls,
        env_marker: cli.env_marker.clone(),
        marker_table: cli.marker_table.clone(),
    };
    let (dsns, desired) = inputs::derive(&gathered.values, &options)?;
    out.detail(inputs::describe(&dsns));
    let mode = if cli.check {
        Mode::Check
    } else if cli.plan {
        Mode::Plan
    } else {
        Mode::Converge
    };
    if mode == Mode::Converge
        && gathered.environment.is_some_and(Environment::is_production)
        && !(cli.confirm_production || inputs::confirmed(gathered.confirm.as_deref()))
    {
        return Err(Error::no(
            "refusing to change a production database: pass --confirm-production or set \
             CONFIRM_PROD_MIGRATE=YES (--plan and --check work without it); nothing was touched",
        ));
    }
    let limits = Limits {
        statement_lock: cli.statement_lock_timeout,
        statement: cli.statement_timeout,
    };
    let session = Session {
        dsns: &dsns,
        desired: &desired,
        timeout: cli.timeout,
        limits,
    };

    let mut admin = session.connect_admin()?;
    if mode == Mode::Converge {
        apply::lock(&mut admin, cli.lock_timeout, limits, &out)?;
    }
    let mut inside: Option<Client> = None;
    let facts = session.read(&mut admin, &mut inside)?;
    let planned = plan::plan(&facts, &desired).map_err(|r| Error::new(r.status, r.message))?;
    let database = quote_ident(&desired.database);
    if mode != Mode::Converge {
        report::print(
            &out,
            mode,
            &planned.actions,
            &database,
            planned.passwords_unverifiable,
        )?;
        return Ok(if mode == Mode::Check && planned.drift() {
            Exit::No
        } else {
            Exit::Success
        });
    }

    // Server-wide steps first, on the admin connection.
    let mut done: Vec<Action> = Vec::new();
    let mut steps = 0;
    for action in planned.actions.iter().filter(|a| a.scope == Scope::Server) {
        if action.is_change() {
            out.detail(format_args!("running: {action}"));
            apply::run(&mut admin, action, limits, steps)?;
            steps += 1;
        }
        done.push(action.clone());
    }
    // Then inside the database. When the first phase changed anything
    // (a new database, a new owner, a membership), the facts inside are
    // read again and the rest is planned from what is really there.
    let unverifiable = planned.passwords_unverifiable;
    let inside_actions: Vec<Action> = if steps > 0 {
        let facts = session.read(&mut admin, &mut inside)?;
        plan::plan(&facts, &desired)
            .map_err(|r| Error::new(r.status, r.message))?
            .actions
    } else {
        planned.actions
    };
    for action in inside_actions
        .into_iter()
        .filter(|a| a.scope == Scope::Database)
    {
        if action.is_change() {
            out.detail(format_args!("running: {action}"));
            let client = match &mut inside {
                Some(c) => c,
                None => inside.insert(session.connect_inside()?),
            };
            apply::run(client, &action, limits, steps)?;
            steps += 1;
        }
        done.push(action);
    }
    report::print(&out, Mode::Converge, &done, &database, unverifiable)?;
    Ok(Exit::Success)
}

/// The database every run's admin connection prefers (see
/// [`Session::connect_admin`]).
const MAINTENANCE_DATABASE: &str = "postgres";

/// The connections of one run.
struct Session<'a> {
    dsns: &'a Dsns,
    desired: &'a Desired,
    timeout: std::time::Duration,
    limits: Limits,
}

impl Session<'_> {
    /// The admin connection for server-wide work, always in the maintenance
    /// database `postgres` when the admin can reach it, whatever database
    /// `DATABASE_ROOT_URL` names.
    ///
    /// Why not the DSN's own database: Postgres keeps advisory locks per
    /// database, so runs whose admin DSNs name `/postgres`, `/template1` or
    /// `/admin` would not exclude each other; and a session sitting on
    /// `template1` (even one waiting for the lock) makes every other run's
    /// `CREATE DATABASE` fail, since the new database is copied from it.
    /// Only where `postgres` cannot be reached (it was dropped, or the admin
    /// may not connect to it) does the run use the DSN's own database, or
    /// `template1` when that is the target.
    fn connect_admin(&self) -> Result<Client> {
        let root = &self.dsns.root;
        let own = root.effective_dbname().unwrap_or_default();
        let mut client = if own == MAINTENANCE_DATABASE {
            connect(root, self.timeout)
        } else {
            match connect(&root.with_dbname(MAINTENANCE_DATABASE), self.timeout) {
                Ok(client) => Ok(client),
                Err(e) if e.status() == Exit::Denied => {
                    let fallback = if own == self.desired.database || own.is_empty() {
                        root.with_dbname("template1")
                    } else {
                        root.clone()
                    };
                    connect(&fallback, self.timeout)
                }
                Err(e) => Err(e),
            }
        }
        .map_err(|e| e.context("connecting with DATABASE_ROOT_URL"))?;
        apply::configure(&mut client, self.limits)?;
        Ok(client)
    }

    /// The admin DSN pointed at the target database.
    fn connect_inside(&self) -> Result<Client> {
        let dsn = self.dsns.root.with_dbname(&self.desired.database);
        let mut client = connect(&dsn, self.timeout).map_err(|e| {
            e.context(format!(
                "connecting to database {} with DATABASE_ROOT_URL",
                quote_ident(&self.desired.database)
            ))
        })?;
        apply::configure(&mut client, self.limits)?;
        Ok(client)
    }

    /// Reads every fact; connects inside the database when it exists.
    fn read(&self, admin: &mut Client, inside: &mut Option<Client>) -> Result<Facts> {
        let server = catalog::read_server(admin, self.desired)?;
        let owner = self.desired.owner_name(&server.admin.name).to_owned();
        let inside_facts = if server.database.is_some() {
            let client = match inside {
                Some(c) => c,
                None => inside.insert(self.connect_inside()?),
            };
            Some(catalog::read_inside(client, self.desired, &owner)?)
        } else {
            None
        };
        Ok(catalog::facts(server, inside_facts, self.desired))
    }
}
