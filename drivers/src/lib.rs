//! Trackers and their samples. Knows no file format: samples leave through a bounded channel and
//! whoever records them decides how they are stored.

pub mod channel;
pub mod clock;
pub mod geometry;
pub mod lsl;
pub mod replay;
pub mod sample;
pub mod serial;
mod stream;
pub mod synthetic;
pub mod tobii;
pub mod tracker;

pub use channel::{sample_channel, SampleReceiver, SampleSender, TrackerEvent, TrackerMessage};
pub use clock::{Clock, FreeRunningClock, ManualClock, MonotonicClock, PacedClock, ScaledClock};
pub use geometry::ScreenGeometry;
pub use sample::{EyeSample, GazeSample};
pub use tracker::{CalibrationPoint, CalibrationResult, Tracker, TrackerError, TrackerInfo};
