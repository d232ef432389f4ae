//! The simulated eye: a deterministic state machine from (time, scene) to a binocular sample.
//!
//! Gaze alternates fixations (log-normal durations, slow drift, ~0.3° RMS noise) and saccades
//! whose duration follows the main sequence (D = 2.2 ms/° · A + 21 ms) with a minimum-jerk
//! position profile (peak velocity 1.875·A/D). Blinks and short track losses arrive as Poisson
//! processes. Regions of an image are visited by weight, each visit lasting an exponential
//! dwell with the region's mean, so the share of time on each region is known in advance.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal};

use super::scene::{AttentionRegion, Scene};
use super::SyntheticConfig;
use crate::sample::{EyeSample, GazeSample};

/// Height of the display area's bottom edge above the tracker (mm, user coordinates).
const DISPLAY_BOTTOM_MM: f64 = 20.0;
const HALF_IPD_MM: f64 = 32.0;

#[derive(Debug, Clone, Copy)]
enum Phase {
    Fixating {
        until_us: i64,
    },
    Saccade {
        from: (f64, f64),
        to: (f64, f64),
        start_us: i64,
        dur_us: i64,
        /// Duration of the fixation that follows.
        then_fix_us: i64,
    },
}

#[derive(Debug)]
pub struct GazeGenerator {
    cfg: SyntheticConfig,
    rng: ChaCha8Rng,
    /// Display-area units per degree (x, y).
    npd: (f64, f64),
    scene_idx: usize,
    /// Current point of regard (display area), where the eye is fixating.
    pos: (f64, f64),
    phase: Phase,
    /// Region being visited and when the visit ends.
    visit: Option<(usize, i64)>,
    drift_deg: (f64, f64),
    last_ts: Option<i64>,
    blink_until: i64,
    next_blink: i64,
    loss_until: i64,
    loss_eyes: (bool, bool),
    next_loss: i64,
    pupil_base: f64,
    head_mm: (f64, f64, f64),
    device_base_us: i64,
    first_ts: Option<i64>,
    last_por: (f64, f64),
}

fn exp_interval_us(rng: &mut ChaCha8Rng, per_minute: f64) -> i64 {
    if per_minute <= 0.0 {
        return i64::MAX / 4;
    }
    let mean_us = 60e6 / per_minute;
    match Exp::new(1.0 / mean_us) {
        Ok(d) => d.sample(rng) as i64,
        Err(_) => i64::MAX / 4,
    }
}

fn normal(rng: &mut ChaCha8Rng, mean: f64, sd: f64) -> f64 {
    Normal::new(mean, sd.max(1e-12)).map_or(mean, |d| d.sample(rng))
}

/// Minimum-jerk position profile, 0..1 over 0..1.
fn min_jerk(t: f64) -> f64 {
    let t = t.clamp(0.0, 1.0);
    t * t * t * (10.0 - 15.0 * t + 6.0 * t * t)
}

impl GazeGenerator {
    pub fn new(cfg: SyntheticConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let npd = cfg.screen.norm_per_degree();
        let next_blink = exp_interval_us(&mut rng, cfg.blinks_per_minute);
        let next_loss = exp_interval_us(&mut rng, cfg.track_losses_per_minute);
        let pupil_base = normal(&mut rng, 3.4, 0.4).clamp(2.2, 5.5);
        let device_base_us = rng.random_range(1_000_000_000..9_000_000_000i64);
        GazeGenerator {
            cfg,
            rng,
            npd,
            scene_idx: usize::MAX,
            pos: (0.5, 0.5),
            phase: Phase::Fixating { until_us: 0 },
            visit: None,
            drift_deg: (0.0, 0.0),
            last_ts: None,
            blink_until: i64::MIN,
            next_blink,
            loss_until: i64::MIN,
            loss_eyes: (false, false),
            next_loss,
            pupil_base,
            head_mm: (0.0, 0.0, 0.0),
            device_base_us,
            first_ts: None,
            last_por: (0.5, 0.5),
        }
    }

    fn deg_between(&self, a: (f64, f64), b: (f64, f64)) -> f64 {
        let dx = (a.0 - b.0) / self.npd.0;
        let dy = (a.1 - b.1) / self.npd.1;
        (dx * dx + dy * dy).sqrt()
    }

    fn fixation_duration_us(&mut self, median_ms: f64) -> i64 {
        let ms =
            LogNormal::new(median_ms.ln(), 0.35).map_or(median_ms, |d| d.sample(&mut self.rng));
        (ms.clamp(80.0, 1500.0) * 1000.0) as i64
    }

    fn point_in(&mut self, r: &AttentionRegion) -> (f64, f64) {
        // Gaussian around the centre, kept inside the ellipse.
        loop {
            let u = normal(&mut self.rng, 0.0, 0.45);
            let v = normal(&mut self.rng, 0.0, 0.45);
            if u * u + v * v <= 1.0 {
                return (r.cx + u * r.rx, r.cy + v * r.ry);
            }
        }
    }

    fn choose_region(&mut self, regions: &[AttentionRegion]) -> Option<usize> {
        let total: f64 = regions.iter().map(|r| r.weight.max(0.0)).sum();
        if total <= 0.0 {
            return None;
        }
        let mut x = self.rng.random::<f64>() * total;
        for (i, r) in regions.iter().enumerate() {
            x -= r.weight.max(0.0);
            if x < 0.0 {
                return Some(i);
            }
        }
        Some(regions.len() - 1)
    }

    /// Where the next fixation goes, and its median duration.
    fn next_target(&mut self, ts: i64, scene: &Scene) -> ((f64, f64), f64) {
        match scene {
            Scene::Blank => {
                let (sx, sy) = (0.6 * self.npd.0, 0.6 * self.npd.1);
                let p = (
                    normal(&mut self.rng, self.pos.0, sx),
                    normal(&mut self.rng, self.pos.1, sy),
                );
                (p, 350.0)
            }
            Scene::Target { x, y } => {
                let (sx, sy) = (0.25 * self.npd.0, 0.25 * self.npd.1);
                let p = (normal(&mut self.rng, *x, sx), normal(&mut self.rng, *y, sy));
                (p, 300.0)
            }
            Scene::Image { regions } => {
                let current = match self.visit {
                    Some((i, until)) if ts < until && i < regions.len() => Some(i),
                    _ => None,
                };
                let idx = match current {
                    Some(i) => Some(i),
                    None => {
                        let chosen = self.choose_region(regions);
                        if let Some(i) = chosen {
                            let mean = regions[i].mean_dwell_ms.max(1.0) * 1000.0;
                            let dwell =
                                Exp::new(1.0 / mean).map_or(mean, |d| d.sample(&mut self.rng));
                            self.visit = Some((i, ts + dwell as i64));
                        }
                        chosen
                    }
                };
                match idx {
                    Some(i) => {
                        let r = regions[i].clone();
                        (self.point_in(&r), 230.0)
                    }
                    None => (self.pos, 230.0),
                }
            }
        }
    }

    fn start_saccade(&mut self, ts: i64, to: (f64, f64), then_fix_us: i64) {
        let amp = self.deg_between(self.pos, to);
        let dur_ms = 2.2 * amp + 21.0;
        self.phase = Phase::Saccade {
            from: self.pos,
            to,
            start_us: ts,
            dur_us: (dur_ms * 1000.0) as i64,
            then_fix_us,
        };
    }

    /// True point of regard at `ts`, advancing the fixation/saccade state machine.
    fn point_of_regard(&mut self, ts: i64, scene_idx: usize, scene: &Scene) -> (f64, f64) {
        if scene_idx != self.scene_idx {
            self.scene_idx = scene_idx;
            self.visit = None;
            // React to the new scene after a saccadic latency, unless mid-saccade.
            if let Phase::Fixating { .. } = self.phase {
                let latency = normal(&mut self.rng, 190.0, 30.0).clamp(120.0, 400.0);
                self.phase = Phase::Fixating {
                    until_us: ts + (latency * 1000.0) as i64,
                };
            }
        }
        loop {
            match self.phase {
                Phase::Fixating { until_us } if ts >= until_us => {
                    // A fixation that ended long ago (first sample, or a gap) restarts now.
                    let start = until_us.max(ts - 1_000_000);
                    let (to, median) = self.next_target(start, scene);
                    let fix = self.fixation_duration_us(median);
                    self.start_saccade(start, to, fix);
                }
                Phase::Saccade {
                    to,
                    start_us,
                    dur_us,
                    then_fix_us,
                    ..
                } if ts >= start_us + dur_us => {
                    self.pos = to;
                    self.drift_deg = (self.drift_deg.0 * 0.3, self.drift_deg.1 * 0.3);
                    self.phase = Phase::Fixating {
                        until_us: start_us + dur_us + then_fix_us,
                    };
                }
                _ => break,
            }
        }
        match self.phase {
            Phase::Fixating { .. } => (
                self.pos.0 + self.drift_deg.0 * self.npd.0,
                self.pos.1 + self.drift_deg.1 * self.npd.1,
            ),
            Phase::Saccade {
                from,
                to,
                start_us,
                dur_us,
                ..
            } => {
                let s = min_jerk((ts - start_us) as f64 / dur_us.max(1) as f64);
                (from.0 + (to.0 - from.0) * s, from.1 + (to.1 - from.1) * s)
            }
        }
    }

    /// Advances the slow processes (drift, head, blinks, losses) to `ts`.
    fn advance_slow(&mut self, ts: i64) {
        let dt = self
            .last_ts
            .map_or(0.0, |l| ((ts - l) as f64 / 1e6).clamp(0.0, 1.0));
        self.last_ts = Some(ts);
        // Ornstein-Uhlenbeck drift: time constant 0.5 s, stationary SD 0.1 deg.
        let (tau, sd) = (0.5, 0.1);
        let k = (2.0 * dt / tau).sqrt() * sd;
        let (a, b) = (
            normal(&mut self.rng, 0.0, 1.0),
            normal(&mut self.rng, 0.0, 1.0),
        );
        self.drift_deg.0 += -self.drift_deg.0 * dt / tau + k * a;
        self.drift_deg.1 += -self.drift_deg.1 * dt / tau + k * b;
        // Head: OU in mm, time constant 2 s, SD 4 mm.
        let kh = (2.0 * dt / 2.0).sqrt() * 4.0;
        let h = [
            normal(&mut self.rng, 0.0, 1.0),
            normal(&mut self.rng, 0.0, 1.0),
            normal(&mut self.rng, 0.0, 1.0),
        ];
        self.head_mm.0 += -self.head_mm.0 * dt / 2.0 + kh * h[0];
        self.head_mm.1 += -self.head_mm.1 * dt / 2.0 + kh * h[1];
        self.head_mm.2 += -self.head_mm.2 * dt / 2.0 + kh * h[2];

        let first = *self.first_ts.get_or_insert(ts);
        let rel = ts - first;
        if rel >= self.next_blink {
            let dur = normal(&mut self.rng, 150.0, 30.0).clamp(80.0, 400.0);
            self.blink_until = ts + (dur * 1000.0) as i64;
            self.next_blink =
                rel + exp_interval_us(&mut self.rng, self.cfg.blinks_per_minute).max(500_000);
        }
        if rel >= self.next_loss {
            let dur = self.rng.random_range(20.0..300.0f64);
            self.loss_until = ts + (dur * 1000.0) as i64;
            self.loss_eyes = match self.rng.random_range(0..4u8) {
                0 => (true, false),
                1 => (false, true),
                _ => (true, true),
            };
            self.next_loss =
                rel + exp_interval_us(&mut self.rng, self.cfg.track_losses_per_minute).max(500_000);
        }
    }

    fn eye(&mut self, por: (f64, f64), side: f64, lost: bool) -> EyeSample {
        // Independent per-eye noise whose radial RMS is `noise_rms_deg`.
        let sd = self.cfg.noise_rms_deg / std::f64::consts::SQRT_2;
        let nx = normal(&mut self.rng, 0.0, sd);
        let ny = normal(&mut self.rng, 0.0, sd);
        let pupil_noise = normal(&mut self.rng, 0.0, 0.02);
        if lost {
            return EyeSample::INVALID;
        }
        let verg = side * self.cfg.vergence_offset_deg / 2.0;
        let gx = por.0 + (nx + verg) * self.npd.0;
        let gy = por.1 + ny * self.npd.1;
        let scr = &self.cfg.screen;
        let origin = [
            side * HALF_IPD_MM + self.head_mm.0,
            DISPLAY_BOTTOM_MM + scr.height_mm / 2.0 + self.head_mm.1,
            scr.viewing_distance_mm + self.head_mm.2,
        ];
        let gaze3d = [
            (gx - 0.5) * scr.width_mm,
            DISPLAY_BOTTOM_MM + (1.0 - gy) * scr.height_mm,
            0.0,
        ];
        EyeSample {
            gaze_x: gx as f32,
            gaze_y: gy as f32,
            gaze_valid: true,
            pupil_mm: (self.pupil_base + side * 0.03 + pupil_noise) as f32,
            pupil_valid: true,
            origin_mm: origin.map(|v| v as f32),
            origin_valid: true,
            gaze3d_mm: gaze3d.map(|v| v as f32),
        }
    }

    /// The sample at `ts` while `scene` (with index `scene_idx`) is shown.
    pub fn sample(&mut self, ts: i64, scene_idx: usize, scene: &Scene) -> GazeSample {
        self.advance_slow(ts);
        let por = self.point_of_regard(ts, scene_idx, scene);
        self.last_por = por;
        let blink = ts < self.blink_until;
        let loss = ts < self.loss_until;
        let left_lost = blink || (loss && self.loss_eyes.0);
        let right_lost = blink || (loss && self.loss_eyes.1);
        let left = self.eye(por, -1.0, left_lost);
        let right = self.eye(por, 1.0, right_lost);
        let first = self.first_ts.unwrap_or(ts);
        GazeSample {
            system_ts_us: ts,
            device_ts_us: self.device_base_us + (ts - first),
            left,
            right,
        }
    }

    /// The true point of regard of the last sample (display area, both eyes' mean before
    /// noise and vergence): the ground truth analyses are checked against.
    pub fn point_of_regard_now(&self) -> (f64, f64) {
        self.last_por
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::ScreenGeometry;

    fn cfg(seed: u64) -> SyntheticConfig {
        SyntheticConfig {
            seed,
            ..SyntheticConfig::default()
        }
    }

    fn run(seed: u64, scene: &Scene, secs: f64) -> Vec<GazeSample> {
        let mut g = GazeGenerator::new(cfg(seed));
        let n = (secs * 120.0) as i64;
        (0..n)
            .map(|k| g.sample(k * 1_000_000 / 120, 1, scene))
            .collect()
    }

    fn face() -> Scene {
        Scene::Image {
            regions: vec![
                AttentionRegion {
                    name: "left".into(),
                    cx: 0.3,
                    cy: 0.5,
                    rx: 0.05,
                    ry: 0.05,
                    weight: 1.0,
                    mean_dwell_ms: 600.0,
                },
                AttentionRegion {
                    name: "right".into(),
                    cx: 0.7,
                    cy: 0.5,
                    rx: 0.05,
                    ry: 0.05,
                    weight: 3.0,
                    mean_dwell_ms: 600.0,
                },
            ],
        }
    }

    #[test]
    fn same_seed_same_samples_other_seed_differs() {
        let a = run(7, &face(), 5.0);
        let b = run(7, &face(), 5.0);
        let c = run(8, &face(), 5.0);
        assert!(a.iter().zip(&b).all(|(x, y)| x.bit_eq(y)));
        assert!(!a.iter().zip(&c).all(|(x, y)| x.bit_eq(y)));
    }

    #[test]
    fn fixation_noise_is_about_point_three_degrees_rms() {
        // Sample-to-sample differences during a long steady fixation on a target: with white
        // noise of radial RMS r per eye, the RMS of successive differences is r*sqrt(2).
        let screen = ScreenGeometry::default();
        let (nx, ny) = screen.norm_per_degree();
        let s = run(3, &Scene::Target { x: 0.5, y: 0.5 }, 60.0);
        let mut sum = 0.0;
        let mut n = 0.0;
        for w in s.windows(2) {
            let (a, b) = (&w[0].left, &w[1].left);
            if a.gaze_valid && b.gaze_valid {
                let dx = f64::from(a.gaze_x - b.gaze_x) / nx;
                let dy = f64::from(a.gaze_y - b.gaze_y) / ny;
                let d2 = dx * dx + dy * dy;
                if d2 < 1.0 {
                    sum += d2;
                    n += 1.0;
                }
            }
        }
        let rms = (sum / n).sqrt() / std::f64::consts::SQRT_2;
        assert!((0.25..0.4).contains(&rms), "rms {rms}");
    }

    #[test]
    fn saccades_follow_the_main_sequence() {
        // Peak sample-to-sample speed over a ~16 deg saccade between two regions should be
        // in the range of real saccades (about 300-600 deg/s), far above fixation speeds.
        let screen = ScreenGeometry::default();
        let (nx, ny) = screen.norm_per_degree();
        let s = run(11, &face(), 20.0);
        let mut peak: f64 = 0.0;
        for w in s.windows(2) {
            let (a, b) = (&w[0].right, &w[1].right);
            if a.gaze_valid && b.gaze_valid {
                let dx = f64::from(a.gaze_x - b.gaze_x) / nx;
                let dy = f64::from(a.gaze_y - b.gaze_y) / ny;
                let v = (dx * dx + dy * dy).sqrt() * 120.0;
                peak = peak.max(v);
            }
        }
        assert!((250.0..800.0).contains(&peak), "peak {peak}");
    }

    #[test]
    fn blinks_and_losses_occur_at_plausible_rates() {
        let s = run(5, &face(), 120.0);
        let both_lost = s
            .iter()
            .filter(|x| !x.left.gaze_valid && !x.right.gaze_valid)
            .count();
        let one_lost = s
            .iter()
            .filter(|x| x.left.gaze_valid != x.right.gaze_valid)
            .count();
        let frac = both_lost as f64 / s.len() as f64;
        assert!((0.005..0.15).contains(&frac), "both-eye loss {frac}");
        assert!(one_lost > 0);
        // Invalid eyes carry NaN, never a stale number.
        assert!(s
            .iter()
            .filter(|x| !x.left.gaze_valid)
            .all(|x| x.left.gaze_x.is_nan()));
    }

    #[test]
    fn regions_get_time_in_proportion_to_weight_times_dwell() {
        let s = run(9, &face(), 300.0);
        let (mut l, mut r) = (0.0, 0.0);
        for x in &s {
            if let Some((gx, _)) = x.mean_gaze() {
                if (gx - 0.3).abs() < 0.08 {
                    l += 1.0;
                } else if (gx - 0.7).abs() < 0.08 {
                    r += 1.0;
                }
            }
        }
        let share = r / (l + r);
        assert!((0.68..0.82).contains(&share), "right share {share}");
    }

    #[test]
    fn eyes_differ_by_the_vergence_offset() {
        let screen = ScreenGeometry::default();
        let (nx, _) = screen.norm_per_degree();
        let s = run(2, &Scene::Target { x: 0.5, y: 0.5 }, 30.0);
        let d: Vec<f64> = s
            .iter()
            .filter(|x| x.left.gaze_valid && x.right.gaze_valid)
            .map(|x| f64::from(x.right.gaze_x - x.left.gaze_x) / nx)
            .collect();
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        assert!(
            (mean - SyntheticConfig::default().vergence_offset_deg).abs() < 0.05,
            "{mean}"
        );
    }
}
