//! One participant's session from a study config, as `run` and `demo` start it: the stimulus
//! set and trial order, the tracker chosen with its clock at the session's speed, the
//! recording's header, the participant's window (and the operator's), then the runner to the
//! end. The command line only turns its arguments into a [`SessionRequest`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use et_drivers::replay::{Paced, ReplaySpeed, ReplayTracker};
use et_drivers::synthetic::{SceneTimeline, SyntheticConfig, SyntheticTracker};
use et_drivers::tobii::{TobiiConfig, TobiiTracker};
use et_drivers::Tracker;
use et_present::{OperatorWindowConfig, Presenter, WindowConfig};
use et_stimuli::{trial_list, StimulusSet};

use crate::config::StudyConfig;
use crate::error::{Result, SessionError};
use crate::operator_window::OperatorWindow;
use crate::runner::{run, SessionOutcome, SessionPlan};
use crate::session::Operator;
use et_recording::format::RecordingHeader;
use et_recording::reader::Recording;
use et_recording::writer::RecordingWriter;

/// Where the gaze comes from.
#[derive(Debug, Clone)]
pub enum TrackerChoice {
    Synthetic,
    Replay(PathBuf),
    /// A Tobii tracker: the first found, or the one with this serial number or address.
    Tobii(Option<String>),
}

impl TrackerChoice {
    /// The tracker a session records with: `--tracker` when given, else the study config's
    /// `[tracker] kind`, else the synthetic one for a headless run. A session in the window
    /// with neither is refused: it records a participant, and simulated gaze must never be
    /// recorded because a flag was forgotten.
    pub fn resolve(
        given: Option<&TrackerChoice>,
        cfg: &crate::config::TrackerSettings,
        headless: bool,
    ) -> Result<TrackerChoice> {
        use crate::config::TrackerKind;
        if let Some(c) = given {
            return Ok(c.clone());
        }
        match (cfg.kind, headless) {
            (Some(TrackerKind::Tobii), _) => Ok(TrackerChoice::Tobii(
                cfg.address.clone().or_else(|| cfg.serial.clone()),
            )),
            (Some(TrackerKind::Synthetic), _) | (None, true) => Ok(TrackerChoice::Synthetic),
            (Some(TrackerKind::Replay), _) => match &cfg.replay {
                Some(f) => Ok(TrackerChoice::Replay(f.clone())),
                None => Err(SessionError::Invalid(
                    "tracker.kind = \"replay\" needs tracker.replay".into(),
                )),
            },
            (None, false) => Err(SessionError::Invalid(
                "no tracker chosen: a session in the window records a participant, so name its tracker, either with --tracker tobii (or tobii:SERIAL|ADDRESS, synthetic, replay:FILE) or in the study config as [tracker] kind = \"tobii\" (or \"synthetic\", \"replay\")".into(),
            )),
        }
    }

    /// "SIMULATED" or "REPLAYED" when the gaze is not a participant's.
    pub fn not_live(&self) -> Option<&'static str> {
        match self {
            TrackerChoice::Synthetic => Some("SIMULATED"),
            TrackerChoice::Replay(_) => Some("REPLAYED"),
            TrackerChoice::Tobii(_) => None,
        }
    }

    /// The recording's `tracker_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            TrackerChoice::Synthetic => "synthetic",
            TrackerChoice::Replay(_) => "replay",
            TrackerChoice::Tobii(_) => "tobii",
        }
    }
}

impl std::str::FromStr for TrackerChoice {
    type Err = et_files::SettingError;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.split_once(':') {
            None if s == "synthetic" => Ok(TrackerChoice::Synthetic),
            None if s == "tobii" => Ok(TrackerChoice::Tobii(None)),
            Some(("replay", f)) if !f.is_empty() => Ok(TrackerChoice::Replay(PathBuf::from(f))),
            Some(("tobii", sel)) if !sel.is_empty() => {
                Ok(TrackerChoice::Tobii(Some(sel.to_string())))
            }
            _ => Err(et_files::SettingError::new(
                "--tracker",
                format!("expected 'synthetic', 'replay:FILE', 'tobii' or 'tobii:SERIAL|ADDRESS', got {s:?}"),
            )),
        }
    }
}

/// The participant's window, as the command line asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowChoice {
    pub fullscreen: bool,
    pub monitor: Option<usize>,
    /// The operator's live window, if wanted.
    pub operator: Option<OperatorWindowConfig>,
}

/// A study config with its stimulus set loaded.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub set: StimulusSet,
    /// The manifest as written (stored in the recording).
    pub manifest_text: String,
    pub set_sha256: String,
    pub cfg: StudyConfig,
}

impl Prepared {
    /// `cfg` with the set it names, or the default set in `default_dir` (generated there first
    /// when missing; `announce` is told before that).
    pub fn load(
        cfg: &StudyConfig,
        default_dir: &Path,
        announce: impl FnOnce(&Path),
    ) -> Result<Prepared> {
        let manifest_path = match &cfg.stimulus_set {
            Some(p) => p.clone(),
            None => et_stimuli::default_set::ensure(default_dir, announce)?,
        };
        let set = StimulusSet::load(&manifest_path)?;
        let manifest_text =
            std::fs::read_to_string(&manifest_path).map_err(|source| SessionError::Io {
                path: manifest_path.clone(),
                source,
            })?;
        let set_sha256 = set.sha256(&manifest_text)?;
        Ok(Prepared {
            set,
            manifest_text,
            set_sha256,
            cfg: cfg.clone(),
        })
    }
}

/// Everything one session needs besides the study config.
pub struct SessionRequest<'a> {
    pub prepared: &'a Prepared,
    pub tracker: &'a TrackerChoice,
    pub speed: ReplaySpeed,
    pub out: &'a Path,
    /// The Tobii Pro SDK library, when not the config's.
    pub tobii_lib: Option<&'a Path>,
    /// The participant's window; `None` runs headless.
    pub window: Option<WindowChoice>,
    pub operator: Arc<Operator>,
    pub on_trial: &'a (dyn Fn(u32) + Sync),
    pub prompt: &'a (dyn Fn(&str) + Sync),
    /// Streams and markers over the Lab Streaming Layer.
    pub lsl: crate::lsl::LslOptions,
}

/// What a session ended with.
#[derive(Debug)]
pub struct Launched {
    pub outcome: SessionOutcome,
    /// Pictures that reached the operator's window, when it was open.
    pub operator_pictures: Option<u64>,
}

/// Runs one session into `req.out`. Refused before anything is created when the speed does
/// not suit the tracker or the window; the window opens before the file exists, so a machine
/// without a display leaves nothing behind.
pub fn launch(req: SessionRequest<'_>) -> Result<Launched> {
    crate::lsl::check_speed(&req.lsl, req.speed)?;
    let p = req.prepared;
    let cfg = &p.cfg;
    let version = cfg.counterbalance_version();
    let order_seed = cfg.order_seed();
    let trials = trial_list(&p.set, version, order_seed).map_err(|e| {
        SessionError::Invalid(format!(
            "{}: cannot build the trial list: {e}",
            p.set.root.display()
        ))
    })?;
    let scene = SceneTimeline::new();
    let (mut tracker, scene_for_runner) = open_tracker(&req, &scene, trials.len())?;
    if let Some(what) = req.tracker.not_live() {
        req.operator.view.not_live(what);
    }
    let info = tracker.info();
    let info_for_lsl = info.clone();
    let mut header = RecordingHeader::new(&cfg.participant, &cfg.session);
    header.tracker_model = info.model;
    header.tracker_serial = info.serial;
    header.sdk_version = info.sdk_version;
    header.sampling_hz = info.sampling_hz;
    header.tracker_kind = req.tracker.kind().into();
    header.screen = cfg.screen;
    header.stimulus_set = p.set.name.clone();
    header.stimulus_set_sha256 = p.set_sha256.clone();
    header.counterbalance_version = version.as_str().into();
    header.trial_order_seed = order_seed;
    let mut markers = cfg
        .markers
        .as_ref()
        .map(et_drivers::serial::MarkerPort::open)
        .transpose()
        .map_err(|e| SessionError::Invalid(e.to_string()))?;
    // The participant's text screens (instructions, breaks, the end) need a font: a missing or
    // broken one is named now, not at the first text screen with the recording half written.
    if req.window.is_some() {
        et_present::text::Font::find().map_err(|e| {
            SessionError::Display(format!("the participant's text screens need a font: {e}"))
        })?;
    }
    let presenter = match &req.window {
        Some(w) => Some(open_window(cfg, w, tracker.as_ref(), req.speed)?),
        None => None,
    };
    // Every image the trials show is decoded (and, in the window, already on the GPU) before
    // the recording exists: a broken stimulus never leaves an incomplete file behind.
    load_images(&p.set, &trials, presenter.as_ref())?;
    // LSL before the file too: a marker stream that is not there, or a consumer never
    // connected, leaves nothing behind.
    let lsl = crate::lsl::Prepared::new(
        &req.lsl,
        req.speed,
        &crate::lsl::Source {
            info: &info_for_lsl,
            participant: &cfg.participant,
            screen: &cfg.screen,
            clock: tracker.clock(),
        },
        req.prompt,
        &|| req.operator.abort.load(std::sync::atomic::Ordering::SeqCst),
    )?;
    let writer = RecordingWriter::create(req.out, &header, Some(&p.manifest_text))?;
    let plan = SessionPlan {
        set: &p.set,
        trials: &trials,
        timing: cfg.timing.clone(),
        screen_w: cfg.screen.width_px,
        screen_h: cfg.screen.height_px,
        attention: cfg.attention.for_participant(&cfg.participant),
        calibration: cfg.calibration().cloned(),
        missed_vsyncs: Vec::new(),
        geometry: cfg.screen,
        presenter: presenter.as_ref(),
        text: cfg.display.text.clone(),
        prompt: req.prompt,
        silence_ms: cfg.tracker.silence_ms,
        on_silence: cfg.tracker.on_silence,
        lsl: lsl.as_ref(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SessionError::Invalid(format!("cannot start the async runtime: {e}")))?;
    let operator = &req.operator;
    let session = || {
        rt.block_on(run(
            &plan,
            tracker.as_mut(),
            writer,
            scene_for_runner,
            markers.as_mut(),
            operator,
            req.on_trial,
        ))
    };
    let operator_window = presenter
        .as_ref()
        .and_then(Presenter::operator_feed)
        .map(|feed| OperatorWindow::new(feed, &plan, cfg.display.style.background));
    match operator_window {
        Some(w) => {
            let (outcome, shown) = w.alongside(&operator.view, session);
            Ok(Launched {
                outcome: outcome?,
                operator_pictures: Some(shown),
            })
        }
        None => Ok(Launched {
            outcome: session()?,
            operator_pictures: None,
        }),
    }
}

/// The tracker asked for, on its clock at the session's speed; the synthetic one also gets
/// the scene timeline the runner publishes what is on screen to. A replay shorter than the
/// session's `trials` is warned of.
fn open_tracker<'s>(
    req: &SessionRequest<'_>,
    scene: &'s SceneTimeline,
    trials: usize,
) -> Result<(Box<dyn Tracker>, Option<&'s SceneTimeline>)> {
    let cfg = &req.prepared.cfg;
    Ok(match req.tracker {
        TrackerChoice::Synthetic => {
            let sc = SyntheticConfig {
                seed: cfg.tracker_seed(),
                sampling_hz: cfg.tracker.sampling_hz,
                screen: cfg.screen,
                calibration_error: cfg.synthetic_calibration_error.unwrap_or_default(),
                ..SyntheticConfig::default()
            };
            let clock = req.speed.clock(None, Paced::BySession);
            (
                Box::new(SyntheticTracker::new(sc, clock, scene.clone())?),
                Some(scene),
            )
        }
        TrackerChoice::Replay(file) => {
            let src = Recording::open(file)?;
            let Some(first) = src.gaze.first().map(|s| s.system_ts_us) else {
                return Err(SessionError::Invalid(format!(
                    "{}: holds no gaze samples to replay",
                    file.display()
                )));
            };
            let last = src.gaze.last().map_or(first, |s| s.system_ts_us);
            // The trials alone: calibration and pauses come on top.
            let planned = cfg
                .timing
                .trial_us()
                .saturating_mul(i64::try_from(trials).unwrap_or(i64::MAX));
            if last.saturating_sub(first) < planned {
                (req.prompt)(&format!(
                    "warning: {} holds {:.1} s of gaze but the trials alone last {:.1} s: after its end the session records no gaze (replay_end)",
                    file.display(),
                    last.saturating_sub(first) as f64 / 1e6,
                    planned as f64 / 1e6
                ));
            }
            let clock = req.speed.clock(Some(first), Paced::BySession);
            let info = crate::replay::tracker_info(&src.header);
            (
                Box::new(ReplayTracker::with_clock(src.gaze.into(), info, clock)),
                None,
            )
        }
        TrackerChoice::Tobii(select) => {
            if req.speed != ReplaySpeed::Factor(1.0) {
                return Err(SessionError::Invalid(format!(
                    "--speed: a Tobii tracker runs in real time only (got {:?})",
                    req.speed
                )));
            }
            let tc = TobiiConfig {
                library: req
                    .tobii_lib
                    .map(Path::to_path_buf)
                    .or_else(|| cfg.tracker.tobii_lib.clone()),
                select: select.clone(),
                frequency_hz: Some(cfg.tracker.sampling_hz as f32),
                ..TobiiConfig::default()
            };
            let tobii = TobiiTracker::open(tc).map_err(|e| SessionError::Invalid(e.to_string()))?;
            (Box::new(tobii), None)
        }
    })
}

/// Decodes each trial's image, into the participant's window when there is one (an onset
/// never waits on disk or decoding); an image that cannot be read is an error naming its path.
fn load_images(
    set: &StimulusSet,
    trials: &[et_stimuli::TrialSpec],
    presenter: Option<&Presenter>,
) -> Result<()> {
    let mut done = std::collections::BTreeSet::new();
    for spec in trials {
        let st = &spec.stimulus;
        if !done.insert(st.id.as_str()) {
            continue;
        }
        let path = set.image_path(st);
        let img = image::open(&path).map_err(|e| {
            SessionError::Invalid(format!(
                "{}: stimulus {:?}: cannot be shown: {e}",
                path.display(),
                st.id
            ))
        })?;
        if let Some(p) = presenter {
            p.preload(&st.id, img.to_rgba8())
                .map_err(|e| SessionError::Display(format!("{}: {e}", path.display())))?;
        }
    }
    Ok(())
}

/// The participant's window on the tracker's clock; windows run in real time only.
fn open_window(
    cfg: &StudyConfig,
    w: &WindowChoice,
    tracker: &dyn Tracker,
    speed: ReplaySpeed,
) -> Result<Presenter> {
    let clock = tracker.clock();
    if clock.is_virtual() || speed != ReplaySpeed::Factor(1.0) {
        return Err(SessionError::Invalid(format!(
            "--speed: a session in a window runs in real time only (got {speed:?}); use --headless to go faster"
        )));
    }
    let wc = WindowConfig {
        fullscreen: w.fullscreen,
        monitor: w.monitor,
        width: cfg.screen.width_px,
        height: cfg.screen.height_px,
        refresh_hz: cfg.timing.refresh_hz,
        title: format!("et-suite: {}", cfg.participant),
        operator: w.operator.clone(),
    };
    Presenter::open(wc, cfg.display.style.clone(), clock)
        .map_err(|e| SessionError::Display(format!("cannot open the participant's window: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{TrackerKind, TrackerSettings};

    #[test]
    fn the_tracker_is_chosen_on_purpose() {
        let none = TrackerSettings::default();
        // Headless keeps the synthetic default; a session in the window never guesses.
        assert!(matches!(
            TrackerChoice::resolve(None, &none, true),
            Ok(TrackerChoice::Synthetic)
        ));
        let err = TrackerChoice::resolve(None, &none, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--tracker tobii") && err.contains("[tracker] kind = \"tobii\""),
            "{err}"
        );
        let tobii = TrackerSettings {
            kind: Some(TrackerKind::Tobii),
            serial: Some("X3120-1".into()),
            ..TrackerSettings::default()
        };
        // A config that names a Tobii records from it, headless or not ...
        for headless in [true, false] {
            assert!(matches!(
                TrackerChoice::resolve(None, &tobii, headless),
                Ok(TrackerChoice::Tobii(Some(s))) if s == "X3120-1"
            ));
        }
        // ... and --tracker overrides it.
        assert!(matches!(
            TrackerChoice::resolve(Some(&TrackerChoice::Synthetic), &tobii, false),
            Ok(TrackerChoice::Synthetic)
        ));
    }
}
