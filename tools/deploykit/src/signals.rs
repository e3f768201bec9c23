//! SIGTERM and SIGINT end every tool with 143 and 130 and say so.
//!
//! A deploy host stops a job with SIGTERM (systemd, `timeout`, a CI runner
//! cancelling); an operator stops one with Ctrl-C. Left to the default
//! action the process dies by the signal: the shell sees 143/130, but a
//! parent reading the wait status (a CI runner, a Rust or Python wrapper)
//! sees no exit code at all, and nothing on stderr says why the tool
//! stopped. [`install`] (called by [`crate::process::run`] for every tool)
//! turns the first signal into the conventions' status and a
//! `<tool>: terminated by SIGTERM` line.
//!
//! What makes this safe is the shape of the work, not the handler: a
//! Postgres transaction that is cut off with its connection is rolled back
//! by the server, and a tag is written only after everything it refers to
//! is in place. So by default the process ends at once, wherever it is, from
//! the signal handler itself: it writes the line and calls `_exit`. No
//! thread waits for the signal, because a thread is not free on the small
//! machines these tools run on: starting it competes with the remote the
//! tool is talking to, and a two-thread process exits more slowly.
//!
//! A tool whose run is a sequence of independent steps that it reports
//! (prune-images deleting one image after another) calls [`cooperate`] and
//! checks [`check`] between steps: from then on a thread takes the signal,
//! which then stops the tool at the next step boundary, and the report says
//! what was done. A step that does not end within [`GRACE`] (a request stuck
//! on a slow remote) is cut off anyway, so a signal never waits on a remote.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::exit::{Error, Exit, Result};

/// How long a cooperating tool has, after the signal, to reach a step
/// boundary and end on its own before the process is ended for it.
pub const GRACE: Duration = Duration::from_secs(1);

/// The first signal received (0: none yet).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// Whether a cooperating tool's thread owns the signals (the handler then
/// leaves them to it).
static COOPERATIVE: AtomicBool = AtomicBool::new(false);
/// Set once the tool's body has returned: from then on the main thread owns
/// the exit (and its one error line), the handlers stay quiet.
static FINISHED: Mutex<bool> = Mutex::new(false);
static FINISHED_CHANGED: Condvar = Condvar::new();
/// [`FINISHED`] for the signal handler, which cannot take a lock.
static BODY_RETURNED: AtomicBool = AtomicBool::new(false);
/// The tool's name and the two lines, written before the handler is
/// installed so that the handler only reads them.
static TOOL: OnceLock<(String, [Vec<u8>; 2])> = OnceLock::new();

/// The exit status a signal ends the process with.
fn status_of(signal: i32) -> Exit {
    if signal == SIGINT {
        Exit::Interrupted
    } else {
        Exit::Terminated
    }
}

/// Starts handling SIGTERM and SIGINT for `tool`.
///
/// If the handler cannot be installed the default action stays, which still
/// ends the process; nothing else depends on it, so that is not an error.
pub fn install(tool: &str) {
    let line = |signal| format!("{tool}: {}\n", status_of(signal).meaning()).into_bytes();
    if TOOL
        .set((tool.to_owned(), [line(SIGINT), line(SIGTERM)]))
        .is_err()
    {
        return; // installed already
    }
    for signal in [SIGINT, SIGTERM] {
        // SAFETY: `on_signal` is async-signal-safe: it reads atomics
        // (its own and `output`'s JSON mode) and a OnceLock set above (no
        // allocation, no lock), then makes the write(2) and _exit(2)
        // system calls.
        #[allow(unsafe_code)]
        let _ = unsafe { signal_hook::low_level::register(signal, move || on_signal(signal)) };
    }
}

/// The handler: records the signal and, unless a cooperating tool's thread
/// takes it or the body has returned, ends the process with its line.
fn on_signal(signal: i32) {
    let _ = RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
    if COOPERATIVE.load(Ordering::SeqCst) || BODY_RETURNED.load(Ordering::SeqCst) {
        return;
    }
    if let Some((_, [interrupted, terminated])) = TOOL.get() {
        let line = if signal == SIGINT {
            interrupted
        } else {
            terminated
        };
        let _ = rustix::io::write(std::io::stderr(), line);
    }
    if crate::output::json_mode() {
        // A --json run's one document, even here (written, not built).
        let document: &[u8] = if signal == SIGINT {
            b"{\n  \"error\": \"interrupted by SIGINT\",\n  \"exit\": 130\n}\n"
        } else {
            b"{\n  \"error\": \"terminated by SIGTERM\",\n  \"exit\": 143\n}\n"
        };
        let _ = rustix::io::write(std::io::stdout(), document);
    }
    signal_hook::low_level::exit(i32::from(status_of(signal).code()));
}

/// Ends the process with `status` unless the tool's body finishes first
/// (within [`GRACE`]).
fn end(tool: &str, status: Exit) {
    let finished = FINISHED.lock().unwrap_or_else(PoisonError::into_inner);
    let finished = FINISHED_CHANGED
        .wait_timeout_while(finished, GRACE, |done| !*done)
        .unwrap_or_else(PoisonError::into_inner)
        .0;
    if !*finished {
        eprintln!("{tool}: {}", status.meaning());
        if let Some(document) =
            crate::output::finish_document(status.code(), Some(status.meaning()))
        {
            use std::io::Write;
            let _ = std::io::stdout().lock().write_all(document.as_bytes());
        }
        // Holding the lock: the main thread cannot start its own exit now.
        std::process::exit(i32::from(status.code()));
    }
}

/// Marks the tool's body as returned: the main thread reports and exits.
pub fn finish() {
    BODY_RETURNED.store(true, Ordering::SeqCst);
    let mut finished = FINISHED.lock().unwrap_or_else(PoisonError::into_inner);
    *finished = true;
    FINISHED_CHANGED.notify_all();
}

/// Declares that the tool checks [`check`] between its steps, so a signal
/// lets the current step finish (within [`GRACE`]) and the tool report: a
/// thread takes the signals from here on.
pub fn cooperate() {
    let Some((tool, _)) = TOOL.get() else {
        return; // no handler installed (a unit test): nothing to take over
    };
    if COOPERATIVE.load(Ordering::SeqCst) {
        return;
    }
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return; // the immediate handler stays
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let _ = RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
                end(tool, status_of(signal));
            }
        });
    if spawned.is_ok() {
        COOPERATIVE.store(true, Ordering::SeqCst);
    }
}

/// `Err` with exit 143 or 130 once SIGTERM or SIGINT has arrived: the
/// point between two steps where a cooperating tool stops.
pub fn check() -> Result<()> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => Ok(()),
        signal => {
            let status = status_of(signal);
            Err(Error::new(status, status.meaning()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_map_to_the_conventions_statuses() {
        assert_eq!(status_of(SIGTERM).code(), 143);
        assert_eq!(status_of(SIGINT).code(), 130);
    }

    #[test]
    fn check_passes_until_a_signal_arrives() {
        // The unit-test process never receives one.
        assert!(check().is_ok());
    }
}
