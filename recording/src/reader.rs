//! Reads a recording back, checking that it is one, and explaining in one line when it is not.

use std::io::Read;
use std::path::{Path, PathBuf};

use et_drivers::{GazeSample, ScreenGeometry};
use hdf5::{File, H5Type};

use crate::error::{RecordingError, Result};
use crate::format::*;

/// A whole recording in memory.
#[derive(Debug, Clone)]
pub struct Recording {
    pub path: PathBuf,
    pub header: RecordingHeader,
    pub format_version: u32,
    pub ended_utc: String,
    pub gaze: Vec<GazeSample>,
    pub events: Vec<EventRecord>,
    pub trials: Vec<TrialRecord>,
    pub frames: Vec<FrameRecord>,
    pub validation: Vec<ValidationRecord>,
    /// Clock pairs of a session streamed over LSL (`/lsl_clock`; empty in older files).
    pub lsl_clock: Vec<LslClockRecord>,
    /// The stimulus manifest (TOML) the session used; empty when none was stored.
    pub manifest: String,
}

const SIGNATURE: [u8; 8] = [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n'];

/// HDF5 puts its signature at 0, 512, 1024, 2048, ... (after a user block).
fn has_hdf5_signature(path: &Path) -> Result<bool> {
    let mut f = std::fs::File::open(path).map_err(|source| RecordingError::Io {
        path: path.into(),
        source,
    })?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut offset = 0u64;
    let mut buf = [0u8; 8];
    while offset + 8 <= len {
        use std::io::Seek;
        f.seek(std::io::SeekFrom::Start(offset))
            .map_err(|source| RecordingError::Io {
                path: path.into(),
                source,
            })?;
        if f.read_exact(&mut buf).is_ok() && buf == SIGNATURE {
            return Ok(true);
        }
        offset = if offset == 0 { 512 } else { offset * 2 };
    }
    Ok(false)
}

/// Opens an HDF5 file read-only, turning HDF5's error stack into a one-line reason.
pub(crate) fn open_checked(path: &Path) -> Result<File> {
    if !path.exists() {
        return Err(RecordingError::NotFound { path: path.into() });
    }
    if !has_hdf5_signature(path)? {
        return Err(RecordingError::NotHdf5 { path: path.into() });
    }
    let file = File::open(path).map_err(|e| {
        let message = e.to_string();
        if message.contains("already open for write") || message.contains("file locking") {
            RecordingError::NotClosed { path: path.into() }
        } else {
            RecordingError::Corrupt {
                path: path.into(),
                message,
            }
        }
    })?;
    crate::cloexec::close_on_exec(&file);
    Ok(file)
}

fn str_attr(file: &File, path: &Path, name: &str) -> Result<String> {
    let a = file.attr(name).map_err(|_| RecordingError::NotARecording {
        path: path.into(),
        message: format!("root attribute '{name}' is missing"),
    })?;
    crate::foreign::string_attr(&a).map_err(|e| RecordingError::NotARecording {
        path: path.into(),
        message: format!("root attribute '{name}' is not a string: {e}"),
    })
}

fn num_attr<T: H5Type>(file: &File, path: &Path, name: &str) -> Result<T> {
    let a = file.attr(name).map_err(|_| RecordingError::NotARecording {
        path: path.into(),
        message: format!("root attribute '{name}' is missing"),
    })?;
    a.read_scalar::<T>()
        .map_err(|e| RecordingError::NotARecording {
            path: path.into(),
            message: format!("root attribute '{name}' has the wrong type: {e}"),
        })
}

fn rows<T: H5Type>(file: &File, path: &Path, name: &str) -> Result<Vec<T>> {
    let ds = file
        .dataset(name)
        .map_err(|_| RecordingError::NotARecording {
            path: path.into(),
            message: format!("dataset /{name} is missing"),
        })?;
    ds.read_raw::<T>().map_err(|e| {
        let mut message = e.to_string();
        if message.contains("Fletcher32") {
            message.push_str(
                " (stored rows are damaged: a chunk no longer matches the checksum written with it; nothing of this dataset is trusted, restore the file from a copy)",
            );
        }
        RecordingError::Hdf5 {
            path: path.into(),
            what: format!("read /{name}"),
            message,
        }
    })
}

fn dataset(file: &File, path: &Path, name: &str) -> Result<hdf5::Dataset> {
    file.dataset(name)
        .map_err(|_| RecordingError::NotARecording {
            path: path.into(),
            message: format!("dataset /{name} is missing"),
        })
}

/// A string field read whatever its string kind, or an error naming dataset and field.
fn strings(
    ds: &hdf5::Dataset,
    path: &Path,
    name: &str,
    field: &str,
    read: fn(&hdf5::Dataset) -> Option<Vec<String>>,
) -> Result<Vec<String>> {
    read(ds).ok_or_else(|| RecordingError::NotARecording {
        path: path.into(),
        message: format!("/{name} has no string field '{field}'"),
    })
}

/// Whether the dataset's rows (a compound type) have every field in `names`.
fn has_fields(ds: &hdf5::Dataset, names: &[&str]) -> bool {
    match ds.dtype().and_then(|t| t.to_descriptor()) {
        Ok(hdf5::types::TypeDescriptor::Compound(c)) => {
            names.iter().all(|n| c.fields.iter().any(|f| f.name == *n))
        }
        _ => false,
    }
}

/// The fields `T` reads, from files new enough to have every one of `fields`; nothing from
/// older files (HDF5 would convert absent fields to zeros, so they are looked for first).
fn newer_nums<T: H5Type>(
    ds: &hdf5::Dataset,
    path: &Path,
    name: &str,
    fields: &[&str],
) -> Result<Vec<T>> {
    if has_fields(ds, fields) {
        nums(ds, path, name)
    } else {
        Ok(Vec::new())
    }
}

fn nums<T: H5Type>(ds: &hdf5::Dataset, path: &Path, name: &str) -> Result<Vec<T>> {
    ds.read_raw::<T>()
        .map_err(|e| RecordingError::NotARecording {
            path: path.into(),
            message: format!("/{name} lacks a field the format names: {e}"),
        })
}

fn read_events(file: &File, path: &Path) -> Result<Vec<EventRecord>> {
    let ds = dataset(file, path, EVENTS)?;
    if let Ok(rows) = ds.read_raw::<EventRow>() {
        return Ok(rows.iter().map(EventRecord::from_row).collect());
    }
    use crate::foreign as f;
    let n: Vec<EventNums> = nums(&ds, path, EVENTS)?;
    let kinds = strings(&ds, path, EVENTS, "kind", f::kind::read)?;
    let texts = strings(&ds, path, EVENTS, "text", f::text::read)?;
    Ok(n.iter()
        .zip(kinds)
        .zip(texts)
        .map(|((n, kind), text)| EventRecord {
            ts_us: n.ts_us,
            kind,
            trial: n.trial,
            text,
        })
        .collect())
}

fn read_trials(file: &File, path: &Path) -> Result<Vec<TrialRecord>> {
    let ds = dataset(file, path, TRIALS)?;
    if let Ok(rows) = ds.read_raw::<TrialRow>() {
        return Ok(rows.iter().map(TrialRecord::from_row).collect());
    }
    use crate::foreign as f;
    let n: Vec<TrialNums> = nums(&ds, path, TRIALS)?;
    let ids = strings(&ds, path, TRIALS, "stimulus_id", f::stimulus_id::read)?;
    let identities = strings(&ds, path, TRIALS, "identity", f::identity::read)?;
    let conditions = strings(&ds, path, TRIALS, "condition", f::condition::read)?;
    let variants = strings(&ds, path, TRIALS, "variant", f::variant::read)?;
    let expressions = strings(&ds, path, TRIALS, "expression", f::expression::read)?;
    // Files written before the trials counted their samples read them as unknown (zeros).
    let samples: Vec<TrialSampleCounts> = newer_nums(
        &ds,
        path,
        TRIALS,
        &["samples_expected", "samples_received", "samples_valid"],
    )?;
    Ok(n.iter()
        .enumerate()
        .map(|(i, n)| TrialRecord {
            trial: n.trial,
            stimulus_id: ids[i].clone(),
            identity: identities[i].clone(),
            condition: conditions[i].clone(),
            variant: variants[i].clone(),
            expression: expressions[i].clone(),
            onset_us: n.onset_us,
            offset_us: n.offset_us,
            frames: n.frames,
            dropped_frames: n.dropped_frames,
            image_rect: [n.image_x, n.image_y, n.image_w, n.image_h],
            samples: samples
                .get(i)
                .map_or_else(Default::default, |c| TrialSamples {
                    expected: c.samples_expected,
                    received: c.samples_received,
                    valid: c.samples_valid,
                }),
        })
        .collect())
}

fn read_validation(file: &File, path: &Path) -> Result<Vec<ValidationRecord>> {
    let ds = dataset(file, path, VALIDATION)?;
    if let Ok(rows) = ds.read_raw::<ValidationRow>() {
        return Ok(rows.iter().map(ValidationRecord::from_row).collect());
    }
    use crate::foreign as f;
    let n: Vec<ValidationNums> = nums(&ds, path, VALIDATION)?;
    let eyes = strings(&ds, path, VALIDATION, "eye", f::eye::read)?;
    // Files written before the mean gaze or the collection window were recorded read them as
    // unknown (NaN) and (0, 0).
    let means: Vec<ValidationMeans> =
        newer_nums(&ds, path, VALIDATION, &["mean_gaze_x", "mean_gaze_y"])?;
    let mean = |i: usize| {
        means
            .get(i)
            .map_or((f32::NAN, f32::NAN), |m| (m.mean_gaze_x, m.mean_gaze_y))
    };
    let windows: Vec<ValidationWindow> =
        newer_nums(&ds, path, VALIDATION, &["window_start_us", "window_end_us"])?;
    let window = |i: usize| {
        windows
            .get(i)
            .map_or((0, 0), |w| (w.window_start_us, w.window_end_us))
    };
    Ok(n.iter()
        .zip(eyes)
        .enumerate()
        .map(|(i, (n, eye))| ValidationRecord {
            mean_gaze_x: mean(i).0,
            mean_gaze_y: mean(i).1,
            window_start_us: window(i).0,
            window_end_us: window(i).1,
            attempt: n.attempt,
            eye,
            target_x: n.target_x,
            target_y: n.target_y,
            accuracy_deg: n.accuracy_deg,
            precision_rms_deg: n.precision_rms_deg,
            precision_sd_deg: n.precision_sd_deg,
            data_loss: n.data_loss,
        })
        .collect())
}

/// Checks `format` and `format_version` and reads the header.
pub(crate) fn read_header(file: &File, path: &Path) -> Result<(RecordingHeader, u32)> {
    let format = str_attr(file, path, "format").map_err(|_| RecordingError::NotARecording {
        path: path.into(),
        message: "root attribute 'format' is missing (an HDF5 file, but not one et-suite wrote)"
            .into(),
    })?;
    if format != FORMAT_NAME {
        return Err(RecordingError::NotARecording {
            path: path.into(),
            message: format!("root attribute 'format' is {format:?}, expected {FORMAT_NAME:?}"),
        });
    }
    let version: u32 = num_attr(file, path, "format_version")?;
    if version > FORMAT_VERSION {
        return Err(RecordingError::NewerFormat {
            path: path.into(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let s = |n: &str| str_attr(file, path, n);
    let header = RecordingHeader {
        software_version: s("software_version")?,
        participant: s("participant")?,
        session: s("session")?,
        created_utc: s("created_utc")?,
        tracker_model: s("tracker_model")?,
        tracker_serial: s("tracker_serial")?,
        sdk_version: s("sdk_version")?,
        sampling_hz: num_attr(file, path, "sampling_hz")?,
        screen: ScreenGeometry {
            width_px: num_attr(file, path, "screen_width_px")?,
            height_px: num_attr(file, path, "screen_height_px")?,
            width_mm: num_attr(file, path, "screen_width_mm")?,
            height_mm: num_attr(file, path, "screen_height_mm")?,
            viewing_distance_mm: num_attr(file, path, "viewing_distance_mm")?,
        },
        stimulus_set: s("stimulus_set")?,
        stimulus_set_sha256: s("stimulus_set_sha256")?,
        complete: num_attr(file, path, "complete")?,
        counterbalance_version: s("counterbalance_version").unwrap_or_default(),
        trial_order_seed: num_attr(file, path, "trial_order_seed").unwrap_or(0),
        // Absent in files written before imports recorded it.
        source_software: s("source_software").unwrap_or_default(),
        source_fixation_filter: s("source_fixation_filter").unwrap_or_default(),
        tracker_kind: s("tracker_kind").unwrap_or_default(),
        tracker_silent_ms: num_attr(file, path, "tracker_silent_ms").ok(),
    };
    Ok((header, version))
}

impl Recording {
    /// A recording made in memory, not read from a file (simulations, tests, benchmarks): the
    /// current format, and no events, frames, validation or stimulus manifest.
    pub fn in_memory(
        path: impl Into<PathBuf>,
        header: RecordingHeader,
        gaze: Vec<GazeSample>,
        trials: Vec<TrialRecord>,
    ) -> Recording {
        Recording {
            path: path.into(),
            header,
            format_version: FORMAT_VERSION,
            ended_utc: String::new(),
            gaze,
            events: Vec::new(),
            trials,
            frames: Vec::new(),
            validation: Vec::new(),
            lsl_clock: Vec::new(),
            manifest: String::new(),
        }
    }

    pub fn open(path: &Path) -> Result<Recording> {
        let file = open_checked(path)?;
        Self::from_file(&file, path)
    }

    pub(crate) fn from_file(file: &File, path: &Path) -> Result<Recording> {
        let (header, format_version) = read_header(file, path)?;
        let gaze = rows::<GazeRow>(file, path, GAZE)?
            .iter()
            .map(GazeSample::from)
            .collect();
        let events = read_events(file, path)?;
        let trials = read_trials(file, path)?;
        let frames = rows::<FrameRow>(file, path, FRAMES)?
            .iter()
            .map(|r| FrameRecord {
                ts_us: r.ts_us,
                trial: r.trial,
            })
            .collect();
        let validation = read_validation(file, path)?;
        // Files written before LSL streaming have no clock pairs.
        let lsl_clock = match file.dataset(LSL_CLOCK) {
            Ok(_) => rows::<LslClockRow>(file, path, LSL_CLOCK)?
                .iter()
                .map(LslClockRecord::from_row)
                .collect(),
            Err(_) => Vec::new(),
        };
        let manifest = file
            .group(STIMULI_GROUP)
            .and_then(|g| g.attr("manifest"))
            .ok()
            .and_then(|a| crate::foreign::string_attr(&a).ok())
            .unwrap_or_default();
        let rec = Recording {
            path: path.into(),
            header,
            format_version,
            ended_utc: str_attr(file, path, "ended_utc").unwrap_or_default(),
            gaze,
            events,
            trials,
            frames,
            validation,
            lsl_clock,
            manifest,
        };
        rec.check_values()?;
        Ok(rec)
    }

    /// Values every reader relies on: a screen of positive size, a possible sampling rate, and
    /// time stamps within ±2^53 µs (exact in f64, and no sum or difference of two overflows).
    /// A file that breaks them is refused here, naming the attribute or row, rather than giving
    /// dwell 0 everywhere or overflowing later.
    fn check_values(&self) -> Result<()> {
        let bad = |message: String| RecordingError::NotARecording {
            path: self.path.clone(),
            message,
        };
        self.header
            .screen
            .validate()
            .map_err(|m| bad(format!("root attributes: {m}")))?;
        let hz = self.header.sampling_hz;
        // 0 is how a writer that did not know the rate leaves it.
        if !(hz.is_finite() && (0.0..=MAX_SAMPLING_HZ).contains(&hz)) {
            return Err(bad(format!(
                "root attribute 'sampling_hz' is {hz}, expected 0 (unknown) to {MAX_SAMPLING_HZ}"
            )));
        }
        let check = |what: &str, k: usize, t: i64| {
            if t.unsigned_abs() > MAX_ABS_TIME_US.unsigned_abs() {
                Err(bad(format!(
                    "{what} row {k}: time stamp {t} µs is out of range (|t| ≤ 2^53 µs)"
                )))
            } else {
                Ok(())
            }
        };
        for (k, g) in self.gaze.iter().enumerate() {
            check("/gaze system_ts_us", k, g.system_ts_us)?;
        }
        for (k, e) in self.events.iter().enumerate() {
            check("/events ts_us", k, e.ts_us)?;
        }
        for (k, f) in self.frames.iter().enumerate() {
            check("/frames ts_us", k, f.ts_us)?;
        }
        for (k, t) in self.trials.iter().enumerate() {
            check("/trials onset_us", k, t.onset_us)?;
            check("/trials offset_us", k, t.offset_us)?;
        }
        Ok(())
    }

    /// Duration from the first to the last sample, µs.
    pub fn duration_us(&self) -> i64 {
        match (self.gaze.first(), self.gaze.last()) {
            (Some(a), Some(b)) => b.system_ts_us.saturating_sub(a.system_ts_us),
            _ => 0,
        }
    }

    /// Fraction of samples without valid gaze, per eye (left, right).
    pub fn data_loss(&self) -> (f64, f64) {
        let n = self.gaze.len().max(1) as f64;
        let l = self.gaze.iter().filter(|s| !s.left.gaze_valid).count() as f64;
        let r = self.gaze.iter().filter(|s| !s.right.gaze_valid).count() as f64;
        (l / n, r / n)
    }

    /// The tracker's silences as the stamps of their `tracker_lost` and `tracker_back` (`None`:
    /// to the end), in order; a pair for samples that came late (`SAMPLES_CAME_LATE`) is not
    /// silence and is left out.
    pub fn silences(&self) -> Vec<(i64, Option<i64>)> {
        let mut out = Vec::new();
        let mut open = None;
        for e in &self.events {
            match e.kind.as_str() {
                kind::TRACKER_LOST => {
                    open.get_or_insert(e.ts_us);
                }
                kind::TRACKER_BACK => {
                    if let Some(lost) = open.take() {
                        if !e.text.contains(SAMPLES_CAME_LATE) {
                            out.push((lost, Some(e.ts_us)));
                        }
                    }
                }
                _ => {}
            }
        }
        out.extend(open.map(|lost| (lost, None)));
        out
    }

    /// Each validation attempt in order, with each eye's mean over its targets (NaN where
    /// the eye had no valid gaze).
    pub fn validation_attempts(&self) -> Vec<ValidationAttempt> {
        let mut attempts: Vec<i32> = self.validation.iter().map(|v| v.attempt).collect();
        attempts.sort_unstable();
        attempts.dedup();
        attempts
            .into_iter()
            .map(|attempt| {
                let eye = |name: &str| {
                    let rows: Vec<_> = self
                        .validation
                        .iter()
                        .filter(|v| v.attempt == attempt && v.eye == name)
                        .collect();
                    let mean = |f: fn(&ValidationRecord) -> f32| {
                        rows.iter().map(|v| f64::from(f(v))).sum::<f64>() / rows.len() as f64
                    };
                    EyeValidation {
                        accuracy_deg: mean(|v| v.accuracy_deg),
                        precision_rms_deg: mean(|v| v.precision_rms_deg),
                        data_loss: mean(|v| v.data_loss),
                    }
                };
                ValidationAttempt {
                    attempt,
                    left: eye("left"),
                    right: eye("right"),
                }
            })
            .collect()
    }

    /// The stimulus set stored in the file, if any.
    pub fn stimulus_set(&self) -> Option<Result<et_stimuli::StimulusSet>> {
        if self.manifest.trim().is_empty() {
            return None;
        }
        let origin = format!("{} (/stimuli manifest)", self.path.display());
        Some(
            et_stimuli::StimulusSet::from_toml_str(&self.manifest, &origin)
                .map_err(RecordingError::from),
        )
    }
}

/// One validation attempt, each eye's mean over the targets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidationAttempt {
    pub attempt: i32,
    pub left: EyeValidation,
    pub right: EyeValidation,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EyeValidation {
    pub accuracy_deg: f64,
    pub precision_rms_deg: f64,
    pub data_loss: f64,
}

impl std::fmt::Display for EyeValidation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "accuracy {:.2}°, precision RMS {:.2}°, data loss {:.0}%",
            self.accuracy_deg,
            self.precision_rms_deg,
            100.0 * self.data_loss
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::RecordingWriter;

    /// Silences pair `tracker_lost` with the next `tracker_back`; a pair for samples that came
    /// late is none, and a `tracker_lost` never followed by a `tracker_back` lasts to the end.
    #[test]
    fn silences_leave_out_samples_that_came_late() {
        let mut r = Recording::in_memory("r.h5", RecordingHeader::new("P01", "1"), vec![], vec![]);
        let ev = |ts, k: &str, text: &str| EventRecord::new(ts, k, -1, text);
        r.events = vec![
            ev(
                10,
                kind::TRACKER_LOST,
                "no gaze samples for 90.0 ms from here",
            ),
            ev(
                18,
                kind::TRACKER_BACK,
                &format!("gaze resumed: {SAMPLES_CAME_LATE}"),
            ),
            ev(100, kind::TRACKER_LOST, ""),
            ev(
                900,
                kind::TRACKER_BACK,
                "gaze resumed after 800.0 ms without samples",
            ),
            ev(2000, kind::TRACKER_LOST, ""),
        ];
        assert_eq!(r.silences(), [(100, Some(900)), (2000, None)]);
    }

    #[test]
    fn string_attributes_of_every_string_kind_are_read() {
        use hdf5::types::{FixedAscii, FixedUnicode, VarLenAscii};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kinds.h5");
        let manifest = "[[stimulus]]\nid = \"é\"\n".repeat(200);
        let w = RecordingWriter::create(&p, &RecordingHeader::new("P01", "1"), Some(&manifest))
            .unwrap();
        w.finish(true).unwrap();
        {
            // As h5py (numpy.bytes_) and MATLAB write them: fixed-length, ASCII or UTF-8.
            let f = hdf5::File::open_rw(&p).unwrap();
            f.delete_attr("participant").unwrap();
            f.new_attr::<FixedAscii<12>>()
                .create("participant")
                .unwrap()
                .write_scalar(&FixedAscii::<12>::from_ascii("P07").unwrap())
                .unwrap();
            f.delete_attr("session").unwrap();
            f.new_attr::<VarLenAscii>()
                .create("session")
                .unwrap()
                .write_scalar(&VarLenAscii::from_ascii("2").unwrap())
                .unwrap();
            let g = f.group(crate::format::STIMULI_GROUP).unwrap();
            g.delete_attr("manifest").unwrap();
            type Long = FixedUnicode<8192>;
            g.new_attr::<Long>()
                .create("manifest")
                .unwrap()
                .write_scalar(&manifest.parse::<Long>().unwrap())
                .unwrap();
        }
        let r = Recording::open(&p).unwrap();
        assert_eq!(
            (r.header.participant.as_str(), r.header.session.as_str()),
            ("P07", "2")
        );
        assert_eq!(r.manifest, manifest);
        {
            let f = hdf5::File::open_rw(&p).unwrap();
            f.delete_attr("participant").unwrap();
            f.new_attr::<i32>()
                .create("participant")
                .unwrap()
                .write_scalar(&7)
                .unwrap();
        }
        let e = Recording::open(&p).unwrap_err().to_string();
        assert!(
            e.contains("root attribute 'participant' is not a string: it holds int32"),
            "{e}"
        );
    }

    #[test]
    fn values_that_would_overflow_or_zero_every_result_are_refused_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, ts: i64, width_px: u32| {
            let p = dir.path().join(name);
            let mut h = RecordingHeader::new("P01", "1");
            h.sampling_hz = 120.0;
            h.screen.width_px = width_px;
            let mut w = RecordingWriter::create(&p, &h, None).unwrap();
            let s = GazeSample {
                system_ts_us: ts,
                device_ts_us: 0,
                left: et_drivers::EyeSample::INVALID,
                right: et_drivers::EyeSample::INVALID,
            };
            w.append_gaze(&[s]).unwrap();
            w.finish(true).unwrap();
            p
        };
        let e = Recording::open(&write("t.h5", i64::MAX - 5, 1920))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/gaze system_ts_us row 0") && e.contains("out of range"),
            "{e}"
        );
        let e = Recording::open(&write("s.h5", 0, 0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("root attributes: screen size in px"), "{e}");
        assert!(Recording::open(&write("ok.h5", 1 << 52, 1920)).is_ok());
    }

    #[test]
    fn writer_to_reader_is_bit_exact_with_header_and_records() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.h5");
        let mut h = RecordingHeader::new("P07", "2");
        h.sampling_hz = 120.0;
        h.tracker_model = "m".into();
        h.trial_order_seed = u64::MAX - 3;
        h.counterbalance_version = "B".into();
        let mut w = RecordingWriter::create(&p, &h, Some("name = \"x\"")).unwrap();
        let mut g = et_drivers::synthetic::GazeGenerator::new(Default::default());
        let scene = et_drivers::synthetic::Scene::Target { x: 0.3, y: 0.6 };
        let samples: Vec<GazeSample> = (0..30_000)
            .map(|k| g.sample(k * 8_333, 1, &scene))
            .collect();
        for chunk in samples.chunks(997) {
            w.append_gaze(chunk).unwrap();
            w.flush().unwrap();
        }
        let long = "ü".repeat(300);
        w.append_events(&[EventRecord::new(5, kind::MARKER, 3, long.clone())])
            .unwrap();
        w.append_frames(&[FrameRecord {
            ts_us: 9,
            trial: -1,
        }])
        .unwrap();
        let v = ValidationRecord {
            attempt: 1,
            eye: "left".into(),
            target_x: 1.0,
            target_y: 2.0,
            accuracy_deg: 0.4,
            precision_rms_deg: 0.1,
            precision_sd_deg: 0.2,
            data_loss: 0.01,
            mean_gaze_x: 3.5,
            mean_gaze_y: 700.25,
            window_start_us: 1_200_000,
            window_end_us: 1_700_000,
        };
        w.append_validation(std::slice::from_ref(&v)).unwrap();
        let counts = w.finish(true).unwrap();
        assert_eq!(counts.gaze, 30_000);
        let r = Recording::open(&p).unwrap();
        assert!(r.gaze.iter().zip(&samples).all(|(a, b)| a.bit_eq(b)));
        assert_eq!(r.gaze.len(), samples.len());
        let mut expect = h.clone();
        expect.complete = true;
        assert_eq!(r.header, expect);
        // Text longer than the field is cut at a character boundary, never corrupted.
        assert_eq!(r.events[0].text, "ü".repeat(128));
        assert_eq!(
            r.frames,
            vec![FrameRecord {
                ts_us: 9,
                trial: -1
            }]
        );
        assert_eq!(r.validation, vec![v]);
        assert_eq!(r.manifest, "name = \"x\"");
        assert!(!r.ended_utc.is_empty());
    }
}
