use std::path::PathBuf;

/// What reading, writing, importing or exporting a recording can fail with, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("{path}: no such file")]
    NotFound { path: PathBuf },
    #[error(
        "{path}: already exists; a recording is never overwritten (choose another output file)"
    )]
    AlreadyExists { path: PathBuf },
    #[error("{path}: not an HDF5 file (no HDF5 signature); expected an et-suite recording (.h5)")]
    NotHdf5 { path: PathBuf },
    #[error("{path}: the recording was not closed cleanly (the recording process was killed, or is still running); run `et-suite recover {path}` to make it readable")]
    NotClosed { path: PathBuf },
    #[error("{path}: HDF5 cannot open it (truncated or corrupt file?): {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("{path}: not an et-suite recording: {message}")]
    NotARecording { path: PathBuf, message: String },
    #[error("{path}: written with recording format_version {found}; this et-suite reads up to {supported}")]
    NewerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{path}: disk full while {what}: the file keeps what was written before; free space on that disk, then check the file with `et-suite inspect`")]
    DiskFull { path: PathBuf, what: String },
    #[error("{path}: {what}: {message}")]
    Hdf5 {
        path: PathBuf,
        what: String,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("stimulus set: {0}")]
    Stimuli(#[from] et_stimuli::ManifestError),
    /// A write failed earlier: the writer takes nothing more.
    #[error("recorder stopped: {0}")]
    Recorder(String),
    /// A text file (an export, a settings file) that cannot be read as one, naming the line.
    #[error(transparent)]
    File(#[from] et_files::FileError),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = RecordingError> = std::result::Result<T, E>;
