//! What the operator sees while a session runs: where the session is (screen, trial, time
//! left), whether gaze arrives and how much of it is valid over the last 2 s, and the frames
//! the display dropped so far. The runner updates it once per screen (one short lock); whoever
//! shows it takes a snapshot on its own thread (the terminal line of `et-suite run`, once a
//! second), reading the samples from the recorder's tap, so showing it never slows the
//! participant's screens.

use std::sync::{Arc, Mutex, OnceLock};

use et_drivers::Clock;

use crate::recorder::SampleTap;

/// The window the valid-sample share is taken over.
const SHARE_WINDOW_US: i64 = 2_000_000;
/// No sample for this long: the tracker is reported silent.
const SILENT_AFTER_US: i64 = 500_000;

#[derive(Default)]
pub struct LiveView {
    state: Mutex<State>,
    source: OnceLock<Source>,
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
    dropped_frames: u64,
}

/// One reading of the live view.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSnapshot {
    /// What is on the participant's screen: "starting", "instructions", "calibration",
    /// "trials", "paused", "break", "end".
    pub phase: &'static str,
    pub trial: Option<(u32, u32)>,
    pub stimulus: String,
    /// Until the current trial's planned end, ms (never negative).
    pub trial_left_ms: Option<f64>,
    /// Samples with gaze from at least one eye over the last 2 s, of those the rate promises.
    pub valid_share_2s: Option<f64>,
    /// Time since the newest sample when the tracker has gone silent (0.5 s, or 3 sample
    /// periods at a slower rate), ms; `None` while samples arrive.
    pub silent_ms: Option<f64>,
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

    fn with(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub(crate) fn phase(&self, phase: &'static str) {
        self.with(|s| s.phase = phase);
    }

    pub(crate) fn trial(&self, n: u32, of: u32, stimulus: &str, end_us: i64) {
        self.with(|s| {
            s.phase = "trials";
            s.trial = Some((n, of));
            s.stimulus = stimulus.to_string();
            s.trial_end_us = Some(end_us);
        });
    }

    pub(crate) fn dropped(&self, frames: u32) {
        self.with(|s| s.dropped_frames = s.dropped_frames.saturating_add(u64::from(frames)));
    }

    pub fn snapshot(&self) -> LiveSnapshot {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut snap = LiveSnapshot {
            phase: if st.phase.is_empty() {
                "starting"
            } else {
                st.phase
            },
            trial: st.trial,
            stimulus: st.stimulus,
            trial_left_ms: None,
            valid_share_2s: None,
            silent_ms: None,
            dropped_frames: st.dropped_frames,
        };
        let Some(src) = self.source.get() else {
            return snap;
        };
        let now = src.clock.now_us();
        snap.trial_left_ms = st
            .trial_end_us
            .map(|end| end.saturating_sub(now).max(0) as f64 / 1000.0);
        let (recent, _) = src.tap.window(now.saturating_sub(SHARE_WINDOW_US), now);
        let expected = src.sampling_hz * SHARE_WINDOW_US as f64 / 1e6;
        if expected >= 1.0 {
            let valid = recent.iter().filter(|s| s.mean_gaze().is_some()).count();
            snap.valid_share_2s = Some((valid as f64 / expected).min(1.0));
        }
        // The tap fills at the recorder's pace (a batch every flush, 80 ms): silence is
        // reported from half a second on, as the loss it is.
        let quiet_after = SILENT_AFTER_US.max((3.0 * 1e6 / src.sampling_hz) as i64);
        if let Some(newest) = src.tap.newest() {
            let age = now.saturating_sub(newest);
            snap.silent_ms = (age > quiet_after).then_some(age as f64 / 1000.0);
        } else if st.phase == "trials" {
            snap.silent_ms = Some(f64::INFINITY);
        }
        snap
    }
}

impl LiveSnapshot {
    /// The operator's one-line summary.
    pub fn line(&self) -> String {
        let mut out = match self.trial {
            Some((n, of)) if self.phase == "trials" => format!("trial {n}/{of} {}", self.stimulus),
            Some((n, of)) => format!("{} after trial {n}/{of}", self.phase),
            None => self.phase.to_string(),
        };
        if let (Some(left), "trials") = (self.trial_left_ms, self.phase) {
            out.push_str(&format!(", {:.1} s left", left / 1000.0));
        }
        match self.silent_ms {
            Some(ms) if ms.is_finite() => {
                out.push_str(&format!(" | tracker SILENT for {:.1} s", ms / 1000.0))
            }
            Some(_) => out.push_str(" | tracker SILENT (no sample yet)"),
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
        // 2 s at 100 Hz before t = 10 s: 150 valid, 50 not.
        let samples: Vec<GazeSample> = (0..200)
            .map(|i| sample(8_000_000 + i * 10_000, i % 4 != 0))
            .collect();
        tap.extend(&samples);
        view.trial(3, 32, "WS-01-smile", 12_500_000);
        view.dropped(2);
        view.dropped(1);
        let snap = view.snapshot();
        assert_eq!(snap.trial, Some((3, 32)));
        assert_eq!(snap.valid_share_2s, Some(0.75));
        assert_eq!(snap.silent_ms, None);
        assert_eq!(snap.trial_left_ms, Some(2500.0));
        assert_eq!(snap.dropped_frames, 3);
        let line = snap.line();
        assert!(line.starts_with("trial 3/32 WS-01-smile, 2.5 s left | tracker streaming, valid 75 % (2 s) | dropped frames 3"), "{line}");
        // Half a second without a sample: silent, and the share falls.
        clock.advance_to(10_500_000);
        let snap = view.snapshot();
        assert_eq!(snap.silent_ms, Some(510.0));
        assert_eq!(snap.valid_share_2s, Some(113.0 / 200.0));
        assert!(
            snap.line().contains("tracker SILENT for 0.5 s"),
            "{}",
            snap.line()
        );
    }
}
