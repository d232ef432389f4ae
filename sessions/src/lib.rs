//! Sessions: the recording format (the only code that knows the HDF5 layout), the recorder
//! that streams samples into it, the study runner (window or headless), and crash recovery.

pub mod attention;
pub mod bids;
pub mod brainvision;
pub mod calibration;
pub mod cloexec;
pub mod config;
mod display;
pub mod error;
mod exit_guard;
pub mod foreign;
pub mod format;
pub mod import;
pub mod launch;
pub mod live;
pub mod lsl;
pub mod operator_window;
pub mod output_dir;
pub mod positioning;
pub mod reader;
pub mod recorder;
pub mod recover;
pub mod replay;
pub mod runner;
pub mod silence;
pub mod trial_samples;
pub mod writer;

pub use config::StudyConfig;
pub use error::SessionError;
pub use format::{EventRecord, FrameRecord, RecordingHeader, TrialRecord, ValidationRecord};
pub use reader::Recording;
pub use writer::RecordingWriter;
