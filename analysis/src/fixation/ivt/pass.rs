//! The I-VT in one pass over the samples. They enter a window a block at a time; each stage
//! (noise reduction, velocity classification, runs, merge, discard) runs as far as the samples
//! it needs have arrived, and the window forgets what no later sample looks back at. So the
//! window stays in a core's cache, nothing per sample is kept for the whole recording but the
//! classes returned, and each fixation's centroid is summed while its samples pass. The result
//! is the stage-by-stage filter's, bit for bit (`tests::one_pass_equals_stage_by_stage`).

use et_drivers::{GazeSample, ScreenGeometry};

use super::median::{median_3_block, median_point};
use super::velocity::{velocity_half_window, Velocity};
use super::{IvtConfig, MedianEdges, MergeCompare};
use crate::fixation::track::{
    half_sample_end, half_sample_start, missing_time_fits, period_us, RunSums, Track, TrackSource,
};
use crate::fixation::{EyeChoice, Fixation, FixationResult, SampleClass};
use crate::geometry::Degrees;

/// Samples that enter the window at a time: two windows of about 50 bytes a sample stay in a
/// core's L2 cache.
const BLOCK: usize = 4096;

/// Microseconds of a setting in ms.
fn us(ms: f64) -> i64 {
    (ms * 1000.0).round() as i64
}

/// A stretch of the track, samples `base..base + t.len()` of the input.
struct Window {
    t: Track,
    base: usize,
}

impl Window {
    /// One past the last sample in the window (input index).
    fn end(&self) -> usize {
        self.base + self.t.len()
    }

    /// Forgets the samples before `from` (input index).
    fn keep_from(&mut self, from: usize) {
        if from > self.base {
            self.t.drop_front(from - self.base);
            self.base = from;
        }
    }
}

/// Runs the filter over `samples`.
pub(super) fn ivt_pass(
    samples: &[GazeSample],
    screen: &ScreenGeometry,
    sampling_hz: f64,
    cfg: &IvtConfig,
) -> FixationResult {
    let n = samples.len();
    let mut classes = Vec::with_capacity(n);
    let mut source = TrackSource::new(
        samples,
        sampling_hz,
        cfg.eye,
        cfg.angles,
        cfg.gap_fill_max_ms.map(us),
    );
    let median_half = cfg.median_window.map(|w| w / 2);
    let half = velocity_half_window(cfg.velocity_window_ms, sampling_hz);
    let velocity = Velocity::new(
        half,
        period_us(sampling_hz),
        cfg.threshold_deg_s,
        cfg.velocity_edges,
    );
    let reach = velocity.lookahead();
    let capacity = BLOCK + 2 * (reach + median_half.unwrap_or(0)) + 2;
    let window = || Window {
        t: Track::with_capacity(screen, sampling_hz, cfg.eye, capacity),
        base: 0,
    };
    // As built (only with noise reduction), and noise-reduced.
    let (mut raw, mut win) = (window(), window());
    let mut runs = Runs::new(cfg, &win.t);
    let (mut buf, mut quick) = (Vec::new(), Vec::new());
    let (mut built, mut classified) = (0, 0);
    while classified < n {
        let end = (built + BLOCK).min(n);
        let done = end == n;
        match median_half {
            None => win.t.extend_from(&mut source, built..end),
            Some(mh) => {
                raw.t.extend_from(&mut source, built..end);
                // Every sample whose neighbours within `mh` have arrived.
                let ready = if done { n } else { end.saturating_sub(mh) };
                reduce_noise(&mut raw, &mut win, mh, cfg.median_edges, ready, &mut buf);
            }
        }
        built = end;
        // Every sample whose velocity window has been noise-reduced.
        let ready = if done {
            n
        } else {
            win.end().saturating_sub(reach)
        };
        let block = (classified - win.base, ready.max(classified) - win.base);
        velocity.classify_block(&win.t, block, &mut quick, &mut classes);
        for i in classified..ready {
            runs.next(&win, i, classes[i], &mut classes);
        }
        classified = classified.max(ready);
        // The next sample's velocity window, the one before it for its half-sample start, and
        // the growing run's samples.
        let keep = classified.saturating_sub(reach);
        win.keep_from(runs.open_from().map_or(keep, |first| first.min(keep)));
    }
    let fixations = runs.finish(&win, &mut classes);
    FixationResult { fixations, classes }
}

/// Moves samples from `raw` to `win`, noise-reduced, up to `ready` (input index), and forgets
/// the raw samples no later median needs.
fn reduce_noise(
    raw: &mut Window,
    win: &mut Window,
    half: usize,
    edges: MedianEdges,
    ready: usize,
    buf: &mut Vec<f64>,
) {
    let (from, to) = (win.end() - raw.base, ready.saturating_sub(raw.base));
    if half == 1 {
        median_3_block(&raw.t, from, to, edges, &mut win.t);
    } else {
        for k in from..to {
            let p = raw.t.valid[k].then(|| median_point(&raw.t, k, half, edges, buf));
            win.t.push(raw.t.ts[k], p);
        }
    }
    raw.keep_from(ready.saturating_sub(half));
}

/// A run of fixation samples still growing.
struct Open {
    first: usize,
    last: usize,
    start_us: i64,
    /// Its own samples' sums. The window keeps its samples, to be added to the run before's
    /// in order if it merges into that one.
    alone: RunSums,
}

/// A finished run (merged with the ones before it), not yet known to be final.
struct Done {
    first: usize,
    last: usize,
    start_us: i64,
    end_us: i64,
    sums: RunSums,
    /// The last run merged into it, as classified (what `MergeCompare::Unmerged` compares).
    last_alone: RunSums,
}

/// Runs of fixation samples as the classes arrive: cut where the time between neighbours is
/// more than the gap fill-in bridges; merged into the run before when close in time and angle;
/// discarded when too short once no later run can merge into them.
struct Runs {
    max_step_us: i64,
    /// Longest gap (µs) and widest angle (°) to merge across.
    merge: Option<(i64, f64)>,
    compare: MergeCompare,
    discard_below_us: Option<i64>,
    deg: Degrees,
    eye: EyeChoice,
    period_us: f64,
    open: Option<Open>,
    pending: Option<Done>,
    fixations: Vec<Fixation>,
}

impl Runs {
    fn new(cfg: &IvtConfig, t: &Track) -> Self {
        Runs {
            max_step_us: cfg.gap_fill_max_ms.map_or(0, us),
            merge: cfg
                .merge_max_gap_ms
                .map(|ms| (us(ms), cfg.merge_max_angle_deg)),
            compare: cfg.merge_compare,
            discard_below_us: cfg.discard_shorter_than_ms.map(us),
            deg: t.deg,
            eye: t.eye,
            period_us: t.period_us,
            open: None,
            pending: None,
            fixations: Vec::new(),
        }
    }

    /// Sample `i` (in `win`) classified as `class`.
    fn next(&mut self, win: &Window, i: usize, class: SampleClass, classes: &mut [SampleClass]) {
        let k = i - win.base;
        let ts = win.t.ts[k];
        // The sample before, which the window keeps (none at the start of the data).
        let prev_ts = k.checked_sub(1).map(|j| win.t.ts[j]);
        let fixation = matches!(class, SampleClass::Fixation(_));
        let continues = fixation
            && prev_ts.is_some_and(|p| missing_time_fits(ts - p, self.max_step_us, self.period_us));
        if let (Some(open), Some(p)) = (self.open.take_if(|_| !continues), prev_ts) {
            // The open run's last sample is the one before.
            self.close(
                open,
                half_sample_end(p, Some(ts), self.period_us),
                win,
                classes,
            );
        }
        if !fixation {
            return;
        }
        let point = win.t.point(k);
        match &mut self.open {
            Some(open) => {
                open.last = i;
                open.alone.add(&point);
            }
            None => {
                let mut alone = RunSums::new();
                alone.add(&point);
                self.open = Some(Open {
                    first: i,
                    last: i,
                    start_us: half_sample_start(prev_ts, ts, self.period_us),
                    alone,
                });
            }
        }
    }

    /// The open run ends at `end_us`: merged into the run before it, or that one is final.
    fn close(&mut self, open: Open, end_us: i64, win: &Window, classes: &mut [SampleClass]) {
        if let (Some((max_gap, max_angle)), Some(p)) = (self.merge, &mut self.pending) {
            // The centroids of the fixation samples only: a saccade merged over earlier does
            // not move them.
            let compared = match self.compare {
                MergeCompare::Merged => &p.sums,
                MergeCompare::Unmerged => &p.last_alone,
            };
            if open.start_us - p.end_us <= max_gap
                && compared
                    .centroid()
                    .angle_to(&open.alone.centroid(), &self.deg)
                    <= max_angle
            {
                p.last = open.last;
                p.end_us = end_us;
                for i in open.first..=open.last {
                    p.sums.add(&win.t.point(i - win.base));
                }
                p.last_alone = open.alone;
                return;
            }
        }
        if let Some(p) = self.pending.take() {
            self.finalize(p, classes);
        }
        self.pending = Some(Done {
            first: open.first,
            last: open.last,
            start_us: open.start_us,
            end_us,
            sums: open.alone.clone(),
            last_alone: open.alone,
        });
    }

    /// A run nothing more merges into: a fixation, or unclassified when too short. Samples
    /// inside a merged fixation are fixation samples whatever they were before.
    fn finalize(&mut self, d: Done, classes: &mut [SampleClass]) {
        let samples = &mut classes[d.first..=d.last];
        if self
            .discard_below_us
            .is_some_and(|min| d.end_us - d.start_us < min)
        {
            samples.fill(SampleClass::Unclassified);
            return;
        }
        samples.fill(SampleClass::Fixation(self.fixations.len() as u32));
        self.fixations.push(d.sums.fixation(
            &self.deg,
            self.eye,
            (d.first, d.last),
            (d.start_us, d.end_us),
        ));
    }

    /// The first sample of the run still growing, which the window must keep.
    fn open_from(&self) -> Option<usize> {
        self.open.as_ref().map(|o| o.first)
    }

    /// The end of the data: the open run ends half a period after its last sample.
    fn finish(mut self, win: &Window, classes: &mut [SampleClass]) -> Vec<Fixation> {
        if let Some(open) = self.open.take() {
            let last = win.t.ts[open.last - win.base];
            self.close(
                open,
                half_sample_end(last, None, self.period_us),
                win,
                classes,
            );
        }
        if let Some(p) = self.pending.take() {
            self.finalize(p, classes);
        }
        self.fixations
    }
}
