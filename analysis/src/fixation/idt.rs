//! I-DT (Salvucci & Goldberg's dispersion threshold) on real time stamps: windows are measured
//! in time, not in sample counts, so 120 Hz data with jitter (where pymovements' I-DT refuses
//! to run, peers.md §1.5) works as it should.

use et_drivers::{GazeSample, ScreenGeometry};
use serde::{Deserialize, Serialize};

use super::track::{Angles, EyeChoice, Track};
use super::{FixationResult, SampleClass};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdtConfig {
    /// Largest (max − min)x + (max − min)y within a fixation, degrees.
    pub dispersion_deg: f64,
    /// Shortest fixation (ms, half-sample convention).
    pub min_duration_ms: f64,
    pub eye: EyeChoice,
    /// `false` turns gap fill-in off.
    #[serde(with = "super::stage")]
    pub gap_fill_max_ms: Option<f64>,
}

impl Default for IdtConfig {
    fn default() -> Self {
        IdtConfig {
            dispersion_deg: 1.0,
            min_duration_ms: 100.0,
            eye: EyeChoice::Average,
            gap_fill_max_ms: Some(75.0),
        }
    }
}

impl IdtConfig {
    pub fn validate(&self) -> Result<(), et_files::SettingError> {
        let refuse =
            |name: &str, m: String| Err(et_files::SettingError::new(format!("idt.{name}"), m));
        if !(self.dispersion_deg.is_finite() && self.dispersion_deg > 0.0) {
            return refuse(
                "dispersion_deg",
                format!(
                    "idt.dispersion_deg must be positive, got {}",
                    self.dispersion_deg
                ),
            );
        }
        for (name, v) in [
            ("min_duration_ms", Some(self.min_duration_ms)),
            ("gap_fill_max_ms", self.gap_fill_max_ms),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && (0.0..=60_000.0).contains(&v)) {
                    return refuse(
                        name,
                        format!("idt.{name} must be in [0, 60000] ms, got {v}"),
                    );
                }
            }
        }
        Ok(())
    }
}

struct Window {
    xs: Vec<f64>,
    ys: Vec<f64>,
}

impl Window {
    fn dispersion(&self) -> f64 {
        let span = |v: &[f64]| {
            v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min)
        };
        span(&self.xs) + span(&self.ys)
    }
}

pub fn idt(
    samples: &[GazeSample],
    screen: &ScreenGeometry,
    sampling_hz: f64,
    cfg: &IdtConfig,
) -> FixationResult {
    let gap = cfg.gap_fill_max_ms.map(|ms| (ms * 1000.0).round() as i64);
    let t = Track::build(
        samples,
        screen,
        sampling_hz,
        cfg.eye,
        Angles::EyePosition,
        gap,
    );
    let n = t.len();
    let deg: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            if t.valid[i] {
                t.deg.display_to_deg(t.x[i], t.y[i])
            } else {
                (f64::NAN, f64::NAN)
            }
        })
        .collect();
    let min_us = (cfg.min_duration_ms * 1000.0).round() as i64;
    let mut classes: Vec<SampleClass> = (0..n)
        .map(|i| {
            if t.valid[i] {
                SampleClass::Saccade
            } else {
                SampleClass::Missing
            }
        })
        .collect();
    let mut runs = Vec::new();
    let mut a = 0;
    while a < n {
        if !t.valid[a] {
            a += 1;
            continue;
        }
        // Grow the window until it spans the minimum duration, stopping at missing samples.
        let mut b = a;
        while b + 1 < n && t.valid[b + 1] && t.end_of(b) - t.start_of(a) < min_us {
            b += 1;
        }
        if t.end_of(b) - t.start_of(a) < min_us {
            a = b + 1;
            continue;
        }
        let mut w = Window {
            xs: deg[a..=b].iter().map(|p| p.0).collect(),
            ys: deg[a..=b].iter().map(|p| p.1).collect(),
        };
        if w.dispersion() > cfg.dispersion_deg {
            a += 1;
            continue;
        }
        while b + 1 < n && t.valid[b + 1] {
            w.xs.push(deg[b + 1].0);
            w.ys.push(deg[b + 1].1);
            if w.dispersion() > cfg.dispersion_deg {
                break;
            }
            b += 1;
        }
        runs.push((a, b));
        a = b + 1;
    }
    for &(a, b) in &runs {
        for c in &mut classes[a..=b] {
            *c = SampleClass::Fixation(0);
        }
    }
    FixationResult::from_runs(&t, &runs, classes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use et_drivers::EyeSample;

    fn at_deg(deg: f64) -> f64 {
        0.5 + 650.0 * deg.to_radians().tan() / 531.0
    }

    #[test]
    fn uneven_time_stamps_work() {
        // Alternating 5 ms and 12 ms steps: 300 ms at 0°, a jump, 300 ms at 5°.
        let mut ts = 0i64;
        let mut v = Vec::new();
        let mut k = 0;
        while ts < 600_000 {
            let x = if ts < 300_000 {
                at_deg(0.0)
            } else {
                at_deg(5.0)
            };
            let e = EyeSample {
                gaze_x: x as f32,
                gaze_y: 0.5,
                gaze_valid: true,
                ..EyeSample::INVALID
            };
            v.push(GazeSample {
                system_ts_us: ts,
                device_ts_us: ts,
                left: e,
                right: e,
            });
            ts += if k % 2 == 0 { 5_000 } else { 12_000 };
            k += 1;
        }
        let r = idt(&v, &ScreenGeometry::default(), 117.6, &IdtConfig::default());
        assert_eq!(r.fixations.len(), 2, "{:?}", r.fixations);
        let f = &r.fixations[0];
        assert!(v[f.last].system_ts_us < 300_000 && v[f.last + 1].system_ts_us >= 300_000);
        assert!(f.dispersion_deg < 1e-6);
        assert!((r.fixations[1].x - at_deg(5.0)).abs() < 1e-6);
        // A fixation shorter than the minimum is not one.
        let short = IdtConfig {
            min_duration_ms: 400.0,
            ..IdtConfig::default()
        };
        assert!(idt(&v, &ScreenGeometry::default(), 117.6, &short)
            .fixations
            .is_empty());
    }
}
