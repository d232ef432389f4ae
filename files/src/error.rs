//! What can be wrong with a text file: it cannot be read, a line of it is not what was
//! expected, or a setting in it is out of bounds.

use std::path::PathBuf;

use crate::SettingError;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A file that cannot be read: `what` it was to be ("study config", "CSV file").
    #[error("{}: cannot read the {what}: {source}", path.display())]
    Read {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    /// A line that is not what was expected (not valid CSV or TOML, a missing column, a
    /// field that is not a number …).
    #[error("{}: line {line}: {message}", path.display())]
    Line {
        path: PathBuf,
        line: u64,
        message: String,
    },
    /// A file that is wrong as a whole (empty, no header, a TOML error without a place).
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    /// A settings file that parses but holds a setting out of its bounds.
    #[error("{}: not a valid {what}: {source}", path.display())]
    Setting {
        path: PathBuf,
        what: &'static str,
        source: SettingError,
    },
}

impl FileError {
    /// Turns a setting refused by `validate()` into an error naming the settings file:
    /// `config.validate().map_err(FileError::setting(path, "analysis config"))`.
    pub fn setting<'a>(
        path: &'a std::path::Path,
        what: &'static str,
    ) -> impl FnOnce(SettingError) -> FileError + 'a {
        move |source| FileError::Setting {
            path: path.into(),
            what,
            source,
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            FileError::Read { path, .. }
            | FileError::Line { path, .. }
            | FileError::Invalid { path, .. }
            | FileError::Setting { path, .. } => path,
        }
    }
}
