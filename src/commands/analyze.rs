use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use et_analysis::folder::{write_folder, FolderInputs};
use et_analysis::report::file_sha256;
use et_analysis::{analyse_recordings, AnalysisConfig, StudyAnalysis};
use et_recording::Recording;

use crate::progress;

#[derive(clap::Args)]
pub struct Args {
    /// Recordings to analyse.
    #[arg(required = true)]
    recordings: Vec<PathBuf>,
    /// Folder for the tables (CSV and Parquet), heatmaps and report.html.
    #[arg(long)]
    out: PathBuf,
    /// Analysis config (TOML); its keys are listed from the declaration (`config_help`).
    #[arg(long, help = config_help())]
    config: Option<PathBuf>,
    /// The stimulus set's manifest, for heatmap overlays, Figure 2 and mask AOIs (without it:
    /// densities only, AOIs as stored in the recordings).
    #[arg(long)]
    stimuli: Option<PathBuf>,
    /// AOI file (TOML or JSON: [[aoi]] for every stimulus, [[stimulus."ID"]] for one) replacing
    /// the stimulus set's AOIs.
    #[arg(long)]
    aois: Option<PathBuf>,
    /// Replace an earlier analysis at --out (whole: nothing of it stays).
    #[arg(long)]
    force: bool,
    /// Draw a participant's scanpath on one stimulus, PARTICIPANT:STIMULUS_ID (repeatable):
    /// `scanpaths/<participant>_<stimulus>.png` and `.svg`.
    #[arg(long = "scanpath", value_name = "PARTICIPANT:STIMULUS")]
    scanpaths: Vec<String>,
}

/// Reads the recordings, analyses them and writes every table and the report into the new
/// folder `out` (with `force`, replacing an earlier analysis there).
pub fn analyze(
    paths: &[PathBuf],
    out: &Path,
    cfg: &AnalysisConfig,
    stimuli: Option<&Path>,
    aois: Option<&Path>,
    force: bool,
    scanpaths: &[String],
) -> Result<StudyAnalysis> {
    let scanpaths: Vec<(&str, &str)> = scanpaths
        .iter()
        .map(|s| {
            s.split_once(':')
                .filter(|(p, st)| !p.is_empty() && !st.is_empty())
                .ok_or_else(|| {
                    anyhow::anyhow!("--scanpath {s:?}: expected PARTICIPANT:STIMULUS_ID")
                })
        })
        .collect::<Result<_>>()?;
    let images = stimuli.map(et_stimuli::StimulusSet::load).transpose()?;
    let aoi_file = match aois {
        Some(p) => Some(et_stimuli::AoiFile::load(p)?),
        None => images.as_ref().map(et_stimuli::StimulusSet::aoi_file),
    };
    let pb = progress::bar(paths.len() as u64, "analysing");
    // Each recording is read while others are analysed; the inputs' checksums (for the report)
    // are computed beside.
    let (analysis, inputs) = std::thread::scope(|sc| {
        let hashes = sc.spawn(|| {
            paths
                .iter()
                .map(|p| Ok((p.display().to_string(), file_sha256(p)?)))
                .collect::<Result<Vec<_>>>()
        });
        let read = |i: usize| {
            let r = Recording::open(&paths[i]);
            pb.inc(1);
            Ok(r?)
        };
        let analysis = analyse_recordings(paths.len(), read, cfg, aoi_file.as_ref());
        let inputs = hashes
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (analysis, inputs)
    });
    let (mut analysis, inputs) = (analysis?, inputs?);
    if let (Some(file), Some(path)) = (&aoi_file, aois) {
        analysis.check_aoi_keys(file, path)?;
    }
    pb.finish_and_clear();
    let scanpaths: Vec<(String, String)> = scanpaths
        .into_iter()
        .map(|(p, s)| (p.to_string(), s.to_string()))
        .collect();
    let software = format!("et-suite {}", env!("CARGO_PKG_VERSION"));
    write_folder(
        &mut analysis,
        out,
        force,
        &FolderInputs {
            images: images.as_ref(),
            inputs: &inputs,
            scanpaths: &scanpaths,
            software: &software,
        },
    )?;
    Ok(analysis)
}

/// `--config`'s help: every key and table the analysis config declares (each key's meaning,
/// default and bounds: the README's "Analysis config", kept true by a test).
fn config_help() -> String {
    format!(
        "Analysis config (TOML): {} (README: \"Analysis config\")",
        et_analysis::AnalysisConfig::keys().join(", ")
    )
}

pub fn main(a: Args) -> Result<()> {
    let cfg = match &a.config {
        Some(p) => AnalysisConfig::load(p)?,
        None => AnalysisConfig::default(),
    };
    if a.recordings.is_empty() {
        bail!("no recordings given");
    }
    let analysis = analyze(
        &a.recordings,
        &a.out,
        &cfg,
        a.stimuli.as_deref(),
        a.aois.as_deref(),
        a.force,
        &a.scanpaths,
    )?;
    crate::output::emit(&analysis.render())?;
    crate::output::emit(&format!("Tables and report.html: {}\n", a.out.display()))
}
