use std::path::PathBuf;

use anyhow::{bail, Result};
use et_recording::Recording;

#[derive(clap::Args)]
pub struct Args {
    /// Recording to export.
    recording: PathBuf,
    /// What to write, told by its extension: .parquet or .csv (one row per sample, both
    /// eyes), or .vhdr (BrainVision, with .vmrk markers and .eeg data beside it, for EEG
    /// tools such as MNE-Python); never overwritten.
    #[arg(long)]
    out: PathBuf,
}

pub fn main(a: Args) -> Result<()> {
    let ext = a
        .out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    if !matches!(ext.as_deref(), Some("parquet" | "csv" | "vhdr")) {
        bail!(
            "{}: the format is told by the extension: .parquet, .csv or .vhdr (BrainVision)",
            a.out.display()
        );
    }
    if a.out.exists() {
        bail!("{}: already exists; choose another --out", a.out.display());
    }
    let rec = Recording::open(&a.recording)?;
    if ext.as_deref() == Some("vhdr") {
        let w = et_recording::brainvision::write(&rec, &a.out)?;
        let mut text = format!(
            "{}: {} samples on a regular grid of {} slots ({} without a sample), {} markers\n",
            a.out.display(),
            rec.gaze.len() - w.unplaced,
            w.slots,
            w.empty_slots,
            w.markers
        );
        if w.unplaced > 0 {
            text.push_str(&format!(
                "warning: {} samples shared a grid slot with another (the tracker's clock ran fast) and are not in the export\n",
                w.unplaced
            ));
        }
        return crate::output::emit(&text);
    }
    let n = et_analysis::table_files::write_samples(&rec, &a.out)?;
    crate::output::emit(&format!("{}: {n} samples\n", a.out.display()))
}
