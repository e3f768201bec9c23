//! `scaffold-service`: one command from nothing to a deployable, probed,
//! wired service in a pnpm monorepo.
//!
//! The run is a pure computation followed by one write: [`repo`] reads the
//! repo's facts, [`plan`] renders the [`templates`] and computes the
//! [`edit`]s of existing files (refusing anything that would overwrite), and
//! only then [`apply`] writes it all or nothing. [`check`] re-renders a
//! generated service's recorded answers to report drift.

pub mod apply;
pub mod check;
pub mod cli;
pub mod edit;
pub mod name;
pub mod plan;
pub mod repo;
pub mod templates;

use std::path::Path;

use deploykit::exit::{Error, Exit, Result, ResultExt};
use deploykit::output::Reporter;
use serde::Serialize;

use crate::cli::{CheckArgs, Cli, Command, CreateArgs, TemplatesArgs};
use crate::plan::{FileEdit, FileEntry, Plan, Skipped, TemplateInfo};
use crate::templates::TemplateSet;

/// The clap command, for the man page generator and tests.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Parses the command line and runs the tool.
pub fn main() -> Result<Exit> {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if let Some((word, subcommand)) = cli::mistyped_subcommand(&command(), &argv) {
        if argv
            .iter()
            .take_while(|a| *a != "--")
            .any(|a| a == "--json")
        {
            deploykit::output::set_json_mode();
        }
        return Err(Error::usage(format!(
            "{word:?} is not a subcommand: did you mean `scaffold-service {subcommand}`? \
             (to create a service named {word:?}, write `scaffold-service -- {word}`)"
        )));
    }
    let matches = deploykit::process::arg_matches(command());
    let cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    run(&cli)
}

/// Runs the tool on parsed arguments.
pub fn run(cli: &Cli) -> Result<Exit> {
    let out = Reporter::new("scaffold-service", &cli.output);
    match &cli.command {
        Some(Command::Check(args)) => check(&cli.create.repo, args, &out),
        Some(Command::Templates(args)) => export(args, &out),
        None => create(&cli.create, &out),
    }
}

/// The `--json` document of a create run.
#[derive(Serialize)]
struct CreateReport<'a> {
    name: &'a str,
    package: &'a str,
    dry_run: bool,
    written: bool,
    template: &'a TemplateInfo,
    files: Vec<FileEntry>,
    reused: &'a [String],
    edits: &'a [FileEdit],
    skipped: &'a [Skipped],
}

fn create(args: &CreateArgs, out: &Reporter) -> Result<Exit> {
    let name = args.name.as_deref().unwrap_or_default();
    // Name first: a bad name is a usage error whatever the repo looks like.
    name::check(name).map_err(Error::usage)?;
    if args.port == args.health_port {
        return Err(Error::usage(format!(
            "--port and --health-port are both {}; the probes need their own port",
            args.port
        )));
    }
    let set = match &args.template {
        Some(dir) => TemplateSet::from_dir(dir)?,
        None => TemplateSet::builtin(),
    };
    let repo = repo::Repo::open(&args.repo, args.compose.as_deref())?;
    let request = plan::Request {
        name,
        scope: args.scope.as_deref(),
        port: args.port,
        health_port: args.health_port,
        image_repo: args.image_repo.as_deref(),
        migrate: args.migrate,
        image_pull_secret: args.image_pull_secret.as_deref(),
    };
    let (answers, warnings) = plan::answers(&request, &repo)?;
    let (plan, warnings) = plan::build(&repo, &set, answers, warnings)?;
    for w in &warnings {
        out.warn(w);
    }
    if !args.dry_run {
        apply::apply(&repo.root, &plan)?;
    }
    print_plan(&plan, args.dry_run, out)?;
    Ok(Exit::Success)
}

fn print_plan(plan: &Plan, dry_run: bool, out: &Reporter) -> Result<()> {
    let name = &plan.answers.name;
    if out.json() {
        return out.json_document(&CreateReport {
            name,
            package: &plan.answers.package_name,
            dry_run,
            written: !dry_run,
            template: &plan.template,
            files: plan
                .files
                .iter()
                .map(|f| FileEntry {
                    path: f.path.clone(),
                    bytes: f.content.len(),
                })
                .collect(),
            reused: &plan.reused,
            edits: &plan.edits,
            skipped: &plan.skipped,
        });
    }
    for file in &plan.files {
        out.line(format_args!("create {}", file.path))?;
    }
    for path in &plan.reused {
        out.line(format_args!("reuse {path} (shared by every service)"))?;
    }
    for edit in &plan.edits {
        match edit.change {
            "unchanged" => out.line(format_args!(
                "unchanged {} (has the {})",
                edit.path, edit.description
            ))?,
            _ => out.line(format_args!("edit {}", edit.path))?,
        }
    }
    if dry_run {
        for edit in plan.edits.iter().filter(|e| e.after.is_some()) {
            out.line(edit.diff.trim_end())?;
        }
        out.info(format_args!(
            "dry run: would create {} files and edit {} (nothing written)",
            plan.files.len(),
            plan.edits.iter().filter(|e| e.after.is_some()).count()
        ));
    } else {
        out.info(format_args!(
            "created services/{name} and its manifests ({} files), edited {} files",
            plan.files.len(),
            plan.edits.iter().filter(|e| e.after.is_some()).count()
        ));
        out.info(format_args!("next: pnpm install && pnpm {name}:dev"));
    }
    Ok(())
}

fn check(root: &Path, args: &CheckArgs, out: &Reporter) -> Result<Exit> {
    let report = check::check(root, &args.name, args.template.as_deref(), args.diff)?;
    if out.json() {
        out.json_document(&report)?;
    } else {
        for line in check::lines(&report) {
            out.line(line)?;
        }
        if args.diff {
            for diff in report.files.iter().filter_map(|f| f.diff.as_deref()) {
                out.line(diff.trim_end())?;
            }
        }
        let differing = report
            .files
            .iter()
            .filter(|f| f.status != check::Status::Current)
            .count();
        if report.current {
            out.info(format_args!(
                "{}: {} files match the template",
                report.name,
                report.files.len()
            ));
        } else {
            out.info(format_args!(
                "{}: {differing} of {} files differ from the template",
                report.name,
                report.files.len()
            ));
        }
    }
    Ok(if report.current {
        Exit::Success
    } else {
        Exit::No
    })
}

fn export(args: &TemplatesArgs, out: &Reporter) -> Result<Exit> {
    if args.dir.symlink_metadata().is_ok() {
        return Err(Error::no(format!(
            "{} already exists; refusing to overwrite it",
            args.dir.display()
        )));
    }
    let parent = match args.dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let holder = tempfile::Builder::new()
        .prefix(".scaffold-service-")
        .tempdir_in(&parent)
        .or_exit(
            Exit::Usage,
            format!("cannot write into {}", parent.display()),
        )?;
    let set = TemplateSet::builtin();
    for (path, source) in set.all() {
        let dest = holder.path().join("t").join(path);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)
                .or_exit(Exit::Usage, format!("creating {}", dir.display()))?;
        }
        std::fs::write(&dest, source)
            .or_exit(Exit::Usage, format!("writing {}", dest.display()))?;
    }
    std::fs::rename(holder.path().join("t"), &args.dir)
        .or_exit(Exit::Usage, format!("creating {}", args.dir.display()))?;
    for (path, _) in set.all() {
        out.line(args.dir.join(path).display())?;
    }
    Ok(Exit::Success)
}
