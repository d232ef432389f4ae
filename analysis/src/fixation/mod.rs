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
pub(crate) mod stage;
mod track;

use serde::{Deserialize, Serialize};

pub use track::{Angles, EyeChoice};

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
            let sums = t.sums((a, b), |i| core[i]);
            for c in &mut classes[a..=b] {
                *c = SampleClass::Fixation(k as u32);
            }
            fixations.push(sums.fixation(&t.deg, t.eye, (a, b), (t.start_of(a), t.end_of(b))));
        }
        FixationResult { fixations, classes }
    }
}
