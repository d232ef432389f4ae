//! Analysis of recordings: fixation filters, sample-based AOI dwell and fixation-based AOI
//! metrics, data quality and exclusion rules, the study's comparison of smile and no-smile
//! versions (a linear mixed model with crossed participant and image effects by default; by
//! participant, by item or pooled on request), heatmaps, the clinician survey, and every table
//! as CSV, Parquet and `report.html`.

pub mod classifier;
pub mod compare;
pub mod config;
pub mod descriptive;
pub mod dwell;
pub mod figures;
pub mod fixation;
pub mod folder;
pub mod geometry;
pub mod heatmap;
pub mod hypothesis_tests;
pub mod methods;
pub mod metrics;
pub mod mixed;
mod parallel;
pub mod quality;
pub mod quality_measures;
pub mod recording_aois;
pub mod report;
pub mod study;
pub mod survey;
pub mod table;
pub mod table_files;

pub use compare::ComparisonRow;
pub use config::AnalysisConfig;
pub use config::{Response, StudyModel};
pub use dwell::{trial_dwell, DwellRow};
pub use hypothesis_tests::{welch_t_test, TTest};
pub use study::{analyse_recordings, analyse_study, StudyAnalysis, SummaryRow};

/// What went wrong, and with which file: every variant names its path.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// An input that cannot be used (a recording, export, survey map, stimulus set or
    /// config): `message` names the field or row and what was expected.
    #[error("{path}: {message}")]
    Input { path: String, message: String },
    /// A recording that cannot be read (its path and what is wrong, as the reader says).
    #[error(transparent)]
    Read(#[from] et_recording::RecordingError),
    /// An output that cannot be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    /// A text file (a config, a survey export or map, a classifier's table) that cannot be
    /// read as one: its path and line, or the setting out of bounds.
    #[error(transparent)]
    File(#[from] et_files::FileError),
    /// A scanpath asked for with `--scanpath PARTICIPANT:STIMULUS` that cannot be drawn.
    #[error("--scanpath {participant}:{stimulus}: {source}")]
    Scanpath {
        participant: String,
        stimulus: String,
        source: crate::figures::FigureError,
    },
    /// A figure that cannot be drawn, naming its file.
    #[error(transparent)]
    Figure(#[from] crate::figures::FigureError),
}
