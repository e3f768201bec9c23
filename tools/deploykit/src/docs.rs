//! Examples, exit statuses, man pages and shell completions, from one source.
//!
//! Each tool describes its examples and the exit statuses it really returns in
//! a [`ToolDoc`]; the same data feeds `--help` (via [`ToolDoc::after_help`])
//! and the generated man page, so the two cannot drift apart. The man page
//! also gets a SECURITY section: what the tool sends where. The rendering
//! of man pages and completions is behind the `docs` feature: only the
//! generator (the man-page test) needs it, not the tools.

use std::fmt::Write as _;

#[cfg(feature = "docs")]
use clap_mangen::roff::{Roff, bold, roman};

use crate::exit::Exit;

/// One example invocation with a line saying what it does.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// What the example does.
    pub what: &'static str,
    /// The command line.
    pub command: &'static str,
}

/// The documentation of one tool that clap does not model.
#[derive(Debug, Clone, Copy)]
pub struct ToolDoc {
    /// Example invocations, most common first.
    pub examples: &'static [Example],
    /// The exit statuses the tool returns, each with what it means for this tool.
    pub exit_statuses: &'static [(Exit, &'static str)],
    /// What the tool sends where (credentials, plain HTTP, redirects) and
    /// what it writes: the man page's SECURITY section, a paragraph each.
    /// Paragraphs two tools share live once, beside the code they describe
    /// (e.g. `registry::SECURITY`).
    pub security: &'static [&'static str],
    /// The shape of the tool's `--json` document, per subcommand: the
    /// fields the tool puts in it (the shared `exit` and `error` are
    /// described once, by [`JSON_ENVELOPE`]).
    pub json: &'static str,
}

/// What every tool's `--json` document has in common, for the JSON OUTPUT
/// section of every man page (CONVENTIONS.md, Output).
pub const JSON_ENVELOPE: &str = "With --json, stdout holds exactly one JSON object, whether the run \
succeeds or fails. Its last field is \"exit\", the status the process exits with; a run that ends \
in an error also has \"error\", the message printed on stderr. A run that fails before it has a \
result (a usage error, an unreachable remote) prints only {\"error\": \"...\", \"exit\": N}. \
\"repository\" is always a repository's full name, registry included (docker.io/library/app).";

impl ToolDoc {
    /// The text shown after `--help`: the examples and the exit statuses.
    pub fn after_help(&self) -> String {
        let mut text = String::from("Examples:\n");
        for ex in self.examples {
            let _ = write!(text, "  # {}\n  {}\n\n", ex.what, ex.command);
        }
        text.push_str("Exit status:\n");
        for (exit, meaning) in self.exit_statuses {
            let _ = writeln!(text, "  {:>3}  {meaning}", exit.code());
        }
        text
    }

    /// Renders the man page of `cmd` with EXAMPLES and EXIT STATUS sections.
    #[cfg(feature = "docs")]
    pub fn man_page(&self, cmd: clap::Command) -> std::io::Result<Vec<u8>> {
        // The after-help text duplicates EXAMPLES/EXIT STATUS; the man page
        // renders those as proper sections instead.
        let cmd = cmd.after_help(None::<&str>).after_long_help(None::<&str>);
        let man = clap_mangen::Man::new(cmd.clone()).date("");
        let mut out = Vec::new();
        man.render_title(&mut out)?;
        man.render_name_section(&mut out)?;
        man.render_synopsis_section(&mut out)?;
        man.render_description_section(&mut out)?;
        if cmd.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut out)?;
        }
        if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
            man.render_subcommands_section(&mut out)?;
        }
        let mut roff = Roff::default();
        roff.control("SH", ["EXAMPLES"]);
        for ex in self.examples {
            roff.control("TP", []);
            roff.text([roman(ex.what)]);
            roff.control("IP", []);
            roff.text([bold(ex.command)]);
        }
        roff.control("SH", ["JSON OUTPUT"]);
        roff.text([roman(JSON_ENVELOPE)]);
        if !self.json.is_empty() {
            roff.control("PP", []);
            roff.text([roman(self.json)]);
        }
        roff.control("SH", ["EXIT STATUS"]);
        for (exit, meaning) in self.exit_statuses {
            roff.control("TP", []);
            roff.text([bold(exit.code().to_string())]);
            roff.text([roman(*meaning)]);
        }
        if !self.security.is_empty() {
            roff.control("SH", ["SECURITY"]);
            for paragraph in self.security {
                roff.control("PP", []);
                roff.text([roman(*paragraph)]);
            }
        }
        roff.to_writer(&mut out)?;
        man.render_version_section(&mut out)?;
        Ok(out)
    }
}

/// The shells completions are generated for, with their file names.
#[cfg(feature = "docs")]
pub fn completion_files(bin: &str) -> [(clap_complete::Shell, String); 3] {
    use clap_complete::Shell;
    [
        (Shell::Bash, format!("{bin}.bash")),
        (Shell::Zsh, format!("_{bin}")),
        (Shell::Fish, format!("{bin}.fish")),
    ]
}

/// Renders the completion script of `cmd` for `shell`.
#[cfg(feature = "docs")]
pub fn completion(cmd: &mut clap::Command, shell: clap_complete::Shell) -> Vec<u8> {
    let name = cmd.get_name().to_owned();
    let mut out = Vec::new();
    clap_complete::generate(shell, cmd, name, &mut out);
    out
}
