//! Which font file text is drawn with: `ET_FONT`, else the first of the usual system fonts
//! (Debian: fonts-dejavu-core). One list for the participant's text screens and the analysis
//! figures.

use std::path::PathBuf;

/// Fonts tried in order when `ET_FONT` is not set.
pub const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// No font: says which files were tried and what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("none of {} exists; install fonts-dejavu-core or set ET_FONT to a .ttf file", CANDIDATES.join(", "))]
pub struct NoFont;

/// The font file to use.
pub fn font_file() -> Result<PathBuf, NoFont> {
    if let Some(p) = std::env::var_os("ET_FONT") {
        return Ok(PathBuf::from(p));
    }
    CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or(NoFont)
}
