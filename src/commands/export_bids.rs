use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Result};
use et_recording::output_dir::NewDir;
use et_recording::Recording;

#[derive(clap::Args)]
pub struct Args {
    /// Recordings to export (one subject each, by participant id).
    #[arg(required = true)]
    recordings: Vec<PathBuf>,
    /// BIDS dataset folder to create (it must not exist; see --force).
    #[arg(long)]
    out: PathBuf,
    /// BIDS task label.
    #[arg(long, default_value = "faces")]
    task: String,
    /// Replace an earlier et-suite export at --out (whole: nothing of it stays).
    #[arg(long)]
    force: bool,
}

pub fn main(a: Args) -> Result<()> {
    let mut recordings = Vec::with_capacity(a.recordings.len());
    let mut subjects: BTreeMap<String, &PathBuf> = BTreeMap::new();
    for p in &a.recordings {
        let rec = Recording::open(p)?;
        let sub = et_recording::bids::label(&rec.header.participant);
        if let Some(first) = subjects.insert(sub.clone(), p) {
            bail!(
                "{} and {} are both subject sub-{sub}: one would overwrite the other; export them into separate datasets",
                first.display(),
                p.display()
            );
        }
        recordings.push(rec);
    }
    let dir = NewDir::create(&a.out, "et-suite export-bids", a.force)?;
    let mut n = 0;
    for rec in &recordings {
        n += et_recording::bids::export_bids(rec, dir.path(), &a.task)?.len();
    }
    dir.publish()?;
    crate::output::emit(&format!(
        "{}: {} files for {} recording(s)\n",
        a.out.display(),
        n,
        recordings.len()
    ))
}
