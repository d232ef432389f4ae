//! A result table declared once: its name and typed columns. The CSV writer (here) and the
//! Parquet writer (`tables.rs`, where polars lives) both take it, so a column added or renamed
//! is added or renamed in every format at once.

use std::fmt::Write as _;

/// One column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    Text(Vec<String>),
    Float(Vec<f64>),
    /// Empty in CSV, null in Parquet, where a value does not exist (not NaN).
    MaybeFloat(Vec<Option<f64>>),
    Count(Vec<u64>),
    Int(Vec<i64>),
    Small(Vec<i32>),
    Flag(Vec<bool>),
}

impl Cells {
    fn len(&self) -> usize {
        match self {
            Cells::Text(v) => v.len(),
            Cells::Float(v) => v.len(),
            Cells::MaybeFloat(v) => v.len(),
            Cells::Count(v) => v.len(),
            Cells::Int(v) => v.len(),
            Cells::Small(v) => v.len(),
            Cells::Flag(v) => v.len(),
        }
    }

    /// Row `i` as a CSV field.
    fn field(&self, i: usize, out: &mut String) {
        let _ = match self {
            Cells::Text(v) => write!(out, "{}", crate::csv::field(&v[i])),
            Cells::Float(v) => write!(out, "{}", v[i]),
            Cells::MaybeFloat(v) => match v[i] {
                Some(x) => write!(out, "{x}"),
                None => Ok(()),
            },
            Cells::Count(v) => write!(out, "{}", v[i]),
            Cells::Int(v) => write!(out, "{}", v[i]),
            Cells::Small(v) => write!(out, "{}", v[i]),
            Cells::Flag(v) => write!(out, "{}", v[i]),
        };
    }
}

/// A named table (`<name>.csv`, `<name>.parquet`) built column by column.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: &'static str,
    pub columns: Vec<(&'static str, Cells)>,
}

impl Table {
    pub fn new(name: &'static str) -> Table {
        Table {
            name,
            columns: Vec::new(),
        }
    }

    fn with(mut self, name: &'static str, cells: Cells) -> Table {
        self.columns.push((name, cells));
        self
    }

    pub fn text<S: Into<String>>(self, name: &'static str, v: impl Iterator<Item = S>) -> Table {
        self.with(name, Cells::Text(v.map(Into::into).collect()))
    }
    pub fn float(self, name: &'static str, v: impl Iterator<Item = f64>) -> Table {
        self.with(name, Cells::Float(v.collect()))
    }
    pub fn maybe_float(self, name: &'static str, v: impl Iterator<Item = Option<f64>>) -> Table {
        self.with(name, Cells::MaybeFloat(v.collect()))
    }
    pub fn count(self, name: &'static str, v: impl Iterator<Item = u64>) -> Table {
        self.with(name, Cells::Count(v.collect()))
    }
    pub fn int(self, name: &'static str, v: impl Iterator<Item = i64>) -> Table {
        self.with(name, Cells::Int(v.collect()))
    }
    pub fn small(self, name: &'static str, v: impl Iterator<Item = i32>) -> Table {
        self.with(name, Cells::Small(v.collect()))
    }
    pub fn flag(self, name: &'static str, v: impl Iterator<Item = bool>) -> Table {
        self.with(name, Cells::Flag(v.collect()))
    }

    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, c)| c.len())
    }

    /// Writes the table as `<dir>/<name>.csv`.
    pub fn write_csv(&self, dir: &std::path::Path) -> Result<(), crate::AnalysisError> {
        let p = dir.join(format!("{}.csv", self.name));
        std::fs::write(&p, self.csv()).map_err(|source| crate::AnalysisError::Write {
            path: p.display().to_string(),
            source,
        })
    }

    /// The table as CSV: a header line, then one line per row.
    pub fn csv(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(n, _)| *n).collect();
        let mut out = names.join(",");
        out.push('\n');
        for i in 0..self.rows() {
            for (k, (_, cells)) in self.columns.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                cells.field(i, &mut out);
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_text_leaves_missing_values_empty_and_keeps_column_order() {
        let t = Table::new("t")
            .text("who", ["P01", "a,b"].into_iter())
            .small("trial", [3, -1].into_iter())
            .float("ms", [1.5, f64::NAN].into_iter())
            .maybe_float("first_ms", [None, Some(2.0)].into_iter())
            .count("n", [7, 0].into_iter());
        assert_eq!(t.rows(), 2);
        assert_eq!(
            t.csv(),
            "who,trial,ms,first_ms,n\nP01,3,1.5,,7\n\"a,b\",-1,NaN,2,0\n"
        );
    }
}
