//! `wait-probe`: gate a deploy on liveness, readiness and the expected
//! version, then (optionally) exec the next command.
//!
//! The command line is folded into stages ([`stages`]), each target parsed
//! up front ([`target`]) so a typo is exit 2 before any waiting. Each stage
//! polls on a schedule that is a pure function of the outcomes so far
//! ([`schedule`]), judging HTTP answers by [`rules`]; the attempts
//! themselves ([`probe`]) and the waiting ([`run`]) are the only I/O.

pub mod cli;
pub mod probe;
pub mod rules;
pub mod run;
pub mod schedule;
pub mod stages;
pub mod target;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use deploykit::exit::{Error, Exit, Result};
use deploykit::output::Reporter;
use serde::Serialize;

use crate::cli::Cli;
use crate::probe::{HttpClient, Probe};
use crate::run::{Events, Stage, StageEnd, StageReport};
use crate::schedule::Policy;
use crate::stages::StageSpec;
use crate::target::Target;

/// The clap command, for the man page generator and tests.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Parses the command line and runs the tool.
pub fn main() -> Result<Exit> {
    let matches = deploykit::process::arg_matches(command());
    let cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let specs = stages::assemble(stages::items(&matches)).map_err(Error::usage)?;
    run(&cli, specs)
}

/// The `--json` summary document.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    ready: bool,
    stages: &'a [StageReport],
}

/// Runs the stages described by `specs` with the global options of `cli`.
pub fn run(cli: &Cli, specs: Vec<StageSpec>) -> Result<Exit> {
    let out = Reporter::new("wait-probe", &cli.output);
    let stages = prepare(cli, specs)?;
    let program = match cli.command.first() {
        Some(program) => Some(find_program(program)?),
        None => None,
    };

    // The overall deadline (--timeout) runs from here, before the first stage.
    let deadline = cli.timeout.map(|t| std::time::Instant::now() + t);
    let mut stages = stages;
    let mut events = Events::new()?;
    let mut reports: Vec<StageReport> = stages.iter().map(StageReport::not_reached).collect();
    let mut failure: Option<Error> = None;
    let total = stages.len();
    for (i, stage) in stages.iter_mut().enumerate() {
        let place = format!("stage {} of {total}", i + 1);
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                failure = Some(Error::no(format_args!(
                    "{}: not reached ({place}): the --timeout of {} ran out first",
                    stage.target,
                    deploykit::duration::format(cli.timeout.unwrap_or_default())
                )));
                break;
            }
            stage.budget = stage.budget.min(left);
        }
        match run::run_stage(stage, &place, &mut events, &out) {
            StageEnd::Ready(report) => reports[i] = report,
            StageEnd::NotReady(report, message) => {
                reports[i] = report;
                failure = Some(Error::no(message));
                break;
            }
            StageEnd::Stopped(report, err) => {
                reports[i] = report;
                failure = Some(err.context(stage.target.to_string()));
                break;
            }
        }
    }

    if out.json() {
        out.json_document(&Summary {
            ready: failure.is_none(),
            stages: &reports,
        })?;
    }
    if let Some(err) = failure {
        return Err(err);
    }
    match program {
        Some(program) => Err(exec(&program, &cli.command)),
        None => Ok(Exit::Success),
    }
}

/// Parses every target and builds each stage's probe, before any waiting.
fn prepare(cli: &Cli, specs: Vec<StageSpec>) -> Result<Vec<Stage>> {
    let client = HttpClient::new(cli.cacert.as_deref(), cli.insecure)?;
    let env = |name: &str| std::env::var(name).ok();
    specs
        .into_iter()
        .map(|spec| {
            let target = Target::parse(&spec.target, env).map_err(Error::usage)?;
            let probe = Probe::new(&target, &client, spec.status, spec.headers, spec.expects);
            Ok(Stage {
                target,
                // Cut to what is left of --timeout when the stage starts.
                budget: match cli.timeout {
                    Some(timeout) if !spec.budget_given => timeout,
                    _ => spec.budget,
                },
                probe,
                policy: Policy::new(cli.max_interval, spec.success_threshold),
                attempt_timeout: cli.attempt_timeout,
            })
        })
        .collect()
}

/// Finds COMMAND as `exec` would (PATH search unless it names a path), so
/// a typo fails before the wait, not after it, with the statuses `env` and
/// `timeout` use: 127 when there is no such command, 126 when there is one
/// that cannot be executed (not executable, a directory).
fn find_program(program: &OsString) -> Result<PathBuf> {
    let shown = Path::new(program).display().to_string();
    let cannot_execute = |path: &Path| {
        Error::new(
            Exit::CannotExecute,
            format_args!("cannot run {}: not an executable file", path.display()),
        )
    };
    if program.as_encoded_bytes().contains(&b'/') {
        let path = PathBuf::from(program);
        return match executable(&path) {
            Some(true) => Ok(path),
            Some(false) => Err(cannot_execute(&path)),
            None => Err(Error::new(
                Exit::CommandNotFound,
                format_args!("cannot run {shown}: no such file"),
            )),
        };
    }
    // As execvp: the first executable match wins; a match that cannot be
    // executed is reported only when there is no executable one.
    let mut found_other = None;
    for path in std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
    {
        match executable(&path) {
            Some(true) => return Ok(path),
            Some(false) => {
                found_other.get_or_insert(path);
            }
            None => {}
        }
    }
    Err(match found_other {
        Some(path) => cannot_execute(&path),
        None => Error::new(
            Exit::CommandNotFound,
            format_args!("cannot run {shown}: command not found in PATH"),
        ),
    })
}

/// Whether `path` is an executable file: `None` when nothing is there.
fn executable(path: &Path) -> Option<bool> {
    use std::os::unix::fs::PermissionsExt;
    let meta = path.metadata().ok()?;
    Some(meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Replaces this process with the command (`argv` as typed, `argv[0]`
/// included). Returns only on failure.
fn exec(program: &Path, argv: &[OsString]) -> Error {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let _ = std::io::stdout().flush();
    let mut command = std::process::Command::new(program);
    if let Some((arg0, args)) = argv.split_first() {
        command.arg0(arg0).args(args);
    }
    let err = command.exec();
    // As `env` and `timeout`: 127 when it is not there, 126 when it is and
    // cannot be executed (permission, not an executable format).
    let status = match err.kind() {
        std::io::ErrorKind::NotFound => Exit::CommandNotFound,
        _ => Exit::CannotExecute,
    };
    Error::new(
        status,
        format_args!("cannot run {}: {err}", program.display()),
    )
}
