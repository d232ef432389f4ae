//! Each `/trials` row counts its own gaze samples: expected at the tracker's rate, received,
//! and valid (gaze from at least one eye) from the stimulus onset to its offset.
//!
//! The runner sends a trial's row at its end, while samples of the trial may still be on the
//! way (a real tracker's latency; a simulated one running behind the frames). So the recorder
//! holds a row until its counts are final: a sample stamped at or after the offset has come
//! (samples arrive in time order), the tracker said its data ended, the session ends, or (in
//! real time) the offset is `LATE_US` in the past on the session clock.

use std::collections::VecDeque;

use et_drivers::GazeSample;

use et_recording::format::{TrialRecord, TrialSamples};

/// In real time, how late a sample may still come for a trial that has ended (µs).
pub const LATE_US: i64 = 1_000_000;

pub struct TrialCounter {
    sampling_hz: f64,
    /// (stamp, valid) of samples not yet behind every trial row sent.
    recent: VecDeque<(i64, bool)>,
    held: VecDeque<TrialRecord>,
    newest: Option<i64>,
    no_more: bool,
    without_gaze: u32,
}

impl TrialCounter {
    pub fn new(sampling_hz: f64) -> Self {
        TrialCounter {
            sampling_hz,
            recent: VecDeque::new(),
            held: VecDeque::new(),
            newest: None,
            no_more: false,
            without_gaze: 0,
        }
    }

    pub fn sample(&mut self, s: &GazeSample) {
        self.recent
            .push_back((s.system_ts_us, s.left.gaze_valid || s.right.gaze_valid));
        self.newest = Some(
            self.newest
                .map_or(s.system_ts_us, |n| n.max(s.system_ts_us)),
        );
    }

    /// A trial's row, to be counted once its samples are in.
    pub fn trial(&mut self, t: TrialRecord) {
        self.held.push_back(t);
    }

    /// No more samples will come (the tracker's data ended, or the session is closing).
    pub fn no_more_samples(&mut self) {
        self.no_more = true;
    }

    /// Trials shown without any sample from the tracker so far.
    pub fn without_gaze(&self) -> u32 {
        self.without_gaze
    }

    /// The rows whose counts are final, in order; `now_us` is the session clock in real time
    /// (`None` on a virtual clock, where only stamps decide).
    pub fn ready(&mut self, now_us: Option<i64>) -> Vec<TrialRecord> {
        let mut out = Vec::new();
        while let Some(t) = self.held.front() {
            let passed = self.newest.is_some_and(|n| n >= t.offset_us);
            let late = now_us.is_some_and(|n| n >= t.offset_us.saturating_add(LATE_US));
            if !(passed || late || self.no_more) {
                break;
            }
            let Some(mut t) = self.held.pop_front() else {
                break;
            };
            t.samples = self.count(t.onset_us, t.offset_us);
            if t.samples.without_gaze() {
                self.without_gaze += 1;
            }
            // Trials follow one another: what lies before this offset is no later trial's.
            while self.recent.front().is_some_and(|s| s.0 < t.offset_us) {
                self.recent.pop_front();
            }
            out.push(t);
        }
        out
    }

    fn count(&self, onset: i64, offset: i64) -> TrialSamples {
        let span = offset.saturating_sub(onset).max(0);
        let expected = (span as f64 * self.sampling_hz / 1e6).round();
        let inside = self.recent.iter().filter(|s| s.0 >= onset && s.0 < offset);
        let (mut received, mut valid) = (0u32, 0u32);
        for s in inside {
            received = received.saturating_add(1);
            valid = valid.saturating_add(u32::from(s.1));
        }
        TrialSamples {
            expected: expected.clamp(0.0, f64::from(u32::MAX)) as u32,
            received,
            valid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use et_drivers::EyeSample;

    fn sample(ts: i64, valid: bool) -> GazeSample {
        let mut e = EyeSample::INVALID;
        e.gaze_valid = valid;
        GazeSample {
            system_ts_us: ts,
            device_ts_us: ts,
            left: e,
            right: EyeSample::INVALID,
        }
    }

    fn trial(onset: i64, offset: i64) -> TrialRecord {
        TrialRecord {
            trial: 0,
            stimulus_id: "s".into(),
            identity: String::new(),
            condition: String::new(),
            variant: String::new(),
            expression: String::new(),
            onset_us: onset,
            offset_us: offset,
            frames: 0,
            dropped_frames: 0,
            image_rect: [0.0; 4],
            samples: TrialSamples::default(),
        }
    }

    #[test]
    fn a_row_waits_for_its_samples_and_counts_them() {
        let mut c = TrialCounter::new(100.0);
        for k in 0..50 {
            c.sample(&sample(k * 10_000, k % 5 != 0));
        }
        c.trial(trial(100_000, 1_000_000));
        assert!(
            c.ready(None).is_empty(),
            "samples up to the offset not in yet"
        );
        for k in 50..101 {
            c.sample(&sample(k * 10_000, k % 5 != 0));
        }
        let rows = c.ready(None);
        assert_eq!(
            rows[0].samples,
            TrialSamples {
                expected: 90,
                received: 90,
                valid: 72
            }
        );
    }

    #[test]
    fn a_trial_without_samples_is_counted_when_the_data_ends() {
        let mut c = TrialCounter::new(120.0);
        c.sample(&sample(0, true));
        c.trial(trial(1_000_000, 8_000_000));
        c.no_more_samples();
        let rows = c.ready(None);
        assert_eq!(rows[0].samples.received, 0);
        assert_eq!(rows[0].samples.expected, 840);
        assert!(rows[0].samples.without_gaze());
        assert_eq!(c.without_gaze(), 1);
    }

    #[test]
    fn in_real_time_a_row_is_not_held_for_samples_that_never_come() {
        let mut c = TrialCounter::new(120.0);
        c.trial(trial(0, 1_000_000));
        assert!(c.ready(Some(1_500_000)).is_empty());
        assert_eq!(c.ready(Some(2_000_000)).len(), 1);
    }
}
