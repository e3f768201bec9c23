//! The waiting itself: stages in order, attempts on helper threads, one
//! event channel for attempt results and signals.
//!
//! The main thread never blocks on the network. Each attempt runs on its
//! own thread and reports on the channel; the main thread waits on that
//! channel until the attempt's deadline, so a target that accepts a
//! connection and then never answers (or a library whose own timeout
//! misfires) is abandoned on time, and a SIGINT or SIGTERM arriving during
//! an attempt or a pause ends the run at once. An abandoned attempt's late
//! result is recognised by its sequence number and dropped.

use std::fmt::Write as _;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use deploykit::exit::{Error, Exit, Result};
use deploykit::output::Reporter;
use serde::Serialize;

use crate::probe::{Attempt, BODY_HEAD, Probe};
use crate::schedule::{self, Next, Outcome, Policy};
use crate::target::Target;

/// How long past an attempt's own timeout the runner waits for its result
/// before abandoning it (the attempt's timeout should fire first).
const GRACE: Duration = Duration::from_millis(50);

/// One stage, ready to run.
#[derive(Debug)]
pub struct Stage {
    /// What is waited for.
    pub target: Target,
    /// The stage's budget: a hard deadline from the stage's start.
    pub budget: Duration,
    /// The attempt-maker.
    pub probe: Probe,
    /// The schedule's knobs.
    pub policy: Policy,
    /// The deadline of one attempt.
    pub attempt_timeout: Duration,
}

/// One stage in the `--json` summary.
#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    /// The target, password redacted.
    pub target: String,
    /// Whether the stage was ready within its budget.
    pub ready: bool,
    /// How long the stage ran (0 if never reached).
    pub elapsed_ms: u64,
    /// Attempts made (0 if never reached).
    pub attempts: u32,
    /// The last HTTP status seen, if any.
    pub last_status: Option<u16>,
    /// Why the last attempt was not ready (`null` once ready).
    pub last_error: Option<String>,
    /// The stage's budget.
    pub budget_ms: u64,
}

impl StageReport {
    /// The entry of a stage that was never reached.
    pub fn not_reached(stage: &Stage) -> Self {
        StageReport {
            target: stage.target.to_string(),
            ready: false,
            elapsed_ms: 0,
            attempts: 0,
            last_status: None,
            last_error: None,
            budget_ms: millis(stage.budget),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// How a stage ended.
#[derive(Debug)]
pub enum StageEnd {
    /// Ready within the budget.
    Ready(StageReport),
    /// Not ready within the budget: the report and the message to print.
    NotReady(StageReport, String),
    /// Interrupted by a signal (SIGINT or SIGTERM) or stopped by a usage
    /// error found on the way.
    Stopped(StageReport, Error),
}

enum Event {
    Signal(i32),
    Done(u64, Result<Attempt>),
}

/// The event channel: attempt results and signals.
pub struct Events {
    tx: Sender<Event>,
    rx: Receiver<Event>,
    seq: u64,
}

impl Events {
    /// Starts listening for SIGINT and SIGTERM.
    ///
    /// The signal wakes the wait at once, and the stage ends as `Stopped`,
    /// so the summary (`--json`) still says how far each stage got: the
    /// shared handler is told to let the run report (`cooperate`).
    pub fn new() -> Result<Self> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        deploykit::signals::cooperate();
        let (tx, rx) = mpsc::channel();
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
            .map_err(|e| Error::new(Exit::Usage, format!("installing signal handlers: {e}")))?;
        let forward = tx.clone();
        thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if forward.send(Event::Signal(signal)).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| Error::new(Exit::Usage, format!("starting the signal thread: {e}")))?;
        Ok(Events { tx, rx, seq: 0 })
    }

    /// Sleeps for `d` unless a signal comes first.
    fn sleep(&self, d: Duration) -> Result<()> {
        let until = Instant::now() + d;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            match self.rx.recv_timeout(left) {
                Ok(Event::Signal(signal)) => return Err(signal_error(signal)),
                Ok(Event::Done(..)) => {} // a late result of an abandoned attempt
                Err(RecvTimeoutError::Timeout) => return Ok(()),
                Err(RecvTimeoutError::Disconnected) => {
                    thread::sleep(left);
                    return Ok(());
                }
            }
        }
    }

    /// Runs one attempt on a helper thread; gives up on it at `until`.
    fn attempt(&mut self, probe: &Probe, timeout: Duration, until: Instant) -> Result<Attempt> {
        self.seq += 1;
        let seq = self.seq;
        let tx = self.tx.clone();
        let probe = probe.clone();
        thread::Builder::new()
            .name(format!("attempt-{seq}"))
            .spawn(move || {
                let _ = tx.send(Event::Done(seq, probe.attempt(timeout)));
            })
            .map_err(|e| Error::new(Exit::Usage, format!("starting an attempt thread: {e}")))?;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(Event::Signal(signal)) => return Err(signal_error(signal)),
                Ok(Event::Done(done, result)) if done == seq => return result,
                Ok(Event::Done(..)) => {}
                Err(_) => return Ok(Attempt::abandoned(timeout)),
            }
        }
    }
}

fn signal_error(signal: i32) -> Error {
    if signal == signal_hook::consts::SIGTERM {
        Error::new(Exit::Terminated, "terminated by SIGTERM")
    } else {
        Error::new(Exit::Interrupted, "interrupted by SIGINT")
    }
}

/// Runs one stage to its end. `place` is "stage i of n" for messages.
pub fn run_stage(stage: &Stage, place: &str, events: &mut Events, out: &Reporter) -> StageEnd {
    let target = stage.target.to_string();
    let started = Instant::now();
    let deadline = started + stage.budget;
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut last: Option<Attempt> = None;
    let report = |last: Option<&Attempt>, attempts: usize, ready: bool| StageReport {
        target: target.clone(),
        ready,
        elapsed_ms: millis(started.elapsed()),
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        last_status: last.and_then(|a| a.status),
        last_error: last.and_then(|a| a.error.clone()),
        budget_ms: millis(stage.budget),
    };
    out.detail(format_args!(
        "{target}: waiting up to {} ({place})",
        deploykit::duration::format(stage.budget)
    ));
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match schedule::next(&stage.policy, &outcomes, remaining, rand::random::<f64>()) {
            Next::Ready => return StageEnd::Ready(report(last.as_ref(), outcomes.len(), true)),
            Next::GiveUp => {
                let report = report(last.as_ref(), outcomes.len(), false);
                let message = failure_message(stage, place, &report, last.as_ref());
                return StageEnd::NotReady(report, message);
            }
            Next::After(pause) => {
                if let Err(err) = events.sleep(pause) {
                    return StageEnd::Stopped(report(last.as_ref(), outcomes.len(), false), err);
                }
            }
        }
        let now = Instant::now();
        let remaining = deadline.saturating_duration_since(now);
        if remaining.is_zero() {
            continue; // the schedule gives up
        }
        let timeout = stage.attempt_timeout.min(remaining);
        let attempt = match events.attempt(&stage.probe, timeout, now + timeout + GRACE) {
            Ok(attempt) => attempt,
            Err(err) => {
                // A refusal by the target is an attempt that was made, and
                // its message is the stage's last error; a signal is not.
                let refused = err.status() == Exit::Denied;
                let mut report =
                    report(last.as_ref(), outcomes.len() + usize::from(refused), false);
                if refused {
                    report.last_error = Some(err.to_string());
                }
                return StageEnd::Stopped(report, err);
            }
        };
        outcomes.push(attempt.outcome);
        out.detail(format_args!(
            "{target}: attempt {}: {} (took {})",
            outcomes.len(),
            attempt.state,
            deploykit::duration::format(now.elapsed())
        ));
        // An attempt the budget cut short that then failed says only that
        // time ran out; the attempt before it says why the target was not
        // ready, so that one stays the "last" for the report.
        let cut_short = timeout < stage.attempt_timeout && attempt.outcome == Outcome::Failed;
        if cut_short && last.is_some() {
            continue;
        }
        let changed = last.as_ref().is_none_or(|l| l.state != attempt.state);
        let now_ready = attempt.outcome == Outcome::Ready
            && schedule::next(&stage.policy, &outcomes, Duration::ZERO, 0.0) == Next::Ready;
        if now_ready {
            out.progress(format_args!(
                "{target}: {}, ready after {} ({} attempt{})",
                attempt.state,
                deploykit::duration::format(started.elapsed()),
                outcomes.len(),
                if outcomes.len() == 1 { "" } else { "s" }
            ));
        } else if changed {
            out.progress(format_args!("{target}: {}", attempt.state));
        }
        last = Some(attempt);
    }
}

/// The one-line account of a failed stage: budget, attempts, last
/// status, last error and the head of the last body.
fn failure_message(
    stage: &Stage,
    place: &str,
    report: &StageReport,
    last: Option<&Attempt>,
) -> String {
    let mut text = format!(
        "{}: not ready within {} ({place}, {} attempt{})",
        report.target,
        deploykit::duration::format(stage.budget),
        report.attempts,
        if report.attempts == 1 { "" } else { "s" }
    );
    if let Some(status) = report.last_status {
        let _ = write!(text, "; last status: {status}");
    }
    if let Some(error) = &report.last_error {
        let _ = write!(text, "; last error: {error}");
    }
    if let Some(head) = last.and_then(|a| a.body_head.as_deref()) {
        let shown = String::from_utf8_lossy(head);
        let _ = write!(
            text,
            "; body: \"{}\"{}",
            shown.escape_debug(),
            if head.len() >= BODY_HEAD { "…" } else { "" }
        );
    }
    text
}
