//! A seeded, deterministic gaze generator that streams through the `Tracker` trait.

mod generator;
mod scene;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use generator::GazeGenerator;
pub use scene::{AttentionRegion, Scene, SceneTimeline};

use crate::channel::SampleSender;
use crate::clock::Clock;
use crate::geometry::ScreenGeometry;
use crate::stream::{reach, StreamThread};
use crate::tracker::{Tracker, TrackerError, TrackerInfo};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyntheticConfig {
    pub seed: u64,
    pub sampling_hz: f64,
    #[serde(skip)]
    pub screen: ScreenGeometry,
    /// Radial RMS of the per-sample noise during fixation, per eye.
    pub noise_rms_deg: f64,
    /// Horizontal offset between the eyes' gaze points (right minus left).
    pub vergence_offset_deg: f64,
    pub blinks_per_minute: f64,
    pub track_losses_per_minute: f64,
    /// Uniform jitter of the sample time stamps around the nominal grid, µs (kept below half a
    /// sample period so time stamps stay monotonic).
    pub ts_jitter_us: i64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            seed: 1,
            sampling_hz: 120.0,
            screen: ScreenGeometry::default(),
            noise_rms_deg: 0.3,
            vergence_offset_deg: 0.2,
            blinks_per_minute: 12.0,
            track_losses_per_minute: 2.0,
            ts_jitter_us: 50,
        }
    }
}

impl SyntheticConfig {
    pub fn validate(&self) -> Result<(), TrackerError> {
        if !(self.sampling_hz.is_finite()
            && self.sampling_hz > 0.0
            && self.sampling_hz <= 100_000.0)
        {
            return Err(TrackerError::InvalidSetting {
                field: "sampling_hz",
                reason: format!("expected 0 < Hz <= 100000, got {}", self.sampling_hz),
            });
        }
        let half_period = 500_000.0 / self.sampling_hz;
        if self.ts_jitter_us < 0 || self.ts_jitter_us as f64 >= half_period {
            return Err(TrackerError::InvalidSetting {
                field: "ts_jitter_us",
                reason: format!(
                    "expected 0 <= jitter < {half_period:.0} µs (half a sample period)"
                ),
            });
        }
        for (field, v) in [
            ("noise_rms_deg", self.noise_rms_deg),
            ("blinks_per_minute", self.blinks_per_minute),
            ("track_losses_per_minute", self.track_losses_per_minute),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(TrackerError::InvalidSetting {
                    field,
                    reason: format!("expected a non-negative number, got {v}"),
                });
            }
        }
        self.screen
            .validate()
            .map_err(|reason| TrackerError::InvalidSetting {
                field: "screen",
                reason,
            })
    }
}

/// Nominal time of sample `k` after `start`, with deterministic jitter.
fn sample_time(start: i64, k: u64, hz: f64, jitter_us: i64, seed: u64) -> i64 {
    let nominal = start + (k as f64 * 1e6 / hz).round() as i64;
    if jitter_us == 0 || k == 0 {
        return nominal;
    }
    // SplitMix64 of (seed, k): jitter that does not depend on the generator's random stream.
    let mut z = seed.wrapping_add(k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let span = 2 * jitter_us as u64 + 1;
    nominal + (z % span) as i64 - jitter_us
}

pub struct SyntheticTracker {
    cfg: SyntheticConfig,
    clock: Arc<dyn Clock>,
    scene: SceneTimeline,
    thread: StreamThread,
}

impl SyntheticTracker {
    /// A simulated tracker on `clock`, looking at whatever `scene` shows.
    pub fn new(
        cfg: SyntheticConfig,
        clock: Arc<dyn Clock>,
        scene: SceneTimeline,
    ) -> Result<Self, TrackerError> {
        cfg.validate()?;
        Ok(SyntheticTracker {
            cfg,
            clock,
            scene,
            thread: StreamThread::default(),
        })
    }
}

impl Tracker for SyntheticTracker {
    fn info(&self) -> TrackerInfo {
        TrackerInfo {
            model: "et-suite synthetic".into(),
            serial: format!("SYN-{:08}", self.cfg.seed),
            address: "synthetic://".into(),
            firmware: env!("CARGO_PKG_VERSION").into(),
            sdk_version: "none".into(),
            sampling_hz: self.cfg.sampling_hz,
        }
    }

    fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock)
    }

    fn start(&mut self, sink: SampleSender) -> Result<(), TrackerError> {
        let cfg = self.cfg.clone();
        let clock = Arc::clone(&self.clock);
        let scene = self.scene.clone();
        let start = clock.now_us();
        let virtual_time = clock.is_virtual();
        self.thread.spawn("synthetic-tracker", move |stop| {
            let mut gen = GazeGenerator::new(cfg.clone());
            for k in 0u64.. {
                let ts = sample_time(start, k, cfg.sampling_hz, cfg.ts_jitter_us, cfg.seed);
                if !reach(clock.as_ref(), ts, &stop) {
                    return;
                }
                let (idx, sc) = scene.at(ts);
                if sink.push(gen.sample(ts, idx, &sc), virtual_time).is_err() {
                    return;
                }
            }
        })
    }

    fn stop(&mut self) -> Result<(), TrackerError> {
        self.thread.stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::{sample_channel, TrackerMessage};
    use crate::clock::{ManualClock, MonotonicClock};
    use std::time::Duration;

    #[test]
    fn jittered_times_stay_monotonic() {
        let mut last = i64::MIN;
        for k in 0..10_000 {
            let t = sample_time(0, k, 120.0, 50, 3);
            assert!(t > last);
            assert!((t - (k as f64 * 1e6 / 120.0).round() as i64).abs() <= 50);
            last = t;
        }
    }

    #[test]
    fn streams_exactly_up_to_a_manual_clock() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let mut t = SyntheticTracker::new(
            SyntheticConfig {
                ts_jitter_us: 0,
                ..Default::default()
            },
            clock.clone(),
            SceneTimeline::new(),
        )
        .unwrap();
        let (tx, rx) = sample_channel(100_000);
        t.start(tx).unwrap();
        clock.advance_to(1_000_000 + 10_000_000);
        t.stop().unwrap();
        let ts: Vec<i64> = rx
            .inner()
            .try_iter()
            .filter_map(|m| match m {
                TrackerMessage::Sample(s) => Some(s.system_ts_us),
                _ => None,
            })
            .collect();
        // 0..=10 s inclusive at 120 Hz.
        assert_eq!(ts.len(), 1201);
        assert_eq!(rx.dropped(), 0);
    }

    #[test]
    fn real_time_rate_is_the_configured_rate() {
        let mut t = SyntheticTracker::new(
            SyntheticConfig::default(),
            Arc::new(MonotonicClock),
            SceneTimeline::new(),
        )
        .unwrap();
        let (tx, rx) = sample_channel(10_000);
        t.start(tx).unwrap();
        std::thread::sleep(Duration::from_millis(500));
        t.stop().unwrap();
        let n = rx.inner().len();
        assert!((50..=70).contains(&n), "{n} samples in 0.5 s");
    }

    #[test]
    fn rejects_bad_rate() {
        let cfg = SyntheticConfig {
            sampling_hz: 0.0,
            ..Default::default()
        };
        let err = SyntheticTracker::new(cfg, Arc::new(MonotonicClock), SceneTimeline::new())
            .err()
            .unwrap();
        assert!(err.to_string().contains("sampling_hz"));
    }
}
