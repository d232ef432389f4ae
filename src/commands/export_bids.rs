use std::path::PathBuf;

use anyhow::Result;
use et_sessions::Recording;

#[derive(clap::Args)]
pub struct Args {
    /// Recordings to export (one subject each, by participant id).
    #[arg(required = true)]
    recordings: Vec<PathBuf>,
    /// BIDS dataset folder (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// BIDS task label.
    #[arg(long, default_value = "faces")]
    task: String,
}

pub fn main(a: Args) -> Result<()> {
    let mut n = 0;
    for p in &a.recordings {
        let rec = Recording::open(p)?;
        n += et_sessions::bids::export_bids(&rec, &a.out, &a.task)?.len();
    }
    crate::output::emit(&format!(
        "{}: {} files for {} recording(s)\n",
        a.out.display(),
        n,
        a.recordings.len()
    ))
}
