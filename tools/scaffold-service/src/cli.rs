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
