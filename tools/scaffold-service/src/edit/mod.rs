//! Surgical edits of the repo's existing files.
//!
//! Each edit inserts text at one place and leaves every other byte of the
//! file as it was: comments, key order, quoting and blank lines are the
//! owners' and a generator has no business reformatting them. So the files
//! are not parsed and re-serialised: the YAML insertion point is found by
//! the shared line scanner and JSON members are added through a syntax tree
//! (both from [`deploykit::edit`]), and the result is then parsed and
//! compared with the original to prove that the edit added exactly the
//! intended entry and changed nothing else (a file the scanner misreads is
//! refused, not corrupted). Every edit is idempotent: applied to its own
//! output it reports [`Outcome::Unchanged`]. One module per format.

mod js;
mod json;
mod outcome;
mod yaml;

pub use js::add_forbidden_rule;
pub use json::add_scripts;
pub use outcome::{EditError, EditResult, Outcome};
pub use yaml::{add_compose_service, add_workspace_package};
