//! Output folders (analysis tables, BIDS datasets) appear whole or not at all; recordings are
//! published by the same no-replace rename (`rename_no_replace`). The work goes
//! into a folder of this process's own beside the target and is published by one rename that
//! never replaces anything; a run that fails leaves nothing behind, so nothing stale or half
//! written can be mistaken for a result. `--force` replaces a folder only when et-suite wrote
//! it (it holds the marker file), moving the old one aside first.

use std::path::{Path, PathBuf};

use crate::error::{RecordingError, Result};

/// The file that says et-suite wrote a folder (and which command).
pub const MARKER: &str = ".et-suite-output";

/// A folder being written; published with [`NewDir::publish`], removed if dropped before.
pub struct NewDir {
    target: PathBuf,
    work: PathBuf,
    force: bool,
    published: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RecordingError + '_ {
    move |source| RecordingError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl NewDir {
    /// Starts a new output folder `target` for `command`. Refused when `target` exists, unless
    /// `force` and et-suite wrote it.
    pub fn create(target: &Path, command: &str, force: bool) -> Result<NewDir> {
        check_target(target, force)?;
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        let mut name = target
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(format!(".{}.creating", std::process::id()));
        let work = target.with_file_name(name);
        std::fs::create_dir(&work).map_err(io(&work))?;
        let dir = NewDir {
            target: target.to_path_buf(),
            work,
            force,
            published: false,
        };
        std::fs::write(dir.work.join(MARKER), format!("{command}\n")).map_err(io(&dir.work))?;
        Ok(dir)
    }

    /// Where to write now.
    pub fn path(&self) -> &Path {
        &self.work
    }

    /// Gives the finished folder its name.
    pub fn publish(mut self) -> Result<PathBuf> {
        let aside = if self.force && self.target.exists() {
            check_target(&self.target, true)?;
            let mut name = self.target.as_os_str().to_os_string();
            name.push(format!(".{}.replaced", std::process::id()));
            let aside = PathBuf::from(name);
            std::fs::rename(&self.target, &aside).map_err(io(&self.target))?;
            Some(aside)
        } else {
            None
        };
        rename_no_replace(&self.work, &self.target)?;
        self.published = true;
        if let Some(a) = aside {
            std::fs::remove_dir_all(&a).map_err(io(&a))?;
        }
        Ok(self.target.clone())
    }
}

impl Drop for NewDir {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.work);
        }
    }
}

fn check_target(target: &Path, force: bool) -> Result<()> {
    if !target.exists() {
        return Ok(());
    }
    let ours = target.is_dir() && target.join(MARKER).is_file();
    match (force, ours) {
        (true, true) => Ok(()),
        (false, true) => Err(RecordingError::Invalid(format!(
            "{}: already exists (an earlier et-suite output); choose another --out, or --force to replace it",
            target.display()
        ))),
        (_, false) => Err(RecordingError::Invalid(format!(
            "{}: already exists and et-suite did not write it; choose another --out (--force replaces only et-suite's own output folders)",
            target.display()
        ))),
    }
}

/// `rename` that fails instead of replacing an existing `to` (Linux renameat2): how every
/// output (recordings, folders) is published.
pub(crate) fn rename_no_replace(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes());
    let (Ok(a), Ok(b)) = (c(from), c(to)) else {
        return Err(RecordingError::Invalid(format!(
            "{}: a path with a NUL byte",
            to.display()
        )));
    };
    // SAFETY: both are valid NUL-terminated paths that live across the call.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.kind() {
        std::io::ErrorKind::AlreadyExists => Err(RecordingError::AlreadyExists {
            path: to.to_path_buf(),
        }),
        _ => Err(RecordingError::Io {
            path: to.to_path_buf(),
            source: e,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_appears_whole_and_is_replaced_only_with_force_when_ours() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("analysis");
        let d = NewDir::create(&out, "analyze", false).unwrap();
        std::fs::write(d.path().join("old.csv"), "x").unwrap();
        assert!(!out.exists());
        d.publish().unwrap();
        assert!(out.join("old.csv").exists());
        let e = NewDir::create(&out, "analyze", false)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--force"), "{e}");
        // Replaced whole: nothing of the old run stays.
        let d = NewDir::create(&out, "analyze", true).unwrap();
        std::fs::write(d.path().join("new.csv"), "y").unwrap();
        d.publish().unwrap();
        assert!(out.join("new.csv").exists() && !out.join("old.csv").exists());
        // A failed run leaves nothing.
        let d = NewDir::create(&dir.path().join("b"), "analyze", false).unwrap();
        drop(d);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        // A folder et-suite did not write is never replaced.
        let mine = dir.path().join("mine");
        std::fs::create_dir(&mine).unwrap();
        let e = NewDir::create(&mine, "analyze", true)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("did not write it"), "{e}");
    }
}
