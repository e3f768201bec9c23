//! Where the three DSNs of a service come from, the same in every database
//! tool: a flag wins, then `--env-file`, then the process environment.
//!
//! DSNs are taken as plain strings, never through a clap value parser: clap
//! quotes a rejected value in its error, which would print the password.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::ArgMatches;
use clap::parser::ValueSource;

use crate::exit::Result;

/// The admin DSN's variable.
pub const ROOT_URL: &str = "DATABASE_ROOT_URL";
/// The app role's runtime DSN variable.
pub const URL: &str = "DATABASE_URL";
/// The service role's runtime DSN variable.
pub const SERVICE_URL: &str = "DATABASE_SERVICE_URL";

/// The DSN flags every database tool flattens into its command line.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DsnArgs {
    /// Admin DSN, used only for provisioning: a superuser, or a role with CREATEROLE and CREATEDB
    #[arg(long, value_name = "DSN", env = ROOT_URL, hide_env_values = true)]
    pub root_url: Option<String>,

    /// Runtime DSN of the app role
    #[arg(long, value_name = "DSN", env = URL, hide_env_values = true)]
    pub url: Option<String>,

    /// Runtime DSN of the service role (migrations, workers)
    #[arg(long, value_name = "DSN", env = SERVICE_URL, hide_env_values = true)]
    pub service_url: Option<String>,

    /// Read variables from a dotenv file (`-` for stdin); flags still win
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

/// Which inputs were given on the command line (and so win over
/// `--env-file`); clap merges the environment into the same values, so only
/// the matches can tell.
#[derive(Debug, Clone, Copy, Default)]
pub struct FromFlags {
    /// `--root-url` was given.
    pub root_url: bool,
    /// `--url` was given.
    pub url: bool,
    /// `--service-url` was given.
    pub service_url: bool,
    /// `--env` was given (for tools that take one).
    pub env: bool,
}

impl FromFlags {
    /// Reads the value sources from the parsed command line.
    pub fn of(matches: &ArgMatches) -> Self {
        let flag = |id: &str| {
            matches
                .try_get_raw(id)
                .is_ok_and(|_| matches.value_source(id) == Some(ValueSource::CommandLine))
        };
        FromFlags {
            root_url: flag("root_url"),
            url: flag("url"),
            service_url: flag("service_url"),
            env: flag("env"),
        }
    }
}

/// The DSNs after precedence, and the env file's variables for the other
/// settings a tool reads from it.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Each DSN variable that is set and not empty, by variable name.
    pub values: BTreeMap<&'static str, String>,
    /// The `--env-file` variables, when one was given.
    pub file: Option<BTreeMap<String, String>>,
}

impl DsnArgs {
    /// Applies the precedence: a flag, then `--env-file`, then the environment.
    pub fn gather(&self, flags: FromFlags) -> Result<Gathered> {
        let file = match &self.env_file {
            Some(path) => Some(crate::envfile::read(path)?),
            None => None,
        };
        let mut values = BTreeMap::new();
        for (name, from_flag, value) in [
            (ROOT_URL, flags.root_url, &self.root_url),
            (URL, flags.url, &self.url),
            (SERVICE_URL, flags.service_url, &self.service_url),
        ] {
            let chosen = match &file {
                Some(file) if !from_flag => file.get(name).cloned(),
                _ => value.clone(),
            };
            if let Some(v) = chosen.filter(|v| !v.is_empty()) {
                values.insert(name, v);
            }
        }
        Ok(Gathered { values, file })
    }
}
