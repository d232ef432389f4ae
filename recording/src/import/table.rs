//! An export's table as it is read: RFC 4180 fields (the `csv` crate), the delimiter told from
//! the header line, every row exactly as wide as the header (a decimal comma in a comma file
//! would otherwise shift columns silently), and columns found by name with the unit in brackets
//! parsed: `GazePointX (ADCSpx)`, `GazePointX(ADCSpx)`, `GazePointX [ADCSpx]` and Pro Lab's
//! `Gaze point X [DACS px]` are one column.

use std::path::Path;

use crate::error::{RecordingError, Result};

/// One header cell: its name as written, the key it is matched by, and its unit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Column {
    pub name: String,
    pub key: String,
    pub unit: Option<String>,
}

impl Column {
    pub fn parse(cell: &str) -> Column {
        let name = cell.trim().trim_start_matches('\u{feff}').to_string();
        let (base, unit) = split_unit(&name);
        Column {
            key: key(base),
            unit: unit.map(|u| u.to_string()),
            name,
        }
    }
}

/// "Gaze point X" and "GazePointX" alike: lower case, letters and digits only.
pub(crate) fn key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A trailing "(unit)" or "[unit]" split off the name.
fn split_unit(name: &str) -> (&str, Option<&str>) {
    let open = match name.chars().last() {
        Some(')') => '(',
        Some(']') => '[',
        _ => return (name, None),
    };
    match name.rfind(open) {
        Some(i) if i > 0 => {
            let unit = name[i + 1..name.len() - 1].trim();
            (name[..i].trim_end(), (!unit.is_empty()).then_some(unit))
        }
        _ => (name, None),
    }
}

/// The delimiter of a header line: tab, else semicolon when there are more of them than
/// commas, else comma.
pub(crate) fn delimiter(header_line: &str) -> u8 {
    if header_line.contains('\t') {
        b'\t'
    } else if header_line.matches(';').count() > header_line.matches(',').count() {
        b';'
    } else {
        b','
    }
}

/// Counts the lines of what passes through it: where each line break begins (`\n`, `\r\n`
/// or a lone `\r`, as Windows and old Mac exports end lines). The `csv` crate's own line
/// numbers are one short after `\r\n` and never move after a lone `\r`, so an error would
/// name the wrong line; this names the line a text editor shows.
struct LineBreaks<R> {
    inner: R,
    /// Each line break: the byte offset where it begins and its length (1, or 2 for `\r\n`).
    breaks: Vec<(u64, u8)>,
    offset: u64,
    after_cr: bool,
}

impl<R: std::io::Read> std::io::Read for LineBreaks<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            let at = self.offset + i as u64;
            match b {
                b'\r' => self.breaks.push((at, 1)),
                b'\n' if self.after_cr => {
                    if let Some(last) = self.breaks.last_mut() {
                        last.1 = 2;
                    }
                }
                b'\n' => self.breaks.push((at, 1)),
                _ => {}
            }
            self.after_cr = b == b'\r';
        }
        self.offset += n as u64;
        Ok(n)
    }
}

impl<R> LineBreaks<R> {
    /// The 1-based line of the first text at or after byte `at` (a record's start may point
    /// into the line breaks and blank lines before it).
    fn line_of(&self, at: u64) -> u64 {
        let mut k = self.breaks.partition_point(|b| b.0 < at);
        // Inside a `\r\n`: the text starts after it.
        let mut pos = match k.checked_sub(1).and_then(|i| self.breaks.get(i)) {
            Some(&(start, len)) => at.max(start + u64::from(len)),
            None => at,
        };
        while let Some(&(start, len)) = self.breaks.get(k).filter(|b| b.0 == pos) {
            pos = start + u64::from(len);
            k += 1;
        }
        1 + k as u64
    }
}

/// A reader over the export whose rows must be as wide as its header.
pub(crate) struct Reader<R: std::io::Read> {
    inner: csv::Reader<LineBreaks<R>>,
    pub columns: Vec<Column>,
}

impl<R: std::io::Read> Reader<R> {
    pub fn new(path: &Path, input: R, delimiter: u8) -> Result<Self> {
        let mut inner = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(true)
            .from_reader(LineBreaks {
                inner: input,
                breaks: Vec::new(),
                offset: 0,
                after_cr: false,
            });
        let header = inner.headers().map_err(|e| csv_error(path, &e))?.clone();
        let columns: Vec<Column> = header.iter().map(Column::parse).collect();
        if columns.iter().all(|c| c.name.is_empty()) {
            return Err(RecordingError::Invalid(format!(
                "{}: the file is empty (no header line)",
                path.display()
            )));
        }
        Ok(Reader { inner, columns })
    }

    /// The next row and its line number; an error for a row wider or narrower than the header
    /// (blank lines are skipped).
    pub fn next_row(&mut self, path: &Path, row: &mut csv::StringRecord) -> Result<Option<u64>> {
        loop {
            if !self
                .inner
                .read_record(row)
                .map_err(|e| csv_error(path, &e))?
            {
                return Ok(None);
            }
            let line = row
                .position()
                .map_or(0, |p| self.inner.get_ref().line_of(p.byte()));
            if row.len() == 1 && row.get(0).is_some_and(|f| f.trim().is_empty()) {
                continue;
            }
            if row.len() != self.columns.len() {
                let hint = if row.len() > self.columns.len() {
                    " (a decimal comma in a comma-separated file, or an unquoted delimiter inside a field?)"
                } else {
                    ""
                };
                return Err(RecordingError::Invalid(format!(
                    "{}: line {line}: {} fields where the header has {}{hint}",
                    path.display(),
                    row.len(),
                    self.columns.len()
                )));
            }
            return Ok(Some(line));
        }
    }

    /// The first column whose key is one of `keys` (in that order of preference).
    pub fn find(&self, keys: &[&str]) -> Option<usize> {
        keys.iter()
            .find_map(|k| self.columns.iter().position(|c| c.key == *k))
    }
}

fn csv_error(path: &Path, e: &csv::Error) -> RecordingError {
    match e.kind() {
        csv::ErrorKind::Io(io) => RecordingError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(io.kind(), io.to_string()),
        },
        csv::ErrorKind::Utf8 { pos, .. } => RecordingError::Invalid(format!(
            "{}: line {}: not UTF-8 text (save the export as UTF-8)",
            path.display(),
            pos.as_ref().map_or(0, |p| p.line())
        )),
        _ => RecordingError::Invalid(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_as_exports_spell_them_are_one_column() {
        for h in [
            "GazePointX (ADCSpx)",
            "GazePointX(ADCSpx)",
            "GazePointX [ADCSpx]",
            "gazepointx  [ADCSpx]",
            "\u{feff}GazePointX (ADCSpx)",
        ] {
            let c = Column::parse(h);
            assert_eq!(
                (c.key.as_str(), c.unit.as_deref()),
                ("gazepointx", Some("ADCSpx")),
                "{h}"
            );
        }
        let c = Column::parse("Gaze point X [DACS px]");
        assert_eq!(
            (c.key.as_str(), c.unit.as_deref()),
            ("gazepointx", Some("DACS px"))
        );
        let c = Column::parse("RecordingTimestamp");
        assert_eq!((c.key.as_str(), c.unit), ("recordingtimestamp", None));
    }

    /// Windows (`\r\n`) and old Mac (`\r`) line ends name the same lines as `\n`.
    #[test]
    fn line_numbers_are_right_whatever_ends_the_lines() {
        let path = Path::new("x.csv");
        for end in ["\n", "\r\n", "\r"] {
            let text = ["time,x,y", "0,1,2", "", "8,1,2", "16,3,4,5", ""].join(end);
            let mut r = Reader::new(path, text.as_bytes(), delimiter("time,x,y")).unwrap();
            let mut row = csv::StringRecord::new();
            assert_eq!(r.next_row(path, &mut row).unwrap(), Some(2), "{end:?}");
            assert_eq!(r.next_row(path, &mut row).unwrap(), Some(4), "{end:?}");
            let e = r.next_row(path, &mut row).unwrap_err().to_string();
            assert!(e.contains("x.csv: line 5: 4 fields"), "{end:?}: {e}");
        }
    }

    #[test]
    fn rows_wider_than_the_header_are_refused_with_their_line() {
        let path = Path::new("x.csv");
        let text = "time,x,y\n0,1,2\n\"8,5\",3,4\n16,3,25,4\n";
        let mut r = Reader::new(path, text.as_bytes(), delimiter("time,x,y")).unwrap();
        let mut row = csv::StringRecord::new();
        assert_eq!(r.next_row(path, &mut row).unwrap(), Some(2));
        // A quoted field keeps its comma.
        assert_eq!(r.next_row(path, &mut row).unwrap(), Some(3));
        assert_eq!(&row[0], "8,5");
        let e = r.next_row(path, &mut row).unwrap_err().to_string();
        assert!(
            e.contains("x.csv: line 4: 4 fields where the header has 3"),
            "{e}"
        );
    }
}
