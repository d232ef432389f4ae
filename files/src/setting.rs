//! A setting out of its bounds: which key (as the user writes it, `exclusion.min_valid_share`)
//! and what was expected. Every config's `validate()` returns it, so a caller can tell which
//! key was refused without reading the message.

/// `key` names the setting; `message` says what was expected and what was given (it names the
/// key too, so it reads alone).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SettingError {
    pub key: String,
    pub message: String,
}

impl SettingError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> SettingError {
        SettingError {
            key: key.into(),
            message: message.into(),
        }
    }
}
