//! The command line of `scaffold-service`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use deploykit::docs::{Example, ToolDoc};
use deploykit::exit::Exit;
use deploykit::output::OutputArgs;

/// Examples and exit statuses, shared by `--help` and the man page.
pub const DOC: ToolDoc = ToolDoc {
    examples: &[
        Example {
            what: "See what would be created and the edits as unified diffs, writing nothing",
            command: "scaffold-service billing-worker --dry-run",
        },
        Example {
            what: "Create services/billing-worker and wire it into the repo",
            command: "scaffold-service billing-worker --scope @acme --health-port 9000",
        },
        Example {
            what: "A service with a PreSync migration Job, pulling from a private registry",
            command: "scaffold-service billing-worker --migrate --image-repo registry.acme.dev/shop --image-pull-secret regcred",
        },
        Example {
            what: "The plan as JSON, for a bot or a review comment",
            command: "scaffold-service billing-worker --dry-run --json | jq -r '.files[].path'",
        },
        Example {
            what: "Generate from your own templates (start from an export of the built-in ones)",
            command: "scaffold-service templates ./my-templates && scaffold-service billing-worker --template ./my-templates",
        },
        Example {
            what: "List files that differ from what the current template generates, with diffs",
            command: "scaffold-service check billing-worker --diff",
        },
    ],
    exit_statuses: &[
        (
            Exit::Success,
            "the service was created (or the plan printed); check: no drift",
        ),
        (
            Exit::No,
            "refused: services/NAME or another generated path already exists, or a wiring entry conflicts; nothing written. check: drift found",
        ),
        (
            Exit::Usage,
            "bad NAME, flag or template; not a pnpm monorepo root; a file to edit does not parse; a write failed (nothing left behind)",
        ),
    ],
    security: &[
        "Sends nothing over the network. Writes only inside --repo: a path that would resolve outside it (a symbolic link such as services pointing elsewhere, an edited file that is a link out) is refused with exit 2 before anything is written, and the edited files are locked while they are replaced.",
    ],
    json: "Creating: {\"name\", \"package\", \"dry_run\", \"written\", \"template\", \"files\": [...], \"edits\": [...], \"skipped\": [...]}. check: {\"name\", \"current\": bool, \"generated_with\", \"compared_with\", \"files\": [...]}. templates: only \"exit\" (and \"error\").",
};

/// Generate a deployable, probed service in a pnpm monorepo and wire it in.
///
/// Creates services/NAME (entry point with graceful SIGTERM drain, zod env
/// config, /livez /readyz /version health server, worker loop, pino JSON logs,
/// a test, package.json, tsconfig, tsup and vitest configs, a bundled
/// multi-stage Dockerfile, AGENTS.md) and Kubernetes manifests (a Kustomize
/// base and staging/production overlays, each in its own namespace, pinned by
/// a placeholder digest), then wires the service into pnpm-workspace.yaml, the
/// root package.json scripts, docker-compose.dev.yml and the dependency-cruiser
/// rules, leaving the rest of each file byte-for-byte as it was.
///
/// The first service also creates deployments/argocd/: an Argo CD AppProject
/// and an ApplicationSet whose git directory generator makes one Application
/// of every deployments/overlays/ENV/SERVICE, so the next service is synced
/// without editing them. Files shared by every service are reused as they are
/// when they exist.
///
/// The whole change is computed first; `--dry-run` prints it. Files are
/// written to temporary paths next to their targets and renamed into place
/// only when every one of them was written, so a failure leaves nothing half
/// done. What was generated is recorded in services/NAME/.scaffold.json for
/// `scaffold-service check`.
#[derive(Debug, Parser)]
#[command(name = "scaffold-service", version, after_help = DOC.after_help())]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub create: CreateArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    Check(CheckArgs),
    Templates(TemplatesArgs),
}

/// Creating a service (the default action).
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The service's name: lowercase kebab-case, a DNS label of at most 46 characters
    #[arg(value_name = "NAME", required = true)]
    pub name: Option<String>,

    /// The monorepo root (default: the current directory)
    #[arg(long, value_name = "DIR", default_value = ".", global = true)]
    pub repo: PathBuf,

    /// The npm scope of the package (default: the scope of the root package.json or of packages/*)
    #[arg(long, value_name = "@ORG")]
    pub scope: Option<String>,

    /// The service's main HTTP port (PORT), if it grows one
    #[arg(long, value_name = "PORT", default_value_t = 3001, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,

    /// The port of /livez, /readyz and /version (HEALTH_PORT)
    #[arg(long, value_name = "PORT", default_value_t = 9000, value_parser = clap::value_parser!(u16).range(1..))]
    pub health_port: u16,

    /// The image repository the overlays pin: a repository, no tag, digest or scheme (default: ghcr.io/OWNER/REPO from the root package.json repository)
    #[arg(long, value_name = "REPOSITORY")]
    pub image_repo: Option<String>,

    /// Also generate a migration Job, run by Argo CD as a PreSync hook before each sync, from the {env}-{sha}-migrate image
    #[arg(long)]
    pub migrate: bool,

    /// The Secret (type kubernetes.io/dockerconfigjson) the pods pull their images with, for a private registry
    #[arg(long, value_name = "NAME")]
    pub image_pull_secret: Option<String>,

    /// The Compose file to wire the service into (default: platform/infra/services/runtime/docker-compose.dev.yml or docker-compose.dev.yml)
    #[arg(long, value_name = "FILE")]
    pub compose: Option<PathBuf>,

    /// Render this template directory instead of the built-in templates
    #[arg(long, value_name = "DIR")]
    pub template: Option<PathBuf>,

    /// Print the files that would be created and the edits as unified diffs; write nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
}

/// Report the generated files that differ from what the current template would generate
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The service to check (services/NAME/.scaffold.json must exist)
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Compare with this template directory (default: the one recorded, else the built-in templates)
    #[arg(long, value_name = "DIR")]
    pub template: Option<PathBuf>,

    /// Also print a unified diff (file on disk → template) for each differing file
    #[arg(long)]
    pub diff: bool,
}

/// Write the built-in templates to DIR, to start a `--template` directory from
#[derive(Debug, Args)]
pub struct TemplatesArgs {
    /// The directory to write the templates into (must not exist yet)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// The subcommand `args` (the command line after the program name) looks
/// like a mistyped form of, with the word as typed: `chekc` for `check`.
///
/// Creating a service is the default action, so without this a typo of a
/// subcommand (`scaffold-service chekc billing`) would be taken for a
/// service name. The first word that is not an option (or an option's
/// value) is compared with the subcommands; one that is a subcommand, or
/// comes after `--`, is a name as typed.
pub fn mistyped_subcommand(
    cmd: &clap::Command,
    args: &[std::ffi::OsString],
) -> Option<(String, String)> {
    let takes_value = |arg: &clap::Arg| arg.get_action().takes_values();
    let mut words = args.iter();
    let first = loop {
        let word = words.next()?.to_str()?;
        if word == "--" {
            return None;
        }
        if let Some(long) = word.strip_prefix("--") {
            let needs_value = !long.contains('=')
                && cmd
                    .get_arguments()
                    .any(|a| a.get_long() == Some(long) && takes_value(a));
            if needs_value {
                words.next();
            }
        } else if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            let last = shorts.chars().last();
            let needs_value = shorts.chars().count() == 1
                && cmd
                    .get_arguments()
                    .any(|a| a.get_short() == last && takes_value(a));
            if needs_value {
                words.next();
            }
        } else {
            break word;
        }
    };
    let names: Vec<&str> = cmd
        .get_subcommands()
        .map(clap::Command::get_name)
        .chain(["help"])
        .collect();
    if names.contains(&first) {
        return None;
    }
    names
        .into_iter()
        .filter(|name| typo_distance(first, name) <= (name.len() / 3).max(1))
        .min_by_key(|name| typo_distance(first, name))
        .map(|name| (first.to_owned(), name.to_owned()))
}

/// The edits between `a` and `b`: insertions, deletions, substitutions and
/// swaps of two neighbours (the optimal string alignment distance).
fn typo_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typo(args: &[&str]) -> Option<(String, String)> {
        let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        mistyped_subcommand(&<Cli as clap::CommandFactory>::command(), &args)
    }

    #[test]
    fn a_mistyped_subcommand_is_not_a_service_name() {
        let check = Some(("chekc".to_owned(), "check".to_owned()));
        assert_eq!(typo(&["chekc", "foo"]), check);
        assert_eq!(typo(&["chekc"]), check);
        assert_eq!(typo(&["--repo", "r", "chekc", "foo"]), check);
        assert_eq!(typo(&["--repo=r", "-n", "chekc"]), check);
        assert_eq!(typo(&["chek", "foo"]).map(|t| t.1), Some("check".into()));
        assert_eq!(
            typo(&["tempaltes", "dir"]).map(|t| t.1),
            Some("templates".into())
        );
        assert_eq!(typo(&["hepl"]).map(|t| t.1), Some("help".into()));
    }

    #[test]
    fn names_and_subcommands_pass() {
        for args in [
            &["billing-worker"][..],
            &["check", "billing"],
            &["templates", "dir"],
            &["--repo", "check", "api"],
            &["--", "chekc"],
            &["--scope", "@acme", "payments"],
            &["api"],
            &["cache"],
            &[],
        ] {
            assert_eq!(typo(args), None, "{args:?}");
        }
    }
}
