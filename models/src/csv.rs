//! The CSV files `prepare` reads (labels, landmarks), with the `csv` crate: a header, then
//! rows, blank lines skipped, each row with its line number for error messages and its fields
//! trimmed.

use std::path::Path;

use crate::error::{ModelError, Result};

/// A read file: its header and its rows (line number, trimmed fields).
#[derive(Debug)]
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
    let text = text.trim_start_matches('\u{feff}');
    // The line a record's text starts on: its position is where the previous record ended, so
    // the blank lines the reader skipped come first.
    let line_at = |p: Option<&csv::Position>| {
        p.map_or(0, |p| {
            let bytes = text.as_bytes();
            let mut end = usize::try_from(p.byte())
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            while end < bytes.len() && matches!(bytes[end], b'\n' | b'\r') {
                end += 1;
            }
            1 + bytes[..end].iter().filter(|b| **b == b'\n').count()
        })
    };
    let records = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
        .into_records();
    let mut rows = Vec::new();
    let mut header = None;
    for r in records {
        let r = r.map_err(|e| at(path, line_at(e.position()), format!("not valid CSV: {e}")))?;
        if r.iter().all(str::is_empty) {
            continue;
        }
        let line = line_at(r.position());
        let fields: Vec<String> = r.iter().map(str::to_string).collect();
        if header.is_none() {
            header = Some(fields);
        } else {
            rows.push((line, fields));
        }
    }
    let Some(header) = header else {
        return Err(at(path, 1, "empty; expected a header line"));
    };
    Ok(Table { header, rows })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_blank_lines_and_line_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("labels.csv");
        std::fs::write(
            &p,
            "\u{feff}image, label\n\n\"a, b.png\" , WS\nc.png,\"say \"\"hi\"\"\"\n",
        )
        .unwrap();
        let t = read(&p).unwrap();
        assert_eq!(t.header, ["image", "label"]);
        assert_eq!(t.rows[0], (3, vec!["a, b.png".into(), "WS".into()]));
        assert_eq!(t.rows[1], (4, vec!["c.png".into(), "say \"hi\"".into()]));
        assert_eq!(t.column("LABEL", &p).unwrap(), 1);
        std::fs::write(&p, "\n\n").unwrap();
        assert!(read(&p)
            .unwrap_err()
            .to_string()
            .contains("expected a header"));
    }
}
