//! Stimulus sets: the manifest, areas of interest, counterbalanced trial lists, and the default
//! face set the suite generates so that it runs without outside data.

pub mod aoi;
pub mod counterbalance;
pub mod default_set;
pub mod font;
pub mod manifest;

pub use aoi::{Aoi, AoiError, AoiFile, AoiShape};
pub use counterbalance::{trial_list, CounterbalanceError, CounterbalanceVersion, TrialSpec};
pub use manifest::{Expression, Landmarks, ManifestError, Stimulus, StimulusSet, Variant};
