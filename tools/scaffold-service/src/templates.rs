//! The templates: built into the binary, or a user's directory.
//!
//! A template set mirrors the monorepo: each file's path, relative to the set's
//! root, is itself a template (`services/{{name}}/src/main.ts.j2`), rendered
//! and stripped of its `.j2` suffix to give the generated file's path. Files
//! under `_wiring/` are not generated files but the snippets inserted into
//! the repo's existing files (the Compose service, the dependency-cruiser
//! rule, the root scripts); a user's directory that lacks one falls back to
//! the built-in snippet. Rendering uses minijinja with undefined variables as
//! errors, so a typo in a template fails loudly instead of printing nothing.
//!
//! Two path rules serve the GitOps lane: a template whose path names no
//! variable renders a file shared by every service of the repo (the Argo CD
//! project and ApplicationSet), created by the first service and reused by
//! the next; and a template whose content renders empty generates no file,
//! so a file can depend on a flag (`--migrate`).

use std::path::{Component, Path, PathBuf};

use deploykit::exit::{Error, Exit, Result, ResultExt};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The version of the built-in templates, recorded in `.scaffold.json`.
/// Bump it with any change to `templates/` that changes generated output.
pub const TEMPLATE_VERSION: &str = "2";

/// The directory of wiring snippets inside a template set.
pub const WIRING_DIR: &str = "_wiring";

/// The built-in templates, embedded at compile time.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "_wiring/compose-service.yml.j2",
        include_str!("../templates/_wiring/compose-service.yml.j2"),
    ),
    (
        "_wiring/depcruise-rule.js.j2",
        include_str!("../templates/_wiring/depcruise-rule.js.j2"),
    ),
    (
        "_wiring/root-scripts.json.j2",
        include_str!("../templates/_wiring/root-scripts.json.j2"),
    ),
    (
        "deployments/argocd/applicationset.yaml.j2",
        include_str!("../templates/deployments/argocd/applicationset.yaml.j2"),
    ),
    (
        "deployments/argocd/appproject.yaml.j2",
        include_str!("../templates/deployments/argocd/appproject.yaml.j2"),
    ),
    (
        "deployments/argocd/kustomization.yaml.j2",
        include_str!("../templates/deployments/argocd/kustomization.yaml.j2"),
    ),
    (
        "deployments/base/{{name}}/deployment.yaml.j2",
        include_str!("../templates/deployments/base/{{name}}/deployment.yaml.j2"),
    ),
    (
        "deployments/base/{{name}}/kustomization.yaml.j2",
        include_str!("../templates/deployments/base/{{name}}/kustomization.yaml.j2"),
    ),
    (
        "deployments/base/{{name}}/migrate-job.yaml.j2",
        include_str!("../templates/deployments/base/{{name}}/migrate-job.yaml.j2"),
    ),
    (
        "deployments/base/{{name}}/service.yaml.j2",
        include_str!("../templates/deployments/base/{{name}}/service.yaml.j2"),
    ),
    (
        "deployments/overlays/production/{{name}}/kustomization.yaml.j2",
        include_str!("../templates/deployments/overlays/production/{{name}}/kustomization.yaml.j2"),
    ),
    (
        "deployments/overlays/production/{{name}}/pdb.yaml.j2",
        include_str!("../templates/deployments/overlays/production/{{name}}/pdb.yaml.j2"),
    ),
    (
        "deployments/overlays/staging/{{name}}/kustomization.yaml.j2",
        include_str!("../templates/deployments/overlays/staging/{{name}}/kustomization.yaml.j2"),
    ),
    (
        "services/{{name}}/AGENTS.md.j2",
        include_str!("../templates/services/{{name}}/AGENTS.md.j2"),
    ),
    (
        "services/{{name}}/Dockerfile.j2",
        include_str!("../templates/services/{{name}}/Dockerfile.j2"),
    ),
    (
        "services/{{name}}/package.json.j2",
        include_str!("../templates/services/{{name}}/package.json.j2"),
    ),
    (
        "services/{{name}}/src/config.ts.j2",
        include_str!("../templates/services/{{name}}/src/config.ts.j2"),
    ),
    (
        "services/{{name}}/src/health.ts.j2",
        include_str!("../templates/services/{{name}}/src/health.ts.j2"),
    ),
    (
        "services/{{name}}/src/logger.ts.j2",
        include_str!("../templates/services/{{name}}/src/logger.ts.j2"),
    ),
    (
        "services/{{name}}/src/main.ts.j2",
        include_str!("../templates/services/{{name}}/src/main.ts.j2"),
    ),
    (
        "services/{{name}}/src/worker.ts.j2",
        include_str!("../templates/services/{{name}}/src/worker.ts.j2"),
    ),
    (
        "services/{{name}}/tests/service.test.ts.j2",
        include_str!("../templates/services/{{name}}/tests/service.test.ts.j2"),
    ),
    (
        "services/{{name}}/tsconfig.json.j2",
        include_str!("../templates/services/{{name}}/tsconfig.json.j2"),
    ),
    (
        "services/{{name}}/tsup.config.ts.j2",
        include_str!("../templates/services/{{name}}/tsup.config.ts.j2"),
    ),
    (
        "services/{{name}}/vitest.config.ts.j2",
        include_str!("../templates/services/{{name}}/vitest.config.ts.j2"),
    ),
];

/// Where a template set came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Embedded in the binary.
    Builtin,
    /// A user's directory (`--template DIR`).
    Dir(PathBuf),
}

/// A set of templates, by path relative to the set's root.
#[derive(Debug, Clone)]
pub struct TemplateSet {
    /// Where the set came from.
    pub source: Source,
    files: Vec<(String, String)>,
}

/// The variables every template sees.
pub type Context = serde_json::Value;

/// One generated file: its path relative to the repo root and its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// Repo-relative path with `/` separators.
    pub path: String,
    /// The file's content.
    #[serde(skip)]
    pub content: String,
    /// Shared by every service: its template's path names no variable
    /// (`deployments/argocd/applicationset.yaml`), so each service renders
    /// it to the same place and the first one creates it.
    #[serde(skip)]
    pub shared: bool,
}

impl TemplateSet {
    /// The built-in set.
    pub fn builtin() -> TemplateSet {
        TemplateSet {
            source: Source::Builtin,
            files: BUILTIN
                .iter()
                .map(|(p, s)| ((*p).to_owned(), (*s).to_owned()))
                .collect(),
        }
    }

    /// A set read from `dir`: every regular file below it (`.git` skipped).
    pub fn from_dir(dir: &Path) -> Result<TemplateSet> {
        let meta = std::fs::metadata(dir)
            .or_exit(Exit::Usage, format!("template directory {}", dir.display()))?;
        if !meta.is_dir() {
            return Err(Error::usage(format!(
                "template directory {} is not a directory",
                dir.display()
            )));
        }
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
            let entry = entry.map_err(|e| {
                Error::usage(format!("reading template directory {}: {e}", dir.display()))
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(dir).map_err(|_| {
                Error::usage(format!(
                    "template {} is outside {}",
                    entry.path().display(),
                    dir.display()
                ))
            })?;
            if rel.components().any(|c| c.as_os_str() == ".git") {
                continue;
            }
            let rel = rel
                .to_str()
                .ok_or_else(|| {
                    Error::usage(format!("template path {} is not UTF-8", rel.display()))
                })?
                .replace(std::path::MAIN_SEPARATOR, "/");
            let source = std::fs::read_to_string(entry.path()).or_exit(
                Exit::Usage,
                format!("reading template {}", entry.path().display()),
            )?;
            files.push((rel, source));
        }
        let set = TemplateSet {
            source: Source::Dir(dir.to_path_buf()),
            files,
        };
        if set.file_templates().next().is_none() {
            return Err(Error::usage(format!(
                "template directory {} holds no templates",
                dir.display()
            )));
        }
        Ok(set)
    }

    /// The templates of generated files (everything but `_wiring/`).
    pub fn file_templates(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files
            .iter()
            .filter(|(p, _)| !p.starts_with(&format!("{WIRING_DIR}/")))
            .map(|(p, s)| (p.as_str(), s.as_str()))
    }

    /// A wiring snippet's template, falling back to the built-in one.
    pub fn wiring(&self, file: &str) -> Option<(String, String)> {
        let path = format!("{WIRING_DIR}/{file}");
        self.files
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(p, s)| (p.clone(), s.clone()))
            .or_else(|| {
                BUILTIN
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map(|(p, s)| ((*p).to_owned(), (*s).to_owned()))
            })
    }

    /// A digest of every template's path and content, so `check` can tell
    /// whether the templates changed since a service was generated.
    pub fn digest(&self) -> String {
        let mut files: Vec<_> = self.files.iter().collect();
        files.sort();
        let mut hash = Sha256::new();
        for (path, source) in files {
            hash.update(path.as_bytes());
            hash.update([0]);
            hash.update(source.as_bytes());
            hash.update([0]);
        }
        format!("sha256:{}", hex(&hash.finalize()))
    }

    /// Every template's path and source (for `scaffold-service templates`).
    pub fn all(&self) -> &[(String, String)] {
        &self.files
    }

    /// Renders every file template with `ctx`: paths and contents.
    pub fn render_files(&self, ctx: &Context) -> Result<Vec<Rendered>> {
        let env = environment();
        let mut out: Vec<Rendered> = Vec::new();
        for (tpl_path, source) in self.file_templates() {
            let path = render(&env, &format!("path of {tpl_path}"), tpl_path, ctx)?;
            let path = path.strip_suffix(".j2").unwrap_or(&path).to_owned();
            check_relative(&path, tpl_path)?;
            let content = render(&env, tpl_path, source, ctx)?;
            // A template that renders to nothing generates no file: how a
            // file exists only with a flag (`--migrate`'s Job).
            if content.trim().is_empty() {
                continue;
            }
            if out.iter().any(|r| r.path == path) {
                return Err(Error::usage(format!("two templates generate {path}")));
            }
            let shared = !tpl_path.contains("{{");
            out.push(Rendered {
                path,
                content,
                shared,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Renders one wiring snippet.
    pub fn render_wiring(&self, file: &str, ctx: &Context) -> Result<String> {
        let (name, source) = self
            .wiring(file)
            .ok_or_else(|| Error::usage(format!("no template {WIRING_DIR}/{file}")))?;
        render(&environment(), &name, &source, ctx)
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_keep_trailing_newline(true);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

fn render(env: &Environment<'_>, name: &str, source: &str, ctx: &Context) -> Result<String> {
    env.render_named_str(name, source, ctx)
        .map_err(|e| Error::usage(format!("rendering template {name}: {e:#}")))
}

/// A generated path must stay inside the repo: relative, no `..`, no empty parts.
fn check_relative(path: &str, tpl_path: &str) -> Result<()> {
    let p = Path::new(path);
    let ok = !path.is_empty()
        && !path.contains('\\')
        && !path.split('/').any(str::is_empty)
        && p.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "template {tpl_path} renders to {path:?}, which is not a plain path inside the repo"
        )))
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The sha256 of `content`, as `sha256:<hex>`.
pub fn sha256(content: &str) -> String {
    format!("sha256:{}", hex(&Sha256::digest(content.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_list_matches_the_templates_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let on_disk = TemplateSet::from_dir(&dir).expect("reading templates/");
        let mut listed: Vec<&str> = BUILTIN.iter().map(|(p, _)| *p).collect();
        listed.sort_unstable();
        let mut found: Vec<&str> = on_disk.all().iter().map(|(p, _)| p.as_str()).collect();
        found.sort_unstable();
        assert_eq!(
            listed, found,
            "templates/ and BUILTIN differ: update the list in templates.rs"
        );
        assert_eq!(on_disk.digest(), TemplateSet::builtin().digest());
    }

    #[test]
    fn paths_render_and_must_stay_inside_the_repo() {
        let ctx = serde_json::json!({ "name": "../x" });
        let set = TemplateSet {
            source: Source::Builtin,
            files: vec![("services/{{name}}/a.j2".into(), "hi".into())],
        };
        assert!(set.render_files(&ctx).is_err());
        let ctx = serde_json::json!({ "name": "x" });
        let out = set.render_files(&ctx).expect("renders");
        assert_eq!(out[0].path, "services/x/a");
        assert_eq!(out[0].content, "hi");
    }

    #[test]
    fn literal_paths_are_shared_and_empty_renders_generate_nothing() {
        let set = TemplateSet {
            source: Source::Builtin,
            files: vec![
                ("deployments/argocd/a.yaml.j2".into(), "a: 1\n".into()),
                ("deployments/{{name}}/b.yaml.j2".into(), "b: 1\n".into()),
                (
                    "deployments/{{name}}/job.yaml.j2".into(),
                    "{% if migrate %}job: 1{% endif %}\n".into(),
                ),
            ],
        };
        let out = set
            .render_files(&serde_json::json!({ "name": "x", "migrate": false }))
            .expect("renders");
        let got: Vec<(&str, bool)> = out.iter().map(|r| (r.path.as_str(), r.shared)).collect();
        assert_eq!(
            got,
            [
                ("deployments/argocd/a.yaml", true),
                ("deployments/x/b.yaml", false)
            ]
        );
        let out = set
            .render_files(&serde_json::json!({ "name": "x", "migrate": true }))
            .expect("renders");
        assert!(out.iter().any(|r| r.path == "deployments/x/job.yaml"));
    }

    #[test]
    fn undefined_variables_are_errors() {
        let set = TemplateSet {
            source: Source::Builtin,
            files: vec![("a.j2".into(), "{{ nope }}".into())],
        };
        let err = set
            .render_files(&serde_json::json!({}))
            .expect_err("strict");
        assert_eq!(err.status(), Exit::Usage);
        assert!(err.to_string().contains("a.j2"), "{err}");
    }
}
