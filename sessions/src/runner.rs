//! The study runner: drives a tracker through a trial list (fixation cross, stimulus for a whole
//! number of refresh periods, blank inter-trial interval) on the presenter's window or, headless,
//! on a simulated frame clock, and records gaze, events, trials and frames. Both displays give
//! recordings of the same shape.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use et_drivers::serial::MarkerPort;
use et_drivers::synthetic::{Scene, SceneTimeline};
use et_drivers::{sample_channel, Tracker};
use et_present::{Presenter, Screen};
use et_stimuli::{StimulusSet, TrialSpec};

use crate::attention::{image_scene, ParticipantAttention};
use crate::calibration::{calibrate, CalibrationConfig, Decision, Verdict};
use crate::config::{TextScreens, Timing};
use crate::display::Display;
use crate::error::{Result, SessionError};
use crate::placement::fit_rect;
use crate::recorder::{
    spawn_session_recorder, FlushPolicy, Record, RecorderStats, SampleTap, SessionWatch,
};
use crate::session::{Choice, Operator, Presented, Session, Shown};
use crate::silence::OnSilence;
use crate::silence::SilenceWatch;
use crate::trial_samples::TrialCounter;
use et_recording::format::{kind, EventRecord, FrameRecord, TrialRecord};
use et_recording::writer::RecordingWriter;

/// Everything a session needs besides the tracker and the file.
pub struct SessionPlan<'a> {
    pub set: &'a StimulusSet,
    pub trials: &'a [TrialSpec],
    pub timing: Timing,
    pub screen_w: u32,
    pub screen_h: u32,
    /// Where this simulated participant looks (used only when `scene` is given).
    pub attention: ParticipantAttention,
    /// Calibrate and validate before the first trial.
    pub calibration: Option<CalibrationConfig>,
    /// Vsync indices the simulated display misses (to exercise dropped-frame handling).
    pub missed_vsyncs: Vec<u64>,
    pub geometry: et_drivers::ScreenGeometry,
    /// The participant's window; `None` runs headless on a simulated display.
    pub presenter: Option<&'a Presenter>,
    /// Instruction, break and end screens (shown in the window only: they wait for a key).
    pub text: TextScreens,
    /// Tells the operator what the session waits for (the CLI prints it on the terminal).
    pub prompt: &'a (dyn Fn(&str) + Sync),
    /// A gap without samples longer than this (ms) is tracker silence.
    pub silence_ms: u32,
    /// What to do then; `None`: pause in a window, continue headless.
    pub on_silence: Option<OnSilence>,
    /// LSL outlets and marker inlet, prepared before the recording existed.
    pub lsl: Option<&'a crate::lsl::Prepared>,
}

impl SessionPlan<'_> {
    /// The study's silence policy, or the default for the display (module doc of `silence`).
    fn on_silence(&self) -> OnSilence {
        self.on_silence.unwrap_or(if self.presenter.is_some() {
            OnSilence::Pause
        } else {
            OnSilence::Continue
        })
    }

    /// The operator decides in the window unless the config says otherwise.
    fn decision(&self, cfg: &CalibrationConfig) -> Decision {
        cfg.decision.unwrap_or(if self.presenter.is_some() {
            Decision::Operator
        } else {
            Decision::Auto
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOutcome {
    pub complete: bool,
    pub trials_done: u32,
    pub stats: RecorderStats,
    /// The operator chose to go on while the tracker was silent (the silence is accepted).
    pub silence_accepted: bool,
    /// How the last calibration's validation ended; `None` without one.
    pub validation: Option<Verdict>,
}

impl SessionOutcome {
    /// The recording holds tracker silence or trials without gaze that nobody accepted.
    pub fn unaccepted_gaze_problem(&self) -> bool {
        let w = &self.stats.watch;
        (w.silences > 0 || w.trials_without_gaze > 0) && !self.silence_accepted
    }

    /// Every validation failed and nobody accepted one.
    pub fn unaccepted_validation(&self) -> bool {
        self.validation == Some(Verdict::Failed)
    }
}

/// Runs the session to the end (or until the operator aborts) and closes the recording: complete
/// after the last trial, incomplete with an `aborted` note otherwise. `scene` is the synthetic
/// tracker's view of the screen, when the tracker is synthetic.
pub async fn run(
    plan: &SessionPlan<'_>,
    tracker: &mut dyn Tracker,
    writer: RecordingWriter,
    scene: Option<&SceneTimeline>,
    markers: Option<&mut MarkerPort>,
    operator: &Operator,
    on_trial: &(dyn Fn(u32) + Sync),
) -> Result<SessionOutcome> {
    let clock = tracker.clock();
    let hz = tracker.info().sampling_hz.max(1.0);
    // Real-time producers never block: hold 5 s of samples before the recorder must catch up.
    let (tx, rx) = sample_channel(((hz * 5.0) as usize).max(1024));
    // Validation and the operator's live view judge live samples: the recorder shares the
    // last 30 s of them.
    let tap = SampleTap::new((hz * 30.0) as usize);
    operator
        .view
        .attach(tap.clone(), Arc::clone(&clock), tracker.info().sampling_hz);
    let watch = SessionWatch {
        silence: SilenceWatch::new(plan.silence_ms, Arc::clone(&clock), clock.now_us()),
        trials: TrialCounter::new(hz),
    };
    let silence = watch.silence.state();
    let rec = spawn_session_recorder(
        writer,
        rx,
        FlushPolicy {
            tap: Some(tap.clone()),
            ..FlushPolicy::for_clock(clock.as_ref())
        },
        Some(watch),
        plan.lsl.and_then(crate::lsl::Prepared::take_outlets),
    )?;
    let inlet = match plan
        .lsl
        .map(|l| l.start_inlet(Arc::clone(&clock), rec.sender()))
    {
        Some(Err(e)) => {
            let _ = rec.finish(false);
            return Err(e);
        }
        Some(Ok(i)) => i,
        None => None,
    };
    tracing::info!(
        trials = plan.trials.len(),
        sampling_hz = hz,
        virtual_time = clock.is_virtual(),
        "session starts"
    );
    let display = match plan.presenter {
        Some(p) => Display::window(Arc::clone(&clock), plan.timing.refresh_hz, p),
        None => Display::simulated(
            Arc::clone(&clock),
            plan.timing.refresh_hz,
            plan.missed_vsyncs.iter().copied(),
        ),
    };
    let mut s = Session {
        display,
        rec: &rec,
        scene,
        operator,
        markers,
        prompt: plan.prompt,
        silence,
        on_silence: plan.on_silence(),
        silence_accepted: false,
        validation: None,
    };
    if let Err(e) = tracker.start(tx) {
        let _ = rec.finish(false);
        return Err(e.into());
    }
    let prepared = match plan.presenter {
        Some(p) => prepare_window(plan, &mut s, p).await,
        None => Ok(()),
    };
    let instructed = match prepared {
        Ok(()) => text_screen(plan, &mut s, &plan.text.instructions, "instructions").await,
        Err(e) => Err(e),
    };
    let calibrated = match (instructed, &plan.calibration) {
        (Err(e), _) => Err(e),
        (Ok(false), _) => Ok(()),
        (Ok(true), Some(cfg)) => calibrate(
            &mut s,
            tracker,
            &tap,
            cfg,
            &plan.geometry,
            plan.decision(cfg),
        )
        .await
        .map(|v| s.validation = v),
        (Ok(true), None) => s.event(
            s.next_ts(),
            kind::NOTE,
            -1,
            "no calibration before the trials: the tracker's own is used",
        ),
    };
    let result = match calibrated {
        Ok(()) => present_trials(plan, &mut s, tracker, &tap, on_trial).await,
        Err(e) => Err(e),
    };
    let result = match result {
        Ok(n) if n as usize == plan.trials.len() => {
            text_screen(plan, &mut s, &plan.text.end_text, "end")
                .await
                .map(|_| n)
        }
        r => r,
    };
    // Stop streaming at the last frame's time: every sample up to then is recorded, and the
    // recorder judges silence up to then and no further.
    let end_ts = s.display.next_ts();
    clock.advance_to(end_ts);
    s.samples_delivered_up_to(end_ts, (1e6 / hz) as i64).await;
    let _ = rec.stream_ends(end_ts);
    s.operator.view.stream_stopped();
    let stopped = tracker.stop();
    let (mut complete, trials_done, note) = match &result {
        Ok(n) if *n as usize == plan.trials.len() => (true, *n, None),
        Ok(n) => (
            false,
            *n,
            Some(format!(
                "aborted by the operator after {n} of {} trials",
                plan.trials.len()
            )),
        ),
        Err(e) => (false, 0, Some(format!("aborted: {e}"))),
    };
    if let Some(text) = note {
        let _ = rec.event(EventRecord::new(end_ts, kind::NOTE, -1, text));
    }
    // A tracker that failed (its thread panicked, or it could not stop) delivered less than the
    // session shows: never complete.
    if let Err(e) = &stopped {
        complete = false;
        let _ = rec.event(EventRecord::new(
            end_ts,
            kind::TRACKER_LOST,
            -1,
            format!("the tracker failed: {e}"),
        ));
    }
    let _ = rec.event(EventRecord::new(end_ts, kind::NOTE, -1, "session end"));
    let (silence_accepted, validation) = (s.silence_accepted, s.validation);
    drop(s);
    if let Some(i) = inlet {
        i.stop();
    }
    let stats = rec.finish(complete)?;
    tracing::info!(
        complete,
        trials_done,
        samples = stats.counts.gaze,
        dropped = stats.samples_dropped,
        "session closed"
    );
    stopped?;
    result?;
    Ok(SessionOutcome {
        complete,
        trials_done,
        stats,
        silence_accepted,
        validation,
    })
}

/// A text screen for the participant, held until continue is pressed; only in the window (a
/// headless session has no one to read it). False when the session was aborted meanwhile.
async fn text_screen(
    plan: &SessionPlan<'_>,
    s: &mut Session<'_>,
    text: &str,
    what: &'static str,
) -> Result<bool> {
    if plan.presenter.is_none() || text.trim().is_empty() {
        return Ok(!s.operator.abort.load(Ordering::SeqCst));
    }
    s.event(s.next_ts(), kind::NOTE, -1, format!("{what} screen"))?;
    s.operator.view.phase(what);
    let prompt = format!("{what} on screen: space (window) or c (terminal) goes on");
    // Recalibration asked for here happens before the next trial.
    let mut recalibrate = false;
    loop {
        match s.ask(text, &prompt).await? {
            None => return Ok(false),
            Some(Choice::Continue) => break,
            Some(Choice::Recalibrate) => recalibrate = true,
            Some(Choice::Point(_)) => {}
        }
    }
    if recalibrate {
        s.operator.recalibrate.store(true, Ordering::SeqCst);
    }
    s.event(s.next_ts(), kind::NOTE, -1, format!("{what} screen ended"))?;
    Ok(true)
}

/// Between trials: hold while the operator pauses (frames keep coming, blank), and
/// recalibrate when asked (if the study calibrates at all).
async fn operator_break(
    plan: &SessionPlan<'_>,
    s: &mut Session<'_>,
    tracker: &mut dyn Tracker,
    tap: &SampleTap,
) -> Result<()> {
    if s.on_silence == OnSilence::Pause && s.silence.silent() {
        silence_pause(s).await?;
    }
    if s.on_silence == OnSilence::Abort {
        s.abort_if_silent_by_now().await?;
    }
    if s.operator.pause.load(Ordering::SeqCst) {
        s.operator.view.phase("paused");
        s.event(s.next_ts(), kind::NOTE, -1, "paused by the operator")?;
        if let Some(tl) = s.scene {
            tl.publish(s.next_ts(), Scene::Blank);
        }
        let paused = Screen::Text("Paused".into());
        (s.prompt)("paused: c (or space in the window) continues");
        while s.operator.pause.load(Ordering::SeqCst) && !s.operator.abort.load(Ordering::SeqCst) {
            s.hold_frame(&paused).await?;
        }
        s.event(s.next_ts(), kind::NOTE, -1, "resumed by the operator")?;
    }
    if s.operator.recalibrate.swap(false, Ordering::SeqCst) {
        if let Some(cfg) = &plan.calibration {
            s.event(
                s.next_ts(),
                kind::NOTE,
                -1,
                "recalibration asked by the operator",
            )?;
            s.validation =
                calibrate(s, tracker, tap, cfg, &plan.geometry, plan.decision(cfg)).await?;
        }
    }
    Ok(())
}

/// The tracker is silent (`on_silence = "pause"`): hold before the next trial until gaze comes
/// back (the session then goes on by itself) or the operator goes on without it or aborts.
async fn silence_pause(s: &mut Session<'_>) -> Result<()> {
    s.operator.view.phase("tracker silent");
    s.event(
        s.next_ts(),
        kind::NOTE,
        -1,
        "paused: the tracker is silent (tracker.on_silence = \"pause\")",
    )?;
    if let Some(tl) = s.scene {
        tl.publish(s.next_ts(), Scene::Blank);
    }
    let screen = Screen::Text("Please wait a moment.".into());
    (s.prompt)(
        "tracker SILENT: the session goes on by itself when gaze returns; c (or space in the window) goes on without gaze, Esc aborts",
    );
    s.operator.cont.store(false, Ordering::SeqCst);
    loop {
        if s.operator.abort.load(Ordering::SeqCst) {
            return Ok(());
        }
        if !s.silence.silent() {
            return s.event(s.next_ts(), kind::NOTE, -1, "resumed: gaze is back");
        }
        if s.operator.cont.swap(false, Ordering::SeqCst) {
            s.silence_accepted = true;
            return s.event(
                s.next_ts(),
                kind::NOTE,
                -1,
                "resumed by the operator without gaze: the silence is accepted",
            );
        }
        s.hold_frame(&screen).await?;
    }
}

/// Before the first screen that matters (the trials' images are on the GPU already: `launch`
/// puts them there before the recording exists), the display's refresh rate is measured over 60
/// blank frames.
/// The measured rate is planned with when it is plausible; a display that does not pace frames
/// (a virtual X server) keeps the configured one.
async fn prepare_window(
    plan: &SessionPlan<'_>,
    s: &mut Session<'_>,
    presenter: &Presenter,
) -> Result<()> {
    let info = presenter.info();
    if (info.width, info.height) != (plan.screen_w, plan.screen_h) {
        return Err(SessionError::Display(format!(
            "the window is {}x{} px but the study's screen is {}x{} px; gaze would map to the wrong pixels",
            info.width, info.height, plan.screen_w, plan.screen_h
        )));
    }
    let mut stamps = Vec::with_capacity(60);
    for _ in 0..60 {
        if let Some(ts) = s.display.frame(&Screen::Blank).await? {
            s.record(Record::Frame(FrameRecord {
                ts_us: ts,
                trial: -1,
            }))?;
            stamps.push(ts);
        }
    }
    let configured = plan.timing.refresh_hz;
    let measured = et_present::timing::refresh_hz(&stamps);
    // A display that does not pace has no refresh rate to measure: its frame intervals are
    // drawing times (longer on a busy machine), so it keeps the configured rate.
    let used = match measured {
        Some(hz) if !presenter.self_paced() && (hz - configured).abs() / configured > 0.01 => {
            tracing::warn!(
                measured = hz,
                configured,
                "the display refreshes at another rate than the study config says; planning with the measured rate"
            );
            hz
        }
        _ => configured,
    };
    s.display.set_refresh_hz(used);
    s.event(
        s.next_ts(),
        kind::NOTE,
        -1,
        format!(
            "display: {info}, measured {}, planned {used:.3} Hz",
            match measured {
                Some(h) if presenter.self_paced() =>
                    format!("{h:.3} Hz held by the presenter (the display does not pace frames)"),
                Some(h) => format!("{h:.3} Hz"),
                None => "implausible".into(),
            },
        ),
    )?;
    Ok(())
}

async fn present_trials(
    plan: &SessionPlan<'_>,
    s: &mut Session<'_>,
    tracker: &mut dyn Tracker,
    tap: &SampleTap,
    on_trial: &(dyn Fn(u32) + Sync),
) -> Result<u32> {
    let t = &plan.timing;
    let (w, h) = (plan.screen_w, plan.screen_h);
    let rect = fit_rect(plan.set.image_width, plan.set.image_height, w, h);
    s.event(s.next_ts(), kind::NOTE, -1, "session start")?;
    let mut done = 0u32;
    for spec in plan.trials {
        operator_break(plan, s, tracker, tap).await?;
        if s.operator.abort.load(Ordering::SeqCst) {
            break;
        }
        let trial = spec.index as i32;
        let st = &spec.stimulus;
        let start = s.next_ts();
        s.operator.view.trial(
            done + 1,
            plan.trials.len() as u32,
            &st.id,
            start.saturating_add(t.trial_us()),
        );
        s.event(start, kind::TRIAL_START, trial, st.id.clone())?;
        let cross = Scene::Target { x: 0.5, y: 0.5 };
        let cross_frames = s.frames_for(t.fixation_ms);
        if s.show(
            cross_frames,
            cross,
            &Screen::Cross,
            trial,
            (kind::FIXATION_CROSS_ONSET, trial, ""),
        )
        .await?
        .whole()
        .is_none()
        {
            break;
        }
        let on_face = plan.attention.on_face(st.expression, &st.identity);
        let scene = image_scene(plan.set, &on_face, rect, w, h);
        let n = s.frames_for(t.stimulus_ms);
        let image = Screen::Image {
            key: st.id.clone(),
            rect,
        };
        let shown = match s
            .show(
                n,
                scene,
                &image,
                trial,
                (kind::STIMULUS_ONSET, trial, &st.id),
            )
            .await?
        {
            Presented::Whole(shown) => shown,
            Presented::Cut(None) => break,
            Presented::Cut(Some((shown, at))) => {
                // The image was on screen: its row says for how long, and an event says the
                // trial was cut short, so no reader takes it for a whole one.
                s.event(
                    at,
                    kind::TRIAL_ABORTED,
                    trial,
                    format!(
                        "aborted after {:.1} of {} ms",
                        at.saturating_sub(shown.onset) as f64 / 1000.0,
                        t.stimulus_ms
                    ),
                )?;
                s.rec.send(Record::Trial(trial_row(
                    spec,
                    &shown,
                    at,
                    rect,
                    s.refresh_hz(),
                )))?;
                break;
            }
        };
        // The offset is the first frame that no longer shows the image; an abort before it
        // leaves the image up until the frame that would have replaced it.
        let blank = s.frames_for(t.iti_ms);
        let offset = match s
            .show(
                blank,
                Scene::Blank,
                &Screen::Blank,
                -1,
                (kind::STIMULUS_OFFSET, trial, &st.id),
            )
            .await?
        {
            Presented::Whole(o) | Presented::Cut(Some((o, _))) => o.onset,
            Presented::Cut(None) => s.next_ts(),
        };
        let row = trial_row(spec, &shown, offset, rect, s.refresh_hz());
        s.operator.view.dropped(row.dropped_frames);
        s.rec.send(Record::Trial(row))?;
        done += 1;
        on_trial(done);
        let every = plan.text.break_every;
        if every > 0 && done.is_multiple_of(every) && (done as usize) < plan.trials.len() {
            text_screen(plan, s, &plan.text.break_text, "break").await?;
        }
        if s.rec.has_stopped() {
            return Err(SessionError::Recorder(
                "the recorder stopped writing".into(),
            ));
        }
    }
    Ok(done)
}

/// The `/trials` row of a trial shown from `shown.onset` until `offset`. A late offset (the
/// next screen missed its vsync: a loaded machine, a busy compositor) kept the image up for
/// refreshes beyond its own; they count as the trial's dropped frames, so the row never
/// shows a trial longer than planned as a clean one.
fn trial_row(
    spec: &TrialSpec,
    shown: &Shown,
    offset: i64,
    rect: [f32; 4],
    refresh_hz: f64,
) -> TrialRecord {
    let periods = offset.saturating_sub(shown.onset) as f64 * refresh_hz / 1e6;
    let planned = f64::from(shown.frames) + f64::from(shown.dropped);
    let late_offset = (periods - planned).round().max(0.0) as u32;
    TrialRecord {
        onset_us: shown.onset,
        offset_us: offset,
        frames: shown.frames,
        dropped_frames: shown.dropped.saturating_add(late_offset),
        ..TrialRecord::showing(spec.index as i32, &spec.stimulus, rect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use et_drivers::synthetic::{SyntheticConfig, SyntheticTracker};
    use et_drivers::ManualClock;
    use et_recording::format::RecordingHeader;
    use et_recording::reader::Recording;
    use et_stimuli::{trial_list, CounterbalanceVersion};
    use std::sync::atomic::AtomicBool;

    /// A plan on the default 1920×1080 screen, no calibration.
    fn test_plan<'a>(
        set: &'a StimulusSet,
        trials: &'a [TrialSpec],
        timing: Timing,
        missed: &[u64],
    ) -> SessionPlan<'a> {
        SessionPlan {
            set,
            trials,
            timing,
            screen_w: 1920,
            screen_h: 1080,
            attention: crate::attention::AttentionConfig::default().for_participant("P01"),
            calibration: None,
            missed_vsyncs: missed.to_vec(),
            geometry: et_drivers::ScreenGeometry::default(),
            presenter: None,
            text: TextScreens::default(),
            prompt: &|_| {},
            silence_ms: 80,
            on_silence: None,
            lsl: None,
        }
    }

    fn run_short(
        path: &std::path::Path,
        n_trials: usize,
        abort_after: Option<u32>,
        missed: &[u64],
    ) -> SessionOutcome {
        run_short_with(path, n_trials, abort_after, missed, |t, _| Box::new(t)).unwrap()
    }

    /// A short accelerated session of the default set on the synthetic tracker, which `wrap`
    /// may replace by a tracker around it (given the session's operator).
    fn run_short_with(
        path: &std::path::Path,
        n_trials: usize,
        abort_after: Option<u32>,
        missed: &[u64],
        wrap: impl FnOnce(SyntheticTracker, &Arc<Operator>) -> Box<dyn Tracker>,
    ) -> Result<SessionOutcome> {
        run_short_on_silence(path, n_trials, abort_after, missed, None, wrap)
    }

    /// As `run_short_with`, with the study's `on_silence`.
    fn run_short_on_silence(
        path: &std::path::Path,
        n_trials: usize,
        abort_after: Option<u32>,
        missed: &[u64],
        on_silence: Option<OnSilence>,
        wrap: impl FnOnce(SyntheticTracker, &Arc<Operator>) -> Box<dyn Tracker>,
    ) -> Result<SessionOutcome> {
        let clock = Arc::new(ManualClock::new(10_000_000));
        let operator = Arc::new(Operator::default());
        run_short_on(
            clock,
            &operator,
            path,
            n_trials,
            abort_after,
            missed,
            on_silence,
            wrap,
        )
    }

    /// The short session on `clock` with `operator`.
    #[allow(clippy::too_many_arguments)]
    fn run_short_on(
        clock: Arc<dyn et_drivers::Clock>,
        operator: &Arc<Operator>,
        path: &std::path::Path,
        n_trials: usize,
        abort_after: Option<u32>,
        missed: &[u64],
        on_silence: Option<OnSilence>,
        wrap: impl FnOnce(SyntheticTracker, &Arc<Operator>) -> Box<dyn Tracker>,
    ) -> Result<SessionOutcome> {
        let set = et_stimuli::default_set::manifest(256);
        let trials: Vec<_> = trial_list(&set, CounterbalanceVersion::A, 3)
            .unwrap()
            .into_iter()
            .take(n_trials)
            .collect();
        let timing = Timing {
            fixation_ms: 500,
            stimulus_ms: 2000,
            iti_ms: 250,
            refresh_hz: 60.0,
        };
        let plan = SessionPlan {
            on_silence,
            ..test_plan(&set, &trials, timing, missed)
        };
        let scene = SceneTimeline::new();
        let mut tracker = wrap(
            SyntheticTracker::new(SyntheticConfig::default(), clock, scene.clone()).unwrap(),
            operator,
        );
        let mut header = RecordingHeader::new("P01", "1");
        header.sampling_hz = 120.0;
        let writer = RecordingWriter::create(path, &header, Some(&set.to_toml())).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let on_trial = |n: u32| {
            if Some(n) == abort_after {
                operator.abort.store(true, Ordering::SeqCst);
            }
        };
        rt.block_on(run(
            &plan,
            tracker.as_mut(),
            writer,
            Some(&scene),
            None,
            operator,
            &on_trial,
        ))
    }

    /// The synthetic tracker with a test's twist: another clock (`clock`), or a stop that
    /// reports its streaming thread panicked (`panics`).
    struct TestTracker {
        inner: SyntheticTracker,
        clock: Option<Arc<dyn et_drivers::Clock>>,
        panics: bool,
    }

    impl Tracker for TestTracker {
        fn info(&self) -> et_drivers::TrackerInfo {
            self.inner.info()
        }
        fn clock(&self) -> Arc<dyn et_drivers::Clock> {
            self.clock.clone().unwrap_or_else(|| self.inner.clock())
        }
        fn start(
            &mut self,
            sink: et_drivers::SampleSender,
        ) -> Result<(), et_drivers::TrackerError> {
            self.inner.start(sink)
        }
        fn stop(&mut self) -> Result<(), et_drivers::TrackerError> {
            self.inner.stop()?;
            if self.panics {
                return Err(et_drivers::TrackerError::Thread(
                    "the tracker thread panicked".into(),
                ));
            }
            Ok(())
        }
    }

    /// What a relay does with one message from the synthetic tracker.
    enum Relay {
        Send,
        Drop,
        /// Relay nothing more (what is in flight is lost).
        Stop,
    }

    /// A test's rule for each message, given whether the tracker is being stopped.
    type RelayRule = Box<dyn FnMut(&et_drivers::TrackerMessage, &AtomicBool) -> Relay + Send>;

    /// The synthetic tracker behind a thread that relays its messages by a test's `rule`; its
    /// stop then takes `stop_takes` more (an SDK unsubscribing, a busy machine).
    struct RelayTracker {
        inner: SyntheticTracker,
        rule: Option<RelayRule>,
        stop_takes: std::time::Duration,
        stopping: Arc<AtomicBool>,
        forward: Option<std::thread::JoinHandle<()>>,
    }

    impl RelayTracker {
        fn new(inner: SyntheticTracker, rule: RelayRule) -> Self {
            RelayTracker {
                inner,
                rule: Some(rule),
                stop_takes: std::time::Duration::ZERO,
                stopping: Arc::default(),
                forward: None,
            }
        }

        /// The samples of `[from, to)` never sent: a tracker that falls silent without an
        /// error and comes back; with `until`, the gap from `from` on also ends once it is true
        /// (a gap of whatever length a test needs).
        fn gap(
            inner: SyntheticTracker,
            (from, to): (i64, i64),
            until: Option<Arc<AtomicBool>>,
        ) -> Self {
            let mut ended = false;
            let in_gap = move |ts: i64| match &until {
                Some(flag) => ts >= from && !flag.load(Ordering::SeqCst),
                None => (from..to).contains(&ts),
            };
            RelayTracker::new(
                inner,
                Box::new(move |m, _| match m {
                    et_drivers::TrackerMessage::Sample(s) if !ended && in_gap(s.system_ts_us) => {
                        Relay::Drop
                    }
                    et_drivers::TrackerMessage::Sample(s) => {
                        ended |= s.system_ts_us >= from;
                        Relay::Send
                    }
                    et_drivers::TrackerMessage::Event(_) => Relay::Send,
                }),
            )
        }

        /// As a real SDK behaves at the end: each sample is delivered `latency` after its
        /// stamp, and stopping drops what is still in flight; the stop then takes `stop_takes`.
        fn late(
            inner: SyntheticTracker,
            latency: std::time::Duration,
            stop_takes: std::time::Duration,
        ) -> Self {
            let clock = inner.clock();
            let latency_us = latency.as_micros() as i64;
            RelayTracker {
                stop_takes,
                ..RelayTracker::new(
                    inner,
                    Box::new(move |m, stopping| {
                        if let et_drivers::TrackerMessage::Sample(s) = m {
                            while clock.now_us() < s.system_ts_us + latency_us {
                                if stopping.load(Ordering::SeqCst) {
                                    return Relay::Stop;
                                }
                                std::thread::sleep(std::time::Duration::from_millis(1));
                            }
                        }
                        if stopping.load(Ordering::SeqCst) {
                            Relay::Stop
                        } else {
                            Relay::Send
                        }
                    }),
                )
            }
        }
    }

    impl Tracker for RelayTracker {
        fn info(&self) -> et_drivers::TrackerInfo {
            self.inner.info()
        }
        fn clock(&self) -> Arc<dyn et_drivers::Clock> {
            self.inner.clock()
        }
        fn start(
            &mut self,
            sink: et_drivers::SampleSender,
        ) -> Result<(), et_drivers::TrackerError> {
            let (tx, rx) = sample_channel(4096);
            self.inner.start(tx)?;
            let mut rule = self.rule.take().expect("a relay starts once");
            let stopping = Arc::clone(&self.stopping);
            let virtual_time = self.inner.clock().is_virtual();
            self.forward = Some(std::thread::spawn(move || {
                for m in rx.inner().iter() {
                    let sent = match (rule(&m, &stopping), m) {
                        (Relay::Stop, _) => return,
                        (Relay::Drop, _) => Ok(()),
                        (Relay::Send, et_drivers::TrackerMessage::Sample(s)) => {
                            sink.push(s, virtual_time)
                        }
                        (Relay::Send, et_drivers::TrackerMessage::Event(e)) => sink.event(e),
                    };
                    if sent.is_err() {
                        return;
                    }
                }
            }));
            Ok(())
        }
        fn stop(&mut self) -> Result<(), et_drivers::TrackerError> {
            self.stopping.store(true, Ordering::SeqCst);
            self.inner.stop()?;
            if let Some(h) = self.forward.take() {
                let _ = h.join();
            }
            std::thread::sleep(self.stop_takes);
            Ok(())
        }
    }

    /// A one-trial session in real time on `tracker`'s wrapping of the synthetic one.
    fn run_real_time(
        path: &std::path::Path,
        wrap: impl FnOnce(SyntheticTracker, &Arc<Operator>) -> Box<dyn Tracker>,
    ) -> SessionOutcome {
        let clock: Arc<dyn et_drivers::Clock> = Arc::new(et_drivers::MonotonicClock);
        let operator = Arc::new(Operator::default());
        run_short_on(clock, &operator, path, 1, None, &[], None, wrap).unwrap()
    }

    /// A clock that presses the operator's abort once the session's time passes `at_us`: an
    /// abort at an exact moment of a trial, whatever the machine does.
    struct AbortingClock {
        inner: Arc<dyn et_drivers::Clock>,
        at_us: i64,
        operator: Arc<Operator>,
    }

    impl et_drivers::Clock for AbortingClock {
        fn now_us(&self) -> i64 {
            self.inner.now_us()
        }
        fn wait_until(&self, t_us: i64, max_wait: std::time::Duration) -> bool {
            self.inner.wait_until(t_us, max_wait)
        }
        fn real_delay_until(&self, t_us: i64) -> Option<std::time::Duration> {
            self.inner.real_delay_until(t_us)
        }
        fn advance_to(&self, t_us: i64) {
            self.inner.advance_to(t_us);
            if t_us >= self.at_us {
                self.operator.abort.store(true, Ordering::SeqCst);
            }
        }
        fn is_virtual(&self) -> bool {
            self.inner.is_virtual()
        }
    }

    /// The synthetic tracker on a clock that aborts the session at `at_us`.
    fn aborting_at(t: SyntheticTracker, at_us: i64, operator: &Arc<Operator>) -> TestTracker {
        let clock = Arc::new(AbortingClock {
            inner: t.clock(),
            at_us,
            operator: operator.clone(),
        });
        TestTracker {
            inner: t,
            clock: Some(clock),
            panics: false,
        }
    }

    /// Aborting while an image is shown keeps that trial: its row with the time it was really
    /// on screen, and a `trial_aborted` event so no reader takes it for a whole trial. (The old
    /// runner dropped the row: the gaze on the image had no trial to belong to.)
    #[test]
    fn a_trial_cut_short_by_an_abort_keeps_its_row_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        // Trial 0 runs 0–2.75 s after the start; trial 1's image is up from about 3.25 s for
        // 2 s: abort half-way through it.
        let onset_1 = {
            let out = run_short(&dir.path().join("whole.h5"), 2, None, &[]);
            assert!(out.complete);
            let r = Recording::open(&dir.path().join("whole.h5")).unwrap();
            r.trials[1].onset_us
        };
        let out = run_short_with(&path, 4, None, &[], |t, op| {
            Box::new(aborting_at(t, onset_1 + 1_000_000, op))
        })
        .unwrap();
        assert!(!out.complete);
        let r = Recording::open(&path).unwrap();
        assert_eq!(r.trials.len(), 2, "{:?}", r.trials);
        let cut = &r.trials[1];
        let shown_ms = (cut.offset_us - cut.onset_us) as f64 / 1000.0;
        assert!(
            (990.0..=1020.0).contains(&shown_ms),
            "shown {shown_ms} ms until the abort"
        );
        assert!(
            cut.frames >= 59 && cut.frames <= 61,
            "{} frames",
            cut.frames
        );
        let aborted: Vec<_> = r
            .events
            .iter()
            .filter(|e| e.kind == kind::TRIAL_ABORTED)
            .collect();
        assert_eq!(aborted.len(), 1);
        assert_eq!(aborted[0].trial, cut.trial);
        assert_eq!(aborted[0].ts_us, cut.offset_us);
        assert!(
            aborted[0].text.contains("of 2000 ms"),
            "{}",
            aborted[0].text
        );
    }

    /// The operator's live view follows the session: the last trial, the dropped frames the
    /// trials counted, the share of valid samples the tap holds.
    #[test]
    fn the_live_view_follows_trials_dropped_frames_and_samples() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        let seen = std::cell::RefCell::new(None);
        let out = run_short_with(&path, 2, None, &[40, 41, 100], |t, op| {
            *seen.borrow_mut() = Some(Arc::clone(op));
            Box::new(t)
        })
        .unwrap();
        assert!(out.complete);
        let op = seen.into_inner().unwrap();
        let snap = op.view.snapshot();
        let r = Recording::open(&path).unwrap();
        assert_eq!(snap.trial, Some((2, 2)));
        assert_eq!(snap.stimulus, r.trials[1].stimulus_id);
        let dropped: u64 = r.trials.iter().map(|t| u64::from(t.dropped_frames)).sum();
        assert!(dropped >= 3, "{dropped}");
        assert_eq!(snap.dropped_frames, dropped);
        // The synthetic participant's gaze is valid nearly always.
        assert!(snap.valid_share_2s.is_some_and(|v| v > 0.8), "{snap:?}");
        assert_eq!(snap.trial_left_ms, Some(0.0));
    }

    #[test]
    fn a_tracker_that_failed_never_leaves_a_file_marked_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        let r = run_short_with(&path, 2, None, &[], |t, _| {
            Box::new(TestTracker {
                inner: t,
                clock: None,
                panics: true,
            })
        });
        assert!(r.is_err());
        let rec = Recording::open(&path).unwrap();
        assert!(!rec.header.complete);
        assert_eq!(rec.trials.len(), 2);
        assert!(rec
            .events
            .iter()
            .any(|e| e.kind == "tracker_lost" && e.text.contains("panicked")));
    }

    #[test]
    fn a_replay_that_ends_early_leaves_trials_without_gaze_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        // 3 s of valid gaze from the session's start; the 4 trials last 11 s.
        let samples: Arc<[et_drivers::GazeSample]> = (0..360)
            .map(|k| {
                let mut e = et_drivers::EyeSample::INVALID;
                (e.gaze_x, e.gaze_y, e.gaze_valid) = (0.5, 0.5, true);
                let ts = 10_000_000 + (k as f64 * 1e6 / 120.0).round() as i64;
                et_drivers::GazeSample {
                    system_ts_us: ts,
                    device_ts_us: ts,
                    left: e,
                    right: e,
                }
            })
            .collect();
        let out = run_short_with(&path, 4, None, &[], |t, _| {
            let info = t.info();
            Box::new(et_drivers::replay::ReplayTracker::with_clock(
                samples,
                info,
                t.clock(),
            ))
        })
        .unwrap();
        assert!(out.complete, "the session ran to its end");
        let w = out.stats.watch;
        assert!(w.tracker_data_ended);
        assert_eq!(w.silences, 0, "the end of a replay is not silence");
        assert_eq!(w.trials_without_gaze, 3);
        assert!(out.unaccepted_gaze_problem());
        let r = Recording::open(&path).unwrap();
        assert_eq!(r.header.tracker_silent_ms, Some(0.0));
        assert!(r.events.iter().any(|e| e.kind == kind::REPLAY_END));
        assert!(!r.events.iter().any(|e| e.kind == kind::TRACKER_LOST));
        let first = &r.trials[0].samples;
        assert_eq!(
            (first.expected, first.received, first.valid),
            (240, 240, 240)
        );
        for t in &r.trials[1..] {
            assert_eq!(t.samples.expected, 240);
            assert_eq!(t.samples.received, 0, "{t:?}");
        }
    }

    #[test]
    fn a_tracker_silent_for_two_seconds_is_recorded_at_the_samples_around_the_gap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        // Trial 1's stimulus runs from 13.25 s to 15.25 s of the session clock.
        let gap = (13_500_000, 15_500_000);
        let out = run_short_with(&path, 4, None, &[], |t, _| {
            Box::new(RelayTracker::gap(t, gap, None))
        })
        .unwrap();
        assert!(out.complete, "headless sessions go on through silence");
        assert_eq!(out.stats.watch.silences, 1);
        assert!(out.unaccepted_gaze_problem());
        let r = Recording::open(&path).unwrap();
        let before = r
            .gaze
            .iter()
            .rev()
            .find(|s| s.system_ts_us < gap.0)
            .unwrap();
        let after = r.gaze.iter().find(|s| s.system_ts_us >= gap.1).unwrap();
        let lost: Vec<_> = r
            .events
            .iter()
            .filter(|e| e.kind == kind::TRACKER_LOST)
            .collect();
        let back: Vec<_> = r
            .events
            .iter()
            .filter(|e| e.kind == kind::TRACKER_BACK)
            .collect();
        assert_eq!((lost.len(), back.len()), (1, 1), "{:?}", r.events);
        assert_eq!(lost[0].ts_us, before.system_ts_us);
        assert_eq!(back[0].ts_us, after.system_ts_us);
        let period = 8_334;
        assert!((lost[0].ts_us - gap.0).abs() <= period && (back[0].ts_us - gap.1).abs() <= period);
        let silent = r.header.tracker_silent_ms.unwrap();
        assert!((silent - (after.system_ts_us - before.system_ts_us) as f64 / 1000.0).abs() < 1e-6);
        // The trial the gap falls in counts what it got.
        let t1 = &r.trials[1];
        assert!(t1.samples.received < t1.samples.expected, "{t1:?}");
        assert!(t1.samples.received > 0, "{t1:?}");
        assert!(r.trials.iter().all(|t| !t.samples.without_gaze()));
    }

    /// Shutting down after the last trial may take any time (an SDK unsubscribing, an LSL
    /// inlet closing, a busy machine): the tracker stopped streaming at the session's end, so
    /// the time after it is not silence. (The recorder judged silence up to whenever it heard
    /// of the end, and a session on a busy machine failed with "gaps nobody accepted".)
    #[test]
    fn a_slow_shutdown_after_the_last_trial_is_not_silence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        let out = run_real_time(&path, |t, _| {
            Box::new(RelayTracker::late(
                t,
                std::time::Duration::ZERO,
                std::time::Duration::from_millis(400),
            ))
        });
        assert!(out.complete);
        assert_eq!(out.stats.watch.silences, 0, "{:?}", out.stats.watch);
        assert!(!out.unaccepted_gaze_problem());
        let r = Recording::open(&path).unwrap();
        assert!(
            !r.events.iter().any(|e| e.kind == kind::TRACKER_LOST),
            "{:?}",
            r.events
        );
        assert_eq!(r.header.tracker_silent_ms, Some(0.0));
    }

    /// A tracker delivers each sample some time after its stamp; stopping it drops those still
    /// in flight. The session waits for the samples up to its end before it stops the tracker,
    /// so the last trial keeps its last samples and the end is not silence.
    #[test]
    fn samples_in_flight_at_the_end_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        let out = run_real_time(&path, |t, _| {
            Box::new(RelayTracker::late(
                t,
                std::time::Duration::from_millis(200),
                std::time::Duration::ZERO,
            ))
        });
        assert!(out.complete);
        assert_eq!(out.stats.watch.silences, 0, "{:?}", out.stats.watch);
        let r = Recording::open(&path).unwrap();
        let end = r
            .events
            .iter()
            .find(|e| e.text == "session end")
            .unwrap()
            .ts_us;
        let last = r.gaze.last().unwrap().system_ts_us;
        assert!(last >= end - 8_334, "last sample {last}, session end {end}");
    }

    /// In real time, silence pauses the session before the next trial (`on_silence = "pause"`);
    /// the operator goes on without gaze, which accepts it, and gaze comes back later.
    #[test]
    fn the_operator_continues_through_a_silence_and_accepts_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        let clock: Arc<dyn et_drivers::Clock> = Arc::new(et_drivers::MonotonicClock);
        let operator = Arc::new(Operator::default());
        let back = Arc::new(AtomicBool::new(false));
        let gap_from = clock.now_us() + 1_000_000;
        // The operator: waits for the pause (however long a busy machine takes to notice),
        // goes on, and the tracker comes back 2 s after the pause began.
        let helper = {
            let (operator, back) = (Arc::clone(&operator), Arc::clone(&back));
            std::thread::spawn(move || {
                let t0 = std::time::Instant::now();
                while operator.view.snapshot().phase != "tracker silent" {
                    assert!(
                        t0.elapsed() < std::time::Duration::from_secs(120),
                        "no pause"
                    );
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                operator.press_continue();
                std::thread::sleep(std::time::Duration::from_secs(2));
                back.store(true, Ordering::SeqCst);
            })
        };
        let out = run_short_on(
            Arc::clone(&clock),
            &operator,
            &path,
            2,
            None,
            &[],
            Some(OnSilence::Pause),
            |t, _| Box::new(RelayTracker::gap(t, (gap_from, i64::MAX), Some(back))),
        )
        .unwrap();
        helper.join().unwrap();
        assert!(out.complete);
        assert!(out.silence_accepted);
        assert!(!out.unaccepted_gaze_problem());
        let r = Recording::open(&path).unwrap();
        let notes: Vec<&str> = r.events.iter().map(|e| e.text.as_str()).collect();
        let paused = notes
            .iter()
            .position(|t| t.starts_with("paused: the tracker is silent"));
        let went_on = notes
            .iter()
            .position(|t| t.starts_with("resumed by the operator without gaze"));
        assert!(paused.is_some() && went_on > paused, "{notes:?}");
        let before = r
            .gaze
            .iter()
            .rev()
            .find(|s| s.system_ts_us < gap_from)
            .unwrap();
        let after = r.gaze.iter().find(|s| s.system_ts_us >= gap_from).unwrap();
        // The pair around the gap (a busy machine may add a pair for samples that came late,
        // which says so and is not silence).
        let pair = |k: &str, ts: i64| r.events.iter().any(|e| e.kind == k && e.ts_us == ts);
        assert!(
            pair(kind::TRACKER_LOST, before.system_ts_us)
                && pair(kind::TRACKER_BACK, after.system_ts_us),
            "{:?}",
            r.events
        );
        assert!(after.system_ts_us - before.system_ts_us >= 2_000_000);
    }

    #[test]
    fn on_silence_abort_ends_the_session_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        let out = run_short_on_silence(&path, 4, None, &[], Some(OnSilence::Abort), |t, _| {
            Box::new(RelayTracker::gap(t, (13_500_000, 15_500_000), None))
        })
        .unwrap();
        assert!(!out.complete);
        assert!(out.trials_done < 4);
        let r = Recording::open(&path).unwrap();
        assert!(!r.header.complete);
        assert!(r
            .events
            .iter()
            .any(|e| e.text.contains("the tracker fell silent")));
    }

    #[test]
    fn accelerated_session_records_every_frame_trial_and_sample() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        let out = run_short(&path, 4, None, &[]);
        assert!(out.complete);
        assert_eq!(out.trials_done, 4);
        let r = Recording::open(&path).unwrap();
        assert!(r.header.complete);
        assert_eq!(r.trials.len(), 4);
        // Per trial: 30 cross + 120 stimulus + 15 blank frames at 60 Hz.
        assert_eq!(r.frames.len(), 4 * 165);
        for t in &r.trials {
            assert_eq!(t.frames, 120);
            assert_eq!(t.offset_us - t.onset_us, 2_000_000);
            // 2 s at 120 Hz; the synthetic tracker's stamps jitter, so one may fall outside.
            assert_eq!(t.samples.expected, 240);
            assert!((239..=241).contains(&t.samples.received), "{:?}", t.samples);
            let onset = r
                .events
                .iter()
                .find(|e| e.kind == "stimulus_onset" && e.trial == t.trial)
                .unwrap();
            assert_eq!(onset.ts_us, t.onset_us);
        }
        // Samples span the whole session at 120 Hz without gaps.
        let first = r.gaze.first().unwrap().system_ts_us;
        let last = r.gaze.last().unwrap().system_ts_us;
        let expected = ((last - first) as f64 * 120e-6).round() as usize + 1;
        assert_eq!(r.gaze.len(), expected);
        assert!(r
            .gaze
            .windows(2)
            .all(|w| w[1].system_ts_us > w[0].system_ts_us));
        assert!(last >= r.frames.last().unwrap().ts_us);
        assert_eq!(out.stats.counts.gaze, r.gaze.len());
        assert_eq!(out.stats.samples_dropped, 0);
    }

    #[test]
    fn aborted_session_is_closed_readable_and_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        let out = run_short(&path, 4, Some(2), &[]);
        assert!(!out.complete);
        let r = Recording::open(&path).unwrap();
        assert!(!r.header.complete);
        assert_eq!(r.trials.len(), 2);
        assert!(r
            .events
            .iter()
            .any(|e| e.kind == "note" && e.text.contains("aborted by the operator after 2 of 4")));
    }

    #[test]
    fn missed_vsyncs_are_counted_per_trial_and_do_not_stretch_the_stimulus() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        // Trial 0: cross frames 0..30, stimulus vsyncs 30..150; miss 40, 41 and 100.
        let out = run_short(&path, 2, None, &[40, 41, 100]);
        assert!(out.complete);
        let r = Recording::open(&path).unwrap();
        let (t0, t1) = (&r.trials[0], &r.trials[1]);
        // Two late frames, one of them two refreshes late: three missed refreshes.
        assert_eq!((t0.frames, t0.dropped_frames), (117, 3));
        assert_eq!(
            t0.offset_us - t0.onset_us,
            2_000_000,
            "the stimulus still lasts 120 refreshes"
        );
        assert_eq!((t1.frames, t1.dropped_frames), (120, 0));
        assert_eq!(r.frames.len(), 2 * 165 - 3);
    }

    /// The offset's own vsync missed: the image stays up one refresh longer, and the row says
    /// so (the old row called the 2.017 s trial clean).
    #[test]
    fn a_late_offset_counts_as_a_dropped_frame_of_its_trial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        // Trial 0: cross frames 0..30, stimulus vsyncs 30..150; the offset is due at 150.
        let out = run_short(&path, 2, None, &[150]);
        assert!(out.complete);
        let r = Recording::open(&path).unwrap();
        let t0 = &r.trials[0];
        let lasted = t0.offset_us - t0.onset_us;
        assert!((2_016_000..2_017_000).contains(&lasted), "{lasted}");
        assert_eq!((t0.frames, t0.dropped_frames), (120, 1));
        assert_eq!(r.trials[1].dropped_frames, 0);
    }

    #[test]
    fn operator_pause_holds_between_trials_and_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.h5");
        let set = et_stimuli::default_set::manifest(256);
        let trials: Vec<_> = trial_list(&set, CounterbalanceVersion::A, 3)
            .unwrap()
            .into_iter()
            .take(3)
            .collect();
        let timing = Timing {
            fixation_ms: 100,
            stimulus_ms: 200,
            iti_ms: 100,
            refresh_hz: 60.0,
        };
        let plan = test_plan(&set, &trials, timing, &[]);
        let scene = SceneTimeline::new();
        let clock = Arc::new(ManualClock::new(0));
        let mut tracker =
            SyntheticTracker::new(SyntheticConfig::default(), clock, scene.clone()).unwrap();
        let writer =
            RecordingWriter::create(&path, &RecordingHeader::new("P01", "1"), None).unwrap();
        let operator = Arc::new(Operator::default());
        let op = Arc::clone(&operator);
        let on_trial = move |n: u32| {
            if n == 1 {
                op.pause.store(true, Ordering::SeqCst);
                let op2 = Arc::clone(&op);
                std::thread::spawn(move || {
                    std::thread::sleep(std::time::Duration::from_millis(30));
                    op2.pause.store(false, Ordering::SeqCst);
                });
            }
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let out = rt
            .block_on(run(
                &plan,
                &mut tracker,
                writer,
                Some(&scene),
                None,
                &operator,
                &on_trial,
            ))
            .unwrap();
        assert!(out.complete && out.trials_done == 3);
        let r = Recording::open(&path).unwrap();
        let paused = r
            .events
            .iter()
            .find(|e| e.text == "paused by the operator")
            .expect("pause recorded");
        let resumed = r
            .events
            .iter()
            .find(|e| e.text == "resumed by the operator")
            .expect("resume recorded");
        assert!(resumed.ts_us > paused.ts_us);
        assert!(
            r.trials[1].onset_us > resumed.ts_us,
            "trial 2 waits for the operator"
        );
    }

    #[test]
    fn existing_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.h5");
        std::fs::write(&path, b"precious").unwrap();
        let e = RecordingWriter::create(&path, &RecordingHeader::new("P", "1"), None)
            .err()
            .unwrap();
        assert!(e.to_string().contains("already exists"));
        assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    }

    #[test]
    fn fit_keeps_aspect_and_centres() {
        assert_eq!(
            fit_rect(1024, 1024, 1920, 1080),
            [420.0, 0.0, 1080.0, 1080.0]
        );
        assert_eq!(fit_rect(200, 100, 1000, 1000), [0.0, 250.0, 1000.0, 500.0]);
    }
}
