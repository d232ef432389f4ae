use std::path::PathBuf;

use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {
    /// Recording left behind by a killed session.
    file: PathBuf,
}

pub fn main(a: Args) -> Result<()> {
    let r = et_recording::recover::recover(&a.file)?;
    crate::output::emit(&format!(
        "{}: {}; {} samples ({:.1} s), {} trials, {} events, {} frames; complete = {}\n",
        a.file.display(),
        if r.was_open {
            "recovered"
        } else {
            "already closed cleanly, nothing to do"
        },
        r.samples,
        r.duration_us as f64 / 1e6,
        r.trials,
        r.events,
        r.frames,
        r.complete
    ))?;
    Ok(())
}
