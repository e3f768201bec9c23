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
            what: "App, migrator and worker share a repository: each tag finds its own entry",
            command: "tag-image pin -f deploy/runtime.env \"$APP_REF\" \"$MIGRATE_REF\" \"$SCHEDULER_WORKER_REF\"",
        },
        Example {
            what: "Name the entry (images[].name, compose service or env variable), as kustomize edit set image does",
            command: "tag-image pin -f deployments/overlays/production/billing-worker/kustomization.yaml billing-worker=ghcr.io/acme/api@sha256:…",
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
            "check: a reference is not fit to deploy; apply: a tag points to another digest (refused without --force); pin --check: a file would change, or an entry is not pinned, on the placeholder digest or unreadable",
        ),
        (
            Exit::Usage,
            "bad flag or tag part, unparseable reference, a pin without digest, unreadable file, a pin that is ambiguous, names nothing or would have to rewrite an entry it cannot (flow style, alias): nothing is written",
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
    security: &[
        deploykit::registry::SECURITY[0],
        deploykit::registry::SECURITY[1],
        "name, ref, check and pin send nothing anywhere. pin edits only the files given: a symbolic link is written through to its target, each file is locked from its read to its atomic replacement, and its permissions are kept.",
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
/// latest, mutable-tag, no-digest, placeholder: the all-zeros digest
/// scaffold-service writes for an image not built yet is never fit, with
/// or without --require-digest). --json prints an array of {input,
/// valid, canonical, familiar, registry, repository, tag, digest,
/// findings: [{rule, message}]}.
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
/// Rewrites image entries: Kustomize `images:` entries (newTag to the
/// REF's tag or removed, digest, and newName when the repository changes),
/// compose `image:` values and env file `*_IMAGE=` values (the name as
/// written, the REF's tag, its digest). NAME=REF rewrites the entries
/// called NAME: a Kustomize images[].name, a compose service, an env
/// variable. A bare REF rewrites the entries on its repository whose tag
/// plays the same part under the tag policy (the app {env}-{sha}, the
/// migrator {env}-{sha}-migrate, a service {env}-{sha}-{service} or its
/// {service}-{fingerprint}), else the one untagged or placeholder entry on
/// it (several are told apart by their names: NAME-migrate is the
/// migrator's, and the migrator's build goes nowhere else); a REF whose tag
/// says nothing takes the one entry on its repository.
/// Anything ambiguous is refused (exit 2) with the candidates and the
/// NAME=REF that settles it. The IMAGE_DIGEST a scaffolded overlay (or a
/// compose service's environment) sets is pinned with its image. Only
/// those lines change; comments, order, quotes and line endings are kept,
/// and every rewrite is parsed again and must equal the original but for
/// the pinned values, or nothing is written. Entries in flow style or from
/// an alias are read but not rewritten: write them in block style. Prints
/// a unified diff of the change. Every REF needs a digest (not the
/// placeholder) and must address an entry. --check writes nothing and
/// exits 1 when a file would change; --check without REF lists the
/// entries not pinned by digest, on the placeholder digest, unreadable, or
/// whose IMAGE_DIGEST is not their digest, and exits 1 if there is one. --json prints {check, files: [{file, kind,
/// changed, changes: [{line, key, name, old, new}]}]}, or with --check
/// alone {check, unpinned: [{file, line, key, name, image, reason:
/// no-digest|placeholder|unreadable|stale-digest}]}.
/// A FILE that is a symbolic link is written through: the link stays and
/// the file it points to changes (as with `sed -i --follow-symlinks`). Each
/// FILE is locked from its read to its replacement, so concurrent pins of
/// one file all land.
#[derive(Debug, Args)]
pub struct PinArgs {
    /// A kustomization.yaml, compose file or env file to edit (repeatable)
    #[arg(long = "file", short = 'f', value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Digest-pinned references, `ghcr.io/acme/api:prod-abc1234@sha256:…`, or NAME=REF for the entries called NAME
    #[arg(value_name = "[NAME=]REF")]
    pub references: Vec<String>,

    /// Write nothing; exit 1 if a file would change (or, without REF, if an entry is not pinned, on the placeholder, unreadable or stale)
    #[arg(long)]
    pub check: bool,
}
