//! The labels CSV: one row per aligned image.

use std::path::Path;

use et_files::csv_table::Table;

use crate::error::{ModelError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRow {
    pub file: String,
    pub condition: String,
    pub smile: bool,
    pub identity: String,
    pub test: bool,
}

const COLUMNS: [&str; 5] = ["file", "condition", "smile", "identity", "test"];

/// Reads the CSV (plain comma-separated, a header naming the five columns in any order).
pub fn read(path: &Path) -> Result<Vec<LabelRow>> {
    let t = Table::read(path)?;
    let mut idx = [0usize; 5];
    for (k, col) in COLUMNS.iter().enumerate() {
        idx[k] = t.column(col)?;
    }
    let at = |line: u64, m: String| ModelError::from(t.at(line, m));
    let flag = |v: &str, col: &str, line: u64| match v {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(at(line, format!("{col} must be 1 or 0, got {v:?}"))),
    };
    let mut rows = Vec::new();
    for r in &t.rows {
        let (line, f) = (r.line, &r.fields);
        if f.len() != t.header.len() {
            return Err(at(
                line,
                format!("{} fields, the header has {}", f.len(), t.header.len()),
            ));
        }
        let row = LabelRow {
            file: f[idx[0]].clone(),
            condition: f[idx[1]].clone(),
            smile: flag(&f[idx[2]], "smile", line)?,
            identity: f[idx[3]].clone(),
            test: flag(&f[idx[4]], "test", line)?,
        };
        if row.file.is_empty() || row.condition.is_empty() || row.identity.is_empty() {
            return Err(at(
                line,
                "file, condition and identity must not be empty".into(),
            ));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(at(2, "no images listed".into()));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_in_any_column_order_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("labels.csv");
        std::fs::write(
            &p,
            "identity,file,test,smile,condition\nWS-01,a.png,1,0,WS\nWS-02,b.png,0,1,WS\n",
        )
        .unwrap();
        let r = read(&p).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[0],
            LabelRow {
                file: "a.png".into(),
                condition: "WS".into(),
                smile: false,
                identity: "WS-01".into(),
                test: true
            }
        );
        std::fs::write(
            &p,
            "file,condition,smile,identity,test\na.png,WS,yes,WS-01,1\n",
        )
        .unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains("labels.csv: line 2") && e.contains("smile must be 1 or 0"),
            "{e}"
        );
        std::fs::write(&p, "file,condition,smile,test\n").unwrap();
        assert!(read(&p)
            .unwrap_err()
            .to_string()
            .contains("no 'identity' column"));
    }
}
