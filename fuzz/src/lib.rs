//! What every target shares: the parsers take paths, so a case's bytes go to a file first.

use std::path::PathBuf;

/// A temporary folder holding the case's bytes as `name`; dropped (and removed) with the guard.
pub struct Case {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

/// Writes `data` to `<fresh temporary folder>/<name>`, or `None` when the disk refuses (then the
/// case is skipped: a full /tmp is not a finding).
pub fn case_file(name: &str, data: &[u8]) -> Option<Case> {
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join(name);
    std::fs::write(&path, data).ok()?;
    Some(Case { dir, path })
}

/// The extension a case is read as, chosen by its first byte so the fuzzer can reach both.
pub fn pick<'a>(data: &[u8], names: &[&'a str]) -> &'a str {
    let i = data.first().map_or(0, |b| *b as usize % names.len());
    names[i]
}
