//! The stimulus pipeline of the study: aligned faces are inverted into StyleGAN2's W+ space
//! with HyperStyle (codes cached, so a rerun resumes), one smile direction per condition is
//! found with our linear SVM (InterfaceGAN), each test face is decoded as reconstructed and
//! moved along its condition's direction to the other expression, and, when fold models are
//! given, the classifier scores both versions (the CLI makes the paper's Table 3 from them).

pub mod config;
pub mod labels;
mod manifest;
mod pipeline;

pub use config::PrepareConfig;
pub use manifest::{stimulus_set, true_condition_scores, write_manifest, TrueConditionScore};
pub use pipeline::{run, ConditionBoundary, PrepareOutcome, PreparedImage, Stage};
