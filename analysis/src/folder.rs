//! An analysis folder, written whole by one call: what it holds and in which order (every table
//! as CSV and Parquet, heatmaps and Figure 2, the dwell, quality, validation and AOI figures,
//! scanpaths asked for, `report.html` and `methods.md`). It is written into a folder of its own
//! and appears at its name only when complete (`et_recording::output_dir::NewDir`).

use std::path::{Path, PathBuf};

use et_recording::output_dir::NewDir;
use et_stimuli::StimulusSet;

use crate::report::write_report;
use crate::study::StudyAnalysis;
use crate::AnalysisError;

/// What the folder is made from besides the analysis.
pub struct FolderInputs<'a> {
    /// The stimulus set with its images (heatmap overlays, Figure 2, scanpaths); `None`:
    /// densities only, and a note says which flag brings the pictures.
    pub images: Option<&'a StimulusSet>,
    /// (path, SHA-256) of each recording analysed, for the report.
    pub inputs: &'a [(String, String)],
    /// (participant, stimulus id) of each scanpath to draw.
    pub scanpaths: &'a [(String, String)],
    /// The software named in the report, e.g. "et-suite 0.1.0".
    pub software: &'a str,
}

/// Writes the whole analysis folder at `out` (replacing an earlier et-suite analysis there only
/// with `force`); returns where it is.
pub fn write_folder(
    analysis: &mut StudyAnalysis,
    out: &Path,
    force: bool,
    with: &FolderInputs<'_>,
) -> Result<PathBuf, AnalysisError> {
    let has_images = analysis
        .set
        .as_ref()
        .is_some_and(|s| s.stimuli.iter().any(|st| !st.image.as_os_str().is_empty()));
    if with.images.is_none() && has_images {
        analysis.notes.push(
            "heatmap overlays (PNG) and Figure 2 need the stimulus images: pass --stimuli MANIFEST (densities are written as .npy)".into(),
        );
    }
    let dir = NewDir::create(out, "et-suite analyze", force)?;
    // Every table built once (one of them holds every sample) for CSV, Parquet and the report.
    let tables = analysis.tables();
    crate::table_files::write_tables(&tables, dir.path())?;
    analysis.write_heatmaps(dir.path(), with.images)?;
    if let Err(why) = crate::figures::write_dwell_figure(analysis, dir.path())
        .and_then(|_| crate::figures::write_quality_figure(analysis, dir.path()))
        .and_then(|_| crate::figures::write_validation_figure(analysis, dir.path()))
        .and_then(|_| crate::figures::write_aoi_figure(analysis, dir.path()))
    {
        analysis.notes.push(format!("figures not drawn: {why}"));
    }
    for (participant, stimulus) in with.scanpaths {
        crate::figures::write_scanpath(analysis, with.images, participant, stimulus, dir.path())
            .map_err(|source| AnalysisError::Scanpath {
                participant: participant.to_string(),
                stimulus: stimulus.to_string(),
                source,
            })?;
    }
    write_report(dir.path(), analysis, &tables, with.inputs, with.software)?;
    Ok(dir.publish()?)
}
