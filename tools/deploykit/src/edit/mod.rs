//! Format-preserving edits of the files a repo's owners write by hand.
//!
//! `tag-image pin` and `scaffold-service` change a value or add an entry in
//! YAML and JSON files that people review. A parse and re-serialise round
//! trip would reorder keys, drop comments and re-quote values, and the
//! reviewer would have to read a reformatted file to find the one line that
//! matters. So every edit here touches only the lines (or, for JSON, the
//! syntax nodes) it means to change and leaves every other byte as it was.
//!
//! The kit has one piece per concern, shared by both tools:
//!
//! - [`lines`]: a file split into lines with their endings, and the
//!   line-level [`lines::Patch`] every text edit is made of;
//! - [`yaml`]: the one YAML line scanner, with one set of indentation rules
//!   (spaces only: a tab in the indentation is an input error), which gives
//!   each line its [`Path`] in the document so that entries are addressable
//!   one by one;
//! - [`json`]: JSON through a concrete syntax tree (`jsonc-parser`), which
//!   keeps whitespace and order when a member is added;
//! - [`guard`]: the proof that an edit did what it meant: the rewritten text
//!   is parsed again (YAML, JSON, or an env file as a dotenv loader reads
//!   it) and must equal the original document with exactly the intended
//!   values changed; a file the scanner misreads is refused, never
//!   corrupted, and only a text that passed ([`guard::Checked`]) is
//!   written;
//! - [`write`]: atomic replacement of a file, keeping its permissions;
//! - [`diff`]: the unified diff both tools print for review.

pub mod diff;
pub mod guard;
pub mod json;
pub mod lines;
pub mod path;
pub mod write;
pub mod yaml;

pub use diff::unified as diff;
pub use guard::Guard;
pub use path::{Path, Step};
