//! An export's table as it is read: RFC 4180 fields (the `csv` crate), the delimiter told from
//! the header line, every row exactly as wide as the header (a decimal comma in a comma file
//! would otherwise shift columns silently), and columns found by name with the unit in brackets
//! parsed: `GazePointX (ADCSpx)`, `GazePointX(ADCSpx)`, `GazePointX [ADCSpx]` and Pro Lab's
//! `Gaze point X [DACS px]` are one column.

use std::path::Path;

use et_files::csv_table::{Records, StringRecord};

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

/// A reader over the export whose rows must be as wide as its header (the project's one CSV
/// reader, `et_files::csv_table::Records`, names each row's line).
pub(crate) struct Reader<R: std::io::Read> {
    inner: Records<R>,
    pub columns: Vec<Column>,
}

impl<R: std::io::Read> Reader<R> {
    pub fn new(path: &Path, input: R, delimiter: u8) -> Result<Self> {
        let mut inner = Records::new(path, input, delimiter);
        let mut header = StringRecord::new();
        if inner.next_record(&mut header)?.is_none() {
            return Err(RecordingError::Invalid(format!(
                "{}: the file is empty (no header line)",
                path.display()
            )));
        }
        let columns: Vec<Column> = header.iter().map(Column::parse).collect();
        Ok(Reader { inner, columns })
    }

    /// The next row and its line number; an error for a row wider or narrower than the header
    /// (blank lines are skipped).
    pub fn next_row(&mut self, row: &mut StringRecord) -> Result<Option<u64>> {
        let Some(line) = self.inner.next_record(row)? else {
            return Ok(None);
        };
        if row.len() != self.columns.len() {
            let hint = if row.len() > self.columns.len() {
                " (a decimal comma in a comma-separated file, or an unquoted delimiter inside a field?)"
            } else {
                ""
            };
            return Err(self
                .inner
                .at(
                    line,
                    format!(
                        "{} fields where the header has {}{hint}",
                        row.len(),
                        self.columns.len()
                    ),
                )
                .into());
        }
        Ok(Some(line))
    }

    /// The first column whose key is one of `keys` (in that order of preference).
    pub fn find(&self, keys: &[&str]) -> Option<usize> {
        keys.iter()
            .find_map(|k| self.columns.iter().position(|c| c.key == *k))
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
            let mut row = StringRecord::new();
            assert_eq!(r.next_row(&mut row).unwrap(), Some(2), "{end:?}");
            assert_eq!(r.next_row(&mut row).unwrap(), Some(4), "{end:?}");
            let e = r.next_row(&mut row).unwrap_err().to_string();
            assert!(e.contains("x.csv: line 5: 4 fields"), "{end:?}: {e}");
        }
    }

    #[test]
    fn rows_wider_than_the_header_are_refused_with_their_line() {
        let path = Path::new("x.csv");
        let text = "time,x,y\n0,1,2\n\"8,5\",3,4\n16,3,25,4\n";
        let mut r = Reader::new(path, text.as_bytes(), delimiter("time,x,y")).unwrap();
        let mut row = StringRecord::new();
        assert_eq!(r.next_row(&mut row).unwrap(), Some(2));
        // A quoted field keeps its comma.
        assert_eq!(r.next_row(&mut row).unwrap(), Some(3));
        assert_eq!(&row[0], "8,5");
        let e = r.next_row(&mut row).unwrap_err().to_string();
        assert!(
            e.contains("x.csv: line 4: 4 fields where the header has 3"),
            "{e}"
        );
    }
}
