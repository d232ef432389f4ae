//! Noise reduction for the I-VT: per coordinate, the median of each valid sample and its valid
//! neighbours within half the window. Tobii's window of three has a path without sorting, and
//! a block path whose regular samples go through vectorised loops.

use super::MedianEdges;
use crate::fixation::track::{Track, TrackPoint};

/// The median of a few values: the middle one, or the mean of the middle two; three without
/// sorting (Tobii's window).
pub(super) fn median_of(buf: &mut [f64]) -> f64 {
    match buf.len() {
        1 => buf[0],
        3 => median_of_three(buf[0], buf[1], buf[2]),
        m => {
            buf.sort_by(f64::total_cmp);
            if m % 2 == 1 {
                buf[m / 2]
            } else {
                (buf[m / 2 - 1] + buf[m / 2]) / 2.0
            }
        }
    }
}

/// The noise-reduced point of valid sample `i` of `raw`: per coordinate, the median of the
/// valid samples within `half` samples of it (the eye position is left as it is). With
/// `MedianEdges::OwnValue`, a sample whose window is not whole (a neighbour without gaze, the
/// ends of the data) keeps its own point.
#[inline(always)]
pub(super) fn median_point(
    raw: &Track,
    i: usize,
    half: usize,
    edges: MedianEdges,
    buf: &mut Vec<f64>,
) -> TrackPoint {
    if edges == MedianEdges::OwnValue && !whole_window(raw, i, half) {
        return raw.point(i);
    }
    if half == 1 {
        median_point_3(raw, i)
    } else {
        median_point_any(raw, i, half, buf)
    }
}

/// Whether every sample within `half` of `i` is in `raw` and has gaze.
#[inline(always)]
fn whole_window(raw: &Track, i: usize, half: usize) -> bool {
    i >= half && i + half < raw.len() && raw.valid[i - half..=i + half].iter().all(|v| *v)
}

/// Any window: the neighbours gathered into a buffer and sorted.
fn median_point_any(raw: &Track, i: usize, half: usize, buf: &mut Vec<f64>) -> TrackPoint {
    let near = (i.saturating_sub(half)..=(i + half).min(raw.len() - 1)).filter(|j| raw.valid[*j]);
    let mut med = |value: &dyn Fn(usize) -> f64| {
        buf.clear();
        buf.extend(near.clone().map(value));
        median_of(buf)
    };
    TrackPoint {
        x: med(&|j| raw.x[j]),
        y: med(&|j| raw.y[j]),
        origin: raw.origin_at(i),
        gaze3d: [0, 1, 2].map(|c| med(&|j| f64::from(raw.gaze3d[c][j])) as f32),
    }
}

/// The middle one of three values, without sorting (for numbers; a NaN among them is passed
/// over the way `f64::max` and `f64::min` pass it over, wherever the three come from).
#[inline(always)]
fn median_of_three(a: f64, b: f64, c: f64) -> f64 {
    a.max(b).min(a.min(b).max(c))
}

/// The median of a sample's value and its valid neighbours' (`None` where missing): what
/// `median_of` gives for those one to three values, without a buffer.
#[inline(always)]
fn median_3(prev: Option<f64>, cur: f64, next: Option<f64>) -> f64 {
    match (prev, next) {
        (Some(a), Some(c)) => median_of_three(a, cur, c),
        // Two values: their mean; the general path sums them sorted, and IEEE addition
        // commutes, so the order cannot change the value.
        (Some(o), None) | (None, Some(o)) => (o + cur) / 2.0,
        (None, None) => cur,
    }
}

/// The window of three (Tobii's) without a buffer or sorting: the same medians as the general
/// path (`tests::median_3_equals_the_general_window`).
#[inline(always)]
fn median_point_3(raw: &Track, i: usize) -> TrackPoint {
    let near = |j: usize| raw.valid[j].then_some(j);
    let (prev, next) = (
        i.checked_sub(1).and_then(near),
        (i + 1 < raw.len()).then_some(i + 1).and_then(near),
    );
    let of = |v: &[f64]| median_3(prev.map(|j| v[j]), v[i], next.map(|j| v[j]));
    let of_gaze = |c: usize| {
        let g = &raw.gaze3d[c];
        let at = |j: usize| f64::from(g[j]);
        median_3(prev.map(at), at(i), next.map(at)) as f32
    };
    TrackPoint {
        x: of(&raw.x),
        y: of(&raw.y),
        origin: raw.origin_at(i),
        gaze3d: [of_gaze(0), of_gaze(1), of_gaze(2)],
    }
}

/// The median of each value of `v` but the first and last with its two neighbours, in a loop
/// over three shifted slices that the compiler vectorises.
fn medians_of_three(v: &[f64]) -> impl Iterator<Item = f64> + '_ {
    let inner = v.len().saturating_sub(2);
    v[..inner]
        .iter()
        .zip(&v[1..=inner])
        .zip(&v[2..])
        .map(|((a, b), c)| median_of_three(*a, *b, *c))
}

/// `median_point_3` of raw samples `from..to`, appended to `out` a block at a time: every
/// sample's medians first as if both its neighbours were valid, in loops over the arrays the
/// compiler vectorises; then the samples for which that is not so (no gaze, a neighbour without
/// gaze, the ends of the data) take `median_point_3` itself. The eye position is copied as
/// it is.
pub(super) fn median_3_block(
    raw: &Track,
    from: usize,
    to: usize,
    edges: MedianEdges,
    out: &mut Track,
) {
    let start = out.len();
    out.ts.extend_from_slice(&raw.ts[from..to]);
    out.valid.extend_from_slice(&raw.valid[from..to]);
    // Samples with a sample on each side in `raw`: `lo..hi`, empty or inside `from..to`.
    let lo = from.max(1).min(to);
    let hi = to.min(raw.len().saturating_sub(1)).max(lo);
    for (o, v) in [(&mut out.x, &raw.x), (&mut out.y, &raw.y)] {
        o.extend_from_slice(&v[from..lo]);
        if hi > lo {
            o.extend(medians_of_three(&v[lo - 1..hi + 1]));
        }
        o.extend_from_slice(&v[hi..to]);
    }
    let mut wide = Vec::new();
    for c in 0..3 {
        let v = &raw.gaze3d[c];
        let o = &mut out.gaze3d[c];
        o.extend_from_slice(&v[from..lo]);
        if hi > lo {
            wide.clear();
            wide.extend(v[lo - 1..hi + 1].iter().map(|g| f64::from(*g)));
            o.extend(medians_of_three(&wide).map(|m| m as f32));
        }
        o.extend_from_slice(&v[hi..to]);
        out.origin[c].extend_from_slice(&raw.origin[c][from..to]);
    }
    let v = &raw.valid;
    for k in from..to {
        let regular = lo <= k && k < hi && v[k - 1] && v[k] && v[k + 1];
        if !regular {
            let p = if v[k] {
                match edges {
                    MedianEdges::ValidNeighbours => median_point_3(raw, k),
                    MedianEdges::OwnValue => raw.point(k),
                }
            } else {
                TrackPoint::MISSING
            };
            out.set_point(start + k - from, &p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixation::ivt::tests::{s, screen};
    use crate::fixation::{Angles, EyeChoice};
    use et_drivers::{EyeSample, GazeSample};

    #[test]
    fn median_of_three_without_sorting_is_the_median() {
        for v in [
            [1.0f64, 2.0, 3.0],
            [3.0, 1.0, 2.0],
            [2.0, 3.0, 1.0],
            [1.0, 3.0, 2.0],
            [2.0, 1.0, 3.0],
            [3.0, 2.0, 1.0],
            [1.0, 1.0, 5.0],
            [5.0, 1.0, 1.0],
        ] {
            let m = median_of_three(v[0], v[1], v[2]);
            let mut s = v;
            s.sort_by(f64::total_cmp);
            assert_eq!(m, s[1], "{v:?}");
        }
    }

    /// The one-pass window of three gives, bit for bit, what the general window gives: on
    /// random tracks with invalid samples, NaN 3D positions and gap-filled stretches.
    #[test]
    fn median_3_equals_the_general_window() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for case in 0..50 {
            let n = rng.random_range(1..400);
            let samples: Vec<GazeSample> = (0..n)
                .map(|k| {
                    let mut g = s(k as i64, rng.random::<f64>(), rng.random::<f64>());
                    if rng.random_bool(0.15) {
                        g.left = EyeSample::INVALID;
                    }
                    if rng.random_bool(0.15) {
                        g.right = EyeSample::INVALID;
                    }
                    if rng.random_bool(0.7) {
                        for e in [&mut g.left, &mut g.right] {
                            if e.gaze_valid {
                                e.origin_mm = [rng.random::<f32>(), 200.0, 650.0];
                                e.origin_valid = true;
                                e.gaze3d_mm = [rng.random::<f32>() * 500.0, rng.random(), 0.0];
                            }
                        }
                    }
                    g
                })
                .collect();
            let gap = [None, Some(75_000)][case % 2];
            let t = Track::build(
                &samples,
                &screen(),
                120.0,
                EyeChoice::Average,
                Angles::EyePosition,
                gap,
            );
            let mut buf = Vec::new();
            let bits = |p: TrackPoint| {
                (
                    p.x.to_bits(),
                    p.y.to_bits(),
                    p.gaze3d.map(f32::to_bits),
                    p.origin.map(f32::to_bits),
                )
            };
            for i in (0..t.len()).filter(|&i| t.valid[i]) {
                let (fast, general) = (median_point_3(&t, i), median_point_any(&t, i, 1, &mut buf));
                assert_eq!(bits(fast), bits(general), "case {case}, sample {i}");
            }
        }
    }
}
