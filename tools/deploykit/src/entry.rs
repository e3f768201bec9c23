//! The tools' process entry: `main!` in each tool's `main.rs`.
//!
//! Why not an ordinary `fn main`: a tool's run is mostly start-up, and
//! Rust's runtime set-up before `main` cost 40-70 µs of it on the machine in
//! `scripts/bench/RESULTS.md` (it reads /proc/self/maps to place the main
//! thread's stack guard, maps an alternate signal stack and installs
//! SIGSEGV/SIGBUS handlers that turn a stack overflow into a message), a
//! tenth of an `image-digest resolve` above its floor. On Linux with glibc,
//! where std still receives the arguments through `.init_array`, [`main!`]
//! defines the C `main` itself and [`run`] does the part of that set-up the
//! tools rely on:
//!
//! - fds 0, 1 and 2 are open (a closed one becomes /dev/null), so a file a
//!   tool opens can never be its stdout;
//! - SIGPIPE has a handler that does nothing, so a write to a closed pipe
//!   fails with EPIPE, which [`crate::exit::run`] treats as the reader
//!   leaving, as under std's SIG_IGN (and, unlike SIG_IGN, a program the
//!   tool execs starts with the default again, as std arranges for its
//!   children);
//! - a panic prints its message and ends the process with 101;
//! - stdout is flushed before the process exits (by `std::process::exit`,
//!   which the C `main` ends with, as every early exit of the tools does).
//!
//! Given up: a stack overflow is a plain SIGSEGV, and a panic message names
//! the main thread `<unnamed>`. Elsewhere `main!` is an ordinary `fn main`.

use std::io;
use std::os::fd::{AsFd, IntoRawFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::exit::{Exit, Result};

/// Defines the tool's entry point: `deploykit::main!("tool", tool::main);`
/// with `#![cfg_attr(all(target_os = "linux", target_env = "gnu", not(test)), no_main)]`
/// at the top of `main.rs`. `body` is the tool's `fn() -> Result<Exit>`.
#[macro_export]
macro_rules! main {
    ($tool:literal, $body:path) => {
        #[cfg(all(target_os = "linux", target_env = "gnu", not(test)))]
        // SAFETY: the one C `main` of the binary (the crate is `no_main`),
        // with C's signature; it never returns.
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
            ::std::process::exit($crate::entry::run($tool, $body))
        }

        #[cfg(not(all(target_os = "linux", target_env = "gnu", not(test))))]
        fn main() -> ::std::process::ExitCode {
            ::std::process::ExitCode::from($crate::exit::run($tool, $body))
        }
    };
}

/// Sets the process up as above, runs `body` through
/// [`crate::exit::run`] and returns the exit code (101 after a panic).
pub fn run(tool: &str, body: impl FnOnce() -> Result<Exit>) -> i32 {
    open_standard_fds();
    // A handler, not SIG_IGN: see the module doc. Without one the first
    // write to a closed pipe would end the process by signal.
    let _ = signal_hook::flag::register(
        signal_hook::consts::SIGPIPE,
        Arc::new(AtomicBool::new(false)),
    );
    let code = catch_unwind(AssertUnwindSafe(|| crate::exit::run(tool, body))).unwrap_or(101);
    i32::from(code)
}

/// Reopens each of fds 0, 1 and 2 that is closed on /dev/null, in order:
/// `open` returns the lowest free fd, which is the one being filled.
fn open_standard_fds() {
    let closed = [
        rustix::io::fcntl_getfd(io::stdin().as_fd()).is_err(),
        rustix::io::fcntl_getfd(io::stdout().as_fd()).is_err(),
        rustix::io::fcntl_getfd(io::stderr().as_fd()).is_err(),
    ];
    for _ in closed.iter().filter(|c| **c) {
        if let Ok(null) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
        {
            // Kept open for the life of the process, as the fd it stands for.
            let _ = null.into_raw_fd();
        }
    }
}
