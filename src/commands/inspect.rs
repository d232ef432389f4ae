use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use et_sessions::Recording;

#[derive(clap::Args)]
pub struct Args {
    /// Recording to describe.
    file: PathBuf,
}

pub fn main(a: Args) -> Result<()> {
    let r = Recording::open(&a.file)?;
    let h = &r.header;
    println!("{}", a.file.display());
    println!("  format_version       {}", r.format_version);
    println!("  software_version     {}", h.software_version);
    println!("  participant/session  {} / {}", h.participant, h.session);
    println!("  created_utc          {}", h.created_utc);
    println!("  ended_utc            {}", if r.ended_utc.is_empty() { "-" } else { &r.ended_utc });
    println!("  complete             {}", h.complete);
    println!("  tracker              {} (serial {}, sdk {}) at {} Hz", h.tracker_model, h.tracker_serial, h.sdk_version, h.sampling_hz);
    println!(
        "  screen               {}x{} px, {:.0}x{:.0} mm, viewing distance {:.0} mm",
        h.screen.width_px, h.screen.height_px, h.screen.width_mm, h.screen.height_mm, h.screen.viewing_distance_mm
    );
    println!("  stimulus set         {} (sha256 {})", h.stimulus_set, h.stimulus_set_sha256);
    println!("  counterbalance       version {}, order seed {}", h.counterbalance_version, h.trial_order_seed);
    let (ll, rl) = r.data_loss();
    println!("  samples              {} over {:.2} s", r.gaze.len(), r.duration_us() as f64 / 1e6);
    println!("  data loss            left {:.2}%, right {:.2}%", 100.0 * ll, 100.0 * rl);
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &r.events {
        *kinds.entry(e.kind.as_str()).or_default() += 1;
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("  events               {} ({})", r.events.len(), kinds.join(", "));
    println!("  frames               {}", r.frames.len());
    println!("  validation rows      {}", r.validation.len());
    println!("  trials               {}", r.trials.len());
    if !r.trials.is_empty() {
        println!("    {:>5}  {:<28} {:<6} {:<14} {:<9} {:>9} {:>7} {:>7}", "trial", "stimulus", "cond", "variant", "expr", "dur_ms", "frames", "dropped");
        for t in &r.trials {
            println!(
                "    {:>5}  {:<28} {:<6} {:<14} {:<9} {:>9.1} {:>7} {:>7}",
                t.trial,
                t.stimulus_id,
                t.condition,
                t.variant,
                t.expression,
                (t.offset_us - t.onset_us) as f64 / 1000.0,
                t.frames,
                t.dropped_frames
            );
        }
    }
    Ok(())
}
