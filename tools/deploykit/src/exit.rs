//! The exit statuses every tool shares, and the error type that carries one.
//!
//! A shell script gluing two tools branches on `$?`, so the status is part of
//! each tool's interface: an error is created with the status it will end the
//! process with, and `main` prints it once as `<tool>: <error>`
//! ([`crate::process::run`]). The types only: this module depends on no other
//! part of the crate.

use std::fmt;

/// The process exit statuses of the conventions, the same in every tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Exit {
    /// 0: the check passed, the thing was done (or was already so).
    Success,
    /// 1: the answer is no: a check failed, a probe was not ready, a policy refused, drift found.
    No,
    /// 2: usage or input error: the caller must fix the invocation.
    Usage,
    /// 3: a remote failed or was unreachable after retries.
    Remote,
    /// 4: authentication or permission denied by a remote.
    Denied,
    /// 126: a command to run in the tool's place exists but cannot be
    /// executed (not executable, a directory), as `env` and `timeout` say.
    CannotExecute,
    /// 127: a command to run in the tool's place was not found, as `env`
    /// and `timeout` say.
    CommandNotFound,
    /// 130: interrupted by SIGINT.
    Interrupted,
    /// 143: terminated by SIGTERM.
    Terminated,
}

impl Exit {
    /// How specific a failure is, for a run over several inputs that exits
    /// with the most telling status: a refusal, then an unreachable remote,
    /// then bad input, then "no" (0 for the rest).
    pub fn rank(self) -> u8 {
        match self {
            Exit::Denied => 4,
            Exit::Remote => 3,
            Exit::Usage => 2,
            Exit::No => 1,
            _ => 0,
        }
    }

    /// Every status, in numeric order (used to render EXIT STATUS sections).
    pub const ALL: [Exit; 9] = [
        Exit::Success,
        Exit::No,
        Exit::Usage,
        Exit::Remote,
        Exit::Denied,
        Exit::CannotExecute,
        Exit::CommandNotFound,
        Exit::Interrupted,
        Exit::Terminated,
    ];

    /// The numeric status the process exits with.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::No => 1,
            Exit::Usage => 2,
            Exit::Remote => 3,
            Exit::Denied => 4,
            Exit::CannotExecute => 126,
            Exit::CommandNotFound => 127,
            Exit::Interrupted => 130,
            Exit::Terminated => 143,
        }
    }

    /// The generic meaning of the status, as the conventions state it.
    pub const fn meaning(self) -> &'static str {
        match self {
            Exit::Success => "success: the check passed, the thing was done (or was already so)",
            Exit::No => "the answer is no: a check failed, a probe was not ready, a policy refused",
            Exit::Usage => {
                "usage or input error: bad flag, unparseable input, missing variable, unreadable file"
            }
            Exit::Remote => "a remote failed or was unreachable after retries",
            Exit::Denied => "authentication or permission denied by a remote",
            Exit::CannotExecute => "the command to run was found but cannot be executed",
            Exit::CommandNotFound => "the command to run was not found",
            Exit::Interrupted => "interrupted by SIGINT",
            Exit::Terminated => "terminated by SIGTERM",
        }
    }
}

/// An error that knows the status it ends the process with.
///
/// The message is built from the context chain of the underlying
/// [`anyhow::Error`], joined with `: `, and must never contain a secret:
/// callers format DSNs through the DSN model's redacting display.
pub struct Error {
    status: Exit,
    inner: anyhow::Error,
}

/// The result type of fallible operations in deploykit tools.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with an explicit status.
    pub fn new(status: Exit, message: impl fmt::Display) -> Self {
        Error {
            status,
            inner: anyhow::anyhow!("{message}"),
        }
    }

    /// A usage or input error (exit 2).
    pub fn usage(message: impl fmt::Display) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// A remote failure (exit 3).
    pub fn remote(message: impl fmt::Display) -> Self {
        Self::new(Exit::Remote, message)
    }

    /// A refusal by a remote (exit 4).
    pub fn denied(message: impl fmt::Display) -> Self {
        Self::new(Exit::Denied, message)
    }

    /// A "no" answer that deserves a message (exit 1).
    pub fn no(message: impl fmt::Display) -> Self {
        Self::new(Exit::No, message)
    }

    /// The status this error ends the process with.
    pub fn status(&self) -> Exit {
        self.status
    }

    /// Adds context in front of the message, keeping the status.
    #[must_use]
    pub fn context(self, context: impl fmt::Display + Send + Sync + 'static) -> Self {
        Error {
            status: self.status,
            inner: self.inner.context(context),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{:#}` prints the whole context chain on one line.
        write!(f, "{:#}", self.inner)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({}, {:#})", self.status.code(), self.inner)
    }
}

impl std::error::Error for Error {}

/// Attaches an exit status (and optionally context) to foreign errors.
pub trait ResultExt<T> {
    /// Maps the error to an [`Error`] with `status`, with `context` in front.
    fn or_exit(self, status: Exit, context: impl fmt::Display) -> Result<T>;
}

impl<T, E> ResultExt<T> for std::result::Result<T, E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn or_exit(self, status: Exit, context: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error {
            status,
            inner: anyhow::Error::new(e).context(context.to_string()),
        })
    }
}

impl Error {
    /// Whether a broken pipe caused this error: the reader of the tool's
    /// output went away, which is its right and not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        self.inner.chain().any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        })
    }
}

impl From<std::io::Error> for Error {
    /// Bare I/O errors on local files are input errors; remote I/O is mapped
    /// explicitly where it happens.
    fn from(err: std::io::Error) -> Self {
        Error {
            status: Exit::Usage,
            inner: anyhow::Error::new(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_conventions() {
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 126, 127, 130, 143]);
    }

    #[test]
    fn context_keeps_status_and_chains_message() {
        let err = Error::remote("connection refused").context("connecting to db:5432");
        assert_eq!(err.status(), Exit::Remote);
        assert_eq!(err.to_string(), "connecting to db:5432: connection refused");
    }

    #[test]
    fn broken_pipe_is_detected_through_context() {
        let io = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let err: Error = Error::from(io).context("writing stdout");
        assert!(err.is_broken_pipe());
    }
}
