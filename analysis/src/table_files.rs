//! Every table as Parquet beside its CSV (polars lives here and nowhere else).

use std::path::Path;

use polars::prelude::*;

use crate::table::{Cells, Table};
use crate::AnalysisError;

fn write(df: &mut DataFrame, path: &Path) -> Result<(), AnalysisError> {
    let file = std::fs::File::create(path).map_err(|source| AnalysisError::Write {
        path: path.display().to_string(),
        source,
    })?;
    ParquetWriter::new(file)
        .finish(df)
        .map(|_| ())
        .map_err(|e| AnalysisError::Input {
            path: path.display().to_string(),
            message: format!("cannot write Parquet: {e}"),
        })
}

fn frame(columns: Vec<Column>, path: &Path) -> Result<DataFrame, AnalysisError> {
    DataFrame::new_infer_height(columns).map_err(|e| AnalysisError::Input {
        path: path.display().to_string(),
        message: format!("cannot build the table: {e}"),
    })
}

/// `t` as a polars frame (the one place table columns meet polars types).
fn to_frame(t: &Table, path: &Path) -> Result<DataFrame, AnalysisError> {
    let columns = t
        .columns
        .iter()
        .map(|(name, cells)| {
            let name: PlSmallStr = name.as_str().into();
            match cells {
                Cells::Text(v) => Column::new(name, v),
                Cells::Labels(names, codes) => Column::new(
                    name,
                    codes
                        .iter()
                        .map(|&c| names[c as usize].as_str())
                        .collect::<Vec<&str>>(),
                ),
                Cells::Float(v) => Column::new(name, v),
                Cells::MaybeFloat(v) => Column::new(name, v),
                Cells::Count(v) => Column::new(name, v),
                Cells::Int(v) => Column::new(name, v),
                Cells::Small(v) => Column::new(name, v),
                Cells::Flag(v) => Column::new(name, v),
            }
        })
        .collect();
    frame(columns, path)
}

/// Writes `t` as `<dir>/<name>.parquet`.
pub fn write_table(t: &Table, dir: &Path) -> Result<(), AnalysisError> {
    let p = dir.join(format!("{}.parquet", t.name));
    let mut df = to_frame(t, &p)?;
    write(&mut df, &p)
}

/// Writes each of `tables` (built once: one may hold every sample) as `<name>.csv` and
/// `<name>.parquet` into `dir`.
pub fn write_tables(tables: &[Table], dir: &Path) -> Result<(), AnalysisError> {
    tables.iter().try_for_each(|t| {
        t.write_csv(dir)?;
        write_table(t, dir)
    })
}

/// Every sample of a recording as a table (one row per sample, both eyes), written as Parquet
/// or CSV by the file's extension.
pub fn write_samples(rec: &et_recording::Recording, path: &Path) -> Result<usize, AnalysisError> {
    let g = &rec.gaze;
    let f32s = |name: &str, f: &dyn Fn(&et_drivers::GazeSample) -> f32| {
        Column::new(name.into(), g.iter().map(f).collect::<Vec<f32>>())
    };
    let bools = |name: &str, f: &dyn Fn(&et_drivers::GazeSample) -> bool| {
        Column::new(name.into(), g.iter().map(f).collect::<Vec<bool>>())
    };
    let mut cols = vec![
        Column::new(
            "system_ts_us".into(),
            g.iter().map(|s| s.system_ts_us).collect::<Vec<i64>>(),
        ),
        Column::new(
            "device_ts_us".into(),
            g.iter().map(|s| s.device_ts_us).collect::<Vec<i64>>(),
        ),
    ];
    for (side, left) in [("left", true), ("right", false)] {
        let e = move |s: &et_drivers::GazeSample| if left { s.left } else { s.right };
        cols.push(f32s(&format!("{side}_gaze_x"), &|s| e(s).gaze_x));
        cols.push(f32s(&format!("{side}_gaze_y"), &|s| e(s).gaze_y));
        cols.push(bools(&format!("{side}_gaze_valid"), &|s| e(s).gaze_valid));
        cols.push(f32s(&format!("{side}_pupil_mm"), &|s| e(s).pupil_mm));
        cols.push(bools(&format!("{side}_pupil_valid"), &|s| e(s).pupil_valid));
        for (k, axis) in ["x", "y", "z"].iter().enumerate() {
            cols.push(f32s(&format!("{side}_origin_{axis}"), &|s| {
                e(s).origin_mm[k]
            }));
        }
        cols.push(bools(&format!("{side}_origin_valid"), &|s| {
            e(s).origin_valid
        }));
        for (k, axis) in ["x", "y", "z"].iter().enumerate() {
            cols.push(f32s(&format!("{side}_gaze3d_{axis}"), &|s| {
                e(s).gaze3d_mm[k]
            }));
        }
    }
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        use std::fmt::Write as _;
        let mut out = cols
            .iter()
            .map(|c| c.name().to_string())
            .collect::<Vec<_>>()
            .join(",");
        out.push('\n');
        for s in g {
            let _ = write!(out, "{},{}", s.system_ts_us, s.device_ts_us);
            for e in [&s.left, &s.right] {
                let n = |v: f32| {
                    if v.is_nan() {
                        String::new()
                    } else {
                        v.to_string()
                    }
                };
                let _ = write!(
                    out,
                    ",{},{},{},{},{},{},{},{},{},{},{},{}",
                    n(e.gaze_x),
                    n(e.gaze_y),
                    e.gaze_valid,
                    n(e.pupil_mm),
                    e.pupil_valid,
                    n(e.origin_mm[0]),
                    n(e.origin_mm[1]),
                    n(e.origin_mm[2]),
                    e.origin_valid,
                    n(e.gaze3d_mm[0]),
                    n(e.gaze3d_mm[1]),
                    n(e.gaze3d_mm[2])
                );
            }
            out.push('\n');
        }
        std::fs::write(path, out).map_err(|source| AnalysisError::Write {
            path: path.display().to_string(),
            source,
        })?;
    } else {
        let mut df = frame(cols, path)?;
        write(&mut df, path)?;
    }
    Ok(g.len())
}

impl crate::survey::SurveyResults {
    /// Writes every table of [`SurveyResults::tables`](crate::survey::SurveyResults::tables)
    /// as `.parquet`.
    pub fn write_parquet(&self, dir: &Path) -> Result<(), AnalysisError> {
        self.tables().iter().try_for_each(|t| write_table(t, dir))
    }
}
