//! The gaze signal the filters work on: one point per sample after gap fill-in and eye
//! selection, with the 3D eye position where the tracker gave one.

use et_drivers::{EyeSample, GazeSample, ScreenGeometry};
use serde::{Deserialize, Serialize};

use super::Fixation;
use crate::geometry::{angle_deg, chord, Degrees};

/// Which eye's data the filter uses (Tobii's "eye selection").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EyeChoice {
    Left,
    Right,
    /// Mean of both eyes; one eye alone when the other is missing (Tobii's default).
    Average,
    /// Mean of both eyes; missing unless both are valid.
    StrictAverage,
    /// Mean of both eyes; when one is missing, the mean of the other and of the other shifted
    /// by the difference between the eyes at the last sample with both (before the first such
    /// sample: at the first). Tobii Pro Lab 1.x classifies so: its labels do not see an eye
    /// dropping out as a jump of half the eyes' disparity (`ivt` module doc).
    AverageEyeOffset,
}

/// What the angle between two samples or two fixations is measured between, where the
/// recording has the eyes' 3-D positions (else it comes from the screen geometry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Angles {
    /// The gaze points on the screen, seen from the eye position of the sample classified
    /// (for a merge: from the two fixations' mean eye position).
    EyePosition,
    /// The directions of the eyes' lines of sight (each eye's unit vector from its eye position
    /// to its gaze point, averaged over the eyes), each sample with its own eye position; a
    /// fixation's direction is its samples' mean (Tobii Pro Lab 1.x).
    GazeDirection,
}

#[derive(Debug, Clone)]
pub(crate) struct Track {
    pub ts: Vec<i64>,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub valid: Vec<bool>,
    /// Eye position and gaze point in user coordinates (mm), one array per axis; NaN when
    /// unknown. Single precision, as the tracker gives them. With `Angles::GazeDirection`:
    /// origin 0 and the line of sight's unit vector (`Angles::sight`).
    pub origin: [Vec<f32>; 3],
    pub gaze3d: [Vec<f32>; 3],
    pub deg: Degrees,
    pub eye: EyeChoice,
    /// Nominal sample period (µs), for the half-sample convention at the ends.
    pub period_us: f64,
}

/// One eye of one sample, in the tracker's own single precision.
#[derive(Debug, Clone, Copy)]
struct EyePoint {
    x: f32,
    y: f32,
    origin: [f32; 3],
    gaze3d: [f32; 3],
}

fn eye_point(e: &EyeSample) -> Option<EyePoint> {
    if !has_gaze(e) {
        return None;
    }
    Some(EyePoint {
        x: e.gaze_x,
        y: e.gaze_y,
        origin: if e.origin_valid {
            e.origin_mm
        } else {
            [f32::NAN; 3]
        },
        gaze3d: e.gaze3d_mm,
    })
}

#[inline(always)]
fn lerp3(a: [f32; 3], b: [f32; 3], w: f64) -> [f32; 3] {
    let w = w as f32;
    [
        a[0] + (b[0] - a[0]) * w,
        a[1] + (b[1] - a[1]) * w,
        a[2] + (b[2] - a[2]) * w,
    ]
}

#[inline(always)]
fn mean3(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    lerp3(a, b, 0.5)
}

/// One eye's point at each sample in turn, with gap fill-in: every sample inside a gap of at
/// most `max_gap_us` gets the point interpolated linearly in time between the valid samples
/// around it. A gap's length is the time its missing samples cover (from the last valid sample
/// to the next, less one sample period), so 75 ms fills 9 missing samples at 120 Hz, as Tobii's
/// filter does. A gap is looked across once, at its first sample, and its fills kept until the
/// walk has passed them: one pass over the samples, and no copy of every sample's eye.
struct EyeCursor<'a> {
    samples: &'a [GazeSample],
    side: Side,
    max_gap_us: Option<i64>,
    period_us: f64,
    /// The last sample with a valid point.
    last: Option<usize>,
    /// The fills of the gap being walked, for samples `fill_from..`.
    fills: Vec<EyePoint>,
    fill_from: usize,
    /// Samples before this one are in a gap found too long to fill.
    unfilled_until: usize,
}

#[derive(Clone, Copy)]
enum Side {
    Left,
    Right,
}

/// One eye of a sample as the track takes it: the sample's own valid point, read where it
/// lies, or a gap fill.
#[derive(Clone, Copy)]
enum EyeRef<'a> {
    Own(&'a EyeSample),
    Fill(EyePoint),
}

impl EyeRef<'_> {
    #[inline(always)]
    fn x(&self) -> f32 {
        match self {
            EyeRef::Own(e) => e.gaze_x,
            EyeRef::Fill(p) => p.x,
        }
    }

    #[inline(always)]
    fn y(&self) -> f32 {
        match self {
            EyeRef::Own(e) => e.gaze_y,
            EyeRef::Fill(p) => p.y,
        }
    }

    #[inline(always)]
    fn origin(&self) -> [f32; 3] {
        match self {
            EyeRef::Own(e) if e.origin_valid => e.origin_mm,
            EyeRef::Own(_) => [f32::NAN; 3],
            EyeRef::Fill(p) => p.origin,
        }
    }

    #[inline(always)]
    fn gaze3d(&self) -> [f32; 3] {
        match self {
            EyeRef::Own(e) => e.gaze3d_mm,
            EyeRef::Fill(p) => p.gaze3d,
        }
    }
}

/// Whether an eye's own gaze is valid (what `eye_point` accepts).
#[inline(always)]
fn has_gaze(e: &EyeSample) -> bool {
    e.gaze_valid && e.gaze_x.is_finite() && e.gaze_y.is_finite()
}

impl<'a> EyeCursor<'a> {
    #[inline(always)]
    fn eye(&self, j: usize) -> &'a EyeSample {
        let s = &self.samples[j];
        match self.side {
            Side::Left => &s.left,
            Side::Right => &s.right,
        }
    }

    /// Sample `j`'s own point of this eye, if valid.
    fn own(&self, j: usize) -> Option<EyePoint> {
        eye_point(self.eye(j))
    }

    #[inline(always)]
    fn at(&mut self, i: usize) -> Option<EyeRef<'a>> {
        let e = self.eye(i);
        if has_gaze(e) {
            self.last = Some(i);
            return Some(EyeRef::Own(e));
        }
        self.fill_at(i).map(EyeRef::Fill)
    }

    /// Sample `i`, which has no valid point of its own: its fill, if its gap is filled.
    #[inline(never)]
    fn fill_at(&mut self, i: usize) -> Option<EyePoint> {
        if let Some(p) = i
            .checked_sub(self.fill_from)
            .and_then(|k| self.fills.get(k))
        {
            return Some(*p);
        }
        if i < self.unfilled_until {
            return None;
        }
        let (Some(max_gap_us), Some((l, a))) = (
            self.max_gap_us,
            self.last.and_then(|l| self.own(l).map(|a| (l, a))),
        ) else {
            return None;
        };
        // The first sample of a gap: find the next valid point and fill, or mark it unfilled.
        let ts = |k: usize| self.samples[k].system_ts_us;
        let next = (i + 1..self.samples.len()).find_map(|j| self.own(j).map(|b| (j, b)));
        match next {
            Some((j, b)) if missing_time_fits(ts(j) - ts(l), max_gap_us, self.period_us) => {
                let span = (ts(j) - ts(l)) as f64;
                self.fills.clear();
                self.fills.extend((l + 1..j).map(|k| {
                    let w = (ts(k) - ts(l)) as f64 / span;
                    EyePoint {
                        x: (f64::from(a.x) + f64::from(b.x - a.x) * w) as f32,
                        y: (f64::from(a.y) + f64::from(b.y - a.y) * w) as f32,
                        origin: lerp3(a.origin, b.origin, w),
                        gaze3d: lerp3(a.gaze3d, b.gaze3d, w),
                    }
                }));
                self.fill_from = l + 1;
                self.fills.first().copied()
            }
            next => {
                self.unfilled_until = next.map_or(self.samples.len(), |(j, _)| j);
                None
            }
        }
    }
}

/// Whether the samples missing between two samples `interval_us` apart cover at most
/// `max_gap_us` (interval less one period; 1 ms of slack for time stamps in whole ms).
pub(crate) fn missing_time_fits(interval_us: i64, max_gap_us: i64, period_us: f64) -> bool {
    interval_us as f64 - period_us <= max_gap_us as f64 + 1000.0
}

/// One sample of the track: display-area point, eye position and gaze point (mm).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TrackPoint {
    pub x: f64,
    pub y: f64,
    pub origin: [f32; 3],
    pub gaze3d: [f32; 3],
}

impl TrackPoint {
    pub const MISSING: TrackPoint = TrackPoint {
        x: f64::NAN,
        y: f64::NAN,
        origin: [f32::NAN; 3],
        gaze3d: [f32::NAN; 3],
    };

    #[inline(always)]
    fn of_eye(p: EyeRef) -> Self {
        TrackPoint {
            x: f64::from(p.x()),
            y: f64::from(p.y()),
            origin: p.origin(),
            gaze3d: p.gaze3d(),
        }
    }

    /// Both eyes' mean.
    #[inline(always)]
    fn mean(&self, r: &TrackPoint) -> TrackPoint {
        TrackPoint {
            x: (self.x + r.x) / 2.0,
            y: (self.y + r.y) / 2.0,
            origin: mean3(self.origin, r.origin),
            gaze3d: mean3(self.gaze3d, r.gaze3d),
        }
    }
}

impl Angles {
    /// One eye's point as the angles see it. With `GazeDirection` its 3-D part becomes the
    /// line of sight's unit vector from an eye at the origin (unknown where the eye position or
    /// the gaze point is), so every angle "seen from the eye" that the filter takes (velocity,
    /// a merge's centroids, the eye offset) is one between directions.
    #[inline(always)]
    fn sight(self, p: TrackPoint) -> TrackPoint {
        if self == Angles::EyePosition {
            return p;
        }
        let d = [0, 1, 2].map(|c| f64::from(p.gaze3d[c]) - f64::from(p.origin[c]));
        let length = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        let (origin, gaze3d) = if length.is_finite() && length > 0.0 {
            ([0.0; 3], d.map(|v| (v / length) as f32))
        } else {
            ([f32::NAN; 3], [f32::NAN; 3])
        };
        TrackPoint {
            origin,
            gaze3d,
            ..p
        }
    }
}

/// The track's samples one at a time, in order: gap fill-in per eye, then eye selection. The
/// whole-recording `Track::build` and the I-VT's one pass both read it.
pub(crate) struct TrackSource<'a> {
    samples: &'a [GazeSample],
    left: EyeCursor<'a>,
    right: EyeCursor<'a>,
    eye: EyeChoice,
    angles: Angles,
    /// Right eye less left at the last sample with both (`AverageEyeOffset`).
    offset: EyeOffset,
}

/// The difference between the eyes, right less left, per value of a point: display x and y,
/// eye position and 3D gaze point; each kept from the last sample where it was known.
#[derive(Debug, Clone, Copy)]
struct EyeOffset([f64; 8]);

impl EyeOffset {
    fn values(p: &TrackPoint) -> [f64; 8] {
        let (o, g) = (p.origin.map(f64::from), p.gaze3d.map(f64::from));
        [p.x, p.y, o[0], o[1], o[2], g[0], g[1], g[2]]
    }

    fn from_values(v: [f64; 8]) -> TrackPoint {
        TrackPoint {
            x: v[0],
            y: v[1],
            origin: [v[2] as f32, v[3] as f32, v[4] as f32],
            gaze3d: [v[5] as f32, v[6] as f32, v[7] as f32],
        }
    }

    /// Learns the difference from a sample with both eyes (values not known stay as they were).
    fn learn(&mut self, l: &TrackPoint, r: &TrackPoint) {
        let (a, b) = (Self::values(l), Self::values(r));
        for k in 0..8 {
            let d = b[k] - a[k];
            if d.is_finite() {
                self.0[k] = d;
            }
        }
    }

    /// The mean of `p` (of the eye on `side`) and the other eye estimated from it.
    fn complete(&self, p: &TrackPoint, side: Side) -> TrackPoint {
        let v = Self::values(p);
        let sign = match side {
            Side::Left => 0.5,
            Side::Right => -0.5,
        };
        EyeOffset::from_values(std::array::from_fn(|k| {
            if self.0[k].is_finite() {
                v[k] + sign * self.0[k]
            } else {
                v[k]
            }
        }))
    }

    /// The difference at the first sample with both eyes (unknown values NaN).
    fn first_in(samples: &[GazeSample], angles: Angles) -> Self {
        let mut off = EyeOffset([f64::NAN; 8]);
        let both = samples
            .iter()
            .find_map(|s| Some((eye_point(&s.left)?, eye_point(&s.right)?)));
        if let Some((l, r)) = both {
            let sight = |p: EyePoint| angles.sight(TrackPoint::of_eye(EyeRef::Fill(p)));
            off.learn(&sight(l), &sight(r));
        }
        off
    }
}

impl<'a> TrackSource<'a> {
    /// `gap_fill_us`: longest gap to interpolate over, if any.
    pub fn new(
        samples: &'a [GazeSample],
        sampling_hz: f64,
        eye: EyeChoice,
        angles: Angles,
        gap_fill_us: Option<i64>,
    ) -> Self {
        let period_us = period_us(sampling_hz);
        let cursor = |side: Side| EyeCursor {
            samples,
            side,
            max_gap_us: gap_fill_us,
            period_us,
            last: None,
            fills: Vec::new(),
            fill_from: 0,
            unfilled_until: 0,
        };
        let offset = match eye {
            EyeChoice::AverageEyeOffset => EyeOffset::first_in(samples, angles),
            _ => EyeOffset([f64::NAN; 8]),
        };
        TrackSource {
            samples,
            left: cursor(Side::Left),
            right: cursor(Side::Right),
            eye,
            angles,
            offset,
        }
    }

    /// Sample `i`'s time stamp and point; `i` must not go back.
    #[inline(always)]
    pub fn at(&mut self, i: usize) -> (i64, Option<TrackPoint>) {
        let sight = |e: EyeRef| self.angles.sight(TrackPoint::of_eye(e));
        let (l, r) = (self.left.at(i).map(sight), self.right.at(i).map(sight));
        let p = match (self.eye, l, r) {
            (EyeChoice::Left, l, _) => l,
            (EyeChoice::Right, _, r) => r,
            (EyeChoice::AverageEyeOffset, Some(l), Some(r)) => {
                self.offset.learn(&l, &r);
                Some(l.mean(&r))
            }
            (_, Some(l), Some(r)) => Some(l.mean(&r)),
            (EyeChoice::AverageEyeOffset, Some(l), None) => {
                Some(self.offset.complete(&l, Side::Left))
            }
            (EyeChoice::AverageEyeOffset, None, Some(r)) => {
                Some(self.offset.complete(&r, Side::Right))
            }
            (EyeChoice::Average, l, r) => l.or(r),
            (_, _, _) => None,
        };
        (self.samples[i].system_ts_us, p)
    }
}

/// Nominal sample period (µs) of a sampling rate.
pub(crate) fn period_us(sampling_hz: f64) -> f64 {
    1e6 / sampling_hz.max(1e-9)
}

/// Half-sample start of an event whose first sample is at `ts`, `prev` the time of the sample
/// before it (none at the start of the data): halfway back to it, at most one nominal period.
pub(crate) fn half_sample_start(prev: Option<i64>, ts: i64, period_us: f64) -> i64 {
    match prev {
        None => ts - (period_us / 2.0).round() as i64,
        Some(p) => ts - (ts - p).min((period_us * 2.0) as i64) / 2,
    }
}

/// Half-sample end of an event whose last sample is at `ts`, `next` the time of the one after.
pub(crate) fn half_sample_end(ts: i64, next: Option<i64>, period_us: f64) -> i64 {
    match next {
        None => ts + (period_us / 2.0).round() as i64,
        Some(q) => ts + (q - ts).min((period_us * 2.0) as i64) / 2,
    }
}

/// Whether an eye position and two gaze points (converted from the tracker's single precision)
/// are all finite: one test for all nine, as a sum of finite single-precision values is finite
/// in double, and no branch in a loop over samples.
#[inline(always)]
pub(crate) fn all_finite(p: &[[f64; 3]; 3]) -> bool {
    p.as_flattened()
        .iter()
        .map(|v| v.abs())
        .sum::<f64>()
        .is_finite()
}

/// `Track::cosine_gap` of an eye position `o` and two gaze points.
#[inline(always)]
pub(crate) fn cosine_gap_of(o: [f64; 3], ga: [f64; 3], gb: [f64; 3]) -> (f64, f64) {
    let u = [ga[0] - o[0], ga[1] - o[1], ga[2] - o[2]];
    let v = [gb[0] - o[0], gb[1] - o[1], gb[2] - o[2]];
    let dot = |p: [f64; 3], q: [f64; 3]| p[0] * q[0] + p[1] * q[1] + p[2] * q[2];
    let scale = (dot(u, u) * dot(v, v)).sqrt();
    (scale - dot(u, v), scale)
}

/// Where a run of samples is on average: on the display area, and in 3D where known.
pub(crate) struct Centroid {
    xy: (f64, f64),
    origin_gaze: Option<([f64; 3], [f64; 3])>,
}

impl Centroid {
    /// Angle (degrees) between two centroids: in 3D from their mean eye position when both
    /// have one, else from the screen geometry.
    pub fn angle_to(&self, other: &Centroid, deg: &Degrees) -> f64 {
        match (self.origin_gaze, other.origin_gaze) {
            (Some((oa, ga)), Some((ob, gb))) => {
                let o = [0, 1, 2].map(|c| (oa[c] + ob[c]) / 2.0);
                angle_deg(o, ga, gb)
            }
            _ => deg.angle_2d(self.xy, other.xy),
        }
    }
}

/// Sums over a run's samples, added in sample order: what its centroid and its fixation-table
/// row need, so a run is described while its samples pass.
#[derive(Debug, Clone)]
pub(crate) struct RunSums {
    sx: f64,
    sy: f64,
    n: usize,
    x_range: (f64, f64),
    y_range: (f64, f64),
    origin: [f64; 3],
    gaze3d: [f64; 3],
}

impl RunSums {
    pub fn new() -> Self {
        RunSums {
            sx: 0.0,
            sy: 0.0,
            n: 0,
            x_range: (f64::MAX, f64::MIN),
            y_range: (f64::MAX, f64::MIN),
            origin: [0.0; 3],
            gaze3d: [0.0; 3],
        }
    }

    #[inline]
    pub fn add(&mut self, p: &TrackPoint) {
        self.sx += p.x;
        self.sy += p.y;
        self.n += 1;
        self.x_range = (self.x_range.0.min(p.x), self.x_range.1.max(p.x));
        self.y_range = (self.y_range.0.min(p.y), self.y_range.1.max(p.y));
        for c in 0..3 {
            self.origin[c] += f64::from(p.origin[c]);
            self.gaze3d[c] += f64::from(p.gaze3d[c]);
        }
    }

    pub fn centroid(&self) -> Centroid {
        let n = self.n as f64;
        let has_3d = self.n > 0
            && self
                .origin
                .iter()
                .chain(&self.gaze3d)
                .all(|v| v.is_finite());
        Centroid {
            xy: (self.sx / n, self.sy / n),
            origin_gaze: has_3d.then(|| (self.origin.map(|v| v / n), self.gaze3d.map(|v| v / n))),
        }
    }

    /// The fixation these samples make, `first..=last` in the input, over `start_us..end_us`.
    pub fn fixation(
        &self,
        deg: &Degrees,
        eye: EyeChoice,
        (first, last): (usize, usize),
        (start_us, end_us): (i64, i64),
    ) -> Fixation {
        // Degrees grow monotonically along each axis, so the extremes give the dispersion.
        let (dx0, dy0) = deg.display_to_deg(self.x_range.0, self.y_range.0);
        let (dx1, dy1) = deg.display_to_deg(self.x_range.1, self.y_range.1);
        let n = self.n.max(1) as f64;
        let (x, y) = (self.sx / n, self.sy / n);
        Fixation {
            start_us,
            end_us,
            duration_us: end_us - start_us,
            x,
            y,
            screen_x: x * deg.width_px,
            screen_y: y * deg.height_px,
            dispersion_deg: (dx1 - dx0).abs() + (dy1 - dy0).abs(),
            samples: self.n,
            eye,
            first,
            last,
        }
    }
}

impl Track {
    /// An empty track with room for `capacity` samples.
    pub fn with_capacity(
        screen: &ScreenGeometry,
        sampling_hz: f64,
        eye: EyeChoice,
        capacity: usize,
    ) -> Track {
        Track {
            ts: Vec::with_capacity(capacity),
            x: Vec::with_capacity(capacity),
            y: Vec::with_capacity(capacity),
            valid: Vec::with_capacity(capacity),
            origin: std::array::from_fn(|_| Vec::with_capacity(capacity)),
            gaze3d: std::array::from_fn(|_| Vec::with_capacity(capacity)),
            deg: Degrees::new(screen),
            eye,
            period_us: period_us(sampling_hz),
        }
    }

    /// Every sample of a recording: `gap_fill_us` is the longest gap to interpolate over.
    pub fn build(
        samples: &[GazeSample],
        screen: &ScreenGeometry,
        sampling_hz: f64,
        eye: EyeChoice,
        angles: Angles,
        gap_fill_us: Option<i64>,
    ) -> Track {
        let mut source = TrackSource::new(samples, sampling_hz, eye, angles, gap_fill_us);
        let mut t = Track::with_capacity(screen, sampling_hz, eye, samples.len());
        t.extend_from(&mut source, 0..samples.len());
        t
    }

    /// Appends a sample: its time and point, or no gaze (`None`).
    #[inline(always)]
    pub fn push(&mut self, ts: i64, p: Option<TrackPoint>) {
        let valid = p.is_some();
        let p = p.unwrap_or(TrackPoint::MISSING);
        self.ts.push(ts);
        self.x.push(p.x);
        self.y.push(p.y);
        self.valid.push(valid);
        for c in 0..3 {
            self.origin[c].push(p.origin[c]);
            self.gaze3d[c].push(p.gaze3d[c]);
        }
    }

    /// Samples `range` of `source` appended, in order. The arrays are grown once and filled
    /// through slices: one push per array and sample costs more than the filter's arithmetic.
    pub fn extend_from(&mut self, source: &mut TrackSource, range: std::ops::Range<usize>) {
        let (start, m) = (self.len(), range.len());
        self.ts.resize(start + m, 0);
        self.x.resize(start + m, f64::NAN);
        self.y.resize(start + m, f64::NAN);
        self.valid.resize(start + m, false);
        for c in 0..3 {
            self.origin[c].resize(start + m, f32::NAN);
            self.gaze3d[c].resize(start + m, f32::NAN);
        }
        let (ts, x, y, valid) = (
            &mut self.ts[start..],
            &mut self.x[start..],
            &mut self.y[start..],
            &mut self.valid[start..],
        );
        let [o0, o1, o2] = &mut self.origin;
        let [g0, g1, g2] = &mut self.gaze3d;
        let (o0, o1, o2) = (&mut o0[start..], &mut o1[start..], &mut o2[start..]);
        let (g0, g1, g2) = (&mut g0[start..], &mut g1[start..], &mut g2[start..]);
        for (k, i) in range.enumerate() {
            let (t, p) = source.at(i);
            ts[k] = t;
            if let Some(p) = p {
                (x[k], y[k], valid[k]) = (p.x, p.y, true);
                (o0[k], o1[k], o2[k]) = (p.origin[0], p.origin[1], p.origin[2]);
                (g0[k], g1[k], g2[k]) = (p.gaze3d[0], p.gaze3d[1], p.gaze3d[2]);
            }
        }
    }

    /// Sets sample `i`'s gaze point and eye position (its time and validity stay).
    pub fn set_point(&mut self, i: usize, p: &TrackPoint) {
        self.x[i] = p.x;
        self.y[i] = p.y;
        for c in 0..3 {
            self.origin[c][i] = p.origin[c];
            self.gaze3d[c][i] = p.gaze3d[c];
        }
    }

    /// Forgets the first `k` samples (a window sliding over a longer recording).
    pub fn drop_front(&mut self, k: usize) {
        self.ts.drain(..k);
        self.x.drain(..k);
        self.y.drain(..k);
        self.valid.drain(..k);
        for c in 0..3 {
            self.origin[c].drain(..k);
            self.gaze3d[c].drain(..k);
        }
    }

    #[inline(always)]
    pub fn origin_at(&self, i: usize) -> [f32; 3] {
        [self.origin[0][i], self.origin[1][i], self.origin[2][i]]
    }

    #[inline(always)]
    pub fn gaze3d_at(&self, i: usize) -> [f32; 3] {
        [self.gaze3d[0][i], self.gaze3d[1][i], self.gaze3d[2][i]]
    }

    /// Sample `i` as a point (NaN where it has no gaze).
    #[inline]
    pub fn point(&self, i: usize) -> TrackPoint {
        TrackPoint {
            x: self.x[i],
            y: self.y[i],
            origin: self.origin_at(i),
            gaze3d: self.gaze3d_at(i),
        }
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Angle (degrees) between the gaze at samples `a` and `b`, seen from the eye at `at`: the
    /// exact 3D angle when the tracker gave eye and gaze positions, else from the screen
    /// geometry.
    #[cfg(test)]
    pub fn angle(&self, at: usize, a: usize, b: usize) -> f64 {
        crate::geometry::angle_of_chord_deg(self.chord(at, a, b))
    }

    /// The chord of `angle`'s angle on the unit sphere (`geometry::chord`).
    pub fn chord(&self, at: usize, a: usize, b: usize) -> f64 {
        match self.positions_3d(at, a, b) {
            Some([o, ga, gb]) => chord(o, ga, gb),
            None => self
                .deg
                .chord_2d((self.x[a], self.y[a]), (self.x[b], self.y[b])),
        }
    }

    /// The eye position at `at` and the gaze points at `a` and `b` (mm), when all are known.
    #[inline(always)]
    fn positions_3d(&self, at: usize, a: usize, b: usize) -> Option<[[f64; 3]; 3]> {
        let (o, g) = (&self.origin, &self.gaze3d);
        let f = |v: [f32; 3]| [f64::from(v[0]), f64::from(v[1]), f64::from(v[2])];
        let p = [
            f([o[0][at], o[1][at], o[2][at]]),
            f([g[0][a], g[1][a], g[2][a]]),
            f([g[0][b], g[1][b], g[2][b]]),
        ];
        all_finite(&p).then_some(p)
    }

    /// For the exact 3D angle φ between the gaze at `a` and `b` seen from the eye at `at`:
    /// (|u||v| − u·v, |u||v|) of the directions u, v, i.e. |u||v|·(1 − cos φ) and its scale, with
    /// one square root and no division; `None` where the sample lacks eye or gaze positions.
    #[inline(always)]
    pub fn cosine_gap(&self, at: usize, a: usize, b: usize) -> Option<(f64, f64)> {
        let [o, ga, gb] = self.positions_3d(at, a, b)?;
        Some(cosine_gap_of(o, ga, gb))
    }

    /// Half-sample start of an event whose first sample is `i`.
    pub fn start_of(&self, i: usize) -> i64 {
        let prev = i.checked_sub(1).map(|j| self.ts[j]);
        half_sample_start(prev, self.ts[i], self.period_us)
    }

    /// Half-sample end of an event whose last sample is `i`.
    pub fn end_of(&self, i: usize) -> i64 {
        half_sample_end(self.ts[i], self.ts.get(i + 1).copied(), self.period_us)
    }

    /// The sums over the valid samples in `a..=b` that `keep` selects.
    pub fn sums(&self, (a, b): (usize, usize), keep: impl Fn(usize) -> bool) -> RunSums {
        let mut sums = RunSums::new();
        for i in (a..=b).filter(|&i| self.valid[i] && keep(i)) {
            sums.add(&self.point(i));
        }
        sums
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(ts: i64, l: Option<(f32, f32)>, r: Option<(f32, f32)>) -> GazeSample {
        let eye = |p: Option<(f32, f32)>| match p {
            Some((x, y)) => EyeSample {
                gaze_x: x,
                gaze_y: y,
                gaze_valid: true,
                ..EyeSample::INVALID
            },
            None => EyeSample::INVALID,
        };
        GazeSample {
            system_ts_us: ts,
            device_ts_us: ts,
            left: eye(l),
            right: eye(r),
        }
    }

    #[test]
    fn gaps_up_to_the_limit_are_interpolated_longer_ones_are_not() {
        // 100 Hz; left eye missing for samples 2..=5 (gap 50 ms from 1 to 6) and 10..=19 (110 ms).
        let s: Vec<GazeSample> = (0..25)
            .map(|k| {
                let x = k as f32 / 100.0;
                let missing = (2..=5).contains(&k) || (10..=19).contains(&k);
                sample(
                    k * 10_000,
                    if missing { None } else { Some((x, 0.5)) },
                    None,
                )
            })
            .collect();
        let t = Track::build(
            &s,
            &ScreenGeometry::default(),
            100.0,
            EyeChoice::Left,
            Angles::EyePosition,
            Some(75_000),
        );
        assert!(t.valid[2..=5].iter().all(|v| *v));
        assert!((t.x[3] - 0.03).abs() < 1e-6);
        assert!(t.valid[10..=19].iter().all(|v| !*v));
        let t = Track::build(
            &s,
            &ScreenGeometry::default(),
            100.0,
            EyeChoice::Left,
            Angles::EyePosition,
            None,
        );
        assert!(!t.valid[3]);
    }

    #[test]
    fn eye_selection() {
        let s = vec![
            sample(0, Some((0.2, 0.2)), Some((0.4, 0.4))),
            sample(1, None, Some((0.4, 0.4))),
        ];
        let g = ScreenGeometry::default();
        let avg = Track::build(&s, &g, 120.0, EyeChoice::Average, Angles::EyePosition, None);
        assert!((avg.x[0] - 0.3).abs() < 1e-6 && (avg.x[1] - 0.4).abs() < 1e-6);
        let strict = Track::build(
            &s,
            &g,
            120.0,
            EyeChoice::StrictAverage,
            Angles::EyePosition,
            None,
        );
        assert!(strict.valid[0] && !strict.valid[1]);
        let left = Track::build(&s, &g, 120.0, EyeChoice::Left, Angles::EyePosition, None);
        assert!(!left.valid[1] && (left.x[0] - 0.2).abs() < 1e-6);
    }

    /// One sample of a track: x, y, eye position, gaze point.
    type Point = (f64, f64, [f32; 3], [f32; 3]);

    /// The track as it was built before gap fills were kept apart: every sample's eyes copied,
    /// gaps filled in place. The reference the one-pass build must equal bit for bit.
    fn reference_build(
        samples: &[GazeSample],
        eye: EyeChoice,
        gap_fill_us: Option<i64>,
        period_us: f64,
    ) -> Vec<Option<Point>> {
        fn fill(ts: &[i64], eye: &mut [Option<EyePoint>], max_gap_us: i64, period_us: f64) {
            let mut last: Option<usize> = None;
            for i in 0..eye.len() {
                let Some(b) = eye[i] else { continue };
                if let Some(l) = last {
                    if i > l + 1 && missing_time_fits(ts[i] - ts[l], max_gap_us, period_us) {
                        let a = eye[l].unwrap_or(b);
                        let span = (ts[i] - ts[l]) as f64;
                        for (j, slot) in eye.iter_mut().enumerate().take(i).skip(l + 1) {
                            let w = (ts[j] - ts[l]) as f64 / span;
                            *slot = Some(EyePoint {
                                x: (f64::from(a.x) + f64::from(b.x - a.x) * w) as f32,
                                y: (f64::from(a.y) + f64::from(b.y - a.y) * w) as f32,
                                origin: lerp3(a.origin, b.origin, w),
                                gaze3d: lerp3(a.gaze3d, b.gaze3d, w),
                            });
                        }
                    }
                }
                last = Some(i);
            }
        }
        let ts: Vec<i64> = samples.iter().map(|s| s.system_ts_us).collect();
        let mut left: Vec<_> = samples.iter().map(|s| eye_point(&s.left)).collect();
        let mut right: Vec<_> = samples.iter().map(|s| eye_point(&s.right)).collect();
        if let Some(g) = gap_fill_us {
            fill(&ts, &mut left, g, period_us);
            fill(&ts, &mut right, g, period_us);
        }
        let one = |p: EyePoint| (f64::from(p.x), f64::from(p.y), p.origin, p.gaze3d);
        // Right less left at every sample with both eyes, per value.
        let values = |p: &EyePoint| {
            let (o, g) = (p.origin.map(f64::from), p.gaze3d.map(f64::from));
            [
                f64::from(p.x),
                f64::from(p.y),
                o[0],
                o[1],
                o[2],
                g[0],
                g[1],
                g[2],
            ]
        };
        let diffs: Vec<Option<[f64; 8]>> = (0..samples.len())
            .map(|i| {
                let (l, r) = (left[i]?, right[i]?);
                let (a, b) = (values(&l), values(&r));
                Some(std::array::from_fn(|k| b[k] - a[k]))
            })
            .collect();
        // Before the first: the first sample with both eyes of its own (no gap fill).
        let mut offset = samples
            .iter()
            .find_map(|s| {
                let (a, b) = (values(&eye_point(&s.left)?), values(&eye_point(&s.right)?));
                Some(std::array::from_fn(|k| b[k] - a[k]))
            })
            .unwrap_or([f64::NAN; 8]);
        (0..samples.len())
            .map(|i| match (eye, left[i], right[i]) {
                (EyeChoice::Left, l, _) => l.map(one),
                (EyeChoice::Right, _, r) => r.map(one),
                (_, Some(l), Some(r)) if eye != EyeChoice::Left && eye != EyeChoice::Right => {
                    if let Some(d) = diffs[i] {
                        for k in 0..8 {
                            if d[k].is_finite() {
                                offset[k] = d[k];
                            }
                        }
                    }
                    Some((
                        (f64::from(l.x) + f64::from(r.x)) / 2.0,
                        (f64::from(l.y) + f64::from(r.y)) / 2.0,
                        mean3(l.origin, r.origin),
                        mean3(l.gaze3d, r.gaze3d),
                    ))
                }
                (EyeChoice::AverageEyeOffset, l, r) => {
                    let (p, sign) = match (l, r) {
                        (Some(p), _) => (p, 0.5),
                        (_, Some(p)) => (p, -0.5),
                        _ => return None,
                    };
                    let v = values(&p);
                    let c: [f64; 8] = std::array::from_fn(|k| {
                        if offset[k].is_finite() {
                            v[k] + sign * offset[k]
                        } else {
                            v[k]
                        }
                    });
                    let f = |k: usize| c[k] as f32;
                    Some((c[0], c[1], [f(2), f(3), f(4)], [f(5), f(6), f(7)]))
                }
                (EyeChoice::Average, l, r) => l.or(r).map(one),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_one_pass_build_equals_the_reference_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let bits = |p: Option<Point>| {
            p.map(|(x, y, o, g)| {
                (
                    x.to_bits(),
                    y.to_bits(),
                    o.map(f32::to_bits),
                    g.map(f32::to_bits),
                )
            })
        };
        for case in 0..60 {
            let n = rng.random_range(1..600);
            // Uneven time stamps, losses of either eye from one sample to long stretches.
            let mut ts = 0i64;
            let (mut lost_l, mut lost_r) = (0usize, 0usize);
            let samples: Vec<GazeSample> = (0..n)
                .map(|_| {
                    ts += rng.random_range(7_000..10_000);
                    if lost_l == 0 && rng.random_bool(0.03) {
                        lost_l = rng.random_range(1..30);
                    }
                    if lost_r == 0 && rng.random_bool(0.03) {
                        lost_r = rng.random_range(1..30);
                    }
                    let mut eye = |lost: &mut usize| {
                        if *lost > 0 {
                            *lost -= 1;
                            return None;
                        }
                        Some((rng.random::<f32>(), rng.random::<f32>()))
                    };
                    let (l, r) = (eye(&mut lost_l), eye(&mut lost_r));
                    let mut s = sample(ts, l, r);
                    for e in [&mut s.left, &mut s.right] {
                        if e.gaze_valid {
                            e.origin_mm = [rng.random(), 200.0, 650.0];
                            e.origin_valid = rng.random_bool(0.9);
                            e.gaze3d_mm = [rng.random::<f32>() * 500.0, 100.0, 0.0];
                        }
                    }
                    s
                })
                .collect();
            for eye in [
                EyeChoice::Left,
                EyeChoice::Right,
                EyeChoice::Average,
                EyeChoice::StrictAverage,
                EyeChoice::AverageEyeOffset,
            ] {
                for gap in [None, Some(75_000), Some(0)] {
                    let t = Track::build(
                        &samples,
                        &ScreenGeometry::default(),
                        120.0,
                        eye,
                        Angles::EyePosition,
                        gap,
                    );
                    let want = reference_build(&samples, eye, gap, t.period_us);
                    let got: Vec<_> = (0..n)
                        .map(|i| {
                            t.valid[i].then(|| (t.x[i], t.y[i], t.origin_at(i), t.gaze3d_at(i)))
                        })
                        .collect();
                    assert!(
                        got.iter()
                            .map(|p| bits(*p))
                            .eq(want.iter().map(|p| bits(*p))),
                        "case {case}, {eye:?}, gap {gap:?}"
                    );
                    assert_eq!(
                        t.ts,
                        samples.iter().map(|s| s.system_ts_us).collect::<Vec<_>>()
                    );
                }
            }
        }
    }
}
