//! The images a prune must never touch because something names them.
//!
//! `--protect REF` and `--protect-file FILE` name images by tag or digest.
//! A protect file is what a deploy host already has: a compose file
//! (`services.*.image`), a Kustomize file (`images:` with `newName`,
//! `newTag`, `digest`), or a plain list (one reference per line, `#`
//! comments). Compose interpolation (`${TAG}`, `${TAG:-1.2}`) is expanded
//! from the environment as compose does; when the tag cannot be known (an
//! unset variable, a Kustomize entry that does not set the tag), the whole
//! repository is protected: a prune that cannot tell must keep.
//!
//! Matching is on canonical names (`busybox` is
//! `docker.io/library/busybox`), so a compose file's familiar names match the
//! fully qualified names podman lists.
//!
//! `--protect` takes what the docker CLI takes for an image: `repo:tag`,
//! `repo@digest`, a full id, or a unique prefix of an id as `docker images`
//! and the plan table print it (`ba5f3b788602`, also with `sha256:`). A
//! prefix is resolved against the engine's images before the plan, as the
//! docker CLI does: a name that is also hex (`cafe`) is a name first, a
//! prefix that fits several images is refused (exit 2).

use std::path::{Path, PathBuf};

use deploykit::exit::{Error, Result};
use deploykit::imageref::{self, AnyReference, Digest};
use serde::Serialize;

/// One protected thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Protected {
    /// A canonical `name:tag`.
    Tag {
        /// Canonical repository name.
        name: String,
        /// The tag.
        tag: String,
    },
    /// A digest: a manifest digest (`RepoDigests`, registry) or an image id.
    Digest {
        /// `sha256:…`.
        digest: String,
    },
    /// Every image of a repository (the tag could not be known).
    Repository {
        /// Canonical repository name.
        name: String,
    },
    /// A prefix of an image id, hex without `sha256:` (`ba5f3b788602`),
    /// until [`ProtectSet::resolve_ids`] turns it into the image's id.
    IdPrefix {
        /// The hex digits given.
        prefix: String,
    },
}

impl std::fmt::Display for Protected {
    /// The rule as a user would write it, for warnings.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Protected::Tag { name, tag } => write!(f, "{name}:{tag}"),
            Protected::Digest { digest } => f.write_str(digest),
            Protected::Repository { name } => write!(f, "{name} (any tag)"),
            Protected::IdPrefix { prefix } => write!(f, "image id {prefix}…"),
        }
    }
}

/// A protected thing with where it came from (for the report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Protection {
    /// What is protected.
    #[serde(flatten)]
    pub what: Protected,
    /// `--protect`, or `FILE:LINE`.
    pub source: String,
}

/// Everything protected in one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProtectSet {
    /// The entries, in the order given.
    pub entries: Vec<Protection>,
}

impl ProtectSet {
    /// The set `--protect` and `--protect-file` name, in the order given
    /// (references first, then files).
    pub fn from_flags(refs: &[String], files: &[PathBuf]) -> Result<ProtectSet> {
        let mut set = ProtectSet::default();
        for r in refs {
            set.add_ref(r, "--protect")?;
        }
        for f in files {
            set.add_file(f)?;
        }
        Ok(set)
    }

    /// Adds a `--protect` reference.
    pub fn add_ref(&mut self, text: &str, source: &str) -> Result<()> {
        let what = parse_ref(text).map_err(|e| Error::usage(format!("{source}: {text:?}: {e}")))?;
        self.entries.push(Protection {
            what,
            source: source.to_owned(),
        });
        Ok(())
    }

    /// Reads a protect file (`-` for stdin).
    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        let text = if path == Path::new("-") {
            std::io::read_to_string(std::io::stdin())
                .map_err(|e| Error::usage(format!("reading --protect-file from stdin: {e}")))?
        } else {
            std::fs::read_to_string(path).map_err(|e| {
                Error::usage(format!("reading --protect-file {}: {e}", path.display()))
            })?
        };
        let name = path.display().to_string();
        let env = |k: &str| std::env::var(k).ok();
        for (line, what) in parse_file(&text, &name, &env)? {
            self.entries.push(Protection {
                what,
                source: format!("{name}:{line}"),
            });
        }
        Ok(())
    }

    /// What protects an image with these references and this id, if anything.
    ///
    /// `repos` are canonical repository names; `tags` canonical `name:tag`;
    /// `digests` the manifest digests (`sha256:…`) the image is known by.
    pub fn protects<'a>(
        &'a self,
        id: &str,
        tags: &[(String, String)],
        digests: &[String],
        repos: &[String],
    ) -> Option<&'a Protection> {
        self.entries
            .iter()
            .find(|p| p.what.matches(id, tags, digests, repos))
    }

    /// Resolves every id prefix against the engine's images, `(id,
    /// canonical tags)`, as the docker CLI reads an image argument: a name
    /// first (a hex word is also a valid repository name, tag `latest`),
    /// then a prefix of exactly one image's id, which becomes that id. A
    /// prefix of several ids is a usage error; one of none stays as it is
    /// and matches nothing.
    pub fn resolve_ids(&mut self, images: &[(&str, Vec<(String, String)>)]) -> Result<()> {
        for entry in &mut self.entries {
            let Protected::IdPrefix { prefix } = &entry.what else {
                continue;
            };
            let as_name = (
                format!("docker.io/library/{prefix}"),
                imageref::DEFAULT_TAG.to_owned(),
            );
            if images.iter().any(|(_, tags)| tags.contains(&as_name)) {
                entry.what = Protected::Tag {
                    name: as_name.0,
                    tag: as_name.1,
                };
                continue;
            }
            let mut fits: Vec<&str> = images
                .iter()
                .map(|(id, _)| *id)
                .filter(|id| id_hex(id).starts_with(prefix.as_str()))
                .collect();
            fits.dedup();
            match fits.as_slice() {
                [] => {}
                [id] => {
                    entry.what = Protected::Digest {
                        digest: (*id).to_owned(),
                    };
                }
                several => {
                    return Err(Error::usage(format!(
                        "{}: the image id prefix {prefix} fits {} images; give more of the id",
                        entry.source,
                        several.len()
                    )));
                }
            }
        }
        Ok(())
    }
}

impl Protected {
    /// Whether this rule names an image with this id and these canonical
    /// tags, digests and repositories.
    pub fn matches(
        &self,
        id: &str,
        tags: &[(String, String)],
        digests: &[String],
        repos: &[String],
    ) -> bool {
        match self {
            Protected::Tag { name, tag } => tags.iter().any(|(n, t)| n == name && t == tag),
            Protected::Digest { digest } => id == digest || digests.iter().any(|d| d == digest),
            Protected::Repository { name } => repos.iter().any(|r| r == name),
            Protected::IdPrefix { prefix } => {
                !id.is_empty() && id_hex(id).starts_with(prefix.as_str())
            }
        }
    }
}

/// The hex of an id, without its `sha256:`.
fn id_hex(id: &str) -> &str {
    id.strip_prefix("sha256:").unwrap_or(id)
}

/// The hex digits of an id prefix as the docker CLI takes one (`ba5f3b788602`,
/// `sha256:ba5f3b788602`), when `text` is one and not a full id.
fn id_prefix(text: &str) -> Option<&str> {
    let hex = text.strip_prefix("sha256:").unwrap_or(text);
    (!hex.is_empty()
        && hex.len() < 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then_some(hex)
}

/// Parses one reference: `name[:tag]`, `name@digest`, or a bare digest.
pub fn parse_ref(text: &str) -> std::result::Result<Protected, String> {
    let text = text.trim();
    if let Some(prefix) = id_prefix(text) {
        return Ok(Protected::IdPrefix {
            prefix: prefix.to_owned(),
        });
    }
    match imageref::parse_any(text).map_err(|e| e.to_string())? {
        AnyReference::Digest(d) => Ok(Protected::Digest {
            digest: d.to_string(),
        }),
        AnyReference::Named(r) => {
            if let Some(d) = r.digest() {
                return Ok(Protected::Digest {
                    digest: d.to_string(),
                });
            }
            Ok(Protected::Tag {
                name: r.name(),
                tag: r.tag().unwrap_or(imageref::DEFAULT_TAG).to_owned(),
            })
        }
    }
}

/// Parses a protect file's text into `(line, protected)` pairs.
pub fn parse_file(
    text: &str,
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(usize, Protected)>> {
    let yaml: Option<serde_yaml_ng::Value> = serde_yaml_ng::from_str(text).ok();
    match yaml {
        Some(serde_yaml_ng::Value::Mapping(map)) if map.contains_key("services") => {
            compose(text, &map, name, env)
        }
        Some(serde_yaml_ng::Value::Mapping(map)) if map.contains_key("images") => {
            kustomize(text, &map, name)
        }
        Some(serde_yaml_ng::Value::Mapping(_)) => Err(Error::usage(format!(
            "--protect-file {name}: a YAML file without `services:` (compose) or `images:` (Kustomize)"
        ))),
        _ => plain(text, name),
    }
}

fn plain(text: &str, name: &str) -> Result<Vec<(usize, Protected)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        let line = line.strip_prefix("- ").map_or(line, str::trim);
        if line.is_empty() {
            continue;
        }
        let what = parse_ref(line)
            .map_err(|e| Error::usage(format!("--protect-file {name}:{}: {line:?}: {e}", i + 1)))?;
        out.push((i + 1, what));
    }
    Ok(out)
}

/// The line a value first appears on, for messages (1 if not found).
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(1, |i| i + 1)
}

fn compose(
    text: &str,
    map: &serde_yaml_ng::Mapping,
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(usize, Protected)>> {
    let mut out = Vec::new();
    let Some(serde_yaml_ng::Value::Mapping(services)) = map.get("services") else {
        return Ok(out);
    };
    for (service, def) in services {
        let Some(image) = def.get("image").and_then(serde_yaml_ng::Value::as_str) else {
            continue;
        };
        let line = line_of(text, image);
        let where_ = || {
            format!(
                "--protect-file {name}:{line} (service {})",
                service.as_str().unwrap_or("?")
            )
        };
        let expanded = interpolate(image, env);
        if let Some(image) = expanded {
            let what = parse_ref(&image)
                .map_err(|e| Error::usage(format!("{}: {image:?}: {e}", where_())))?;
            out.push((line, what));
        } else {
            {
                // The tag (or digest) depends on a variable we cannot see:
                // protect the repository, if at least the name is literal.
                let name_part = image.split(['@']).next().unwrap_or(image);
                let name_part = match name_part.rsplit_once(':') {
                    Some((n, t)) if !t.contains('/') => n,
                    _ => name_part,
                };
                if name_part.contains('$') {
                    return Err(Error::usage(format!(
                        "{}: the image name {image:?} depends on an unset variable; set it or protect by reference",
                        where_()
                    )));
                }
                let r = imageref::parse_normalized(name_part)
                    .map_err(|e| Error::usage(format!("{}: {image:?}: {e}", where_())))?;
                out.push((line, Protected::Repository { name: r.name() }));
            }
        }
    }
    Ok(out)
}

/// Compose-style interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`,
/// `${VAR-default}`, `$$`. `None` when a variable without a default is unset.
pub fn interpolate(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(a) = after.strip_prefix('$') {
            out.push('$');
            rest = a;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}')?;
            let expr = &body[..end];
            let value = if let Some((var, default)) = expr.split_once(":-") {
                env(var)
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| default.to_owned())
            } else if let Some((var, default)) = expr.split_once('-') {
                env(var).unwrap_or_else(|| default.to_owned())
            } else if let Some((var, _)) = expr.split_once(":?").or_else(|| expr.split_once('?')) {
                env(var)?
            } else {
                env(expr)?
            };
            out.push_str(&value);
            rest = &body[end + 1..];
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if len == 0 {
                out.push('$');
                rest = after;
                continue;
            }
            out.push_str(&env(&after[..len])?);
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    Some(out)
}

fn kustomize(
    text: &str,
    map: &serde_yaml_ng::Mapping,
    name: &str,
) -> Result<Vec<(usize, Protected)>> {
    let mut out = Vec::new();
    let Some(serde_yaml_ng::Value::Sequence(images)) = map.get("images") else {
        return Err(Error::usage(format!(
            "--protect-file {name}: `images:` is not a list"
        )));
    };
    for entry in images {
        let get = |k: &str| entry.get(k).and_then(serde_yaml_ng::Value::as_str);
        let Some(orig) = get("name") else {
            return Err(Error::usage(format!(
                "--protect-file {name}: an `images:` entry without `name`"
            )));
        };
        let image = get("newName").unwrap_or(orig);
        let line = line_of(text, image);
        let bad = |e: String| Error::usage(format!("--protect-file {name}:{line}: {image:?}: {e}"));
        let what = if let Some(digest) = get("digest") {
            let d = Digest::parse(digest).map_err(|e| bad(e.to_string()))?;
            Protected::Digest {
                digest: d.to_string(),
            }
        } else {
            let r = imageref::parse_normalized(image).map_err(|e| bad(e.to_string()))?;
            match get("newTag") {
                Some(tag) => Protected::Tag {
                    name: r.name(),
                    tag: tag.to_owned(),
                },
                None => Protected::Repository { name: r.name() },
            }
        };
        out.push((line, what));
    }
    Ok(out)
}

/// Canonical `(name, tag)` of an engine's `repo:tag` (`None` if unparseable).
pub fn canonical_tag(repo_tag: &str) -> Option<(String, String)> {
    let r = imageref::parse_normalized(repo_tag).ok()?;
    Some((r.name(), r.tag()?.to_owned()))
}

/// Canonical `(name, digest)` of an engine's `repo@sha256:…`.
pub fn canonical_digest(repo_digest: &str) -> Option<(String, String)> {
    let r = imageref::parse_normalized(repo_digest).ok()?;
    Some((r.name(), r.digest()?.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn tag(n: &str, t: &str) -> Protected {
        Protected::Tag {
            name: n.into(),
            tag: t.into(),
        }
    }

    #[test]
    fn references() {
        assert_eq!(
            parse_ref("busybox").unwrap(),
            tag("docker.io/library/busybox", "latest")
        );
        assert_eq!(
            parse_ref("localhost/app:v1").unwrap(),
            tag("localhost/app", "v1")
        );
        assert_eq!(
            parse_ref(&format!("localhost/app:v1@{D}")).unwrap(),
            Protected::Digest { digest: D.into() }
        );
        assert_eq!(
            parse_ref(D).unwrap(),
            Protected::Digest { digest: D.into() }
        );
        assert!(parse_ref("Not Valid").is_err());
        // Id prefixes, as docker images prints them, with or without sha256:.
        let prefix = |p: &str| Protected::IdPrefix { prefix: p.into() };
        assert_eq!(parse_ref("ba5f3b788602").unwrap(), prefix("ba5f3b788602"));
        assert_eq!(parse_ref("sha256:ba5f3b").unwrap(), prefix("ba5f3b"));
        assert_eq!(
            parse_ref("ba5f3b788602:1").unwrap(),
            tag("docker.io/library/ba5f3b788602", "1")
        );
    }

    #[test]
    fn id_prefixes_resolve_as_the_docker_cli_reads_them() {
        let a = "sha256:ba5f3b78860211111111111111111111111111111111111111111111111111";
        let b = "sha256:ba5f3c00000000000000000000000000000000000000000000000000000000";
        let cafe = "sha256:cafe000000000000000000000000000000000000000000000000000000000000";
        let images = [
            (a, vec![]),
            (b, vec![]),
            (cafe, vec![]),
            (
                "sha256:9999999999999999999999999999999999999999999999999999999999999999",
                vec![("docker.io/library/cafe".to_owned(), "latest".to_owned())],
            ),
        ];
        let resolve = |text: &str| {
            let mut set = ProtectSet::default();
            set.add_ref(text, "--protect").unwrap();
            set.resolve_ids(&images)
                .map(|()| set.entries[0].what.clone())
        };
        assert_eq!(
            resolve("ba5f3b7").unwrap(),
            Protected::Digest { digest: a.into() }
        );
        assert_eq!(
            resolve("sha256:ba5f3c").unwrap(),
            Protected::Digest { digest: b.into() }
        );
        // A name first: cafe:latest exists, so `cafe` is it, not the id.
        assert_eq!(
            resolve("cafe").unwrap(),
            tag("docker.io/library/cafe", "latest")
        );
        // Ambiguous: refused. Unknown: kept, and matches nothing.
        let err = resolve("ba5f3").unwrap_err();
        assert!(err.to_string().contains("fits 2 images"), "{err}");
        let none = resolve("deadbeef").unwrap();
        assert!(!none.matches(a, &[], &[], &[]), "{none:?}");
    }

    #[test]
    fn plain_lists() {
        let text = format!(
            "# rollback targets\nlocalhost/app:v1\n\n  ghcr.io/me/api@{D}  # pinned\n- localhost/web:2\n"
        );
        let got = parse_file(&text, "f", &no_env).unwrap();
        assert_eq!(
            got,
            vec![
                (2, tag("localhost/app", "v1")),
                (4, Protected::Digest { digest: D.into() }),
                (5, tag("localhost/web", "2"))
            ]
        );
        let err = parse_file("localhost/app:v1\nNOT VALID\n", "f", &no_env).unwrap_err();
        assert!(err.to_string().contains("f:2"), "{err}");
    }

    #[test]
    fn compose_files() {
        let text = "services:\n  web:\n    image: localhost/web:${WEB_TAG:-3}\n  api:\n    image: ghcr.io/me/api:${API_TAG}\n  db:\n    image: postgres\n  built:\n    build: .\n";
        let got = parse_file(text, "compose.yml", &no_env).unwrap();
        assert_eq!(
            got,
            vec![
                (3, tag("localhost/web", "3")),
                (
                    5,
                    Protected::Repository {
                        name: "ghcr.io/me/api".into()
                    }
                ),
                (7, tag("docker.io/library/postgres", "latest")),
            ]
        );
        let env = |k: &str| (k == "API_TAG").then(|| "7".to_owned());
        let got = parse_file(text, "compose.yml", &env).unwrap();
        assert_eq!(got[1], (5, tag("ghcr.io/me/api", "7")));
        let err = parse_file(
            "services:\n  x:\n    image: ${REGISTRY}/app:1\n",
            "c.yml",
            &no_env,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unset variable"), "{err}");
    }

    #[test]
    fn kustomize_files() {
        let text = format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n  - name: app\n    newName: ghcr.io/me/app\n    newTag: \"42\"\n  - name: ghcr.io/me/worker\n    digest: {D}\n  - name: ghcr.io/me/cron\n    newName: ghcr.io/me/cron2\n"
        );
        let got = parse_file(&text, "kustomization.yaml", &no_env).unwrap();
        assert_eq!(
            got,
            vec![
                (5, tag("ghcr.io/me/app", "42")),
                (7, Protected::Digest { digest: D.into() }),
                (
                    10,
                    Protected::Repository {
                        name: "ghcr.io/me/cron2".into()
                    }
                ),
            ]
        );
        assert!(parse_file("foo: bar\n", "x.yaml", &no_env).is_err());
    }

    #[test]
    fn interpolation() {
        let env = |k: &str| match k {
            "A" => Some("1".to_owned()),
            "E" => Some(String::new()),
            _ => None,
        };
        assert_eq!(interpolate("x:$A", &env).as_deref(), Some("x:1"));
        assert_eq!(interpolate("x:${A}", &env).as_deref(), Some("x:1"));
        assert_eq!(interpolate("x:${E:-d}", &env).as_deref(), Some("x:d"));
        assert_eq!(interpolate("x:${E-d}", &env).as_deref(), Some("x:"));
        assert_eq!(interpolate("x:${U-d}", &env).as_deref(), Some("x:d"));
        assert_eq!(interpolate("x:$$A", &env).as_deref(), Some("x:$A"));
        assert_eq!(interpolate("x:${U}", &env), None);
        assert_eq!(interpolate("x:$U", &env), None);
    }

    #[test]
    fn matching() {
        let mut set = ProtectSet::default();
        set.add_ref("busybox:1.36", "--protect").unwrap();
        set.add_ref(D, "--protect").unwrap();
        let tags = vec![("docker.io/library/busybox".to_owned(), "1.36".to_owned())];
        assert!(set.protects("sha256:x", &tags, &[], &[]).is_some());
        assert!(set.protects(D, &[], &[], &[]).is_some());
        assert!(
            set.protects("sha256:x", &[], &[D.to_owned()], &[])
                .is_some()
        );
        assert!(
            set.protects(
                "sha256:x",
                &[("docker.io/library/busybox".into(), "1.35".into())],
                &[],
                &[]
            )
            .is_none()
        );
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(
            canonical_tag("busybox:1").unwrap(),
            ("docker.io/library/busybox".into(), "1".into())
        );
        assert_eq!(
            canonical_tag("localhost/a/b:2").unwrap(),
            ("localhost/a/b".into(), "2".into())
        );
        assert_eq!(
            canonical_digest(&format!("localhost/a@{D}")).unwrap(),
            ("localhost/a".into(), D.into())
        );
    }
}
