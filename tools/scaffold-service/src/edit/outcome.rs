//! What an edit reports: the new content, nothing to do, or why not.

use std::fmt;

/// What an edit does to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The file already has the entry; nothing to write.
    Unchanged,
    /// The file's new content.
    Changed(String),
}

/// Why an edit cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// The file already has a different entry of the same name (exit 1).
    Conflict(String),
    /// The file does not parse, or has a shape this editor does not handle (exit 2).
    Unsupported(String),
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::Conflict(m) | EditError::Unsupported(m) => f.write_str(m),
        }
    }
}

/// The result of an edit.
pub type EditResult = Result<Outcome, EditError>;

/// An edit the file's shape does not allow.
pub(super) fn unsupported(msg: impl Into<String>) -> EditError {
    EditError::Unsupported(msg.into())
}

/// Turns an error of the edit kit (the scanner, the parser, the guard)
/// into this file's `EditError`, naming the file.
pub(super) fn within(what: &str) -> impl Fn(deploykit::Error) -> EditError + '_ {
    move |e| {
        let status = e.status();
        let message = e.context(what.to_owned()).to_string();
        if status == deploykit::Exit::No {
            EditError::Conflict(message)
        } else {
            EditError::Unsupported(message)
        }
    }
}

/// The new content of a changed file (tests).
#[cfg(test)]
pub(super) fn changed(o: EditResult) -> String {
    match o {
        Ok(Outcome::Changed(s)) => s,
        other => panic!("expected a change, got {other:?}"),
    }
}
