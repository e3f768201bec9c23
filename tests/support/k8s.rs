//! The Kubernetes and Argo CD tools the GitOps-lane tests check the
//! generated manifests with: the upstream kustomize inside kubectl,
//! kubernetes-validate's API schemas, and validators compiled from Argo CD's
//! own CRDs. `scripts/setup` installs them, pinned, into `target/k8s-tools`
//! (or `DEPLOYKIT_K8S_TOOLS`); a missing one fails the test, in CI and out
//! of it: the tests never skip a real component.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value as Json;

use crate::bins::target_dir;

/// Where `scripts/setup` puts the tools.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("DEPLOYKIT_K8S_TOOLS")
        .map_or_else(|| target_dir().join("k8s-tools"), PathBuf::from)
}

#[track_caller]
fn installed(rel: &str) -> PathBuf {
    let path = tools_dir().join(rel);
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup, which installs kubectl, kubernetes-validate and \
         Argo CD's CRD validators there; the tests never skip a missing real component",
        path.display()
    );
    path
}

/// The kubectl `scripts/setup` installed (it carries the upstream kustomize).
pub fn kubectl() -> PathBuf {
    installed("bin/kubectl")
}

/// The directory of [`kubectl`], to put first on a script's PATH.
pub fn bin_dir() -> PathBuf {
    installed("bin")
}

/// `kubectl kustomize DIR`: the rendered YAML.
///
/// # Errors
/// kustomize's stderr when it refuses the directory.
pub fn kustomize_text(dir: &Path) -> Result<String, String> {
    let out = Command::new(kubectl())
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("running kubectl kustomize");
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).expect("kustomize prints UTF-8"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Parses a multi-document YAML stream (documents split by `---` lines, as
/// kustomize prints them) into JSON values, empty documents dropped.
pub fn documents(yaml: &str) -> Vec<Json> {
    let mut docs = vec![String::new()];
    for line in yaml.lines() {
        if line == "---" {
            docs.push(String::new());
        } else if let Some(doc) = docs.last_mut() {
            doc.push_str(line);
            doc.push('\n');
        }
    }
    docs.iter()
        .map(|doc| {
            serde_yaml_ng::from_str::<Json>(doc)
                .unwrap_or_else(|e| panic!("rendered YAML does not parse: {e}\n{doc}"))
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// `kubectl kustomize DIR` as objects; panics (with kustomize's error) if it fails.
#[track_caller]
pub fn kustomize(dir: &Path) -> Vec<Json> {
    match kustomize_text(dir) {
        Ok(text) => documents(&text),
        Err(e) => panic!("kubectl kustomize {} failed:\n{e}", dir.display()),
    }
}

/// The newest Kubernetes version kubernetes-validate has schemas for.
pub fn newest_kubernetes() -> &'static str {
    static NEWEST: OnceLock<String> = OnceLock::new();
    NEWEST.get_or_init(|| {
        let out = Command::new(installed("venv/bin/python"))
            .args([
                "-c",
                "from kubernetes_validate.utils import latest_version; print(latest_version())",
            ])
            .output()
            .expect("asking kubernetes-validate for its versions");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout)
            .expect("a version")
            .trim()
            .to_owned()
    })
}

/// `kubernetes-validate --strict` for the newest Kubernetes it knows, on
/// every object of `yaml`.
///
/// # Errors
/// Its report, unless each object passed.
pub fn validate_strict(yaml: &str) -> Result<(), String> {
    let objects = documents(yaml).len();
    let mut child = Command::new(installed("venv/bin/kubernetes-validate"))
        .args(["--strict", "-k", newest_kubernetes(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running kubernetes-validate");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(yaml.as_bytes())
        .expect("writing to kubernetes-validate");
    let out = child.wait_with_output().expect("kubernetes-validate");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Each object must pass; an unknown kind is only a warning there.
    let passed = report.matches(" passed for resource ").count();
    if out.status.success() && passed == objects {
        Ok(())
    } else {
        Err(format!(
            "{passed} of {objects} objects passed (exit {:?}):\n{report}",
            out.status.code()
        ))
    }
}

/// Checks each object against the validator compiled from its Argo CD CRD
/// (`@kubernetes-models/argo-cd`, generated from Argo CD's
/// application/applicationset/appproject CRDs).
const ARGO_VALIDATE_JS: &str = r"
const models = require(process.argv[1]);
const docs = JSON.parse(require('fs').readFileSync(0, 'utf8'));
let bad = 0;
for (const d of docs) {
  const Model = d.apiVersion === 'argoproj.io/v1alpha1' ? models[d.kind] : undefined;
  if (!Model) { console.error(`no Argo CD schema for ${d.apiVersion} ${d.kind}`); bad++; continue; }
  try { new Model(d).validate(); } catch (e) { console.error(`${d.kind}/${d.metadata && d.metadata.name}: ${e.message}`); bad++; }
}
process.exit(bad ? 1 : 0);
";

/// Validates Argo CD objects against Argo CD's CRD schemas.
///
/// # Errors
/// The validator's findings, one line per object that fails.
pub fn validate_argo(objects: &[Json]) -> Result<(), String> {
    let models = installed("node/node_modules/@kubernetes-models/argo-cd/argoproj.io/v1alpha1");
    let mut child = Command::new("node")
        .arg("-e")
        .arg(ARGO_VALIDATE_JS)
        .arg(models)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running node (scripts/setup installs nodejs)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(serde_json::to_string(objects).expect("JSON").as_bytes())
        .expect("writing to node");
    let out = child.wait_with_output().expect("node");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
