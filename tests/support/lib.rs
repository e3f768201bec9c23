//! Test support shared by the cross-tool integration tests: the real-service
//! harness and helpers that run the built binaries.

pub mod bins;
pub mod engine;
pub mod faults;
pub mod k8s;
pub mod pg;
pub mod registry;
pub mod tools;
pub mod util;

pub use bins::{PLANTED, Run, Tool};
