use std::path::PathBuf;

use anyhow::Result;
use et_recording::import::{import, ImportFormat, ImportOptions, RateSource, ScreenInput};
use et_sessions::StudyConfig;

#[derive(clap::Args)]
pub struct Args {
    /// Exported gaze: plain CSV (time ms, x px, y px), Tobii Pro Lab TSV or Tobii Studio TSV/CSV.
    file: PathBuf,
    /// New recording to write (never overwritten). An export of several participants needs a
    /// folder here: one recording per participant, named after them.
    #[arg(long)]
    out: PathBuf,
    /// csv, tobii-pro-lab or tobii-studio (default: detected from the header).
    #[arg(long)]
    format: Option<ImportFormat>,
    /// With a participant column: import only this participant. Without one: the participant
    /// id (default: the file name).
    #[arg(long)]
    participant: Option<String>,
    /// Sampling rate (Hz); default: estimated from the time stamps and snapped to a Tobii rate.
    #[arg(long)]
    sampling_hz: Option<f64>,
    /// Unit of a time column whose header names none: ms or us (default: told from the time
    /// stamps, refused when they cannot tell).
    #[arg(long)]
    time_unit: Option<et_recording::import::TimeUnit>,
    /// A study config whose [screen] gives the geometry (flags below override it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Screen size in px (default: the export's recording resolution).
    #[arg(long)]
    screen_width_px: Option<u32>,
    #[arg(long)]
    screen_height_px: Option<u32>,
    /// Screen size in mm (no export gives it).
    #[arg(long)]
    screen_width_mm: Option<f64>,
    #[arg(long)]
    screen_height_mm: Option<f64>,
    /// Viewing distance in mm (default: the median eye distance in the export's eye positions).
    #[arg(long)]
    viewing_distance_mm: Option<f64>,
}

pub fn main(a: Args) -> Result<()> {
    let base = match &a.config {
        Some(p) => ScreenInput::from(StudyConfig::load(p)?.screen),
        None => ScreenInput::default(),
    };
    let screen = ScreenInput {
        width_px: a.screen_width_px.or(base.width_px),
        height_px: a.screen_height_px.or(base.height_px),
        width_mm: a.screen_width_mm.or(base.width_mm),
        height_mm: a.screen_height_mm.or(base.height_mm),
        viewing_distance_mm: a.viewing_distance_mm.or(base.viewing_distance_mm),
    };
    let reports = import(
        &a.file,
        &a.out,
        &ImportOptions {
            format: a.format,
            screen,
            participant: a.participant,
            sampling_hz: a.sampling_hz,
            time_unit: a.time_unit,
        },
    )?;
    let mut text = String::new();
    for r in &reports {
        let rate = match r.rate_source {
            RateSource::Given => "as given",
            RateSource::Estimated => "estimated",
        };
        text.push_str(&format!(
            "{}: participant {}: {} samples ({} with gaze), {} stimulus intervals, {} events, imported as {:?} at {} Hz ({rate}); screen {}x{} px, {}x{} mm at {} mm",
            r.path.display(),
            r.participant,
            r.samples,
            r.valid_samples,
            r.trials,
            r.events,
            r.format,
            r.sampling_hz,
            r.screen.width_px,
            r.screen.height_px,
            r.screen.width_mm,
            r.screen.height_mm,
            r.screen.viewing_distance_mm,
        ));
        if !r.source_software.is_empty() {
            text.push_str(&format!("; recorded with {}", r.source_software));
        }
        if r.duplicates_dropped > 0 {
            text.push_str(&format!(
                "; {} rows with a repeated time stamp dropped",
                r.duplicates_dropped
            ));
        }
        for w in &r.warnings {
            text.push_str(&format!("; note: {w}"));
        }
        text.push('\n');
    }
    crate::output::emit(&text)
}
