//! Every tool of the workspace with its clap command and documentation: the
//! one list the man page and completion generator walks.

use deploykit::docs::ToolDoc;

/// A tool's name, its clap command and its extra documentation.
pub struct ToolEntry {
    /// The binary's name.
    pub name: &'static str,
    /// Builds the clap command.
    pub command: fn() -> clap::Command,
    /// Examples and exit statuses.
    pub doc: ToolDoc,
}

/// All tools, in the order of the README.
pub fn all() -> Vec<ToolEntry> {
    vec![
        ToolEntry {
            name: "validate-dsns",
            command: validate_dsns::command,
            doc: validate_dsns::cli::DOC,
        },
        ToolEntry {
            name: "provision-db",
            command: provision_db::command,
            doc: provision_db::cli::DOC,
        },
        ToolEntry {
            name: "wait-probe",
            command: wait_probe::command,
            doc: wait_probe::cli::DOC,
        },
        ToolEntry {
            name: "image-digest",
            command: image_digest::command,
            doc: image_digest::cli::DOC,
        },
        ToolEntry {
            name: "tag-image",
            command: tag_image::command,
            doc: tag_image::cli::DOC,
        },
        ToolEntry {
            name: "prune-images",
            command: prune_images::command,
            doc: prune_images::cli::DOC,
        },
        ToolEntry {
            name: "scaffold-service",
            command: scaffold_service::command,
            doc: scaffold_service::cli::DOC,
        },
    ]
}
