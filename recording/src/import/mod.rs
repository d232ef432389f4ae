//! Imports gaze exported by other tools into recordings, so it can be analysed and replayed:
//! plain CSV (time, x, y), Tobii Pro Lab "data export" TSV and Tobii Studio export TSV/CSV.
//!
//! Columns are found by name however the export spells them (`table`), with the unit in their
//! brackets read and checked: gaze in px, mm or normalised display units is converted to the
//! display area; media coordinates or unknown units are refused naming the column. An export
//! holding several participants becomes one recording per participant. The screen geometry
//! comes from the export where it is there (resolution, eye distance from the eye positions)
//! and from the user otherwise; a recording is never written on a guessed geometry. The
//! sampling rate is estimated over gap-free stretches and snapped to Tobii's rates (`rate`).
//! Stimulus (media) columns become `/trials` rows with the drawn image rectangle.

mod columns;
pub mod rate;
mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use et_drivers::{EyeSample, GazeSample, ScreenGeometry};

use crate::error::{RecordingError, Result};
use crate::format::{kind, EventRecord, RecordingHeader, TrialRecord, MAX_SAMPLING_HZ};
use crate::writer::RecordingWriter;
pub use columns::TimeUnit;
use columns::{Layout, RawEye, RawRow, Unit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// `time,x,y` (time in ms unless the header says, gaze in screen px unless it says).
    Csv,
    TobiiProLab,
    TobiiStudio,
}

impl std::str::FromStr for ImportFormat {
    type Err = et_files::SettingError;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "csv" => Ok(ImportFormat::Csv),
            "tobii-pro-lab" => Ok(ImportFormat::TobiiProLab),
            "tobii-studio" => Ok(ImportFormat::TobiiStudio),
            _ => Err(et_files::SettingError::new(
                "--format",
                format!("expected csv, tobii-pro-lab or tobii-studio, got {s:?}"),
            )),
        }
    }
}

/// Screen geometry the user gives; what is missing is read from the export or refused.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ScreenInput {
    pub width_px: Option<u32>,
    pub height_px: Option<u32>,
    pub width_mm: Option<f64>,
    pub height_mm: Option<f64>,
    pub viewing_distance_mm: Option<f64>,
}

impl From<ScreenGeometry> for ScreenInput {
    fn from(g: ScreenGeometry) -> Self {
        ScreenInput {
            width_px: Some(g.width_px),
            height_px: Some(g.height_px),
            width_mm: Some(g.width_mm),
            height_mm: Some(g.height_mm),
            viewing_distance_mm: Some(g.viewing_distance_mm),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Detected from the header when `None`.
    pub format: Option<ImportFormat>,
    pub screen: ScreenInput,
    /// With a participant column: the one participant to import. Without: the participant's id
    /// (default: the file name).
    pub participant: Option<String>,
    /// Overrides the estimate (checked against the time stamps).
    pub sampling_hz: Option<f64>,
    /// The unit of a time column that does not name one (default: told from the stamps).
    pub time_unit: Option<TimeUnit>,
}

/// How the sampling rate was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateSource {
    Given,
    /// From the time stamps, snapped to a Tobii tracker rate.
    Estimated,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    pub participant: String,
    pub path: PathBuf,
    pub format: ImportFormat,
    pub samples: usize,
    pub valid_samples: usize,
    pub sampling_hz: f64,
    pub rate_source: RateSource,
    /// Rows dropped because an earlier row had the same time stamp.
    pub duplicates_dropped: usize,
    /// The software that recorded the export ("" when it does not say).
    pub source_software: String,
    /// What the user should know about the export's labels and software (each also a `note`
    /// event in the recording): labels not comparable with et-suite's I-VT, a Pro Lab version
    /// the export does not give.
    pub warnings: Vec<String>,
    pub trials: usize,
    pub events: usize,
    pub screen: ScreenGeometry,
}

/// Imports `input`. With one participant, `out` is the new recording (or, when it is an existing
/// folder, the folder it goes in as `<participant>.h5`); with several, `out` is a folder (created
/// when missing) that gets one recording per participant. Nothing is ever overwritten.
pub fn import(input: &Path, out: &Path, opts: &ImportOptions) -> Result<Vec<ImportReport>> {
    if let Some(hz) = opts.sampling_hz {
        if !(hz.is_finite() && hz > 0.0 && hz <= MAX_SAMPLING_HZ) {
            return Err(RecordingError::Invalid(format!(
                "--sampling-hz must be in (0, {MAX_SAMPLING_HZ}], got {hz}"
            )));
        }
    }
    let file = std::fs::File::open(input).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => RecordingError::NotFound {
            path: input.to_path_buf(),
        },
        _ => RecordingError::Io {
            path: input.to_path_buf(),
            source,
        },
    })?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let first_line = peek_first_line(input, &mut reader)?;
    let mut table = table::Reader::new(input, reader, table::delimiter(&first_line))?;
    let format = opts
        .format
        .unwrap_or_else(|| columns::detect(&table.columns));
    let layout = Layout::find(input, &table, format, opts.time_unit)?;
    let mut parsed = read_rows(input, &mut table, &layout, opts)?;
    if layout.time_unit_from_stamps {
        let mut stamps: Vec<i64> = parsed
            .by_participant
            .values()
            .next()
            .map(|rows| {
                rows.iter()
                    .filter(|r| r.is_sample)
                    .map(|r| r.ts_us)
                    .collect()
            })
            .unwrap_or_default();
        stamps.sort_unstable();
        let column = &layout.names[layout.time];
        if columns::unit_from_stamps(input, column, &stamps)? == TimeUnit::Us {
            for r in parsed.by_participant.values_mut().flatten() {
                r.ts_us = (r.ts_us as f64 / 1000.0).round() as i64;
            }
        }
    }
    let groups = parsed.by_participant;
    if groups.is_empty() {
        return Err(RecordingError::Invalid(match &opts.participant {
            Some(p) if layout.participant.is_some() => format!(
                "{}: no rows of participant '{p}' (the export has: {})",
                input.display(),
                parsed.all_participants.join(", ")
            ),
            _ => format!("{}: no gaze rows", input.display()),
        }));
    }
    let screens = groups
        .values()
        .map(|rows| resolve_screen(input, &parsed.export_screen, &opts.screen, rows))
        .collect::<Result<Vec<_>>>()?;
    let several = groups.len() > 1;
    // One rule for any number of recordings: a trailing slash or an existing folder means a
    // folder (one file per recording in it); anything else is the file, with `.h5` added
    // when it has no extension.
    let slash = out.as_os_str().as_encoded_bytes().last() == Some(&b'/');
    let folder = several || slash || out.is_dir();
    // A participant with several recordings in the export gets one file per recording.
    let mut per_participant: BTreeMap<&str, usize> = BTreeMap::new();
    for RecordingKey(p, _) in groups.keys() {
        *per_participant.entry(p.as_str()).or_default() += 1;
    }
    let by_recording = per_participant.values().any(|n| *n > 1);
    // A name like a recording's for several participants is a slip, not a folder to make.
    let file_like = out.exists() && !out.is_dir()
        || !out.exists()
            && out
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("h5"));
    if several && file_like {
        return Err(RecordingError::Invalid(format!(
            "{}: the export holds {} recordings ({}), so --out must be a folder (or pick a participant with --participant)",
            out.display(),
            groups.len(),
            groups.keys().map(|k| k.label()).collect::<Vec<_>>().join(", ")
        )));
    }
    // Every target is checked before the first is written, so a clash writes nothing.
    let targets: Vec<(String, PathBuf)> = groups
        .keys()
        .map(|key| {
            let name = &key.0;
            let id = if layout.participant.is_some() {
                name.clone()
            } else {
                opts.participant.clone().unwrap_or_else(|| name.clone())
            };
            let stem = if by_recording {
                format!("{}_{}", file_safe(&id), file_safe(&key.1))
            } else {
                file_safe(&id)
            };
            let path = if folder {
                out.join(format!("{stem}.h5"))
            } else if out.extension().is_none() {
                out.with_extension("h5")
            } else {
                out.to_path_buf()
            };
            (id, path)
        })
        .collect();
    if let Some((_, p)) = targets.iter().find(|(_, p)| p.exists()) {
        return Err(RecordingError::AlreadyExists { path: p.clone() });
    }
    let mut names: Vec<&PathBuf> = targets.iter().map(|(_, p)| p).collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(RecordingError::Invalid(format!(
            "{}: two participants would share the file name {} (names differ only in characters a file name cannot hold); import them one at a time with --participant",
            input.display(),
            w[0].display()
        )));
    }
    // Every participant is converted before the first file is written, so bad rows of the
    // last participant leave no recordings of the first ones behind.
    let source = Source::of(format, &parsed.export_screen);
    let built = groups
        .into_iter()
        .zip(&targets)
        .zip(screens)
        .map(|(((key, rows), (id, _)), screen)| {
            let who = Who {
                participant: id,
                recording: &key.1,
            };
            build_participant(input, &who, rows, &layout, &screen, opts, &source)
        })
        .collect::<Result<Vec<_>>>()?;
    let made_folder = folder && !out.exists();
    if folder {
        std::fs::create_dir_all(out).map_err(|source| RecordingError::Io {
            path: out.to_path_buf(),
            source,
        })?;
    }
    let mut reports: Vec<ImportReport> = Vec::with_capacity(built.len());
    for (b, (_, path)) in built.into_iter().zip(&targets) {
        match b.write(path) {
            Ok(r) => reports.push(r),
            Err(e) => {
                // A failed write (a full disk) takes back this import's other files too: an
                // import is whole or absent, and the export it came from is still there.
                for r in &reports {
                    let _ = std::fs::remove_file(&r.path);
                }
                if made_folder {
                    let _ = std::fs::remove_dir(out);
                }
                return Err(e);
            }
        }
    }
    Ok(reports)
}

/// The software an export came from, as it names itself.
struct Source {
    format: ImportFormat,
    /// "Tobii Pro Lab 1.145.28180", "Tobii Studio 3.4.8"; empty when the export does not say.
    software: String,
    fixation_filter: String,
}

impl Source {
    fn of(format: ImportFormat, seen: &columns::ExportScreen) -> Self {
        let product = match format {
            ImportFormat::TobiiProLab => "Tobii Pro Lab",
            ImportFormat::TobiiStudio => "Tobii Studio",
            ImportFormat::Csv => "",
        };
        let software = match (&seen.software_version, product) {
            (Some(v), p) if !p.is_empty() => format!("{p} {v}"),
            // A Pro Lab or Studio export without its version column: the product only.
            (None, p) => p.to_string(),
            (Some(v), _) => v.clone(),
        };
        Source {
            format,
            software,
            fixation_filter: seen.fixation_filter.clone().unwrap_or_default(),
        }
    }

    /// What the import says about the export beyond its data: `labels_warning`, and a Pro Lab
    /// export without its version (`preset = "auto"` cannot tell Pro Lab 1.x's rules from the
    /// later ones then).
    fn warnings(&self) -> Vec<String> {
        let unversioned = (self.format == ImportFormat::TobiiProLab
            && self.software == "Tobii Pro Lab")
            .then(|| {
                "the export does not give its Pro Lab version (column 'Recording software version'): analyze classifies it with current Pro Lab's I-VT; for an export of Pro Lab 1.x set [ivt] preset = \"tobii-pro-lab-1\" in analysis.toml".to_string()
            });
        self.labels_warning()
            .into_iter()
            .chain(unversioned)
            .collect()
    }

    /// When the export's own labels came from a filter other than Tobii's default I-VT: they
    /// are then not comparable with an I-VT preset's classes.
    fn labels_warning(&self) -> Option<String> {
        let f = self.fixation_filter.trim();
        let default = match self.format {
            ImportFormat::TobiiProLab => f == "Tobii I-VT (Fixation)",
            ImportFormat::TobiiStudio => f.contains("I-VT"),
            ImportFormat::Csv => true,
        };
        (!f.is_empty() && !default).then(|| {
            format!(
                "the export's eye movement labels come from the fixation filter '{f}', not Tobii's default I-VT (Fixation): they are not comparable with et-suite's I-VT presets"
            )
        })
    }
}

/// The header line, read without consuming it, to tell the delimiter.
fn peek_first_line(path: &Path, r: &mut impl std::io::BufRead) -> Result<String> {
    let buf = r.fill_buf().map_err(|source| RecordingError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let end = buf.iter().position(|b| *b == b'\n').unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

/// A participant id as a file name: path separators and other odd characters become '_'.
fn file_safe(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match s.trim_matches('.') {
        "" => "participant".into(),
        t => t.to_string(),
    }
}

/// One recording of an export: its participant and its recording name (Pro Lab's `Recording
/// name`, Studio's `RecordingName`; empty where the export has no such column). Two
/// recordings of one participant are never one: both may start at time 0.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RecordingKey(String, String);

impl RecordingKey {
    /// "participant" or "participant / recording", for messages.
    fn label(&self) -> String {
        if self.1.is_empty() {
            self.0.clone()
        } else {
            format!("{} / {}", self.0, self.1)
        }
    }
}

/// Whose recording is being built.
struct Who<'a> {
    participant: &'a str,
    /// The export's recording name ("" when it has none).
    recording: &'a str,
}

/// What the rows held, per participant and recording.
struct Parsed {
    by_participant: BTreeMap<RecordingKey, Vec<RawRow>>,
    all_participants: Vec<String>,
    export_screen: columns::ExportScreen,
}

fn read_rows<R: std::io::Read>(
    path: &Path,
    table: &mut table::Reader<R>,
    layout: &Layout,
    opts: &ImportOptions,
) -> Result<Parsed> {
    let mut by_participant: BTreeMap<RecordingKey, Vec<RawRow>> = BTreeMap::new();
    let mut all = std::collections::BTreeSet::new();
    let mut export_screen = columns::ExportScreen::default();
    let default_name = opts.participant.clone().unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "participant".into())
    });
    let mut record = et_files::csv_table::StringRecord::new();
    while let Some(line) = table.next_row(&mut record)? {
        let Some(row) = layout.row(path, line, &record, &mut export_screen)? else {
            continue;
        };
        let name = match layout.participant {
            Some(i) => {
                let p = record.get(i).unwrap_or("").trim();
                if p.is_empty() {
                    continue;
                }
                if !all.contains(p) {
                    all.insert(p.to_string());
                }
                if opts.participant.as_deref().is_some_and(|want| want != p) {
                    continue;
                }
                p.to_string()
            }
            None => default_name.clone(),
        };
        let recording = layout
            .recording
            .and_then(|i| record.get(i))
            .map(|r| r.trim().to_string())
            .unwrap_or_default();
        by_participant
            .entry(RecordingKey(name, recording))
            .or_default()
            .push(row);
    }
    Ok(Parsed {
        by_participant,
        all_participants: all.into_iter().collect(),
        export_screen,
    })
}

/// One participant's geometry: the user's values first, then the export's (the viewing distance
/// from this participant's eye positions), and an error naming whatever is still missing.
fn resolve_screen(
    path: &Path,
    export: &columns::ExportScreen,
    given: &ScreenInput,
    rows: &[RawRow],
) -> Result<ScreenGeometry> {
    let width_px = given.width_px.or(export.width_px);
    let height_px = given.height_px.or(export.height_px);
    let width_mm = given.width_mm;
    let height_mm = given.height_mm;
    let distance = given
        .viewing_distance_mm
        .or_else(|| columns::median_eye_distance_mm(rows));
    let mut missing = Vec::new();
    if width_px.is_none() {
        missing
            .push("screen width in px (--screen-width-px; the export has no recording resolution)");
    }
    if height_px.is_none() {
        missing.push("screen height in px (--screen-height-px)");
    }
    if width_mm.is_none() {
        missing.push("screen width in mm (--screen-width-mm)");
    }
    if height_mm.is_none() {
        missing.push("screen height in mm (--screen-height-mm)");
    }
    if distance.is_none() {
        missing
            .push("viewing distance in mm (--viewing-distance-mm; no eye positions in the export)");
    }
    if !missing.is_empty() {
        return Err(RecordingError::Invalid(format!(
            "{}: the export does not give the {}; pass them, or --config with a study config's [screen]",
            path.display(),
            missing.join(", ")
        )));
    }
    let g = ScreenGeometry {
        width_px: width_px.unwrap_or(0),
        height_px: height_px.unwrap_or(0),
        width_mm: width_mm.unwrap_or(f64::NAN),
        height_mm: height_mm.unwrap_or(f64::NAN),
        viewing_distance_mm: distance.unwrap_or(f64::NAN),
    };
    g.validate()
        .map_err(|m| RecordingError::Invalid(format!("{}: {m}", path.display())))?;
    Ok(g)
}

#[allow(clippy::too_many_arguments)]
/// One participant's rows as a recording's contents, checked and ready to write.
struct Built {
    header: RecordingHeader,
    samples: Vec<GazeSample>,
    /// Import notes, then the export's own events.
    events: Vec<EventRecord>,
    trials: Vec<TrialRecord>,
    report: ImportReport,
}

#[allow(clippy::too_many_arguments)]
fn build_participant(
    input: &Path,
    who: &Who,
    mut rows: Vec<RawRow>,
    layout: &Layout,
    screen: &ScreenGeometry,
    opts: &ImportOptions,
    source: &Source,
) -> Result<Built> {
    let format = source.format;
    let participant = who.participant;
    let retimed = time_by_device(&mut rows, layout, input, participant)?;
    // Stable: rows with one time stamp stay in file order, the first is kept; within one
    // recording time, the tracker's own stamp orders. Exports are nearly always in order.
    let order = |r: &RawRow| (r.ts_us, r.device_us.unwrap_or(i64::MIN));
    if !rows.is_sorted_by_key(order) {
        rows.sort_by_key(order);
    }
    let mut samples = Vec::with_capacity(rows.len());
    let mut events = Vec::new();
    let mut media: Vec<(i64, Option<&columns::Media>)> = Vec::with_capacity(rows.len());
    let mut duplicates = 0usize;
    // The line of the last sample kept, for an error about the next one.
    let mut kept_line = 0u64;
    for r in &rows {
        if let Some(text) = &r.event {
            events.push(EventRecord::new(r.ts_us, kind::NOTE, -1, text.clone()));
        }
        if !r.is_sample {
            continue;
        }
        let sample = GazeSample {
            system_ts_us: r.ts_us,
            device_ts_us: r.device_us.unwrap_or(r.ts_us),
            left: eye_sample(&r.left, layout, screen),
            right: eye_sample(&r.right, layout, screen),
        };
        if let Some(last) = samples
            .last()
            .filter(|s: &&GazeSample| s.system_ts_us == r.ts_us)
        {
            // The same sample written twice is dropped (and counted); two different samples
            // at one time are two recordings merged or a time unit too coarse: never one kept
            // silently in place of the other.
            if !last.bit_eq(&sample) {
                return Err(RecordingError::Invalid(format!(
                    "{}: participant '{participant}': lines {kept_line} and {} hold different samples at the same time ({} µs): two recordings in one (check the recording column) or a time unit too coarse (--time-unit)",
                    input.display(),
                    r.line,
                    r.ts_us
                )));
            }
            duplicates += 1;
            continue;
        }
        kept_line = r.line;
        samples.push(sample);
        media.push((r.ts_us, r.media.as_ref()));
    }
    if samples.is_empty() {
        return Err(RecordingError::Invalid(format!(
            "{}: no gaze rows for participant '{participant}'",
            input.display()
        )));
    }
    let ts: Vec<i64> = samples.iter().map(|s| s.system_ts_us).collect();
    let (sampling_hz, rate_source) = match opts.sampling_hz {
        Some(hz) => {
            // A rate the stamps contradict is a wrong unit or a wrong rate: never both kept.
            if let Some(seen) = rate::estimate_hz(&ts).filter(|s| (s / hz - 1.0).abs() > 0.1) {
                return Err(RecordingError::Invalid(format!(
                    "{}: participant '{participant}': --sampling-hz {hz} does not fit the time stamps, which are {:.1} ms apart ({seen} Hz): check the time column's unit (--time-unit) or the rate",
                    input.display(),
                    1000.0 / seen
                )));
            }
            (hz, RateSource::Given)
        }
        None => match rate::estimate_hz(&ts) {
            Some(hz) if hz <= MAX_SAMPLING_HZ => (hz, RateSource::Estimated),
            _ => {
                return Err(RecordingError::Invalid(format!(
                    "{}: participant '{participant}': the sampling rate cannot be told from the time stamps (fewer than two distinct, or above {MAX_SAMPLING_HZ} Hz); pass --sampling-hz",
                    input.display()
                )))
            }
        },
    };
    let mut trials = trials_from_media(&media, sampling_hz, input)?;
    align_to_stimulus_events(&mut trials, &events, (1e6 / sampling_hz).round() as i64);
    let session = if who.recording.is_empty() {
        "1"
    } else {
        who.recording
    };
    let mut header = RecordingHeader::new(participant, session);
    header.tracker_model = format!("imported ({format:?})");
    header.sampling_hz = sampling_hz;
    header.screen = *screen;
    header.source_software = source.software.clone();
    header.source_fixation_filter = source.fixation_filter.clone();
    header.tracker_kind = "import".into();
    let mut notes = vec![EventRecord::new(
        samples[0].system_ts_us,
        kind::NOTE,
        -1,
        format!("imported from {}", display_name(input)),
    )];
    if retimed {
        notes.push(EventRecord::new(
            samples[0].system_ts_us,
            kind::NOTE,
            -1,
            "samples timed by the tracker's own µs time stamps (the recording time repeats within a millisecond)".to_string(),
        ));
    }
    let warnings = source.warnings();
    for warning in &warnings {
        notes.push(EventRecord::new(
            samples[0].system_ts_us,
            kind::NOTE,
            -1,
            warning.clone(),
        ));
    }
    if duplicates > 0 {
        notes.push(EventRecord::new(
            samples[0].system_ts_us,
            kind::NOTE,
            -1,
            format!("{duplicates} rows with a time stamp already seen were dropped"),
        ));
    }
    let report = ImportReport {
        participant: participant.to_string(),
        path: PathBuf::new(),
        format,
        samples: samples.len(),
        valid_samples: samples.iter().filter(|s| s.mean_gaze().is_some()).count(),
        sampling_hz,
        rate_source,
        duplicates_dropped: duplicates,
        source_software: source.software.clone(),
        warnings,
        trials: trials.len(),
        events: events.len(),
        screen: *screen,
    };
    notes.extend(events);
    Ok(Built {
        header,
        samples,
        events: notes,
        trials,
        report,
    })
}

impl Built {
    /// Writes the recording at `out` (published whole by the writer, or not at all).
    fn write(self, out: &Path) -> Result<ImportReport> {
        let mut w = RecordingWriter::create(out, &self.header, None)?;
        w.append_gaze(&self.samples)?;
        w.append_events(&self.events)?;
        w.append_trials(&self.trials)?;
        w.finish(true)?;
        Ok(ImportReport {
            path: out.to_path_buf(),
            ..self.report
        })
    }
}

/// One eye in the recording's units: gaze on the display area, eye position in user mm.
fn eye_sample(e: &RawEye, layout: &Layout, screen: &ScreenGeometry) -> EyeSample {
    let (Some(x), Some(y), true) = (e.x, e.y, e.valid) else {
        return EyeSample::INVALID;
    };
    let (nx, ny) = match layout.gaze_unit {
        Unit::Px => (
            x / f64::from(screen.width_px),
            y / f64::from(screen.height_px),
        ),
        Unit::Mm => (x / screen.width_mm, y / screen.height_mm),
        Unit::Norm => (x, y),
    };
    let (gx, gy) = e
        .position_mm
        .zip(e.direction)
        .and_then(|(p, d)| sight_on_display(p, d))
        .unwrap_or((nx * screen.width_mm, ny * screen.height_mm));
    let gaze3d = screen.display_mm_to_user(gx, gy, 0.0);
    let origin = e
        .position_mm
        .map(|[px, py, pz]| screen.display_mm_to_user(px, py, pz));
    EyeSample {
        gaze_x: nx as f32,
        gaze_y: ny as f32,
        gaze_valid: true,
        pupil_mm: e.pupil_mm.map_or(f32::NAN, |p| p as f32),
        pupil_valid: e.pupil_mm.is_some(),
        origin_mm: origin.map_or([f32::NAN; 3], |o| o.map(|v| v as f32)),
        origin_valid: origin.is_some(),
        gaze3d_mm: if origin.is_some() {
            gaze3d.map(|v| v as f32)
        } else {
            [f32::NAN; 3]
        },
    }
}

/// Where the line of sight from eye position `p` along unit vector `d` (display mm) meets
/// the display: the 3-D gaze point as finely as the export's direction gives it (the gaze
/// point columns are whole pixels, 0.27 mm on a 24" display, which at 120 Hz is 1 °/s of
/// velocity noise). The gaze point in display units stays the exported one.
fn sight_on_display(p: [f64; 3], d: [f64; 3]) -> Option<(f64, f64)> {
    let t = -p[2] / d[2];
    let (x, y) = (p[0] + t * d[0], p[1] + t * d[1]);
    (t.is_finite() && t > 0.0 && x.is_finite() && y.is_finite()).then_some((x, y))
}

/// `/trials` rows from the media each sample was recorded with: a trial is a run of samples
/// with one media name; it starts at its first sample and ends one sample period after its
/// last (or at the next run's first sample, if sooner).
/// Where the recording time is too coarse for the samples (two gaze rows in one millisecond
/// stamp, as a 1200 Hz tracker exported in whole ms gives) and every gaze row carries the
/// tracker's own µs stamp, the gaze rows are timed by it: the first sample keeps its recording
/// time and the others follow at their distance on the tracker's clock. Elsewhere the
/// recording time stays (it is what the export's other columns and the user's own tables
/// use). The tracker's stamps must span what the recording time spans (a wrong column is an
/// error naming it, never a rescaled recording). Returns whether the rows were re-timed.
fn time_by_device(
    rows: &mut [RawRow],
    layout: &Layout,
    input: &Path,
    participant: &str,
) -> Result<bool> {
    let Some(column) = layout.device_time else {
        return Ok(false);
    };
    let mut gaze: Vec<(i64, i64)> = Vec::new();
    for r in rows.iter().filter(|r| r.is_sample) {
        match r.device_us {
            Some(d) => gaze.push((r.ts_us, d)),
            None => return Ok(false),
        }
    }
    gaze.sort_unstable();
    let coarse = gaze
        .windows(2)
        .any(|w| w[0].0 == w[1].0 && w[0].1 != w[1].1);
    if !coarse {
        return Ok(false);
    }
    let (origin_ts, origin_dev) = gaze[0];
    let span = |v: &mut dyn Iterator<Item = i64>| {
        let (lo, hi) = v.fold((i64::MAX, i64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
        hi.saturating_sub(lo) as f64
    };
    let (recording, device) = (
        span(&mut gaze.iter().map(|g| g.0)),
        span(&mut gaze.iter().map(|g| g.1)),
    );
    if (device - recording).abs() > (0.01 * recording).max(2000.0) {
        return Err(RecordingError::Invalid(format!(
            "{}: participant '{participant}': column '{}' spans {:.3} s where the recording time spans {:.3} s: not the tracker's µs time stamps of these rows",
            input.display(),
            layout.names[column],
            device / 1e6,
            recording / 1e6
        )));
    }
    for r in rows.iter_mut().filter(|r| r.is_sample) {
        if let Some(d) = r.device_us {
            r.ts_us = d
                .checked_sub(origin_dev)
                .and_then(|off| origin_ts.checked_add(off))
                .ok_or_else(|| {
                    RecordingError::Invalid(format!(
                        "{}: line {}: column '{}': time stamp {d} µs is out of range",
                        input.display(),
                        r.line,
                        layout.names[column]
                    ))
                })?;
        }
    }
    Ok(true)
}

fn trials_from_media(
    media: &[(i64, Option<&columns::Media>)],
    sampling_hz: f64,
    path: &Path,
) -> Result<Vec<TrialRecord>> {
    let period = (1e6 / sampling_hz).round() as i64;
    let mut trials: Vec<TrialRecord> = Vec::new();
    let mut current: Option<(&columns::Media, i64, i64)> = None;
    let mut close = |m: &columns::Media, on: i64, last: i64, next: Option<i64>| {
        let off = next.map_or(last.saturating_add(period), |n| {
            n.min(last.saturating_add(period))
        });
        trials.push(TrialRecord {
            trial: trials.len() as i32,
            stimulus_id: m.name.to_string(),
            identity: String::new(),
            condition: String::new(),
            variant: String::new(),
            expression: String::new(),
            onset_us: on,
            offset_us: off,
            frames: 0,
            dropped_frames: 0,
            image_rect: m.rect.map(|r| r.map(|v| v as f32)).unwrap_or([0.0; 4]),
            samples: Default::default(),
        });
    };
    for &(ts, m) in media {
        match (current.take(), m) {
            (Some((cm, on, _)), Some(m)) if cm.name == m.name => current = Some((cm, on, ts)),
            (Some((cm, on, last)), m) => {
                close(cm, on, last, Some(ts));
                current = m.map(|m| (m, ts, ts));
            }
            (None, m) => current = m.map(|m| (m, ts, ts)),
        }
    }
    if let Some((cm, on, last)) = current {
        close(cm, on, last, None);
    }
    if trials.len() > i32::MAX as usize {
        return Err(RecordingError::Invalid(format!(
            "{}: too many stimulus intervals",
            path.display()
        )));
    }
    Ok(trials)
}

/// The export's own stimulus start and end events, where it has them, mark a stimulus
/// interval better than its first and last samples: Pro Lab stamps them when the image was
/// shown (corrected for the monitor's latency), before the first sample that saw it.
const STIMULUS_STARTS: [&str; 5] = [
    "ImageStimulusStart",
    "VideoStimulusStart",
    "WebStimulusStart",
    "ImageStart",
    "MovieStart",
];
const STIMULUS_ENDS: [&str; 5] = [
    "ImageStimulusEnd",
    "VideoStimulusEnd",
    "WebStimulusEnd",
    "ImageEnd",
    "MovieEnd",
];

/// Moves each interval's onset to the last stimulus-start event between the interval before
/// it and its first sample, and its offset to the first stimulus-end event from its last
/// sample on and before the next interval's onset (an event's name is its text up to " (").
fn align_to_stimulus_events(trials: &mut [TrialRecord], events: &[EventRecord], period_us: i64) {
    let of = |names: &[&str]| -> Vec<i64> {
        events
            .iter()
            .filter(|e| {
                let name = e.text.split(" (").next().unwrap_or("");
                names.contains(&name)
            })
            .map(|e| e.ts_us)
            .collect()
    };
    let (starts, ends) = (of(&STIMULUS_STARTS), of(&STIMULUS_ENDS));
    for i in 0..trials.len() {
        let before = i.checked_sub(1).map_or(i64::MIN, |j| trials[j].offset_us);
        let after = trials.get(i + 1).map_or(i64::MAX, |t| t.onset_us);
        let t = &mut trials[i];
        if let Some(&on) = starts
            .iter()
            .filter(|&&s| s >= before && s <= t.onset_us)
            .max()
        {
            t.onset_us = on;
        }
        // The offset so far is the last sample's time plus at most one period.
        let last_sample = t.offset_us.saturating_sub(period_us).max(t.onset_us);
        if let Some(&off) = ends
            .iter()
            .filter(|&&e| e >= last_sample && e <= after)
            .min()
        {
            t.offset_us = off;
        }
    }
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

    /// The screen's physical size, which no export gives.
    fn mm_only() -> ScreenInput {
        ScreenInput {
            width_mm: Some(531.0),
            height_mm: Some(299.0),
            ..ScreenInput::default()
        }
    }

    fn run_with(
        name: &str,
        text: &str,
        opts: &ImportOptions,
    ) -> Result<(Vec<ImportReport>, Vec<Recording>, tempfile::TempDir)> {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join(name);
        std::fs::write(&input, text).unwrap();
        let out = dir.path().join("out");
        let reports = import(&input, &out, opts)?;
        let recs = reports
            .iter()
            .map(|r| Recording::open(&r.path).unwrap())
            .collect();
        Ok((reports, recs, dir))
    }

    fn run(name: &str, text: &str, screen: ScreenInput) -> Result<(ImportReport, Recording)> {
        let opts = ImportOptions {
            screen,
            ..ImportOptions::default()
        };
        let (mut r, mut recs, _dir) = run_with(name, text, &opts)?;
        assert_eq!(r.len(), 1);
        Ok((r.remove(0), recs.remove(0)))
    }

    fn full_screen() -> ScreenInput {
        ScreenGeometry::default().into()
    }

    /// A Pro Lab 1.x data export as pandas re-saves it (an unnamed index column, commas,
    /// quoted decimal commas, unitless µs), holding two recordings of one participant that
    /// both start at 0 and a filter name other than the default in the second.
    fn with_distance() -> ImportOptions {
        ImportOptions {
            screen: ScreenInput {
                viewing_distance_mm: Some(650.0),
                ..mm_only()
            },
            ..ImportOptions::default()
        }
    }

    fn two_recordings_of_one_participant(filter: &str) -> String {
        let mut t = String::from(
            ",Recording timestamp,Sensor,Participant name,Recording name,Recording Fixation filter name,Recording software version,Recording resolution width,Recording resolution height,Gaze point left X,Gaze point left Y,Gaze point right X,Gaze point right Y,Validity left,Validity right\n",
        );
        let mut row = 0;
        for (rec, x) in [("Recording1", "100,5"), ("Recording2", "900,25")] {
            for k in 0..12 {
                t.push_str(&format!(
                    "{row},{},Eye Tracker,P01,{rec},{filter},1.145.28180,1920,1080,\"{x}\",540,\"{x}\",540,Valid,Valid\n",
                    k * 8333
                ));
                row += 1;
            }
        }
        t
    }

    /// Pro Lab's `Gaze direction` columns, to five decimals as it writes them: the 3-D gaze
    /// point is where that line of sight meets the display, finer than the whole-pixel gaze
    /// point (0.12 mm off here), which stays the sample's gaze in display units. A direction
    /// away from the display is not a line of sight to it: the pixel point is used.
    #[test]
    fn the_3d_gaze_point_follows_the_exported_line_of_sight() {
        let (eye, target): ([f64; 3], [f64; 2]) = ([265.5, 150.0, 600.0], [300.2, 160.3]);
        let d = [target[0] - eye[0], target[1] - eye[1], -eye[2]];
        let n = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        let dir = d.map(|v| format!("{:.5}", v / n)).join("\t");
        let away = d.map(|v| format!("{:.5}", -v / n)).join("\t");
        let (px, py) = (target[0] * 1920.0 / 531.0, target[1] * 1080.0 / 299.0);
        let mut t = String::from(
            "Recording timestamp [μs]\tParticipant name\tRecording resolution width\tRecording resolution height\tSensor\tGaze point left X [DACS px]\tGaze point left Y [DACS px]\tGaze point right X [DACS px]\tGaze point right Y [DACS px]\tValidity left\tValidity right\tEye position left X [DACS mm]\tEye position left Y [DACS mm]\tEye position left Z [DACS mm]\tEye position right X [DACS mm]\tEye position right Y [DACS mm]\tEye position right Z [DACS mm]\tGaze direction left X\tGaze direction left Y\tGaze direction left Z\tGaze direction right X\tGaze direction right Y\tGaze direction right Z\n",
        );
        for k in 0..24 {
            let e = eye.map(|v| v.to_string()).join("\t");
            let right = if k == 5 { &away } else { &dir };
            t.push_str(&format!(
                "{}\tP01\t1920\t1080\tEye Tracker\t{px:.0}\t{py:.0}\t{px:.0}\t{py:.0}\tValid\tValid\t{e}\t{e}\t{dir}\t{right}\n",
                k * 8333
            ));
        }
        let (_, rec) = run("prolab.tsv", &t, mm_only()).unwrap();
        let g = &rec.gaze[0].left;
        let user_x = f64::from(g.gaze3d_mm[0]) - f64::from(g.origin_mm[0]);
        assert!((user_x - (target[0] - eye[0])).abs() < 0.01, "{user_x}");
        let pixel_x = (px.round() * 531.0 / 1920.0) - eye[0];
        assert!((user_x - pixel_x).abs() > 0.1, "{user_x} {pixel_x}");
        assert_eq!(g.gaze_x, (px.round() / 1920.0) as f32);
        let r = &rec.gaze[5].right;
        let from_pixels = f64::from(r.gaze3d_mm[0]) - f64::from(r.origin_mm[0]);
        assert!((from_pixels - pixel_x).abs() < 1e-3, "{from_pixels}");
    }

    #[test]
    fn two_recordings_of_one_participant_are_two_recordings() {
        let text = two_recordings_of_one_participant("Tobii I-VT (Fixation)");
        let opts = with_distance();
        let (reports, recs, _dir) = run_with("eyet.csv", &text, &opts).unwrap();
        assert_eq!(reports.len(), 2);
        let names: Vec<String> = reports
            .iter()
            .map(|r| r.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["P01_Recording1.h5", "P01_Recording2.h5"]);
        for (rec, x) in recs.iter().zip([100.5, 900.25]) {
            assert_eq!(rec.gaze.len(), 12, "{}", rec.header.session);
            assert_eq!(rec.header.sampling_hz, 120.0);
            assert!(rec
                .gaze
                .iter()
                .all(|g| g.left.gaze_x == (x / 1920.0) as f32));
            assert_eq!(rec.header.source_software, "Tobii Pro Lab 1.145.28180");
            assert_eq!(rec.header.source_fixation_filter, "Tobii I-VT (Fixation)");
        }
        assert_eq!(
            (
                recs[0].header.session.as_str(),
                recs[1].header.session.as_str()
            ),
            ("Recording1", "Recording2")
        );
        assert!(reports
            .iter()
            .all(|r| r.duplicates_dropped == 0 && r.warnings.is_empty()));
        // One file named for it is refused: two recordings need a folder.
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("eyet.csv");
        std::fs::write(&input, &text).unwrap();
        let e = import(&input, &dir.path().join("one.h5"), &opts).unwrap_err();
        assert!(
            e.to_string().contains("P01 / Recording1, P01 / Recording2"),
            "{e}"
        );
    }

    /// Legacy Pro Lab exports write `Recording timestamp` without a unit in ms, later ones in
    /// µs: the stamps tell which (8.3 vs 8333 apart at 120 Hz), a rate that contradicts them
    /// is refused, and stamps that cannot tell are refused naming `--time-unit`.
    #[test]
    fn a_unitless_pro_lab_time_column_is_read_in_the_unit_its_stamps_show() {
        let export = |step: f64| {
            let mut t = String::from("Recording timestamp\tSensor\tGaze point X\tGaze point Y\tValidity left\tValidity right\n");
            for k in 0..24 {
                t.push_str(&format!(
                    "{}\tEye Tracker\t960\t540\tValid\tValid\n",
                    k as f64 * step
                ));
            }
            t
        };
        let opts = || ImportOptions {
            screen: ScreenGeometry::default().into(),
            ..ImportOptions::default()
        };
        for step in [8.333, 8333.0] {
            let (r, rec) = run(
                "legacy.tsv",
                &export(step),
                ScreenGeometry::default().into(),
            )
            .unwrap_or_else(|e| panic!("step {step}: {e}"));
            assert_eq!(r.sampling_hz, 120.0, "step {step}");
            assert_eq!(rec.gaze[3].system_ts_us, 24_999, "step {step}");
        }
        // A rate the stamps contradict (the old advice for ms read as µs).
        let mut wrong = opts();
        wrong.time_unit = Some(TimeUnit::Us);
        wrong.sampling_hz = Some(120.0);
        let e = run_with("legacy.tsv", &export(8.333), &wrong)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--sampling-hz 120 does not fit the time stamps"),
            "{e}"
        );
        // 0.3 ms or 300 ms apart: neither a tracker's rate.
        let e = run_with("odd.tsv", &export(300.0), &opts())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--time-unit ms or --time-unit us"), "{e}");
        let mut given = opts();
        given.time_unit = Some(TimeUnit::Ms);
        given.sampling_hz = Some(3.333);
        let (r, _, _d) = run_with("odd.tsv", &export(300.0), &given).unwrap();
        assert_eq!(r[0].samples, 24);
    }

    #[test]
    fn labels_of_another_filter_are_said_to_be_not_comparable() {
        let text = two_recordings_of_one_participant("Tobii I-VT (Attention)");
        let opts = with_distance();
        let (reports, recs, _dir) = run_with("eyet.csv", &text, &opts).unwrap();
        let w = &reports[0].warnings;
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("'Tobii I-VT (Attention)'"), "{w:?}");
        assert!(recs[0].events.iter().any(|e| e.text == w[0]));
    }

    /// `--out` means one thing for any number of participants: a trailing slash or an
    /// existing folder is a folder to put `<participant>.h5` in; a name is the file, with
    /// `.h5` added when it has none.
    #[test]
    fn out_is_a_folder_with_a_slash_and_a_file_with_h5_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("p7.csv");
        std::fs::write(
            &input,
            "time,x,y\n0,960,540\n8.333,961,540\n16.667,962,540\n",
        )
        .unwrap();
        let opts = ImportOptions {
            screen: full_screen(),
            ..ImportOptions::default()
        };
        let folder = format!("{}/new/", dir.path().display());
        let r = import(&input, Path::new(&folder), &opts).unwrap();
        assert_eq!(r[0].path, dir.path().join("new").join("p7.h5"));
        let r = import(&input, &dir.path().join("named"), &opts).unwrap();
        assert_eq!(r[0].path, dir.path().join("named.h5"));
        assert!(Recording::open(&r[0].path).is_ok());
    }

    /// Tobii Studio's mouse and key rows carry validity codes but no gaze point: they are
    /// events with their data, never samples, so the real sample of the same millisecond stays.
    #[test]
    fn studio_mouse_and_key_rows_are_events_that_push_no_sample_out() {
        let head = "ParticipantName\tRecordingResolution\tRecordingTimestamp\tStudioEvent\tStudioEventData\tGazePointLeftX (ADCSpx)\tGazePointLeftY (ADCSpx)\tGazePointRightX (ADCSpx)\tGazePointRightY (ADCSpx)\tValidityLeft\tValidityRight\n";
        let mut t = String::from(head);
        for k in 0..30 {
            let ms = k * 50 / 3;
            if k == 10 {
                t.push_str(&format!(
                    "P01\t1920 x 1080\t{ms}\tLeftMouseClick\t512,384\t\t\t\t\t4\t4\n"
                ));
            }
            if k == 20 {
                t.push_str(&format!(
                    "P01\t1920 x 1080\t{ms}\tKeyPress\tSpace\t\t\t\t\t4\t4\n"
                ));
            }
            t.push_str(&format!(
                "P01\t1920 x 1080\t{ms}\t\t\t960\t540\t960\t540\t0\t0\n"
            ));
        }
        let opts = ImportOptions {
            screen: ScreenInput {
                viewing_distance_mm: Some(650.0),
                ..mm_only()
            },
            ..ImportOptions::default()
        };
        let (r, recs, _dir) = run_with("studio.tsv", &t, &opts).unwrap();
        assert_eq!(
            (r[0].samples, r[0].valid_samples, r[0].duplicates_dropped),
            (30, 30, 0)
        );
        let texts: Vec<&str> = recs[0].events.iter().map(|e| e.text.as_str()).collect();
        assert!(texts.contains(&"LeftMouseClick (512,384)"), "{texts:?}");
        assert!(texts.contains(&"KeyPress (Space)"), "{texts:?}");
    }

    /// Pro Lab's `ImageStimulusStart`/`End` events (stamped when the image was shown) mark the
    /// interval, not its first and last samples; intervals without them keep the samples'.
    #[test]
    fn stimulus_intervals_start_and_end_at_the_exports_own_events() {
        let mut t = String::from("Recording timestamp [μs]\tSensor\tEvent\tPresented Stimulus name\tGaze point X\tGaze point Y\tValidity left\tValidity right\n");
        t.push_str("996000\t\tImageStimulusStart\t\t\t\t\t\n");
        for k in 0..120i64 {
            let media = if k < 60 { "faceA" } else { "faceB" };
            t.push_str(&format!(
                "{}\tEye Tracker\t\t{media}\t960\t540\tValid\tValid\n",
                1_000_000 + k * 8333
            ));
            if k == 59 {
                t.push_str("1495000\t\tImageStimulusEnd\t\t\t\t\t\n");
            }
        }
        let (_, rec) = run("ends.tsv", &t, full_screen()).unwrap();
        let (a, b) = (&rec.trials[0], &rec.trials[1]);
        assert_eq!((a.onset_us, a.offset_us), (996_000, 1_495_000));
        // faceB has no events of its own: its first sample, and its last plus one period.
        assert_eq!(
            (b.onset_us, b.offset_us),
            (1_000_000 + 60 * 8333, 1_000_000 + 120 * 8333)
        );
    }

    /// Missing gaze as pandas, MATLAB and R write it is a lost sample, not an error.
    #[test]
    fn nan_and_na_in_gaze_columns_are_lost_samples() {
        let (r, rec) = run(
            "p8.csv",
            "time,x,y\n0,960,540\n8.333,NaN,NaN\n16.667,nan,NA\n25,N/A,\n33.333,0,1080\n",
            full_screen(),
        )
        .unwrap();
        assert_eq!((r.samples, r.valid_samples), (5, 2));
        assert!(rec.gaze[1..4].iter().all(|g| !g.left.gaze_valid));
        let e = run("p9.csv", "time,x,y\n0,inf,540\n", full_screen()).unwrap_err();
        assert!(
            e.to_string().contains("'inf' is not a finite number"),
            "{e}"
        );
    }

    #[test]
    fn plain_csv() {
        let (r, rec) = run(
            "p7.csv",
            "time,x,y\n0,960,540\n8.333,,\n16.667,0,1080\n",
            full_screen(),
        )
        .unwrap();
        assert_eq!(r.format, ImportFormat::Csv);
        assert_eq!((r.samples, r.valid_samples), (3, 2));
        assert_eq!(rec.header.participant, "p7");
        assert_eq!(r.sampling_hz, 120.0);
        assert_eq!(rec.gaze[0].left.gaze_x, 0.5);
        assert!(!rec.gaze[1].left.gaze_valid && rec.gaze[1].left.gaze_x.is_nan());
        assert_eq!(
            (rec.gaze[2].system_ts_us, rec.gaze[2].right.gaze_y),
            (16_667, 1.0)
        );
    }

    /// The export variants accepted, each a file written in its tool's documented layout
    /// (`testdata/make_fixtures.py`): what each must give.
    #[test]
    fn every_export_variant_imports_without_hand_edits() {
        struct Case {
            file: &'static str,
            text: &'static str,
            format: ImportFormat,
            participants: &'static [&'static str],
            hz: f64,
            screen_px: (u32, u32),
            samples: usize,
            trials: &'static [(&'static str, [f32; 4])],
        }
        // Both Studio files hold the same two media, both Pro Lab files the same one.
        const STUDIO_TRIALS: &[(&str, [f32; 4])] = &[
            ("face1.png", [240.0, 112.0, 800.0, 800.0]),
            ("face2.png", [240.0, 112.0, 800.0, 800.0]),
        ];
        const PRO_LAB_TRIALS: &[(&str, [f32; 4])] = &[("face.png", [560.0, 140.0, 800.0, 800.0])];
        let cases = [
            Case {
                file: "studio.tsv",
                text: include_str!("testdata/studio.tsv"),
                format: ImportFormat::TobiiStudio,
                participants: &["P01", "P02"],
                hz: 300.0,
                screen_px: (1280, 1024),
                samples: 360,
                trials: STUDIO_TRIALS,
            },
            Case {
                file: "studio.csv",
                text: include_str!("testdata/studio.csv"),
                format: ImportFormat::TobiiStudio,
                participants: &["P01", "P02"],
                hz: 300.0,
                screen_px: (1280, 1024),
                samples: 360,
                trials: STUDIO_TRIALS,
            },
            Case {
                file: "prolab.tsv",
                text: include_str!("testdata/prolab.tsv"),
                format: ImportFormat::TobiiProLab,
                participants: &["P07"],
                hz: 120.0,
                screen_px: (1920, 1080),
                samples: 240,
                trials: PRO_LAB_TRIALS,
            },
            Case {
                file: "prolab_comma.tsv",
                text: include_str!("testdata/prolab_comma.tsv"),
                format: ImportFormat::TobiiProLab,
                participants: &["P07"],
                hz: 120.0,
                screen_px: (1920, 1080),
                samples: 240,
                trials: PRO_LAB_TRIALS,
            },
            Case {
                file: "plain.csv",
                text: include_str!("testdata/plain.csv"),
                format: ImportFormat::Csv,
                participants: &["plain"],
                hz: 60.0,
                screen_px: (1920, 1080),
                samples: 120,
                trials: &[],
            },
        ];
        for c in cases {
            let screen = if c.format == ImportFormat::Csv {
                full_screen()
            } else {
                mm_only()
            };
            let opts = ImportOptions {
                screen,
                ..ImportOptions::default()
            };
            let (reports, recs, _dir) =
                run_with(c.file, c.text, &opts).unwrap_or_else(|e| panic!("{}: {e}", c.file));
            let names: Vec<&str> = reports.iter().map(|r| r.participant.as_str()).collect();
            assert_eq!(names, c.participants, "{}", c.file);
            for (r, rec) in reports.iter().zip(&recs) {
                assert_eq!(r.format, c.format, "{}", c.file);
                assert_eq!(
                    (r.sampling_hz, r.rate_source),
                    (c.hz, RateSource::Estimated),
                    "{}",
                    c.file
                );
                assert_eq!(
                    (rec.header.screen.width_px, rec.header.screen.height_px),
                    c.screen_px,
                    "{}",
                    c.file
                );
                assert_eq!(r.samples, c.samples, "{}", c.file);
                let trials: Vec<(&str, [f32; 4])> = rec
                    .trials
                    .iter()
                    .map(|t| (t.stimulus_id.as_str(), t.image_rect))
                    .collect();
                assert_eq!(trials, c.trials, "{}", c.file);
                assert!(rec.trials.iter().all(|t| t.offset_us > t.onset_us));
            }
        }
    }

    #[test]
    fn studio_export_reads_validity_eye_distance_and_events() {
        let opts = ImportOptions {
            screen: mm_only(),
            participant: Some("P02".into()),
            ..ImportOptions::default()
        };
        let (r, recs, _dir) =
            run_with("studio.tsv", include_str!("testdata/studio.tsv"), &opts).unwrap();
        let (r, rec) = (&r[0], &recs[0]);
        assert_eq!(r.participant, "P02");
        // Eye distance from the eye positions: 600 mm for P02.
        assert_eq!(rec.header.screen.viewing_distance_mm, 600.0);
        // Validity 4 for three samples of the left eye; right eye kept.
        assert!(!rec.gaze[50].left.gaze_valid && rec.gaze[50].right.gaze_valid);
        assert!(rec.gaze[49].left.gaze_valid);
        // Eye positions in user mm: (600 − 640, 20 + 1024·299/1280... ) from ADCS mm.
        let o = rec.gaze[0].left.origin_mm;
        assert!(rec.gaze[0].left.origin_valid);
        assert!((f64::from(o[0]) - (600.0 - 265.5)).abs() < 1e-3, "{o:?}");
        assert!((f64::from(o[2]) - 600.0).abs() < 1e-3);
        assert!(rec.gaze[0].left.gaze3d_mm[0].is_finite());
        // Gaze in px of the export's resolution.
        assert!((rec.gaze[0].right.gaze_x - 400.0 / 1280.0).abs() < 1e-6);
        // The ImageStart row is an event, not a sample.
        assert_eq!(r.events, 1);
        assert!(rec.events.iter().any(|e| e.text == "ImageStart"));
    }

    #[test]
    fn pro_lab_rows_of_other_sensors_and_events_are_not_samples() {
        let (r, rec) = run(
            "prolab.tsv",
            include_str!("testdata/prolab_comma.tsv"),
            mm_only(),
        )
        .unwrap();
        assert_eq!((r.samples, r.events), (240, 1));
        assert_eq!(rec.gaze[0].left.pupil_mm, 3.25);
        assert!(rec.gaze[7].left.gaze_valid && !rec.gaze[7].right.gaze_valid);
        assert_eq!(rec.gaze[0].left.gaze_x, 700.5 / 1920.0);
        assert_eq!(rec.header.screen.viewing_distance_mm, 650.0);
        // No `Recording software version`: which Pro Lab's rules apply is the user's to say.
        assert_eq!(rec.header.source_software, "Tobii Pro Lab");
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(r.warnings[0].contains("preset = \"tobii-pro-lab-1\""));
        assert!(rec.events.iter().any(|e| e.text == r.warnings[0]));
    }

    #[test]
    fn several_participants_need_a_folder_or_a_pick() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("s.tsv");
        std::fs::write(&input, include_str!("testdata/studio.tsv")).unwrap();
        let file = dir.path().join("taken.h5");
        std::fs::write(&file, "x").unwrap();
        let opts = ImportOptions {
            screen: mm_only(),
            ..ImportOptions::default()
        };
        let e = import(&input, &file, &opts).unwrap_err().to_string();
        assert!(e.contains("holds 2 recordings (P01, P02)"), "{e}");
        // Nor a new name that reads as one recording: it would become a folder called x.h5.
        let named = dir.path().join("both.h5");
        let e = import(&input, &named, &opts).unwrap_err().to_string();
        assert!(e.contains("must be a folder"), "{e}");
        assert!(!named.exists());
        let out = dir.path().join("recs");
        let r = import(&input, &out, &opts).unwrap();
        assert!(out.join("P01.h5").exists() && out.join("P02.h5").exists());
        assert_eq!(r.len(), 2);
        // Never overwritten: a second import into the folder writes nothing.
        let e = import(&input, &out, &opts).unwrap_err().to_string();
        assert!(e.contains("already exists"), "{e}");
        let pick = ImportOptions {
            participant: Some("P09".into()),
            ..opts
        };
        let e = import(&input, &dir.path().join("p9.h5"), &pick)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no rows of participant 'P09' (the export has: P01, P02)"),
            "{e}"
        );
    }

    #[test]
    fn participants_whose_file_names_would_clash_are_refused_before_writing() {
        let text = "ParticipantName\tRecordingTimestamp\tGazePointX\tGazePointY\n\
                    P 1\t0\t1\t2\nP 1\t8\t1\t2\nP/1\t0\t1\t2\nP/1\t8\t1\t2\n";
        let opts = ImportOptions {
            screen: full_screen(),
            ..ImportOptions::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("c.tsv");
        std::fs::write(&input, text).unwrap();
        let out = dir.path().join("recs");
        let e = import(&input, &out, &opts).unwrap_err().to_string();
        assert!(e.contains("would share the file name"), "{e}");
        assert!(!out.exists());
    }

    /// The last participant's rows cannot be imported (one sample: no rate): the first
    /// participants' recordings must not be left behind as if the import had worked.
    #[test]
    fn a_participant_that_cannot_be_imported_leaves_no_recordings_of_the_others() {
        let text = "ParticipantName\tRecordingTimestamp\tGazePointX\tGazePointY\n\
                    A\t0\t1\t2\nA\t8\t1\t2\nA\t17\t1\t2\nZ\t0\t1\t2\n";
        let opts = ImportOptions {
            screen: full_screen(),
            ..ImportOptions::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("two.tsv");
        std::fs::write(&input, text).unwrap();
        let out = dir.path().join("recs");
        let e = import(&input, &out, &opts).unwrap_err().to_string();
        assert!(
            e.contains("participant 'Z'") && e.contains("sampling rate"),
            "{e}"
        );
        assert!(
            !out.exists(),
            "{:?}",
            std::fs::read_dir(&out).map(|d| d.count())
        );
        // Into a folder that exists: nothing of this import stays in it either.
        std::fs::create_dir(&out).unwrap();
        assert!(import(&input, &out, &opts).is_err());
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_geometry_is_named_never_defaulted() {
        let e = run("p.csv", "time,x,y\n0,1,2\n8,1,2\n", ScreenInput::default())
            .unwrap_err()
            .to_string();
        for want in [
            "screen width in px",
            "screen height in mm",
            "viewing distance in mm",
        ] {
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn mm_and_normalised_gaze_are_converted() {
        let (_, rec) = run(
            "mm.csv",
            "time,x [mm],y [mm]\n0,265.5,149.5\n8.333,0,0\n",
            full_screen(),
        )
        .unwrap();
        assert_eq!(rec.gaze[0].left.gaze_x, 0.5);
        let (_, rec) = run(
            "n.tsv",
            "RecordingTimestamp\tGazePointX (ADCS)\tGazePointY (ADCS)\n0\t0.25\t0.75\n8\t0.3\t0.7\n",
            full_screen(),
        )
        .unwrap();
        assert_eq!(rec.gaze[0].left.gaze_x, 0.25);
    }

    #[test]
    fn a_sample_written_twice_is_dropped_with_a_count() {
        let (r, rec) = run(
            "d.csv",
            "time,x,y\n0,1,2\n8.333,1,2\n8.333,1,2\n16.667,1,2\n",
            full_screen(),
        )
        .unwrap();
        assert_eq!(
            (r.samples, r.duplicates_dropped, r.sampling_hz),
            (3, 1, 120.0)
        );
        assert!(rec
            .events
            .iter()
            .any(|e| e.text.contains("1 rows with a time stamp")));
    }

    /// A Studio export of a 1200 Hz tracker in whole ms: the recording time repeats, the
    /// tracker's µs stamps tell the samples apart, order them and give the rate.
    fn studio_1200_hz(device_of: impl Fn(i64) -> i64) -> String {
        let mut t = String::from(
            "ParticipantName\tRecordingResolution\tRecordingTimestamp\tEyeTrackerTimestamp\tGazePointLeftX (ADCSpx)\tGazePointLeftY (ADCSpx)\tGazePointRightX (ADCSpx)\tGazePointRightY (ADCSpx)\tValidityLeft\tValidityRight\n",
        );
        // Written out of order within each millisecond, as the tracker's stamps show.
        let mut rows: Vec<i64> = (0..1200).collect();
        for pair in rows.chunks_mut(2) {
            pair.reverse();
        }
        for k in rows {
            let device = 5_000_000 + k * 1_000_000 / 1200;
            let x = 400 + k % 13;
            t.push_str(&format!(
                "P01\t1280 x 1024\t{}\t{}\t{x}\t500\t{x}\t500\t0\t0\n",
                (device - 5_000_000) / 1000,
                device_of(device)
            ));
        }
        t
    }

    #[test]
    fn whole_ms_stamps_above_1000_hz_are_timed_by_the_trackers_stamps() {
        let at = ScreenInput {
            viewing_distance_mm: Some(650.0),
            ..mm_only()
        };
        let (r, rec) = run("s.tsv", &studio_1200_hz(|d| d), at).unwrap();
        assert_eq!(
            (r.samples, r.duplicates_dropped, r.sampling_hz),
            (1200, 0, 1200.0)
        );
        let ts: Vec<i64> = rec.gaze.iter().map(|g| g.system_ts_us).collect();
        assert!(
            ts.windows(2).all(|w| w[1] > w[0]),
            "in order, none repeated"
        );
        // The first sample keeps its recording time; the rest follow the tracker's clock.
        assert_eq!(ts[0], 0);
        assert_eq!(ts[1], 833);
        assert_eq!(rec.gaze[1].device_ts_us, 5_000_833);
        assert_eq!(rec.gaze[1].left.gaze_x, 401.0 / 1280.0);
        assert!(rec
            .events
            .iter()
            .any(|e| e.text.starts_with("samples timed by the tracker")));
        // A column that is not the tracker's µs clock (here in ns) is named, never rescaled.
        let e = run("s.tsv", &studio_1200_hz(|d| d * 1000), at)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("column 'EyeTrackerTimestamp' spans 999.166 s where the recording time spans 0.999 s"),
            "{e}"
        );
    }

    /// Two different samples at one time stamp: two recordings merged, or a unit too coarse.
    #[test]
    fn different_samples_at_one_time_are_an_error_naming_both_lines() {
        let e = run(
            "d.csv",
            "time,x,y\n0,1,2\n8.333,1,2\n8.333,5,5\n16.667,1,2\n",
            full_screen(),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("d.csv") && e.contains("lines 3 and 4 hold different samples"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_are_errors_naming_file_line_and_column() {
        let cases = [
            (
                "time,x,y\n0,1,2\n1e300,1,2\n",
                "line 3, column 'time': time stamp",
            ),
            (
                "time,x,y\n0,1,2\nnoon,1,2\n",
                "line 3, column 'time': 'noon' is not a number",
            ),
            ("time,x,y\n0,1e300,2\n", "line 2, column 'x': gaze"),
            (
                "time,x,y\n0,inf,2\n",
                "column 'x': 'inf' is not a finite number",
            ),
            (
                "time,x,y\n0,1,2\n8,3,25,4\n",
                "line 3: 4 fields where the header has 3",
            ),
            ("when,x,y\n1,2,3\n", "missing column 'time'"),
            ("time,x,y\n5,1,2\n5,1,2\n", "sampling rate cannot be told"),
        ];
        for (text, want) in cases {
            let e = run("bad.csv", text, full_screen())
                .err()
                .unwrap_or_else(|| panic!("accepted: {text}"))
                .to_string();
            assert!(e.contains("bad.csv") && e.contains(want), "{e}");
        }
        let pl = "Recording timestamp [μs]\tGaze point X\tGaze point Y\n-9e18\t1\t2\n";
        let e = run("pl.tsv", pl, full_screen()).unwrap_err().to_string();
        assert!(
            e.contains("line 2, column 'Recording timestamp [μs]'"),
            "{e}"
        );
        let e = run(
            "s.tsv",
            "Recording timestamp\tSomething\n1\t2\n",
            full_screen(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("missing column 'GazePointX' (found: Recording timestamp, Something)"),
            "{e}"
        );
    }
}
