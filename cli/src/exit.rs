//! The exit statuses of `et-suite`'s commands, one table for all of them (README "Exit
//! statuses"), so a script can tell a recording with a problem from a failure and an abort.

/// Done, and the data holds what it claims.
pub const OK: u8 = 0;
/// An error: nothing was done, or what was done is said (the message names the file).
pub const ERROR: u8 = 1;
/// The command line was wrong (clap's own status).
pub const USAGE: u8 = 2;
/// The session ran to its end, but its data has a problem the operator did not accept:
/// tracker silence, trials without gaze, or no validation that passed. The recording is
/// complete and readable; the summary says what.
pub const DATA_PROBLEM: u8 = 3;
/// `trackers`: the Tobii Pro SDK loaded, but it found no eye tracker.
pub const NO_TRACKER: u8 = 4;
/// `trackers`: the Tobii Pro SDK library could not be loaded (the loader's reason is said).
pub const LIBRARY_NOT_LOADABLE: u8 = 5;
/// The session was aborted (operator, signal, or `on_silence = "abort"`): the recording is
/// closed, readable and marked incomplete.
pub const ABORTED: u8 = 130;

/// An error that ends the command with a status of its own (not `ERROR`).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExitWith {
    pub status: u8,
    pub message: String,
}

impl ExitWith {
    pub fn new(status: u8, message: impl Into<String>) -> Self {
        ExitWith {
            status,
            message: message.into(),
        }
    }
}
