use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a usable .npy file: {message}")]
    Npy { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
    /// A text file (labels, landmarks, a config) that cannot be read as one, naming the line.
    #[error(transparent)]
    File(#[from] et_files::FileError),
    /// The stimulus set written would not read back.
    #[error(transparent)]
    Manifest(#[from] et_stimuli::ManifestError),
    #[error("{path}: no such weight file; convert the official checkpoint with: {hint}")]
    MissingWeights { path: PathBuf, hint: &'static str },
    #[error("{path}: cannot load weights: {message}")]
    Weights { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Image { path: PathBuf, message: String },
    #[error("torch: {0}")]
    Torch(#[from] tch::TchError),
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
