//! The one type that holds a secret.
//!
//! Passwords and tokens travel through the tools as [`Secret`], whose
//! `Display` and `Debug` both print `***`, so a secret can only leave the
//! process through an explicit [`Secret::expose`] at the place that needs it.

use std::fmt;

/// The text a redacted secret prints as.
pub const REDACTED: &str = "***";

/// A password or token. Printing it in any way shows [`REDACTED`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Call it only where the value is sent to its
    /// destination (a connection, a hash), never to build a message.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Why this password is no secret, if it is none: a well-known
    /// placeholder, or the user name of the login it belongs to. The one
    /// rule every tool applies to a password it is handed, so that what
    /// `validate-dsns` refuses `provision-db` never sets.
    pub fn weakness(&self, user: Option<&str>) -> Option<Weakness> {
        let lower = self.0.to_lowercase();
        if user.is_some_and(|u| u.to_lowercase() == lower) {
            Some(Weakness::UserName)
        } else if PLACEHOLDER_PASSWORDS.contains(&lower.as_str()) {
            Some(Weakness::Placeholder)
        } else {
            None
        }
    }
}

/// Why a password is no secret ([`Secret::weakness`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    /// It is one of [`PLACEHOLDER_PASSWORDS`].
    Placeholder,
    /// It is the login's user name.
    UserName,
}

impl fmt::Display for Weakness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Weakness::Placeholder => "a well-known placeholder",
            Weakness::UserName => "the user name",
        })
    }
}

/// Passwords that are placeholders, not secrets (compared case-insensitively):
/// what a template, a tutorial or a default configuration puts in.
pub const PLACEHOLDER_PASSWORDS: &[&str] = &[
    "password",
    "passw0rd",
    "changeme",
    "change_me",
    "changeit",
    "postgres",
    "secret",
    "admin",
    "root",
    "test",
    "example",
    "default",
    "pass",
    "letmein",
    "qwerty",
    "123456",
    "12345678",
    "xxx",
    "todo",
];

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_debug_redact() {
        let s = Secret::new("hunter2");
        assert_eq!(s.to_string(), "***");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{:#?}", Some(&s)), "Some(\n    Secret(***),\n)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn placeholders_and_user_names_are_no_secret() {
        assert_eq!(
            Secret::new("ChangeMe").weakness(Some("app")),
            Some(Weakness::Placeholder)
        );
        assert_eq!(
            Secret::new("APP").weakness(Some("app")),
            Some(Weakness::UserName)
        );
        assert_eq!(Secret::new("x7-Fq9-2mZ").weakness(Some("app")), None);
        assert_eq!(
            Secret::new("changeme").weakness(None),
            Some(Weakness::Placeholder)
        );
    }
}
