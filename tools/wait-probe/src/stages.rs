//! Matching the stage options to the targets they precede.
//!
//! `wait-probe --budget 20s A --budget 120s B` must give A 20 s and B
//! 120 s, so the meaning of a stage option depends on where it stands on
//! the command line. clap records the position of every value; this module
//! folds the options and targets, in command-line order, into one
//! [`StageSpec`] per target. A stage option replaces the earlier value of
//! the same option for the targets after it (`--expect-json` and `--header`
//! add up instead); an option after the last target applies to nothing and
//! is an error, so `wait-probe URL --budget 5s` cannot silently run with
//! the default budget.

use std::time::Duration;

use crate::rules::{Expect, Header, StatusSet};

/// The budget of a target no `--budget` precedes.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(30);

/// One command-line item that shapes the stages.
#[derive(Debug, Clone)]
pub enum Item {
    /// A target, as typed.
    Target(String),
    /// `--budget`.
    Budget(Duration),
    /// `--status`.
    Status(StatusSet),
    /// `--success-threshold`.
    Threshold(u32),
    /// `--expect-json`.
    Expect(Expect),
    /// `--header`.
    Header(Header),
}

impl Item {
    fn flag(&self) -> &'static str {
        match self {
            Item::Target(_) => "TARGET",
            Item::Budget(_) => "--budget",
            Item::Status(_) => "--status",
            Item::Threshold(_) => "--success-threshold",
            Item::Expect(_) => "--expect-json",
            Item::Header(_) => "--header",
        }
    }
}

/// A target with the stage options in force where it stands.
#[derive(Debug, Clone)]
pub struct StageSpec {
    /// The target as typed (parsed later, with the environment).
    pub target: String,
    /// How long the stage may take.
    pub budget: Duration,
    /// Whether a `--budget` precedes the target (else `budget` is the
    /// default, and an overall `--timeout` replaces it).
    pub budget_given: bool,
    /// Accepted HTTP statuses.
    pub status: StatusSet,
    /// Ready answers needed in a row.
    pub success_threshold: u32,
    /// Body expectations (HTTP only).
    pub expects: Vec<Expect>,
    /// Request headers (HTTP only).
    pub headers: Vec<Header>,
}

/// Folds `(position, item)` pairs, in any order, into stages.
pub fn assemble(mut items: Vec<(usize, Item)>) -> Result<Vec<StageSpec>, String> {
    items.sort_by_key(|(position, _)| *position);
    let mut budget = DEFAULT_BUDGET;
    let mut budget_given = false;
    let mut status = StatusSet::default();
    let mut threshold = 1;
    let mut expects = Vec::new();
    let mut headers = Vec::new();
    let mut stages = Vec::new();
    let mut dangling: Option<&'static str> = None;
    for (_, item) in items {
        if !matches!(item, Item::Target(_)) {
            dangling = dangling.or(Some(item.flag()));
        }
        match item {
            Item::Target(target) => {
                dangling = None;
                stages.push(StageSpec {
                    target,
                    budget,
                    budget_given,
                    status: status.clone(),
                    success_threshold: threshold,
                    expects: expects.clone(),
                    headers: headers.clone(),
                });
            }
            Item::Budget(b) => {
                budget = b;
                budget_given = true;
            }
            Item::Status(s) => status = s,
            Item::Threshold(n) => threshold = n,
            Item::Expect(e) => expects.push(e),
            Item::Header(h) => headers.push(h),
        }
    }
    if let Some(flag) = dangling {
        return Err(format!(
            "{flag} comes after the last target and would apply to none: stage options \
             apply to the targets that follow them (e.g. wait-probe --budget 30s URL)"
        ));
    }
    Ok(stages)
}

/// Collects the items of parsed arguments with their positions.
pub fn items(matches: &clap::ArgMatches) -> Vec<(usize, Item)> {
    fn collect<T: Clone + Send + Sync + 'static>(
        matches: &clap::ArgMatches,
        id: &str,
        wrap: impl Fn(T) -> Item,
        out: &mut Vec<(usize, Item)>,
    ) {
        if let (Some(values), Some(indices)) = (matches.get_many::<T>(id), matches.indices_of(id)) {
            out.extend(indices.zip(values.cloned().map(wrap)));
        }
    }
    let mut out = Vec::new();
    collect(matches, "targets", Item::Target, &mut out);
    collect(matches, "budget", Item::Budget, &mut out);
    collect(matches, "status", Item::Status, &mut out);
    collect(matches, "success_threshold", Item::Threshold, &mut out);
    collect(matches, "expect_json", Item::Expect, &mut out);
    collect(matches, "header", Item::Header, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn parse(args: &[&str]) -> Result<Vec<StageSpec>, String> {
        let argv = std::iter::once("wait-probe").chain(args.iter().copied());
        let matches = crate::command()
            .try_get_matches_from(argv)
            .map_err(|e| e.to_string())?;
        assemble(items(&matches))
    }

    #[test]
    fn each_budget_applies_to_the_targets_after_it() {
        let stages = parse(&[
            "--budget",
            "20s",
            "http://h/livez",
            "--budget=120s",
            "http://h/readyz",
        ])
        .unwrap();
        let budgets: Vec<_> = stages
            .iter()
            .map(|s| (s.target.as_str(), s.budget))
            .collect();
        assert_eq!(
            budgets,
            [("http://h/livez", secs(20)), ("http://h/readyz", secs(120))]
        );
    }

    #[test]
    fn targets_before_any_budget_get_the_default() {
        let stages = parse(&["tcp://a:1", "--budget", "5s", "tcp://b:2", "tcp://c:3"]).unwrap();
        let budgets: Vec<_> = stages.iter().map(|s| s.budget).collect();
        assert_eq!(budgets, [DEFAULT_BUDGET, secs(5), secs(5)]);
    }

    #[test]
    fn expectations_and_headers_add_up_other_options_replace() {
        let stages = parse(&[
            "--header",
            "X-A: 1",
            "--status",
            "200",
            "http://h/livez",
            "--expect-json",
            "sha=abc",
            "--status",
            "204",
            "--success-threshold",
            "2",
            "http://h/version",
            "--expect-json",
            "service=api",
            "--header",
            "X-B: 2",
            "http://h/other",
        ])
        .unwrap();
        let view: Vec<_> = stages
            .iter()
            .map(|s| {
                (
                    s.status.to_string(),
                    s.success_threshold,
                    s.expects.len(),
                    s.headers.len(),
                )
            })
            .collect();
        assert_eq!(
            view,
            [
                ("200".into(), 1, 0, 1),
                ("204".into(), 2, 1, 1),
                ("204".into(), 2, 2, 2)
            ]
        );
    }

    #[test]
    fn a_stage_option_after_the_last_target_is_an_error() {
        let err = parse(&["http://h/livez", "--budget", "5s"]).unwrap_err();
        assert!(
            err.contains("--budget comes after the last target"),
            "{err}"
        );
        let err = parse(&["--budget", "5s", "tcp://a:1", "--expect-json", "a=1"]).unwrap_err();
        assert!(err.contains("--expect-json"), "{err}");
        // Global options may go anywhere.
        assert!(parse(&["tcp://a:1", "--max-interval", "2s", "--json"]).is_ok());
    }

    #[test]
    fn the_command_after_the_separator_is_not_a_target() {
        let stages = parse(&["tcp://a:1", "--", "echo", "--budget", "x"]).unwrap();
        assert_eq!(stages.len(), 1);
    }
}
