use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use et_drivers::replay::ReplaySpeed;
use et_recording::Recording;

#[derive(clap::Args)]
pub struct Args {
    /// Recording to replay.
    file: PathBuf,
    /// 1 (as recorded), N (N× faster), or max.
    #[arg(long, default_value = "1")]
    speed: ReplaySpeed,
    /// New recording to write; never overwritten.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    lsl: crate::setup::LslArgs,
}

pub fn main(a: Args) -> Result<()> {
    let src = Recording::open(&a.file)?;
    let t = Instant::now();
    let stats = et_sessions::replay::replay_streaming(
        &src,
        &a.out,
        a.speed,
        &a.lsl.options(None),
        &|p: &str| eprintln!("▶ {p}"),
    )?;
    let secs = t.elapsed().as_secs_f64();
    crate::output::emit(&format!(
        "{}: {} samples replayed in {:.2} s ({:.0} samples/s), {} dropped\n",
        a.out.display(),
        stats.counts.gaze,
        secs,
        stats.counts.gaze as f64 / secs.max(1e-9),
        stats.samples_dropped
    ))?;
    Ok(())
}
