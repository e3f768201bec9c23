//! When to try next: a pure function of the outcomes so far.
//!
//! The schedule is kept apart from the I/O so every rule of the issue can be
//! pinned by a unit test without a server or a clock:
//!
//! - the first attempt is at once (no outcome yet: wait zero);
//! - a refused connection means nothing listens yet; retrying costs the
//!   target nothing, so the next attempt comes quickly ([`Policy::refused`]),
//!   which keeps the time from "the server is up" to "the waiter sees it"
//!   short;
//! - an answer that is not ready (or any other failure: a timeout, a reset,
//!   garbage, a TLS error, a name that does not resolve) backs off
//!   exponentially from [`Policy::first_backoff`] up to
//!   [`Policy::max_interval`], with jitter so a fleet of waiters does not
//!   beat in step; a `Retry-After` is honoured up to the cap. Refusals
//!   neither grow nor reset the backoff; a ready answer resets it;
//! - ready is `success_threshold` ready outcomes in a row, the confirming
//!   attempts spaced by the cap;
//! - the budget is a hard deadline: a wait never runs past it, and once it
//!   is spent the stage gives up.
//!
//! backon's builders do not fit here: the delay depends on the class of
//! each outcome (quick while refused, exponential once answered) and on
//! the server's Retry-After, and the waits must be interruptible by
//! signals, so the runner sleeps on its own event channel.

use std::time::Duration;

/// What one attempt amounted to, as far as the schedule cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The connection was refused: nothing listens yet.
    Refused,
    /// No usable answer: timed out, reset, garbage, TLS or name lookup failed.
    Failed,
    /// The target answered, but not ready (status, body, server starting up).
    NotReady {
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// The target answered ready.
    Ready,
}

/// The knobs of the schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// The pause between attempts while connections are refused.
    pub refused: Duration,
    /// The first backoff step once the target answers (or fails otherwise).
    pub first_backoff: Duration,
    /// The cap of the backoff (`--max-interval`).
    pub max_interval: Duration,
    /// How much of a backoff step jitter may take off (0.25: up to a quarter).
    pub jitter: f64,
    /// Ready outcomes in a row needed (`--success-threshold`, at least 1).
    pub success_threshold: u32,
}

impl Policy {
    /// The defaults with the user's cap and threshold.
    pub fn new(max_interval: Duration, success_threshold: u32) -> Self {
        Policy {
            refused: Duration::from_millis(20),
            first_backoff: Duration::from_millis(50),
            max_interval,
            jitter: 0.25,
            success_threshold: success_threshold.max(1),
        }
    }
}

/// What to do after the outcomes so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The stage is ready.
    Ready,
    /// Wait this long, then try again.
    After(Duration),
    /// The budget is spent: the stage failed.
    GiveUp,
}

/// Decides the next step from every outcome so far (oldest first), the
/// budget left, and a jitter sample in `[0, 1)` (drawn by the caller, so
/// this stays deterministic).
pub fn next(policy: &Policy, outcomes: &[Outcome], remaining: Duration, sample: f64) -> Next {
    let ready_run = outcomes
        .iter()
        .rev()
        .take_while(|o| **o == Outcome::Ready)
        .count();
    if ready_run >= policy.success_threshold as usize {
        return Next::Ready;
    }
    if remaining.is_zero() {
        return Next::GiveUp;
    }
    let wait = match outcomes.last() {
        None => Duration::ZERO,
        Some(Outcome::Refused) => policy.refused.min(policy.max_interval),
        Some(Outcome::Ready) => policy.max_interval,
        Some(last @ (Outcome::Failed | Outcome::NotReady { .. })) => {
            let since_ready = outcomes
                .iter()
                .rev()
                .take_while(|o| **o != Outcome::Ready)
                .filter(|o| **o != Outcome::Refused)
                .count();
            let step = backoff_step(policy, since_ready);
            let jittered = step.mul_f64(1.0 - policy.jitter * sample.clamp(0.0, 1.0));
            match last {
                Outcome::NotReady {
                    retry_after: Some(after),
                } => jittered.max((*after).min(policy.max_interval)),
                _ => jittered,
            }
        }
    };
    Next::After(wait.min(remaining))
}

/// The `n`th backoff step (n >= 1): `first_backoff * 2^(n-1)`, capped.
fn backoff_step(policy: &Policy, n: usize) -> Duration {
    let doublings = u32::try_from(n.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(30);
    policy
        .first_backoff
        .saturating_mul(1 << doublings)
        .min(policy.max_interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;
    const LOTS: Duration = Duration::from_secs(100);
    const NOT_READY: Outcome = Outcome::NotReady { retry_after: None };

    fn policy() -> Policy {
        Policy::new(Duration::from_secs(1), 1)
    }

    #[test]
    fn the_first_attempt_is_at_once() {
        assert_eq!(next(&policy(), &[], LOTS, 0.5), Next::After(Duration::ZERO));
    }

    #[test]
    fn refused_connections_are_retried_quickly_and_do_not_grow() {
        let refused = vec![Outcome::Refused; 500];
        for n in [1, 2, 10, 500] {
            assert_eq!(
                next(&policy(), &refused[..n], LOTS, 0.9),
                Next::After(MS(20))
            );
        }
    }

    #[test]
    fn answers_that_are_not_ready_back_off_exponentially_up_to_the_cap() {
        let mut outcomes = vec![Outcome::Refused, Outcome::Refused];
        outcomes.extend([NOT_READY; 8]);
        let waits: Vec<u128> = (3..=outcomes.len())
            .map(|n| match next(&policy(), &outcomes[..n], LOTS, 0.0) {
                Next::After(d) => d.as_millis(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(waits, [50, 100, 200, 400, 800, 1000, 1000, 1000]);
    }

    #[test]
    fn failures_back_off_like_not_ready_answers() {
        let outcomes = [Outcome::Failed, Outcome::Failed, Outcome::Failed];
        assert_eq!(next(&policy(), &outcomes, LOTS, 0.0), Next::After(MS(200)));
    }

    #[test]
    fn jitter_takes_at_most_a_quarter_off() {
        let outcomes = [NOT_READY; 10];
        let at = |s| next(&policy(), &outcomes, LOTS, s);
        assert_eq!(at(0.0), Next::After(MS(1000)));
        assert_eq!(at(0.5), Next::After(MS(875)));
        assert_eq!(at(1.0), Next::After(MS(750)));
        // Out-of-range samples are clamped, never a negative or longer wait.
        assert_eq!(at(7.0), Next::After(MS(750)));
        assert_eq!(at(-1.0), Next::After(MS(1000)));
    }

    #[test]
    fn a_refusal_between_answers_neither_grows_nor_resets_the_backoff() {
        let outcomes = [NOT_READY, NOT_READY, Outcome::Refused, NOT_READY];
        assert_eq!(next(&policy(), &outcomes, LOTS, 0.0), Next::After(MS(200)));
        // ... but the wait right after the refusal is the quick one.
        assert_eq!(
            next(&policy(), &outcomes[..3], LOTS, 0.0),
            Next::After(MS(20))
        );
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = policy();
        let ask = |secs| {
            [Outcome::NotReady {
                retry_after: Some(Duration::from_millis(secs)),
            }]
        };
        assert_eq!(next(&p, &ask(300), LOTS, 0.0), Next::After(MS(300)));
        assert_eq!(next(&p, &ask(10), LOTS, 0.0), Next::After(MS(50)));
        assert_eq!(next(&p, &ask(30_000), LOTS, 0.0), Next::After(MS(1000)));
    }

    #[test]
    fn one_ready_outcome_is_enough_by_default() {
        let outcomes = [Outcome::Refused, NOT_READY, Outcome::Ready];
        assert_eq!(next(&policy(), &outcomes, LOTS, 0.0), Next::Ready);
        // Even with no budget left: the answer came in time.
        assert_eq!(next(&policy(), &outcomes, Duration::ZERO, 0.0), Next::Ready);
    }

    #[test]
    fn a_threshold_needs_consecutive_ready_outcomes_spaced_by_the_cap() {
        let p = Policy::new(MS(500), 3);
        let r = Outcome::Ready;
        assert_eq!(next(&p, &[r], LOTS, 0.0), Next::After(MS(500)));
        assert_eq!(next(&p, &[r, r], LOTS, 0.0), Next::After(MS(500)));
        assert_eq!(next(&p, &[r, r, r], LOTS, 0.0), Next::Ready);
        // A relapse starts the count again, and the backoff from its first step.
        assert_eq!(next(&p, &[r, r, NOT_READY], LOTS, 0.0), Next::After(MS(50)));
        assert_eq!(
            next(&p, &[r, r, NOT_READY, r, r], LOTS, 0.0),
            Next::After(MS(500))
        );
        assert_eq!(
            next(&p, &[r, r, NOT_READY, r, r, r], LOTS, 0.0),
            Next::Ready
        );
    }

    #[test]
    fn waits_never_run_past_the_budget_and_a_spent_budget_gives_up() {
        let outcomes = [NOT_READY; 10];
        assert_eq!(
            next(&policy(), &outcomes, MS(120), 0.0),
            Next::After(MS(120))
        );
        assert_eq!(
            next(&policy(), &outcomes, Duration::ZERO, 0.0),
            Next::GiveUp
        );
        assert_eq!(next(&policy(), &[], Duration::ZERO, 0.0), Next::GiveUp);
    }

    #[test]
    fn a_tiny_cap_bounds_even_the_quick_retries() {
        let p = Policy::new(MS(5), 1);
        assert_eq!(next(&p, &[Outcome::Refused], LOTS, 0.0), Next::After(MS(5)));
        assert_eq!(next(&p, &[NOT_READY; 4], LOTS, 0.0), Next::After(MS(5)));
    }

    #[test]
    fn the_ten_second_503_scenario_stays_under_twenty_requests() {
        // The scenario (b): 503 for 10 s. Count the attempts the
        // schedule makes in that window with the worst-case jitter.
        let p = policy();
        let mut outcomes = Vec::new();
        let mut t = Duration::ZERO;
        while t < Duration::from_secs(10) {
            outcomes.push(NOT_READY);
            match next(&p, &outcomes, LOTS, 1.0) {
                Next::After(d) => t += d,
                other => panic!("{other:?}"),
            }
        }
        assert!(outcomes.len() < 20, "{} attempts", outcomes.len());
    }
}
