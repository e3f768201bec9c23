//! Where registry credentials come from, in the order the engines use.
//!
//! 1. Explicit credentials given to the tool (`--username` with
//!    `--password-stdin`, or a ready token from `REGISTRY_TOKEN`).
//! 2. `GITHUB_TOKEN` for `ghcr.io` (username `GITHUB_ACTOR`), as CI has it.
//! 3. The Docker client configuration (`$DOCKER_CONFIG/config.json`, else
//!    `~/.docker/config.json`): a per-registry `credHelpers` entry, else the
//!    global `credsStore`, else the inline `auths` entry (`auth` is base64 of
//!    `user:password`; `identitytoken` is an OAuth2 refresh token).
//!
//! Helpers speak the `docker-credential-*` protocol: the program is run as
//! `docker-credential-NAME get`, the server URL is written on its stdin and
//! the JSON answer (`{"Username":…,"Secret":…}`) read from its stdout. The
//! secret never appears in any argv, and every secret is a [`Secret`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

use crate::exit::{Error, Exit, Result};
use crate::secret::Secret;

/// The key Docker Hub's credentials are stored under.
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// A credential for one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A user name and password (or personal access token used as one).
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// An OAuth2 refresh token (`identitytoken`, or a helper's `<token>` user).
    IdentityToken(Secret),
    /// A registry token sent as `Authorization: Bearer` as it is.
    Bearer(Secret),
}

impl Credential {
    /// Where the credential came from, for `-v` output (never the secret).
    pub fn describe(&self) -> String {
        match self {
            Credential::Basic { username, .. } => format!("user {username:?}"),
            Credential::IdentityToken(_) => "an identity token".into(),
            Credential::Bearer(_) => "a bearer token".into(),
        }
    }
}

/// A credential with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The credential.
    pub credential: Credential,
    /// Its source: `--username`, `REGISTRY_TOKEN`, `credHelpers (ecr-login)`…
    pub source: String,
}

/// The credential sources of a run.
#[derive(Debug, Clone, Default)]
pub struct CredentialStore {
    /// Credentials given explicitly; they apply to every registry of the run.
    pub explicit: Option<Found>,
    /// `GITHUB_TOKEN` (and `GITHUB_ACTOR`), used for `ghcr.io` only.
    pub github: Option<Credential>,
    /// The Docker configuration directory (`None`: no configuration).
    pub docker_config_dir: Option<PathBuf>,
}

impl CredentialStore {
    /// The sources the environment offers: `GITHUB_TOKEN`/`GITHUB_ACTOR`,
    /// `DOCKER_CONFIG` or `~/.docker`. Explicit credentials are set by the tool.
    pub fn from_env() -> CredentialStore {
        let github = std::env::var("GITHUB_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .map(|token| Credential::Basic {
                username: std::env::var("GITHUB_ACTOR")
                    .ok()
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| "x-access-token".into()),
                password: Secret::new(token),
            });
        let docker_config_dir = std::env::var_os("DOCKER_CONFIG")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker")));
        CredentialStore {
            explicit: None,
            github,
            docker_config_dir,
        }
    }

    /// The credential for the registry `domain` (as written in references:
    /// `docker.io`, `ghcr.io`, `127.0.0.1:5000`), if any.
    ///
    /// `with_helpers = false` skips credential helpers (they spawn a process,
    /// so the client only asks them once a registry demands credentials).
    pub fn lookup(&self, domain: &str, with_helpers: bool) -> Result<Option<Found>> {
        if let Some(found) = &self.explicit {
            return Ok(Some(found.clone()));
        }
        if domain == "ghcr.io"
            && let Some(cred) = &self.github
        {
            return Ok(Some(Found {
                credential: cred.clone(),
                source: "GITHUB_TOKEN".into(),
            }));
        }
        let Some(dir) = &self.docker_config_dir else {
            return Ok(None);
        };
        let path = dir.join("config.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::usage(format!("reading {}: {e}", path.display()))),
        };
        let config: DockerConfig = serde_json::from_str(&text)
            .map_err(|e| Error::usage(format!("{} is not valid JSON: {e}", path.display())))?;
        config.lookup(domain, with_helpers, &path)
    }
}

/// The parts of Docker's `config.json` that hold credentials.
#[derive(Debug, Default, Deserialize)]
pub struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "identitytoken")]
    identity_token: Option<String>,
}

/// The key a registry's credentials are stored under in `config.json`.
pub fn auth_key(domain: &str) -> &str {
    if domain == crate::imageref::DEFAULT_DOMAIN {
        DOCKER_HUB_AUTH_KEY
    } else {
        domain
    }
}

/// Docker's `ConvertToHostname`: `https://host/v1/` → `host`.
fn key_host(key: &str) -> &str {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    rest.split('/').next().unwrap_or(rest)
}

fn same_registry(key: &str, domain: &str) -> bool {
    let host = key_host(key);
    host == domain
        || (domain == crate::imageref::DEFAULT_DOMAIN
            && matches!(
                host,
                "index.docker.io" | "registry-1.docker.io" | "docker.io"
            ))
}

impl DockerConfig {
    fn lookup(&self, domain: &str, with_helpers: bool, path: &Path) -> Result<Option<Found>> {
        let key = auth_key(domain);
        let helper = self
            .cred_helpers
            .iter()
            .find(|(k, _)| same_registry(k, domain))
            .map(|(_, v)| (v.as_str(), "credHelpers"))
            .or_else(|| self.creds_store.as_deref().map(|s| (s, "credsStore")))
            .filter(|(name, _)| !name.is_empty());
        if let Some((helper, origin)) = helper {
            if !with_helpers {
                return Ok(None);
            }
            if let Some(credential) = run_helper(helper, key)? {
                return Ok(Some(Found {
                    credential,
                    source: format!("{origin} (docker-credential-{helper})"),
                }));
            }
        }
        let Some(entry) = self.auths.get(key).or_else(|| {
            self.auths
                .iter()
                .find(|(k, _)| same_registry(k, domain))
                .map(|(_, v)| v)
        }) else {
            return Ok(None);
        };
        let source = format!("auths in {}", path.display());
        if let Some(token) = entry.identity_token.as_deref().filter(|t| !t.is_empty()) {
            return Ok(Some(Found {
                credential: Credential::IdentityToken(Secret::new(token)),
                source,
            }));
        }
        if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    Error::usage(format!(
                        "{}: the auth entry for {key} is not base64",
                        path.display()
                    ))
                })?;
            let (user, pass) = decoded.split_once(':').ok_or_else(|| {
                Error::usage(format!(
                    "{}: the auth entry for {key} is not user:password",
                    path.display()
                ))
            })?;
            return Ok(Some(Found {
                credential: Credential::Basic {
                    username: user.to_owned(),
                    password: Secret::new(pass),
                },
                source,
            }));
        }
        if let (Some(user), Some(pass)) = (&entry.username, &entry.password) {
            return Ok(Some(Found {
                credential: Credential::Basic {
                    username: user.clone(),
                    password: Secret::new(pass.as_str()),
                },
                source,
            }));
        }
        Ok(None)
    }
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Asks `docker-credential-<helper>` for the credentials of `server`.
///
/// `Ok(None)` when the helper has none ("credentials not found").
pub fn run_helper(helper: &str, server: &str) -> Result<Option<Credential>> {
    if !helper
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(Error::usage(format!(
            "invalid credential helper name {helper:?}"
        )));
    }
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::usage(format!("running credential helper {program}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits early is judged by its status below.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::usage(format!("running credential helper {program}: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // The protocol puts the error message on stdout.
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        // Its output is not echoed: a helper that fails half-way may
        // already have printed the secret.
        return Err(Error::new(
            Exit::Usage,
            format!(
                "credential helper {program} failed ({}); its output ({} bytes) is not shown, \
                 as it may hold the secret: run `{program} get` by hand to see why",
                out.status,
                out.stdout.len()
            ),
        ));
    }
    let answer: HelperAnswer = serde_json::from_slice(&out.stdout).map_err(|_| {
        Error::usage(format!(
            "credential helper {program} answered something that is not its JSON"
        ))
    })?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(if answer.username == "<token>" {
        Credential::IdentityToken(Secret::new(answer.secret))
    } else {
        Credential::Basic {
            username: answer.username,
            password: Secret::new(answer.secret),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path, json: &str) -> CredentialStore {
        std::fs::write(dir.join("config.json"), json).unwrap();
        CredentialStore {
            explicit: None,
            github: None,
            docker_config_dir: Some(dir.to_owned()),
        }
    }

    fn tmpdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dk-creds-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn auths_entries_by_host_and_docker_hub_key() {
        let dir = tmpdir("auths");
        // "user:pw" and "hub:hubpw" in base64
        let s = store(
            &dir,
            r#"{"auths":{"https://reg.example:5000/v2/":{"auth":"dXNlcjpwdw=="},
                "https://index.docker.io/v1/":{"auth":"aHViOmh1YnB3"},
                "tok.example":{"identitytoken":"refresh"}}}"#,
        );
        let found = s.lookup("reg.example:5000", true).unwrap().unwrap();
        assert_eq!(
            found.credential,
            Credential::Basic {
                username: "user".into(),
                password: Secret::new("pw")
            }
        );
        let hub = s.lookup("docker.io", true).unwrap().unwrap();
        assert!(
            matches!(hub.credential, Credential::Basic { ref username, .. } if username == "hub")
        );
        assert_eq!(
            s.lookup("tok.example", true).unwrap().unwrap().credential,
            Credential::IdentityToken(Secret::new("refresh"))
        );
        assert_eq!(s.lookup("other.example", true).unwrap(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_config_means_no_credentials_and_bad_config_is_an_input_error() {
        let dir = tmpdir("missing");
        let s = CredentialStore {
            docker_config_dir: Some(dir.join("nope")),
            ..CredentialStore::default()
        };
        assert_eq!(s.lookup("x.example", true).unwrap(), None);
        let s = store(&dir, "{not json");
        assert_eq!(
            s.lookup("x.example", true).unwrap_err().status(),
            Exit::Usage
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn helpers_are_skipped_when_not_wanted() {
        let dir = tmpdir("helpers");
        let s = store(&dir, r#"{"credsStore":"definitely-not-installed"}"#);
        assert_eq!(s.lookup("x.example", false).unwrap(), None);
        let err = s.lookup("x.example", true).unwrap_err();
        assert!(
            err.to_string()
                .contains("docker-credential-definitely-not-installed"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = Credential::Basic {
            username: "u".into(),
            password: Secret::new("hunter2"),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
