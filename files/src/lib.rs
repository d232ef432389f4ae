//! The text files people write and other tools export, read one way in every crate: TOML
//! settings (`toml_file`), CSV tables (`csv_table`), and the error a setting out of its bounds
//! gives (`setting`). Every error names the file, and the line or the key where there is one;
//! nothing ends a file silently.

pub mod csv_table;
mod error;
pub mod setting;
pub mod toml_file;

pub use error::FileError;
pub use setting::SettingError;
