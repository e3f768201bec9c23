//! The command line of `prune-images`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use deploykit::docs::{Example, ToolDoc};
use deploykit::exit::Exit;
use deploykit::output::OutputArgs;

/// Examples and exit statuses, shared by `--help` and the man page.
pub const DOC: ToolDoc = ToolDoc {
    examples: &[
        Example {
            what: "Show what would go on this host (nothing is removed without --apply)",
            command: "prune-images local",
        },
        Example {
            what: "Deploy cleanup: keep the 3 newest per repository and what compose runs, remove the rest",
            command: "prune-images local --keep 3 --protect-file /srv/app/compose.yml --apply",
        },
        Example {
            what: "Free disk until 20 GiB are free, oldest first, only for our repositories",
            command: "prune-images local --repo 'ghcr.io/acme/*' --target-free 20G --apply",
        },
        Example {
            what: "Machine-readable plan: the images that would go",
            command: "prune-images local --json | jq -r '.images[] | select(.action == \"remove\") | .id'",
        },
        Example {
            what: "Registry: keep the 5 newest builds and every prod- tag, then delete the rest",
            command: "prune-images registry ghcr.io/acme/app --keep 5 --keep-tag '^prod-' --apply",
        },
    ],
    exit_statuses: &[
        (
            Exit::Success,
            "the plan was printed, or applied (images skipped because they became in use are reported, not fatal)",
        ),
        (Exit::No, "registry: the repository does not exist"),
        (
            Exit::Usage,
            "bad flag, unreadable or unparseable --protect-file, invalid reference, pattern or size",
        ),
        (
            Exit::Remote,
            "the engine or registry failed or was unreachable within --timeout (the report shows what was done)",
        ),
        (
            Exit::Denied,
            "the engine socket or the registry refused access; registry: the credentials cannot delete, or the registry does not allow deletes (checked before anything is deleted)",
        ),
    ],
    security: &[
        "local talks only to the container engine's socket (DOCKER_HOST or /var/run/docker.sock) and sends it no credentials.",
        deploykit::registry::SECURITY[0],
        deploykit::registry::SECURITY[1],
    ],
    json: "local: {\"engine\", \"applied\", \"images\": [...], \"out_of_scope\", \"reclaim_estimate\", ...}; registry: {\"repository\", \"applied\", \"manifests\": [...], \"delete_count\", ...}; DESCRIPTION gives every field.",
};

/// Free disk on deploy hosts and in registries, keeping the rollback window and everything in use.
///
/// `prune-images local` prunes the images of the container engine on this
/// host (dockerd or podman, through the Docker Engine API 1.41+ at
/// DOCKER_HOST or /var/run/docker.sock). Per repository it keeps the --keep
/// newest images (the rollback window), and never removes an image used by
/// any container (running or stopped), an image named by --protect or by a
/// --protect-file (compose file, Kustomize images:, or a plain list of
/// references), or an image younger than --min-age. Dangling images go
/// first, then the rest oldest first. Without --apply it prints the plan and
/// removes nothing; with --apply it removes images one by one, and an image
/// that became in use in the meantime is skipped and reported.
///
/// `prune-images registry REPO` applies the same idea to a repository in an
/// OCI registry: it keeps the --keep newest images by their config's
/// `created` time, every tag matching --keep-tag, and everything a
/// --protect-file names, and deletes the other manifests by digest. A
/// manifest is deleted only when no kept tag shares its digest; an index
/// (multi-platform image) is kept or deleted as a whole, and a platform
/// manifest of a kept index is never deleted.
///
/// An image's time is its config's `created` (the registry keeps no push
/// time); an index's is its `org.opencontainers.image.created` annotation
/// when it has one, else the newest `created` of its platform images. An
/// image without a readable time counts as the oldest (with a warning).
/// With --apply the credentials are checked first (a delete of a digest that
/// cannot exist): a token without the `delete` action, or a registry with
/// deletes disabled (405), ends the run with exit 4 before anything is
/// deleted. Just before deleting, the tags are read again and only what both
/// readings would delete is deleted, so a tag pushed or moved meanwhile keeps
/// its manifest. Tag lists are followed across `Link` pages.
///
/// A registry frees no disk when a manifest is deleted: the blobs (layers and
/// configs) stay until the registry's own garbage collection runs (for
/// distribution: `registry garbage-collect CONFIG` with the registry stopped
/// or read-only; hosted registries run it on their schedule).
///
/// Human output is a table, one image per row: the action (keep, remove; after
/// --apply: removed, skipped, gone), the image, its short id, age, size and
/// the reason. With --json, one document: `engine`, `applied`, `images`
/// (each with `id`, `tags`, `digests`, `created` (Unix seconds), `size`
/// (bytes), `action` (`keep` with `reasons`, or `remove` with `why`), and
/// after --apply `outcome.result`: `removed`, `skipped_in_use`, `gone`,
/// `not_needed`, `not_attempted`), `out_of_scope`, `reclaim_estimate`,
/// and after --apply `reclaimed` and `skipped_in_use`. Sizes count layers
/// shared between images once per image, so the bytes are an estimate.
///
/// `registry` prints one row per manifest: the action (keep, delete; after
/// --apply: deleted, gone, failed, pending), its first tag, its digest, age
/// and reason. With --json: `repository`, `applied`, `manifests` (each with
/// `digest`, `tags`, `created` (Unix seconds or null), `index`, `action`
/// (`keep` with `reasons`: `keep_tag`, `protected`, `newest` with `rank`,
/// `child_of_kept_index`; or `delete` with `why`: `outside_keep`,
/// `child_of_deleted_index`), and after --apply `outcome.result`: `deleted`,
/// `gone`, `spared`, `failed`, `not_attempted`), `delete_count`, and after
/// --apply `deleted`.
#[derive(Debug, Parser)]
#[command(name = "prune-images", version, after_help = DOC.after_help())]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    Local(LocalArgs),
    Registry(RegistryPruneArgs),
}

/// The policy flags both subcommands share.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// Keep the N most recently created images of each repository
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub keep: usize,

    /// Never remove this image: `repo:tag`, `repo@sha256:…`, an id, or a
    /// unique id prefix as the plan table prints it (as the docker CLI
    /// takes them); repeatable
    #[arg(long, value_name = "REF")]
    pub protect: Vec<String>,

    /// Never remove the images a file names: compose file, Kustomize file, or a list (one reference per line; `-` for stdin); repeatable
    #[arg(long, value_name = "FILE")]
    pub protect_file: Vec<PathBuf>,

    /// Remove; without it the plan is printed and nothing changes
    #[arg(long)]
    pub apply: bool,
}

/// Prune the images of the container engine on this host
#[derive(Debug, Args)]
pub struct LocalArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Keep images younger than this (a deploy in progress)
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = deploykit::duration::parse)]
    pub min_age: Duration,

    /// Only repositories matching this pattern (`*` matches anything, `/` included); repeatable
    #[arg(long, value_name = "PATTERN")]
    pub repo: Vec<String>,

    /// Stop removing as soon as the engine's data root has this much free space (20G, 512MiB, 5GB)
    #[arg(long, value_name = "SIZE", value_parser = deploykit::size::parse)]
    pub target_free: Option<u64>,

    /// The engine: unix:///path/docker.sock or tcp://HOST:PORT (default /var/run/docker.sock)
    #[arg(long, value_name = "HOST", env = "DOCKER_HOST")]
    pub host: Option<String>,

    /// Deadline of each engine call, retries included
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = deploykit::duration::parse_budget)]
    pub timeout: Duration,

    /// A --protect or --protect-file rule that matches no image is an
    /// error (exit 2, nothing removed), not only a warning
    #[arg(long)]
    pub strict_protect: bool,
}

/// Prune the manifests of one repository in an OCI registry
#[derive(Debug, Args)]
pub struct RegistryPruneArgs {
    /// The repository, `registry/name` (no tag)
    #[arg(value_name = "REPO")]
    pub repository: String,

    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Keep every tag matching this regular expression (e.g. `^prod-`); repeatable
    #[arg(long, value_name = "REGEX")]
    pub keep_tag: Vec<String>,

    /// How to reach the registry: the flags every registry tool shares
    #[command(flatten)]
    pub registry: deploykit::registry::args::RegistryArgs,
}
