//! Printing a plan or a run: one list of actions, three views.
//!
//! stdout: the changed actions (a run), the SQL with passwords as `***`
//! (`--plan`/`--check`), or one JSON document (`--json`). stderr: the
//! summary, the note about passwords that cannot be compared, and with `-v`
//! the unchanged objects.

use deploykit::exit::Result;
use deploykit::output::Reporter;
use serde::Serialize;

use crate::plan::Action;

/// The `--json` document.
#[derive(Serialize)]
struct Document<'a> {
    changed: bool,
    actions: &'a [Action],
}

/// What the printed actions are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Converge: the actions ran.
    Converge,
    /// `--plan`: the actions would run.
    Plan,
    /// `--check`: the actions would run; drift is exit 1.
    Check,
}

/// The note for managed Postgres, said once on stderr.
pub const UNVERIFIABLE: &str = "the admin role cannot read pg_authid (it is not a superuser, as on \
                                managed Postgres): passwords cannot be compared, so they are set on \
                                every run";

/// Prints the actions of a run or a plan.
pub fn print(
    out: &Reporter,
    mode: Mode,
    actions: &[Action],
    database: &str,
    passwords_unverifiable: bool,
) -> Result<()> {
    let changed: Vec<&Action> = actions.iter().filter(|a| a.is_change()).collect();
    let unchanged = actions.len() - changed.len();
    if passwords_unverifiable {
        out.warn(UNVERIFIABLE);
    }
    for a in actions.iter().filter(|a| !a.is_change()) {
        out.detail(a);
    }
    if out.json() {
        // The run's one document, printed as the run ends (a closed stdout
        // is then still the reader's right, exit status unchanged).
        out.json_document(&Document {
            changed: !changed.is_empty(),
            actions,
        })?;
    } else {
        for a in &changed {
            match mode {
                Mode::Converge => out.line(a)?,
                Mode::Plan | Mode::Check => {
                    out.line(format_args!("-- {a}"))?;
                    for s in &a.statements {
                        out.line(format_args!("{s};"))?;
                    }
                }
            }
        }
    }
    let elapsed = deploykit::duration::format(out.elapsed());
    let statements: usize = changed.iter().map(|a| a.statements.len()).sum();
    match (mode, changed.len()) {
        (Mode::Converge, 0) => out.info(format_args!(
            "database {database} already converged: {unchanged} object(s) unchanged ({elapsed})"
        )),
        (Mode::Converge, n) => out.info(format_args!(
            "database {database} converged: {n} change(s) in {statements} statement(s), \
             {unchanged} unchanged ({elapsed})"
        )),
        (_, 0) => out.info(format_args!(
            "database {database} is converged: nothing would change ({unchanged} object(s))"
        )),
        (_, n) => {
            let real = changed.iter().filter(|a| !a.unverifiable).count();
            out.info(format_args!(
                "database {database}: {n} change(s) in {statements} statement(s) would run, \
                 {unchanged} unchanged{}",
                if mode == Mode::Check && real < n {
                    format!(
                        "; {real} of them drift ({} only because passwords cannot be compared)",
                        n - real
                    )
                } else {
                    String::new()
                }
            ));
        }
    }
    Ok(())
}
