//! The policy of `prune-images registry`, as a pure function of the facts.
//!
//! A registry deletes manifests by digest, and a delete removes every tag on
//! that digest; so decisions are made per manifest, never per tag:
//!
//! - a manifest is kept when any of its tags is kept: it matches a
//!   `--keep-tag` pattern, or a protect reference names the tag or the
//!   digest, or the manifest is among the `--keep` newest (by the config's
//!   `created`; an index counts as its newest platform's);
//! - an index is kept or deleted as a whole: deleting it deletes its
//!   platform manifests too, unless a kept manifest (an index, or a tag
//!   pointing at the platform manifest itself) still needs them; a platform
//!   manifest of a kept index is never deleted, whatever tags say.
//!
//! A platform manifest named by digest in a protect reference stays even
//! when its index goes (a host may run it by that digest).
//!
//! Deletes are ordered indexes first, then their children, then the rest, so
//! an interrupted run never leaves an index pointing at a deleted child.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;
use serde::Serialize;

use super::facts::TagFacts;
use crate::protect::ProtectSet;

/// The knobs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Manifests kept, newest first.
    pub keep: usize,
    /// Tags matching any of these are kept.
    pub keep_tags: Vec<Regex>,
}

/// Why a manifest stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Keep {
    /// A tag matches `--keep-tag`.
    KeepTag {
        /// The tag.
        tag: String,
    },
    /// Named by a protect reference.
    Protected {
        /// Where.
        source: String,
    },
    /// Among the `--keep` newest.
    Newest {
        /// 1 = newest.
        rank: usize,
    },
    /// A platform manifest of a kept index.
    ChildOfKeptIndex {
        /// The index's digest.
        index: String,
    },
}

/// The decision about one manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// Its digest.
    pub digest: String,
    /// Its tags (empty for an untagged platform manifest).
    pub tags: Vec<String>,
    /// Config `created`.
    pub created: Option<i64>,
    /// Whether it is an index.
    pub index: bool,
    /// Empty: deleted.
    pub keep: Vec<Keep>,
}

/// The plan: manifests to delete in order, and those kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Every manifest, deletes first (in delete order), then kept ones.
    pub manifests: Vec<Manifest>,
}

impl Plan {
    /// The digests to delete, in order.
    pub fn deletes(&self) -> impl Iterator<Item = &Manifest> {
        self.manifests.iter().filter(|m| m.keep.is_empty())
    }
}

/// The tags, `created` and children of one manifest.
type Group = (Vec<String>, Option<i64>, Vec<String>);

/// Decides, for a repository named `repository` (canonical), what goes.
pub fn plan(repository: &str, tags: &[TagFacts], protect: &ProtectSet, options: &Options) -> Plan {
    // Group tags per manifest.
    // digest → (tags, created, children)
    let mut by_digest: BTreeMap<&str, Group> = BTreeMap::new();
    for t in tags {
        let e = by_digest
            .entry(t.digest.as_str())
            .or_insert_with(|| (Vec::new(), t.created, t.children.clone()));
        e.0.push(t.tag.clone());
        e.1 = e.1.max(t.created);
    }
    let mut order: Vec<&str> = by_digest.keys().copied().collect();
    order.sort_by(|a, b| {
        by_digest[b]
            .1
            .unwrap_or(i64::MIN)
            .cmp(&by_digest[a].1.unwrap_or(i64::MIN))
            .then(a.cmp(b))
    });

    let mut keep: BTreeMap<String, Vec<Keep>> = BTreeMap::new();
    for (rank, digest) in order.iter().enumerate() {
        let (tag_list, _, _) = &by_digest[digest];
        let mut reasons = Vec::new();
        if let Some(tag) = tag_list
            .iter()
            .find(|t| options.keep_tags.iter().any(|re| re.is_match(t)))
        {
            reasons.push(Keep::KeepTag { tag: tag.clone() });
        }
        let canon: Vec<(String, String)> = tag_list
            .iter()
            .map(|t| (repository.to_owned(), t.clone()))
            .collect();
        if let Some(p) = protect.protects(
            digest,
            &canon,
            &[(*digest).to_owned()],
            &[repository.to_owned()],
        ) {
            reasons.push(Keep::Protected {
                source: p.source.clone(),
            });
        }
        if rank < options.keep {
            reasons.push(Keep::Newest { rank: rank + 1 });
        }
        keep.insert((*digest).to_owned(), reasons);
    }
    // Children of kept indexes stay, whatever their own tags say.
    let kept_indexes: Vec<(&str, &Vec<String>)> = order
        .iter()
        .filter(|d| !keep[**d].is_empty() && !by_digest[**d].2.is_empty())
        .map(|d| (*d, &by_digest[*d].2))
        .collect();
    let mut child_keep: BTreeMap<String, Vec<Keep>> = BTreeMap::new();
    for (index, children) in &kept_indexes {
        for c in *children {
            child_keep
                .entry(c.clone())
                .or_default()
                .push(Keep::ChildOfKeptIndex {
                    index: (*index).to_owned(),
                });
        }
    }

    let mut manifests = Vec::new();
    let mut seen = BTreeSet::new();
    for digest in &order {
        let (tag_list, created, children) = &by_digest[digest];
        let mut reasons = keep[*digest].clone();
        if let Some(extra) = child_keep.get(*digest) {
            reasons.extend(extra.iter().cloned());
        }
        seen.insert((*digest).to_owned());
        manifests.push(Manifest {
            digest: (*digest).to_owned(),
            tags: tag_list.clone(),
            created: *created,
            index: !children.is_empty(),
            keep: reasons,
        });
    }
    // Untagged children of deleted indexes go with them; children of kept
    // indexes are listed as kept.
    for digest in &order {
        let (_, _, children) = &by_digest[digest];
        // A kept index's children are kept (child_keep); a deleted index's
        // untagged children are deleted with it.
        for c in children {
            if !seen.insert(c.clone()) {
                continue;
            }
            let mut reasons = child_keep.get(c).cloned().unwrap_or_default();
            // A platform manifest deployed by digest stays on its own.
            if let Some(p) =
                protect.protects(c, &[], std::slice::from_ref(c), &[repository.to_owned()])
            {
                reasons.push(Keep::Protected {
                    source: p.source.clone(),
                });
            }
            manifests.push(Manifest {
                digest: c.clone(),
                tags: Vec::new(),
                created: None,
                index: false,
                keep: reasons,
            });
        }
    }
    // Deletes first, oldest first: indexes, then other manifests (untagged
    // children last); kept ones after, newest first (the order they are in).
    let class = |m: &Manifest| match (m.keep.is_empty(), m.index, m.tags.is_empty()) {
        (true, true, _) => 0,
        (true, false, false) => 1,
        (true, false, true) => 2,
        (false, _, _) => 3,
    };
    manifests.reverse();
    manifests.sort_by_key(|m| class(m));
    let first_kept = manifests
        .iter()
        .position(|m| !m.keep.is_empty())
        .unwrap_or(manifests.len());
    manifests[first_kept..].reverse();
    Plan { manifests }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u32) -> String {
        format!("sha256:{n:064x}")
    }

    fn t(tag: &str, digest: u32, created: i64) -> TagFacts {
        TagFacts {
            tag: tag.into(),
            digest: d(digest),
            created: Some(created),
            children: Vec::new(),
        }
    }

    fn opts(keep: usize, keep_tags: &[&str]) -> Options {
        Options {
            keep,
            keep_tags: keep_tags.iter().map(|r| Regex::new(r).unwrap()).collect(),
        }
    }

    fn deleted(p: &Plan) -> Vec<String> {
        p.deletes().map(|m| m.digest.clone()).collect()
    }

    #[test]
    fn keep_newest_and_keep_tags() {
        let tags = vec![
            t("b1", 1, 10),
            t("b2", 2, 20),
            t("prod-1", 3, 30),
            t("b4", 4, 40),
            t("b5", 5, 50),
        ];
        let p = plan(
            "r/app",
            &tags,
            &ProtectSet::default(),
            &opts(2, &["^prod-"]),
        );
        assert_eq!(deleted(&p), vec![d(1), d(2)]);
    }

    #[test]
    fn a_digest_shared_with_a_kept_tag_is_not_deleted() {
        // old-alias points at the newest build: deleting it would delete latest.
        let tags = vec![
            t("old-alias", 5, 50),
            t("b1", 1, 10),
            t("latest", 5, 50),
            t("b2", 2, 20),
        ];
        let p = plan("r/app", &tags, &ProtectSet::default(), &opts(1, &[]));
        assert_eq!(deleted(&p), vec![d(1), d(2)]);
        let kept = p.manifests.iter().find(|m| m.digest == d(5)).unwrap();
        assert_eq!(kept.tags.len(), 2);
    }

    #[test]
    fn protected_tags_and_digests() {
        let tags = vec![t("b1", 1, 10), t("b2", 2, 20), t("b3", 3, 30)];
        let mut protect = ProtectSet::default();
        protect
            .add_ref("registry.example/r/app:b1", "--protect")
            .unwrap();
        protect.add_ref(&d(2), "list:1").unwrap();
        let p = plan("registry.example/r/app", &tags, &protect, &opts(0, &[]));
        assert_eq!(deleted(&p), vec![d(3)]);
    }

    #[test]
    fn indexes_go_whole_and_children_of_kept_indexes_stay() {
        let mut old = t("v1", 10, 10);
        old.children = vec![d(11), d(12)];
        let mut new = t("v2", 20, 20);
        new.children = vec![d(21), d(12)]; // shares a platform manifest with v1
        // Someone tagged v2's amd64 manifest on its own, and it is old.
        let child_tag = t("v2-amd64", 21, 1);
        let p = plan(
            "r/app",
            &[old, new, child_tag],
            &ProtectSet::default(),
            &opts(1, &[]),
        );
        let del = deleted(&p);
        assert_eq!(
            del,
            vec![d(10), d(11)],
            "index first, then its child not shared with the kept index"
        );
        for kept in [d(20), d(21), d(12)] {
            assert!(!del.contains(&kept), "{kept}");
        }
        let amd = p.manifests.iter().find(|m| m.digest == d(21)).unwrap();
        assert!(matches!(amd.keep[0], Keep::ChildOfKeptIndex { .. }));
    }

    #[test]
    fn a_platform_manifest_protected_by_digest_outlives_its_deleted_index() {
        let mut old = t("v1", 10, 10);
        old.children = vec![d(11), d(12)];
        let mut protect = ProtectSet::default();
        protect
            .add_ref(&format!("r/app@{}", d(12)), "compose.yml:3")
            .unwrap();
        let p = plan("r/app", &[old, t("v2", 20, 20)], &protect, &opts(1, &[]));
        assert_eq!(deleted(&p), vec![d(10), d(11)]);
        let child = p.manifests.iter().find(|m| m.digest == d(12)).unwrap();
        assert!(matches!(child.keep[0], Keep::Protected { .. }));
    }

    #[test]
    fn unknown_created_sorts_oldest() {
        let mut a = t("a", 1, 0);
        a.created = None;
        let p = plan(
            "r",
            &[a, t("b", 2, 5)],
            &ProtectSet::default(),
            &opts(1, &[]),
        );
        assert_eq!(deleted(&p), vec![d(1)]);
    }
}
