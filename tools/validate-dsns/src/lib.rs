//! `validate-dsns`: a linter for the three Postgres DSNs of a service.
//!
//! The static rules ([`rules`]) judge the DSNs without a server; the live
//! checks ([`live`]) log in with `--connect`. Both produce [`findings`],
//! printed once here, and the exit status follows the worst class of finding.

pub mod cli;
pub mod explain;
pub mod findings;
pub mod live;
pub mod rules;

use std::collections::BTreeMap;

use deploykit::dsn::sources::FromFlags;
use deploykit::exit::{Error, Exit, Result};
use deploykit::output::Reporter;
use serde::Serialize;

use crate::cli::{CheckArgs, Cli, Command};
use crate::findings::{Class, Finding, Severity};
use crate::rules::{Inputs, Var};

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

/// Runs the tool on parsed arguments.
pub fn run(cli: &Cli, flags: FromFlags) -> Result<Exit> {
    let out = Reporter::new("validate-dsns", &cli.output);
    match &cli.command {
        Some(Command::Explain(args)) => explain::run(&args.dsn, &out),
        Some(Command::Rules) => list_rules(&out),
        None => check(&cli.check, flags, &out),
    }
}

#[derive(Serialize)]
struct Rule {
    rule: &'static str,
    explanation: &'static str,
}

fn list_rules(out: &Reporter) -> Result<Exit> {
    if out.json() {
        let rules: Vec<Rule> = findings::RULES
            .iter()
            .map(|(rule, explanation)| Rule { rule, explanation })
            .collect();
        out.json_document(&serde_json::json!({ "rules": rules }))?;
    } else {
        for (rule, explanation) in findings::RULES {
            out.line(format_args!("{rule:<22} {explanation}"))?;
        }
    }
    Ok(Exit::Success)
}

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    findings: &'a [Finding],
}

fn check(args: &CheckArgs, flags: FromFlags, out: &Reporter) -> Result<Exit> {
    let inputs = gather(args, flags)?;
    let (mut findings, parsed) = rules::check(&inputs);
    if args.connect {
        let options = live::LiveOptions {
            timeout: args.timeout,
            expect_env: args.expect_env.clone(),
            marker_table: args.marker_table.clone(),
        };
        out.detail(format_args!("connecting with {} DSN(s)", parsed.len()));
        findings.extend(live::check(&parsed, &options));
    }

    // Grouped by variable, in the order the variables are documented.
    findings.sort_by_key(|f| {
        ["DATABASE_ROOT_URL", "DATABASE_URL", "DATABASE_SERVICE_URL"]
            .iter()
            .position(|v| *v == f.variable)
            .unwrap_or(usize::MAX)
    });
    let failing = |f: &&Finding| f.severity == Severity::Error || args.strict;
    let status = findings
        .iter()
        .filter(failing)
        .map(|f| match f.class {
            Class::Policy => Exit::No,
            Class::Input => Exit::Usage,
            Class::Unreachable => Exit::Remote,
            Class::Refused => Exit::Denied,
        })
        .max_by_key(|e| e.rank())
        .unwrap_or(Exit::Success);

    if out.json() {
        out.json_document(&Report {
            ok: status == Exit::Success,
            findings: &findings,
        })?;
        if status != Exit::Success {
            // The document's `error`: what the findings add up to.
            let errors = findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count();
            return Err(Error::new(
                status,
                format_args!("{errors} error(s), {} warning(s)", findings.len() - errors),
            ));
        }
    } else {
        for finding in &findings {
            out.line(finding)?;
        }
        let errors = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        let warnings = findings.len() - errors;
        if status == Exit::Success {
            out.info(format_args!(
                "ok: {} DSN(s) checked{}, {warnings} warning(s)",
                parsed.len(),
                if args.connect { " and logged in" } else { "" }
            ));
        } else {
            out.info(format_args!("{errors} error(s), {warnings} warning(s)"));
        }
    }
    Ok(status)
}

/// Collects the three DSNs: a flag wins, then `--env-file`, then the
/// process environment (which clap has already merged into the flag).
fn gather(args: &CheckArgs, flags: FromFlags) -> Result<Inputs> {
    let gathered = args.dsns.gather(flags)?;
    let values: BTreeMap<Var, String> = Var::ALL
        .into_iter()
        .filter_map(|var| gathered.values.get(var.name()).map(|v| (var, v.clone())))
        .collect();
    let file = gathered.file;
    let explicit = match (&file, flags.env) {
        (Some(file), false) => file.get("APP_ENV").map(|v| ("APP_ENV", v.as_str())),
        _ => args
            .env
            .as_deref()
            .map(|v| (if flags.env { "--env" } else { "APP_ENV" }, v)),
    };
    let environment = match &file {
        Some(file) => file.clone(),
        None => std::env::vars().collect(),
    };
    let deployment =
        deploykit::environment::resolve(explicit, |name| environment.get(name).cloned())?;
    Ok(Inputs {
        values,
        environment,
        runtime: args.runtime,
        production: deployment.is_some_and(deploykit::environment::Environment::is_production),
    })
}
