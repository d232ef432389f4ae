//! CSV, read one way by every crate (the `csv` crate: RFC 4180 quoted fields, doubled quotes,
//! line breaks inside quotes): a byte-order mark at the start dropped, blank lines skipped,
//! every record with the line a text editor shows it on, and every error naming the file and
//! the line. A record that is not valid CSV is an error, never the silent end of the table.
//!
//! `Records` streams a file of any size (exports of millions of rows); `Table` holds a small
//! one whole (labels, survey exports, classifier outputs), its fields trimmed.

use std::io::Read;
use std::path::{Path, PathBuf};

pub use csv::StringRecord;

use crate::FileError;

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
    /// Still at the file's start, where a byte-order mark is dropped.
    at_start: bool,
}

impl<R: Read> Read for LineBreaks<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = self.inner.read(buf)?;
        if self.at_start && n > 0 {
            self.at_start = false;
            if buf[..n].starts_with(b"\xef\xbb\xbf") {
                buf.copy_within(3..n, 0);
                n -= 3;
            }
        }
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

/// The records of a CSV stream, each with its line.
pub struct Records<R: Read> {
    inner: csv::Reader<LineBreaks<R>>,
    path: PathBuf,
}

impl<R: Read> Records<R> {
    /// `path` names the stream in errors; `delimiter` is `b','`, `b';'` or `b'\t'`.
    pub fn new(path: &Path, input: R, delimiter: u8) -> Records<R> {
        let inner = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(LineBreaks {
                inner: input,
                breaks: Vec::new(),
                offset: 0,
                after_cr: false,
                at_start: true,
            });
        Records {
            inner,
            path: path.to_path_buf(),
        }
    }

    /// The next record that is not a blank line (nothing or only white space) into `row`, and
    /// its line; `None` at the end. A record of empty fields (`,,`) is a record.
    pub fn next_record(&mut self, row: &mut StringRecord) -> Result<Option<u64>, FileError> {
        loop {
            let more = self.inner.read_record(row).map_err(|e| self.error(&e))?;
            if !more {
                return Ok(None);
            }
            // A blank line (nothing or only white space) is one empty field.
            if row.len() == 1 && row.get(0).is_some_and(|f| f.trim().is_empty()) {
                continue;
            }
            return Ok(Some(self.line(row.position())));
        }
    }

    /// An error at `line` of this stream.
    pub fn at(&self, line: u64, message: impl Into<String>) -> FileError {
        FileError::Line {
            path: self.path.clone(),
            line,
            message: message.into(),
        }
    }

    fn line(&self, position: Option<&csv::Position>) -> u64 {
        position.map_or(0, |p| self.inner.get_ref().line_of(p.byte()))
    }

    fn error(&self, e: &csv::Error) -> FileError {
        let line = self.line(e.position());
        match e.kind() {
            csv::ErrorKind::Io(io) => FileError::Read {
                path: self.path.clone(),
                what: "CSV file",
                source: std::io::Error::new(io.kind(), io.to_string()),
            },
            csv::ErrorKind::Utf8 { .. } => self.at(line, "not UTF-8 text (save the file as UTF-8)"),
            _ => self.at(line, format!("not valid CSV: {e}")),
        }
    }
}

/// One record of a `Table`: its line and its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: u64,
    pub fields: Vec<String>,
}

impl Row {
    /// Field `i`, or "" where the row is shorter.
    pub fn get(&self, i: usize) -> &str {
        self.fields.get(i).map_or("", String::as_str)
    }
}

/// A small CSV file held whole: its first record as the header, then its rows, fields trimmed.
#[derive(Debug, Clone)]
pub struct Table {
    pub path: PathBuf,
    pub header: Vec<String>,
    pub rows: Vec<Row>,
}

impl Table {
    /// Reads `path` (comma-separated).
    pub fn read(path: &Path) -> Result<Table, FileError> {
        let file = std::fs::File::open(path).map_err(|source| FileError::Read {
            path: path.into(),
            what: "CSV file",
            source,
        })?;
        Table::from_reader(path, std::io::BufReader::new(file))
    }

    /// Reads comma-separated `input`, named `path` in errors.
    pub fn from_reader(path: &Path, input: impl Read) -> Result<Table, FileError> {
        let mut records = Records::new(path, input, b',');
        let mut record = StringRecord::new();
        // Rows of empty fields (`,,`, as spreadsheets save emptied rows) are skipped too.
        let mut next = |record: &mut StringRecord| -> Result<Option<Row>, FileError> {
            while let Some(line) = records.next_record(record)? {
                let fields: Vec<String> = record.iter().map(|f| f.trim().to_string()).collect();
                if fields.iter().any(|f| !f.is_empty()) {
                    return Ok(Some(Row { line, fields }));
                }
            }
            Ok(None)
        };
        let Some(header) = next(&mut record)? else {
            return Err(FileError::Invalid {
                path: path.into(),
                message: "empty; expected a header line".into(),
            });
        };
        let mut rows = Vec::new();
        while let Some(row) = next(&mut record)? {
            rows.push(row);
        }
        Ok(Table {
            path: path.into(),
            header: header.fields,
            rows,
        })
    }

    /// The index of column `name` (case-insensitive), or an error naming the header.
    pub fn column(&self, name: &str) -> Result<usize, FileError> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                self.at(
                    1,
                    format!("no '{name}' column (header: {})", self.header.join(",")),
                )
            })
    }

    /// An error at `line` of this file.
    pub fn at(&self, line: u64, message: impl Into<String>) -> FileError {
        FileError::Line {
            path: self.path.clone(),
            line,
            message: message.into(),
        }
    }
}

/// One field for writing, quoted when it needs to be.
pub fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Result<Table, FileError> {
        Table::from_reader(Path::new("x.csv"), text.as_bytes())
    }

    #[test]
    fn quoted_fields_blank_lines_a_bom_and_line_numbers() {
        let t =
            table("\u{feff}image, label\n\n\"a, b.png\" , WS\nc.png,\"say \"\"hi\"\"\"\n").unwrap();
        assert_eq!(t.header, ["image", "label"]);
        assert_eq!(t.rows[0].line, 3);
        assert_eq!(t.rows[0].fields, ["a, b.png", "WS"]);
        assert_eq!(t.rows[1].line, 4);
        assert_eq!(t.rows[1].get(1), "say \"hi\"");
        assert_eq!(t.rows[1].get(7), "");
        // A row of empty fields is no row of a table (spreadsheets save emptied rows so); a
        // stream still gives it, as the imports check every row's width.
        assert_eq!(table("a,b\n1,2\n , \n3,4\n").unwrap().rows.len(), 2);
        let mut r = Records::new(Path::new("x.csv"), "a,b\n,\n".as_bytes(), b',');
        let mut row = StringRecord::new();
        assert_eq!(r.next_record(&mut row).unwrap(), Some(1));
        assert_eq!(r.next_record(&mut row).unwrap(), Some(2));
        assert_eq!(t.column("LABEL").unwrap(), 1);
        let e = t.column("smile").unwrap_err().to_string();
        assert!(e.starts_with("x.csv: line 1: no 'smile' column"), "{e}");
        let e = table("\n \n").unwrap_err().to_string();
        assert!(e.contains("expected a header"), "{e}");
    }

    #[test]
    fn a_line_break_inside_quotes_is_one_field_and_the_next_line_counts_it() {
        let t = table("a,b\n1,\"two\nlines\"\n3,4\n").unwrap();
        assert_eq!(t.rows[0].fields, ["1", "two\nlines"]);
        assert_eq!(t.rows[1].line, 4);
    }

    /// A record that is not text stops the reading with its line, never silently.
    #[test]
    fn a_bad_record_is_an_error_with_its_line_not_the_end_of_the_table() {
        let mut text = b"a,b\n1,2\n".to_vec();
        text.extend_from_slice(b"3,\xff\xfe\n5,6\n");
        let e = Table::from_reader(Path::new("x.csv"), &text[..])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.csv: line 3: not UTF-8"), "{e}");
    }

    /// Windows (`\r\n`) and old Mac (`\r`) line ends name the same lines as `\n`.
    #[test]
    fn line_numbers_are_right_whatever_ends_the_lines() {
        for end in ["\n", "\r\n", "\r"] {
            let text = ["time,x,y", "0,1,2", "", "8,1,2", "16,3,4,5", ""].join(end);
            let mut r = Records::new(Path::new("x.csv"), text.as_bytes(), b',');
            let mut row = StringRecord::new();
            let lines: Vec<u64> = std::iter::from_fn(|| r.next_record(&mut row).unwrap()).collect();
            assert_eq!(lines, [1, 2, 4, 5], "{end:?}");
        }
    }

    #[test]
    fn fields_that_need_quotes_get_them() {
        assert_eq!(quote("x,y"), "\"x,y\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("plain"), "plain");
    }
}
