//! The command line of `image-digest`.

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
            what: "Pin a tag to its digest before deploying (prints registry/repo@sha256:…)",
            command: "image-digest resolve ghcr.io/acme/api:prod-abc1234-api",
        },
        Example {
            what: "The digest alone, of the arm64 image of a multi-platform tag",
            command: "image-digest resolve --digest-only --platform linux/arm64 127.0.0.1:5000/app:1.4",
        },
        Example {
            what: "Log in for one call without putting the password in argv",
            command: "printf %s \"$PW\" | image-digest resolve --username ci --password-stdin reg.example/app:1",
        },
        Example {
            what: "The digest docker push just printed",
            command: "docker push 127.0.0.1:5000/app:1 | image-digest from-log -",
        },
        Example {
            what: "From buildx's metadata file or docker inspect's JSON",
            command: "image-digest from-log build-metadata.json",
        },
        Example {
            what: "A tag-friendly content fingerprint of a build context (honours its .dockerignore)",
            command: "image-digest fingerprint --short 12 services/api",
        },
        Example {
            what: "Fingerprint a service with the packages it depends on and the lockfile; show each file",
            command: "image-digest fingerprint --list services/api packages/db Cargo.lock",
        },
    ],
    exit_statuses: &[
        (
            Exit::Success,
            "every reference resolved, a digest was found, the fingerprint was computed",
        ),
        (
            Exit::No,
            "resolve: a tag or manifest does not exist, or has no image for --platform; from-log: no digest in the input",
        ),
        (
            Exit::Usage,
            "bad flag, unparseable image reference, unreadable file or .dockerignore pattern",
        ),
        (
            Exit::Remote,
            "resolve: the registry was unreachable or misbehaved within --timeout",
        ),
        (
            Exit::Denied,
            "resolve: the registry or its token service refused the credentials",
        ),
    ],
    security: &[
        deploykit::registry::SECURITY[0],
        deploykit::registry::SECURITY[1],
        "From a push log or a build context nothing is sent anywhere: the log and the files are read locally.",
    ],
    json: "resolve: {\"results\": [{\"input\", \"reference\", \"repository\", \"tag\", \"digest\", \"media_type\", ...}], \"errors\": [{\"input\", \"exit\", \"error\"}]}. from-log: {\"digests\": [{\"reference\", \"repository\", \"tag\", \"digest\", \"size\", \"source\"}]}. fingerprint: {\"fingerprint\", ...}; the subcommands --help give every field.",
};

/// From a tag, a push log or a build context to a content digest.
///
/// Deploys pin images by digest (`registry/repo@sha256:…`), never by a tag
/// that can move. `resolve` asks the registry what a tag points to without
/// pulling, `from-log` finds the digest in what CI already printed, and
/// `fingerprint` hashes a build context for content-addressed tags.
#[derive(Debug, Parser)]
#[command(name = "image-digest", version, after_help = DOC.after_help())]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    Resolve(ResolveArgs),
    FromLog(FromLogArgs),
    Fingerprint(FingerprintArgs),
}

/// Resolve references in their registry to digests, without pulling
///
/// Prints `registry/repo@sha256:…` per reference (canonical form:
/// `ubuntu` is `docker.io/library/ubuntu`). For an index, the index
/// digest, or with --platform the digest of that platform's manifest.
/// --json prints {"results": [{input, reference, repository, tag,
/// digest, media_type, size, platform?: {platform, digest, media_type,
/// size}}]}.
///
/// Credentials: --username with --password-stdin, else REGISTRY_TOKEN
/// (sent as a bearer token, or as the password of the token exchange),
/// else GITHUB_TOKEN for ghcr.io, else the Docker configuration
/// ($DOCKER_CONFIG/config.json or ~/.docker/config.json: auths,
/// credsStore, credHelpers).
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Image references: `app:1`, `ghcr.io/acme/api:prod`, `127.0.0.1:5000/app@sha256:…`
    #[arg(value_name = "REF", required = true)]
    pub references: Vec<String>,

    /// Print the bare digest instead of `repo@digest`
    #[arg(long)]
    pub digest_only: bool,

    /// For an index, resolve the manifest of this platform (`os/arch[/variant]`)
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Extract image digests from push output, buildx metadata or docker inspect JSON
///
/// Understands `docker push`/`podman push` lines (`TAG: digest:
/// sha256:… size: N` after `The push refers to repository [REPO]`),
/// buildx/BuildKit progress (`pushing manifest for REF@sha256:…`), crane
/// output and `--digestfile` contents (`REF@sha256:…` or a bare digest),
/// `docker buildx build --metadata-file` and bake JSON
/// (`containerimage.digest`, `image.name`) and `docker inspect` JSON
/// (`RepoDigests`). Prints one line per pushed reference:
/// `repo@sha256:…` when the repository is known, else the digest.
/// --json prints {"digests": [{reference, repository, tag, digest, size,
/// source}]}.
#[derive(Debug, Args)]
pub struct FromLogArgs {
    /// The log or JSON file; `-` (the default) reads stdin
    #[arg(value_name = "FILE", default_value = "-")]
    pub file: PathBuf,

    /// Print the bare digests instead of `repo@digest`
    #[arg(long)]
    pub digest_only: bool,
}

/// Content fingerprint of a build context or of several paths together
///
/// The same bytes, names, exec bits and symlink targets give the same
/// fingerprint on any machine, whatever the mtimes, owners or walk
/// order. Names are taken relative to --root; the .dockerignore at the
/// context root (the single PATH given, else --root) is honoured with
/// Docker's semantics. Prints `sha256:…`; --json prints {fingerprint,
/// short?, files, bytes, root, ignore_file?, entries? (with --list)}.
#[derive(Debug, Args)]
pub struct FingerprintArgs {
    /// Files or directories to include
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,

    /// Names are relative to this directory [default: the current directory]
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Print only the first N hex digits (for tags such as `api-3f2a9c01be47`)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(4..=64))]
    pub short: Option<u8>,

    /// Print each included file with its hash before the fingerprint (on stdout)
    #[arg(long)]
    pub list: bool,

    /// Ignore no file: do not read .dockerignore
    #[arg(long)]
    pub no_ignore: bool,

    /// Hash with this many threads [default: all cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}
