//! Imports gaze exported by other tools into a recording, so it can be analysed and replayed:
//! plain CSV (time, x, y), Tobii Pro Lab "data export" TSV and Tobii Studio export TSV/CSV.
//! Columns are found by header name (exports vary with their settings); a missing required
//! column is refused with the names that were found.

use std::path::{Path, PathBuf};

use et_drivers::{EyeSample, GazeSample, ScreenGeometry};

use crate::error::{Result, SessionError};
use crate::format::{kind, EventRecord, RecordingHeader};
use crate::writer::RecordingWriter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// `time,x,y` (time in ms, gaze in screen px), any delimiter.
    Csv,
    TobiiProLab,
    TobiiStudio,
}

impl std::str::FromStr for ImportFormat {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "csv" => Ok(ImportFormat::Csv),
            "tobii-pro-lab" => Ok(ImportFormat::TobiiProLab),
            "tobii-studio" => Ok(ImportFormat::TobiiStudio),
            _ => Err(format!(
                "expected csv, tobii-pro-lab or tobii-studio, got {s:?}"
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Detected from the header when `None`.
    pub format: Option<ImportFormat>,
    pub screen: ScreenGeometry,
    /// Defaults to the file name.
    pub participant: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    pub format: ImportFormat,
    pub samples: usize,
    pub valid_samples: usize,
    pub sampling_hz: f64,
}

struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn read_table(path: &Path, text: &str) -> Result<Table> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines
        .next()
        .ok_or_else(|| SessionError::Invalid(format!("{}: the file is empty", path.display())))?;
    let delim = if first.contains('\t') {
        '\t'
    } else if first.matches(';').count() > first.matches(',').count() {
        ';'
    } else {
        ','
    };
    let split = |l: &str| {
        l.split(delim)
            .map(|c| c.trim().trim_matches('"').to_string())
            .collect::<Vec<_>>()
    };
    Ok(Table {
        header: split(first.trim_start_matches('\u{feff}')),
        rows: lines.map(split).collect(),
    })
}

impl Table {
    /// Index of the first column whose name equals (case-insensitively) or starts with one of
    /// `names` followed by a space or '[' (unit suffixes such as "[ms]").
    fn find(&self, names: &[&str]) -> Option<usize> {
        self.header.iter().position(|h| {
            let h = h.to_lowercase();
            names.iter().any(|n| {
                let n = n.to_lowercase();
                h == n || h.starts_with(&format!("{n} ")) || h.starts_with(&format!("{n}["))
            })
        })
    }

    fn require(&self, path: &Path, what: &str, names: &[&str]) -> Result<usize> {
        self.find(names).ok_or_else(|| {
            SessionError::Invalid(format!(
                "{}: not a {what}: missing column '{}' (found: {})",
                path.display(),
                names[0],
                self.header.join(", ")
            ))
        })
    }
}

/// A number in either decimal convention ("3.25" or "3,25"); `None` when empty or not a number.
fn num(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    s.parse::<f64>()
        .ok()
        .or_else(|| s.replace(',', ".").parse().ok())
        .filter(|v| v.is_finite())
}

fn eye(
    x: Option<f64>,
    y: Option<f64>,
    valid: bool,
    pupil: Option<f64>,
    screen: &ScreenGeometry,
) -> EyeSample {
    match (x, y, valid) {
        (Some(x), Some(y), true) => EyeSample {
            gaze_x: (x / f64::from(screen.width_px)) as f32,
            gaze_y: (y / f64::from(screen.height_px)) as f32,
            gaze_valid: true,
            pupil_mm: pupil.map_or(f32::NAN, |p| p as f32),
            pupil_valid: pupil.is_some(),
            ..EyeSample::INVALID
        },
        _ => EyeSample::INVALID,
    }
}

fn detect(t: &Table) -> ImportFormat {
    if t.find(&["Recording timestamp"]).is_some() {
        ImportFormat::TobiiProLab
    } else if t.find(&["RecordingTimestamp"]).is_some() {
        ImportFormat::TobiiStudio
    } else {
        ImportFormat::Csv
    }
}

fn parse(
    path: &Path,
    t: &Table,
    format: ImportFormat,
    screen: &ScreenGeometry,
) -> Result<Vec<GazeSample>> {
    let mut out = Vec::with_capacity(t.rows.len());
    let cell =
        |row: &Vec<String>, i: Option<usize>| i.and_then(|i| row.get(i)).and_then(|c| num(c));
    match format {
        ImportFormat::Csv => {
            let ti = t.require(path, "gaze CSV (time, x, y)", &["time", "timestamp", "t"])?;
            let xi = t.require(path, "gaze CSV (time, x, y)", &["x", "gaze_x", "x_px"])?;
            let yi = t.require(path, "gaze CSV (time, x, y)", &["y", "gaze_y", "y_px"])?;
            for (n, row) in t.rows.iter().enumerate() {
                let ts = cell(row, Some(ti)).ok_or_else(|| {
                    SessionError::Invalid(format!(
                        "{}: row {}: time is not a number",
                        path.display(),
                        n + 2
                    ))
                })?;
                let e = eye(cell(row, Some(xi)), cell(row, Some(yi)), true, None, screen);
                out.push(GazeSample {
                    system_ts_us: (ts * 1000.0).round() as i64,
                    device_ts_us: (ts * 1000.0).round() as i64,
                    left: e,
                    right: e,
                });
            }
        }
        ImportFormat::TobiiProLab => parse_tobii(path, t, &PRO_LAB, screen, &mut out)?,
        ImportFormat::TobiiStudio => parse_tobii(path, t, &STUDIO, screen, &mut out)?,
    }
    if out.is_empty() {
        return Err(SessionError::Invalid(format!(
            "{}: no gaze rows",
            path.display()
        )));
    }
    out.sort_by_key(|s| s.system_ts_us);
    Ok(out)
}

/// Where a Tobii export keeps what we need, and how it marks valid data.
struct TobiiColumns {
    what: &'static str,
    time: &'static str,
    /// Time unit when the header does not say: true for ms (else µs).
    time_ms: bool,
    left: [&'static str; 2],
    right: [&'static str; 2],
    /// The averaged gaze point, used for both eyes when per-eye columns are absent.
    mean: [&'static str; 2],
    validity: [&'static str; 2],
    pupil: [&'static str; 2],
    /// Pro Lab mixes sensors (eye tracker, mouse, ...) in one file.
    sensor: Option<&'static str>,
    valid: fn(&str) -> bool,
}

const PRO_LAB: TobiiColumns = TobiiColumns {
    what: "Tobii Pro Lab data export",
    time: "Recording timestamp",
    time_ms: false,
    left: ["Gaze point left X", "Gaze point left Y"],
    right: ["Gaze point right X", "Gaze point right Y"],
    mean: ["Gaze point X", "Gaze point Y"],
    validity: ["Validity left", "Validity right"],
    pupil: ["Pupil diameter left", "Pupil diameter right"],
    sensor: Some("Sensor"),
    valid: |s| s.eq_ignore_ascii_case("Valid"),
};

const STUDIO: TobiiColumns = TobiiColumns {
    what: "Tobii Studio export",
    time: "RecordingTimestamp",
    time_ms: true,
    left: ["GazePointLeftX", "GazePointLeftY"],
    right: ["GazePointRightX", "GazePointRightY"],
    mean: ["GazePointX", "GazePointY"],
    validity: ["ValidityLeft", "ValidityRight"],
    pupil: ["PupilLeft", "PupilRight"],
    sensor: None,
    // Studio validity codes: 0 certain … 4 missing; 0 and 1 count as valid.
    valid: |s| num(s).is_some_and(|c| c <= 1.0),
};

fn parse_tobii(
    path: &Path,
    t: &Table,
    c: &TobiiColumns,
    screen: &ScreenGeometry,
    out: &mut Vec<GazeSample>,
) -> Result<()> {
    let ti = t.require(path, c.what, &[c.time])?;
    let header = &t.header[ti];
    let time_ms = if header.contains("[ms]") {
        true
    } else if header.contains("[μs]") || header.contains("[us]") {
        false
    } else {
        c.time_ms
    };
    let cols = match t.find(&[c.left[0]]) {
        Some(lx) => [
            Some(lx),
            t.find(&[c.left[1]]),
            t.find(&[c.right[0]]),
            t.find(&[c.right[1]]),
        ],
        None => {
            let x = t.require(path, c.what, &[c.mean[0]])?;
            let y = t.require(path, c.what, &[c.mean[1]])?;
            [Some(x), Some(y), Some(x), Some(y)]
        }
    };
    let (vl, vr) = (t.find(&[c.validity[0]]), t.find(&[c.validity[1]]));
    let (pl, pr) = (t.find(&[c.pupil[0]]), t.find(&[c.pupil[1]]));
    let sensor = c.sensor.and_then(|s| t.find(&[s]));
    let cell =
        |row: &Vec<String>, i: Option<usize>| i.and_then(|i| row.get(i)).and_then(|v| num(v));
    for (n, row) in t.rows.iter().enumerate() {
        if let Some(s) = sensor.and_then(|i| row.get(i)) {
            if !s.is_empty() && !s.eq_ignore_ascii_case("Eye Tracker") {
                continue;
            }
        }
        let ts = cell(row, Some(ti)).ok_or_else(|| {
            SessionError::Invalid(format!(
                "{}: row {}: {} is not a number",
                path.display(),
                n + 2,
                c.time
            ))
        })?;
        let ts_us = if time_ms { ts * 1000.0 } else { ts }.round() as i64;
        // A missing validity column means the data are taken as they come.
        let valid = |v: Option<usize>| v.and_then(|i| row.get(i)).is_none_or(|s| (c.valid)(s));
        let left = eye(
            cell(row, cols[0]),
            cell(row, cols[1]),
            valid(vl),
            cell(row, pl),
            screen,
        );
        let right = eye(
            cell(row, cols[2]),
            cell(row, cols[3]),
            valid(vr),
            cell(row, pr),
            screen,
        );
        out.push(GazeSample {
            system_ts_us: ts_us,
            device_ts_us: ts_us,
            left,
            right,
        });
    }
    Ok(())
}

/// Imports `input` into a new recording `out`.
pub fn import(input: &Path, out: &Path, opts: &ImportOptions) -> Result<ImportReport> {
    let text = std::fs::read_to_string(input).map_err(|source| SessionError::Io {
        path: input.to_path_buf(),
        source,
    })?;
    let table = read_table(input, &text)?;
    let format = opts.format.unwrap_or_else(|| detect(&table));
    let samples = parse(input, &table, format, &opts.screen)?;
    let mut steps: Vec<i64> = samples
        .windows(2)
        .map(|w| w[1].system_ts_us - w[0].system_ts_us)
        .filter(|d| *d > 0)
        .collect();
    steps.sort_unstable();
    let sampling_hz = steps.get(steps.len() / 2).map_or(0.0, |d| 1e6 / *d as f64);
    let participant = opts.participant.clone().unwrap_or_else(|| {
        input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let mut header = RecordingHeader::new(&participant, "1");
    header.tracker_model = format!("imported ({format:?})");
    header.sampling_hz = sampling_hz;
    header.screen = opts.screen;
    let mut w = RecordingWriter::create(out, &header, None)?;
    w.append_gaze(&samples)?;
    let note = EventRecord::new(
        samples[0].system_ts_us,
        kind::NOTE,
        -1,
        format!("imported from {}", display_name(input)),
    );
    w.append_events(&[note])?;
    w.finish(true)?;
    Ok(ImportReport {
        format,
        samples: samples.len(),
        valid_samples: samples.iter().filter(|s| s.mean_gaze().is_some()).count(),
        sampling_hz,
    })
}

fn display_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || PathBuf::from(p).display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Recording;

    fn run(
        name: &str,
        text: &str,
        format: Option<ImportFormat>,
    ) -> Result<(ImportReport, Recording)> {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join(name);
        std::fs::write(&input, text).unwrap();
        let out = dir.path().join("out.h5");
        let opts = ImportOptions {
            format,
            screen: ScreenGeometry::default(),
            participant: None,
        };
        let r = import(&input, &out, &opts)?;
        Ok((r, Recording::open(&out).unwrap()))
    }

    #[test]
    fn plain_csv() {
        let (r, rec) = run(
            "p7.csv",
            "time,x,y\n0,960,540\n8.333,,\n16.667,0,1080\n",
            None,
        )
        .unwrap();
        assert_eq!(r.format, ImportFormat::Csv);
        assert_eq!((r.samples, r.valid_samples), (3, 2));
        assert_eq!(rec.header.participant, "p7");
        assert!((r.sampling_hz - 120.0).abs() < 0.1);
        assert_eq!(rec.gaze[0].left.gaze_x, 0.5);
        assert!(!rec.gaze[1].left.gaze_valid && rec.gaze[1].left.gaze_x.is_nan());
        assert_eq!(
            (rec.gaze[2].system_ts_us, rec.gaze[2].right.gaze_y),
            (16_667, 1.0)
        );
    }

    #[test]
    fn tobii_pro_lab_tsv_with_comma_decimals_and_mouse_rows() {
        let tsv = "Recording timestamp [μs]\tSensor\tGaze point left X\tGaze point left Y\tGaze point right X\tGaze point right Y\tValidity left\tValidity right\tPupil diameter left\tPupil diameter right\n\
                   1000000\tEye Tracker\t960\t540\t970\t540\tValid\tValid\t3,25\t3,30\n\
                   1005000\tMouse\t\t\t\t\t\t\t\t\n\
                   1008333\tEye Tracker\t\t\t480\t270\tInvalid\tValid\t\t3,31\n";
        let (r, rec) = run("plab.tsv", tsv, None).unwrap();
        assert_eq!(r.format, ImportFormat::TobiiProLab);
        assert_eq!(r.samples, 2);
        assert_eq!(rec.gaze[0].left.pupil_mm, 3.25);
        assert!(!rec.gaze[1].left.gaze_valid && rec.gaze[1].right.gaze_valid);
        assert_eq!(rec.gaze[1].right.gaze_x, 0.25);
        assert_eq!(rec.gaze[1].system_ts_us, 1_008_333);
    }

    #[test]
    fn tobii_studio_export() {
        let tsv = "ParticipantName\tRecordingTimestamp\tGazePointLeftX (ADCSpx)\tGazePointLeftY (ADCSpx)\tGazePointRightX (ADCSpx)\tGazePointRightY (ADCSpx)\tValidityLeft\tValidityRight\tPupilLeft\tPupilRight\n\
                   P1\t0\t960\t540\t960\t540\t0\t0\t3.1\t3.2\n\
                   P1\t17\t960\t540\t961\t541\t4\t0\t\t3.2\n";
        let (r, rec) = run("studio.tsv", tsv, None).unwrap();
        assert_eq!(r.format, ImportFormat::TobiiStudio);
        assert_eq!(rec.gaze[1].system_ts_us, 17_000);
        assert!(!rec.gaze[1].left.gaze_valid && rec.gaze[1].right.gaze_valid);
    }

    #[test]
    fn missing_columns_are_named() {
        let e = run("bad.tsv", "Recording timestamp\tSomething\n1\t2\n", None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("not a Tobii Pro Lab data export: missing column 'Gaze point X' (found: Recording timestamp, Something)"), "{e}");
        let e = run("bad.csv", "when,x,y\n1,2,3\n", Some(ImportFormat::Csv))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("missing column 'time'"), "{e}");
        let e = run("bad2.csv", "time,x,y\nnoon,1,2\n", None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("row 2: time is not a number"), "{e}");
    }
}
