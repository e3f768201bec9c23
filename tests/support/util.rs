//! Small helpers every harness module needs.

use std::net::TcpListener;
use std::process::{Command, Stdio};

use sha2::{Digest as _, Sha256};

/// Fails the test unless `program` is on PATH, naming the package that
/// brings it: the tests never skip a missing real component.
pub fn require(program: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{program} is required for this test: run scripts/setup (apt-get install -y {package}); \
         the tests never skip a missing real component"
    );
}

/// The lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    deploykit::imageref::hex(&Sha256::digest(bytes))
}

/// A free TCP port on 127.0.0.1 (bound, read, released: a race with other
/// processes is possible, and the harnesses retry on it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0 to find a free port")
        .port()
}
