//! Findings: what a check reports, and how it is printed.

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth fixing; fails the run only with `--strict`.
    Warning,
    /// Fails the run.
    Error,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// What kind of failure a finding is, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// A rule about the DSNs or the server said no (exit 1).
    Policy,
    /// The input itself is broken: missing or unparseable (exit 2).
    Input,
    /// The server could not be reached (exit 3).
    Unreachable,
    /// The server refused the login (exit 4).
    Refused,
}

/// One finding about one variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The environment variable the finding is about.
    pub variable: &'static str,
    /// The stable rule id.
    pub rule: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// One line, never containing a secret.
    pub message: String,
    #[serde(skip)]
    pub class: Class,
}

impl Finding {
    /// An error finding.
    pub fn error(variable: &'static str, rule: &'static str, message: impl Into<String>) -> Self {
        Finding {
            variable,
            rule,
            severity: Severity::Error,
            message: message.into(),
            class: Class::Policy,
        }
    }

    /// A warning finding.
    pub fn warning(variable: &'static str, rule: &'static str, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(variable, rule, message)
        }
    }

    /// The same finding with another class.
    #[must_use]
    pub fn class(mut self, class: Class) -> Self {
        self.class = class;
        self
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}[{}]: {}",
            self.variable,
            self.severity.as_str(),
            self.rule,
            self.message
        )
    }
}

/// The rule ids with their one-line explanation, for the man page and tests.
pub const RULES: &[(&str, &str)] = &[
    ("missing", "a required variable is not set"),
    (
        "parse-error",
        "the DSN does not parse as libpq would parse it",
    ),
    (
        "missing-user",
        "the DSN names no user, so libpq would use the OS user",
    ),
    ("missing-password", "the DSN has no password"),
    (
        "missing-database",
        "the DSN names no database, so libpq would use the user name",
    ),
    (
        "same-role",
        "app, service and admin must be three different roles",
    ),
    (
        "superuser-name",
        "a runtime role must not be a superuser or reserved name",
    ),
    (
        "server-mismatch",
        "the app and service DSNs must reach the same host, port and database",
    ),
    (
        "admin-server-mismatch",
        "the admin DSN must reach the same server as the runtime DSNs",
    ),
    (
        "system-database",
        "the runtime database must not be postgres or a template",
    ),
    ("shared-password", "two roles must not share one password"),
    (
        "placeholder-password",
        "the password is a placeholder or the user name",
    ),
    (
        "insecure-sslmode",
        "in production, sslmode must be require or stronger",
    ),
    (
        "unverified-tls",
        "in production, sslmode=verify-full is recommended",
    ),
    (
        "admin-dsn-present",
        "--runtime: the admin DSN must not reach a runtime container",
    ),
    (
        "legacy-variable",
        "--runtime: legacy database variables must not be set",
    ),
    ("unreachable", "--connect: the server could not be reached"),
    ("login-refused", "--connect: the server refused the login"),
    (
        "identity-mismatch",
        "--connect: current_user or current_database differ from the DSN",
    ),
    (
        "runtime-superuser",
        "--connect: a runtime role is a superuser",
    ),
    (
        "runtime-createrole",
        "--connect: a runtime role can create roles",
    ),
    (
        "runtime-createdb",
        "--connect: a runtime role can create databases",
    ),
    (
        "app-bypassrls",
        "--connect: the app role bypasses row-level security",
    ),
    (
        "admin-privileges",
        "--connect: the admin role cannot create roles and databases",
    ),
    (
        "marker-missing",
        "--expect-env: the environment marker is missing (fails closed)",
    ),
    (
        "marker-mismatch",
        "--expect-env: the environment marker names another environment",
    ),
];
