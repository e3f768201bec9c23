//! Deployment environments: one reading of `--env`, `APP_ENV`, `NODE_ENV`
//! and `VERCEL_ENV` for every tool.
//!
//! Whether a run is for production decides what the tools refuse (plain-text
//! database connections, a converge without the production lock lifted), so
//! the name must mean the same thing everywhere and must fail closed: a
//! production spelled `PROD` or `Production` is production, and a name the
//! tools do not know is an input error, never "not production". One
//! function, [`resolve`], reads the variables in the same order for every
//! tool:
//!
//! 1. the explicit name: `--env`, or `APP_ENV` (from the process or the
//!    `--env-file` the run reads);
//! 2. otherwise `NODE_ENV`, which container images set for their runtime;
//! 3. `VERCEL_ENV`, when it is set, must agree on whether this is
//!    production (the seeds' production lock requires it), and names the
//!    environment when nothing else does.

use std::fmt;

use crate::exit::{Error, Result};

/// The environments the tools know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// Production: the strict rules apply.
    Production,
    /// A production-like environment that is not production.
    Staging,
    /// A per-branch or per-change deployment.
    Preview,
    /// A developer's machine or a development server.
    Development,
    /// Automated tests.
    Test,
}

/// Every accepted spelling (compared without regard to case), with the
/// environment it names. The first spelling of each is its canonical name.
pub const NAMES: &[(&str, Environment)] = &[
    ("production", Environment::Production),
    ("prod", Environment::Production),
    ("staging", Environment::Staging),
    ("stage", Environment::Staging),
    ("preview", Environment::Preview),
    ("development", Environment::Development),
    ("dev", Environment::Development),
    ("local", Environment::Development),
    ("test", Environment::Test),
    ("testing", Environment::Test),
];

impl Environment {
    /// Reads an environment name, in any case; `source` names where it came
    /// from (`--env`, `APP_ENV`, …) for the error.
    pub fn parse(name: &str, source: &str) -> Result<Self> {
        let key = name.trim();
        NAMES
            .iter()
            .find(|(spelling, _)| spelling.eq_ignore_ascii_case(key))
            .map(|(_, env)| *env)
            .ok_or_else(|| {
                let accepted: Vec<&str> = NAMES.iter().map(|(s, _)| *s).collect();
                Error::usage(format!(
                    "{source}: unknown environment {:?}; one of: {} (in any case)",
                    crate::clip::long_words(name),
                    accepted.join(", ")
                ))
            })
    }

    /// The canonical name (`production`, `staging`, …).
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, env)| *env == self)
            .map_or("production", |(s, _)| s)
    }

    /// Whether the production rules apply.
    pub fn is_production(self) -> bool {
        self == Environment::Production
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The environment of a run, or `None` when nothing names one.
///
/// `explicit` is the `--env` flag (with `APP_ENV` merged in by clap) or the
/// `APP_ENV` of the `--env-file` the run reads; `vars` looks a variable up
/// in that same place (the file when there is one, else the process
/// environment). An empty variable counts as unset; an empty `--env` is an
/// unknown name.
pub fn resolve(
    explicit: Option<(&str, &str)>,
    vars: impl Fn(&str) -> Option<String>,
) -> Result<Option<Environment>> {
    let var = |name: &str| vars(name).filter(|v| !v.trim().is_empty());
    let chosen = match explicit {
        Some((source, value)) => Some((source.to_owned(), Environment::parse(value, source)?)),
        None => match var("NODE_ENV") {
            Some(value) => Some((
                "NODE_ENV".to_owned(),
                Environment::parse(&value, "NODE_ENV")?,
            )),
            None => None,
        },
    };
    let Some(vercel) = var("VERCEL_ENV") else {
        return Ok(chosen.map(|(_, env)| env));
    };
    let vercel_env = Environment::parse(&vercel, "VERCEL_ENV")?;
    match chosen {
        None => Ok(Some(vercel_env)),
        Some((_, env)) if env.is_production() == vercel_env.is_production() => Ok(Some(env)),
        Some((source, env)) => Err(Error::usage(format!(
            "{source} says {env} but VERCEL_ENV says {vercel_env}: they must agree on whether \
             this is production"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Exit;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn every_spelling_of_production_is_production() {
        for name in [
            "production",
            "Production",
            "PRODUCTION",
            "prod",
            "PROD",
            "Prod",
            " prod ",
        ] {
            let env = Environment::parse(name, "--env").expect(name);
            assert!(env.is_production(), "{name}");
        }
    }

    #[test]
    fn known_names_that_are_not_production() {
        for (name, env) in [
            ("staging", Environment::Staging),
            ("STAGE", Environment::Staging),
            ("preview", Environment::Preview),
            ("Development", Environment::Development),
            ("dev", Environment::Development),
            ("local", Environment::Development),
            ("test", Environment::Test),
        ] {
            assert_eq!(Environment::parse(name, "--env").expect(name), env);
            assert!(!env.is_production());
        }
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_list() {
        for name in ["", "prd", "production2", "qa", "eu-west", "prodution"] {
            let err = Environment::parse(name, "APP_ENV").expect_err(name);
            assert_eq!(err.status(), Exit::Usage);
            let text = err.to_string();
            assert!(text.starts_with("APP_ENV: unknown environment"), "{text}");
            assert!(text.contains("production, prod, staging"), "{text}");
        }
    }

    #[test]
    fn explicit_wins_then_node_env() {
        let none = vars(&[]);
        assert_eq!(resolve(None, &none).expect("ok"), None);
        let node = vars(&[("NODE_ENV", "production")]);
        assert_eq!(
            resolve(None, &node).expect("ok"),
            Some(Environment::Production)
        );
        assert_eq!(
            resolve(Some(("--env", "staging")), &node).expect("ok"),
            Some(Environment::Staging)
        );
        let empty = vars(&[("NODE_ENV", "")]);
        assert_eq!(resolve(None, &empty).expect("ok"), None);
        let bad = vars(&[("NODE_ENV", "prodd")]);
        assert_eq!(
            resolve(None, &bad).expect_err("unknown").status(),
            Exit::Usage
        );
    }

    #[test]
    fn vercel_env_must_agree_on_production() {
        let prod = vars(&[("VERCEL_ENV", "production")]);
        assert_eq!(
            resolve(Some(("APP_ENV", "PROD")), &prod).expect("agree"),
            Some(Environment::Production)
        );
        assert_eq!(
            resolve(None, &prod).expect("alone"),
            Some(Environment::Production)
        );
        let err = resolve(Some(("APP_ENV", "staging")), &prod).expect_err("disagree");
        assert_eq!(err.status(), Exit::Usage);
        assert!(
            err.to_string().contains("VERCEL_ENV says production"),
            "{err}"
        );
        let preview = vars(&[("VERCEL_ENV", "preview")]);
        assert_eq!(
            resolve(Some(("--env", "staging")), &preview).expect("both not production"),
            Some(Environment::Staging)
        );
        assert!(resolve(Some(("--env", "production")), &preview).is_err());
    }
}
