//! TOML settings files, read one way: the file's text, parsed into its declared type (unknown
//! keys refused where the type says so), an error naming the file, the line and what the
//! parser expected, on one line.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::FileError;

/// Reads and parses `path` as a `what` ("analysis config", "stimulus manifest").
pub fn load<T: DeserializeOwned>(path: &Path, what: &'static str) -> Result<T, FileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
        path: path.into(),
        source,
    })?;
    parse(&text, path, what)
}

/// Parses `text`, read from `path`, as a `what`.
pub fn parse<T: DeserializeOwned>(
    text: &str,
    path: &Path,
    what: &'static str,
) -> Result<T, FileError> {
    toml::from_str(text).map_err(|e| {
        let message = format!(
            "not a valid {what}: {}",
            e.message().trim().replace('\n', " ")
        );
        match e.span() {
            Some(span) => FileError::Line {
                path: path.into(),
                line: line_of(text, span.start),
                message,
            },
            None => FileError::Invalid {
                path: path.into(),
                message,
            },
        }
    })
}

/// The 1-based line of byte `at` in `text`.
fn line_of(text: &str, at: usize) -> u64 {
    let upto = text.get(..at.min(text.len())).unwrap_or(text);
    1 + upto.bytes().filter(|b| *b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Settings {
        rate: f64,
    }

    #[test]
    fn errors_name_the_file_the_line_and_what_was_expected() {
        let path = Path::new("study.toml");
        let e = parse::<Settings>("# a comment\n\nrate = \"fast\"\n", path, "study config")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("study.toml: line 3: not a valid study config"),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
        let e = parse::<Settings>("rate = 1.0\nrat = 2\n", path, "study config")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("rat"), "{e}");
        let missing = load::<Settings>(Path::new("/nonexistent/x.toml"), "study config");
        assert!(matches!(missing, Err(FileError::Read { .. })));
    }
}
