//! The plan: every file to create and every edit, computed before anything
//! is written.
//!
//! The same [`Plan`] drives `--dry-run` (printed), `--json` (serialised) and
//! the write ([`crate::apply`]). Building it performs every check that can
//! refuse the run (name, existing paths, wiring conflicts, files that do not
//! parse), so applying it only has I/O left to fail.

use std::collections::BTreeMap;
use std::path::Path;

use deploykit::exit::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::edit::{self, EditError, Outcome};
use crate::repo::{self, Dependency, Repo};
use crate::templates::{self, Rendered, Source, TemplateSet};

/// The base image of both Dockerfile stages (the seeds' default: glibc, broad native-module support).
pub const NODE_IMAGE: &str = "node:20-bookworm-slim";

/// The digest the overlays carry until the first promotion replaces it:
/// the one placeholder every tool knows (`tag-image` refuses it).
pub use deploykit::imageref::PLACEHOLDER_DIGEST;

/// The workspace glob services live under.
pub const SERVICES_GLOB: &str = "services/*";

/// The metadata file recorded in each generated service.
pub const RECORD_FILE: &str = ".scaffold.json";

/// Everything the templates are rendered from: the user's answers and the
/// repo facts, recorded in `.scaffold.json` so `check` renders the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    /// The service name.
    pub name: String,
    /// The npm scope, with `@`.
    pub scope: String,
    /// `@scope/NAME-service`.
    pub package_name: String,
    /// PORT default.
    pub port: u16,
    /// HEALTH_PORT default.
    pub health_port: u16,
    /// `pnpm@X.Y.Z`, pinned in the Dockerfile.
    pub pnpm: String,
    /// The Dockerfile's base image.
    pub node_image: String,
    /// The OCI source label, if the repo names its repository.
    pub source_url: Option<String>,
    /// The image repository the overlays pin by digest.
    pub image_repo: String,
    /// The dev Compose file wired, repo-relative.
    pub compose_file: Option<String>,
    /// The Compose build context (the repo root seen from the Compose file).
    pub compose_context: Option<String>,
    /// Compose services to wait for.
    pub compose_depends_on: Vec<Dependency>,
    /// Whether a PreSync migration Job is generated (`--migrate`).
    #[serde(default)]
    pub migrate: bool,
    /// The Secret the pods pull images with (`--image-pull-secret`).
    #[serde(default)]
    pub image_pull_secret: Option<String>,
}

/// One variable of the service's environment schema: rendered into
/// `config.ts` (zod), the Deployment's `env` and AGENTS.md from this one list.
#[derive(Debug, Clone, Serialize)]
pub struct EnvVar {
    /// The variable.
    pub name: &'static str,
    /// Its zod schema (`port` is a local helper in config.ts).
    pub zod: String,
    /// Its default, for the docs.
    pub default: Option<String>,
    /// What it is for.
    pub doc: &'static str,
    /// The value the Kubernetes base sets, if any.
    pub k8s: Option<String>,
    /// Comes from the service's Secret.
    pub secret: bool,
}

/// The environment schema of a generated service.
pub fn env_schema(a: &Answers) -> Vec<EnvVar> {
    let var = |name, zod: &str, default: Option<&str>, doc, k8s: Option<&str>| EnvVar {
        name,
        zod: zod.to_owned(),
        default: default.map(str::to_owned),
        doc,
        k8s: k8s.map(str::to_owned),
        secret: false,
    };
    let port = a.port.to_string();
    let health = a.health_port.to_string();
    vec![
        var(
            "NODE_ENV",
            r#"z.enum(["development", "production", "test"]).default("development")"#,
            Some("development"),
            "Runtime mode",
            Some("production"),
        ),
        var(
            "LOG_LEVEL",
            r#"z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info")"#,
            Some("info"),
            "pino log level",
            Some("info"),
        ),
        var(
            "PORT",
            &format!("port.default({port})"),
            Some(&port),
            "Main HTTP port, if the service serves traffic",
            Some(&port),
        ),
        var(
            "HEALTH_PORT",
            &format!("port.default({health})"),
            Some(&health),
            "Port of /livez, /readyz and /version (probes)",
            Some(&health),
        ),
        var(
            "HEALTH_HOST",
            r#"z.string().min(1).default("0.0.0.0")"#,
            Some("0.0.0.0"),
            "Address the health server binds (all interfaces, as containers need)",
            None,
        ),
        var(
            "SHUTDOWN_TIMEOUT_MS",
            "z.coerce.number().int().positive().default(25_000)",
            Some("25000"),
            "Drain budget after SIGTERM; keep below the 30 s grace period",
            Some("25000"),
        ),
        var(
            "EXAMPLE_JOB_MS",
            "z.coerce.number().int().nonnegative().default(1_000)",
            Some("1000"),
            "Duration of the example job (remove with the example)",
            None,
        ),
        EnvVar {
            secret: true,
            ..var(
                "DATABASE_URL",
                "z.string().url().optional()",
                None,
                "Postgres DSN of the app role",
                None,
            )
        },
        var(
            "GIT_SHA",
            r#"z.string().min(1).default("unknown")"#,
            Some("unknown"),
            "Commit the image was built from (/version sha; set by the Dockerfile)",
            None,
        ),
        var(
            "BUILD_TS",
            r#"z.string().min(1).default("unknown")"#,
            Some("unknown"),
            "Build time (/version buildTs; set by the Dockerfile)",
            None,
        ),
        var(
            "IMAGE_DIGEST",
            r#"z.string().min(1).default("unknown")"#,
            Some("unknown"),
            "Digest of the running image (/version imageDigest; set by the overlay)",
            None,
        ),
    ]
}

/// The template context: the answers plus derived values.
pub fn context(a: &Answers) -> templates::Context {
    let mut ctx = serde_json::to_value(a).unwrap_or_default();
    if let Some(obj) = ctx.as_object_mut() {
        obj.insert(
            "env".into(),
            serde_json::to_value(env_schema(a)).unwrap_or_default(),
        );
        obj.insert(
            "template_version".into(),
            json!(templates::TEMPLATE_VERSION),
        );
        obj.insert("placeholder_digest".into(), json!(PLACEHOLDER_DIGEST));
        obj.insert("argocd_project".into(), json!(argocd_project(&a.scope)));
        obj.insert("git_repo_url".into(), json!(git_repo_url(a)));
        obj.insert("environments".into(), json!(ENVIRONMENTS));
    }
    ctx
}

/// The environments the overlays deploy to, each in its own namespace of the
/// same name (the ApplicationSet reads it from the overlay's path).
pub const ENVIRONMENTS: [&str; 2] = ["staging", "production"];

/// The Argo CD project of the repo's services: the npm scope as a DNS label
/// (`@acme` → `acme`), the same for every service of the repo.
pub fn argocd_project(scope: &str) -> String {
    let label: String = scope
        .trim_start_matches('@')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63)
        .collect();
    let label = label.trim_matches('-');
    if label.is_empty() {
        "services".to_owned()
    } else {
        label.to_owned()
    }
}

/// The git repository Argo CD reads the overlays from: the root
/// package.json's repository, else a `git.invalid` placeholder to replace.
pub fn git_repo_url(a: &Answers) -> String {
    match &a.source_url {
        Some(url) => format!("{url}.git"),
        None => format!(
            "https://git.invalid/{}/monorepo.git",
            argocd_project(&a.scope)
        ),
    }
}

/// Which templates produced a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateInfo {
    /// `builtin`, or the template directory as given.
    pub source: String,
    /// The built-in templates' version (for a directory: `custom`).
    pub version: String,
    /// Digest of all template paths and contents.
    pub digest: String,
}

impl TemplateInfo {
    /// Describes `set`.
    pub fn of(set: &TemplateSet) -> TemplateInfo {
        let (source, version) = match &set.source {
            Source::Builtin => ("builtin".to_owned(), templates::TEMPLATE_VERSION.to_owned()),
            Source::Dir(d) => (d.display().to_string(), "custom".to_owned()),
        };
        TemplateInfo {
            source,
            version,
            digest: set.digest(),
        }
    }
}

/// `services/NAME/.scaffold.json`: what was generated, from what.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The tool and version that generated the service.
    pub generator: String,
    /// The templates.
    pub template: TemplateInfo,
    /// The answers the templates were rendered with.
    pub answers: Answers,
    /// Each generated file (repo-relative) and the sha256 of its generated content.
    pub files: BTreeMap<String, String>,
}

/// An edit of an existing file.
#[derive(Debug, Clone, Serialize)]
pub struct FileEdit {
    /// Repo-relative path.
    pub path: String,
    /// What the edit adds.
    pub description: String,
    /// `edit` or `unchanged` (already there).
    pub change: &'static str,
    /// The unified diff (empty when unchanged).
    pub diff: String,
    /// The content before.
    #[serde(skip)]
    pub before: String,
    /// The content after, if it changes.
    #[serde(skip)]
    pub after: Option<String>,
}

/// Something not wired, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// What was not done.
    pub what: String,
    /// Why.
    pub reason: String,
}

/// A new file in the plan, for the JSON output.
#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    /// Repo-relative path.
    pub path: String,
    /// Size in bytes.
    pub bytes: usize,
}

/// Everything one run would do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The answers.
    pub answers: Answers,
    /// The templates used.
    pub template: TemplateInfo,
    /// New files (the service, the manifests, `.scaffold.json`), sorted by path.
    pub files: Vec<Rendered>,
    /// Files shared by every service (the Argo CD lane) that an earlier
    /// service created: reused as they are, never rewritten.
    pub reused: Vec<String>,
    /// Edits of existing files, in a fixed order.
    pub edits: Vec<FileEdit>,
    /// Wiring left out.
    pub skipped: Vec<Skipped>,
}

/// The user's choices.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Service name.
    pub name: &'a str,
    /// `--scope`.
    pub scope: Option<&'a str>,
    /// `--port`.
    pub port: u16,
    /// `--health-port`.
    pub health_port: u16,
    /// `--image-repo`.
    pub image_repo: Option<&'a str>,
    /// `--migrate`.
    pub migrate: bool,
    /// `--image-pull-secret`.
    pub image_pull_secret: Option<&'a str>,
}

/// Whether `name` can name a Secret: a DNS subdomain (RFC 1123), as the
/// API server requires of object names.
fn secret_name_ok(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

/// Resolves the answers from the request and the repo.
pub fn answers(req: &Request<'_>, repo: &Repo) -> Result<(Answers, Vec<String>)> {
    let mut warnings = Vec::new();
    crate::name::check(req.name).map_err(Error::usage)?;
    if req.port == req.health_port {
        return Err(Error::usage(format!(
            "--port and --health-port are both {}; the probes need their own port",
            req.port
        )));
    }
    let scope = match req.scope {
        Some(s) => s.to_owned(),
        None => repo.scope().ok_or_else(|| {
            Error::usage(
                "cannot tell the npm scope from package.json or packages/*; pass --scope @org",
            )
        })?,
    };
    let scope_ok = scope.strip_prefix('@').is_some_and(|s| {
        !s.is_empty()
            && !s.starts_with(['.', '_'])
            && s.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_' | '~')
            })
    });
    if !scope_ok {
        return Err(Error::usage(format!(
            "--scope {scope:?} is not an npm scope (like @acme: lowercase, starting with @)"
        )));
    }
    let image_repo = match req.image_repo {
        Some(r) => r.to_owned(),
        None => repo.default_image_repo().unwrap_or_else(|| {
            warnings.push(
                "the repository is not on GitHub: the overlays use a registry.invalid image; pass --image-repo".into(),
            );
            format!("registry.invalid/{}/{}", &scope[1..], req.name)
        }),
    };
    deploykit::imageref::parse_repository(&image_repo)
        .map_err(|e| Error::usage(format!("--image-repo {image_repo:?} {e}")))?;
    if let Some(secret) = req.image_pull_secret
        && !secret_name_ok(secret)
    {
        return Err(Error::usage(format!(
            "--image-pull-secret {secret:?} is not a Secret name (lowercase letters, digits, '-' and '.', at most 253)"
        )));
    }
    if repo.source_url.is_none() {
        warnings.push(
            "the root package.json names no repository: Argo CD reads the overlays from a git.invalid placeholder in deployments/argocd/; replace it".into(),
        );
    }
    Ok((
        Answers {
            name: req.name.to_owned(),
            package_name: format!("{scope}/{}-service", req.name),
            scope,
            port: req.port,
            health_port: req.health_port,
            pnpm: repo.pnpm.clone(),
            node_image: NODE_IMAGE.to_owned(),
            source_url: repo.source_url.clone(),
            image_repo,
            compose_file: repo.compose.clone(),
            compose_context: repo.compose_context(),
            compose_depends_on: repo.compose_dependencies()?,
            migrate: req.migrate,
            image_pull_secret: req.image_pull_secret.map(str::to_owned),
        },
        warnings,
    ))
}

/// Renders the files of a service and its `.scaffold.json` (pure: no repo access).
pub fn render(set: &TemplateSet, answers: &Answers) -> Result<(Vec<Rendered>, Record)> {
    let ctx = context(answers);
    let mut files = set.render_files(&ctx)?;
    for file in &files {
        validate(file)?;
    }
    let record = Record {
        generator: format!("scaffold-service {}", env!("CARGO_PKG_VERSION")),
        template: TemplateInfo::of(set),
        answers: answers.clone(),
        files: files
            .iter()
            .map(|f| (f.path.clone(), templates::sha256(&f.content)))
            .collect(),
    };
    let record_path = format!("services/{}/{RECORD_FILE}", answers.name);
    if files.iter().any(|f| f.path == record_path) {
        return Err(Error::usage(format!(
            "a template generates {record_path}, which the tool writes itself"
        )));
    }
    let mut text =
        serde_json::to_string_pretty(&record).map_err(|e| Error::usage(format!("{e}")))?;
    text.push('\n');
    files.push(Rendered {
        path: record_path,
        content: text,
        shared: false,
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((files, record))
}

/// A generated JSON or YAML file must parse, whoever wrote the template.
fn validate(file: &Rendered) -> Result<()> {
    let path = file.path.as_str();
    if Path::new(path).extension().is_some_and(|e| e == "json") {
        serde_json::from_str::<serde_json::Value>(&file.content).map_err(|e| {
            Error::usage(format!("the template for {path} renders invalid JSON: {e}"))
        })?;
    }
    if Path::new(path)
        .extension()
        .is_some_and(|e| e == "yaml" || e == "yml")
    {
        for doc in serde_yaml_ng::Deserializer::from_str(&file.content) {
            serde_yaml_ng::Value::deserialize(doc).map_err(|e| {
                Error::usage(format!("the template for {path} renders invalid YAML: {e}"))
            })?;
        }
    }
    Ok(())
}

/// Builds the whole plan, refusing (exit 1) anything that would overwrite.
pub fn build(
    repo: &Repo,
    set: &TemplateSet,
    answers: Answers,
    mut warnings: Vec<String>,
) -> Result<(Plan, Vec<String>)> {
    let name = answers.name.clone();
    let service_dir = format!("services/{name}");
    if repo.root.join(&service_dir).symlink_metadata().is_ok() {
        return Err(Error::no(format!(
            "{service_dir} already exists; refusing to overwrite it (nothing written)"
        )));
    }
    let (rendered, _record) = render(set, &answers)?;
    let mut files = Vec::new();
    let mut reused = Vec::new();
    for file in rendered {
        // A file shared by every service exists once the first service made
        // it; the next one reuses it rather than refusing or rewriting it.
        if file.shared && repo.root.join(&file.path).symlink_metadata().is_ok() {
            let on_disk = std::fs::read_to_string(repo.root.join(&file.path)).ok();
            if on_disk.as_deref() != Some(file.content.as_str()) {
                warnings.push(format!(
                    "{} differs from what the template generates; kept as it is",
                    file.path
                ));
            }
            reused.push(file.path);
            continue;
        }
        files.push(file);
    }
    for file in &files {
        if repo.root.join(&file.path).symlink_metadata().is_ok() {
            return Err(Error::no(format!(
                "{} already exists; refusing to overwrite it (nothing written)",
                file.path
            )));
        }
        if !file.path.starts_with(&format!("{service_dir}/"))
            && !file.path.starts_with("deployments/")
        {
            warnings.push(format!(
                "the template writes {} outside services/ and deployments/",
                file.path
            ));
        }
    }

    let ctx = context(&answers);
    let mut edits = Vec::new();
    let mut skipped = Vec::new();
    let mut add_edit = |path: &str,
                        description: String,
                        result: std::result::Result<Outcome, EditError>,
                        before: String| {
        match result {
            Ok(Outcome::Unchanged) => {
                edits.push(FileEdit {
                    path: path.to_owned(),
                    description,
                    change: "unchanged",
                    diff: String::new(),
                    before,
                    after: None,
                });
                Ok(())
            }
            Ok(Outcome::Changed(after)) => {
                edits.push(FileEdit {
                    path: path.to_owned(),
                    description,
                    change: "edit",
                    diff: deploykit::edit::diff(path, &before, &after),
                    before,
                    after: Some(after),
                });
                Ok(())
            }
            Err(EditError::Conflict(m)) => Err(Error::no(format!("{m}; nothing written"))),
            Err(EditError::Unsupported(m)) => Err(Error::usage(format!("{m}; nothing written"))),
        }
    };

    let ws = repo::read(&repo.root, "pnpm-workspace.yaml")?;
    add_edit(
        "pnpm-workspace.yaml",
        format!("workspace package glob {SERVICES_GLOB}"),
        edit::add_workspace_package(&ws, SERVICES_GLOB),
        ws,
    )?;

    let scripts_json = set.render_wiring("root-scripts.json.j2", &ctx)?;
    let scripts: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&scripts_json)
        .map_err(|e| {
        Error::usage(format!(
            "the root-scripts template does not render a JSON object: {e}"
        ))
    })?;
    let scripts: Vec<(String, String)> = scripts
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            other => Err(Error::usage(format!(
                "root-scripts template: {k} is {other}, not a string"
            ))),
        })
        .collect::<Result<_>>()?;
    let pkg = repo::read(&repo.root, "package.json")?;
    let names: Vec<&str> = scripts.iter().map(|(k, _)| k.as_str()).collect();
    add_edit(
        "package.json",
        format!("root scripts {}", names.join(", ")),
        edit::add_scripts(&pkg, &scripts),
        pkg,
    )?;

    match &repo.compose {
        Some(compose) => {
            let block = set.render_wiring("compose-service.yml.j2", &ctx)?;
            let text = repo::read(&repo.root, compose)?;
            add_edit(
                compose,
                format!("Compose service {name} (healthcheck on /readyz, stop_grace_period 30s)"),
                edit::add_compose_service(&text, compose, &name, &block),
                text,
            )?;
        }
        None => skipped.push(Skipped {
            what: "docker-compose.dev.yml service".into(),
            reason: format!(
                "no Compose file found ({}); pass --compose FILE",
                repo::COMPOSE_CANDIDATES.join(", ")
            ),
        }),
    }

    match &repo.depcruise {
        Some(config) => {
            let rule = set.render_wiring("depcruise-rule.js.j2", &ctx)?;
            let rule_name = format!("no-{name}-service-to-src");
            let text = repo::read(&repo.root, config)?;
            add_edit(
                config,
                format!("dependency-cruiser rule {rule_name}"),
                edit::add_forbidden_rule(&text, config, &rule_name, rule.trim_end()),
                text,
            )?;
        }
        None => skipped.push(Skipped {
            what: "dependency-cruiser rule".into(),
            reason: format!(
                "no {} in the repo root",
                repo::DEPCRUISE_CANDIDATES.join(" or ")
            ),
        }),
    }

    for s in &skipped {
        warnings.push(format!("not wired: {} ({})", s.what, s.reason));
    }
    Ok((
        Plan {
            template: TemplateInfo::of(set),
            answers,
            files,
            reused,
            edits,
            skipped,
        },
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_dns_subdomains() {
        assert!(secret_name_ok("regcred"));
        assert!(secret_name_ok("ghcr.pull-secret"));
        assert!(!secret_name_ok(""));
        assert!(!secret_name_ok("RegCred"));
        assert!(!secret_name_ok("-x"));
        assert!(!secret_name_ok("a..b"));
        assert!(!secret_name_ok(&"a".repeat(254)));
    }

    #[test]
    fn the_argocd_project_is_the_scope_as_a_dns_label() {
        assert_eq!(argocd_project("@acme"), "acme");
        assert_eq!(argocd_project("@my.org_x"), "my-org-x");
        assert_eq!(argocd_project("@_"), "services");
    }
}
