//! Which entries each pin rewrites.
//!
//! The seed tags the app (`{env}-{sha}`), the migrator (`{env}-{sha}-migrate`)
//! and every service (`{env}-{sha}-{service}`) in one repository, so the
//! repository alone does not say which entry a reference is for: matched by
//! repository, the app's build would land in the migrator's and the
//! workers' entries too. So a pin addresses entries:
//!
//! - `NAME=REF` rewrites the entries called NAME (a Kustomize
//!   `images[].name`, a compose service, an env variable), as
//!   `kustomize edit set image NAME=REF` does;
//! - a bare `REF` rewrites, in each file, the entries on its repository
//!   whose tag plays the same part under the tag policy
//!   ([`naming::Role`]); when none does, the one entry on the repository
//!   that carries no part yet (untagged, or on the placeholder digest, as
//!   the scaffold writes it), its name telling several apart (`…-migrate`
//!   is the migrator's, `billing-worker` that service's) and keeping the
//!   migrator's build out of any other entry; a reference whose tag says
//!   nothing about its part takes the one entry on its repository.
//!
//! Anything else is ambiguous and refused (exit 2) with the candidates and
//! the `NAME=REF` that settles it, before any file is written, as is an
//! entry two pins address.

use std::collections::BTreeMap;

use deploykit::exit::{Error, Result};
use deploykit::imageref;

use super::model::{Entry, Pin, Target};
use crate::naming::{self, Role};

/// A file's entries, as the addressing sees them.
pub struct FileEntries<'a> {
    /// The file, as shown.
    pub file: String,
    /// Its entries.
    pub entries: &'a [Entry],
}

/// The part an entry's tag plays, if it says.
fn role_of(entry: &Entry) -> Option<Role> {
    entry.tag().and_then(naming::role)
}

/// Whether an entry carries no part yet: no tag under the policy, and no
/// tag at all or the placeholder digest.
fn unassigned(entry: &Entry) -> bool {
    role_of(entry).is_none()
        && (entry.tag().is_none() || entry.digest().is_some_and(imageref::is_placeholder_digest))
}

/// The part an entry's name suggests, for entries whose tag says nothing.
#[derive(Debug, PartialEq, Eq)]
enum Hint {
    /// `migrate`, `api-migrate`, `MIGRATE_IMAGE`, `migrator`.
    Migrate,
    /// `app`, `APP_IMAGE`.
    App,
    /// Anything else: a service of that name (`billing-worker`,
    /// `SCHEDULER_WORKER_IMAGE`).
    Service(String),
}

fn hint(name: &str) -> Hint {
    let lower = name.to_ascii_lowercase().replace('_', "-");
    let last = lower.rsplit('/').next().unwrap_or(&lower);
    let n = last.strip_suffix("-image").unwrap_or(last);
    let words: Vec<&str> = n.split('-').collect();
    if words
        .iter()
        .any(|w| *w == "migrate" || *w == "migrator" || *w == "migrations")
    {
        Hint::Migrate
    } else if n == "app" {
        Hint::App
    } else {
        Hint::Service(n.to_owned())
    }
}

/// Whether a name's hint fits the part a tag plays.
fn fits(hint: &Hint, role: &Role) -> bool {
    match (hint, role) {
        (Hint::Migrate, Role::Migrate) => true,
        (Hint::App, Role::Plain(p)) => naming::is_environment(p),
        (Hint::Service(s), Role::Service(r) | Role::Plain(r)) => s == r,
        _ => false,
    }
}

/// How an entry is shown among candidates: `APP_IMAGE (prod-0000000, the app)`.
fn describe(entry: &Entry) -> String {
    let tag = entry.tag().map(str::to_owned);
    let placeholder = entry.digest().is_some_and(imageref::is_placeholder_digest);
    let what = match (tag, role_of(entry)) {
        (Some(t), Some(r)) => format!("{t}, {}", r.describe()),
        (Some(t), None) => t,
        (None, _) if placeholder => "placeholder".to_owned(),
        (None, _) => "untagged".to_owned(),
    };
    format!("{} ({what})", entry.name)
}

/// What a bare pin finds in one file.
enum Found {
    /// These entries (indexes).
    Entries(Vec<usize>),
    /// Nothing on its repository takes it here.
    Nothing,
    /// Several could: the candidates.
    Ambiguous(Vec<usize>),
}

fn find_bare(pin: &Pin, entries: &[Entry], claimed: &[bool]) -> Found {
    let repo = pin.repository();
    let on_repo: Vec<usize> = (0..entries.len())
        .filter(|&i| !claimed[i] && entries[i].repository().as_deref() == Some(repo.as_str()))
        .collect();
    if on_repo.is_empty() {
        return Found::Nothing;
    }
    let unassigned: Vec<usize> = on_repo
        .iter()
        .copied()
        .filter(|&i| unassigned(&entries[i]))
        .collect();
    match pin.reference.tag().and_then(naming::role) {
        Some(role) => {
            let same: Vec<usize> = on_repo
                .iter()
                .copied()
                .filter(|&i| role_of(&entries[i]).is_some_and(|r| r.same_as(&role)))
                .collect();
            if !same.is_empty() {
                return Found::Entries(same);
            }
            // The migrator's build never goes to an entry named for
            // something else, nor another build to the migrator's entry.
            let is_migrate = role == Role::Migrate;
            let open: Vec<usize> = unassigned
                .iter()
                .copied()
                .filter(|&i| (hint(&entries[i].name) == Hint::Migrate) == is_migrate)
                .collect();
            let named: Vec<usize> = open
                .iter()
                .copied()
                .filter(|&i| fits(&hint(&entries[i].name), &role))
                .collect();
            match (open.len(), named.len()) {
                (1, _) => Found::Entries(open),
                (_, 1) => Found::Entries(named),
                (0, _) => Found::Nothing,
                _ => Found::Ambiguous(open),
            }
        }
        None if on_repo.len() == 1 => Found::Entries(on_repo),
        None if unassigned.len() == 1 => Found::Entries(unassigned),
        None => Found::Ambiguous(on_repo),
    }
}

fn settle(candidates: &[&Entry], pin: &Pin) -> String {
    match candidates.first() {
        Some(first) => format!(
            "; name the entry it is for, e.g. {}={}",
            first.name, pin.written
        ),
        None => String::new(),
    }
}

/// The pin of every entry to rewrite, per file (in the order of `files`):
/// entry index → (pin index, target). Fails (exit 2) on an unknown NAME, a
/// pin that addresses nothing, an ambiguous bare reference, an entry two
/// pins address, and an addressed entry `pin` cannot rewrite.
pub fn resolve(
    files: &[FileEntries<'_>],
    pins: &[Pin],
) -> Result<Vec<BTreeMap<usize, (usize, Target)>>> {
    let mut plan: Vec<BTreeMap<usize, (usize, Target)>> =
        files.iter().map(|_| BTreeMap::new()).collect();
    let claim = |plan: &mut Vec<BTreeMap<usize, (usize, Target)>>,
                 f: usize,
                 e: usize,
                 p: usize|
     -> Result<()> {
        let entry = &files[f].entries[e];
        if let Some((other, _)) = plan[f].get(&e) {
            return Err(Error::usage(format!(
                "{}: {} is addressed by both {} and {}; give one of them as {}=REF",
                files[f].file, entry.name, pins[*other].input, pins[p].input, entry.name
            )));
        }
        if let Some(problem) = &entry.problem {
            return Err(Error::usage(format!("{}: {problem}", files[f].file)));
        }
        if entry.image.is_none() && pins[p].name.is_none() {
            return Ok(());
        }
        plan[f].insert(e, (p, pins[p].target(entry)));
        Ok(())
    };
    // Names first: a bare reference then addresses what no name took.
    for (p, pin) in pins.iter().enumerate() {
        let Some(name) = &pin.name else { continue };
        let mut found = false;
        for (f, file) in files.iter().enumerate() {
            for (e, entry) in file.entries.iter().enumerate() {
                if entry.name == *name {
                    found = true;
                    claim(&mut plan, f, e, p)?;
                }
            }
        }
        if !found {
            let mut names: Vec<&str> = files
                .iter()
                .flat_map(|f| f.entries.iter().map(|e| e.name.as_str()))
                .collect();
            names.sort_unstable();
            names.dedup();
            return Err(Error::usage(format!(
                "no image entry in the files is named {name} (the names: {})",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )));
        }
    }
    let named: Vec<Vec<bool>> = files
        .iter()
        .enumerate()
        .map(|(f, file)| {
            (0..file.entries.len())
                .map(|e| plan[f].contains_key(&e))
                .collect()
        })
        .collect();
    for (p, pin) in pins.iter().enumerate() {
        if pin.name.is_some() {
            continue;
        }
        let mut any = false;
        for (f, file) in files.iter().enumerate() {
            match find_bare(pin, file.entries, &named[f]) {
                Found::Entries(found) => {
                    any = true;
                    for e in found {
                        claim(&mut plan, f, e, p)?;
                    }
                }
                Found::Nothing => {}
                Found::Ambiguous(candidates) => {
                    let c: Vec<&Entry> = candidates.iter().map(|&i| &file.entries[i]).collect();
                    return Err(Error::usage(format!(
                        "{}: {} is ambiguous: {} entries on {} could take it: {}{}",
                        file.file,
                        pin.written,
                        c.len(),
                        pin.repository(),
                        c.iter().map(|e| describe(e)).collect::<Vec<_>>().join(", "),
                        settle(&c, pin)
                    )));
                }
            }
        }
        if !any {
            let on_repo: Vec<&Entry> = files
                .iter()
                .zip(&named)
                .flat_map(|(file, named)| {
                    file.entries
                        .iter()
                        .zip(named)
                        .filter(|(e, n)| !**n && e.repository() == Some(pin.repository()))
                        .map(|(e, _)| e)
                })
                .collect();
            if on_repo.is_empty() {
                return Err(Error::usage(format!(
                    "no image entry in the files names the repository of {}",
                    pin.written
                )));
            }
            let part = pin
                .reference
                .tag()
                .and_then(naming::role)
                .map_or_else(String::new, |r| format!(" ({})", r.describe()));
            return Err(Error::usage(format!(
                "no image entry on {} plays the part of {}{part}: {}{}",
                pin.repository(),
                pin.written,
                on_repo
                    .iter()
                    .map(|e| describe(e))
                    .collect::<Vec<_>>()
                    .join(", "),
                settle(&on_repo, pin)
            )));
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::super::model::parse_pins;
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const Z: &str = imageref::PLACEHOLDER_DIGEST;

    fn entry(name: &str, image: &str) -> Entry {
        Entry {
            line: 1,
            key: name.into(),
            name: name.into(),
            image: Some(image.into()),
            problem: None,
            stale: None,
            site: 0,
        }
    }

    fn seed() -> Vec<Entry> {
        vec![
            entry("APP_IMAGE", "ghcr.io/acme/api:prod-0000000"),
            entry("MIGRATE_IMAGE", "ghcr.io/acme/api:prod-0000000-migrate"),
            entry("WORKER_IMAGE", "ghcr.io/acme/api:prod-0000000-worker"),
            entry("REDIS_IMAGE", "redis:7.2"),
        ]
    }

    fn run(entries: &[Entry], refs: &[String]) -> Result<Vec<(String, String)>> {
        let pins = parse_pins(refs).unwrap();
        let plan = resolve(
            &[FileEntries {
                file: "f".into(),
                entries,
            }],
            &pins,
        )?;
        Ok(plan[0]
            .iter()
            .map(|(e, (_, t))| (entries[*e].name.clone(), t.reference()))
            .collect())
    }

    #[test]
    fn bare_references_go_to_the_entry_of_their_part() {
        let e = seed();
        let got = run(
            &e,
            &[
                format!("ghcr.io/acme/api:prod-abc1234-worker@{D1}"),
                format!("ghcr.io/acme/api:prod-abc1234@{D1}"),
                format!("ghcr.io/acme/api:migrate-3f2a9c01be47@{D1}"),
            ],
        )
        .unwrap();
        assert_eq!(
            got,
            [
                (
                    "APP_IMAGE".into(),
                    format!("ghcr.io/acme/api:prod-abc1234@{D1}")
                ),
                (
                    "MIGRATE_IMAGE".into(),
                    format!("ghcr.io/acme/api:migrate-3f2a9c01be47@{D1}")
                ),
                (
                    "WORKER_IMAGE".into(),
                    format!("ghcr.io/acme/api:prod-abc1234-worker@{D1}")
                ),
            ]
        );
    }

    #[test]
    fn ambiguity_is_refused_with_the_candidates() {
        let e = seed();
        let err = run(&e, &[format!("ghcr.io/acme/api@{D1}")]).unwrap_err();
        assert!(err.to_string().contains("is ambiguous: 3 entries"), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("e.g. APP_IMAGE=ghcr.io/acme/api@{D1}")),
            "{err}"
        );
        let err = run(&e, &[format!("ghcr.io/acme/api:prod-abc1234-billing@{D1}")]).unwrap_err();
        assert!(err.to_string().contains("plays the part of"), "{err}");
        assert!(err.to_string().contains("the service billing"), "{err}");
        // Two references for one part.
        let err = run(
            &e,
            &[
                format!("ghcr.io/acme/api:prod-abc1234@{D1}"),
                format!("ghcr.io/acme/api:prod-def5678@{D1}"),
            ],
        )
        .unwrap_err();
        assert!(err.to_string().contains("is addressed by both"), "{err}");
        // Two placeholders: which one?
        let p = [
            entry("a", &format!("ghcr.io/acme/api@{Z}")),
            entry("b", &format!("ghcr.io/acme/api@{Z}")),
        ];
        let err = run(&p, &[format!("ghcr.io/acme/api:prod-abc1234@{D1}")]).unwrap_err();
        assert!(
            err.to_string().contains("a (placeholder), b (placeholder)"),
            "{err}"
        );
    }

    #[test]
    fn names_placeholders_and_lone_entries() {
        let e = seed();
        let got = run(
            &e,
            &[
                format!("WORKER_IMAGE=ghcr.io/acme/api@{D1}"),
                format!("REDIS_IMAGE=127.0.0.1:5000/redis:7.2@{D1}"),
            ],
        )
        .unwrap();
        assert_eq!(
            got[0],
            ("WORKER_IMAGE".into(), format!("ghcr.io/acme/api@{D1}"))
        );
        assert_eq!(
            got[1],
            (
                "REDIS_IMAGE".into(),
                format!("127.0.0.1:5000/redis:7.2@{D1}")
            )
        );
        let err = run(&e, &[format!("NOPE=ghcr.io/acme/api@{D1}")]).unwrap_err();
        assert!(
            err.to_string()
                .contains("is named NOPE (the names: APP_IMAGE,"),
            "{err}"
        );
        // The one placeholder on the repository takes a reference of any part.
        let p = [
            entry("api", &format!("ghcr.io/acme/api@{Z}")),
            entry("redis", "redis:7.2"),
        ];
        let got = run(&p, &[format!("ghcr.io/acme/api:prod-abc1234@{D1}")]).unwrap();
        assert_eq!(
            got,
            [("api".into(), format!("ghcr.io/acme/api:prod-abc1234@{D1}"))]
        );
        // A reference whose tag says nothing takes the lone entry.
        let got = run(&p, &[format!("docker.io/library/redis:7.4@{D1}")]).unwrap();
        assert_eq!(got, [("redis".into(), format!("redis:7.4@{D1}"))]);
        let err = run(&p, &[format!("ghcr.io/acme/billing@{D1}")]).unwrap_err();
        assert!(err.to_string().contains("names the repository of"), "{err}");
    }

    #[test]
    fn placeholders_are_told_apart_by_their_names() {
        let p = [
            entry("billing-worker", &format!("ghcr.io/acme/api@{Z}")),
            entry("billing-worker-migrate", &format!("ghcr.io/acme/api@{Z}")),
        ];
        let got = run(
            &p,
            &[
                format!("ghcr.io/acme/api:prod-abc1234-billing-worker@{D1}"),
                format!("ghcr.io/acme/api:prod-abc1234-migrate@{D1}"),
            ],
        )
        .unwrap();
        assert_eq!(got[0].0, "billing-worker");
        assert!(got[0].1.contains("-billing-worker@"), "{got:?}");
        assert_eq!(got[1].0, "billing-worker-migrate");
        assert!(got[1].1.contains("-migrate@"), "{got:?}");
        // The app's tag fits the one entry not named for the migrator.
        let got = run(&p, &[format!("ghcr.io/acme/api:prod-abc1234@{D1}")]).unwrap();
        assert_eq!(got[0].0, "billing-worker");
        // The migrator's build never lands in a lone entry of another part.
        let err = run(
            &p[..1],
            &[format!("ghcr.io/acme/api:prod-abc1234-migrate@{D1}")],
        )
        .unwrap_err();
        assert!(err.to_string().contains("plays the part of"), "{err}");
        assert_eq!(
            hint("SCHEDULER_WORKER_IMAGE"),
            Hint::Service("scheduler-worker".into())
        );
        assert_eq!(hint("MIGRATE_IMAGE"), Hint::Migrate);
        assert_eq!(hint("APP_IMAGE"), Hint::App);
    }
}
