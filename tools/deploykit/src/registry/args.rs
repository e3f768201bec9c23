//! The registry flags every registry tool takes, and the client options
//! they make, so `--timeout`, `--cacert`, `--insecure`, `--plain-http`,
//! `--username`/`--password-stdin` and `REGISTRY_TOKEN` mean the same thing
//! in each tool.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use super::auth::credentials::{Credential, CredentialStore, Found};
use super::client::ClientOptions;
use crate::exit::{Error, Result};
use crate::secret::Secret;

/// How to reach a registry.
#[derive(Debug, clap::Args, Clone)]
pub struct RegistryArgs {
    /// Budget of each registry operation (a resolve, a manifest, a blob), retries included (e.g. 10s, 2m)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::duration::parse_budget)]
    pub timeout: Duration,

    /// Also trust the CAs in this PEM file
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Do not verify TLS certificates, and allow plain HTTP, for any registry
    #[arg(long)]
    pub insecure: bool,

    /// Talk plain HTTP to the registry (loopback registries fall back to it by themselves)
    #[arg(long)]
    pub plain_http: bool,

    /// User name for the registry (the password comes from --password-stdin)
    #[arg(long, short = 'u', value_name = "USER", requires = "password_stdin")]
    pub username: Option<String>,

    /// Read the password (or access token) from stdin
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
}

impl RegistryArgs {
    /// The client options: explicit credentials from `--username` with the
    /// password read from stdin, else `REGISTRY_TOKEN`, then the sources of
    /// [`CredentialStore::from_env`]. Explicit credentials are refused when
    /// the run talks to several registries (they would be sent to each).
    pub fn client_options(&self, domains: &BTreeSet<String>) -> Result<ClientOptions> {
        let mut credentials = CredentialStore::from_env();
        if let Some(username) = &self.username {
            let mut pw = String::new();
            std::io::stdin()
                .read_to_string(&mut pw)
                .map_err(|e| Error::usage(format!("reading the password from stdin: {e}")))?;
            let pw = pw.trim_end_matches(['\n', '\r']);
            if pw.is_empty() {
                return Err(Error::usage("--password-stdin: stdin was empty"));
            }
            credentials.explicit = Some(Found {
                credential: Credential::Basic {
                    username: username.clone(),
                    password: Secret::new(pw),
                },
                source: "--username/--password-stdin".into(),
            });
        } else if let Some(token) = std::env::var("REGISTRY_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
        {
            credentials.explicit = Some(Found {
                credential: Credential::Bearer(Secret::new(token)),
                source: "REGISTRY_TOKEN".into(),
            });
        }
        if credentials.explicit.is_some() && domains.len() > 1 {
            return Err(Error::usage(format!(
                "explicit credentials would be sent to {} registries ({}); use the Docker configuration for several registries",
                domains.len(),
                domains.iter().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(ClientOptions {
            timeout: self.timeout,
            cacert: self.cacert.clone(),
            insecure: self.insecure,
            plain_http: self.plain_http,
            credentials,
        })
    }
}
