//! The Tobii I-VT fixation filter: gap fill-in → eye selection → noise reduction → velocity →
//! classification → merge adjacent fixations → discard short fixations, each stage switchable
//! and every parameter configurable, with Tobii Pro Lab's defaults (peers.md §3.1).
//!
//! Here: the settings, and the recording cut into pieces for the cores. `pass`: the filter in
//! one pass over blocks of samples; `median` and `velocity`: the per-sample kernels of noise
//! reduction and classification, which the pass and the stage-by-stage reference share.

use et_drivers::{GazeSample, ScreenGeometry};
use et_files::SettingError;
use serde::{Deserialize, Serialize};

use super::track::{Angles, EyeChoice};
use super::{FixationResult, SampleClass};
use crate::parallel::WORTH_SPLITTING_SAMPLES;
use velocity::velocity_half_window;

mod median;
mod pass;
pub mod preset;
mod velocity;

pub use preset::{IvtSpec, Preset, ResolvedIvt};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IvtConfig {
    /// Longest gap filled by linear interpolation (ms); `None` turns the stage off.
    #[serde(with = "super::stage")]
    pub gap_fill_max_ms: Option<f64>,
    pub eye: EyeChoice,
    /// Moving-median window (samples, odd); `None` turns noise reduction off.
    #[serde(with = "super::stage")]
    pub median_window: Option<usize>,
    /// Time window over which velocity is measured (ms).
    pub velocity_window_ms: f64,
    /// What an angle between two samples (velocity) or fixations (merge) is measured between.
    pub angles: Angles,
    /// Samples slower than this are fixation samples (°/s).
    pub threshold_deg_s: f64,
    /// Merge fixations separated by at most this long (ms) ...
    #[serde(with = "super::stage")]
    pub merge_max_gap_ms: Option<f64>,
    /// ... and at most this far apart (°).
    pub merge_max_angle_deg: f64,
    /// Fixations shorter than this (ms) become unclassified; `None` keeps them.
    #[serde(with = "super::stage")]
    pub discard_shorter_than_ms: Option<f64>,
    /// What noise reduction does where a sample's window is not whole.
    pub median_edges: MedianEdges,
    /// Where the velocity window's ends go at samples without gaze.
    pub velocity_edges: VelocityEdges,
    /// What a fixation is compared with when deciding a merge.
    pub merge_compare: MergeCompare,
}

/// Noise reduction at a sample whose window holds a sample without gaze or runs off the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MedianEdges {
    /// The median of the samples in the window that have gaze.
    ValidNeighbours,
    /// The sample keeps its own value (Tobii Pro Lab 1.x).
    OwnValue,
}

/// The velocity window at samples without gaze.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VelocityEdges {
    /// Each end moves in to the nearest sample with gaze (within the window).
    NearestValid,
    /// The whole window lies inside a run of samples with gaze, moved to fit at the run's
    /// ends; a sample in a run shorter than the window is unclassified (Tobii Pro Lab 1.x).
    InsideRun,
}

/// Which positions a merge compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeCompare {
    /// The fixation so far (merged with those before it) and the next.
    Merged,
    /// Each fixation as classified and the next, each pair decided on its own (Tobii Pro Lab
    /// 1.x).
    Unmerged,
}

impl Default for IvtConfig {
    fn default() -> Self {
        IvtConfig {
            gap_fill_max_ms: Some(75.0),
            eye: EyeChoice::Average,
            median_window: Some(3),
            velocity_window_ms: 20.0,
            angles: Angles::EyePosition,
            threshold_deg_s: 30.0,
            merge_max_gap_ms: Some(75.0),
            merge_max_angle_deg: 0.5,
            discard_shorter_than_ms: Some(60.0),
            median_edges: MedianEdges::ValidNeighbours,
            velocity_edges: VelocityEdges::NearestValid,
            merge_compare: MergeCompare::Merged,
        }
    }
}

impl IvtConfig {
    pub fn validate(&self) -> Result<(), SettingError> {
        let refuse = |name: &str, m: String| Err(SettingError::new(format!("ivt.{name}"), m));
        let pos = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                refuse(name, format!("ivt.{name} must be positive, got {v}"))
            }
        };
        pos("velocity_window_ms", self.velocity_window_ms)?;
        pos("threshold_deg_s", self.threshold_deg_s)?;
        if self.velocity_window_ms > 1000.0 {
            return refuse(
                "velocity_window_ms",
                format!(
                    "ivt.velocity_window_ms must be at most 1000, got {}",
                    self.velocity_window_ms
                ),
            );
        }
        if let Some(w) = self.median_window {
            if w == 0 || w % 2 == 0 || w > MAX_MEDIAN_WINDOW {
                return refuse(
                    "median_window",
                    format!("ivt.median_window must be an odd number of samples up to {MAX_MEDIAN_WINDOW}, got {w}"),
                );
            }
        }
        for (name, v) in [
            ("gap_fill_max_ms", self.gap_fill_max_ms),
            ("merge_max_gap_ms", self.merge_max_gap_ms),
            ("discard_shorter_than_ms", self.discard_shorter_than_ms),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && v >= 0.0) {
                    return refuse(name, format!("ivt.{name} must be >= 0, got {v}"));
                }
            }
        }
        Ok(())
    }
}

/// The widest noise-reduction window accepted (samples); Tobii's is 3.
const MAX_MEDIAN_WINDOW: usize = 101;

/// Runs the filter over one recording's samples (sorted by time): in pieces on every core when
/// the recording is long enough to be worth it.
pub fn ivt(
    samples: &[GazeSample],
    screen: &ScreenGeometry,
    sampling_hz: f64,
    cfg: &IvtConfig,
) -> FixationResult {
    let parts = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The eye offset is carried across any stretch without gaze: no place to cut.
    let splittable = cfg.eye != EyeChoice::AverageEyeOffset;
    let cuts = if splittable && samples.len() >= WORTH_SPLITTING_SAMPLES && parts > 1 {
        cut_points(samples, cfg, sampling_hz, parts)
    } else {
        Vec::new()
    };
    ivt_pieces(samples, screen, sampling_hz, cfg, &cuts)
}

/// Where the filter can be cut without changing its result: inside a stretch with no gaze in
/// either eye longer than any stage looks across (gap fill, velocity window, merge gap).
fn cut_points(
    samples: &[GazeSample],
    cfg: &IvtConfig,
    sampling_hz: f64,
    parts: usize,
) -> Vec<usize> {
    let velocity_reach_ms =
        (2.0 * velocity_half_window(cfg.velocity_window_ms, sampling_hz) as f64 + 1.0) * 1000.0
            / sampling_hz;
    let reach_us = [
        cfg.gap_fill_max_ms,
        Some(velocity_reach_ms),
        cfg.merge_max_gap_ms,
    ]
    .into_iter()
    .flatten()
    .fold(0.0f64, f64::max)
        * 1000.0
        + 50_000.0;
    let n = samples.len();
    let no_gaze = |i: usize| samples[i].mean_gaze().is_none();
    // The middle of the no-gaze stretch around `i` (which has none), if the filter cannot see
    // across it: long enough, and with samples on both sides.
    let cut_in = |i: usize| {
        let (mut a, mut b) = (i, i);
        while a > 0 && no_gaze(a - 1) {
            a -= 1;
        }
        while b < n && no_gaze(b) {
            b += 1;
        }
        let long = (samples[b - 1].system_ts_us - samples[a].system_ts_us) as f64 > reach_us;
        ((a > 0 && b < n && long).then_some((a + b) / 2), a, b)
    };
    let after = |mut i: usize| {
        while i < n {
            if !no_gaze(i) {
                i += 1;
                continue;
            }
            let (cut, _, b) = cut_in(i);
            if cut.is_some() {
                return cut;
            }
            i = b;
        }
        None
    };
    let before = |mut i: usize| {
        while i > 0 {
            i -= 1;
            if !no_gaze(i) {
                continue;
            }
            let (cut, a, _) = cut_in(i);
            if cut.is_some() {
                return cut;
            }
            i = a;
        }
        None
    };
    let mut cuts: Vec<usize> = Vec::new();
    for k in 1..parts {
        // The cut nearest the even share, so the pieces take about as long.
        let want = n * k / parts;
        let prev = cuts.last().copied().unwrap_or(0);
        let nearest = [before(want), after(want)]
            .into_iter()
            .flatten()
            .filter(|&c| c > prev)
            .min_by_key(|&c| c.abs_diff(want));
        match nearest {
            Some(c) => cuts.push(c),
            None => break,
        }
    }
    cuts
}

/// The filter on the pieces between `cuts`, each on a thread of its own, joined: the same
/// result as one pass, because the pieces are cut where no stage can see across.
fn ivt_pieces(
    samples: &[GazeSample],
    screen: &ScreenGeometry,
    sampling_hz: f64,
    cfg: &IvtConfig,
    cuts: &[usize],
) -> FixationResult {
    let mut bounds = vec![0];
    bounds.extend(cuts);
    bounds.push(samples.len());
    let (mut out, rest) = std::thread::scope(|sc| {
        let handles: Vec<_> = bounds
            .windows(2)
            .skip(1)
            .map(|w| {
                let piece = &samples[w[0]..w[1]];
                sc.spawn(move || pass::ivt_pass(piece, screen, sampling_hz, cfg))
            })
            .collect();
        // The first piece on this thread.
        let first = pass::ivt_pass(&samples[..bounds[1]], screen, sampling_hz, cfg);
        let rest: Vec<FixationResult> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect();
        (first, rest)
    });
    out.classes.reserve(samples.len() - out.classes.len());
    for (piece, start) in rest.into_iter().zip(&bounds[1..]) {
        let offset = out.fixations.len() as u32;
        out.classes
            .extend(piece.classes.into_iter().map(|c| match c {
                SampleClass::Fixation(k) => SampleClass::Fixation(k + offset),
                other => other,
            }));
        out.fixations
            .extend(piece.fixations.into_iter().map(|mut f| {
                f.first += start;
                f.last += start;
                f
            }));
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::median::median_point;
    use super::velocity::tests::classify_by_velocity;
    use super::*;
    use crate::fixation::track::missing_time_fits;
    use crate::fixation::track::Track;
    use et_drivers::EyeSample;

    const P: f64 = 1e6 / 120.0;

    pub(crate) fn s(k: i64, x: f64, y: f64) -> GazeSample {
        let e = EyeSample {
            gaze_x: x as f32,
            gaze_y: y as f32,
            gaze_valid: true,
            ..EyeSample::INVALID
        };
        GazeSample {
            system_ts_us: (k as f64 * P).round() as i64,
            device_ts_us: 0,
            left: e,
            right: e,
        }
    }

    pub(crate) fn screen() -> ScreenGeometry {
        ScreenGeometry::default()
    }

    /// Display-area x that is `deg` degrees right of the centre.
    fn at_deg(deg: f64) -> f64 {
        0.5 + 650.0 * deg.to_radians().tan() / 531.0
    }

    fn two_fixations() -> Vec<GazeSample> {
        // 36 samples at A (0°), two saccade samples, 36 samples at B (10°).
        let (a, b) = (at_deg(0.0), at_deg(10.0));
        let mut v: Vec<GazeSample> = (0..36).map(|k| s(k, a, 0.5)).collect();
        v.push(s(36, a + (b - a) / 3.0, 0.5));
        v.push(s(37, a + 2.0 * (b - a) / 3.0, 0.5));
        v.extend((38..74).map(|k| s(k, b, 0.5)));
        v
    }

    #[test]
    fn a_saccade_splits_two_fixations_with_half_sample_boundaries() {
        let r = ivt(&two_fixations(), &screen(), 120.0, &IvtConfig::default());
        assert_eq!(r.fixations.len(), 2, "{:?}", r.fixations);
        let (f, g) = (&r.fixations[0], &r.fixations[1]);
        // Sample 35 sees 34 (A) and 36 (a third of the way): 3.3° over 16.7 ms = 200 °/s.
        assert_eq!((f.first, f.last), (0, 34));
        assert_eq!((g.first, g.last), (39, 73));
        // 35 samples each: 35 sample intervals with the half-sample convention.
        assert!(
            (f.duration_us as f64 - 35.0 * P).abs() <= 1.0,
            "{}",
            f.duration_us
        );
        assert!(
            (g.duration_us as f64 - 35.0 * P).abs() <= 1.0,
            "{}",
            g.duration_us
        );
        assert_eq!(f.start_us, -((P / 2.0).round() as i64));
        assert!((f.x - at_deg(0.0)).abs() < 1e-6 && (g.x - at_deg(10.0)).abs() < 1e-6);
        assert!(
            matches!(r.classes[36], SampleClass::Saccade)
                && matches!(r.classes[37], SampleClass::Saccade)
        );
        assert_eq!(r.classes[40], SampleClass::Fixation(1));
    }

    #[test]
    fn median_removes_a_one_sample_spike() {
        let mut v = two_fixations();
        v[10] = s(10, at_deg(5.0), 0.5);
        let r = ivt(&v, &screen(), 120.0, &IvtConfig::default());
        assert_eq!(r.fixations.len(), 2);
        let off = IvtConfig {
            median_window: None,
            merge_max_gap_ms: None,
            ..IvtConfig::default()
        };
        let r = ivt(&v, &screen(), 120.0, &off);
        assert_eq!(
            r.fixations.len(),
            3,
            "the spike splits the first fixation without the median"
        );
    }

    #[test]
    fn merge_joins_close_fixations_but_not_distant_ones() {
        // A, a two-sample blip that reads as a saccade, then back near A (0.3°) or far (1°).
        // Runs 0..=18 and 23..=41 are 33 ms apart (4 sample intervals, half-sample edges).
        let make = |back: f64| {
            let a = at_deg(0.0);
            let mut v: Vec<GazeSample> = (0..20).map(|k| s(k, a, 0.5)).collect();
            v.push(s(20, at_deg(3.0), 0.5));
            v.push(s(21, at_deg(3.0), 0.5));
            v.extend((22..42).map(|k| s(k, at_deg(back), 0.5)));
            v
        };
        let cfg = IvtConfig {
            median_window: None,
            ..IvtConfig::default()
        };
        let near = ivt(&make(0.3), &screen(), 120.0, &cfg);
        assert_eq!(near.fixations.len(), 1);
        assert_eq!((near.fixations[0].first, near.fixations[0].last), (0, 41));
        assert!(near.classes.iter().all(|c| *c == SampleClass::Fixation(0)));
        // The swallowed saccade samples (19..=22) do not pull the centroid: 19 at 0°, 19 at 0.3°.
        let mid = at_deg(0.15);
        assert!(
            (near.fixations[0].x - mid).abs() < 2e-4,
            "{} vs {mid}",
            near.fixations[0].x
        );
        assert_eq!(near.fixations[0].samples, 38);
        let far = ivt(&make(1.0), &screen(), 120.0, &cfg);
        assert_eq!(far.fixations.len(), 2);
        let no_merge = IvtConfig {
            merge_max_gap_ms: None,
            ..cfg
        };
        assert_eq!(
            ivt(&make(0.3), &screen(), 120.0, &no_merge).fixations.len(),
            2
        );
    }

    #[test]
    fn short_fixations_are_discarded_as_unclassified() {
        // 6 samples (50 ms) between two saccades.
        let mut v: Vec<GazeSample> = (0..20).map(|k| s(k, at_deg(0.0), 0.5)).collect();
        v.push(s(20, at_deg(5.0), 0.5));
        v.extend((21..27).map(|k| s(k, at_deg(10.0), 0.5)));
        v.push(s(27, at_deg(15.0), 0.5));
        v.extend((28..48).map(|k| s(k, at_deg(20.0), 0.5)));
        let cfg = IvtConfig {
            median_window: None,
            ..IvtConfig::default()
        };
        let r = ivt(&v, &screen(), 120.0, &cfg);
        assert_eq!(r.fixations.len(), 2);
        assert!(r.classes[22..26]
            .iter()
            .all(|c| *c == SampleClass::Unclassified));
        let keep = IvtConfig {
            discard_shorter_than_ms: None,
            ..cfg
        };
        assert_eq!(ivt(&v, &screen(), 120.0, &keep).fixations.len(), 3);
    }

    #[test]
    fn track_loss_longer_than_the_gap_limit_splits_and_is_missing() {
        let mut v = two_fixations();
        // Lose samples 10..=22 (108 ms) of the first fixation.
        for x in &mut v[10..=22] {
            x.left = EyeSample::INVALID;
            x.right = EyeSample::INVALID;
        }
        let r = ivt(&v, &screen(), 120.0, &IvtConfig::default());
        assert!(r.classes[10..=22]
            .iter()
            .all(|c| *c == SampleClass::Missing));
        assert_eq!(r.fixations.len(), 3);
        // A 5-sample loss (50 ms) is filled and merges back.
        let mut w = two_fixations();
        for x in &mut w[10..=14] {
            x.left = EyeSample::INVALID;
            x.right = EyeSample::INVALID;
        }
        assert_eq!(
            ivt(&w, &screen(), 120.0, &IvtConfig::default())
                .fixations
                .len(),
            2
        );
    }

    #[test]
    fn uses_the_exact_3d_angle_when_eye_positions_exist() {
        // Eye 100 mm left of centre: the same on-screen step subtends a slightly different angle.
        let mut v = two_fixations();
        for x in &mut v {
            for e in [&mut x.left, &mut x.right] {
                e.origin_mm = [-100.0, 0.0, 650.0];
                e.origin_valid = true;
                e.gaze3d_mm = [((f64::from(e.gaze_x) - 0.5) * 531.0) as f32, 0.0, 0.0];
            }
        }
        let r = ivt(&v, &screen(), 120.0, &IvtConfig::default());
        assert_eq!(r.fixations.len(), 2);
        let t = Track::build(
            &v,
            &screen(),
            120.0,
            EyeChoice::Average,
            Angles::EyePosition,
            None,
        );
        let g = |v: [f32; 3]| v.map(f64::from);
        let exact =
            crate::geometry::angle_deg([-100.0, 0.0, 650.0], g(t.gaze3d_at(0)), g(t.gaze3d_at(40)));
        assert!((t.angle(0, 0, 40) - exact).abs() < 1e-9);
        assert!((exact - t.deg.angle_2d((t.x[0], 0.5), (t.x[40], 0.5))).abs() > 0.05);
    }

    /// The filter stage by stage over whole-recording arrays, as it ran before the one pass:
    /// the reference `pass::ivt_pass` must equal bit for bit. It shares the per-sample kernels
    /// (`median_point`, `Velocity::class_at`), which have tests of their own.
    fn stage_by_stage(
        samples: &[GazeSample],
        screen: &ScreenGeometry,
        sampling_hz: f64,
        cfg: &IvtConfig,
    ) -> FixationResult {
        let gap = cfg.gap_fill_max_ms.map(|ms| (ms * 1000.0).round() as i64);
        let mut t = Track::build(samples, screen, sampling_hz, cfg.eye, cfg.angles, gap);
        if let Some(w) = cfg.median_window {
            let raw = t.clone();
            let mut buf = Vec::new();
            for i in (0..t.len()).filter(|&i| t.valid[i]) {
                let p = median_point(&raw, i, w / 2, cfg.median_edges, &mut buf);
                (t.x[i], t.y[i]) = (p.x, p.y);
                for c in 0..3 {
                    t.gaze3d[c][i] = p.gaze3d[c];
                }
            }
        }
        let classes = classify_by_velocity(
            &t,
            velocity_half_window(cfg.velocity_window_ms, sampling_hz),
            cfg.threshold_deg_s,
            cfg.velocity_edges,
        );
        let gap = cfg
            .gap_fill_max_ms
            .map_or(0, |ms| (ms * 1000.0).round() as i64);
        let mut runs = fixation_runs(&t, &classes, gap);
        if let Some(max_gap_ms) = cfg.merge_max_gap_ms {
            let max_gap = (max_gap_ms * 1000.0).round() as i64;
            let is_core = |i: usize| matches!(classes[i], SampleClass::Fixation(_));
            let mut merged: Vec<(usize, usize)> = Vec::with_capacity(runs.len());
            let mut before: Option<(usize, usize)> = None;
            for r in runs {
                if let (Some(prev), Some(last)) = (merged.last_mut(), before) {
                    let gap_us = t.start_of(r.0) - t.end_of(prev.1);
                    let compared = match cfg.merge_compare {
                        MergeCompare::Merged => *prev,
                        MergeCompare::Unmerged => last,
                    };
                    let (a, b) = (t.sums(compared, is_core), t.sums(r, is_core));
                    before = Some(r);
                    if gap_us <= max_gap
                        && a.centroid().angle_to(&b.centroid(), &t.deg) <= cfg.merge_max_angle_deg
                    {
                        prev.1 = r.1;
                        continue;
                    }
                }
                before = Some(r);
                merged.push(r);
            }
            runs = merged;
        }
        let mut classes = classes;
        if let Some(min_ms) = cfg.discard_shorter_than_ms {
            let min_us = (min_ms * 1000.0).round() as i64;
            runs.retain(|&(a, b)| {
                let keep = t.end_of(b) - t.start_of(a) >= min_us;
                if !keep {
                    for c in &mut classes[a..=b] {
                        *c = SampleClass::Unclassified;
                    }
                }
                keep
            });
        }
        FixationResult::from_runs(&t, &runs, classes)
    }

    /// Runs of fixation samples `[first, last]`, cut where neighbouring samples are further
    /// apart than the gap fill-in bridges.
    fn fixation_runs(t: &Track, classes: &[SampleClass], max_gap_us: i64) -> Vec<(usize, usize)> {
        let fix = |i: usize| matches!(classes[i], SampleClass::Fixation(_));
        let mut runs = Vec::new();
        let mut i = 0;
        while i < classes.len() {
            if fix(i) {
                let a = i;
                while i + 1 < classes.len()
                    && fix(i + 1)
                    && missing_time_fits(t.ts[i + 1] - t.ts[i], max_gap_us, t.period_us)
                {
                    i += 1;
                }
                runs.push((a, i));
            }
            i += 1;
        }
        runs
    }

    /// A fixation longer than many blocks (the window holds the growing run until it ends),
    /// with a two-sample blip in the middle that the merge joins over, and recordings of one
    /// sample and of none.
    #[test]
    fn one_pass_holds_a_run_longer_than_many_blocks() {
        let mut v: Vec<GazeSample> = (0..30_000)
            .map(|k| s(k, at_deg(0.1 * ((k % 7) as f64 - 3.0) / 3.0), 0.5))
            .collect();
        for k in [15_000, 15_001] {
            v[k as usize] = s(k, at_deg(4.0), 0.5);
        }
        for cfg in [
            IvtConfig::default(),
            IvtConfig {
                median_window: None,
                ..IvtConfig::default()
            },
        ] {
            let r = ivt(&v, &screen(), 120.0, &cfg);
            assert_eq!(r, stage_by_stage(&v, &screen(), 120.0, &cfg));
            assert_eq!(r.fixations.len(), 1, "{:?}", r.fixations);
            assert_eq!((r.fixations[0].first, r.fixations[0].last), (0, 29_999));
        }
        for n in [0, 1] {
            let r = ivt(&v[..n], &screen(), 120.0, &IvtConfig::default());
            assert_eq!(
                r,
                stage_by_stage(&v[..n], &screen(), 120.0, &IvtConfig::default())
            );
            assert_eq!(r.classes.len(), n);
        }
    }

    /// The one pass equals the stage-by-stage filter on random recordings: uneven and repeated
    /// time stamps, rows missing, either eye lost, NaN gaze flagged valid, eye positions or none,
    /// every stage on and off, several rates and windows, and lengths around the block size.
    #[test]
    fn one_pass_equals_stage_by_stage() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        let (mut long, mut with_fixations) = (0, 0);
        for case in 0..64 {
            let hz = [120.0, 60.0, 300.0, 1200.0][rng.random_range(0..4)];
            let n = [1, 2, 7, 4095, 4096, 4097, 9000, 13_000][case % 8] + rng.random_range(0..3);
            let with_3d = rng.random_bool(0.7);
            let (mut x, mut y, mut ts) = (0.5f64, 0.5f64, 0i64);
            let (mut lost_l, mut lost_r, mut still) = (0usize, 0usize, 0usize);
            let samples: Vec<GazeSample> = (0..n)
                .map(|_| {
                    // Uneven steps, a few repeated time stamps, and rows missing.
                    if !rng.random_bool(0.003) {
                        ts += (1e6 / hz * rng.random_range(0.9..1.1)) as i64;
                    }
                    if rng.random_bool(0.002) {
                        ts += rng.random_range(10_000..200_000);
                    }
                    // Fixations with noise, broken by saccades.
                    if still == 0 {
                        still = rng.random_range(1..(hz as usize / 2));
                        x = rng.random_range(0.1..0.9);
                        y = rng.random_range(0.1..0.9);
                    }
                    still -= 1;
                    let jitter = rng.random_range(-2e-3..2e-3);
                    for lost in [&mut lost_l, &mut lost_r] {
                        if *lost == 0 && rng.random_bool(0.01) {
                            *lost = rng.random_range(1..40);
                        }
                    }
                    // Blinks: both eyes lost together.
                    if rng.random_bool(0.01) {
                        let blink = rng.random_range(1..30);
                        (lost_l, lost_r) = (lost_l.max(blink), lost_r.max(blink));
                    }
                    let mut g = s(0, x + jitter, y - jitter);
                    g.system_ts_us = ts;
                    // A tracker that flags NaN gaze as valid now and then.
                    if rng.random_bool(0.002) {
                        g.left.gaze_x = f32::NAN;
                    }
                    for (e, lost, dx) in [
                        (&mut g.left, &mut lost_l, -32.0),
                        (&mut g.right, &mut lost_r, 32.0),
                    ] {
                        if *lost > 0 {
                            *lost -= 1;
                            *e = EyeSample::INVALID;
                        } else if with_3d {
                            e.origin_mm = [dx, 200.0, rng.random_range(640.0..660.0)];
                            e.origin_valid = rng.random_bool(0.98);
                            e.gaze3d_mm = [
                                (e.gaze_x - 0.5) * 531.0,
                                20.0 + (1.0 - e.gaze_y) * 299.0,
                                0.0,
                            ];
                        }
                    }
                    g
                })
                .collect();
            let mut pick = |k: usize| rng.random_range(0..k);
            let cfg = IvtConfig {
                gap_fill_max_ms: [Some(75.0), None, Some(0.0)][pick(3)],
                eye: [
                    EyeChoice::Average,
                    EyeChoice::Left,
                    EyeChoice::StrictAverage,
                    EyeChoice::AverageEyeOffset,
                ][pick(4)],
                median_edges: [MedianEdges::ValidNeighbours, MedianEdges::OwnValue][pick(2)],
                velocity_edges: [VelocityEdges::NearestValid, VelocityEdges::InsideRun][pick(2)],
                merge_compare: [MergeCompare::Merged, MergeCompare::Unmerged][pick(2)],
                angles: [Angles::EyePosition, Angles::GazeDirection][pick(2)],
                median_window: [Some(3), None, Some(5), Some(1)][pick(4)],
                merge_max_gap_ms: [Some(75.0), None][pick(2)],
                discard_shorter_than_ms: [Some(60.0), None, Some(200.0)][pick(3)],
                velocity_window_ms: [20.0, 50.0][pick(2)],
                merge_max_angle_deg: [0.5, 3.0][pick(2)],
                ..IvtConfig::default()
            };
            let want = stage_by_stage(&samples, &screen(), hz, &cfg);
            let got = ivt(&samples, &screen(), hz, &cfg);
            assert_eq!(got, want, "case {case}: {cfg:?}");
            if n >= 4000 {
                long += 1;
                with_fixations += usize::from(!want.fixations.is_empty());
            }
        }
        // Not a test of nothing: the long recordings have fixations to compare, but for a few
        // settings that leave none (one eye lost every ~100 samples at 1200 Hz, 200 ms minimum).
        assert!(
            with_fixations + 3 >= long,
            "{with_fixations} of {long} long recordings with fixations"
        );
    }

    #[test]
    fn parallel_pieces_give_the_same_result_as_one_pass() {
        let mut g =
            et_drivers::synthetic::GazeGenerator::new(et_drivers::synthetic::SyntheticConfig {
                seed: 4,
                ..Default::default()
            });
        let scene = et_drivers::synthetic::Scene::Image {
            regions: vec![
                et_drivers::synthetic::AttentionRegion {
                    name: "a".into(),
                    cx: 0.3,
                    cy: 0.5,
                    rx: 0.05,
                    ry: 0.05,
                    weight: 1.0,
                    mean_dwell_ms: 600.0,
                },
                et_drivers::synthetic::AttentionRegion {
                    name: "b".into(),
                    cx: 0.7,
                    cy: 0.4,
                    rx: 0.05,
                    ry: 0.05,
                    weight: 1.0,
                    mean_dwell_ms: 600.0,
                },
            ],
        };
        let v: Vec<GazeSample> = (0..120 * 600)
            .map(|k| g.sample((k as f64 * P) as i64, 1, &scene))
            .collect();
        let cfg = IvtConfig::default();
        let one = ivt_pieces(&v, &screen(), 120.0, &cfg, &[]);
        assert_eq!(one, stage_by_stage(&v, &screen(), 120.0, &cfg));
        let cuts = cut_points(&v, &cfg, 120.0, 4);
        assert_eq!(
            cuts.len(),
            3,
            "the synthetic data has long blinks to cut in"
        );
        // Cut near the even shares (blinks are seconds apart), so the pieces take as long.
        for (k, c) in cuts.iter().enumerate() {
            let want = v.len() * (k + 1) / 4;
            assert!(c.abs_diff(want) < 120 * 20, "cut {c}, even share {want}");
        }
        let four = ivt_pieces(&v, &screen(), 120.0, &cfg, &cuts);
        assert_eq!(one, four);
        assert!(one.fixations.len() > 1000);
    }

    /// A sample at `ts` (µs) looking at `x` (display area), both eyes.
    fn at(ts: i64, x: f64) -> GazeSample {
        GazeSample {
            system_ts_us: ts,
            ..s(0, x, 0.5)
        }
    }

    #[test]
    fn a_fixation_never_spans_a_stretch_without_samples() {
        // 100 Hz: 500 ms at one point, no rows until 3000 ms, then 500 ms at another point.
        let (a, b) = (at_deg(0.0), at_deg(0.2));
        let mut v: Vec<GazeSample> = (0..50).map(|k| at(k * 10_000, a)).collect();
        v.extend((0..50).map(|k| at(3_000_000 + k * 10_000, b)));
        let r = ivt(&v, &screen(), 100.0, &IvtConfig::default());
        assert_eq!(r.fixations.len(), 2, "{:?}", r.fixations);
        for f in &r.fixations {
            assert!((f.duration_us - 500_000).abs() <= 10_000, "{f:?}");
        }
        // Rows missing for 75 ms or less (9 samples at 120 Hz) are bridged by the fill-in, and
        // one more is not.
        for (missing, fixations) in [(9, 1), (10, 2)] {
            let mut w: Vec<GazeSample> = (0..60).map(|k| s(k, a, 0.5)).collect();
            w.extend((60 + missing..120 + missing).map(|k| s(k, b, 0.5)));
            let cfg = IvtConfig {
                merge_max_gap_ms: None,
                ..IvtConfig::default()
            };
            let r = ivt(&w, &screen(), 120.0, &cfg);
            assert_eq!(r.fixations.len(), fixations, "{missing} rows missing");
        }
    }

    #[test]
    fn gap_fill_fills_nine_missing_samples_at_120_hz() {
        // Invalid rows this time: 9 are filled (75 ms), 10 are not.
        for (missing, fixations) in [(9usize, 1usize), (10, 2)] {
            let mut v: Vec<GazeSample> = (0..120).map(|k| s(k, at_deg(0.0), 0.5)).collect();
            for x in &mut v[50..50 + missing] {
                x.left = EyeSample::INVALID;
                x.right = EyeSample::INVALID;
            }
            let cfg = IvtConfig {
                merge_max_gap_ms: None,
                ..IvtConfig::default()
            };
            let r = ivt(&v, &screen(), 120.0, &cfg);
            assert_eq!(r.fixations.len(), fixations, "{missing} invalid samples");
        }
    }

    /// Planted gaze at `hz`: fixations of 180-400 ms at points 3-17° apart, joined by 30 ms
    /// saccades, with ±0.05° of noise. Returns the samples, which of them lie inside a fixation
    /// (with the whole velocity window inside it), and the number of fixations.
    fn planted(hz: f64) -> (Vec<GazeSample>, Vec<bool>, usize) {
        let places = [-8.0, 4.0, -2.0, 9.0, -6.0, 1.0, 8.0, -4.0, 3.0, -9.0];
        let durations = [180.0, 250.0, 320.0, 400.0, 230.0];
        let half = velocity_half_window(20.0, hz) as f64 + 1.0;
        let p = 1e6 / hz;
        let (mut v, mut inside) = (Vec::new(), Vec::new());
        let (mut t0, mut noise) = (0.0f64, 12345u64);
        let n = 20;
        for k in 0..n {
            let (from, to) = (places[k % 10], places[(k + 1) % 10]);
            let fix_us = durations[k % 5] * 1000.0;
            let sac_us = 30_000.0;
            let mut t = (t0 / p).ceil() * p;
            while t < t0 + fix_us + sac_us {
                noise = noise
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let jitter = ((noise >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.1;
                let deg = if t < t0 + fix_us {
                    from
                } else {
                    from + (to - from) * (t - t0 - fix_us) / sac_us
                };
                v.push(at(t.round() as i64, at_deg(deg + jitter)));
                inside.push(t >= t0 + half * p && t <= t0 + fix_us - half * p);
                t += p;
            }
            t0 += fix_us + sac_us;
        }
        (v, inside, n)
    }

    #[test]
    fn planted_fixations_are_found_at_every_tracker_rate() {
        for hz in [30.0, 60.0, 90.0, 120.0, 300.0, 600.0, 1200.0] {
            let (v, inside, planted_n) = planted(hz);
            let r = ivt(&v, &screen(), hz, &IvtConfig::default());
            let planted_samples = inside.iter().filter(|x| **x).count();
            let found = r
                .classes
                .iter()
                .zip(&inside)
                .filter(|(c, i)| **i && matches!(c, SampleClass::Fixation(_)))
                .count();
            let share = found as f64 / planted_samples as f64;
            assert!(share >= 0.95, "{hz} Hz: {found} of {planted_samples}");
            let count = r.fixations.len() as f64;
            assert!(
                (count - planted_n as f64).abs() <= 0.05 * planted_n as f64,
                "{hz} Hz: {count} fixations for {planted_n}"
            );
        }
    }

    #[test]
    fn merge_measures_the_angle_in_3d_when_eye_positions_exist() {
        // Two fixations 0.45° apart on screen for an eye at the configured 650 mm; the eye is
        // really 400 mm away, where the same on-screen step subtends 0.73°.
        let make = |origin: Option<[f32; 3]>| {
            let mut v = Vec::new();
            for k in 0..40 {
                let deg = if k < 20 {
                    0.0
                } else if k < 22 {
                    3.0
                } else {
                    0.45
                };
                let mut x = s(k, at_deg(deg), 0.5);
                if let Some(o) = origin {
                    for e in [&mut x.left, &mut x.right] {
                        e.origin_mm = o;
                        e.origin_valid = true;
                        e.gaze3d_mm = [((f64::from(e.gaze_x) - 0.5) * 531.0) as f32, 0.0, 0.0];
                    }
                }
                v.push(x);
            }
            v
        };
        let cfg = IvtConfig {
            median_window: None,
            ..IvtConfig::default()
        };
        assert_eq!(ivt(&make(None), &screen(), 120.0, &cfg).fixations.len(), 1);
        let near = ivt(&make(Some([0.0, 0.0, 400.0])), &screen(), 120.0, &cfg);
        assert_eq!(near.fixations.len(), 2, "{:?}", near.fixations);
    }

    #[test]
    fn rejects_bad_settings() {
        let c = IvtConfig {
            median_window: Some(4),
            ..IvtConfig::default()
        };
        assert!(c.validate().unwrap_err().message.contains("odd"));
        let c = IvtConfig {
            threshold_deg_s: 0.0,
            ..IvtConfig::default()
        };
        assert_eq!(c.validate().unwrap_err().key, "ivt.threshold_deg_s");
    }

    #[test]
    fn stages_are_turned_off_in_toml_with_false() {
        let c: IvtConfig =
            toml::from_str("gap_fill_max_ms = false\nmedian_window = false\nmerge_max_gap_ms = 50")
                .unwrap();
        assert_eq!((c.gap_fill_max_ms, c.median_window), (None, None));
        assert_eq!(c.merge_max_gap_ms, Some(50.0));
        assert_eq!(c.discard_shorter_than_ms, Some(60.0));
        let back: IvtConfig = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert!(toml::from_str::<IvtConfig>("median_window = true").is_err());
    }
}
