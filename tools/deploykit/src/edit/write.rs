//! Replacing an edited file atomically, one edit at a time.
//!
//! The new content is written to a temporary file in the target's own
//! directory (so the final rename stays on one file system), flushed to
//! disk, given the target's permissions, and only then renamed over the
//! target: a reader sees the old file or the new one, never half of one,
//! and a failure before the rename leaves the target untouched. Staging and
//! committing are separate steps so that a tool editing several files can
//! stage all of them before it replaces any.
//!
//! A target that is a symbolic link is written through: the link stays, and
//! the file it points to gets the new content (as `sed -i
//! --follow-symlinks` and editors do), so a shared file linked into several
//! places stays shared.
//!
//! Two edits of one file at once would each read the old text and the
//! second rename would undo the first. An editor therefore [`hold`]s its
//! files from before it reads them until it has replaced them: an exclusive
//! `flock` on the file itself, taken again when a rename replaced the file
//! while it waited, so that the next editor reads what the last one wrote.

use std::fs::{self, File};
use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tempfile::NamedTempFile;

use crate::exit::{Error, Exit, Result, ResultExt};

/// How long [`hold`] waits for another edit of the same file.
const HOLD_WAIT: Duration = Duration::from_secs(60);

/// Files held for an edit (see [`hold`]); dropping it lets them go.
#[derive(Debug)]
pub struct Held {
    _files: Vec<File>,
}

/// Takes an exclusive lock on each of `paths` (through symbolic links),
/// waiting for another edit that holds one, so that the caller's read,
/// edit and [`replace`] of them cannot interleave with another deploykit
/// edit of the same files. A path that does not exist is not held (there
/// is nothing to read yet). Paths are taken in one order, the same one in
/// every process, and a file named twice (or by two links) is held once.
pub fn hold<P: AsRef<Path>>(paths: &[P]) -> Result<Held> {
    let mut real: Vec<PathBuf> = Vec::new();
    for path in paths {
        match fs::canonicalize(path.as_ref()) {
            Ok(p) => real.push(p),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).or_exit(
                    Exit::Usage,
                    format!("cannot resolve {}", path.as_ref().display()),
                );
            }
        }
    }
    real.sort();
    real.dedup();
    let mut files: Vec<File> = Vec::new();
    let mut seen: Vec<(u64, u64)> = Vec::new();
    for path in &real {
        if let Some((file, id)) = lock(path, &seen)? {
            seen.push(id);
            files.push(file);
        }
    }
    Ok(Held { _files: files })
}

/// Locks the file at `path`: `None` when it is one of `held` already.
fn lock(path: &Path, held: &[(u64, u64)]) -> Result<Option<(File, (u64, u64))>> {
    use rustix::fs::{FlockOperation, flock};
    let shown = path.display();
    let deadline = Instant::now() + HOLD_WAIT;
    loop {
        let file = File::open(path).or_exit(Exit::Usage, format!("cannot open {shown}"))?;
        let meta = file
            .metadata()
            .or_exit(Exit::Usage, format!("cannot read {shown}"))?;
        let id = (meta.dev(), meta.ino());
        if held.contains(&id) {
            return Ok(None);
        }
        loop {
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => break,
                Err(rustix::io::Errno::WOULDBLOCK | rustix::io::Errno::INTR)
                    if Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    return Err(Error::new(
                        Exit::Usage,
                        format!(
                            "{shown} is held by another edit for over {}",
                            crate::duration::format(HOLD_WAIT)
                        ),
                    ));
                }
                Err(e) => {
                    return Err(std::io::Error::from(e))
                        .or_exit(Exit::Usage, format!("cannot lock {shown}"));
                }
            }
        }
        // The editor we waited for renamed its new content over the path:
        // the lock is on the old file, so take the new one's.
        match fs::metadata(path) {
            Ok(now) if (now.dev(), now.ino()) == id => return Ok(Some((file, id))),
            Ok(_) => {}
            Err(e) => return Err(e).or_exit(Exit::Usage, format!("cannot read {shown}")),
        }
    }
}

/// The file an edit of `target` replaces: `target` itself, or for a
/// symbolic link the file it points to.
fn real_target(target: &Path) -> Result<PathBuf> {
    match fs::symlink_metadata(target) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(target).or_exit(
            Exit::Usage,
            format!("cannot follow the link {}", target.display()),
        ),
        _ => Ok(target.to_owned()),
    }
}

/// A file's new content, written beside it and waiting to replace it.
#[derive(Debug)]
pub struct Staged {
    temp: NamedTempFile,
    target: PathBuf,
}

/// Writes `text` to a temporary file beside `target`, with `target`'s
/// permissions when it exists. Nothing is replaced yet; dropping the
/// result removes the temporary file.
pub fn stage(target: &Path, text: &str) -> Result<Staged> {
    let target = &real_target(target)?;
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let shown = target.display();
    let mut temp = NamedTempFile::new_in(dir)
        .or_exit(Exit::Usage, format!("cannot stage an edit of {shown}"))?;
    temp.write_all(text.as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .or_exit(
            Exit::Usage,
            format!("cannot write {}", temp.path().display()),
        )?;
    match fs::metadata(target) {
        Ok(meta) => fs::set_permissions(temp.path(), meta.permissions()).or_exit(
            Exit::Usage,
            format!("cannot set permissions on {}", temp.path().display()),
        )?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).or_exit(Exit::Usage, format!("cannot read {shown}")),
    }
    Ok(Staged {
        temp,
        target: target.to_owned(),
    })
}

impl Staged {
    /// The file it will replace (through a symbolic link, the link's
    /// target).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Renames the staged content over the target.
    pub fn commit(self) -> Result<()> {
        let target = self.target;
        self.temp
            .persist(&target)
            .map(drop)
            .map_err(|e| e.error)
            .or_exit(Exit::Usage, format!("cannot replace {}", target.display()))
    }
}

/// Replaces `target` with `text` atomically, keeping its permissions
/// (through a symbolic link, the file it points to).
pub fn replace(target: &Path, text: &str) -> Result<()> {
    stage(target, text)?.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_keeping_permissions_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.yaml");
        fs::write(&file, "old\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
        }
        replace(&file, "new\n").unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "new\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o640);
        }
        let staged = stage(&file, "never\n").unwrap();
        assert_eq!(staged.target(), file.as_path());
        drop(staged);
        assert_eq!(fs::read_to_string(&file).unwrap(), "new\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_link_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        fs::create_dir(&shared).unwrap();
        let real = shared.join("app.env");
        fs::write(&real, "old\n").unwrap();
        let link = dir.path().join("app.env");
        std::os::unix::fs::symlink("shared/app.env", &link).unwrap();
        replace(&link, "new\n").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_held_file_waits_for_its_holder_and_sees_its_edit() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.env");
        fs::write(&file, "0\n").unwrap();
        let link = dir.path().join("link.env");
        std::os::unix::fs::symlink("a.env", &link).unwrap();
        // Named twice, once through a link: held once, no self-deadlock.
        let held = hold(&[&file, &link, &dir.path().join("missing")]).unwrap();
        let waiter = {
            let file = file.clone();
            std::thread::spawn(move || {
                let _held = hold(&[&file]).unwrap();
                fs::read_to_string(&file).unwrap()
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        replace(&file, "1\n").unwrap();
        drop(held);
        // The waiter got the lock of the new file, after the edit.
        assert_eq!(waiter.join().unwrap(), "1\n");
    }
}
