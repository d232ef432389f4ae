//! Recording format v1 (`recording/FORMAT.md`, checked against this file by `doc_tests`):
//! dataset rows and root attributes.
//! Names here are a contract with h5py, MATLAB and our tests; never rename or drop one without
//! raising `FORMAT_VERSION`.

use et_drivers::{EyeSample, GazeSample, ScreenGeometry};
use hdf5::types::FixedUnicode;
use hdf5::H5Type;

pub const FORMAT_NAME: &str = "et-suite-recording";
pub const FORMAT_VERSION: u32 = 1;

pub const GAZE: &str = "gaze";
pub const EVENTS: &str = "events";
pub const TRIALS: &str = "trials";
pub const FRAMES: &str = "frames";
pub const VALIDATION: &str = "validation";
/// Clock pairs of a session that streamed over the Lab Streaming Layer (`LslClockRow`).
pub const LSL_CLOCK: &str = "lsl_clock";
pub const STIMULI_GROUP: &str = "stimuli";

/// Event kinds the format names.
pub mod kind {
    pub const TRIAL_START: &str = "trial_start";
    pub const STIMULUS_ONSET: &str = "stimulus_onset";
    pub const STIMULUS_OFFSET: &str = "stimulus_offset";
    /// The session was aborted while the trial's image was shown: its `/trials` row holds the
    /// time it was on screen, shorter than planned.
    pub const TRIAL_ABORTED: &str = "trial_aborted";
    pub const FIXATION_CROSS_ONSET: &str = "fixation_cross_onset";
    pub const MARKER: &str = "marker";
    pub const CALIBRATION: &str = "calibration";
    pub const VALIDATION: &str = "validation";
    pub const TRACKER_LOST: &str = "tracker_lost";
    pub const TRACKER_BACK: &str = "tracker_back";
    pub const SAMPLES_DROPPED: &str = "samples_dropped";
    /// A replayed recording has no more samples: what follows is the end of the data, not
    /// a tracker that fell silent.
    pub const REPLAY_END: &str = "replay_end";
    /// A marker received from an outside LSL stream (`run --lsl-markers`): the text is the
    /// sample, the time its sender's stamp on the tracker's clock.
    pub const LSL_MARKER: &str = "lsl_marker";
    /// The outside marker stream went away (its outlet closed or its machine left).
    pub const LSL_STREAM_LOST: &str = "lsl_stream_lost";
    /// The outside marker stream is back.
    pub const LSL_STREAM_BACK: &str = "lsl_stream_back";
    /// The LSL streams end: the text says how many gaze samples went out.
    pub const LSL_END: &str = "lsl_end";
    /// A consumer connected to the gaze outlet (`run --lsl`).
    pub const LSL_CONSUMER: &str = "lsl_consumer";
    pub const NOTE: &str = "note";
}

/// Words a `tracker_back` carries when the samples came late rather than not at all: silence
/// noticed live on a busy machine while their stamps leave no gap. Such a pair is not silence.
pub const SAMPLES_CAME_LATE: &str = "the samples came late";

// Fixed-length strings: appending rows under SWMR needs them. Lengths are in bytes (UTF-8).
pub type Kind = FixedUnicode<32>;
pub type Text = FixedUnicode<256>;
pub type Label = FixedUnicode<64>;
pub type Short = FixedUnicode<16>;

/// `s` cut to at most `N` bytes at a character boundary.
pub fn fixed<const N: usize>(s: &str) -> FixedUnicode<N> {
    let mut end = s.len().min(N);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    // The cut string always fits, so parsing cannot fail; fall back to empty if it did.
    s[..end].parse().unwrap_or_default()
}

#[derive(H5Type, Clone, Copy, Debug)]
#[repr(C)]
pub struct GazeRow {
    pub system_ts_us: i64,
    pub device_ts_us: i64,
    pub left_gaze_x: f32,
    pub left_gaze_y: f32,
    pub left_gaze_valid: u8,
    pub left_pupil_mm: f32,
    pub left_pupil_valid: u8,
    pub left_origin_x: f32,
    pub left_origin_y: f32,
    pub left_origin_z: f32,
    pub left_origin_valid: u8,
    pub left_gaze3d_x: f32,
    pub left_gaze3d_y: f32,
    pub left_gaze3d_z: f32,
    pub right_gaze_x: f32,
    pub right_gaze_y: f32,
    pub right_gaze_valid: u8,
    pub right_pupil_mm: f32,
    pub right_pupil_valid: u8,
    pub right_origin_x: f32,
    pub right_origin_y: f32,
    pub right_origin_z: f32,
    pub right_origin_valid: u8,
    pub right_gaze3d_x: f32,
    pub right_gaze3d_y: f32,
    pub right_gaze3d_z: f32,
}

impl From<&GazeSample> for GazeRow {
    fn from(s: &GazeSample) -> Self {
        let (l, r) = (&s.left, &s.right);
        GazeRow {
            system_ts_us: s.system_ts_us,
            device_ts_us: s.device_ts_us,
            left_gaze_x: l.gaze_x,
            left_gaze_y: l.gaze_y,
            left_gaze_valid: u8::from(l.gaze_valid),
            left_pupil_mm: l.pupil_mm,
            left_pupil_valid: u8::from(l.pupil_valid),
            left_origin_x: l.origin_mm[0],
            left_origin_y: l.origin_mm[1],
            left_origin_z: l.origin_mm[2],
            left_origin_valid: u8::from(l.origin_valid),
            left_gaze3d_x: l.gaze3d_mm[0],
            left_gaze3d_y: l.gaze3d_mm[1],
            left_gaze3d_z: l.gaze3d_mm[2],
            right_gaze_x: r.gaze_x,
            right_gaze_y: r.gaze_y,
            right_gaze_valid: u8::from(r.gaze_valid),
            right_pupil_mm: r.pupil_mm,
            right_pupil_valid: u8::from(r.pupil_valid),
            right_origin_x: r.origin_mm[0],
            right_origin_y: r.origin_mm[1],
            right_origin_z: r.origin_mm[2],
            right_origin_valid: u8::from(r.origin_valid),
            right_gaze3d_x: r.gaze3d_mm[0],
            right_gaze3d_y: r.gaze3d_mm[1],
            right_gaze3d_z: r.gaze3d_mm[2],
        }
    }
}

impl From<&GazeRow> for GazeSample {
    fn from(r: &GazeRow) -> Self {
        GazeSample {
            system_ts_us: r.system_ts_us,
            device_ts_us: r.device_ts_us,
            left: EyeSample {
                gaze_x: r.left_gaze_x,
                gaze_y: r.left_gaze_y,
                gaze_valid: r.left_gaze_valid != 0,
                pupil_mm: r.left_pupil_mm,
                pupil_valid: r.left_pupil_valid != 0,
                origin_mm: [r.left_origin_x, r.left_origin_y, r.left_origin_z],
                origin_valid: r.left_origin_valid != 0,
                gaze3d_mm: [r.left_gaze3d_x, r.left_gaze3d_y, r.left_gaze3d_z],
            },
            right: EyeSample {
                gaze_x: r.right_gaze_x,
                gaze_y: r.right_gaze_y,
                gaze_valid: r.right_gaze_valid != 0,
                pupil_mm: r.right_pupil_mm,
                pupil_valid: r.right_pupil_valid != 0,
                origin_mm: [r.right_origin_x, r.right_origin_y, r.right_origin_z],
                origin_valid: r.right_origin_valid != 0,
                gaze3d_mm: [r.right_gaze3d_x, r.right_gaze3d_y, r.right_gaze3d_z],
            },
        }
    }
}

/// Declares a table's row once: the row as it is written (every field, in the file's order)
/// and, from the same lines, the parts the reader reads by field name from files of any age
/// and string kind. Each field is tagged: `numbers` (every version holds it), `later` and
/// `latest` (numbers added by later versions, read where present), `text` (a string, read on
/// its own in whatever string kind the file holds: `foreign.rs`).
macro_rules! row_layout {
    ($(#[$meta:meta])* $row:ident { $($body:tt)* } parts $numbers:ident $(, $later:ident $(, $latest:ident)?)?) => {
        row_layout!(@munch [$(#[$meta])* $row] [$numbers] [$($later)?] [$($($latest)?)?] [] [] [] [] $($body)*);
    };
    (@munch $head:tt $n:tt $l:tt $t:tt $all:tt $nf:tt $lf:tt $tf:tt) => {
        row_layout!(@row $head $all);
        row_layout!(@part $n $nf);
        row_layout!(@part $l $lf);
        row_layout!(@part $t $tf);
    };
    (@munch $head:tt $n:tt $l:tt $t:tt [$($all:tt)*] $nf:tt $lf:tt $tf:tt text $f:ident: $ty:ty, $($rest:tt)*) => {
        row_layout!(@munch $head $n $l $t [$($all)* pub $f: $ty,] $nf $lf $tf $($rest)*);
    };
    (@munch $head:tt $n:tt $l:tt $t:tt [$($all:tt)*] [$($nf:tt)*] $lf:tt $tf:tt numbers $f:ident: $ty:ty, $($rest:tt)*) => {
        row_layout!(@munch $head $n $l $t [$($all)* pub $f: $ty,] [$($nf)* pub $f: $ty,] $lf $tf $($rest)*);
    };
    (@munch $head:tt $n:tt $l:tt $t:tt [$($all:tt)*] $nf:tt [$($lf:tt)*] $tf:tt later $f:ident: $ty:ty, $($rest:tt)*) => {
        row_layout!(@munch $head $n $l $t [$($all)* pub $f: $ty,] $nf [$($lf)* pub $f: $ty,] $tf $($rest)*);
    };
    (@munch $head:tt $n:tt $l:tt $t:tt [$($all:tt)*] $nf:tt $lf:tt [$($tf:tt)*] latest $f:ident: $ty:ty, $($rest:tt)*) => {
        row_layout!(@munch $head $n $l $t [$($all)* pub $f: $ty,] $nf $lf [$($tf)* pub $f: $ty,] $($rest)*);
    };
    (@row [$(#[$meta:meta])* $row:ident] [$($all:tt)*]) => {
        $(#[$meta])*
        #[derive(H5Type, Clone, Copy, Debug)]
        #[repr(C)]
        pub struct $row { $($all)* }
    };
    (@part [] $fields:tt) => {};
    (@part [$part:ident] [$($f:tt)*]) => {
        /// Part of a row, read by field name (declared with the row: `row_layout!`).
        #[derive(H5Type, Clone, Copy, Debug)]
        #[repr(C)]
        pub struct $part { $($f)* }
    };
}

row_layout! {
    /// One `/events` row.
    EventRow {
        numbers ts_us: i64,
        text kind: Kind,
        numbers trial: i32,
        text text: Text,
    }
    parts EventNums
}

row_layout! {
    /// One `/trials` row; the sample counts came with a later version.
    TrialRow {
        numbers trial: i32,
        text stimulus_id: Label,
        text identity: Label,
        text condition: Label,
        text variant: Short,
        text expression: Short,
        numbers onset_us: i64,
        numbers offset_us: i64,
        numbers frames: u32,
        numbers dropped_frames: u32,
        numbers image_x: f32,
        numbers image_y: f32,
        numbers image_w: f32,
        numbers image_h: f32,
        later samples_expected: u32,
        later samples_received: u32,
        later samples_valid: u32,
    }
    parts TrialNums, TrialSampleCounts
}

#[derive(H5Type, Clone, Copy, Debug)]
#[repr(C)]
pub struct FrameRow {
    pub ts_us: i64,
    pub trial: i32,
}

row_layout! {
    /// One `/validation` row; the mean gaze and then the collection window came with later
    /// versions.
    ValidationRow {
        numbers attempt: i32,
        text eye: Short,
        numbers target_x: f32,
        numbers target_y: f32,
        numbers accuracy_deg: f32,
        numbers precision_rms_deg: f32,
        numbers precision_sd_deg: f32,
        numbers data_loss: f32,
        later mean_gaze_x: f32,
        later mean_gaze_y: f32,
        latest window_start_us: i64,
        latest window_end_us: i64,
    }
    parts ValidationNums, ValidationMeans, ValidationWindow
}

/// One `/lsl_clock` row: a clock pair measured during the session. For this machine's LSL
/// clock (`stream` empty), `lsl_s` is LSL's local clock when the tracker's clock read `ts_us`
/// and `offset_s` = `lsl_s` − `ts_us`/10⁶; for an outside stream (`stream` its name),
/// `offset_s` is LSL's `time_correction`: add it to that stream's stamps for local LSL time.
#[derive(H5Type, Clone, Copy, Debug)]
#[repr(C)]
pub struct LslClockRow {
    pub stream: Label,
    pub ts_us: i64,
    pub lsl_s: f64,
    pub offset_s: f64,
    pub uncertainty_s: f64,
}

/// One `/lsl_clock` row (`LslClockRow`).
#[derive(Debug, Clone, PartialEq)]
pub struct LslClockRecord {
    pub stream: String,
    pub ts_us: i64,
    pub lsl_s: f64,
    pub offset_s: f64,
    pub uncertainty_s: f64,
}

impl LslClockRecord {
    pub(crate) fn row(&self) -> LslClockRow {
        LslClockRow {
            stream: fixed(&self.stream),
            ts_us: self.ts_us,
            lsl_s: self.lsl_s,
            offset_s: self.offset_s,
            uncertainty_s: self.uncertainty_s,
        }
    }
    pub(crate) fn from_row(r: &LslClockRow) -> Self {
        LslClockRecord {
            stream: r.stream.as_str().into(),
            ts_us: r.ts_us,
            lsl_s: r.lsl_s,
            offset_s: r.offset_s,
            uncertainty_s: r.uncertainty_s,
        }
    }
}

/// One `/events` row.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub ts_us: i64,
    pub kind: String,
    /// −1 when the event belongs to no trial.
    pub trial: i32,
    pub text: String,
}

impl EventRecord {
    pub fn new(ts_us: i64, kind: &str, trial: i32, text: impl Into<String>) -> Self {
        EventRecord {
            ts_us,
            kind: kind.into(),
            trial,
            text: text.into(),
        }
    }
    /// The event as one line of text, `kind; trial N; text` (the trial only within one): how
    /// LSL's marker stream and BrainVision's markers carry it.
    pub fn as_marker(&self) -> String {
        let mut t = self.kind.clone();
        if self.trial >= 0 {
            t.push_str(&format!("; trial {}", self.trial));
        }
        if !self.text.is_empty() {
            t.push_str("; ");
            t.push_str(&self.text);
        }
        t
    }

    pub(crate) fn row(&self) -> EventRow {
        EventRow {
            ts_us: self.ts_us,
            kind: fixed(&self.kind),
            trial: self.trial,
            text: fixed(&self.text),
        }
    }
    pub(crate) fn from_row(r: &EventRow) -> Self {
        EventRecord {
            ts_us: r.ts_us,
            kind: r.kind.as_str().into(),
            trial: r.trial,
            text: r.text.as_str().into(),
        }
    }
}

/// The largest time stamp magnitude a recording may hold (µs): 2^53, exact in f64, and far
/// enough from i64's limits that no sum or difference of two overflows (about 285 years).
pub const MAX_ABS_TIME_US: i64 = 1 << 53;

/// The highest sampling rate a recording may state (Hz).
pub const MAX_SAMPLING_HZ: f64 = 10_000.0;

/// One `/trials` row: a presented stimulus.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialRecord {
    pub trial: i32,
    pub stimulus_id: String,
    pub identity: String,
    pub condition: String,
    pub variant: String,
    pub expression: String,
    pub onset_us: i64,
    pub offset_us: i64,
    pub frames: u32,
    pub dropped_frames: u32,
    /// Drawn image rectangle on screen, px: x, y, w, h.
    pub image_rect: [f32; 4],
    /// The gaze samples of the trial's stimulus span (zeros: unknown, e.g. a file written
    /// before they were recorded, or an import).
    pub samples: TrialSamples,
}

/// A trial's gaze samples from its onset to its offset: how many the tracker's rate promises,
/// how many came, and how many hold gaze from at least one eye.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrialSamples {
    pub expected: u32,
    pub received: u32,
    pub valid: u32,
}

impl TrialSamples {
    /// Whether the tracker delivered no sample at all while the trial was shown (false when
    /// the counts are unknown). A participant who looked away or blinked through a short
    /// trial still has samples (invalid ones): that is the exclusion rules' business, not a
    /// tracker fault.
    pub fn without_gaze(&self) -> bool {
        self.expected > 0 && self.received == 0
    }
}

impl TrialRecord {
    /// Trial `trial` showing `st` at `image_rect`, its times and frames still to be filled in
    /// (`TrialRecord { onset_us, .. TrialRecord::showing(..) }`).
    pub fn showing(trial: i32, st: &et_stimuli::Stimulus, image_rect: [f32; 4]) -> TrialRecord {
        TrialRecord {
            trial,
            stimulus_id: st.id.clone(),
            identity: st.identity.clone(),
            condition: st.condition.clone(),
            variant: st.variant.as_str().into(),
            expression: st.expression.as_str().into(),
            onset_us: 0,
            offset_us: 0,
            frames: 0,
            dropped_frames: 0,
            image_rect,
            samples: TrialSamples::default(),
        }
    }

    pub(crate) fn row(&self) -> TrialRow {
        TrialRow {
            trial: self.trial,
            stimulus_id: fixed(&self.stimulus_id),
            identity: fixed(&self.identity),
            condition: fixed(&self.condition),
            variant: fixed(&self.variant),
            expression: fixed(&self.expression),
            onset_us: self.onset_us,
            offset_us: self.offset_us,
            frames: self.frames,
            dropped_frames: self.dropped_frames,
            image_x: self.image_rect[0],
            image_y: self.image_rect[1],
            image_w: self.image_rect[2],
            image_h: self.image_rect[3],
            samples_expected: self.samples.expected,
            samples_received: self.samples.received,
            samples_valid: self.samples.valid,
        }
    }
    pub(crate) fn from_row(r: &TrialRow) -> Self {
        TrialRecord {
            trial: r.trial,
            stimulus_id: r.stimulus_id.as_str().into(),
            identity: r.identity.as_str().into(),
            condition: r.condition.as_str().into(),
            variant: r.variant.as_str().into(),
            expression: r.expression.as_str().into(),
            onset_us: r.onset_us,
            offset_us: r.offset_us,
            frames: r.frames,
            dropped_frames: r.dropped_frames,
            image_rect: [r.image_x, r.image_y, r.image_w, r.image_h],
            samples: TrialSamples {
                expected: r.samples_expected,
                received: r.samples_received,
                valid: r.samples_valid,
            },
        }
    }
}

/// One `/frames` row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameRecord {
    pub ts_us: i64,
    pub trial: i32,
}

/// One `/validation` row (one point, one eye).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationRecord {
    pub attempt: i32,
    pub eye: String,
    pub target_x: f32,
    pub target_y: f32,
    pub accuracy_deg: f32,
    pub precision_rms_deg: f32,
    pub precision_sd_deg: f32,
    pub data_loss: f32,
    /// The eye's mean gaze over the collection window, screen px (NaN without valid gaze; files
    /// written before this field read as NaN): where the eye landed, for the validation plot.
    pub mean_gaze_x: f32,
    pub mean_gaze_y: f32,
    /// The collection window `[start, end)` on the session clock, whose `/gaze` samples the
    /// figures were computed from (the validation plot draws them); 0, 0 in files written
    /// before these fields.
    pub window_start_us: i64,
    pub window_end_us: i64,
}

impl ValidationRecord {
    pub(crate) fn row(&self) -> ValidationRow {
        ValidationRow {
            attempt: self.attempt,
            eye: fixed(&self.eye),
            target_x: self.target_x,
            target_y: self.target_y,
            accuracy_deg: self.accuracy_deg,
            precision_rms_deg: self.precision_rms_deg,
            precision_sd_deg: self.precision_sd_deg,
            data_loss: self.data_loss,
            mean_gaze_x: self.mean_gaze_x,
            mean_gaze_y: self.mean_gaze_y,
            window_start_us: self.window_start_us,
            window_end_us: self.window_end_us,
        }
    }
    pub(crate) fn from_row(r: &ValidationRow) -> Self {
        ValidationRecord {
            attempt: r.attempt,
            eye: r.eye.as_str().into(),
            target_x: r.target_x,
            target_y: r.target_y,
            accuracy_deg: r.accuracy_deg,
            precision_rms_deg: r.precision_rms_deg,
            precision_sd_deg: r.precision_sd_deg,
            data_loss: r.data_loss,
            mean_gaze_x: r.mean_gaze_x,
            mean_gaze_y: r.mean_gaze_y,
            window_start_us: r.window_start_us,
            window_end_us: r.window_end_us,
        }
    }
}

/// The root attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingHeader {
    pub software_version: String,
    pub participant: String,
    pub session: String,
    pub created_utc: String,
    pub tracker_model: String,
    pub tracker_serial: String,
    pub sdk_version: String,
    pub sampling_hz: f64,
    pub screen: ScreenGeometry,
    pub stimulus_set: String,
    pub stimulus_set_sha256: String,
    pub complete: bool,
    // Beyond the contract's list (allowed: "add fields freely").
    pub counterbalance_version: String,
    pub trial_order_seed: u64,
    /// For an import: the software that recorded the export, as the export names it (e.g.
    /// "Tobii Pro Lab 1.145.28180"); empty for et-suite's own recordings. The I-VT preset
    /// `auto` classifies as that software does.
    pub source_software: String,
    /// For an import: the fixation filter the export's own labels came from (e.g. "Tobii I-VT
    /// (Fixation)"); empty when the export does not say.
    pub source_fixation_filter: String,
    /// Where the gaze came from: "tobii", "synthetic" (simulated), "replay" (a recording
    /// played again) or "import"; empty in files written before it was recorded.
    pub tracker_kind: String,
    /// Total time (ms) the tracker was silent during the session (`tracker_lost` to
    /// `tracker_back`, or to the end), written when the session ends; `None` when unknown (a
    /// file cut short, an import, a file written before it was recorded).
    pub tracker_silent_ms: Option<f64>,
}

impl RecordingHeader {
    /// "SIMULATED" or "REPLAYED" when `tracker_kind` says the gaze is not a participant's.
    pub fn not_live(&self) -> Option<&'static str> {
        match self.tracker_kind.as_str() {
            "synthetic" => Some("SIMULATED"),
            "replay" => Some("REPLAYED"),
            _ => None,
        }
    }

    /// A header stamped now, with this build's version.
    pub fn new(participant: &str, session: &str) -> Self {
        RecordingHeader {
            software_version: format!("et-suite {}", env!("CARGO_PKG_VERSION")),
            participant: participant.into(),
            session: session.into(),
            created_utc: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            tracker_model: String::new(),
            tracker_serial: String::new(),
            sdk_version: String::new(),
            sampling_hz: 0.0,
            screen: ScreenGeometry::default(),
            stimulus_set: String::new(),
            stimulus_set_sha256: String::new(),
            complete: false,
            counterbalance_version: String::new(),
            trial_order_seed: 0,
            source_software: String::new(),
            source_fixation_filter: String::new(),
            tracker_kind: String::new(),
            tracker_silent_ms: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_strings_cut_at_char_boundaries() {
        let s = "é".repeat(20); // 40 bytes
        let f: FixedUnicode<16> = fixed(&s);
        assert_eq!(f.as_str(), "é".repeat(8));
    }

    #[test]
    fn gaze_row_round_trips_bit_exact() {
        let mut s = GazeSample {
            system_ts_us: 5,
            device_ts_us: -7,
            left: EyeSample::INVALID,
            right: EyeSample::INVALID,
        };
        s.right.gaze_x = 0.25;
        s.right.gaze_valid = true;
        s.right.origin_mm = [1.0, 2.0, 3.0];
        let back = GazeSample::from(&GazeRow::from(&s));
        assert!(back.bit_eq(&s));
    }
}

/// FORMAT.md against the declarations: a dataset, field, root attribute or event kind added
/// here and not there (or the other way round) fails.
#[cfg(test)]
mod doc_tests {
    use super::*;
    use hdf5::types::TypeDescriptor;

    const DOC: &str = include_str!("../FORMAT.md");

    /// The names in backticks opening the rows of the table under the heading starting with
    /// `heading`.
    fn names_under(heading: &str) -> Vec<String> {
        let mut lines = DOC.lines().skip_while(|l| !l.starts_with(heading)).skip(1);
        let table = lines
            .by_ref()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'));
        table
            .skip(2)
            .filter_map(|row| row.split('`').nth(1).map(str::to_string))
            .collect()
    }

    fn fields<T: H5Type>() -> Vec<String> {
        match T::type_descriptor() {
            TypeDescriptor::Compound(c) => c.fields.iter().map(|f| f.name.clone()).collect(),
            other => panic!("not a compound row: {other:?}"),
        }
    }

    #[test]
    fn every_dataset_and_field_is_documented() {
        for (name, declared) in [
            (GAZE, fields::<GazeRow>()),
            (EVENTS, fields::<EventRow>()),
            (TRIALS, fields::<TrialRow>()),
            (FRAMES, fields::<FrameRow>()),
            (VALIDATION, fields::<ValidationRow>()),
            (LSL_CLOCK, fields::<LslClockRow>()),
        ] {
            let documented = names_under(&format!("### `/{name}`"));
            assert_eq!(documented, declared, "FORMAT.md's /{name} table");
        }
    }

    #[test]
    fn every_dataset_and_root_attribute_a_file_holds_is_documented() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doc.h5");
        let mut w =
            crate::writer::RecordingWriter::create(&path, &RecordingHeader::new("P", "1"), None)
                .unwrap();
        w.set_tracker_silent_ms(0.0);
        w.finish(true).unwrap();
        let f = hdf5::File::open(&path).unwrap();
        let mut datasets = f.member_names().unwrap();
        datasets.retain(|m| m != STIMULI_GROUP);
        let mut documented: Vec<String> = DOC
            .lines()
            .filter_map(|l| l.strip_prefix("### `/"))
            .filter_map(|l| l.split('`').next().map(str::to_string))
            .collect();
        datasets.sort();
        documented.sort();
        assert_eq!(datasets, documented, "FORMAT.md's datasets");
        let mut attrs = f.attr_names().unwrap();
        attrs.sort();
        let mut documented = names_under("## Root attributes");
        // Written by `recover` only.
        documented.retain(|a| a != "recovered_utc");
        documented.sort();
        assert_eq!(attrs, documented, "FORMAT.md's root attributes");
    }

    #[test]
    fn every_event_kind_is_documented() {
        let source = include_str!("format.rs");
        let module = source
            .split("pub mod kind {")
            .nth(1)
            .and_then(|m| m.split("\n}").next())
            .unwrap();
        let declared: Vec<String> = module
            .lines()
            .filter(|l| l.trim_start().starts_with("pub const"))
            .filter_map(|l| l.split('"').nth(1).map(str::to_string))
            .collect();
        let mut documented = names_under("## Event kinds");
        let mut declared_sorted = declared.clone();
        declared_sorted.sort();
        documented.sort();
        assert_eq!(documented, declared_sorted, "FORMAT.md's event kinds");
    }
}
