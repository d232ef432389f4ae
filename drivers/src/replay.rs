//! Replays recorded samples through the `Tracker` trait, bit for bit, at 1×, N× or as fast as
//! the consumer takes them. The replay runs on a virtual clock that starts at the first
//! sample's time stamp, so replayed time stamps are the recorded ones.

use std::sync::Arc;

use crate::channel::{SampleSender, TrackerEvent};
use crate::clock::{Clock, FreeRunningClock, ManualClock, MonotonicClock, PacedClock, ScaledClock};
use crate::sample::GazeSample;
use crate::stream::{reach, StreamThread};
use crate::tracker::{CalibrationPoint, CalibrationResult, Tracker, TrackerError, TrackerInfo};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReplaySpeed {
    /// Virtual time runs this many times faster than real time (1.0 = as recorded).
    Factor(f64),
    /// As fast as the consumer takes samples.
    Max,
}

impl std::str::FromStr for ReplaySpeed {
    type Err = et_files::SettingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(ReplaySpeed::Max);
        }
        let f: f64 = s.trim_end_matches(['x', 'X']).parse().map_err(|_| {
            et_files::SettingError::new(
                "--speed",
                format!("speed must be a positive number (e.g. 1, 10) or 'max', got {s:?}"),
            )
        })?;
        if f.is_finite() && f > 0.0 {
            Ok(ReplaySpeed::Factor(f))
        } else {
            Err(et_files::SettingError::new(
                "--speed",
                format!("speed must be positive, got {s:?}"),
            ))
        }
    }
}

impl ReplaySpeed {
    /// Whether time passes as real time does (1×), whatever its origin.
    pub fn is_real_time(self) -> bool {
        matches!(self, ReplaySpeed::Factor(f) if (f - 1.0).abs() < f64::EPSILON)
    }

    /// The clock time runs on at this speed: every mapping from a speed to a clock is here.
    ///
    /// - `Paced::Alone`: nothing else moves time (a replay into a file): `max` runs free,
    ///   reaching whatever it waits for at once.
    /// - `Paced::BySession`: a session's display moves time (`ManualClock` at `max`,
    ///   `PacedClock` at N×, waiting real time between frames), so the tracker never runs
    ///   ahead of the screens and every speed simulates exactly what `max` does.
    ///
    /// `origin_us`: where time starts. `None` is a live time base: at 1× the system's
    /// monotonic clock itself (the Tobii SDK's time base), faster a clock from now.
    pub fn clock(self, origin_us: Option<i64>, paced: Paced) -> Arc<dyn Clock> {
        let start = || origin_us.unwrap_or_else(crate::clock::monotonic_now_us);
        match (self, origin_us) {
            (ReplaySpeed::Factor(f), None) if (f - 1.0).abs() < f64::EPSILON => {
                Arc::new(MonotonicClock)
            }
            // In a session, a faster clock is paced by the session's display, never ahead of
            // the simulation (a clock running by itself outran it at high speeds).
            (ReplaySpeed::Factor(f), _) if paced == Paced::BySession => {
                Arc::new(PacedClock::new(start(), f))
            }
            (ReplaySpeed::Factor(f), _) => Arc::new(ScaledClock::new(start(), f)),
            (ReplaySpeed::Max, _) => match paced {
                Paced::Alone => Arc::new(FreeRunningClock::new(start())),
                Paced::BySession => Arc::new(ManualClock::new(start())),
            },
        }
    }
}

/// Who moves a `max`-speed clock on (see [`ReplaySpeed::clock`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paced {
    Alone,
    BySession,
}

pub struct ReplayTracker {
    samples: Arc<[GazeSample]>,
    info: TrackerInfo,
    clock: Arc<dyn Clock>,
    thread: StreamThread,
}

impl ReplayTracker {
    /// Replays on a clock of its own at `speed`.
    pub fn new(samples: Arc<[GazeSample]>, info: TrackerInfo, speed: ReplaySpeed) -> Self {
        let origin = samples.first().map_or(0, |s| s.system_ts_us);
        let clock = speed.clock(Some(origin), Paced::Alone);
        Self::with_clock(samples, info, clock)
    }

    /// Replays following someone else's clock (a session runner's), which must be in the
    /// recording's time base.
    pub fn with_clock(
        samples: Arc<[GazeSample]>,
        info: TrackerInfo,
        clock: Arc<dyn Clock>,
    ) -> Self {
        ReplayTracker {
            samples,
            info,
            clock,
            thread: StreamThread::default(),
        }
    }

    /// Waits until every sample has been handed to the channel (or the consumer went away).
    pub fn wait_done(&mut self) -> Result<(), TrackerError> {
        self.thread.wait()
    }

    /// Time stamp of the first sample, where a runner following this replay should start.
    pub fn first_ts(&self) -> Option<i64> {
        self.samples.first().map(|s| s.system_ts_us)
    }
}

impl Tracker for ReplayTracker {
    fn info(&self) -> TrackerInfo {
        self.info.clone()
    }

    fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock)
    }

    fn start(&mut self, sink: SampleSender) -> Result<(), TrackerError> {
        let samples = Arc::clone(&self.samples);
        let clock = Arc::clone(&self.clock);
        let virtual_time = clock.is_virtual();
        self.thread.spawn("replay-tracker", move |stop| {
            for s in samples.iter() {
                if !reach(clock.as_ref(), s.system_ts_us, &stop) {
                    return;
                }
                if sink.push(*s, virtual_time).is_err() {
                    return;
                }
            }
            // The recording has no more: what follows is its end, not a silent tracker.
            if let Some(last) = samples.last() {
                let _ = sink.event(TrackerEvent {
                    ts_us: last.system_ts_us,
                    kind: "replay_end".into(),
                    text: format!("the replayed recording ends ({} samples)", samples.len()),
                });
            }
        })
    }

    fn stop(&mut self) -> Result<(), TrackerError> {
        self.thread.stop()
    }

    // A replayed session calibrates as the recorded one did, so its screens fall at the same
    // times as the recorded gaze; the gaze already went through the recorded calibration, so
    // the replayed one changes nothing (and says so: no points).
    fn calibration_enter(&mut self) -> Result<(), TrackerError> {
        Ok(())
    }
    fn calibration_collect(&mut self, _point: CalibrationPoint) -> Result<(), TrackerError> {
        Ok(())
    }
    fn calibration_discard(&mut self, _point: CalibrationPoint) -> Result<(), TrackerError> {
        Ok(())
    }
    fn calibration_compute_apply(&mut self) -> Result<CalibrationResult, TrackerError> {
        Ok(CalibrationResult {
            applied: true,
            points: Vec::new(),
        })
    }
    fn calibration_leave(&mut self) -> Result<(), TrackerError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::{sample_channel, TrackerMessage};
    use crate::clock::monotonic_now_us;
    use crate::sample::EyeSample;
    use std::time::Duration;

    fn samples(n: usize) -> Arc<[GazeSample]> {
        (0..n)
            .map(|k| {
                let mut e = EyeSample::INVALID;
                e.gaze_x = k as f32;
                GazeSample {
                    system_ts_us: 5_000_000 + k as i64 * 8_333,
                    device_ts_us: k as i64,
                    left: e,
                    right: EyeSample::INVALID,
                }
            })
            .collect()
    }

    fn drain(rx: &crate::channel::SampleReceiver) -> Vec<GazeSample> {
        rx.inner()
            .try_iter()
            .filter_map(|m| match m {
                TrackerMessage::Sample(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn each_speed_maps_to_its_clock() {
        let live = ReplaySpeed::Factor(1.0).clock(None, Paced::BySession);
        assert!(!live.is_virtual());
        let replayed = ReplaySpeed::Factor(1.0).clock(Some(5_000_000), Paced::BySession);
        assert!((5_000_000..6_000_000).contains(&replayed.now_us()));
        let driven = ReplaySpeed::Max.clock(Some(7), Paced::BySession);
        assert!(
            !driven.wait_until(8, std::time::Duration::ZERO),
            "a session moves it"
        );
        let free = ReplaySpeed::Max.clock(Some(7), Paced::Alone);
        assert!(
            free.wait_until(8, std::time::Duration::ZERO),
            "it runs free"
        );
    }

    #[test]
    fn max_speed_replays_everything_bit_exact_through_a_small_channel() {
        let src = samples(10_000);
        let mut r = ReplayTracker::new(Arc::clone(&src), TrackerInfo::default(), ReplaySpeed::Max);
        let (tx, rx) = sample_channel(16);
        r.start(tx).unwrap();
        let mut got = Vec::new();
        while got.len() < src.len() {
            if let Ok(TrackerMessage::Sample(s)) = rx.inner().recv_timeout(Duration::from_secs(5)) {
                got.push(s);
            } else {
                break;
            }
        }
        r.stop().unwrap();
        assert_eq!(got.len(), src.len());
        assert!(got.iter().zip(src.iter()).all(|(a, b)| a.bit_eq(b)));
        assert_eq!(rx.dropped(), 0);
    }

    #[test]
    fn factor_speed_paces_in_virtual_time() {
        // 1000 samples span 8.3 s; at 100x that is about 83 ms of real time.
        // Timed from before the replay's clock exists (it starts with the tracker): a test
        // thread held up between the two on a busy machine must not shorten what is measured.
        let src = samples(1_000);
        let t0 = monotonic_now_us();
        let mut r = ReplayTracker::new(src, TrackerInfo::default(), ReplaySpeed::Factor(100.0));
        let (tx, rx) = sample_channel(10_000);
        r.start(tx).unwrap();
        // 120 s: a hang guard, not a bound (the paced replay takes 83 ms).
        while rx.inner().len() < 1_000 && monotonic_now_us() - t0 < 120_000_000 {
            std::thread::sleep(Duration::from_millis(2));
        }
        let took = monotonic_now_us() - t0;
        r.stop().unwrap();
        assert_eq!(drain(&rx).len(), 1_000);
        assert!(took >= 70_000, "{took} µs");
    }

    #[test]
    fn speed_parses() {
        assert_eq!("max".parse::<ReplaySpeed>(), Ok(ReplaySpeed::Max));
        assert_eq!("4x".parse::<ReplaySpeed>(), Ok(ReplaySpeed::Factor(4.0)));
        assert!("0".parse::<ReplaySpeed>().is_err());
        assert!("fast"
            .parse::<ReplaySpeed>()
            .unwrap_err()
            .message
            .contains("'max'"));
    }
}
