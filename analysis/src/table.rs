//! A result table declared once: its name and typed columns. The CSV and HTML writers (here)
//! and the Parquet writer (`table_files.rs`, where polars lives) all take it, so a column added or
//! renamed is added or renamed in every format at once.

use std::fmt::Write as _;

/// One column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    Text(Vec<String>),
    /// Text from a few distinct values (a class, the recording a row belongs to): each row
    /// the index of its value. A table of every sample (5 million rows) would otherwise hold
    /// a String per cell.
    Labels(Vec<String>, Vec<u32>),
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
            Cells::Labels(_, codes) => codes.len(),
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
            Cells::Text(v) => write!(out, "{}", et_files::csv_table::quote(&v[i])),
            Cells::Labels(names, codes) => {
                write!(
                    out,
                    "{}",
                    et_files::csv_table::quote(&names[codes[i] as usize])
                )
            }
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

/// How a column reads in the HTML report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// As it is: text (escaped), whole numbers, numbers in full.
    Plain,
    /// Rounded to this many decimals.
    Digits(usize),
    /// A p-value as the report writes them (scientific below 1e-4).
    P,
    /// A share as a percentage to 0.1.
    Percent,
}

impl Cells {
    /// Row `i` as the content of an HTML cell (escaped; "n/a" where there is no number).
    fn html(&self, i: usize, shown: Shown) -> String {
        let number = |v: f64| match shown {
            _ if !v.is_finite() => "n/a".to_string(),
            Shown::P => crate::table::esc(&crate::table::fmt_p(v)),
            Shown::Digits(d) => format!("{v:.d$}"),
            Shown::Percent => format!("{:.1}", 100.0 * v),
            Shown::Plain => v.to_string(),
        };
        match self {
            Cells::Text(v) => crate::table::esc(&v[i]),
            Cells::Labels(names, codes) => crate::table::esc(&names[codes[i] as usize]),
            Cells::Float(v) => number(v[i]),
            Cells::MaybeFloat(v) => v[i].map_or_else(|| "n/a".to_string(), number),
            Cells::Count(v) => v[i].to_string(),
            Cells::Int(v) => v[i].to_string(),
            Cells::Small(v) => v[i].to_string(),
            Cells::Flag(v) => if v[i] { "yes" } else { "no" }.to_string(),
        }
    }
}

/// A named table (`<name>.csv`, `<name>.parquet`) built column by column.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<(String, Cells)>,
}

impl Table {
    pub fn new(name: impl Into<String>) -> Table {
        Table {
            name: name.into(),
            columns: Vec::new(),
        }
    }

    fn with(mut self, name: impl Into<String>, cells: Cells) -> Table {
        self.columns.push((name.into(), cells));
        self
    }

    pub fn text<S: Into<String>>(
        self,
        name: impl Into<String>,
        v: impl Iterator<Item = S>,
    ) -> Table {
        self.with(name, Cells::Text(v.map(Into::into).collect()))
    }
    /// A text column of few distinct values: `names`, and each row's index into them.
    pub fn labels(self, name: impl Into<String>, names: Vec<String>, codes: Vec<u32>) -> Table {
        self.with(name, Cells::Labels(names, codes))
    }
    pub fn float(self, name: impl Into<String>, v: impl Iterator<Item = f64>) -> Table {
        self.with(name, Cells::Float(v.collect()))
    }
    pub fn maybe_float(
        self,
        name: impl Into<String>,
        v: impl Iterator<Item = Option<f64>>,
    ) -> Table {
        self.with(name, Cells::MaybeFloat(v.collect()))
    }
    pub fn count(self, name: impl Into<String>, v: impl Iterator<Item = u64>) -> Table {
        self.with(name, Cells::Count(v.collect()))
    }
    pub fn int(self, name: impl Into<String>, v: impl Iterator<Item = i64>) -> Table {
        self.with(name, Cells::Int(v.collect()))
    }
    pub fn small(self, name: impl Into<String>, v: impl Iterator<Item = i32>) -> Table {
        self.with(name, Cells::Small(v.collect()))
    }
    pub fn flag(self, name: impl Into<String>, v: impl Iterator<Item = bool>) -> Table {
        self.with(name, Cells::Flag(v.collect()))
    }

    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, c)| c.len())
    }

    /// Writes the table as `<dir>/<name>.csv`, a block of rows at a time (a table of every
    /// sample is hundreds of MB as text: never held whole).
    pub fn write_csv(&self, dir: &std::path::Path) -> Result<(), crate::AnalysisError> {
        use std::io::Write as _;
        let p = dir.join(format!("{}.csv", self.name));
        let err = |source| crate::AnalysisError::Write {
            path: p.display().to_string(),
            source,
        };
        let mut f = std::io::BufWriter::new(std::fs::File::create(&p).map_err(err)?);
        let mut block = self.header_line();
        for i in 0..self.rows() {
            self.row_line(i, &mut block);
            if block.len() >= 1 << 20 {
                f.write_all(block.as_bytes()).map_err(err)?;
                block.clear();
            }
        }
        f.write_all(block.as_bytes()).map_err(err)?;
        f.flush().map_err(err)
    }

    fn header_line(&self) -> String {
        let names: Vec<String> = self
            .columns
            .iter()
            .map(|(n, _)| et_files::csv_table::quote(n))
            .collect();
        let mut out = names.join(",");
        out.push('\n');
        out
    }

    /// Row `i` as a CSV line, appended to `out`.
    fn row_line(&self, i: usize, out: &mut String) {
        for (k, (_, cells)) in self.columns.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            cells.field(i, out);
        }
        out.push('\n');
    }

    /// The rows `keep` selects, in the `columns` named (each with how it reads), as an HTML
    /// table headed by the column names the CSV has (free to wrap after an underscore); text
    /// columns align left (class `t`).
    pub fn html(&self, columns: &[(&str, Shown)], keep: impl Fn(usize) -> bool) -> String {
        let picked: Vec<(&str, &Cells, Shown)> = columns
            .iter()
            .filter_map(|(name, shown)| {
                self.columns
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(n, c)| (n.as_str(), c, *shown))
            })
            .collect();
        // A name the table lacks is the caller's typo: loud in every test build.
        debug_assert_eq!(
            picked.len(),
            columns.len(),
            "table {} lacks a column of {columns:?}",
            self.name
        );
        let class = |c: &Cells| {
            if matches!(c, Cells::Text(_) | Cells::Labels(..)) {
                " class=\"t\""
            } else {
                ""
            }
        };
        let mut out = String::from("<table><tr>");
        for (name, cells, _) in &picked {
            // Long names may wrap after their underscores.
            let name = crate::table::esc(name).replace('_', "_<wbr>");
            let _ = write!(out, "<th{}>{name}</th>", class(cells));
        }
        out.push_str("</tr>");
        for i in (0..self.rows()).filter(|&i| keep(i)) {
            out.push_str("<tr>");
            for (_, cells, shown) in &picked {
                let _ = write!(out, "<td{}>{}</td>", class(cells), cells.html(i, *shown));
            }
            out.push_str("</tr>");
        }
        out.push_str("</table>");
        out
    }

    /// Row indices whose text column `name` equals `value`.
    pub fn text_is<'a>(&'a self, name: &str, value: &'a str) -> impl Fn(usize) -> bool + 'a {
        let column = self
            .columns
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| c);
        move |i| match column {
            Some(Cells::Text(v)) => v[i] == value,
            Some(Cells::Labels(names, codes)) => names[codes[i] as usize] == value,
            _ => false,
        }
    }

    /// The table as CSV: a header line, then one line per row.
    pub fn csv(&self) -> String {
        let mut out = self.header_line();
        for i in 0..self.rows() {
            self.row_line(i, &mut out);
        }
        out
    }
}

/// A p-value as read by people (tables, the terminal, the report, figures), in APA style:
/// "< .001" below .001, else three decimals without the leading zero (".042", "1.000");
/// "n/a" when undefined. Every CSV and Parquet keeps the exact value.
pub fn fmt_p(p: f64) -> String {
    if !p.is_finite() {
        "n/a".into()
    } else if p < 0.001 {
        "< .001".into()
    } else {
        let s = format!("{p:.3}");
        match s.strip_prefix('0') {
            Some(rest) => rest.to_string(),
            None => s,
        }
    }
}

/// `fmt_p` in a sentence: "p < .001", "p = .042", "p n/a".
pub fn p_phrase(p: f64) -> String {
    match fmt_p(p) {
        s if s.starts_with('<') => format!("p {s}"),
        s if s == "n/a" => "p n/a".into(),
        s => format!("p = {s}"),
    }
}

/// Text made safe inside HTML (elements and attribute values).
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_as_the_text_they_stand_for() {
        let t = Table::new("t")
            .labels(
                "class",
                vec!["Fixation".into(), "a,b".into()],
                vec![0, 1, 0],
            )
            .count("n", [1, 2, 3].into_iter());
        assert_eq!(t.csv(), "class,n\nFixation,1\n\"a,b\",2\nFixation,3\n");
        let dir = tempfile::tempdir().unwrap();
        t.write_csv(dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("t.csv")).unwrap(),
            t.csv()
        );
        assert!(t.text_is("class", "Fixation")(2) && !t.text_is("class", "Fixation")(1));
    }

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

    #[test]
    fn html_shows_the_chosen_columns_and_rows_escaped_and_rounded() {
        let t = Table::new("t")
            .text("who", ["P01", "<b>&"].into_iter())
            .float("ms", [1.25, f64::NAN].into_iter())
            .float("p", [3e-7, 0.5].into_iter())
            .maybe_float("deg", [None, Some(0.456)].into_iter());
        let all = t.html(
            &[
                ("who", Shown::Plain),
                ("p", Shown::P),
                ("ms", Shown::Digits(1)),
                ("deg", Shown::Percent),
            ],
            |_| true,
        );
        assert_eq!(
            all,
            "<table><tr><th class=\"t\">who</th><th>p</th><th>ms</th><th>deg</th></tr>\
             <tr><td class=\"t\">P01</td><td>&lt; .001</td><td>1.2</td><td>n/a</td></tr>\
             <tr><td class=\"t\">&lt;b&gt;&amp;</td><td>.500</td><td>n/a</td><td>45.6</td></tr></table>"
        );
        let one = t.html(&[("ms", Shown::Plain)], t.text_is("who", "P01"));
        assert_eq!(
            one,
            "<table><tr><th>ms</th></tr><tr><td>1.25</td></tr></table>"
        );
        let long = Table::new("t").count("n_no_smile", [1].into_iter());
        assert!(long
            .html(&[("n_no_smile", Shown::Plain)], |_| true)
            .contains("<th>n_<wbr>no_<wbr>smile</th>"));
    }
}
