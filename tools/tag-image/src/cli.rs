//! The command line of `tag-image`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use deploykit::docs::{Example, ToolDoc};
use deploykit::exit::Exit;
use deploykit::output::OutputArgs;
use deploykit::registry::args::RegistryArgs;

/// Examples and exit statuses, shared by `--help` and the man page.
pub const DOC: ToolDoc = ToolDoc {
    examples: &[
        Example {
            what: "The tag of a service image built from this commit",
            command: "tag-image name --env prod --sha \"$GIT_SHA\" --service scheduler-worker",
        },
        Example {
            what: "The full reference of the migrator image",
            command: "tag-image ref ghcr.io/acme/api --env prod --sha \"$GIT_SHA\" --migrate",
        },
        Example {
            what: "Refuse to deploy anything not pinned by digest",
            command: "tag-image check --require-digest \"$APP_IMAGE\" \"$SCHEDULER_WORKER_IMAGE\"",
        },
        Example {
            what: "Promote a staging build to prod without pulling (same digest, new tag)",
            command: "tag-image apply ghcr.io/acme/api:staging-abc1234 prod-abc1234",
        },
        Example {
            what: "Promote into another repository (blobs are cross-mounted)",
            command: "tag-image apply 127.0.0.1:5000/ci/api@sha256:… prod-abc1234 --to 127.0.0.1:5000/release/api",
        },
        Example {
            what: "Pin the prod overlay to the promoted digest (prints the diff)",
            command: "tag-image pin --file deploy/overlays/prod/kustomization.yaml ghcr.io/acme/api:prod-abc1234@sha256:…",
        },
        Example {
            what: "CI guard: fail when an overlay has an image entry not pinned by digest",
            command: "tag-image pin --check --file deploy/overlays/prod/kustomization.yaml --file deploy/runtime.env",
        },
    ],
    exit_statuses: &[
        (
            Exit::Success,
            "the tag was printed, every reference is fit, the tags are in place, the files are pinned",
        ),
        (
            Exit::No,
            "check: a reference is not fit to deploy; apply: a tag points to another digest (refused without --force); pin --check: a file would change or an entry is not pinned",
        ),
        (
            Exit::Usage,
            "bad flag or tag part, unparseable reference, a pin without digest, unreadable file",
        ),
        (
            Exit::Remote,
            "apply: the registry was unreachable, failed or misbehaved within --timeout",
        ),
        (
            Exit::Denied,
            "apply: the registry refused the credentials, or they lack push access",
        ),
    ],
    json: "name: {\"tag\"}. ref: {\"reference\"}. check: {\"fit\": bool, \"references\": [{\"input\", \"parses\", \"fit\", \"canonical\", \"familiar\", \"registry\", \"repository\", \"path\", \"tag\", \"digest\", \"findings\": [{\"rule\", \"message\"}]}]}: \"parses\" says the text is an image reference, \"fit\" that it is also fit to deploy. apply: {\"source\", \"reference\", \"digest\", \"media_type\", \"dry_run\", \"tags\": [{\"reference\", \"action\", \"previous\", ...}], \"transfer\"}. pin: {\"check\", \"files\": [...]}; the subcommands --help give every field.",
};

/// Immutable image tags: computed, checked, pinned in manifests and applied in the registry.
///
/// Tags follow the deploy strategy: `{env}-{sha}` for the app,
/// `{env}-{sha}-migrate` for the migrator, `{env}-{sha}-{service}` for a
/// service and `{service}-{fingerprint}` for content tags; never `latest`.
/// Promotion is a manifest change, not a rebuild: `apply` adds a tag to an
/// image already in the registry by copying its manifest (same digest), and
/// `pin` writes the digest into the overlay that deploys it.
#[derive(Debug, Parser)]
#[command(name = "tag-image", version, after_help = DOC.after_help())]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    Name(NameArgs),
    Ref(RefArgs),
    Check(CheckArgs),
    Apply(ApplyArgs),
    Pin(PinArgs),
}

/// The parts of a tag.
#[derive(Debug, Args, Clone)]
pub struct TagParts {
    /// The environment (lowercase kebab-case: prod, staging, eu-west)
    #[arg(long, value_name = "ENV", conflicts_with = "fingerprint")]
    pub env: Option<String>,

    /// The commit (hex, at least 7 digits; e.g. $GIT_SHA)
    #[arg(long, value_name = "SHA", conflicts_with = "fingerprint")]
    pub sha: Option<String>,

    /// The service, for `{env}-{sha}-{service}` (or `{service}-{fingerprint}`)
    #[arg(long, value_name = "NAME", conflicts_with = "migrate")]
    pub service: Option<String>,

    /// The migrator's tag, `{env}-{sha}-migrate`
    #[arg(long)]
    pub migrate: bool,

    /// A content fingerprint (hex, e.g. from image-digest fingerprint --short 12) for `{service}-{fingerprint}`
    #[arg(long, value_name = "HEX")]
    pub fingerprint: Option<String>,

    /// How many digits of the sha go in the tag
    #[arg(long, value_name = "N", default_value_t = 7, value_parser = clap::value_parser!(u8).range(7..=64))]
    pub sha_length: u8,
}

/// Print the tag for an environment and commit (or a content fingerprint)
///
/// `{env}-{sha}`, `{env}-{sha}-migrate` (--migrate), `{env}-{sha}-{service}`
/// (--service), or `{service}-{fingerprint}` (--fingerprint). env and
/// service are lowercase kebab-case, the sha is hex of at least 7
/// digits (shortened to --sha-length), the tag at most 128 characters; a
/// mutable-looking tag (latest, main, an environment alone) is refused.
#[derive(Debug, Args)]
pub struct NameArgs {
    #[command(flatten)]
    pub parts: TagParts,
}

/// Print the full reference REPO:TAG for the same flags as `name`
#[derive(Debug, Args)]
pub struct RefArgs {
    /// The repository: `ghcr.io/acme/api`, `127.0.0.1:5000/app`
    #[arg(value_name = "REPO")]
    pub repository: String,

    #[command(flatten)]
    pub parts: TagParts,
}

/// Say whether image references are fit to deploy
///
/// A reference is fit when it parses, is tagged, its tag is not latest or
/// another moving name (main, stable, an environment alone), and with
/// --require-digest it is pinned by digest. Prints `REF: ok` or
/// `REF: error[rule]: message` per reference (rules: invalid, untagged,
/// latest, mutable-tag, no-digest). --json prints {"fit": bool,
/// "references": [{input, parses, fit, canonical, familiar, registry,
/// repository, path, tag, digest, findings: [{rule, message}]}], "exit"}:
/// `parses` says the text is an image reference, `fit` that it is also fit
/// to deploy; `repository` is the full name (`docker.io/library/app`),
/// `path` the part after the registry.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Image references to judge
    #[arg(value_name = "REF", required = true)]
    pub references: Vec<String>,

    /// Also require every reference to be pinned by digest (@sha256:…)
    #[arg(long)]
    pub require_digest: bool,
}

/// Add tags to an image already in a registry, without pulling it
///
/// Fetches SOURCE's manifest once (a tag is resolved, then used by
/// digest) and puts its exact bytes under each TAG, so the digest does not
/// change and an index keeps every platform. With --to, the blobs are
/// cross-mounted into the other repository of the same registry (copied
/// only if the registry refuses the mount) or streamed to another
/// registry, and the child manifests of an index are put by digest,
/// before any tag. A tag already on another digest is refused (exit 1,
/// naming both) unless --force; one already on the digest is left alone.
/// Every tag written is resolved again and must give the source digest.
/// Prints `REPO:TAG@DIGEST` per tag; --json prints {source, reference,
/// digest, media_type, dry_run, tags: [{tag, reference, digest, action:
/// created|unchanged|refused|moved, previous?}], transfer: {blobs_present,
/// blobs_mounted, blobs_copied, bytes_copied, manifests_copied}}.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The image already in the registry: `repo:tag` or `repo@sha256:…`
    #[arg(value_name = "SOURCE")]
    pub source: String,

    /// The tags to add (e.g. from tag-image name)
    #[arg(value_name = "TAG", required = true)]
    pub tags: Vec<String>,

    /// Tag into this repository (same or another registry) instead of SOURCE's
    #[arg(long, value_name = "REPO")]
    pub to: Option<String>,

    /// Move a tag that already points to another digest
    #[arg(long)]
    pub force: bool,

    /// Resolve and print the plan; write nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Write digest-pinned references into kustomization, compose and env files
///
/// Rewrites the image entries that name the repository of a REF:
/// Kustomize `images:` entries (by newName, else name: sets digest, and
/// newTag to the REF's tag or removes it), compose `image:` values and env
/// file `*_IMAGE=` values (the name as written, the REF's tag, its
/// digest). Only those lines change; comments, order, quotes and line
/// endings are kept. Prints a unified diff of the change. Every REF needs
/// a digest and must match an entry. --check writes nothing and exits 1
/// when a file would change; --check without REF lists the entries not
/// pinned by digest. --json prints {check, files: [{file, kind, changed,
/// changes: [{line, key, old, new}]}]}.
#[derive(Debug, Args)]
pub struct PinArgs {
    /// A kustomization.yaml, compose file or env file to edit (repeatable)
    #[arg(long = "file", short = 'f', value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Digest-pinned references: `ghcr.io/acme/api:prod-abc1234@sha256:…`
    #[arg(value_name = "REF")]
    pub references: Vec<String>,

    /// Write nothing; exit 1 if a file would change (or, without REF, if an entry is not pinned)
    #[arg(long)]
    pub check: bool,
}
