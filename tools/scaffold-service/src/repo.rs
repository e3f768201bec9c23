//! Facts about the monorepo the service is generated into.
//!
//! Everything the templates need that the user did not pass is read from the
//! repo here, once: the pnpm version the Dockerfile pins (root
//! `packageManager`), the npm scope, the source URL for the OCI label, where
//! the dev Compose file and the dependency-cruiser config live, and whether
//! Compose has a `postgres` service to wait for.

use std::path::{Path, PathBuf};

use deploykit::exit::{Error, Exit, Result, ResultExt};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// Where the seeds' layout keeps the dev Compose file, then the usual place.
pub const COMPOSE_CANDIDATES: &[&str] = &[
    "platform/infra/services/runtime/docker-compose.dev.yml",
    "docker-compose.dev.yml",
    "docker-compose.dev.yaml",
    "compose.dev.yml",
    "compose.dev.yaml",
];

/// dependency-cruiser's config file names.
pub const DEPCRUISE_CANDIDATES: &[&str] = &[
    ".dependency-cruiser.cjs",
    ".dependency-cruiser.js",
    ".dependency-cruiser.mjs",
];

/// A Compose service the new one waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// The Compose service name.
    pub service: String,
    /// `service_healthy` when it has a healthcheck, else `service_started`.
    pub condition: String,
}

/// What the repo says.
#[derive(Debug, Clone)]
pub struct Repo {
    /// The repo root.
    pub root: PathBuf,
    /// The root package.json, parsed.
    pub package: Json,
    /// `pnpm@X.Y.Z` from `packageManager` (any `+sha…` suffix dropped).
    pub pnpm: String,
    /// The repository URL, as https, if package.json names one.
    pub source_url: Option<String>,
    /// The dev Compose file, repo-relative, if there is one.
    pub compose: Option<String>,
    /// The dependency-cruiser config, repo-relative, if there is one.
    pub depcruise: Option<String>,
}

/// Reads a repo-relative file as text.
pub fn read(root: &Path, rel: &str) -> Result<String> {
    std::fs::read_to_string(root.join(rel)).or_exit(Exit::Usage, format!("reading {rel}"))
}

impl Repo {
    /// Reads the facts of the monorepo at `root`; `compose` overrides the Compose file search.
    pub fn open(root: &Path, compose: Option<&Path>) -> Result<Repo> {
        let meta =
            std::fs::metadata(root).or_exit(Exit::Usage, format!("repo {}", root.display()))?;
        if !meta.is_dir() {
            return Err(Error::usage(format!(
                "repo {} is not a directory",
                root.display()
            )));
        }
        for required in ["package.json", "pnpm-workspace.yaml"] {
            if !root.join(required).is_file() {
                return Err(Error::usage(format!(
                    "{} has no {required}: run at the root of a pnpm monorepo or pass --repo DIR",
                    root.display()
                )));
            }
        }
        let package: Json = serde_json::from_str(&read(root, "package.json")?)
            .or_exit(Exit::Usage, "package.json does not parse as JSON")?;
        let manager = package
            .get("packageManager")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let pnpm = manager.split('+').next().unwrap_or_default();
        let version = pnpm.strip_prefix("pnpm@").unwrap_or_default();
        if version.is_empty()
            || !version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        {
            return Err(Error::usage(format!(
                "package.json packageManager is {manager:?}; it must pin pnpm (like \"pnpm@9.12.2\"), which the Dockerfile uses"
            )));
        }
        let compose = match compose {
            Some(path) => {
                let rel = relative_to(root, path)?;
                if !root.join(&rel).is_file() {
                    return Err(Error::usage(format!(
                        "--compose {}: no such file",
                        path.display()
                    )));
                }
                Some(rel)
            }
            None => COMPOSE_CANDIDATES
                .iter()
                .find(|c| root.join(c).is_file())
                .map(|c| (*c).to_owned()),
        };
        let depcruise = DEPCRUISE_CANDIDATES
            .iter()
            .find(|c| root.join(c).is_file())
            .map(|c| (*c).to_owned());
        Ok(Repo {
            root: root.to_path_buf(),
            source_url: repository_url(&package),
            pnpm: pnpm.to_owned(),
            package,
            compose,
            depcruise,
        })
    }

    /// The npm scope: the root package's, else the first scoped package under packages/.
    pub fn scope(&self) -> Option<String> {
        let scope_of = |name: &str| {
            name.strip_prefix('@')
                .and_then(|n| n.split_once('/'))
                .map(|(s, _)| format!("@{s}"))
        };
        if let Some(s) = self
            .package
            .get("name")
            .and_then(Json::as_str)
            .and_then(scope_of)
        {
            return Some(s);
        }
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.root.join("packages"))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        dirs.sort();
        dirs.iter().find_map(|d| {
            let text = std::fs::read_to_string(d.join("package.json")).ok()?;
            let pkg: Json = serde_json::from_str(&text).ok()?;
            pkg.get("name").and_then(Json::as_str).and_then(scope_of)
        })
    }

    /// `ghcr.io/<owner>/<repo>` when the repository is on GitHub.
    pub fn default_image_repo(&self) -> Option<String> {
        let url = self.source_url.as_deref()?;
        let path = url.strip_prefix("https://github.com/")?;
        let mut parts = path.split('/');
        let (owner, repo) = (parts.next()?, parts.next()?);
        (!owner.is_empty() && !repo.is_empty())
            .then(|| format!("ghcr.io/{}/{}", owner.to_lowercase(), repo.to_lowercase()))
    }

    /// The path from the Compose file's directory back to the repo root (`../../../..` or `.`).
    pub fn compose_context(&self) -> Option<String> {
        let compose = self.compose.as_deref()?;
        let depth = compose.matches('/').count();
        Some(if depth == 0 {
            ".".to_owned()
        } else {
            vec![".."; depth].join("/")
        })
    }

    /// The Compose services the new one should wait for: `postgres`, if defined.
    pub fn compose_dependencies(&self) -> Result<Vec<Dependency>> {
        let Some(compose) = &self.compose else {
            return Ok(Vec::new());
        };
        let text = read(&self.root, compose)?;
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text)
            .map_err(|e| Error::usage(format!("{compose} does not parse as YAML: {e}")))?;
        let mut deps = Vec::new();
        if let Some(pg) = doc.get("services").and_then(|s| s.get("postgres")) {
            let condition = if pg.get("healthcheck").is_some() {
                "service_healthy"
            } else {
                "service_started"
            };
            deps.push(Dependency {
                service: "postgres".into(),
                condition: condition.into(),
            });
        }
        Ok(deps)
    }
}

/// `path` relative to `root`, with `/` separators (it must lie inside the repo).
fn relative_to(root: &Path, path: &Path) -> Result<String> {
    let abs_root =
        std::fs::canonicalize(root).or_exit(Exit::Usage, format!("repo {}", root.display()))?;
    let abs = std::fs::canonicalize(path)
        .or_exit(Exit::Usage, format!("--compose {}", path.display()))?;
    let rel = abs
        .strip_prefix(&abs_root)
        .map_err(|_| Error::usage(format!("--compose {} is outside the repo", path.display())))?;
    rel.to_str()
        .map(|s| s.replace(std::path::MAIN_SEPARATOR, "/"))
        .ok_or_else(|| Error::usage(format!("--compose {} is not UTF-8", path.display())))
}

/// The package.json `repository` as an https URL: a string, `{ "url": … }`,
/// or the `github:owner/repo` / `owner/repo` shorthands.
fn repository_url(package: &Json) -> Option<String> {
    let raw = match package.get("repository")? {
        Json::String(s) => s.clone(),
        Json::Object(o) => o.get("url")?.as_str()?.to_owned(),
        _ => return None,
    };
    let mut url = raw.trim().to_owned();
    if let Some(rest) = url.strip_prefix("git+") {
        url = rest.to_string();
    }
    if let Some(rest) = url.strip_prefix("git@github.com:") {
        url = format!("https://github.com/{rest}");
    }
    if let Some(rest) = url.strip_prefix("github:") {
        url = format!("https://github.com/{rest}");
    } else if !url.contains(':') && url.split('/').count() == 2 {
        url = format!("https://github.com/{url}");
    }
    if let Some(rest) = url.strip_suffix(".git") {
        url = rest.to_string();
    }
    let ok = url.starts_with("https://")
        && url
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\');
    ok.then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_forms() {
        for (given, want) in [
            (
                serde_json::json!("git+https://github.com/Acme/Mono.git"),
                Some("https://github.com/Acme/Mono"),
            ),
            (
                serde_json::json!({"type": "git", "url": "git@github.com:acme/mono.git"}),
                Some("https://github.com/acme/mono"),
            ),
            (
                serde_json::json!("github:acme/mono"),
                Some("https://github.com/acme/mono"),
            ),
            (
                serde_json::json!("acme/mono"),
                Some("https://github.com/acme/mono"),
            ),
            (
                serde_json::json!("https://gitlab.example/acme/mono"),
                Some("https://gitlab.example/acme/mono"),
            ),
            (serde_json::json!("ftp://x\"y"), None),
        ] {
            let pkg = serde_json::json!({ "repository": given });
            assert_eq!(repository_url(&pkg).as_deref(), want, "{given}");
        }
    }
}
