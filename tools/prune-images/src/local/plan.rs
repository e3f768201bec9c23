//! The policy of `prune-images local`, as a pure function of the facts.
//!
//! [`plan`] takes what the engine listed (images, containers), what is
//! protected, the time and the options, and decides for every image whether
//! it stays (and why) or goes (and in which order). Nothing here talks to
//! an engine, so every rule is unit-tested; the same [`Plan`] drives the
//! table, the `--json` document and the removals.
//!
//! The rules, in the order they are checked (every reason that applies is
//! recorded, the first is shown):
//!
//! 1. used by a container, running or stopped — a stopped container is a
//!    rollback or a `docker start` away from needing its image;
//! 2. protected by `--protect` / `--protect-file`;
//! 3. among the `--keep` newest of one of its repositories (the rollback
//!    window; an image pulled by digest, untagged, still belongs to the
//!    repository of its digest);
//! 4. younger than `--min-age` (a deploy in progress pulls before it runs).
//!
//! Everything else goes: dangling images (no tag, no digest) first, then the
//! rest, oldest first. With `--target-free`, removals stop as soon as the
//! estimated free space reaches the target (the apply step measures it
//! again after each removal).

use std::collections::BTreeMap;
use std::time::Duration;

use deploykit::engine::{ContainerSummary, ImageSummary};
use deploykit::exit::Result;
use serde::Serialize;

use crate::protect::{self, ProtectSet, Protection};

/// The knobs of the policy.
#[derive(Debug, Clone)]
pub struct Options {
    /// Images kept per repository, newest first.
    pub keep: usize,
    /// Images younger than this are kept.
    pub min_age: Duration,
    /// Repository patterns (`*` any run of characters); empty: all.
    pub repos: Vec<String>,
    /// Stop removing once this many bytes are free.
    pub target_free: Option<u64>,
    /// Free bytes of the data root now (needed with `target_free`).
    pub free_now: Option<u64>,
}

/// Why an image stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Keep {
    /// Used by containers (names).
    InUse {
        /// Container names (or short ids).
        containers: Vec<String>,
    },
    /// Named by a protect reference.
    Protected {
        /// Where the protection came from (`--protect`, `FILE:LINE`).
        source: String,
    },
    /// One of the `--keep` newest of a repository.
    RollbackWindow {
        /// The repository, named in full (`docker.io/library/app`), as in
        /// every tool's JSON.
        repository: String,
        /// 1 = newest.
        rank: usize,
    },
    /// Younger than `--min-age`.
    TooYoung {
        /// Age in seconds.
        age_seconds: i64,
    },
    /// `--target-free` was reached before this image's turn.
    TargetReached,
}

impl Keep {
    /// One line for the table.
    pub fn describe(&self) -> String {
        match self {
            Keep::InUse { containers } => format!("in use by {}", containers.join(", ")),
            Keep::Protected { source } => format!("protected ({source})"),
            Keep::RollbackWindow { repository, rank } => {
                format!("rollback window: #{rank} newest of {repository}")
            }
            Keep::TooYoung { age_seconds } => format!(
                "younger than --min-age ({} old)",
                deploykit::duration::format(Duration::from_secs(
                    u64::try_from(*age_seconds).unwrap_or(0)
                ))
            ),
            Keep::TargetReached => "not needed: --target-free reached".to_owned(),
        }
    }
}

/// Why an image goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Remove {
    /// No tag and no digest.
    Dangling,
    /// Outside every rule that keeps.
    Old,
}

/// The decision about one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Decision {
    /// Stays, with every reason that applies (the first is the main one).
    Keep {
        /// The reasons.
        reasons: Vec<Keep>,
    },
    /// Goes.
    Remove {
        /// Why.
        why: Remove,
    },
}

/// One image of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The image id (`sha256:…`).
    pub id: String,
    /// Tags as the engine lists them.
    pub tags: Vec<String>,
    /// Digest references as the engine lists them.
    pub digests: Vec<String>,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Size as the engine reports it.
    pub size: u64,
    /// What happens to it.
    #[serde(flatten)]
    pub decision: Decision,
}

impl Entry {
    /// Whether the plan removes it.
    pub fn removes(&self) -> bool {
        matches!(self.decision, Decision::Remove { .. })
    }

    /// The first tag, else the first digest reference, else `<none>`.
    pub fn display_name(&self) -> &str {
        self.tags
            .first()
            .or_else(|| self.digests.first())
            .map_or("<none>", String::as_str)
    }

    /// The id's first 12 hex digits.
    pub fn short_id(&self) -> &str {
        let hex = self.id.split_once(':').map_or(self.id.as_str(), |(_, h)| h);
        &hex[..hex.len().min(12)]
    }
}

/// What `plan` decided: removals first, in the order they will happen,
/// then the images kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Every image in scope.
    pub images: Vec<Entry>,
    /// Images the `--repo` patterns left out.
    pub out_of_scope: usize,
    /// Sum of the sizes of the removals (shared layers make the real gain
    /// smaller or larger than this estimate).
    pub reclaim_estimate: u64,
    /// The target, if any.
    pub target_free: Option<u64>,
    /// Free bytes when planning (with a target).
    pub free_before: Option<u64>,
}

impl Plan {
    /// The entries to remove, in order.
    pub fn removals(&self) -> impl Iterator<Item = &Entry> {
        self.images.iter().filter(|e| e.removes())
    }
}

/// `*` matches any run of characters (slashes included); the rest is literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The repositories of an image: `(as listed, canonical)` from its tags and
/// digest references.
fn repositories(image: &ImageSummary) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for t in &image.repo_tags {
        if let Some((canon, _)) = protect::canonical_tag(t) {
            let listed = t.rsplit_once(':').map_or(t.as_str(), |(n, _)| n).to_owned();
            if !out.iter().any(|(_, c)| *c == canon) {
                out.push((listed, canon));
            }
        }
    }
    for d in &image.repo_digests {
        if let Some((canon, _)) = protect::canonical_digest(d) {
            let listed = d.split_once('@').map_or(d.as_str(), |(n, _)| n).to_owned();
            if !out.iter().any(|(_, c)| *c == canon) {
                out.push((listed, canon));
            }
        }
    }
    out
}

/// What protect rules match an image by: its canonical `(name, tag)`s,
/// digests and repositories.
fn names(image: &ImageSummary) -> (Vec<(String, String)>, Vec<String>, Vec<String>) {
    let tags = image
        .repo_tags
        .iter()
        .filter_map(|t| protect::canonical_tag(t))
        .collect();
    let digests = image
        .repo_digests
        .iter()
        .filter_map(|d| protect::canonical_digest(d).map(|(_, d)| d))
        .collect();
    let repos = repositories(image).into_iter().map(|(_, c)| c).collect();
    (tags, digests, repos)
}

/// Resolves the id prefixes of `protect` against `images`
/// ([`ProtectSet::resolve_ids`]).
pub fn resolve_protect_ids(protect: &mut ProtectSet, images: &[ImageSummary]) -> Result<()> {
    let keys: Vec<(&str, Vec<(String, String)>)> = images
        .iter()
        .map(|image| (image.id.as_str(), names(image).0))
        .collect();
    protect.resolve_ids(&keys)
}

/// The protect rules that match none of `images` (in or out of scope):
/// most likely a typo, which would leave the image it meant unprotected.
pub fn unmatched<'a>(protect: &'a ProtectSet, images: &[ImageSummary]) -> Vec<&'a Protection> {
    let keys: Vec<_> = images.iter().map(|image| (image, names(image))).collect();
    protect
        .entries
        .iter()
        .filter(|p| {
            !keys.iter().any(|(image, (tags, digests, repos))| {
                p.what.matches(&image.id, tags, digests, repos)
            })
        })
        .collect()
}

/// Decides the fate of every image.
pub fn plan(
    images: &[ImageSummary],
    containers: &[ContainerSummary],
    protect: &ProtectSet,
    now: i64,
    options: &Options,
) -> Plan {
    let mut users: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for c in containers {
        let name = if c.name.is_empty() {
            c.id.chars().take(12).collect()
        } else {
            c.name.clone()
        };
        users.entry(c.image_id.as_str()).or_default().push(name);
    }

    // Scope and the rollback window, per canonical repository.
    let mut in_scope = Vec::new();
    let mut out_of_scope = 0;
    let mut by_repo: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, image) in images.iter().enumerate() {
        let repos = repositories(image);
        let selected = options.repos.is_empty()
            || repos.iter().any(|(listed, canon)| {
                options
                    .repos
                    .iter()
                    .any(|p| glob_match(p, listed) || glob_match(p, canon))
            });
        if !selected {
            out_of_scope += 1;
            continue;
        }
        in_scope.push(i);
        for (_, canon) in repos {
            by_repo.entry(canon).or_default().push(i);
        }
    }
    let mut window: BTreeMap<usize, (String, usize)> = BTreeMap::new();
    for (canon, members) in &mut by_repo {
        members.sort_by(|&a, &b| {
            images[b]
                .created
                .cmp(&images[a].created)
                .then(images[a].id.cmp(&images[b].id))
        });
        for (rank, &i) in members.iter().take(options.keep).enumerate() {
            window.entry(i).or_insert_with(|| (canon.clone(), rank + 1));
        }
    }

    let mut entries: Vec<Entry> = Vec::new();
    for &i in &in_scope {
        let image = &images[i];
        let mut reasons = Vec::new();
        if let Some(names) = users.get(image.id.as_str()) {
            reasons.push(Keep::InUse {
                containers: names.clone(),
            });
        }
        let (tags, digests, repos) = names(image);
        if let Some(p) = protect.protects(&image.id, &tags, &digests, &repos) {
            reasons.push(Keep::Protected {
                source: p.source.clone(),
            });
        }
        if let Some((repository, rank)) = window.get(&i) {
            reasons.push(Keep::RollbackWindow {
                repository: repository.clone(),
                rank: *rank,
            });
        }
        let age = now - image.created;
        if age < i64::try_from(options.min_age.as_secs()).unwrap_or(i64::MAX) {
            reasons.push(Keep::TooYoung {
                age_seconds: age.max(0),
            });
        }
        let decision = if reasons.is_empty() {
            let dangling = image.repo_tags.is_empty() && image.repo_digests.is_empty();
            Decision::Remove {
                why: if dangling {
                    Remove::Dangling
                } else {
                    Remove::Old
                },
            }
        } else {
            Decision::Keep { reasons }
        };
        entries.push(Entry {
            id: image.id.clone(),
            tags: image.repo_tags.clone(),
            digests: image.repo_digests.clone(),
            created: image.created,
            size: image.size,
            decision,
        });
    }

    // Order: removals (dangling first, then oldest first), then kept images
    // newest first.
    entries.sort_by(|a, b| {
        let rank = |e: &Entry| match &e.decision {
            Decision::Remove {
                why: Remove::Dangling,
            } => 0,
            Decision::Remove { why: Remove::Old } => 1,
            Decision::Keep { .. } => 2,
        };
        rank(a).cmp(&rank(b)).then_with(|| {
            if rank(a) == 2 {
                b.created.cmp(&a.created)
            } else {
                a.created.cmp(&b.created)
            }
            .then(a.id.cmp(&b.id))
        })
    });

    if let (Some(target), Some(free)) = (options.target_free, options.free_now) {
        let mut expected = free;
        for e in &mut entries {
            if !e.removes() {
                continue;
            }
            if expected >= target {
                e.decision = Decision::Keep {
                    reasons: vec![Keep::TargetReached],
                };
            } else {
                expected = expected.saturating_add(e.size);
            }
        }
        // Re-sort so the images now kept join the kept ones.
        entries.sort_by_key(|e| !e.removes());
    }

    let reclaim_estimate = entries.iter().filter(|e| e.removes()).map(|e| e.size).sum();
    Plan {
        images: entries,
        out_of_scope,
        reclaim_estimate,
        target_free: options.target_free,
        free_before: options.free_now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;
    const NOW: i64 = 1_800_000_000;

    fn id(n: u32) -> String {
        format!("sha256:{n:064x}")
    }

    fn img(n: u32, tags: &[&str], age_hours: i64, size: u64) -> ImageSummary {
        ImageSummary {
            id: id(n),
            repo_tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            repo_digests: Vec::new(),
            created: NOW - age_hours * HOUR,
            size,
        }
    }

    fn opts(keep: usize) -> Options {
        Options {
            keep,
            min_age: Duration::from_secs(3600),
            repos: Vec::new(),
            target_free: None,
            free_now: None,
        }
    }

    fn removed(p: &Plan) -> Vec<String> {
        p.removals().map(|e| e.id.clone()).collect()
    }

    fn reasons_of(p: &Plan, n: u32) -> Vec<Keep> {
        match &p.images.iter().find(|e| e.id == id(n)).unwrap().decision {
            Decision::Keep { reasons } => reasons.clone(),
            Decision::Remove { .. } => Vec::new(),
        }
    }

    #[test]
    fn keeps_the_rollback_window_per_repository() {
        let images: Vec<ImageSummary> = (1..=5)
            .map(|n| img(n, &[&format!("localhost/app:v{n}")], i64::from(10 - n), 100))
            .chain([img(6, &["localhost/web:1"], 50, 10)])
            .collect();
        let p = plan(&images, &[], &ProtectSet::default(), NOW, &opts(2));
        // v5, v4 newest of app; web:1 is the only web image.
        assert_eq!(removed(&p), vec![id(1), id(2), id(3)]);
        assert_eq!(
            reasons_of(&p, 5),
            vec![Keep::RollbackWindow {
                repository: "localhost/app".into(),
                rank: 1
            }]
        );
        assert_eq!(p.reclaim_estimate, 300);
    }

    #[test]
    fn containers_keep_their_images_whatever_their_state() {
        let images = vec![
            img(1, &["localhost/app:v1"], 30, 1),
            img(2, &["localhost/app:v2"], 20, 1),
            img(3, &["localhost/app:v3"], 10, 1),
        ];
        let containers = vec![ContainerSummary {
            id: "c0ffee".repeat(10),
            name: "old-app".into(),
            image_id: id(1),
            image: "localhost/app:v1".into(),
            state: "exited".into(),
        }];
        let p = plan(&images, &containers, &ProtectSet::default(), NOW, &opts(1));
        assert_eq!(removed(&p), vec![id(2)]);
        assert_eq!(
            reasons_of(&p, 1),
            vec![Keep::InUse {
                containers: vec!["old-app".into()]
            }]
        );
    }

    #[test]
    fn protected_by_tag_digest_or_repository() {
        let d = format!("sha256:{}", "d".repeat(64));
        let mut pinned = img(2, &[], 40, 1);
        pinned.repo_digests = vec![format!("ghcr.io/me/app@{d}")];
        let images = vec![
            img(1, &["ghcr.io/me/app:1"], 50, 1),
            pinned,
            img(3, &["ghcr.io/me/app:3"], 30, 1),
            img(4, &["ghcr.io/me/app:4"], 20, 1),
        ];
        let mut protect = ProtectSet::default();
        protect.add_ref("ghcr.io/me/app:1", "--protect").unwrap();
        protect
            .add_ref(&format!("ghcr.io/me/app@{d}"), "deploy.lst:3")
            .unwrap();
        let p = plan(&images, &[], &protect, NOW, &opts(1));
        assert_eq!(removed(&p), vec![id(3)]);
        assert_eq!(
            reasons_of(&p, 2),
            vec![Keep::Protected {
                source: "deploy.lst:3".into()
            }]
        );
    }

    #[test]
    fn young_images_stay_and_dangling_go_first() {
        let images = vec![
            img(1, &["localhost/app:old"], 100, 5),
            img(2, &[], 1000, 7),
            img(3, &[], 0, 7),
            img(4, &["localhost/app:new"], 0, 5),
            img(5, &["localhost/app:mid"], 50, 5),
        ];
        let p = plan(&images, &[], &ProtectSet::default(), NOW, &opts(0));
        assert_eq!(removed(&p), vec![id(2), id(1), id(5)]);
        assert!(matches!(reasons_of(&p, 3)[0], Keep::TooYoung { .. }));
        assert!(matches!(reasons_of(&p, 4)[0], Keep::TooYoung { .. }));
        assert!(matches!(
            p.images[0].decision,
            Decision::Remove {
                why: Remove::Dangling
            }
        ));
    }

    #[test]
    fn untagged_images_pulled_by_digest_belong_to_their_repository() {
        let mut a = img(1, &[], 30, 1);
        a.repo_digests = vec![format!("localhost/app@sha256:{}", "a".repeat(64))];
        let images = vec![
            a,
            img(2, &["localhost/app:v2"], 20, 1),
            img(3, &["localhost/app:v3"], 10, 1),
        ];
        let p = plan(&images, &[], &ProtectSet::default(), NOW, &opts(3));
        assert!(removed(&p).is_empty(), "{p:?}");
        let p = plan(&images, &[], &ProtectSet::default(), NOW, &opts(2));
        assert_eq!(removed(&p), vec![id(1)]);
        assert!(matches!(
            p.images[0].decision,
            Decision::Remove { why: Remove::Old }
        ));
    }

    #[test]
    fn repo_patterns_limit_the_scope() {
        let images = vec![
            img(1, &["localhost/app:1"], 30, 1),
            img(2, &["localhost/web:1"], 30, 1),
            img(3, &[], 30, 1),
            img(4, &["busybox:1"], 30, 1),
        ];
        let mut o = opts(0);
        o.repos = vec!["localhost/a*".into(), "docker.io/library/busybox".into()];
        let p = plan(&images, &[], &ProtectSet::default(), NOW, &o);
        assert_eq!(removed(&p), vec![id(1), id(4)]);
        assert_eq!(p.out_of_scope, 2);
    }

    #[test]
    fn target_free_stops_early_oldest_first() {
        let images = vec![
            img(1, &["localhost/a:1"], 40, 100),
            img(2, &["localhost/a:2"], 30, 100),
            img(3, &["localhost/a:3"], 20, 100),
        ];
        let mut o = opts(0);
        o.target_free = Some(1150);
        o.free_now = Some(1000);
        let p = plan(&images, &[], &ProtectSet::default(), NOW, &o);
        assert_eq!(removed(&p), vec![id(1), id(2)]);
        assert_eq!(reasons_of(&p, 3), vec![Keep::TargetReached]);
        o.free_now = Some(5000);
        let p = plan(&images, &[], &ProtectSet::default(), NOW, &o);
        assert!(removed(&p).is_empty());
    }

    #[test]
    fn an_image_in_two_repositories_is_kept_by_either() {
        let images = vec![
            img(1, &["localhost/a:1", "localhost/b:1"], 40, 1),
            img(2, &["localhost/a:2"], 30, 1),
            img(3, &["localhost/a:3"], 20, 1),
        ];
        let p = plan(&images, &[], &ProtectSet::default(), NOW, &opts(1));
        // #1 is the newest (only) image of b.
        assert_eq!(removed(&p), vec![id(2)]);
    }

    #[test]
    fn globs() {
        assert!(glob_match("localhost/*", "localhost/a/b"));
        assert!(glob_match("*app*", "ghcr.io/me/app-worker"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exact2"));
        assert!(!glob_match("a*c", "abd"));
    }
}
