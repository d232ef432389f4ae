//! Sessions: the recording format (the only code that knows the HDF5 layout), the recorder
//! that streams samples into it, the study runner (window or headless), and crash recovery.

pub mod attention;
pub mod calibration;
pub mod config;
mod display;
pub mod error;
mod exit_guard;
pub mod launch;
pub mod live;
pub mod lsl;
pub mod operator_window;
pub mod placement;
pub mod positioning;
pub mod recorder;
pub mod replay;
pub mod runner;
pub mod session;
pub mod silence;
pub mod trial_samples;

pub use config::StudyConfig;
pub use error::SessionError;
