//! A seeded, deterministic gaze generator that streams through the `Tracker` trait.

mod generator;
mod scene;

use std::sync::Arc;

use nalgebra::{DMatrix, DVector};
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
    /// A systematic error of the uncalibrated tracker, which calibration removes.
    pub calibration_error: CalibrationError,
}

/// Uncalibrated gaze = centre + gain · (true − centre) + offset, per axis (display area; the
/// offset is given in degrees).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalibrationError {
    pub offset_deg: [f64; 2],
    pub gain: [f64; 2],
}

impl Default for CalibrationError {
    fn default() -> Self {
        CalibrationError {
            offset_deg: [0.0, 0.0],
            gain: [1.0, 1.0],
        }
    }
}

/// What calibration has done so far: the collected points and the applied correction.
#[derive(Debug, Default)]
struct CalibrationState {
    /// (target, uncalibrated mean gaze there).
    collected: Vec<((f64, f64), (f64, f64))>,
    /// Each applied correction with the clock time it takes effect from, in order. Per axis
    /// (a, b) with uncalibrated = a · true + b; applied as (raw − b) / a. Samples look up the
    /// one in force at their own time stamp, not at the moment the generator thread gets to
    /// them, so a session on a virtual clock records the same gaze however the threads run.
    corrections: Vec<(i64, [(f64, f64); 2])>,
    draws: u64,
}

impl CalibrationState {
    /// The correction in force for a sample taken at `ts_us`.
    fn correction_at(&self, ts_us: i64) -> Option<[(f64, f64); 2]> {
        let n = self.corrections.partition_point(|(from, _)| *from <= ts_us);
        n.checked_sub(1).map(|i| self.corrections[i].1)
    }
}

fn apply_error(e: &CalibrationError, npd: (f64, f64), p: (f64, f64)) -> (f64, f64) {
    (
        0.5 + e.gain[0] * (p.0 - 0.5) + e.offset_deg[0] * npd.0,
        0.5 + e.gain[1] * (p.1 - 0.5) + e.offset_deg[1] * npd.1,
    )
}

/// The sample as the tracker reports it: with its calibration error, then the correction.
fn calibrated(
    mut s: crate::sample::GazeSample,
    e: &CalibrationError,
    corr: Option<[(f64, f64); 2]>,
    npd: (f64, f64),
    scr: &ScreenGeometry,
) -> crate::sample::GazeSample {
    for eye in [&mut s.left, &mut s.right] {
        if !eye.gaze_valid {
            continue;
        }
        let (mut x, mut y) = apply_error(e, npd, (f64::from(eye.gaze_x), f64::from(eye.gaze_y)));
        if let Some([(ax, bx), (ay, by)]) = corr {
            x = (x - bx) / ax;
            y = (y - by) / ay;
        }
        eye.gaze_x = x as f32;
        eye.gaze_y = y as f32;
        eye.gaze3d_mm[0] = ((x - 0.5) * scr.width_mm) as f32;
        eye.gaze3d_mm[1] = (20.0 + (1.0 - y) * scr.height_mm) as f32;
    }
    s
}

/// Least squares of `raw = a · true + b` on one axis; `None` when the targets do not fix the
/// line (all at one position), it is flat, or a value is not finite (which SVD cannot take).
fn fit(pairs: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = pairs.len();
    if n < 2 || pairs.iter().any(|p| !(p.0.is_finite() && p.1.is_finite())) {
        return None;
    }
    let design = DMatrix::from_row_iterator(n, 2, pairs.iter().flat_map(|&(t, _)| [t, 1.0]));
    let raw = DVector::from_iterator(n, pairs.iter().map(|&(_, r)| r));
    let svd = design.svd(true, true);
    if svd.singular_values.min() <= 1e-9 * svd.singular_values.max() {
        return None;
    }
    let line = svd.solve(&raw, 0.0).ok()?;
    let (a, b) = (line[0], line[1]);
    (a.abs() > 1e-6).then_some((a, b))
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
            calibration_error: CalibrationError::default(),
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
            .map_err(|e| TrackerError::InvalidSetting {
                field: "screen",
                reason: e.message,
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

/// The sample the tracker streams at `ts`: the generator looking at what `scene` shows then,
/// seen through the tracker's calibration error and the correction in force (`corr`).
fn stream_sample(
    gen: &mut GazeGenerator,
    cfg: &SyntheticConfig,
    scene: &SceneTimeline,
    ts: i64,
    corr: Option<[(f64, f64); 2]>,
) -> crate::sample::GazeSample {
    let (idx, sc) = scene.at(ts);
    calibrated(
        gen.sample(ts, idx, &sc),
        &cfg.calibration_error,
        corr,
        cfg.screen.norm_per_degree(),
        &cfg.screen,
    )
}

/// The samples a synthetic tracker started at `start` streams before `end` (µs) while `scene`
/// shows what it shows, never calibrated: the same stream as a session's, without the session
/// (for simulating many studies, where a session's real-time machinery only costs time).
pub fn samples_between(
    cfg: &SyntheticConfig,
    scene: &SceneTimeline,
    start: i64,
    end: i64,
) -> Vec<crate::sample::GazeSample> {
    let mut gen = GazeGenerator::new(cfg.clone());
    (0u64..)
        .map(|k| sample_time(start, k, cfg.sampling_hz, cfg.ts_jitter_us, cfg.seed))
        .take_while(|&ts| ts < end)
        .map(|ts| stream_sample(&mut gen, cfg, scene, ts, None))
        .collect()
}

pub struct SyntheticTracker {
    cfg: SyntheticConfig,
    clock: Arc<dyn Clock>,
    scene: SceneTimeline,
    thread: StreamThread,
    calibration: Arc<std::sync::Mutex<CalibrationState>>,
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
            calibration: Arc::default(),
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
        let cal = Arc::clone(&self.calibration);
        let start = clock.now_us();
        let virtual_time = clock.is_virtual();
        self.thread.spawn("synthetic-tracker", move |stop| {
            let mut gen = GazeGenerator::new(cfg.clone());
            for k in 0u64.. {
                let ts = sample_time(start, k, cfg.sampling_hz, cfg.ts_jitter_us, cfg.seed);
                if !reach(clock.as_ref(), ts, &stop) {
                    return;
                }
                let corr = cal
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .correction_at(ts);
                let sample = stream_sample(&mut gen, &cfg, &scene, ts, corr);
                if sink.push(sample, virtual_time).is_err() {
                    return;
                }
            }
        })
    }

    fn stop(&mut self) -> Result<(), TrackerError> {
        self.thread.stop()
    }

    fn calibration_enter(&mut self) -> Result<(), TrackerError> {
        self.cal().collected.clear();
        Ok(())
    }

    /// The simulated participant looks at the target; the tracker sees it through its
    /// calibration error, plus a little noise (seeded).
    fn calibration_collect(
        &mut self,
        p: crate::tracker::CalibrationPoint,
    ) -> Result<(), TrackerError> {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        let npd = self.cfg.screen.norm_per_degree();
        let target = (f64::from(p.x), f64::from(p.y));
        let raw = apply_error(&self.cfg.calibration_error, npd, target);
        let mut st = self.cal();
        st.draws += 1;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.cfg.seed ^ (0xCA1 + st.draws));
        let n = Normal::new(0.0, 0.05).map_err(|e| TrackerError::Calibration(e.to_string()))?;
        let raw = (
            raw.0 + n.sample(&mut rng) * npd.0,
            raw.1 + n.sample(&mut rng) * npd.1,
        );
        st.collected.push((target, raw));
        Ok(())
    }

    fn calibration_discard(
        &mut self,
        p: crate::tracker::CalibrationPoint,
    ) -> Result<(), TrackerError> {
        let t = (f64::from(p.x), f64::from(p.y));
        self.cal()
            .collected
            .retain(|(q, _)| (q.0 - t.0).abs() > 1e-6 || (q.1 - t.1).abs() > 1e-6);
        Ok(())
    }

    fn calibration_compute_apply(
        &mut self,
    ) -> Result<crate::tracker::CalibrationResult, TrackerError> {
        let mut st = self.cal();
        let xs: Vec<(f64, f64)> = st.collected.iter().map(|(t, r)| (t.0, r.0)).collect();
        let ys: Vec<(f64, f64)> = st.collected.iter().map(|(t, r)| (t.1, r.1)).collect();
        let (Some(fx), Some(fy)) = (fit(&xs), fit(&ys)) else {
            return Ok(crate::tracker::CalibrationResult {
                applied: false,
                points: Vec::new(),
            });
        };
        // Effective from the next sample on; times never go backwards in the list.
        let from = self
            .clock
            .now_us()
            .saturating_add(1)
            .max(st.corrections.last().map_or(i64::MIN, |(t, _)| *t));
        st.corrections.push((from, [fx, fy]));
        let points = st
            .collected
            .iter()
            .map(|(t, r)| {
                let c = (((r.0 - fx.1) / fx.0) as f32, ((r.1 - fy.1) / fy.0) as f32);
                (
                    crate::tracker::CalibrationPoint {
                        x: t.0 as f32,
                        y: t.1 as f32,
                    },
                    Some(c),
                    Some(c),
                )
            })
            .collect();
        Ok(crate::tracker::CalibrationResult {
            applied: true,
            points,
        })
    }

    fn calibration_leave(&mut self) -> Result<(), TrackerError> {
        Ok(())
    }
}

impl SyntheticTracker {
    fn cal(&self) -> std::sync::MutexGuard<'_, CalibrationState> {
        self.calibration.lock().unwrap_or_else(|e| e.into_inner())
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
    fn samples_between_are_the_stream_a_tracker_gives() {
        let scene = SceneTimeline::new();
        scene.publish(2_000_000, Scene::Target { x: 0.2, y: 0.7 });
        scene.publish(3_000_000, Scene::Blank);
        let cfg = SyntheticConfig {
            seed: 9,
            ..Default::default()
        };
        let clock = Arc::new(ManualClock::new(1_000_000));
        let mut t = SyntheticTracker::new(cfg.clone(), clock.clone(), scene.clone()).unwrap();
        let (tx, rx) = sample_channel(100_000);
        t.start(tx).unwrap();
        clock.advance_to(5_000_000);
        t.stop().unwrap();
        let streamed: Vec<_> = rx
            .inner()
            .try_iter()
            .filter_map(|m| match m {
                TrackerMessage::Sample(s) => Some(s),
                _ => None,
            })
            .filter(|s| s.system_ts_us < 5_000_000)
            .collect();
        let simulated = samples_between(&cfg, &scene, 1_000_000, 5_000_000);
        assert_eq!(simulated.len(), 480);
        // Lost eyes hold NaN, which `==` never equals: compare what the samples print.
        assert_eq!(format!("{simulated:?}"), format!("{streamed:?}"));
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
        // Samples until half a second of their own time has passed (a busy machine may take
        // longer: the rate is the time stamps', not the wall clock's).
        let mut ts = Vec::new();
        while ts
            .last()
            .zip(ts.first())
            .is_none_or(|(l, f): (&i64, &i64)| l - f < 500_000)
        {
            match rx.inner().recv_timeout(Duration::from_secs(120)) {
                Ok(TrackerMessage::Sample(s)) => ts.push(s.system_ts_us),
                Ok(_) => {}
                Err(e) => panic!("{e} after {} samples", ts.len()),
            }
        }
        t.stop().unwrap();
        // 120 Hz: 8333 µs apart (± the configured jitter), none missing.
        let gaps: Vec<i64> = ts.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| (8_000..=8_700).contains(g)), "{gaps:?}");
        assert!((61..=62).contains(&ts.len()), "{} samples", ts.len());
    }

    #[test]
    fn calibration_removes_the_simulated_error() {
        use crate::tracker::CalibrationPoint as P;
        let clock = Arc::new(ManualClock::new(0));
        let cfg = SyntheticConfig {
            calibration_error: CalibrationError {
                offset_deg: [1.5, -1.0],
                gain: [1.05, 0.95],
            },
            ts_jitter_us: 0,
            ..Default::default()
        };
        let tl = SceneTimeline::new();
        tl.publish(0, Scene::Target { x: 0.7, y: 0.3 });
        let mut t = SyntheticTracker::new(cfg, clock.clone(), tl).unwrap();
        let mean_offset_deg = |t: &mut SyntheticTracker, from: i64| {
            let (tx, rx) = sample_channel(100_000);
            t.start(tx).unwrap();
            clock.advance_to(from + 5_000_000);
            t.stop().unwrap();
            let npd = ScreenGeometry::default().norm_per_degree();
            let v: Vec<(f64, f64)> = rx
                .inner()
                .try_iter()
                .filter_map(|m| match m {
                    TrackerMessage::Sample(s) if s.system_ts_us > from + 1_000_000 => s.mean_gaze(),
                    _ => None,
                })
                .map(|(x, y)| ((f64::from(x) - 0.7) / npd.0, (f64::from(y) - 0.3) / npd.1))
                .collect();
            (
                v.iter().map(|p| p.0).sum::<f64>() / v.len() as f64,
                v.iter().map(|p| p.1).sum::<f64>() / v.len() as f64,
            )
        };
        let before = mean_offset_deg(&mut t, 0);
        // Offset plus gain at (0.7, 0.3): about +1.97° and −0.74°.
        assert!(before.0 > 1.7 && before.1 < -0.5, "{before:?}");
        t.calibration_enter().unwrap();
        for (x, y) in [(0.1, 0.1), (0.9, 0.1), (0.5, 0.5), (0.1, 0.9), (0.9, 0.9)] {
            t.calibration_collect(P { x, y }).unwrap();
        }
        let r = t.calibration_compute_apply().unwrap();
        t.calibration_leave().unwrap();
        assert!(r.applied && r.points.len() == 5);
        let after = mean_offset_deg(&mut t, 5_000_000);
        assert!(after.0.abs() < 0.3 && after.1.abs() < 0.3, "{after:?}");
    }

    /// A correction applies to samples taken after it, however far the generator thread lags:
    /// here a full channel holds the generator back while the clock runs on and the
    /// correction is applied (the old tracker corrected whatever it generated afterwards).
    #[test]
    fn a_correction_applies_by_sample_time_not_by_when_the_thread_gets_there() {
        use crate::tracker::CalibrationPoint as P;
        let clock = Arc::new(ManualClock::new(0));
        let cfg = SyntheticConfig {
            calibration_error: CalibrationError {
                offset_deg: [2.0, 0.0],
                gain: [1.0, 1.0],
            },
            ts_jitter_us: 0,
            ..Default::default()
        };
        let tl = SceneTimeline::new();
        tl.publish(0, Scene::Target { x: 0.5, y: 0.5 });
        let mut t = SyntheticTracker::new(cfg, clock.clone(), tl).unwrap();
        t.calibration_enter().unwrap();
        for (x, y) in [(0.1, 0.1), (0.9, 0.1), (0.5, 0.5), (0.1, 0.9), (0.9, 0.9)] {
            t.calibration_collect(P { x, y }).unwrap();
        }
        let (tx, rx) = sample_channel(10);
        t.start(tx).unwrap();
        clock.advance_to(3_000_000);
        // The generator is stuck on the full channel, well before 3 s.
        std::thread::sleep(Duration::from_millis(50));
        assert!(t.calibration_compute_apply().unwrap().applied);
        clock.advance_to(6_000_000);
        let mut samples = Vec::new();
        while samples.len() < 721 {
            match rx.inner().recv_timeout(Duration::from_secs(10)) {
                Ok(TrackerMessage::Sample(s)) => samples.push(s),
                Ok(_) => {}
                Err(e) => panic!("{e} after {} samples", samples.len()),
            }
        }
        t.stop().unwrap();
        let npd = ScreenGeometry::default().norm_per_degree();
        let offset = |s: &crate::sample::GazeSample| {
            s.mean_gaze().map(|(x, _)| (f64::from(x) - 0.5) / npd.0)
        };
        let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
        let before = mean(
            samples
                .iter()
                .filter(|s| (500_000..3_000_000).contains(&s.system_ts_us))
                .filter_map(offset)
                .collect(),
        );
        let after = mean(
            samples
                .iter()
                .filter(|s| s.system_ts_us > 3_500_000)
                .filter_map(offset)
                .collect(),
        );
        assert!(before > 1.7, "uncorrected before the correction: {before}°");
        assert!(after.abs() < 0.3, "corrected after it: {after}°");
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
