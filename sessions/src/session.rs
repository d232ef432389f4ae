//! One session under way, as the runner, calibration and the positioning guide share it: the
//! display it shows screens on, the recorder it sends to, the operator's requests, the silence
//! policy, and what the operator answered (`Choice`) and accepted (`Verdict`).

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use et_drivers::serial::MarkerPort;
use et_drivers::synthetic::{Scene, SceneTimeline};
use et_drivers::Clock;
use et_present::{OperatorKey, Presenter, Screen};

use crate::display::{whole_frames, Display, Span};
use crate::error::Result;
use crate::recorder::{Record, RecorderHandle};
use crate::silence::{OnSilence, SilenceState};
use et_recording::format::{kind, EventRecord, FrameRecord};

/// Who decides what follows a validation, and when the positioning guide is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Pass: go on; fail: recalibrate every point, up to `max_attempts`.
    Auto,
    /// The operator sees the result and accepts, redoes one point or recalibrates.
    Operator,
}

/// The operator's answer to a question the session asks (a text screen, a validation result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Choice {
    Continue,
    Recalibrate,
    /// Redo calibration point n (1-based, in reading order).
    Point(u8),
}

/// How a calibration's validation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The accepted validation met the thresholds.
    Passed,
    /// It did not, and the operator accepted it anyway (a key in the window, or
    /// `--accept-failed-validation` headless).
    AcceptedFailing,
    /// Every attempt failed and nobody accepted one: the data has a problem.
    Failed,
    /// The session was aborted during calibration.
    Aborted,
}

/// What a screen's frames were: first frame, frames presented, refreshes missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shown {
    pub onset: i64,
    pub frames: u32,
    pub dropped: u32,
}

/// What `show` put on screen: all its refresh periods, or less because the session was
/// aborted meanwhile. A cut screen whose first frame was shown keeps its onset and frames so
/// far, and `at_us`, when it stopped being shown, so an aborted trial still gets its row.
pub(crate) enum Presented {
    Whole(Shown),
    Cut(Option<(Shown, i64)>),
}

impl Presented {
    /// The screen when it had all its frames.
    pub(crate) fn whole(self) -> Option<Shown> {
        match self {
            Presented::Whole(s) => Some(s),
            Presented::Cut(_) => None,
        }
    }
}

pub(crate) struct Session<'a> {
    pub(crate) display: Display<'a>,
    pub(crate) rec: &'a RecorderHandle,
    pub(crate) scene: Option<&'a SceneTimeline>,
    pub(crate) operator: &'a Operator,
    pub(crate) markers: Option<&'a mut MarkerPort>,
    pub(crate) prompt: &'a (dyn Fn(&str) + Sync),
    pub(crate) silence: Arc<SilenceState>,
    pub(crate) on_silence: OnSilence,
    /// The operator went on without gaze at a silence pause.
    pub(crate) silence_accepted: bool,
    /// The last calibration's validation verdict.
    pub(crate) validation: Option<Verdict>,
}

impl<'a> Session<'a> {
    /// The participant's window, when the session has one.
    pub(crate) fn presenter(&self) -> Option<&'a Presenter> {
        self.display.presenter()
    }
}

impl Session<'_> {
    /// Shows one screen for `n` frames and returns the first frame's time stamp. The scene is
    /// published before its first frame so the simulated eye sees it exactly from then, and
    /// `onset` (kind, trial, text) is recorded as soon as that frame is shown.
    pub(crate) async fn show(
        &mut self,
        n: u32,
        scene: Scene,
        screen: &Screen,
        trial: i32,
        onset: (&str, i32, &str),
    ) -> Result<Presented> {
        if let Some(tl) = self.scene {
            tl.publish(self.display.next_ts(), scene);
        }
        self.operator.view.screen(screen);
        let mut span = self.display.begin(n);
        while !self.display.done(&span) {
            self.abort_on_silence()?;
            if self.operator.abort.load(Ordering::SeqCst) {
                return Ok(self.cut(&span));
            }
            let ts = match self.display.frame(screen).await {
                Ok(Some(ts)) => ts,
                Ok(None) => continue,
                Err(e) => {
                    // Closing the participant's window is the operator aborting, not a fault.
                    self.poll_keys();
                    if self.operator.abort.load(Ordering::SeqCst) {
                        return Ok(self.cut(&span));
                    }
                    return Err(e);
                }
            };
            self.poll_keys();
            self.rec
                .send(Record::Frame(FrameRecord { ts_us: ts, trial }))?;
            if span.onset.is_none() {
                span.onset = Some(ts);
                self.event(ts, onset.0, onset.1, onset.2)?;
                self.marker(onset.0, onset.1)?;
            }
        }
        let onset = span.onset.unwrap_or_else(|| self.display.next_ts());
        Ok(Presented::Whole(Shown {
            onset,
            frames: self.display.timing.frames,
            dropped: self.display.timing.dropped,
        }))
    }

    /// With `on_silence = "abort"`, a silent tracker aborts the session (noted once).
    fn abort_on_silence(&self) -> Result<()> {
        let silent = self.silence.silent() || self.silence.stretches() > 0;
        if self.on_silence != OnSilence::Abort || !silent {
            return Ok(());
        }
        self.abort_for_silence()
    }

    fn abort_for_silence(&self) -> Result<()> {
        if !self.operator.abort.swap(true, Ordering::SeqCst) {
            self.event(
                self.next_ts(),
                kind::NOTE,
                -1,
                "aborted: the tracker fell silent (tracker.on_silence = \"abort\")",
            )?;
        }
        Ok(())
    }

    /// Before a trial with `on_silence = "abort"`: on a virtual clock, whose tracker thread may
    /// run behind the frames, first wait until the silence watch has judged the samples up to
    /// now or the tracker's data ended; a tracker that has sent nothing for the last
    /// `silence_ms` of the session clock after 5 s of real time is silent.
    pub(crate) async fn abort_if_silent_by_now(&self) -> Result<()> {
        if self.clock().is_virtual() {
            let t0 = std::time::Instant::now();
            loop {
                let caught_up = !self.silence.overdue(self.next_ts());
                if caught_up || self.silence.ended() || self.silence.stretches() > 0 {
                    break;
                }
                if t0.elapsed() > std::time::Duration::from_secs(5) {
                    return self.abort_for_silence();
                }
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        }
        self.abort_on_silence()
    }

    /// Before streaming stops at `end_us` in real time: waits until the tracker has delivered
    /// its samples up to then (a tracker delivers with latency, more so on a busy machine, and
    /// stopping it drops what is in flight), unless its data ended; 1 s of real time at most
    /// (a tracker silent at the end costs that second). A virtual clock needs no wait: a
    /// tracker stopped on one delivers everything up to the clock's time first.
    pub(crate) async fn samples_delivered_up_to(&self, end_us: i64, period_us: i64) {
        if self.clock().is_virtual() {
            return;
        }
        let t0 = std::time::Instant::now();
        let from = end_us.saturating_sub(period_us);
        while self.silence.newest().is_none_or(|ts| ts < from)
            && !self.silence.ended()
            && t0.elapsed() < std::time::Duration::from_secs(1)
        {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    /// A screen the abort stopped: shown until the frame that would have followed its last.
    fn cut(&self, span: &Span) -> Presented {
        Presented::Cut(span.onset.map(|onset| {
            let shown = Shown {
                onset,
                frames: self.display.timing.frames,
                dropped: self.display.timing.dropped,
            };
            (shown, self.display.next_ts())
        }))
    }

    /// Keys pressed in the participant's window act like the terminal's.
    fn poll_keys(&self) {
        for k in self.display.keys() {
            let op = self.operator;
            match k {
                OperatorKey::Continue => op.press_continue(),
                OperatorKey::Point(n) => op.point.store(n, Ordering::SeqCst),
                OperatorKey::Pause => op.pause.store(true, Ordering::SeqCst),
                OperatorKey::Recalibrate => op.recalibrate.store(true, Ordering::SeqCst),
                OperatorKey::Abort => op.abort.store(true, Ordering::SeqCst),
            }
        }
    }

    /// Shows `screen` for one more refresh (when the display has one), recorded as a frame
    /// outside any trial, and takes the keys pressed meanwhile. A virtual clock yields to the
    /// operator's tasks so a held screen does not spin through simulated time alone.
    pub(crate) async fn hold_frame(&mut self, screen: &Screen) -> Result<()> {
        self.abort_on_silence()?;
        self.operator.view.screen(screen);
        match self.display.frame(screen).await {
            Ok(Some(ts)) => self.rec.send(Record::Frame(FrameRecord {
                ts_us: ts,
                trial: -1,
            }))?,
            Ok(None) => {}
            Err(e) => {
                self.poll_keys();
                if !self.operator.abort.load(Ordering::SeqCst) {
                    return Err(e);
                }
            }
        }
        self.poll_keys();
        if self.display.clock().is_virtual() {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        Ok(())
    }

    /// Shows `text` until the operator answers (keys pressed before the question do not
    /// count); `None` when the session is aborted meanwhile.
    pub(crate) async fn ask(&mut self, text: &str, prompt: &str) -> Result<Option<Choice>> {
        self.ask_on(&Screen::Text(text.into()), prompt).await
    }

    /// As `ask`, showing `screen` meanwhile.
    pub(crate) async fn ask_on(&mut self, screen: &Screen, prompt: &str) -> Result<Option<Choice>> {
        let op = self.operator;
        op.cont.store(false, Ordering::SeqCst);
        op.recalibrate.store(false, Ordering::SeqCst);
        op.point.store(0, Ordering::SeqCst);
        if let Some(tl) = self.scene {
            tl.publish(self.next_ts(), Scene::Blank);
        }
        (self.prompt)(prompt);
        loop {
            if op.abort.load(Ordering::SeqCst) {
                return Ok(None);
            }
            if op.cont.swap(false, Ordering::SeqCst) {
                return Ok(Some(Choice::Continue));
            }
            if op.recalibrate.swap(false, Ordering::SeqCst) {
                return Ok(Some(Choice::Recalibrate));
            }
            let n = op.point.swap(0, Ordering::SeqCst);
            if n > 0 {
                return Ok(Some(Choice::Point(n)));
            }
            self.hold_frame(screen).await?;
        }
    }

    /// Whole refresh periods lasting `ms` at the display's rate (at least one).
    pub(crate) fn frames_for(&self, ms: u32) -> u32 {
        whole_frames(ms, self.refresh_hz())
    }

    /// Sends the serial marker configured for `kind`, and records it (or its failure: a dead
    /// port must not end the session).
    fn marker(&mut self, kind: &str, trial: i32) -> Result<()> {
        let Some(port) = self.markers.as_deref_mut() else {
            return Ok(());
        };
        match port.send(kind, self.display.clock().as_ref()) {
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
                    self.display.clock().now_us(),
                    kind::NOTE,
                    trial,
                    format!("marker not sent: {e}"),
                ))
            }
        }
    }

    pub(crate) fn next_ts(&self) -> i64 {
        self.display.next_ts()
    }

    pub(crate) fn operator(&self) -> &Operator {
        self.operator
    }

    /// Says on the terminal what the session waits for.
    pub(crate) fn prompt(&self, text: &str) {
        (self.prompt)(text);
    }

    pub(crate) fn refresh_hz(&self) -> f64 {
        self.display.refresh_hz()
    }

    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(self.display.clock())
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

/// The session's link with the operator: what they ask for (keys, signals) and what they see
/// (`view`, read from any thread).
#[derive(Debug, Default)]
pub struct Operator {
    pub view: crate::live::LiveView,
    pub abort: AtomicBool,
    pub pause: AtomicBool,
    pub recalibrate: AtomicBool,
    /// Continue was pressed (answers a question; also ends a pause).
    pub cont: AtomicBool,
    /// A calibration point to redo after validation (1–9; 0: none).
    pub point: AtomicU8,
}

impl Operator {
    pub fn press_continue(&self) {
        self.pause.store(false, Ordering::SeqCst);
        self.cont.store(true, Ordering::SeqCst);
    }
}
