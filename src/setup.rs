//! Wiring shared by `run` and `demo`: stimulus set, trial list, tracker and recording for one
//! participant from a study config.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use et_drivers::replay::{ReplaySpeed, ReplayTracker};
use et_drivers::synthetic::{SceneTimeline, SyntheticConfig, SyntheticTracker};
use et_drivers::tobii::{TobiiConfig, TobiiTracker};
use et_drivers::{Clock, ManualClock, MonotonicClock, ScaledClock, Tracker};
use et_sessions::operator_window::OperatorWindow;
use et_sessions::runner::{run, Operator, SessionOutcome, SessionPlan};
use et_sessions::{Recording, RecordingHeader, RecordingWriter, StudyConfig};
use et_stimuli::present::{Presenter, WindowConfig};
use et_stimuli::{trial_list, StimulusSet};

/// Where `run` keeps the generated default stimulus set when no config names one.
pub const DEFAULT_STIMULI_DIR: &str = "et-default-stimuli";

/// The default stimulus set in `dir`, generated there first if missing. Generation writes to a
/// temporary folder and renames it, so an interrupted run never leaves half a set.
pub fn ensure_default_set(dir: &Path) -> Result<PathBuf> {
    let manifest = dir.join("manifest.toml");
    if manifest.is_file() {
        return Ok(manifest);
    }
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
    {
        bail!(
            "{}: exists but holds no manifest.toml; remove it or point --stimuli elsewhere",
            dir.display()
        );
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("{}: cannot create", parent.display()))?;
    let tmp = parent.join(format!(
        ".{}.tmp-{}",
        dir.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("stimuli"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    eprintln!(
        "generating the default stimulus set in {} ...",
        dir.display()
    );
    et_stimuli::default_set::generate(&tmp, et_stimuli::default_set::FULL_SIZE)?;
    if dir.exists() {
        let _ = std::fs::remove_dir(dir);
    }
    if let Err(e) = std::fs::rename(&tmp, dir) {
        // Another process may have finished first; use its set if it is complete.
        let _ = std::fs::remove_dir_all(&tmp);
        if !manifest.is_file() {
            return Err(e).with_context(|| {
                format!(
                    "{}: cannot move the generated set into place",
                    dir.display()
                )
            });
        }
    }
    Ok(manifest)
}

#[derive(Debug, Clone)]
pub enum TrackerChoice {
    Synthetic,
    Replay(PathBuf),
    /// A Tobii tracker: the first found, or the one with this serial number or address.
    Tobii(Option<String>),
}

impl std::str::FromStr for TrackerChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            None if s == "synthetic" => Ok(TrackerChoice::Synthetic),
            None if s == "tobii" => Ok(TrackerChoice::Tobii(None)),
            Some(("replay", f)) if !f.is_empty() => Ok(TrackerChoice::Replay(PathBuf::from(f))),
            Some(("tobii", sel)) if !sel.is_empty() => {
                Ok(TrackerChoice::Tobii(Some(sel.to_string())))
            }
            _ => Err(format!(
                "expected 'synthetic', 'replay:FILE', 'tobii' or 'tobii:SERIAL|ADDRESS', got {s:?}"
            )),
        }
    }
}

/// One participant's session, ready to run.
pub struct Prepared {
    pub set: StimulusSet,
    pub manifest_text: String,
    pub set_sha256: String,
    pub cfg: StudyConfig,
}

pub fn load_set(cfg: &StudyConfig, stimuli_dir: &Path) -> Result<Prepared> {
    let manifest_path = match &cfg.stimulus_set {
        Some(p) => p.clone(),
        None => ensure_default_set(stimuli_dir)?,
    };
    let set = StimulusSet::load(&manifest_path)?;
    let manifest_text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("{}: cannot read", manifest_path.display()))?;
    let set_sha256 = set.sha256(&manifest_text)?;
    Ok(Prepared {
        set,
        manifest_text,
        set_sha256,
        cfg: cfg.clone(),
    })
}

/// The participant's window, as the command line asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowChoice {
    pub fullscreen: bool,
    pub monitor: Option<usize>,
    /// The operator's live window, if wanted.
    pub operator: Option<et_stimuli::present::OperatorWindowConfig>,
}

/// The operator's window as the command line asks for it: full screen on `monitor`, or a
/// 640 × 430 window beside the participant's (`beside`), or none.
pub fn operator_window(
    beside: bool,
    monitor: Option<usize>,
) -> Option<et_stimuli::present::OperatorWindowConfig> {
    (beside || monitor.is_some()).then_some(et_stimuli::present::OperatorWindowConfig {
        monitor,
        width: 640,
        height: 430,
    })
}

/// Runs one session into `out`, with the tracker chosen, on a clock at `speed`: in the
/// participant's window when `window` is given, headless otherwise.
#[allow(clippy::too_many_arguments)]
pub fn run_session(
    p: &Prepared,
    tracker_choice: &TrackerChoice,
    speed: ReplaySpeed,
    out: &Path,
    tobii_lib: Option<&Path>,
    window: Option<WindowChoice>,
    operator: Arc<Operator>,
    on_trial: &(dyn Fn(u32) + Sync),
    prompt: &(dyn Fn(&str) + Sync),
) -> Result<SessionOutcome> {
    let cfg = &p.cfg;
    let version = cfg.counterbalance_version();
    let order_seed = cfg.order_seed();
    let trials = trial_list(&p.set, version, order_seed).map_err(|e| {
        anyhow::anyhow!("{}: cannot build the trial list: {e}", p.set.root.display())
    })?;
    let scene = SceneTimeline::new();
    let (mut tracker, scene_for_runner): (Box<dyn Tracker>, Option<&SceneTimeline>) =
        match tracker_choice {
            TrackerChoice::Synthetic => {
                let now = et_drivers::clock::monotonic_now_us();
                let clock: Arc<dyn Clock> = match speed {
                    ReplaySpeed::Factor(f) if (f - 1.0).abs() < f64::EPSILON => {
                        Arc::new(MonotonicClock)
                    }
                    ReplaySpeed::Factor(f) => Arc::new(ScaledClock::new(now, f)),
                    ReplaySpeed::Max => Arc::new(ManualClock::new(now)),
                };
                let sc = SyntheticConfig {
                    seed: cfg.tracker_seed(),
                    sampling_hz: cfg.tracker.sampling_hz,
                    screen: cfg.screen,
                    calibration_error: cfg.synthetic_calibration_error.unwrap_or_default(),
                    ..SyntheticConfig::default()
                };
                (
                    Box::new(SyntheticTracker::new(sc, clock, scene.clone())?),
                    Some(&scene),
                )
            }
            TrackerChoice::Replay(file) => {
                let src = Recording::open(file)?;
                let Some(first) = src.gaze.first().map(|s| s.system_ts_us) else {
                    bail!("{}: holds no gaze samples to replay", file.display());
                };
                let clock: Arc<dyn Clock> = match speed {
                    ReplaySpeed::Factor(f) => Arc::new(ScaledClock::new(first, f)),
                    ReplaySpeed::Max => Arc::new(ManualClock::new(first)),
                };
                let info = et_sessions::replay::tracker_info(&src.header);
                (
                    Box::new(ReplayTracker::with_clock(src.gaze.into(), info, clock)),
                    None,
                )
            }
            TrackerChoice::Tobii(select) => {
                if speed != ReplaySpeed::Factor(1.0) {
                    bail!("--speed: a Tobii tracker runs in real time only (got {speed:?})");
                }
                let tc = TobiiConfig {
                    library: tobii_lib
                        .map(Path::to_path_buf)
                        .or_else(|| cfg.tracker.tobii_lib.clone()),
                    select: select.clone(),
                    frequency_hz: Some(cfg.tracker.sampling_hz as f32),
                    ..TobiiConfig::default()
                };
                (Box::new(TobiiTracker::open(tc)?), None)
            }
        };
    let info = tracker.info();
    let mut header = RecordingHeader::new(&cfg.participant, &cfg.session);
    header.tracker_model = info.model;
    header.tracker_serial = info.serial;
    header.sdk_version = info.sdk_version;
    header.sampling_hz = info.sampling_hz;
    header.screen = cfg.screen;
    header.stimulus_set = p.set.name.clone();
    header.stimulus_set_sha256 = p.set_sha256.clone();
    header.counterbalance_version = version.as_str().into();
    header.trial_order_seed = order_seed;
    let mut markers = cfg
        .markers
        .as_ref()
        .map(et_drivers::serial::MarkerPort::open)
        .transpose()?;
    // The window opens before the file exists: a machine without a display fails here and
    // leaves nothing behind.
    let presenter = match window {
        Some(w) => {
            let clock = tracker.clock();
            if clock.is_virtual() || speed != ReplaySpeed::Factor(1.0) {
                bail!("--speed: a session in a window runs in real time only (got {speed:?}); use --headless to go faster");
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
            Some(
                Presenter::open(wc, cfg.display.style.clone(), clock)
                    .context("cannot open the participant's window")?,
            )
        }
        None => None,
    };
    let writer = RecordingWriter::create(out, &header, Some(&p.manifest_text))?;
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
        prompt,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let session = || {
        rt.block_on(async {
            // Operator keys on the terminal (stdin that is not a terminal is ignored). A plain thread, not a runtime task: a read blocked on the terminal would hold the
            // runtime's shutdown (and the process) until the next key. It dies with the process.
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                let op = Arc::clone(&operator);
                std::thread::spawn(move || operator_keys(&op));
            }
            let r = run(
                &plan,
                tracker.as_mut(),
                writer,
                scene_for_runner,
                markers.as_mut(),
                &operator,
                on_trial,
            )
            .await;
            r
        })
    };
    let operator_window = presenter
        .as_ref()
        .and_then(Presenter::operator_feed)
        .map(|feed| OperatorWindow::new(feed, &plan, cfg.display.style.background));
    let outcome = match operator_window {
        Some(w) => {
            let (outcome, shown) = w.alongside(&operator.view, session);
            eprintln!("operator's window: {shown} pictures shown");
            outcome
        }
        None => session(),
    }?;
    Ok(outcome)
}

/// While it lives, Ctrl-C, SIGTERM (shutdown, `kill`) and SIGHUP (terminal closed) only raise
/// the operator's abort flag, which the session checks at every frame at any speed: the file is
/// closed readable and marked incomplete. Installed before anything is created, so no signal
/// can leave a half-made file; dropping it restores the default actions.
pub struct AbortOnSignals(Vec<signal_hook::SigId>);

pub fn abort_on_signals(op: &Arc<et_sessions::runner::Operator>) -> Result<AbortOnSignals> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut ids = Vec::with_capacity(3);
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        let op = Arc::clone(op);
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        let id = unsafe {
            signal_hook::low_level::register(sig, move || op.abort.store(true, Ordering::SeqCst))
        }
        .with_context(|| format!("cannot handle signal {sig}"))?;
        ids.push(id);
    }
    Ok(AbortOnSignals(ids))
}

impl Drop for AbortOnSignals {
    fn drop(&mut self) {
        for id in self.0.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Operator keys, one per line on the terminal.
fn operator_keys(op: &Operator) {
    use std::io::BufRead;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { return };
        match line.trim() {
            "p" => op.pause.store(true, Ordering::SeqCst),
            "c" | "a" => op.press_continue(),
            "r" => op.recalibrate.store(true, Ordering::SeqCst),
            "q" => op.abort.store(true, Ordering::SeqCst),
            d => match d.parse::<u8>() {
                Ok(n @ 1..=9) => op.point.store(n, Ordering::SeqCst),
                _ => eprintln!(
                    "keys: p pause, c continue/accept, r recalibrate, 1-9 redo that calibration point, q abort (got {d:?})"
                ),
            },
        }
    }
}
