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
        what,
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
            // The line itself is quoted, so the key is named even where the parser's message
            // does not name it ("invalid type: string …, expected u32").
            Some(span) => FileError::Line {
                path: path.into(),
                line: line_of(text, span.start),
                message: format!("{message} (in `{}`)", line_text(text, span.start)),
            },
            None => FileError::Invalid {
                path: path.into(),
                message,
            },
        }
    })
}

/// The line of `text` holding byte `at`, trimmed, at most 80 characters.
fn line_text(text: &str, at: usize) -> String {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[start..end].trim();
    match line.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
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
