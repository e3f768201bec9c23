//! The cross-tool integration tests, as one test binary (as uutils/coreutils
//! does): every former `tests/<name>.rs` is a module here. Each test file
//! used to be its own binary linking every tool, so a change to the
//! shared harness relinked every one of them; one binary links once.
//!
//! One process now runs every file's tests in parallel threads, so a test
//! must not change process-wide state (environment, current directory) and
//! keeps its files, ports and servers to itself. `Cargo.toml` sets
//! `autotests = false`: a new file under `tests/` runs only once it is
//! declared below, which [`every_test_file_is_a_module`] checks.

mod bad_input;
mod cli_cases;
mod dockerignore_differential;
mod entry;
mod fault_matrix;
mod gitops_lane;
mod hostile_registry;
mod image_digest;
mod image_digest_conformance;
mod libpq_differential;
mod man_pages;
mod module_graph;
mod pg_harness;
mod pipeline;
mod provision_db;
mod prune_images;
mod prune_images_registry;
mod release;
mod scaffold_service;
mod secret_sweep;
mod sigterm;
mod tag_image;
mod tag_image_pin;
mod validate_dsns;
mod wait_probe;

/// With `autotests = false` a test file nobody declares would never run:
/// every `tests/*.rs` besides this one must be a `mod` of this file.
#[test]
fn every_test_file_is_a_module() {
    let dir = deploykit_tests::bins::workspace_root().join("tests");
    let this = include_str!("tests.rs");
    for entry in std::fs::read_dir(&dir).expect("tests/").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(module) = name.strip_suffix(".rs") else {
            continue;
        };
        if module == "tests" {
            continue;
        }
        assert!(
            this.lines().any(|l| l == format!("mod {module};")),
            "tests/{name} is not declared in tests/tests.rs, so it never runs"
        );
    }
}
