//! The recording: the HDF5 format as a contract (`format`: the only code that knows the layout,
//! with `writer`, `reader`, `recover`), what other tools exported (`import`), and what et-suite
//! exports (`bids`, `brainvision`), with the output files and folders that never replace
//! anything (`output_dir`) and close-on-exec descriptors (`cloexec`). No device and no session
//! runtime: analysis reads recordings through this crate alone.

pub mod bids;
pub mod brainvision;
pub mod cloexec;
pub mod error;
pub mod foreign;
pub mod format;
pub mod import;
pub mod output_dir;
pub mod reader;
pub mod recover;
pub mod writer;

pub use error::RecordingError;
pub use format::{EventRecord, FrameRecord, RecordingHeader, TrialRecord, ValidationRecord};
pub use reader::Recording;
pub use writer::RecordingWriter;
