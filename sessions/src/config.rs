//! The study config (TOML): who, what, on which screen, with which timings and tracker.

use std::path::{Path, PathBuf};

pub use crate::silence::OnSilence;

use et_drivers::ScreenGeometry;
use et_files::{FileError, SettingError};
use serde::{Deserialize, Serialize};

use crate::attention::AttentionConfig;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timing {
    /// Fixation cross before each stimulus.
    pub fixation_ms: u32,
    /// Stimulus duration; presented as a whole number of refresh periods.
    pub stimulus_ms: u32,
    /// Blank screen after each stimulus.
    pub iti_ms: u32,
    /// Refresh rate of the (simulated) display.
    pub refresh_hz: f64,
}

impl Timing {
    /// How long one trial lasts as planned (fixation cross, stimulus, blank), µs.
    pub fn trial_us(&self) -> i64 {
        (i64::from(self.fixation_ms) + i64::from(self.stimulus_ms) + i64::from(self.iti_ms)) * 1000
    }
}

impl Default for Timing {
    /// The study's 7 s stimuli after a 1 s fixation cross, on a 60 Hz display.
    fn default() -> Self {
        Timing {
            fixation_ms: 1000,
            stimulus_ms: 7000,
            iti_ms: 500,
            refresh_hz: 60.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackerSettings {
    /// Which tracker records this study; `--tracker` overrides it. Without either, a session
    /// in the window is refused (a participant must never be recorded with simulated gaze by
    /// a forgotten flag) and a headless one uses the synthetic tracker.
    pub kind: Option<TrackerKind>,
    /// `kind = "tobii"`: the tracker at this address (e.g. `tet-tcp://169.254.10.20`) ...
    pub address: Option<String>,
    /// ... or with this serial number; neither: the first found.
    pub serial: Option<String>,
    /// `kind = "replay"`: the recording to replay, relative to the config file.
    pub replay: Option<PathBuf>,
    /// Sampling rate (Hz): the synthetic tracker's, or the gaze output frequency set on a
    /// Tobii tracker.
    pub sampling_hz: f64,
    /// Seed of the synthetic tracker; by default derived from the participant.
    pub seed: Option<u64>,
    /// The Tobii Pro SDK library (`libtobii_research.so`), relative to the config file.
    pub tobii_lib: Option<PathBuf>,
    /// No gaze sample for longer than this (ms, at least 80) is tracker silence: recorded as
    /// `tracker_lost` / `tracker_back` and acted on by `on_silence`.
    pub silence_ms: u32,
    /// What a session does when the tracker falls silent; by default `pause` in a window (the
    /// operator decides) and `continue` headless (nobody to decide: record and report).
    pub on_silence: Option<OnSilence>,
}

/// The kinds of tracker a study config can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackerKind {
    Tobii,
    Synthetic,
    Replay,
}

impl Default for TrackerSettings {
    fn default() -> Self {
        TrackerSettings {
            kind: None,
            address: None,
            serial: None,
            replay: None,
            sampling_hz: 120.0,
            seed: None,
            tobii_lib: None,
            silence_ms: crate::silence::MIN_SILENCE_MS,
            on_silence: None,
        }
    }
}

impl TrackerSettings {
    /// The keys that go with `kind` are given with it, and only with it.
    fn validate_choice(&self) -> std::result::Result<(), SettingError> {
        let tobii = self.kind == Some(TrackerKind::Tobii);
        if !tobii && (self.address.is_some() || self.serial.is_some()) {
            return Err(SettingError::new("tracker.address", "tracker.address and tracker.serial name a Tobii: they need tracker.kind = \"tobii\""));
        }
        if self.address.is_some() && self.serial.is_some() {
            return Err(SettingError::new(
                "tracker.address",
                "tracker.address and tracker.serial: give one, not both",
            ));
        }
        match (self.kind, &self.replay) {
            (Some(TrackerKind::Replay), None) => Err(SettingError::new(
                "tracker.replay",
                "tracker.kind = \"replay\" needs tracker.replay = \"RECORDING.h5\" (the recording to replay)",
            )),
            (Some(TrackerKind::Replay), Some(_)) | (_, None) => Ok(()),
            (_, Some(_)) => Err(SettingError::new("tracker.replay", "tracker.replay needs tracker.kind = \"replay\"")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StudyConfig {
    pub participant: String,
    pub session: String,
    /// Stimulus-set manifest, relative to the config file. Empty: the default set.
    pub stimulus_set: Option<PathBuf>,
    /// "A" or "B"; by default from the participant's number (odd A, even B).
    pub counterbalance: Option<String>,
    /// Seed of the trial order; by default derived from the participant.
    pub order_seed: Option<u64>,
    /// All five fields or none (the default monitor): see [`whole_screen`].
    #[serde(deserialize_with = "whole_screen")]
    pub screen: ScreenGeometry,
    pub timing: Timing,
    pub tracker: TrackerSettings,
    /// Only used by the synthetic tracker: where simulated participants look.
    pub attention: AttentionConfig,
    /// Serial event markers (`[markers] port = "/dev/ttyUSB0"`, `codes = { stimulus_onset = 1 }`).
    pub markers: Option<et_drivers::serial::MarkerConfig>,
    /// Calibration and validation before the first trial (`[calibration]`): on by default with
    /// the defaults of `CalibrationConfig`; `enabled = false` turns it off.
    pub calibration: crate::calibration::CalibrationConfig,
    /// The synthetic tracker's simulated calibration error.
    pub synthetic_calibration_error: Option<et_drivers::synthetic::CalibrationError>,
    /// The participant's window (`run` without `--headless`).
    pub display: DisplaySettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DisplaySettings {
    /// Borderless full screen (the monitor must be `[screen]`'s size); false: a window.
    pub fullscreen: bool,
    /// Which monitor (index in the system's list); absent: the primary one.
    pub monitor: Option<usize>,
    /// Colours and sizes of the cross, target and text.
    pub style: et_present::Style,
    /// Instruction, break and end screens.
    pub text: TextScreens,
}

impl Default for DisplaySettings {
    fn default() -> Self {
        DisplaySettings {
            fullscreen: true,
            monitor: None,
            style: et_present::Style::default(),
            text: TextScreens::default(),
        }
    }
}

impl Default for StudyConfig {
    fn default() -> Self {
        StudyConfig {
            participant: "P01".into(),
            session: "1".into(),
            stimulus_set: None,
            counterbalance: None,
            order_seed: None,
            screen: ScreenGeometry::default(),
            timing: Timing::default(),
            tracker: TrackerSettings::default(),
            attention: AttentionConfig::default(),
            markers: None,
            calibration: crate::calibration::CalibrationConfig::default(),
            synthetic_calibration_error: None,
            display: DisplaySettings::default(),
        }
    }
}

/// A stable 64-bit hash (FNV-1a) so seeds derived from ids do not change between builds.
pub fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl StudyConfig {
    /// The calibration to run before the first trial, if the config asks for one.
    pub fn calibration(&self) -> Option<&crate::calibration::CalibrationConfig> {
        self.calibration.enabled.then_some(&self.calibration)
    }

    pub fn load(path: &Path) -> Result<Self> {
        const WHAT: &str = "study config";
        let mut cfg: StudyConfig = et_files::toml_file::load(path, WHAT)?;
        let base = path.parent().unwrap_or(Path::new(""));
        for p in [
            &mut cfg.stimulus_set,
            &mut cfg.tracker.tobii_lib,
            &mut cfg.tracker.replay,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        cfg.validate().map_err(FileError::setting(path, WHAT))?;
        Ok(cfg)
    }

    /// Checks every value, including the bounds that keep work finite (stated in the README).
    pub fn validate(&self) -> std::result::Result<(), SettingError> {
        if self.participant.trim().is_empty() {
            return Err(SettingError::new(
                "participant",
                "participant must not be empty",
            ));
        }
        // The id names the recording's file: no path separators, nothing hidden.
        if self.participant.starts_with('.')
            || !self
                .participant
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(SettingError::new("participant", format!(
                "participant {:?} may hold only letters, digits, '-', '_' and '.' (not first): it names the recording's file",
                self.participant
            )));
        }
        self.screen.validate()?;
        let t = &self.timing;
        if !(t.refresh_hz.is_finite() && t.refresh_hz >= 1.0 && t.refresh_hz <= 1000.0) {
            return Err(SettingError::new(
                "timing.refresh_hz",
                format!(
                    "timing.refresh_hz must be between 1 and 1000, got {}",
                    t.refresh_hz
                ),
            ));
        }
        if t.stimulus_ms == 0 {
            return Err(SettingError::new(
                "timing.stimulus_ms",
                "timing.stimulus_ms must be positive",
            ));
        }
        // Bounded so a typo cannot make a session write until the disk is full.
        for (name, ms) in [
            ("stimulus_ms", t.stimulus_ms),
            ("fixation_ms", t.fixation_ms),
            ("iti_ms", t.iti_ms),
        ] {
            if ms > MAX_SCREEN_MS {
                return Err(SettingError::new(
                    format!("timing.{name}"),
                    format!("timing.{name} must be at most {MAX_SCREEN_MS} (10 minutes), got {ms}"),
                ));
            }
        }
        self.tracker.validate_choice()?;
        if self.tracker.silence_ms < crate::silence::MIN_SILENCE_MS {
            return Err(SettingError::new("tracker.silence_ms", format!(
                "tracker.silence_ms must be at least {} (below it a real tracker's delivery jitter passes for silence), got {}",
                crate::silence::MIN_SILENCE_MS,
                self.tracker.silence_ms
            )));
        }
        let hz = self.tracker.sampling_hz;
        if !(hz.is_finite() && (1.0..=et_recording::format::MAX_SAMPLING_HZ).contains(&hz)) {
            return Err(SettingError::new(
                "tracker.sampling_hz",
                format!(
                    "tracker.sampling_hz must be between 1 and {}, got {hz}",
                    et_recording::format::MAX_SAMPLING_HZ
                ),
            ));
        }
        if self.calibration.enabled {
            self.calibration.validate()?;
        }
        self.display.style.validate().map_err(|e| SettingError {
            key: format!("display.{}", e.key),
            message: format!("display.style: {}", e.message),
        })?;
        if let Some(v) = &self.counterbalance {
            v.parse::<et_stimuli::CounterbalanceVersion>()?;
        }
        self.attention.validate()
    }

    /// The participant's number from its id ("P07" → 7), if it ends in digits.
    pub fn participant_number(&self) -> Option<u32> {
        let digits: String = self
            .participant
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.chars().rev().collect::<String>().parse().ok()
    }

    pub fn counterbalance_version(&self) -> et_stimuli::CounterbalanceVersion {
        match &self.counterbalance {
            Some(v) => v.parse().unwrap_or(et_stimuli::CounterbalanceVersion::A),
            None => et_stimuli::CounterbalanceVersion::for_participant(
                self.participant_number().unwrap_or(1),
            ),
        }
    }

    pub fn order_seed(&self) -> u64 {
        self.order_seed
            .unwrap_or_else(|| stable_hash(&format!("order/{}/{}", self.participant, self.session)))
    }

    /// Simulated participant `index` (0-based) of a study simulated with `seed`: named P01,
    /// P02, …, with a gaze stream, a trial order and the study's drawn attention effects all
    /// fixed by (seed, index), so the demo and a simulation of many studies draw the same
    /// people.
    pub fn simulated_participant(&self, seed: u64, index: u32) -> StudyConfig {
        let mut c = self.clone();
        c.participant = format!("P{:02}", u64::from(index) + 1);
        c.attention.seed = seed;
        c.tracker.seed = Some(seed.wrapping_mul(1_000_003).wrapping_add(u64::from(index)));
        c.order_seed = Some(seed.wrapping_mul(7_919).wrapping_add(u64::from(index)));
        c
    }

    pub fn tracker_seed(&self) -> u64 {
        self.tracker
            .seed
            .unwrap_or_else(|| stable_hash(&format!("gaze/{}/{}", self.participant, self.session)))
    }
}

/// `[screen]` as one monitor: its size in px and mm and the viewing distance belong together,
/// so a table that gives some of them and not the others is refused by name rather than
/// completed with another monitor's values (gaze in degrees would silently be wrong).
fn whole_screen<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ScreenGeometry, D::Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Given {
        width_px: Option<u32>,
        height_px: Option<u32>,
        width_mm: Option<f64>,
        height_mm: Option<f64>,
        viewing_distance_mm: Option<f64>,
    }
    let g = Given::deserialize(d)?;
    match (
        g.width_px,
        g.height_px,
        g.width_mm,
        g.height_mm,
        g.viewing_distance_mm,
    ) {
        (
            Some(width_px),
            Some(height_px),
            Some(width_mm),
            Some(height_mm),
            Some(viewing_distance_mm),
        ) => Ok(ScreenGeometry {
            width_px,
            height_px,
            width_mm,
            height_mm,
            viewing_distance_mm,
        }),
        (None, None, None, None, None) => Ok(ScreenGeometry::default()),
        _ => {
            let names = [
                ("width_px", g.width_px.is_some()),
                ("height_px", g.height_px.is_some()),
                ("width_mm", g.width_mm.is_some()),
                ("height_mm", g.height_mm.is_some()),
                ("viewing_distance_mm", g.viewing_distance_mm.is_some()),
            ];
            let missing: Vec<&str> = names.iter().filter(|(_, k)| !k).map(|(n, _)| *n).collect();
            Err(serde::de::Error::custom(format!(
                "[screen] lacks {}: its five fields describe one monitor, so give all of them \
                 (or none, for the default 24\" 1920x1080 px, 531x299 mm at 650 mm)",
                missing.join(", ")
            )))
        }
    }
}

/// The longest fixation, stimulus or inter-trial screen (ms).
pub const MAX_SCREEN_MS: u32 = 600_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_keys_go_with_their_kind() {
        for (toml, needle) in [
            (
                "[tracker]\nserial = \"X\"\n",
                "need tracker.kind = \"tobii\"",
            ),
            (
                "[tracker]\nkind = \"tobii\"\nserial = \"X\"\naddress = \"tet-tcp://1.2.3.4\"\n",
                "give one, not both",
            ),
            ("[tracker]\nkind = \"replay\"\n", "needs tracker.replay"),
            (
                "[tracker]\nreplay = \"a.h5\"\n",
                "tracker.replay needs tracker.kind",
            ),
            ("[tracker]\nkind = \"eyelink\"\n", "unknown variant"),
            (
                "[tracker]\nsilence_ms = 20\n",
                "tracker.silence_ms must be at least 80",
            ),
        ] {
            let err = toml::from_str::<StudyConfig>(toml)
                .map_err(|e| e.to_string())
                .and_then(|c| c.validate().map_err(|e| e.to_string()))
                .unwrap_err();
            assert!(err.contains(needle), "{toml}: {err}");
        }
    }

    #[test]
    fn defaults_and_partial_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("study.toml");
        std::fs::write(&p, "participant = \"P04\"\n[timing]\nstimulus_ms = 5000\n").unwrap();
        let c = StudyConfig::load(&p).unwrap();
        assert_eq!(c.timing.stimulus_ms, 5000);
        assert_eq!(c.timing.fixation_ms, 1000);
        assert_eq!(c.participant_number(), Some(4));
        assert_eq!(
            c.counterbalance_version(),
            et_stimuli::CounterbalanceVersion::B
        );
        assert_eq!(
            crate::display::whole_frames(7000, Timing::default().refresh_hz),
            420
        );
    }

    #[test]
    fn a_partial_screen_is_refused_naming_what_it_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("study.toml");
        std::fs::write(&p, "[screen]\nwidth_px = 640\nheight_px = 480\n").unwrap();
        let e = StudyConfig::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("[screen] lacks width_mm, height_mm, viewing_distance_mm"),
            "{e}"
        );
        let whole = "[screen]\nwidth_px = 640\nheight_px = 480\nwidth_mm = 300.0\n\
                     height_mm = 225.0\nviewing_distance_mm = 600.0\n";
        std::fs::write(&p, whole).unwrap();
        let c = StudyConfig::load(&p).unwrap();
        assert_eq!(
            (c.screen.width_px, c.screen.viewing_distance_mm),
            (640, 600.0)
        );
        std::fs::write(&p, "participant = \"P01\"\n").unwrap();
        assert_eq!(
            StudyConfig::load(&p).unwrap().screen,
            ScreenGeometry::default()
        );
    }

    #[test]
    fn malformed_config_names_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("study.toml");
        std::fs::write(&p, "participant = \"P01\"\n[screen]\nwidth_px = \"wide\"\n").unwrap();
        let e = StudyConfig::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("study.toml: line 3: not a valid study config"),
            "{e}"
        );
        assert!(e.contains("width_px"), "{e}");
        std::fs::write(&p, "participant = \"P01\"\ncolour = 3\n").unwrap();
        let e = StudyConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
        std::fs::write(&p, "[timing]\nrefresh_hz = 0\n").unwrap();
        let e = StudyConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("refresh_hz"), "{e}");
        for (text, field) in [
            (
                "[timing]\nstimulus_ms = 4294967295\n",
                "timing.stimulus_ms must be at most",
            ),
            (
                "[tracker]\nsampling_hz = 1e-9\n",
                "tracker.sampling_hz must be between 1",
            ),
        ] {
            std::fs::write(&p, text).unwrap();
            let e = StudyConfig::load(&p).unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
    }
}

/// Screens of text that hold until someone presses continue: the participant reads them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TextScreens {
    /// Before the first calibration target; empty: none.
    pub instructions: String,
    /// A break after every `break_every` trials (0: no breaks).
    pub break_every: u32,
    pub break_text: String,
    /// After the last trial; empty: none.
    pub end_text: String,
}

impl Default for TextScreens {
    fn default() -> Self {
        TextScreens {
            instructions: "Please look at the faces on the screen.\nFirst, follow the white dots with your eyes.\n\nPress the space bar to start.".into(),
            break_every: 0,
            break_text: "Take a short break.\n\nPress the space bar to go on.".into(),
            end_text: "Thank you! The session is over.".into(),
        }
    }
}
