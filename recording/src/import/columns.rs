//! Where each export variant keeps what a recording needs, and how one row is read: time,
//! participant, gaze and validity per eye, pupil, eye position, media (stimulus) and events.
//! Every value is checked as it is read; a bad one is an error naming the file, line and column.

use std::path::Path;

use super::table::{Column, Reader};
use super::ImportFormat;
use crate::error::{RecordingError, Result};

/// The unit gaze columns are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Px,
    Mm,
    /// Display-area units, 0..1 from the top-left.
    Norm,
}

/// Time stamps a unit: µs per unit.
fn time_scale(path: &Path, c: &Column, default_ms: bool) -> Result<f64> {
    match c.unit.as_deref().map(|u| u.trim().to_lowercase()) {
        None => Ok(if default_ms { 1000.0 } else { 1.0 }),
        Some(u) => match u.as_str() {
            "ms" => Ok(1000.0),
            "μs" | "µs" | "us" => Ok(1.0),
            "s" => Ok(1e6),
            _ => Err(RecordingError::Invalid(format!(
                "{}: column '{}': time unit '{u}' is not one of ms, µs, s",
                path.display(),
                c.name
            ))),
        },
    }
}

/// The unit of a time column that does not say (`import --time-unit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Ms,
    Us,
}

impl TimeUnit {
    fn scale_us(self) -> f64 {
        match self {
            TimeUnit::Ms => 1000.0,
            TimeUnit::Us => 1.0,
        }
    }
}

impl std::str::FromStr for TimeUnit {
    type Err = et_files::SettingError;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "ms" => Ok(TimeUnit::Ms),
            "us" | "µs" | "μs" => Ok(TimeUnit::Us),
            _ => Err(et_files::SettingError::new(
                "--time-unit",
                format!("expected ms or us, got {s:?}"),
            )),
        }
    }
}

/// For a time column without a unit read as ms: whether it was µs after all, from the median
/// step between the samples' stamps (8.3 ms at 120 Hz read as ms, 8333 read as ms if µs).
/// Steps of a second or more read as ms are µs (trackers sample at 30 Hz and faster); steps
/// under 100 ms are ms (down to 10 Hz); between, the stamps cannot tell.
pub(crate) fn unit_from_stamps(path: &Path, column: &str, stamps: &[i64]) -> Result<TimeUnit> {
    let mut steps: Vec<i64> = stamps
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .filter(|d| *d > 0)
        .collect();
    if steps.is_empty() {
        return Ok(TimeUnit::Ms);
    }
    let mid = steps.len() / 2;
    let step = *steps.select_nth_unstable(mid).1;
    match step {
        s if s >= 1_000_000 => Ok(TimeUnit::Us),
        s if s < 100_000 => Ok(TimeUnit::Ms),
        s => Err(RecordingError::Invalid(format!(
            "{}: column '{column}' has no unit and its samples are {s} apart: that is {} ms or {} µs, and neither is clearly a tracker's rate; pass --time-unit ms or --time-unit us",
            path.display(),
            s as f64 / 1000.0,
            s as f64 / 1000.0
        ))),
    }
}

/// The unit of a gaze column, from its brackets (none: screen px, as Tobii Studio's older
/// exports and plain CSV files have it).
fn gaze_unit(path: &Path, c: &Column) -> Result<Unit> {
    let Some(raw) = &c.unit else {
        return Ok(Unit::Px);
    };
    let u: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let refuse = |why: &str| {
        Err(RecordingError::Invalid(format!(
            "{}: column '{}': {why}",
            path.display(),
            c.name
        )))
    };
    if u.starts_with("mcs") {
        return refuse("media coordinates (MCS) are relative to the stimulus, not the screen; export gaze in ADCS/DACS (screen) coordinates");
    }
    let u = u
        .trim_start_matches("adcs")
        .trim_start_matches("dacs")
        .trim_start_matches('_');
    match u {
        "px" | "pixels" | "pixel" => Ok(Unit::Px),
        "mm" => Ok(Unit::Mm),
        "" | "norm" | "normalized" | "normalised" => Ok(Unit::Norm),
        _ => refuse(&format!(
            "unit '{raw}' is not one of px, mm or normalised (ADCS/DACS)"
        )),
    }
}

/// Which format a header is, when the user did not say.
pub(crate) fn detect(columns: &[Column]) -> ImportFormat {
    let has = |k: &str| columns.iter().any(|c| c.key == k);
    // Pro Lab writes "Recording timestamp" with a unit and has a Sensor column; Studio writes
    // "RecordingTimestamp" alone. Both give the key "recordingtimestamp".
    if has("recordingtimestamp") {
        if has("sensor") || has("presentedstimulusname") || has("eyemovementtype") {
            ImportFormat::TobiiProLab
        } else {
            ImportFormat::TobiiStudio
        }
    } else {
        ImportFormat::Csv
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Media {
    /// Shared by every row of one media (an export repeats it on each row).
    pub name: std::sync::Arc<str>,
    /// x, y, w, h in screen px, when the export gives them.
    pub rect: Option<[f64; 4]>,
}

/// One eye as exported (gaze in the export's unit, eye position in display mm).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RawEye {
    pub x: Option<f64>,
    pub y: Option<f64>,
    pub valid: bool,
    pub pupil_mm: Option<f64>,
    pub position_mm: Option<[f64; 3]>,
    /// The line of sight's unit vector in display coordinates (Pro Lab's `Gaze direction`),
    /// where the export has it: to five decimals, finer than the gaze point's whole pixels.
    pub direction: Option<[f64; 3]>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawRow {
    /// The row's line in the file (1 is the header), for errors about it.
    pub line: u64,
    pub ts_us: i64,
    /// The tracker's own time stamp (µs), where the export has it (Pro Lab's `Eyetracker
    /// timestamp [μs]`, Studio's `EyeTrackerTimestamp`): finer than a ms recording time.
    pub device_us: Option<i64>,
    /// False for event rows and other sensors' rows.
    pub is_sample: bool,
    pub left: RawEye,
    pub right: RawEye,
    pub media: Option<Media>,
    pub event: Option<String>,
}

/// What the rows carry beyond each sample: the geometry, and the last media name read (so
/// the rows of one media share its name).
#[derive(Debug, Clone, Default)]
pub(crate) struct ExportScreen {
    pub width_px: Option<u32>,
    pub height_px: Option<u32>,
    last_media: Option<std::sync::Arc<str>>,
    /// The recording software's version and the fixation filter named by the export (the
    /// first non-empty values: Pro Lab's `Recording software version` and `Recording Fixation
    /// filter name`, Studio's `StudioVersionRec` and `FixationFilter`).
    pub software_version: Option<String>,
    pub fixation_filter: Option<String>,
}

/// The median distance of the eyes from the screen (mm) over one participant's rows.
pub(crate) fn median_eye_distance_mm(rows: &[RawRow]) -> Option<f64> {
    let mut z: Vec<f64> = rows
        .iter()
        .flat_map(|r| [&r.left, &r.right])
        .filter_map(|e| e.position_mm.map(|p| p[2]))
        .collect();
    if z.is_empty() {
        return None;
    }
    z.sort_by(f64::total_cmp);
    Some(z[z.len() / 2])
}

/// The columns of one eye.
#[derive(Debug, Clone, Default)]
struct EyeCols {
    x: Option<usize>,
    y: Option<usize>,
    validity: Option<usize>,
    pupil: Option<usize>,
    position: Option<[usize; 3]>,
    direction: Option<[usize; 3]>,
}

/// Where a format's values are in this file.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    format: ImportFormat,
    pub(crate) time: usize,
    time_scale_us: f64,
    /// The tracker's µs time stamp column (`RawRow::device_us`).
    pub(crate) device_time: Option<usize>,
    /// The time column has no unit and was read as ms: `unit_from_stamps` decides.
    pub time_unit_from_stamps: bool,
    pub participant: Option<usize>,
    /// Pro Lab's `Recording name`, Studio's `RecordingName`.
    pub recording: Option<usize>,
    left: EyeCols,
    right: EyeCols,
    pub gaze_unit: Unit,
    /// Pro Lab's Sensor column: rows of other sensors are not gaze samples.
    sensor: Option<usize>,
    event: Option<usize>,
    event_value: Option<usize>,
    media_name: Option<usize>,
    media_rect: Option<[usize; 4]>,
    resolution: Option<usize>,
    resolution_wh: Option<[usize; 2]>,
    software_version: Option<usize>,
    fixation_filter: Option<usize>,
    pub(crate) names: Vec<String>,
}

impl Layout {
    pub fn find<R: std::io::Read>(
        path: &Path,
        t: &Reader<R>,
        format: ImportFormat,
        time_unit: Option<TimeUnit>,
    ) -> Result<Layout> {
        let what = match format {
            ImportFormat::Csv => "gaze CSV (time, x, y)",
            ImportFormat::TobiiProLab => "Tobii Pro Lab data export",
            ImportFormat::TobiiStudio => "Tobii Studio export",
        };
        let require = |keys: &[&str], shown: &str| {
            t.find(keys).ok_or_else(|| {
                RecordingError::Invalid(format!(
                    "{}: not a {what}: missing column '{shown}' (found: {})",
                    path.display(),
                    t.columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        };
        let (time, default_ms) = match format {
            ImportFormat::Csv => (require(&["time", "timestamp", "t"], "time")?, true),
            ImportFormat::TobiiStudio => (
                require(&["recordingtimestamp"], "RecordingTimestamp")?,
                true,
            ),
            ImportFormat::TobiiProLab => (
                require(&["recordingtimestamp"], "Recording timestamp")?,
                false,
            ),
        };
        // Pro Lab's time column without a unit has been written in ms (older versions) and in
        // µs: read as ms here, told apart by the stamps once read (`unit_from_stamps`).
        let unitless = t.columns[time].unit.is_none();
        let (time_scale_us, time_unit_from_stamps) = match time_unit {
            Some(u) if unitless => (u.scale_us(), false),
            None if unitless && format == ImportFormat::TobiiProLab => (1000.0, true),
            _ => (time_scale(path, &t.columns[time], default_ms)?, false),
        };
        let eye = |side: &str, short: &str| EyeCols {
            x: t.find(&[&format!("gazepoint{side}x")]),
            y: t.find(&[&format!("gazepoint{side}y")]),
            validity: t.find(&[&format!("validity{side}")]),
            pupil: t.find(&[&format!("pupil{side}"), &format!("pupildiameter{side}")]),
            position: ["x", "y", "z"]
                .map(|a| {
                    t.find(&[
                        &format!("eyepos{short}{a}"),
                        &format!("eyeposition{side}{a}"),
                    ])
                })
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(|v| [v[0], v[1], v[2]]),
            direction: ["x", "y", "z"]
                .map(|a| t.find(&[&format!("gazedirection{side}{a}")]))
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(|v| [v[0], v[1], v[2]]),
        };
        let (mut left, mut right) = match format {
            ImportFormat::Csv => {
                let x = require(&["x", "gazex", "xpx"], "x")?;
                let y = require(&["y", "gazey", "ypx"], "y")?;
                let both = EyeCols {
                    x: Some(x),
                    y: Some(y),
                    ..EyeCols::default()
                };
                (both.clone(), both)
            }
            _ => (eye("left", "left"), eye("right", "right")),
        };
        // Only the averaged point: both eyes get it (per-eye validity still applies).
        if format != ImportFormat::Csv && left.x.is_none() && right.x.is_none() {
            let shown = if format == ImportFormat::TobiiProLab {
                "Gaze point X"
            } else {
                "GazePointX"
            };
            let x = require(&["gazepointx"], shown)?;
            let y = require(&["gazepointy"], &shown.replace('X', "Y"))?;
            for e in [&mut left, &mut right] {
                e.x = Some(x);
                e.y = Some(y);
            }
        }
        let mut unit = None;
        for i in [left.x, left.y, right.x, right.y].into_iter().flatten() {
            let u = gaze_unit(path, &t.columns[i])?;
            match unit {
                Some(v) if v != u => {
                    return Err(RecordingError::Invalid(format!(
                        "{}: column '{}': gaze columns in different units",
                        path.display(),
                        t.columns[i].name
                    )))
                }
                _ => unit = Some(u),
            }
        }
        let media_rect = [
            t.find(&["mediaposx", "presentedmediapositionx"]),
            t.find(&["mediaposy", "presentedmediapositiony"]),
            t.find(&["mediawidth", "presentedmediawidth"]),
            t.find(&["mediaheight", "presentedmediaheight"]),
        ];
        Ok(Layout {
            format,
            time,
            time_scale_us,
            device_time: match format {
                ImportFormat::Csv => None,
                _ => t.find(&["eyetrackertimestamp"]),
            },
            time_unit_from_stamps,
            participant: t.find(&["participantname", "participant"]),
            recording: t.find(&["recordingname"]),
            left,
            right,
            gaze_unit: unit.unwrap_or(Unit::Px),
            sensor: t.find(&["sensor"]),
            event: t.find(&["event", "studioevent"]),
            event_value: t.find(&["eventvalue", "studioeventdata"]),
            media_name: t.find(&["medianame", "presentedstimulusname", "presentedmedianame"]),
            media_rect: media_rect
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(|v| [v[0], v[1], v[2], v[3]]),
            resolution: t.find(&["recordingresolution"]),
            resolution_wh: t
                .find(&["recordingresolutionwidth"])
                .zip(t.find(&["recordingresolutionheight"]))
                .map(|(w, h)| [w, h]),
            software_version: t.find(&["recordingsoftwareversion", "studioversionrec"]),
            fixation_filter: t.find(&["recordingfixationfiltername", "fixationfilter"]),
            names: t.columns.iter().map(|c| c.name.clone()).collect(),
        })
    }

    /// One row, or `None` for a row that is neither a sample nor an event (another sensor's).
    pub fn row(
        &self,
        path: &Path,
        line: u64,
        r: &et_files::csv_table::StringRecord,
        screen: &mut ExportScreen,
    ) -> Result<Option<RawRow>> {
        let cell = |i: usize| r.get(i).unwrap_or("").trim();
        let bad = |i: usize, why: String| {
            RecordingError::Invalid(format!(
                "{}: line {line}, column '{}': {why}",
                path.display(),
                self.names[i]
            ))
        };
        // The event with its value (Pro Lab's `Event value`, Studio's `StudioEventData`: the key
        // pressed, the mouse button, the stimulus).
        let event = self.event.map(cell).filter(|e| !e.is_empty()).map(|e| {
            match self.event_value.map(cell).filter(|v| !v.is_empty()) {
                Some(v) => format!("{e} ({v})"),
                None => e.to_string(),
            }
        });
        let other_sensor = self
            .sensor
            .map(cell)
            .is_some_and(|s| !s.eq_ignore_ascii_case("eye tracker"));
        let time = cell(self.time);
        if time.is_empty() && (event.is_some() || other_sensor) {
            return Ok(None);
        }
        let ts = number(time)
            .map_err(|why| bad(self.time, why.to_string()))?
            .ok_or_else(|| bad(self.time, "no time stamp".into()))?;
        let ts_us =
            time_us(ts * self.time_scale_us).map_err(|why| bad(self.time, why.to_string()))?;
        let device_us = match self.device_time {
            Some(i) => number(cell(i))
                .map_err(|why| bad(i, why.to_string()))?
                .map(time_us)
                .transpose()
                .map_err(|why| bad(i, why.to_string()))?,
            None => None,
        };
        let media = self.media(r, &bad, screen)?;
        let left = self.eye(&self.left, r, &bad)?;
        let right = self.eye(&self.right, r, &bad)?;
        // Pro Lab's event rows have no sensor; Studio's carry an event and no gaze point
        // (Studio writes validity codes on its mouse and key rows too: those never make a row
        // a sample, which would push the real sample of that millisecond out). Only rows with
        // an event can be event rows: the rest is not looked at otherwise.
        let event_only = || {
            [&self.left, &self.right]
                .iter()
                .all(|e| [e.x, e.y].into_iter().flatten().all(|i| cell(i).is_empty()))
        };
        let is_sample = match self.format {
            ImportFormat::TobiiProLab if self.sensor.is_some() => !other_sensor,
            _ => !(event.is_some() && event_only()),
        };
        if !is_sample && event.is_none() {
            return Ok(None);
        }
        if is_sample {
            self.read_resolution(r, &bad, screen)?;
        }
        for (col, seen) in [
            (self.software_version, &mut screen.software_version),
            (self.fixation_filter, &mut screen.fixation_filter),
        ] {
            if let (Some(i), None) = (col, seen.as_ref()) {
                let v = cell(i);
                if !v.is_empty() {
                    *seen = Some(v.to_string());
                }
            }
        }
        Ok(Some(RawRow {
            line,
            ts_us,
            device_us,
            is_sample,
            left,
            right,
            media,
            event,
        }))
    }

    fn eye(
        &self,
        c: &EyeCols,
        r: &et_files::csv_table::StringRecord,
        bad: &dyn Fn(usize, String) -> RecordingError,
    ) -> Result<RawEye> {
        let num = |i: Option<usize>| -> Result<Option<f64>> {
            match i {
                Some(i) => number(r.get(i).unwrap_or("")).map_err(|why| bad(i, why.to_string())),
                None => Ok(None),
            }
        };
        let (x, y) = (num(c.x)?, num(c.y)?);
        for (i, v) in [(c.x, x), (c.y, y)] {
            if let (Some(i), Some(v)) = (i, v) {
                let limit = match self.gaze_unit {
                    Unit::Px => 1e6,
                    Unit::Mm => 1e5,
                    Unit::Norm => 100.0,
                };
                if v.abs() > limit {
                    return Err(bad(
                        i,
                        format!("gaze {} is far outside any screen", compact(v)),
                    ));
                }
            }
        }
        let valid = match c.validity {
            Some(i) => validity(r.get(i).unwrap_or("").trim())
                .map_err(|why| bad(i, why.to_string()))?
                .unwrap_or(x.is_some() && y.is_some()),
            None => true,
        };
        let pupil_mm = num(c.pupil)?.filter(|p| *p > 0.0 && *p < 100.0);
        let three = |cols: Option<[usize; 3]>| -> Result<Option<[f64; 3]>> {
            let Some(cols) = cols else { return Ok(None) };
            let v = [
                num(Some(cols[0]))?,
                num(Some(cols[1]))?,
                num(Some(cols[2]))?,
            ];
            Ok(match v {
                [Some(a), Some(b), Some(c)] if valid => Some([a, b, c]),
                _ => None,
            })
        };
        let position_mm = three(c.position)?.filter(|p| p[2] > 0.0 && p[2] < 10_000.0);
        // A unit vector towards the screen (z falls from the user to the display).
        let direction = three(c.direction)?.filter(|d| {
            let length = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            (length - 1.0).abs() < 1e-3 && d[2] < 0.0
        });
        Ok(RawEye {
            x,
            y,
            valid: valid && x.is_some() && y.is_some(),
            pupil_mm,
            position_mm,
            direction,
        })
    }

    fn media(
        &self,
        r: &et_files::csv_table::StringRecord,
        bad: &dyn Fn(usize, String) -> RecordingError,
        seen: &mut ExportScreen,
    ) -> Result<Option<Media>> {
        let Some(i) = self.media_name else {
            return Ok(None);
        };
        let name = r.get(i).unwrap_or("").trim();
        if name.is_empty() {
            return Ok(None);
        }
        let rect = match self.media_rect {
            Some(cols) => {
                let mut v = [0.0; 4];
                let mut all = true;
                for (slot, c) in v.iter_mut().zip(cols) {
                    match number(r.get(c).unwrap_or("")).map_err(|why| bad(c, why.to_string()))? {
                        Some(x) if x.abs() <= 1e6 => *slot = x,
                        Some(x) => {
                            return Err(bad(
                                c,
                                format!("{} px is far outside any screen", compact(x)),
                            ))
                        }
                        None => all = false,
                    }
                }
                (all && v[2] > 0.0 && v[3] > 0.0).then_some(v)
            }
            None => None,
        };
        let name = match &seen.last_media {
            Some(last) if **last == *name => std::sync::Arc::clone(last),
            _ => {
                let n: std::sync::Arc<str> = name.into();
                seen.last_media = Some(std::sync::Arc::clone(&n));
                n
            }
        };
        Ok(Some(Media { name, rect }))
    }

    fn read_resolution(
        &self,
        r: &et_files::csv_table::StringRecord,
        bad: &dyn Fn(usize, String) -> RecordingError,
        screen: &mut ExportScreen,
    ) -> Result<()> {
        if screen.width_px.is_some() {
            return Ok(());
        }
        let px = |i: usize, s: &str| -> Result<u32> {
            let v: u32 = s
                .trim()
                .parse()
                .map_err(|_| bad(i, format!("'{s}' is not a size in px")))?;
            if v == 0 || v > 100_000 {
                return Err(bad(i, format!("{v} px is not a screen size")));
            }
            Ok(v)
        };
        if let Some(i) = self.resolution {
            let v = r.get(i).unwrap_or("").trim();
            if !v.is_empty() {
                let (w, h) = v
                    .split_once(['x', 'X', '×'])
                    .ok_or_else(|| bad(i, format!("'{v}' is not WIDTHxHEIGHT")))?;
                screen.width_px = Some(px(i, w)?);
                screen.height_px = Some(px(i, h)?);
            }
        } else if let Some([wi, hi]) = self.resolution_wh {
            let (w, h) = (
                r.get(wi).unwrap_or("").trim(),
                r.get(hi).unwrap_or("").trim(),
            );
            if !w.is_empty() && !h.is_empty() {
                screen.width_px = Some(px(wi, w)?);
                screen.height_px = Some(px(hi, h)?);
            }
        }
        Ok(())
    }
}

/// A value for a message: as is when it is of ordinary size, in scientific notation when it
/// would otherwise print hundreds of digits.
fn compact(v: f64) -> String {
    if v.abs() < 1e9 {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// Why a cell cannot be read: said after the file, line and column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum CellError {
    #[error("'{0}' is not a number")]
    NotANumber(String),
    #[error("'{0}' is not a finite number")]
    NotFinite(String),
    #[error("time stamp {0} µs is out of range (|t| ≤ 2^53 µs, about 285 years)")]
    TimeOutOfRange(f64),
    #[error("validity '{0}' is not a Tobii code (0-4, or Valid/Invalid)")]
    NotAValidityCode(String),
}

/// A number in either decimal convention ("3.25" or "3,25"); `None` when empty; an error when
/// it is not a finite number.
fn number(s: &str) -> std::result::Result<Option<f64>, CellError> {
    let s = s.trim();
    // Missing as pandas, MATLAB and R write it: an empty cell, NaN, NA.
    if s.is_empty()
        || ["nan", "na", "n/a"]
            .iter()
            .any(|m| s.eq_ignore_ascii_case(m))
    {
        return Ok(None);
    }
    let v = s
        .parse::<f64>()
        .ok()
        .or_else(|| {
            // A decimal comma, never a thousands separator: one comma, digits after it.
            (s.matches(',').count() == 1)
                .then(|| s.replace(',', "."))
                .and_then(|t| t.parse().ok())
        })
        .ok_or_else(|| CellError::NotANumber(s.into()))?;
    if v.is_finite() {
        Ok(Some(v))
    } else {
        Err(CellError::NotFinite(s.into()))
    }
}

fn time_us(v: f64) -> std::result::Result<i64, CellError> {
    if v.is_finite() && v.abs() <= crate::format::MAX_ABS_TIME_US as f64 {
        Ok(v.round() as i64)
    } else {
        Err(CellError::TimeOutOfRange(v))
    }
}

/// A validity code: Tobii Studio's 0 (certain) … 4 (missing) with 0-1 valid, or Pro Lab's
/// "Valid"/"Invalid"; `None` when empty.
fn validity(s: &str) -> std::result::Result<Option<bool>, CellError> {
    if s.is_empty() {
        return Ok(None);
    }
    if s.eq_ignore_ascii_case("valid") {
        return Ok(Some(true));
    }
    if s.eq_ignore_ascii_case("invalid") {
        return Ok(Some(false));
    }
    match s.parse::<f64>() {
        Ok(c) if (0.0..=4.0).contains(&c) => Ok(Some(c <= 1.0)),
        _ => Err(CellError::NotAValidityCode(s.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_values_are_named_in_scientific_notation() {
        assert_eq!(compact(-1e300), "-1e300");
        assert_eq!(compact(1920.5), "1920.5");
    }

    #[test]
    fn units_are_read_and_media_coordinates_refused() {
        let p = Path::new("e.tsv");
        let u = |h: &str| gaze_unit(p, &Column::parse(h));
        assert_eq!(u("GazePointX (ADCSpx)").unwrap(), Unit::Px);
        assert_eq!(u("Gaze point X [DACS px]").unwrap(), Unit::Px);
        assert_eq!(u("GazePointX (ADCSmm)").unwrap(), Unit::Mm);
        assert_eq!(u("Gaze point X [DACS norm]").unwrap(), Unit::Norm);
        assert_eq!(u("GazePointX").unwrap(), Unit::Px);
        let e = u("GazePointX (MCSpx)").unwrap_err().to_string();
        assert!(
            e.contains("column 'GazePointX (MCSpx)': media coordinates"),
            "{e}"
        );
        let e = u("x [furlongs]").unwrap_err().to_string();
        assert!(e.contains("unit 'furlongs'"), "{e}");
    }

    #[test]
    fn numbers_validity_and_times_are_checked() {
        assert_eq!(number("3,25"), Ok(Some(3.25)));
        assert_eq!(number(" "), Ok(None));
        assert!(number("1,234,5").is_err());
        assert!(number("inf").is_err());
        assert!(number("1e400").is_err());
        assert_eq!(validity("1"), Ok(Some(true)));
        assert_eq!(validity("2"), Ok(Some(false)));
        assert_eq!(validity("Invalid"), Ok(Some(false)));
        assert!(validity("7").is_err());
        assert!(time_us(1e300).is_err());
        assert!(time_us(-9e18).is_err());
        assert_eq!(time_us(1.6), Ok(2));
    }
}
