//! Velocity classification for the I-VT: each sample's angular velocity over its window, below
//! the threshold a fixation sample. The angle is decided without `asin` wherever that gives the
//! same answer (from the cosine in 3D, from a short series for the chord), and a block of
//! samples is first decided in a loop over the arrays.

use super::VelocityEdges;
use crate::fixation::track::{all_finite, cosine_gap_of, missing_time_fits, Track};
use crate::fixation::SampleClass;
use crate::geometry::angle_of_chord_deg;

/// Samples on each side of a sample that the velocity window takes: the window length at the
/// sampling rate, at least one (Tobii's minimum of three samples in all), so a 20 ms window is
/// 3 samples at 30-120 Hz, 7 at 300 Hz and 25 at 1200 Hz.
pub(super) fn velocity_half_window(window_ms: f64, sampling_hz: f64) -> usize {
    let half = (window_ms / 1000.0 * sampling_hz / 2.0).round();
    if half.is_nan() {
        1
    } else {
        // 1 s at 20 kHz: beyond any tracker and any window validate() accepts.
        half.clamp(1.0, 10_000.0) as usize
    }
}

/// The velocity window and threshold: what classifying a sample needs besides the track.
#[derive(Debug, Clone, Copy)]
pub(super) struct Velocity {
    /// Samples on each side (`velocity_half_window`).
    pub half: usize,
    /// How far in time (µs) the window reaches: `half` + 1 sample periods.
    pub reach_us: f64,
    /// Below this (°/s) a fixation sample.
    pub threshold: f64,
    /// Where the window's ends go at samples without gaze.
    pub edges: VelocityEdges,
}

impl Velocity {
    pub fn new(half: usize, period_us: f64, threshold: f64, edges: VelocityEdges) -> Self {
        Velocity {
            half,
            reach_us: (half as f64 + 1.0) * period_us,
            threshold,
            edges,
        }
    }

    /// Samples after a sample that deciding it may look at (and before it, that it may look
    /// back to): the half window, or the whole window when it can be moved inside a run.
    pub fn lookahead(&self) -> usize {
        match self.edges {
            VelocityEdges::NearestValid => self.half,
            VelocityEdges::InsideRun => 2 * self.half,
        }
    }

    /// Whether samples `j` and `j + 1` both have gaze with no row lost between them.
    #[inline(always)]
    fn joined(t: &Track, j: usize) -> bool {
        t.valid[j] && t.valid[j + 1] && missing_time_fits(t.ts[j + 1] - t.ts[j], 0, t.period_us)
    }

    /// `InsideRun`: the window of `2 * half + 1` samples with gaze in a row that holds `i`,
    /// centred where it can be, moved to lie inside the run at the run's ends; `None` when the
    /// run is shorter than the window.
    fn window_in_run(&self, t: &Track, i: usize) -> Option<(usize, usize)> {
        let h = self.half;
        let (mut lo, mut hi) = (i, i);
        while lo > 0 && i - lo < 2 * h && Self::joined(t, lo - 1) {
            lo -= 1;
        }
        while hi + 1 < t.len() && hi - i < 2 * h && Self::joined(t, hi) {
            hi += 1;
        }
        if hi - lo < 2 * h {
            None
        } else if i - lo < h {
            Some((lo, lo + 2 * h))
        } else if hi - i < h {
            Some((hi - 2 * h, hi))
        } else {
            Some((i - h, i + h))
        }
    }

    /// Sample `i`'s class by its angular velocity (°/s): the angle between the first and last
    /// valid samples within `half` samples on each side, over their time difference, below
    /// the threshold a fixation sample. Samples further away in time than `reach_us` (lost
    /// rows) are outside the window; a window holding only one valid sample leaves the sample
    /// unclassified.
    #[inline(always)]
    pub fn class_at(&self, t: &Track, i: usize) -> SampleClass {
        if !t.valid[i] {
            return SampleClass::Missing;
        }
        let (first, last) = match self.edges {
            VelocityEdges::NearestValid => {
                let near =
                    |j: &usize| t.valid[*j] && ((t.ts[*j] - t.ts[i]).abs() as f64) <= self.reach_us;
                let first = (i.saturating_sub(self.half)..i).find(near).unwrap_or(i);
                let last = (i + 1..=i.saturating_add(self.half).min(t.len() - 1))
                    .rev()
                    .find(near)
                    .unwrap_or(i);
                (first, last)
            }
            VelocityEdges::InsideRun => match self.window_in_run(t, i) {
                Some(w) => w,
                None => return SampleClass::Unclassified,
            },
        };
        if first == last || t.ts[last] == t.ts[first] {
            return SampleClass::Unclassified;
        }
        let seconds = (t.ts[last] - t.ts[first]) as f64 / 1e6;
        let threshold = self.threshold;
        let decided = t
            .cosine_gap(i, first, last)
            .and_then(|(gap, scale)| below_threshold_by_cosine(gap, scale, seconds, threshold));
        match decided.or_else(|| below_threshold(t.chord(i, first, last), seconds, threshold)) {
            Some(true) => SampleClass::Fixation(0),
            Some(false) => SampleClass::Saccade,
            None => SampleClass::Unclassified,
        }
    }

    /// `class_at` for samples `from..to` of `t`, appended to `out`, a block at a time: each
    /// sample is first decided from the two ends of its velocity window as if both were valid
    /// and near and the track in 3D (`cosine_decisions`); the samples for which that is not
    /// so, or which it leaves undecided, take `class_at` itself.
    pub fn classify_block(
        &self,
        t: &Track,
        (from, to): (usize, usize),
        quick: &mut Vec<Quick>,
        out: &mut Vec<SampleClass>,
    ) {
        let half = self.half;
        // Samples with their whole window in `t`.
        let lo = from.max(half).min(to);
        let hi = to.min(t.len().saturating_sub(half)).max(lo);
        cosine_decisions(t, (lo, hi), half, self.threshold, quick);
        let (ts, valid) = (&t.ts, &t.valid);
        for i in from..to {
            let decided = if (lo..hi).contains(&i) {
                quick[i - lo]
            } else {
                Quick::Undecided
            };
            let (a, b) = (i.wrapping_sub(half), i + half);
            let regular = || match self.edges {
                VelocityEdges::NearestValid => {
                    let near =
                        |j: usize| valid[j] && ((ts[j] - ts[i]).abs() as f64) <= self.reach_us;
                    valid[i] && near(a) && near(b)
                }
                // The centred window, whole: what `window_in_run` takes when it need not move.
                VelocityEdges::InsideRun => (a..b).all(|j| Self::joined(t, j)),
            };
            out.push(match decided {
                Quick::Fixation if regular() => SampleClass::Fixation(0),
                Quick::Saccade if regular() => SampleClass::Saccade,
                _ => self.class_at(t, i),
            });
        }
    }
}

/// What `cosine_decisions` made of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quick {
    Fixation,
    Saccade,
    Undecided,
}

/// Samples `from..from + m` of each axis.
fn axes(v: &[Vec<f32>; 3], from: usize, m: usize) -> [&[f32]; 3] {
    [0, 1, 2].map(|c| &v[c][from..from + m])
}

/// For each sample `i` in `lo..hi`: `class_at`'s answer if its window's ends are `i − half`
/// and `i + half` and all three samples have eye and gaze positions, from the cosine alone
/// (`cosine_code`); `Undecided` where that does not decide or the positions are not all
/// finite. One loop over slices of one length, without branches, so the compiler drops the
/// bounds checks and vectorises it.
fn cosine_decisions(
    t: &Track,
    (lo, hi): (usize, usize),
    half: usize,
    threshold: f64,
    out: &mut Vec<Quick>,
) {
    out.clear();
    if hi <= lo {
        return;
    }
    let m = hi - lo;
    let (a, b) = (lo - half, lo + half);
    let (ts_a, ts_b) = (&t.ts[a..a + m], &t.ts[b..b + m]);
    let [ox, oy, oz] = axes(&t.origin, lo, m);
    let [ax, ay, az] = axes(&t.gaze3d, a, m);
    let [bx, by, bz] = axes(&t.gaze3d, b, m);
    out.resize(m, Quick::Undecided);
    let out = &mut out[..m];
    for k in 0..m {
        let o = [ox[k], oy[k], oz[k]].map(f64::from);
        let ga = [ax[k], ay[k], az[k]].map(f64::from);
        let gb = [bx[k], by[k], bz[k]].map(f64::from);
        let finite = all_finite(&[o, ga, gb]);
        let (gap, scale) = cosine_gap_of(o, ga, gb);
        let seconds = (ts_b[k] - ts_a[k]) as f64 / 1e6;
        let code = cosine_code(gap, scale, seconds, threshold) & (u8::from(finite) * 3);
        out[k] = match code {
            1 => Quick::Fixation,
            2 => Quick::Saccade,
            _ => Quick::Undecided,
        };
    }
}

/// Whether the velocity of a chord `c` covered in `seconds` is below `threshold` (°/s), `None`
/// when it is not a number. Exactly what comparing `angle_of_chord_deg(c) / seconds` gives,
/// without the `asin` for almost every sample: below a chord of 0.5 the angle is
/// c + c³/24 + 3c⁵/640 less at most 1.5e-5 of itself (the arcsine series' remaining terms are
/// positive and shrink by c² each), so a velocity from those three terms further than 1e-3 of
/// the threshold from it is on the same side as the exact one; the rest take the exact path.
fn below_threshold(c: f64, seconds: f64, threshold: f64) -> Option<bool> {
    if c < 0.5 {
        let c2 = c * c;
        let approx = (c * (1.0 + c2 * (1.0 / 24.0 + c2 * (3.0 / 640.0)))).to_degrees() / seconds;
        if approx < threshold * (1.0 - 1e-3) {
            return Some(true);
        }
        if approx > threshold * (1.0 + 1e-3) {
            return Some(false);
        }
    }
    let v = angle_of_chord_deg(c) / seconds;
    (!v.is_nan()).then_some(v < threshold)
}

/// Whether the angle φ covered in `seconds` is below `threshold` (°/s), from
/// `gap` = s·(1 − cos φ) and `scale` = s (`Track::cosine_gap`): φ < θ = threshold·seconds exactly
/// when 1 − cos φ < 1 − cos θ. `None` (take the exact path) unless it is clear: θ between 1e-3
/// and 0.5 rad, and `gap` further than 1e-6 of its value from s·(1 − cos θ). There the answer
/// equals the exact path's: 1 − cos θ from four terms of its series is within 2e-9 of itself,
/// `gap` as computed within about 10ε/θ² ≤ 3e-9 of s·(1 − cos φ) (u·v cancels against s), and
/// the exact path's own angle within 1e-12 — all far inside the margin.
pub(super) fn below_threshold_by_cosine(
    gap: f64,
    scale: f64,
    seconds: f64,
    threshold: f64,
) -> Option<bool> {
    match cosine_code(gap, scale, seconds, threshold) {
        1 => Some(true),
        2 => Some(false),
        _ => None,
    }
}

/// `below_threshold_by_cosine` as a number, 1 below, 2 above, 0 undecided, worked out without
/// branches (every condition computed and combined), so a loop over samples vectorises.
#[inline(always)]
fn cosine_code(gap: f64, scale: f64, seconds: f64, threshold: f64) -> u8 {
    let theta = threshold.to_radians() * seconds;
    // NaN compares false, so a NaN θ or scale is not usable.
    let usable = (1e-3..=0.5).contains(&theta) & (scale > 0.0);
    let t2 = theta * theta;
    // 1 − cos θ = θ²/2 − θ⁴/24 + θ⁶/720 − θ⁸/40320 + …
    let one_minus_cos = t2 * (0.5 - t2 * (1.0 / 24.0 - t2 * (1.0 / 720.0 - t2 * (1.0 / 40320.0))));
    let bound = scale * one_minus_cos;
    let below = gap < bound * (1.0 - 1e-6);
    let above = gap > bound * (1.0 + 1e-6);
    // The first that holds, as an if–else would take them.
    u8::from(usable & below) | (u8::from(usable & above & !below) << 1)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::fixation::ivt::tests::{s, screen};
    use crate::fixation::{Angles, EyeChoice};
    use et_drivers::{EyeSample, GazeSample};

    /// The velocities and classes as they were computed before `classify_by_velocity`: every
    /// angle through `asin`. The reference the fast path must equal.
    fn classes_through_asin(t: &Track, half: usize, threshold: f64) -> Vec<SampleClass> {
        let n = t.len();
        let reach = (half as f64 + 1.0) * t.period_us;
        (0..n)
            .map(|i| {
                if !t.valid[i] {
                    return SampleClass::Missing;
                }
                let near = |j: &usize| t.valid[*j] && ((t.ts[*j] - t.ts[i]).abs() as f64) <= reach;
                let first = (i.saturating_sub(half)..i).find(near).unwrap_or(i);
                let last = (i + 1..=i.saturating_add(half).min(n - 1))
                    .rev()
                    .find(near)
                    .unwrap_or(i);
                if first == last || t.ts[last] == t.ts[first] {
                    return SampleClass::Unclassified;
                }
                let v = t.angle(i, first, last) / ((t.ts[last] - t.ts[first]) as f64 / 1e6);
                match v {
                    v if v.is_nan() => SampleClass::Unclassified,
                    v if v < threshold => SampleClass::Fixation(0),
                    _ => SampleClass::Saccade,
                }
            })
            .collect()
    }

    #[test]
    fn classes_without_asin_equal_those_through_it() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(18);
        for case in 0..40 {
            // Steps of every size around the threshold (30 °/s is 0.25° per 8.3 ms sample), in
            // 2D and 3D, with lost samples and eye positions.
            let n = 2_000;
            let scale = [1e-4, 1e-3, 3e-3, 1e-2, 0.3][case % 5];
            let (mut x, mut y): (f64, f64) = (0.5, 0.5);
            let samples: Vec<GazeSample> = (0..n)
                .map(|k| {
                    x = (x + rng.random_range(-scale..scale)).clamp(0.0, 1.0);
                    y = (y + rng.random_range(-scale..scale) / 2.0).clamp(0.0, 1.0);
                    let mut g = s(k as i64, x, y);
                    if rng.random_bool(0.05) {
                        g.left = EyeSample::INVALID;
                        g.right = EyeSample::INVALID;
                    }
                    if case % 2 == 1 {
                        // A head that moves a little, as real eye positions do.
                        let head = [
                            rng.random_range(-30.0..30.0),
                            rng.random_range(180.0..220.0),
                            rng.random_range(600.0..700.0),
                        ];
                        for (e, dx) in [(&mut g.left, -32.0), (&mut g.right, 32.0)] {
                            e.origin_mm = [head[0] + dx, head[1], head[2]];
                            e.origin_valid = rng.random_bool(0.95);
                            e.gaze3d_mm = [
                                (x as f32 - 0.5) * 531.0,
                                20.0 + (1.0 - y as f32) * 299.0,
                                0.0,
                            ];
                        }
                    }
                    g
                })
                .collect();
            let t = Track::build(
                &samples,
                &screen(),
                120.0,
                EyeChoice::Average,
                Angles::EyePosition,
                None,
            );
            for threshold in [30.0, 5.0, 100.0, 1e4] {
                for half in [1, 2] {
                    assert_eq!(
                        classify_by_velocity(&t, half, threshold, VelocityEdges::NearestValid),
                        classes_through_asin(&t, half, threshold),
                        "case {case}, threshold {threshold}, half {half}"
                    );
                }
            }
        }
    }

    /// Angles a little either side of the threshold's are decided from the cosine; those within
    /// its margin, and thresholds outside its range, are left to the exact path.
    #[test]
    fn the_cosine_path_decides_clear_cases_and_leaves_close_ones_to_the_exact_path() {
        let decide = |phi: f64, seconds: f64, threshold: f64| {
            let (o, a) = ([10.0, 200.0, 650.0], [-40.0, 200.0, 0.0]);
            // b: a turned by phi about the eye, in the horizontal plane holding both.
            let u = [a[0] - o[0], a[1] - o[1], a[2] - o[2]];
            let (s, c) = phi.sin_cos();
            let v = [u[0] * c + u[2] * s, u[1], -u[0] * s + u[2] * c];
            let dot = |p: [f64; 3], q: [f64; 3]| p[0] * q[0] + p[1] * q[1] + p[2] * q[2];
            let scale = (dot(u, u) * dot(v, v)).sqrt();
            below_threshold_by_cosine(scale - dot(u, v), scale, seconds, threshold)
        };
        let seconds = 2.0 / 120.0;
        for threshold in [30.0, 5.0, 1000.0] {
            let theta = f64::to_radians(threshold) * seconds;
            assert_eq!(decide(theta * (1.0 - 1e-5), seconds, threshold), Some(true));
            assert_eq!(
                decide(theta * (1.0 + 1e-5), seconds, threshold),
                Some(false)
            );
            assert_eq!(decide(theta * 0.2, seconds, threshold), Some(true));
            assert_eq!(decide(theta * 5.0, seconds, threshold), Some(false));
            assert_eq!(decide(theta * (1.0 + 1e-8), seconds, threshold), None);
            assert_eq!(decide(theta * (1.0 - 1e-8), seconds, threshold), None);
        }
        // θ = 0.05° (below 1e-3 rad) and 180° are not decided here.
        assert_eq!(decide(1e-5, seconds, 3.0), None);
        assert_eq!(decide(1e-5, 1.0, 180.0), None);
    }

    #[test]
    fn the_three_term_angle_is_within_its_stated_error_below_a_chord_of_one_half() {
        for k in 1..=5000 {
            let c = 0.5 * k as f64 / 5000.0;
            let c2 = c * c;
            let approx = c * (1.0 + c2 * (1.0 / 24.0 + c2 * (3.0 / 640.0)));
            let exact = 2.0 * (c / 2.0).asin();
            assert!(approx <= exact * (1.0 + 1e-15), "c {c}");
            assert!(
                exact - approx <= 1.5e-5 * exact,
                "c {c}: {}",
                (exact - approx) / exact
            );
        }
    }

    #[test]
    fn the_velocity_window_is_counted_in_samples_with_a_minimum_of_three() {
        assert_eq!(velocity_half_window(20.0, 30.0), 1);
        assert_eq!(velocity_half_window(20.0, 120.0), 1);
        assert_eq!(velocity_half_window(20.0, 300.0), 3);
        assert_eq!(velocity_half_window(20.0, 1200.0), 12);
        assert_eq!(velocity_half_window(20.0, f64::NAN), 1);
    }

    pub(in crate::fixation::ivt) fn classify_by_velocity(
        t: &Track,
        half: usize,
        threshold: f64,
        edges: VelocityEdges,
    ) -> Vec<SampleClass> {
        let v = Velocity::new(half, t.period_us, threshold, edges);
        (0..t.len()).map(|i| v.class_at(t, i)).collect()
    }
}
