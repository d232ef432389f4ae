use std::path::PathBuf;

use anyhow::{bail, Result};
use et_sessions::Recording;

#[derive(clap::Args)]
pub struct Args {
    /// Recording to export.
    recording: PathBuf,
    /// Table to write: .parquet or .csv (one row per sample, both eyes); never overwritten.
    #[arg(long)]
    out: PathBuf,
}

pub fn main(a: Args) -> Result<()> {
    let ext = a
        .out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    if !matches!(ext.as_deref(), Some("parquet" | "csv")) {
        bail!(
            "{}: the table's format is told by its extension: .parquet or .csv",
            a.out.display()
        );
    }
    if a.out.exists() {
        bail!("{}: already exists; choose another --out", a.out.display());
    }
    let rec = Recording::open(&a.recording)?;
    let n = et_analysis::tables::write_samples(&rec, &a.out)?;
    crate::output::emit(&format!("{}: {n} samples\n", a.out.display()))
}
