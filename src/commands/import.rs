use std::path::PathBuf;

use anyhow::Result;
use et_drivers::ScreenGeometry;
use et_sessions::import::{import, ImportFormat, ImportOptions};

#[derive(clap::Args)]
pub struct Args {
    /// Exported gaze: plain CSV (time ms, x px, y px), Tobii Pro Lab TSV or Tobii Studio TSV/CSV.
    file: PathBuf,
    /// New recording to write; never overwritten.
    #[arg(long)]
    out: PathBuf,
    /// csv, tobii-pro-lab or tobii-studio (default: detected from the header).
    #[arg(long)]
    format: Option<ImportFormat>,
    /// Participant id (default: the file name).
    #[arg(long)]
    participant: Option<String>,
    /// Screen the gaze was recorded on, px.
    #[arg(long, default_value_t = 1920)]
    screen_width_px: u32,
    #[arg(long, default_value_t = 1080)]
    screen_height_px: u32,
    /// Screen size and viewing distance, mm.
    #[arg(long, default_value_t = 531.0)]
    screen_width_mm: f64,
    #[arg(long, default_value_t = 299.0)]
    screen_height_mm: f64,
    #[arg(long, default_value_t = 650.0)]
    viewing_distance_mm: f64,
}

pub fn main(a: Args) -> Result<()> {
    let screen = ScreenGeometry {
        width_px: a.screen_width_px,
        height_px: a.screen_height_px,
        width_mm: a.screen_width_mm,
        height_mm: a.screen_height_mm,
        viewing_distance_mm: a.viewing_distance_mm,
    };
    screen
        .validate()
        .map_err(|m| anyhow::anyhow!("screen: {m}"))?;
    let r = import(
        &a.file,
        &a.out,
        &ImportOptions {
            format: a.format,
            screen,
            participant: a.participant,
        },
    )?;
    crate::output::emit(&format!(
        "{}: {} samples ({} with gaze) imported as {:?}, about {:.1} Hz\n",
        a.out.display(),
        r.samples,
        r.valid_samples,
        r.format,
        r.sampling_hz
    ))
}
