//! The headless study runner: drives a tracker through a trial list on a simulated frame clock
//! (fixation cross, stimulus for a whole number of frames, blank inter-trial interval) and
//! records gaze, events, trials and frames. The real presenter replaces the frame clock later;
//! the recording it produces has the same shape.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use et_drivers::serial::MarkerPort;
use et_drivers::synthetic::{Scene, SceneTimeline};
use et_drivers::{sample_channel, Clock, Tracker};
use et_stimuli::timing::FrameTiming;
use et_stimuli::{StimulusSet, TrialSpec};

use crate::attention::{image_scene, AttentionConfig};
use crate::calibration::{calibrate, CalibrationConfig};
use crate::config::Timing;
use crate::error::{Result, SessionError};
use crate::format::{kind, EventRecord, FrameRecord, TrialRecord};
use crate::recorder::{
    spawn_recorder, FlushPolicy, Record, RecorderHandle, RecorderStats, SampleTap,
};
use crate::writer::RecordingWriter;

/// Everything a session needs besides the tracker and the file.
pub struct SessionPlan<'a> {
    pub set: &'a StimulusSet,
    pub trials: &'a [TrialSpec],
    pub timing: Timing,
    pub screen_w: u32,
    pub screen_h: u32,
    /// Where simulated participants look (used only when `scene` is given).
    pub attention: AttentionConfig,
    /// Calibrate and validate before the first trial.
    pub calibration: Option<CalibrationConfig>,
    /// Vsync indices the simulated display misses (to exercise dropped-frame handling).
    pub missed_vsyncs: Vec<u64>,
    pub geometry: et_drivers::ScreenGeometry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOutcome {
    pub complete: bool,
    pub trials_done: u32,
    pub stats: RecorderStats,
}

/// The image rectangle (x, y, w, h in screen px): scaled to fit, aspect kept, centred.
pub fn fit_rect(img_w: u32, img_h: u32, screen_w: u32, screen_h: u32) -> [f32; 4] {
    let s = (f64::from(screen_w) / f64::from(img_w)).min(f64::from(screen_h) / f64::from(img_h));
    let (w, h) = (f64::from(img_w) * s, f64::from(img_h) * s);
    [
        ((f64::from(screen_w) - w) / 2.0) as f32,
        ((f64::from(screen_h) - h) / 2.0) as f32,
        w as f32,
        h as f32,
    ]
}

/// The simulated display: frame k is shown at `t0 + k/refresh`.
struct FrameClock {
    clock: Arc<dyn Clock>,
    t0: i64,
    period_us: f64,
    /// Index of the next vsync.
    k: u64,
    /// Vsyncs the simulated display misses (the frame waits for the next one).
    missed: std::collections::BTreeSet<u64>,
    timing: FrameTiming,
}

impl FrameClock {
    fn next_ts(&self) -> i64 {
        self.t0 + (self.k as f64 * self.period_us).round() as i64
    }

    /// Waits for the next frame (sleeping in real time, or moving a driven clock) and returns
    /// its time stamp.
    async fn tick(&mut self) -> i64 {
        let ts = self.next_ts();
        match self.clock.real_delay_until(ts) {
            Some(d) if !d.is_zero() => tokio::time::sleep(d).await,
            Some(_) => {}
            None => self.clock.advance_to(ts),
        }
        self.k += 1;
        self.timing.observe(ts);
        ts
    }
}

/// What a screen's frames were: first frame, frames presented, refreshes missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shown {
    pub onset: i64,
    pub frames: u32,
    pub dropped: u32,
}

pub(crate) struct Session<'a> {
    frames: FrameClock,
    rec: &'a RecorderHandle,
    scene: Option<&'a SceneTimeline>,
    operator: &'a Operator,
    markers: Option<&'a mut MarkerPort>,
}

impl Session<'_> {
    /// Shows one screen for `n` frames and returns the first frame's time stamp. The scene is
    /// published before its first frame so the simulated eye sees it exactly from then, and
    /// `onset` (kind, trial, text) is recorded as soon as that frame is shown.
    pub(crate) async fn show(
        &mut self,
        n: u32,
        scene: Scene,
        trial: i32,
        onset: (&str, i32, &str),
    ) -> Result<Option<Shown>> {
        if let Some(tl) = self.scene {
            tl.publish(self.frames.next_ts(), scene);
        }
        // The screen lasts `n` refresh periods; frames the display misses shorten what is
        // shown, not how long.
        let end = self.frames.k + u64::from(n);
        self.frames.timing.reset_counts();
        let mut first = None;
        while self.frames.k < end {
            if self.operator.abort.load(Ordering::SeqCst) {
                return Ok(None);
            }
            if self.frames.missed.contains(&self.frames.k) {
                // No new frame at this vsync: the previous one stays up.
                self.frames.k += 1;
                continue;
            }
            let ts = self.frames.tick().await;
            self.rec
                .send(Record::Frame(FrameRecord { ts_us: ts, trial }))?;
            if first.is_none() {
                first = Some(ts);
                self.event(ts, onset.0, onset.1, onset.2)?;
                self.marker(onset.0, onset.1)?;
            }
        }
        let onset = first.unwrap_or_else(|| self.frames.next_ts());
        Ok(Some(Shown {
            onset,
            frames: self.frames.timing.frames,
            dropped: self.frames.timing.dropped,
        }))
    }

    /// Sends the serial marker configured for `kind`, and records it (or its failure: a dead
    /// port must not end the session).
    fn marker(&mut self, kind: &str, trial: i32) -> Result<()> {
        let Some(port) = self.markers.as_deref_mut() else {
            return Ok(());
        };
        match port.send(kind, self.frames.clock.as_ref()) {
            Ok(Some(m)) => self.rec.event(EventRecord::new(
                m.ts_us,
                kind::MARKER,
                trial,
                format!("code {} for {kind} (write {} µs)", m.code, m.write_us),
            )),
            Ok(None) => Ok(()),
            Err(e) => {
                tracing::error!("{e}");
                self.rec.event(EventRecord::new(
                    self.frames.clock.now_us(),
                    kind::NOTE,
                    trial,
                    format!("marker not sent: {e}"),
                ))
            }
        }
    }

    pub(crate) fn next_ts(&self) -> i64 {
        self.frames.next_ts()
    }

    pub(crate) fn refresh_hz(&self) -> f64 {
        1e6 / self.frames.period_us
    }

    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.frames.clock)
    }

    pub(crate) fn record(&self, r: Record) -> Result<()> {
        self.rec.send(r)
    }

    pub(crate) fn event(
        &self,
        ts: i64,
        k: &str,
        trial: i32,
        text: impl Into<String>,
    ) -> Result<()> {
        self.rec.event(EventRecord::new(ts, k, trial, text))
    }
}

/// What the operator asks for while a session runs (keys, signals).
#[derive(Debug, Default)]
pub struct Operator {
    pub abort: AtomicBool,
    pub pause: AtomicBool,
    pub recalibrate: AtomicBool,
}

/// Runs the session to the end (or until the operator aborts) and closes the recording: complete
/// after the last trial, incomplete with an `aborted` note otherwise. `scene` is the synthetic
/// tracker's view of the screen, when the tracker is synthetic.
pub async fn run_headless(
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
    // Validation judges live samples: the recorder shares the last 30 s of them.
    let tap = plan
        .calibration
        .as_ref()
        .map(|_| SampleTap::new((hz * 30.0) as usize));
    let rec = spawn_recorder(
        writer,
        rx,
        FlushPolicy {
            tap: tap.clone(),
            ..FlushPolicy::default()
        },
    )?;
    let t0 = clock.now_us();
    tracing::info!(
        trials = plan.trials.len(),
        sampling_hz = hz,
        virtual_time = clock.is_virtual(),
        "session starts"
    );
    let mut s = Session {
        frames: FrameClock {
            clock: Arc::clone(&clock),
            t0,
            period_us: 1e6 / plan.timing.refresh_hz,
            k: 0,
            missed: plan.missed_vsyncs.iter().copied().collect(),
            timing: FrameTiming::new(plan.timing.refresh_hz),
        },
        rec: &rec,
        scene,
        operator,
        markers,
    };
    if let Err(e) = tracker.start(tx) {
        let _ = rec.finish(false);
        return Err(e.into());
    }
    let calibrated = match (&plan.calibration, &tap) {
        (Some(cfg), Some(tap)) => calibrate(&mut s, tracker, tap, cfg, &plan.geometry)
            .await
            .map(|_| ()),
        _ => Ok(()),
    };
    let result = match calibrated {
        Ok(()) => present_trials(plan, &mut s, tracker, tap.as_ref(), on_trial).await,
        Err(e) => Err(e),
    };
    // Stop streaming at the last frame's time: every sample up to then is recorded.
    let end_ts = s.frames.next_ts();
    clock.advance_to(end_ts);
    let stopped = tracker.stop();
    let (complete, trials_done, note) = match &result {
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
    let _ = rec.event(EventRecord::new(end_ts, kind::NOTE, -1, "session end"));
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
    })
}

/// Between trials: hold while the operator pauses (frames keep coming, blank), and
/// recalibrate when asked (if the study calibrates at all).
async fn operator_break(
    plan: &SessionPlan<'_>,
    s: &mut Session<'_>,
    tracker: &mut dyn Tracker,
    tap: Option<&SampleTap>,
) -> Result<()> {
    if s.operator.pause.load(Ordering::SeqCst) {
        s.event(s.next_ts(), kind::NOTE, -1, "paused by the operator")?;
        if let Some(tl) = s.scene {
            tl.publish(s.next_ts(), Scene::Blank);
        }
        while s.operator.pause.load(Ordering::SeqCst) && !s.operator.abort.load(Ordering::SeqCst) {
            let ts = s.frames.tick().await;
            s.record(Record::Frame(FrameRecord {
                ts_us: ts,
                trial: -1,
            }))?;
            if s.frames.clock.is_virtual() {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
        s.event(s.next_ts(), kind::NOTE, -1, "resumed by the operator")?;
    }
    if s.operator.recalibrate.swap(false, Ordering::SeqCst) {
        if let (Some(cfg), Some(tap)) = (&plan.calibration, tap) {
            s.event(
                s.next_ts(),
                kind::NOTE,
                -1,
                "recalibration asked by the operator",
            )?;
            calibrate(s, tracker, tap, cfg, &plan.geometry).await?;
        }
    }
    Ok(())
}

async fn present_trials(
    plan: &SessionPlan<'_>,
    s: &mut Session<'_>,
    tracker: &mut dyn Tracker,
    tap: Option<&SampleTap>,
    on_trial: &(dyn Fn(u32) + Sync),
) -> Result<u32> {
    let t = &plan.timing;
    let (w, h) = (plan.screen_w, plan.screen_h);
    let rect = fit_rect(plan.set.image_width, plan.set.image_height, w, h);
    s.event(s.frames.next_ts(), kind::NOTE, -1, "session start")?;
    let mut done = 0u32;
    for spec in plan.trials {
        operator_break(plan, s, tracker, tap).await?;
        if s.operator.abort.load(Ordering::SeqCst) {
            break;
        }
        let trial = spec.index as i32;
        let st = &spec.stimulus;
        s.event(s.frames.next_ts(), kind::TRIAL_START, trial, st.id.clone())?;
        let cross = Scene::Target { x: 0.5, y: 0.5 };
        let cross_frames = t.frames(t.fixation_ms);
        if s.show(
            cross_frames,
            cross,
            trial,
            (kind::FIXATION_CROSS_ONSET, trial, ""),
        )
        .await?
        .is_none()
        {
            break;
        }
        let scene = image_scene(plan.set, st.expression, &plan.attention, rect, w, h);
        let n = t.frames(t.stimulus_ms);
        let Some(shown) = s
            .show(n, scene, trial, (kind::STIMULUS_ONSET, trial, &st.id))
            .await?
        else {
            break;
        };
        // The offset is the first frame that no longer shows the image.
        let blank = t.frames(t.iti_ms);
        let Some(offset) = s
            .show(
                blank,
                Scene::Blank,
                -1,
                (kind::STIMULUS_OFFSET, trial, &st.id),
            )
            .await?
        else {
            break;
        };
        let offset = offset.onset;
        s.rec.send(Record::Trial(TrialRecord {
            trial,
            stimulus_id: st.id.clone(),
            identity: st.identity.clone(),
            condition: st.condition.clone(),
            variant: st.variant.as_str().into(),
            expression: st.expression.as_str().into(),
            onset_us: shown.onset,
            offset_us: offset,
            frames: shown.frames,
            dropped_frames: shown.dropped,
            image_rect: rect,
        }))?;
        done += 1;
        on_trial(done);
        if s.rec.has_stopped() {
            return Err(SessionError::Recorder(
                "the recorder stopped writing".into(),
            ));
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::RecordingHeader;
    use crate::reader::Recording;
    use et_drivers::synthetic::{SyntheticConfig, SyntheticTracker};
    use et_drivers::ManualClock;
    use et_stimuli::{trial_list, CounterbalanceVersion};

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
            attention: AttentionConfig::default(),
            calibration: None,
            missed_vsyncs: missed.to_vec(),
            geometry: et_drivers::ScreenGeometry::default(),
        }
    }

    fn run_short(
        path: &std::path::Path,
        n_trials: usize,
        abort_after: Option<u32>,
        missed: &[u64],
    ) -> SessionOutcome {
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
        let plan = test_plan(&set, &trials, timing, missed);
        let scene = SceneTimeline::new();
        let clock = Arc::new(ManualClock::new(10_000_000));
        let mut tracker =
            SyntheticTracker::new(SyntheticConfig::default(), clock, scene.clone()).unwrap();
        let mut header = RecordingHeader::new("P01", "1");
        header.sampling_hz = 120.0;
        let writer = RecordingWriter::create(path, &header, Some(&set.to_toml())).unwrap();
        let operator = Operator::default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let on_trial = |n: u32| {
            if Some(n) == abort_after {
                operator.abort.store(true, Ordering::SeqCst);
            }
        };
        rt.block_on(run_headless(
            &plan,
            &mut tracker,
            writer,
            Some(&scene),
            None,
            &operator,
            &on_trial,
        ))
        .unwrap()
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
            .block_on(run_headless(
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
