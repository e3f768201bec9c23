//! Replacing an edited file atomically.
//!
//! The new content is written to a temporary file in the target's own
//! directory (so the final rename stays on one file system), flushed to
//! disk, given the target's permissions, and only then renamed over the
//! target: a reader sees the old file or the new one, never half of one,
//! and a failure before the rename leaves the target untouched. Staging and
//! committing are separate steps so that a tool editing several files can
//! stage all of them before it replaces any.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::exit::{Exit, Result, ResultExt};

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
    /// The file it will replace.
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

/// Replaces `target` with `text` atomically, keeping its permissions.
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
}
