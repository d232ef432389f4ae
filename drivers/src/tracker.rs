//! What every tracker adapter offers the session: identity, clock, streaming and calibration.

use std::sync::Arc;

use crate::channel::SampleSender;
use crate::clock::Clock;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrackerInfo {
    pub model: String,
    pub serial: String,
    pub address: String,
    pub firmware: String,
    pub sdk_version: String,
    pub sampling_hz: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    #[error("the tracker is already streaming")]
    AlreadyStreaming,
    #[error("{tracker} does not support {what}")]
    Unsupported { tracker: String, what: &'static str },
    #[error("invalid tracker setting {field}: {reason}")]
    InvalidSetting { field: &'static str, reason: String },
    #[error("calibration failed: {0}")]
    Calibration(String),
    #[error("tracker thread failed: {0}")]
    Thread(String),
    #[error("{0}")]
    Device(String),
}

/// A calibration or validation target on the display area (0..1 from the top-left).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrationPoint {
    pub x: f32,
    pub y: f32,
}

/// Mean gaze (display area) one eye produced at a calibration point.
pub type EyeMean = Option<(f32, f32)>;

#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationResult {
    /// True when the tracker computed and applied a calibration.
    pub applied: bool,
    /// Points the tracker could use, with the mean gaze it saw there per eye (left, right).
    pub points: Vec<(CalibrationPoint, EyeMean, EyeMean)>,
}

/// A tracker that has just started streaming has this long (µs) to deliver its first sample:
/// subscribing to a real tracker takes a moment. After it, silence is judged from the samples.
pub const FIRST_SAMPLE_WITHIN_US: i64 = 1_000_000;

/// A gaze source. Implementations stream from a thread of their own into the sender given to
/// [`Tracker::start`], time-stamping on [`Tracker::clock`].
pub trait Tracker: Send {
    fn info(&self) -> TrackerInfo;

    /// The session clock: the one sample `system_ts_us` are on.
    fn clock(&self) -> Arc<dyn Clock>;

    fn start(&mut self, sink: SampleSender) -> Result<(), TrackerError>;

    /// Stops streaming. Every sample whose time the clock has already reached is sent before
    /// this returns, so a session that stops at time T holds all samples up to T.
    fn stop(&mut self) -> Result<(), TrackerError>;

    // Calibration hooks, in the order the procedure calls them. A tracker that cannot be
    // calibrated (a replay) says so with `Unsupported`.
    fn calibration_enter(&mut self) -> Result<(), TrackerError> {
        Err(self.unsupported("calibration"))
    }
    fn calibration_collect(&mut self, _point: CalibrationPoint) -> Result<(), TrackerError> {
        Err(self.unsupported("calibration"))
    }
    fn calibration_discard(&mut self, _point: CalibrationPoint) -> Result<(), TrackerError> {
        Err(self.unsupported("calibration"))
    }
    fn calibration_compute_apply(&mut self) -> Result<CalibrationResult, TrackerError> {
        Err(self.unsupported("calibration"))
    }
    fn calibration_leave(&mut self) -> Result<(), TrackerError> {
        Err(self.unsupported("calibration"))
    }

    fn unsupported(&self, what: &'static str) -> TrackerError {
        TrackerError::Unsupported {
            tracker: self.info().model,
            what,
        }
    }
}
