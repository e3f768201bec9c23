//! CLI behaviour pinned by case files: `tests/cmd/<tool>/*.toml`, each with
//! the arguments, environment, exit status, stdout and stderr of one run.
//! `TRYCMD=overwrite cargo test -p deploykit-tests --test tests cli_cases`
//! refreshes them after a deliberate change. Every case's output is also
//! swept for planted secrets.

use deploykit_tests::{PLANTED, bins, tools};

#[test]
fn cli_cases() {
    let cases = trycmd::TestCases::new();
    for tool in tools::all() {
        cases.register_bin(tool.name, bins::bin(tool.name));
    }
    cases.case("tests/cmd/*/*.toml");
}

/// The case files plant secrets in arguments and variables; their pinned
/// outputs must not contain any (trycmd compares outputs to these files).
#[test]
fn pinned_outputs_hold_no_secret() {
    let root = bins::workspace_root().join("tests/cmd");
    for dir in std::fs::read_dir(&root).expect("tests/cmd").flatten() {
        for file in std::fs::read_dir(dir.path()).expect("case dir").flatten() {
            let text = std::fs::read_to_string(file.path()).expect("case file");
            let outputs: String = text
                .split("stdout =")
                .skip(1)
                .chain(text.split("stderr =").skip(1))
                .map(|s| s.split("\n[").next().unwrap_or_default().to_owned())
                .collect();
            for secret in PLANTED {
                assert!(
                    !outputs.contains(secret),
                    "{}: pinned output contains {secret}",
                    file.path().display()
                );
            }
        }
    }
}
