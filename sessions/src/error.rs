use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The recording (its file, format or an import) failed.
    #[error(transparent)]
    Recording(#[from] et_recording::RecordingError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A study config that cannot be read, is not valid TOML (its line), or holds a setting
    /// out of bounds.
    #[error(transparent)]
    File(#[from] et_files::FileError),
    #[error("stimulus set: {0}")]
    Stimuli(#[from] et_stimuli::ManifestError),
    #[error("tracker: {0}")]
    Tracker(#[from] et_drivers::TrackerError),
    #[error("display: {0}")]
    Display(String),
    #[error("recorder stopped: {0}")]
    Recorder(String),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = SessionError> = std::result::Result<T, E>;
