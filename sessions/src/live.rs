//! What the operator sees while a session runs: where the session is (screen, trial, time
//! left), whether gaze arrives and how much of it is valid over the last 2 s, and the frames
//! the display dropped so far. The runner updates it once per screen (one short lock); whoever
//! shows it takes a snapshot on its own thread (the terminal line of `et-suite run`, once a
//! second), reading the samples from the recorder's tap, so showing it never slows the
//! participant's screens.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use et_drivers::Clock;

use crate::recorder::SampleTap;

/// The window the valid-sample share is taken over.
const SHARE_WINDOW_US: i64 = 2_000_000;
/// No sample for this long (real time): the tracker is reported silent.
const SILENT_AFTER: Duration = Duration::from_millis(500);

#[derive(Default)]
pub struct LiveView {
    state: Mutex<State>,
    source: OnceLock<Source>,
    /// "SIMULATED" or "REPLAYED" when the gaze is not a participant's, said on every line.
    not_live: OnceLock<&'static str>,
    /// The newest picture drawn for the participant's screen that is no stimulus (the
    /// validation plot, the positioning guide): its key, a count that changes with every new
    /// one, and the picture, so the operator's window can show it too.
    picture: Mutex<Option<(String, u64, Arc<image::RgbaImage>)>>,
}

impl std::fmt::Debug for LiveView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LiveView").field(&self.snapshot()).finish()
    }
}

struct Source {
    tap: SampleTap,
    clock: Arc<dyn Clock>,
    sampling_hz: f64,
}

#[derive(Debug, Clone, Default)]
struct State {
    phase: &'static str,
    /// (1-based trial, trials planned), the stimulus shown, and when the trial should end.
    trial: Option<(u32, u32)>,
    stimulus: String,
    trial_end_us: Option<i64>,
    /// The session stopped streaming (it is shutting down): no sample is expected any more.
    stopped: bool,
    dropped_frames: u64,
    /// What the current phase says besides (the positioning guide: where the eyes are).
    detail: String,
    /// What the participant's screen shows now (for the operator's window).
    screen: Option<et_present::Screen>,
}

/// One reading of the live view.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSnapshot {
    /// What is on the participant's screen: "starting", "instructions", "calibration",
    /// "trials", "paused", "break", "end".
    pub phase: &'static str,
    pub trial: Option<(u32, u32)>,
    pub stimulus: String,
    /// What the phase says besides (the positioning guide: where the eyes are).
    pub detail: String,
    /// Until the current trial's planned end, ms (never negative).
    pub trial_left_ms: Option<f64>,
    /// Samples with gaze from at least one eye over the last 2 s, of those the rate promises.
    pub valid_share_2s: Option<f64>,
    /// Real time since samples last came in, once over 0.5 s (ms; infinite when none came
    /// yet during the trials); `None` while samples arrive.
    pub silent_ms: Option<f64>,
    /// No sample has come yet (before the trials: the tracker is still being searched for).
    pub searching: bool,
    /// The session stopped streaming: silence is no news any more.
    pub stopped: bool,
    /// "SIMULATED" or "REPLAYED" when the gaze is not a participant's; empty otherwise.
    pub not_live: &'static str,
    pub dropped_frames: u64,
}

impl LiveView {
    /// Where the samples and the session's time come from; set once when the session starts.
    pub(crate) fn attach(&self, tap: SampleTap, clock: Arc<dyn Clock>, sampling_hz: f64) {
        let _ = self.source.set(Source {
            tap,
            clock,
            sampling_hz,
        });
    }

    /// A picture shown on the participant's screen under `key` (not a stimulus).
    pub(crate) fn picture(&self, key: &str, img: &image::RgbaImage) {
        let mut p = self.picture.lock().unwrap_or_else(|e| e.into_inner());
        let n = p.as_ref().map_or(0, |(_, n, _)| n + 1);
        *p = Some((key.to_string(), n, Arc::new(img.clone())));
    }

    /// The newest picture shown under `key`, and its count (a new count: a new picture).
    pub fn current_picture(&self, key: &str) -> Option<(u64, Arc<image::RgbaImage>)> {
        let p = self.picture.lock().unwrap_or_else(|e| e.into_inner());
        p.as_ref()
            .filter(|(k, _, _)| k == key)
            .map(|(_, n, img)| (*n, Arc::clone(img)))
    }

    /// The gaze is simulated or replayed (`what`: "SIMULATED", "REPLAYED"): every line says so.
    pub fn not_live(&self, what: &'static str) {
        let _ = self.not_live.set(what);
    }

    fn with(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub(crate) fn phase(&self, phase: &'static str) {
        self.with(|s| {
            s.phase = phase;
            s.detail.clear();
        });
    }

    /// The session ended and stopped streaming: the line says so instead of calling the
    /// tracker silent while the session shuts down.
    pub(crate) fn stream_stopped(&self) {
        self.with(|s| {
            s.phase = "session end";
            s.detail.clear();
            s.stopped = true;
        });
    }

    pub(crate) fn detail(&self, text: &str) {
        self.with(|s| {
            s.detail.clear();
            s.detail.push_str(text);
        });
    }

    pub(crate) fn trial(&self, n: u32, of: u32, stimulus: &str, end_us: i64) {
        self.with(|s| {
            s.phase = "trials";
            s.detail.clear();
            s.trial = Some((n, of));
            s.stimulus = stimulus.to_string();
            s.trial_end_us = Some(end_us);
        });
    }

    /// The screen the participant sees from now on.
    pub(crate) fn screen(&self, screen: &et_present::Screen) {
        self.with(|s| {
            if s.screen.as_ref() != Some(screen) {
                s.screen = Some(screen.clone());
            }
        });
    }

    /// What the participant's screen shows now.
    pub fn current_screen(&self) -> Option<et_present::Screen> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .screen
            .clone()
    }

    /// The samples of the last `span_us` up to the newest (empty before the session starts).
    pub fn recent_gaze(&self, span_us: i64) -> Vec<et_drivers::GazeSample> {
        self.source
            .get()
            .map(|src| src.tap.latest(span_us))
            .unwrap_or_default()
    }

    pub(crate) fn dropped(&self, frames: u32) {
        self.with(|s| s.dropped_frames = s.dropped_frames.saturating_add(u64::from(frames)));
    }

    pub fn snapshot(&self) -> LiveSnapshot {
        self.snapshot_with(SILENT_AFTER)
    }

    /// A snapshot that calls the tracker silent once no sample came in for `silent_after`.
    fn snapshot_with(&self, silent_after: Duration) -> LiveSnapshot {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut snap = LiveSnapshot {
            phase: if st.phase.is_empty() {
                "starting"
            } else {
                st.phase
            },
            trial: st.trial,
            stimulus: st.stimulus,
            detail: st.detail,
            trial_left_ms: None,
            valid_share_2s: None,
            silent_ms: None,
            searching: false,
            stopped: st.stopped,
            not_live: self.not_live.get().copied().unwrap_or(""),
            dropped_frames: st.dropped_frames,
        };
        let Some(src) = self.source.get() else {
            return snap;
        };
        let now = src.clock.now_us();
        snap.trial_left_ms = st
            .trial_end_us
            .map(|end| end.saturating_sub(now).max(0) as f64 / 1000.0);
        // Counted up to the newest sample: the recorder hands samples on in batches, which at
        // an accelerated speed span more session time than they take.
        let recent = src.tap.latest(SHARE_WINDOW_US);
        let expected = src.sampling_hz * SHARE_WINDOW_US as f64 / 1e6;
        if expected >= 1.0 && !recent.is_empty() {
            let valid = recent.iter().filter(|s| s.mean_gaze().is_some()).count();
            snap.valid_share_2s = Some((valid as f64 / expected).min(1.0));
        }
        // Silence in real time, whatever the session's speed: the recorder passes samples on
        // every 80 ms while any arrive.
        snap.silent_ms = match src.tap.since_filled() {
            _ if st.stopped => None,
            Some(quiet) if quiet > silent_after => Some(quiet.as_secs_f64() * 1000.0),
            Some(_) => None,
            None if st.phase == "trials" => Some(f64::INFINITY),
            None => None,
        };
        snap.searching = !st.stopped && src.tap.since_filled().is_none();
        snap
    }
}

impl LiveSnapshot {
    /// Something the operator must act on: the tracker silent, or under half the samples
    /// with gaze over the last 2 s.
    pub fn alarm(&self) -> bool {
        self.silent_ms.is_some() || self.valid_share_2s.is_some_and(|v| v < 0.5)
    }

    /// The operator's one-line summary.
    pub fn line(&self) -> String {
        let mut out = match self.not_live {
            "" => String::new(),
            what => format!("{what} GAZE | "),
        };
        out += &match self.trial {
            Some((n, of)) if self.phase == "trials" => format!("trial {n}/{of} {}", self.stimulus),
            Some((n, of)) => format!("{} after trial {n}/{of}", self.phase),
            None => self.phase.to_string(),
        };
        if !self.detail.is_empty() {
            out.push_str(&format!(" ({})", self.detail));
        }
        if let (Some(left), "trials") = (self.trial_left_ms, self.phase) {
            out.push_str(&format!(", {:.1} s left", left / 1000.0));
        }
        match self.silent_ms {
            Some(ms) if ms.is_finite() => {
                out.push_str(&format!(" | tracker SILENT for {:.1} s", ms / 1000.0))
            }
            Some(_) => out.push_str(" | tracker SILENT (no sample yet)"),
            None if self.stopped => out.push_str(" | tracker stopped"),
            None if self.searching => out.push_str(" | tracker searching (no sample yet)"),
            None => out.push_str(" | tracker streaming"),
        }
        if let Some(v) = self.valid_share_2s {
            out.push_str(&format!(", valid {:.0} % (2 s)", v * 100.0));
        }
        out.push_str(&format!(" | dropped frames {}", self.dropped_frames));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use et_drivers::{EyeSample, GazeSample, ManualClock};

    fn sample(ts: i64, valid: bool) -> GazeSample {
        let mut left = EyeSample::INVALID;
        if valid {
            (left.gaze_x, left.gaze_y, left.gaze_valid) = (0.5, 0.5, true);
        }
        GazeSample {
            system_ts_us: ts,
            device_ts_us: ts,
            left,
            right: EyeSample::INVALID,
        }
    }

    #[test]
    fn share_silence_and_time_left_come_from_the_tap_and_the_clock() {
        let view = LiveView::default();
        assert_eq!(view.snapshot().phase, "starting");
        let clock = Arc::new(ManualClock::new(10_000_000));
        let tap = SampleTap::new(1000);
        view.attach(tap.clone(), clock.clone(), 100.0);
        // 2 s at 100 Hz up to the newest sample: 150 valid, 50 not (and older ones before).
        let samples: Vec<GazeSample> = (0..300)
            .map(|i| sample(7_000_000 + i * 10_000, i % 4 != 0 || i < 100))
            .collect();
        tap.extend(&samples);
        view.trial(3, 32, "WS-01-smile", 12_500_000);
        view.dropped(2);
        view.dropped(1);
        let snap = view.snapshot_with(Duration::from_secs(3600));
        assert_eq!(snap.trial, Some((3, 32)));
        assert_eq!(snap.valid_share_2s, Some(0.75));
        assert_eq!(snap.silent_ms, None);
        assert_eq!(snap.trial_left_ms, Some(2500.0));
        assert_eq!(snap.dropped_frames, 3);
        let line = snap.line();
        assert!(line.starts_with("trial 3/32 WS-01-smile, 2.5 s left | tracker streaming, valid 75 % (2 s) | dropped frames 3"), "{line}");
        // No sample since: silent (in real time), whatever the session clock says.
        std::thread::sleep(Duration::from_millis(5));
        let snap = view.snapshot_with(Duration::from_millis(1));
        assert!(snap.silent_ms.is_some_and(|ms| ms >= 5.0), "{snap:?}");
        assert!(
            snap.line().contains("tracker SILENT for "),
            "{}",
            snap.line()
        );
        view.not_live("SIMULATED");
        assert!(view
            .snapshot()
            .line()
            .starts_with("SIMULATED GAZE | trial 3/32"));
        view.phase("positioning");
        view.detail("both eyes at 65.0 cm");
        assert!(view.snapshot().line().starts_with(
            "SIMULATED GAZE | positioning after trial 3/32 (both eyes at 65.0 cm) | "
        ));
    }

    /// Once the session has stopped streaming, the samples stop by design: the line says the
    /// tracker stopped, never that it is silent, however long shutting down takes.
    #[test]
    fn after_the_session_stops_streaming_the_tracker_is_not_silent() {
        let view = LiveView::default();
        let tap = SampleTap::new(10);
        view.attach(tap.clone(), Arc::new(ManualClock::new(0)), 120.0);
        view.not_live("SIMULATED");
        tap.extend(&[sample(0, true)]);
        view.trial(32, 32, "x", 1_000_000);
        std::thread::sleep(Duration::from_millis(5));
        assert!(view
            .snapshot_with(Duration::from_millis(1))
            .line()
            .contains("SILENT"));
        view.stream_stopped();
        let snap = view.snapshot_with(Duration::from_millis(1));
        assert_eq!(snap.silent_ms, None);
        assert!(
            snap.line()
                .starts_with("SIMULATED GAZE | session end after trial 32/32 | tracker stopped"),
            "{}",
            snap.line()
        );
    }

    #[test]
    fn before_any_sample_the_tracker_is_searched_for_not_streaming() {
        let view = LiveView::default();
        view.attach(SampleTap::new(10), Arc::new(ManualClock::new(0)), 120.0);
        view.phase("instructions");
        let line = view.snapshot().line();
        assert!(line.contains("tracker searching (no sample yet)"), "{line}");
        view.trial(1, 32, "x", 1_000_000);
        let line = view.snapshot().line();
        assert!(line.contains("tracker SILENT (no sample yet)"), "{line}");
    }
}
