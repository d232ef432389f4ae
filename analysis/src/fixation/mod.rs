//! Fixation filters. Both return a fixation table and a class per sample, and both work on
//! real, uneven time stamps and survive invalid samples and track loss.
//!
//! Durations follow Tobii's half-sample convention (peers.md §3.2): a fixation starts halfway
//! between its first sample and the one before, and ends halfway between its last sample and
//! the one after (half a nominal period at the ends of the data), so a one-sample fixation
//! lasts one sample interval.
//!
//! Inside a merged fixation every sample is classed as that fixation, the saccade samples and
//! samples without gaze it was merged over included: its time covers them, as Tobii's merge
//! does. Its position, dispersion and sample count use only the samples classified as fixation
//! before the merge.

pub mod idt;
pub mod ivt;
mod stage;
mod track;

use serde::{Deserialize, Serialize};

pub use track::EyeChoice;

#[derive(Debug, Clone, PartialEq)]
pub struct Fixation {
    pub start_us: i64,
    pub end_us: i64,
    pub duration_us: i64,
    /// Centroid on the display area (0..1).
    pub x: f64,
    pub y: f64,
    /// Centroid in screen px.
    pub screen_x: f64,
    pub screen_y: f64,
    /// (max − min) horizontal + (max − min) vertical, in degrees.
    pub dispersion_deg: f64,
    pub samples: usize,
    pub eye: EyeChoice,
    /// Index of the first and last sample (in the input slice).
    pub first: usize,
    pub last: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleClass {
    /// Part of the fixation with this index in the table.
    Fixation(u32),
    Saccade,
    /// Valid gaze that could not be classified (no velocity, or a discarded fixation).
    Unclassified,
    /// No gaze after gap fill-in.
    Missing,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FixationResult {
    pub fixations: Vec<Fixation>,
    pub classes: Vec<SampleClass>,
}

impl FixationResult {
    /// Builds the table from sample runs `[first, last]` (inclusive, in order). Position and
    /// dispersion use the samples classified as fixation before merging, so the saccade a merge
    /// swallowed does not pull the centroid.
    // Indices walk several parallel arrays of the track at once.
    #[allow(clippy::needless_range_loop)]
    pub(crate) fn from_runs(
        t: &track::Track,
        runs: &[(usize, usize)],
        mut classes: Vec<SampleClass>,
    ) -> Self {
        let core: Vec<bool> = classes
            .iter()
            .map(|c| matches!(c, SampleClass::Fixation(_)))
            .collect();
        let mut fixations = Vec::with_capacity(runs.len());
        for (k, &(a, b)) in runs.iter().enumerate() {
            let (mut sx, mut sy, mut n) = (0.0, 0.0, 0usize);
            let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
            for i in a..=b {
                if t.valid[i] && core[i] {
                    sx += t.x[i];
                    sy += t.y[i];
                    n += 1;
                    x0 = x0.min(t.x[i]);
                    x1 = x1.max(t.x[i]);
                    y0 = y0.min(t.y[i]);
                    y1 = y1.max(t.y[i]);
                }
            }
            // Degrees grow monotonically along each axis, so the extremes give the dispersion.
            let (dx0, dy0) = t.deg.display_to_deg(x0, y0);
            let (dx1, dy1) = t.deg.display_to_deg(x1, y1);
            let (x, y) = (sx / n.max(1) as f64, sy / n.max(1) as f64);
            let (start_us, end_us) = (t.start_of(a), t.end_of(b));
            for c in &mut classes[a..=b] {
                *c = SampleClass::Fixation(k as u32);
            }
            fixations.push(Fixation {
                start_us,
                end_us,
                duration_us: end_us - start_us,
                x,
                y,
                screen_x: x * t.deg.width_px,
                screen_y: y * t.deg.height_px,
                dispersion_deg: (dx1 - dx0).abs() + (dy1 - dy0).abs(),
                samples: n,
                eye: t.eye,
                first: a,
                last: b,
            });
        }
        FixationResult { fixations, classes }
    }
}
