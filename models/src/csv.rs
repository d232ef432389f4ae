//! The plain CSV files `prepare` reads (labels, landmarks): a header, then comma-separated
//! values, blank lines skipped, each row with its line number for error messages. Quoted
//! fields are refused rather than misread.

use std::path::Path;

use crate::error::{ModelError, Result};

/// A read file: its header and its rows (line number, trimmed fields).
pub(crate) struct Table {
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

/// "path:line: message".
pub(crate) fn at(path: &Path, line: usize, m: impl std::fmt::Display) -> ModelError {
    ModelError::Invalid(format!("{}:{line}: {m}", path.display()))
}

pub(crate) fn read(path: &Path) -> Result<Table> {
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.into(),
        source,
    })?;
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let split = |l: &str| l.split(',').map(|s| s.trim().to_string()).collect();
    let Some((_, header)) = lines.next() else {
        return Err(at(path, 1, "empty; expected a header line"));
    };
    let mut rows = Vec::new();
    for (line, l) in lines {
        if l.contains('"') {
            return Err(at(
                path,
                line,
                "quoted fields are not supported; use plain values",
            ));
        }
        rows.push((line, split(l)));
    }
    Ok(Table {
        header: split(header),
        rows,
    })
}

impl Table {
    /// The index of column `name` (case-insensitive).
    pub fn column(&self, name: &str, path: &Path) -> Result<usize> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                at(
                    path,
                    1,
                    format!("no '{name}' column (header: {})", self.header.join(",")),
                )
            })
    }
}
