use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use et_drivers::replay::ReplaySpeed;
use et_sessions::StudyConfig;

use et_cli::exit::{self, ExitWith};
use et_sessions::calibration::Verdict;
use et_sessions::launch::{launch, Prepared, SessionRequest, TrackerChoice, WindowChoice};
use et_sessions::runner::SessionOutcome;

use crate::setup::{announce_generation, operator_window, terminal_keys, DEFAULT_STIMULI_DIR};

#[derive(clap::Args)]
pub struct Args {
    /// Study config (TOML). Without it: the default study on the default stimulus set.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Participant id (overrides the config).
    #[arg(long)]
    participant: Option<String>,
    /// Recording to write; never overwritten. Default: recordings/<participant>-s<session>.h5
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run without a window, on a simulated display at the configured refresh rate.
    #[arg(long)]
    headless: bool,
    /// A window of the study's screen size instead of full screen (for development).
    #[arg(long, conflicts_with = "headless")]
    windowed: bool,
    /// Monitor for the participant's window (index; default: the config's, else the primary).
    #[arg(long, conflicts_with = "headless")]
    monitor: Option<usize>,
    /// The operator's live window beside the participant's: the stimulus with each eye's gaze,
    /// the trial and time left, the tracker's state, valid gaze over 2 s, dropped frames.
    #[arg(long, conflicts_with = "headless")]
    operator_window: bool,
    /// The operator's live window, full screen on this monitor (index).
    #[arg(long, conflicts_with_all = ["headless", "operator_window"])]
    operator_monitor: Option<usize>,
    /// synthetic, replay:FILE, tobii (first found) or tobii:SERIAL|ADDRESS. Default: the
    /// study config's [tracker] kind; without it, synthetic headless, and a session in the
    /// window is refused (name the tracker on purpose).
    #[arg(long)]
    tracker: Option<TrackerChoice>,
    /// The Tobii Pro SDK library (else the config's tracker.tobii_lib, ET_TOBII_LIB, usual places).
    #[arg(long)]
    tobii_lib: Option<PathBuf>,
    /// Session clock speed: 1 (real time), N (N× faster), or max.
    #[arg(long, default_value = "1")]
    speed: ReplaySpeed,
    /// Headless: accept a validation that failed every attempt (recorded as such); without
    /// it such a session exits with status 3.
    #[arg(long)]
    accept_failed_validation: bool,
    /// Folder of the default stimulus set (generated there when missing).
    #[arg(long, default_value = DEFAULT_STIMULI_DIR)]
    stimuli: PathBuf,
    #[command(flatten)]
    lsl: crate::setup::LslArgs,
    /// Record an outside LSL marker stream (PsychoPy's, an amplifier's triggers), named by its
    /// name or type, into /events on the tracker's clock. Refused before the recording exists
    /// when no stream or several answer within 5 s.
    #[arg(long, value_name = "NAME_OR_TYPE")]
    lsl_markers: Option<String>,
}

pub fn main(a: Args) -> Result<()> {
    let operator = Arc::new(et_sessions::session::Operator::default());
    let _signals = crate::setup::abort_on_signals(&operator)?;
    let mut cfg = match &a.config {
        Some(p) => StudyConfig::load(p)?,
        None => StudyConfig::default(),
    };
    if let Some(p) = a.participant {
        cfg.participant = p;
        cfg.validate()
            .map_err(|m| anyhow::anyhow!("--participant: {m}"))?;
    }
    let out = a.out.unwrap_or_else(|| {
        PathBuf::from(format!(
            "recordings/{}-s{}.h5",
            cfg.participant, cfg.session
        ))
    });
    cfg.calibration.accept_failed = a.accept_failed_validation;
    let tracker = TrackerChoice::resolve(a.tracker.as_ref(), &cfg.tracker, a.headless)?;
    let prepared = Prepared::load(&cfg, &a.stimuli, announce_generation)?;
    let n = prepared.set.stimuli.len() as u64 / 2;
    // Said as an intent: the file exists only once the tracker is connected (a session that
    // cannot start leaves nothing).
    eprintln!(
        "{}: connecting to the tracker; the recording will be {}",
        cfg.participant,
        out.display()
    );
    match &tracker {
        TrackerChoice::Synthetic => eprintln!(
            "SIMULATED GAZE: the synthetic tracker, no eye tracker (--tracker tobii records a participant)"
        ),
        TrackerChoice::Replay(f) => {
            eprintln!("REPLAYED GAZE: {} played again, no eye tracker", f.display())
        }
        TrackerChoice::Tobii(_) => {}
    }
    let pb = session_bar(n);
    let on_trial = |k: u32| pb.set_position(u64::from(k));
    let ended = AtomicBool::new(false);
    terminal_keys(&operator);
    let launched = std::thread::scope(|scope| {
        scope.spawn(|| live_line(&operator, &pb, &ended));
        let launched = launch(SessionRequest {
            prepared: &prepared,
            tracker: &tracker,
            speed: a.speed,
            out: &out,
            tobii_lib: a.tobii_lib.as_deref(),
            window: (!a.headless).then(|| WindowChoice {
                fullscreen: cfg.display.fullscreen && !a.windowed,
                monitor: a.monitor.or(cfg.display.monitor),
                operator: operator_window(a.operator_window, a.operator_monitor),
            }),
            operator: Arc::clone(&operator),
            on_trial: &on_trial,
            // What the session waits for, printed above the progress bar (not through it).
            prompt: &|p: &str| pb.suspend(|| eprintln!("▶ {p}")),
            lsl: a.lsl.options(a.lsl_markers.clone()),
        });
        ended.store(true, Ordering::Release);
        launched
    })?;
    if let Some(n) = launched.operator_pictures {
        eprintln!("operator's window: {n} pictures shown");
    }
    let outcome = launched.outcome;
    validation_beside(&out);
    let recorded = et_recording::Recording::open(&out).ok();
    pb.finish_and_clear();
    crate::output::emit(&summary(&out, &outcome, recorded.as_ref()))?;
    if !outcome.complete {
        // The file is closed and readable; the exit status still tells scripts it was cut short.
        return Err(ExitWith::new(
            exit::ABORTED,
            format!(
                "{}: aborted; the recording is closed, readable and marked incomplete",
                out.display()
            ),
        )
        .into());
    }
    let mut problems = Vec::new();
    if outcome.unaccepted_gaze_problem() {
        problems.push("its gaze has gaps nobody accepted");
    }
    if outcome.unaccepted_validation() {
        problems.push("no validation passed and none was accepted");
    }
    if !problems.is_empty() {
        return Err(ExitWith::new(
            exit::DATA_PROBLEM,
            format!(
                "{}: the session ran to its end but {} (see above and `et-suite inspect`)",
                out.display(),
                problems.join(", and ")
            ),
        )
        .into());
    }
    Ok(())
}

/// The end summary: what was recorded, the validation accepted, the frames dropped, and every
/// gap in the gaze.
fn summary(
    out: &std::path::Path,
    outcome: &SessionOutcome,
    rec: Option<&et_recording::Recording>,
) -> String {
    let w = &outcome.stats.watch;
    let mut s = format!(
        "{}: {} trials, {} samples, {} samples dropped, {}\n",
        out.display(),
        outcome.trials_done,
        outcome.stats.counts.gaze,
        outcome.stats.samples_dropped,
        if outcome.complete {
            "complete"
        } else {
            "INCOMPLETE (aborted)"
        }
    );
    if let Some(rec) = rec {
        s.push_str(&validation_line(rec, outcome.validation));
        s.push_str(&dropped_frames_line(rec));
    }
    if w.silences > 0 {
        s.push_str(&format!(
            "  tracker SILENT {} time(s), {:.1} s in all{}\n",
            w.silences,
            w.silent_us as f64 / 1e6,
            if outcome.silence_accepted {
                " (the operator went on without gaze)"
            } else {
                ""
            }
        ));
    }
    if w.tracker_data_ended {
        s.push_str("  the replayed recording ended before the session (replay_end)\n");
    }
    if w.trials_without_gaze > 0 {
        s.push_str(&format!(
            "  {} trial(s) without any gaze sample\n",
            w.trials_without_gaze
        ));
    }
    s
}

/// The operator's live line, once a second while the session runs: on the progress bar, or as
/// a printed line when stderr is not a terminal (a log file keeps it too).
fn live_line(
    operator: &et_sessions::session::Operator,
    pb: &indicatif::ProgressBar,
    ended: &AtomicBool,
) {
    let tick = Duration::from_millis(50);
    let mut since = Instant::now();
    while !ended.load(Ordering::Acquire) {
        std::thread::sleep(tick);
        if since.elapsed() < Duration::from_secs(1) {
            continue;
        }
        since = Instant::now();
        let line = operator.view.snapshot().line();
        if pb.is_hidden() {
            eprintln!("live: {line}");
        } else {
            pb.set_message(line);
        }
    }
}

/// The session's bar: trials done, then the operator's live line (`set_message`).
fn session_bar(trials: u64) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(trials);
    let style =
        indicatif::ProgressStyle::with_template("trials [{bar:20}] {pos}/{len} {elapsed} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
    pb.set_style(style);
    pb
}

/// The session's validation plot beside its recording (`<name>.validation.png`), for the
/// operator to keep with the file. A failure here is said and never fails the session.
fn validation_beside(recording: &std::path::Path) {
    let png = recording.with_extension("validation.png");
    let written = et_recording::Recording::open(recording)
        .map_err(anyhow::Error::from)
        .and_then(|rec| Ok(et_analysis::figures::write_session_validation(&rec, &png)?));
    match written {
        Ok(true) => eprintln!("validation plot: {}", png.display()),
        Ok(false) => {}
        Err(why) => eprintln!("validation plot not written: {why}"),
    }
}

/// The accepted (last) validation, each eye, and how it was accepted.
fn validation_line(rec: &et_recording::Recording, verdict: Option<Verdict>) -> String {
    let Some(last) = rec.validation_attempts().pop() else {
        return "  validation: none recorded\n".into();
    };
    let how = match verdict {
        Some(Verdict::Passed) => "passed",
        Some(Verdict::AcceptedFailing) => "FAILED, accepted as it is",
        Some(Verdict::Failed) => "FAILED, not accepted",
        Some(Verdict::Aborted) => "not finished (aborted)",
        None => "not judged",
    };
    format!(
        "  validation (attempt {}, {how}): left {}; right {}\n",
        last.attempt, last.left, last.right
    )
}

/// Frames the display dropped, in all and per trial where any.
fn dropped_frames_line(rec: &et_recording::Recording) -> String {
    let per_trial: Vec<String> = rec
        .trials
        .iter()
        .filter(|t| t.dropped_frames > 0)
        .map(|t| format!("trial {}: {}", t.trial, t.dropped_frames))
        .collect();
    let total: u64 = rec.trials.iter().map(|t| u64::from(t.dropped_frames)).sum();
    if per_trial.is_empty() {
        "  dropped frames: 0\n".into()
    } else {
        format!("  dropped frames: {total} ({})\n", per_trial.join(", "))
    }
}
