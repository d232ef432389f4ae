use std::collections::BTreeMap;
use std::path::PathBuf;

use std::fmt::Write as _;

use anyhow::Result;
use et_recording::format::kind;
use et_recording::Recording;

#[derive(clap::Args)]
pub struct Args {
    /// Recording to describe.
    file: PathBuf,
}

pub fn main(a: Args) -> Result<()> {
    let r = Recording::open(&a.file)?;
    let mut o = String::new();
    let h = &r.header;
    writeln!(o, "{}", a.file.display())?;
    writeln!(o, "  format_version       {}", r.format_version)?;
    writeln!(o, "  software_version     {}", h.software_version)?;
    writeln!(
        o,
        "  participant/session  {} / {}",
        h.participant, h.session
    )?;
    writeln!(o, "  created_utc          {}", h.created_utc)?;
    writeln!(
        o,
        "  ended_utc            {}",
        if r.ended_utc.is_empty() {
            "-"
        } else {
            &r.ended_utc
        }
    )?;
    writeln!(o, "  complete             {}", h.complete)?;
    writeln!(
        o,
        "  tracker              {} (serial {}, sdk {}) at {} Hz",
        h.tracker_model, h.tracker_serial, h.sdk_version, h.sampling_hz
    )?;
    writeln!(o, "  gaze from            {}", gaze_source(&h.tracker_kind))?;
    writeln!(
        o,
        "  tracker silent       {}",
        match h.tracker_silent_ms {
            Some(ms) => format!("{:.1} s in {} stretch(es)", ms / 1000.0, r.silences().len()),
            None => "unknown (not recorded by a session that ran to its end)".into(),
        }
    )?;
    writeln!(
        o,
        "  screen               {}x{} px, {:.0}x{:.0} mm, viewing distance {:.0} mm",
        h.screen.width_px,
        h.screen.height_px,
        h.screen.width_mm,
        h.screen.height_mm,
        h.screen.viewing_distance_mm
    )?;
    writeln!(
        o,
        "  stimulus set         {} (sha256 {})",
        h.stimulus_set, h.stimulus_set_sha256
    )?;
    writeln!(
        o,
        "  counterbalance       version {}, order seed {}",
        h.counterbalance_version, h.trial_order_seed
    )?;
    let (ll, rl) = r.data_loss();
    writeln!(
        o,
        "  samples              {} over {:.2} s",
        r.gaze.len(),
        r.duration_us() as f64 / 1e6
    )?;
    writeln!(
        o,
        "  data loss            left {:.2}%, right {:.2}%",
        100.0 * ll,
        100.0 * rl
    )?;
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &r.events {
        *kinds.entry(e.kind.as_str()).or_default() += 1;
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    writeln!(
        o,
        "  events               {} ({})",
        r.events.len(),
        kinds.join(", ")
    )?;
    writeln!(o, "  frames               {}", r.frames.len())?;
    let attempts = r.validation_attempts();
    writeln!(
        o,
        "  validation           {} attempt(s), {} rows{}",
        attempts.len(),
        r.validation.len(),
        if attempts.is_empty() {
            ""
        } else {
            "; the last is the one the session went on with"
        }
    )?;
    for a in &attempts {
        writeln!(o, "    attempt {}: left {}", a.attempt, a.left)?;
        writeln!(
            o,
            "    {:>w$}  right {}",
            "",
            a.right,
            w = format!("attempt {}:", a.attempt).len() - 2
        )?;
    }
    let verdicts: Vec<&str> = r
        .events
        .iter()
        .filter(|e| {
            (e.kind == kind::CALIBRATION && e.text.contains("accepted"))
                || (e.kind == kind::NOTE && e.text.starts_with("validation failed"))
        })
        .map(|e| e.text.as_str())
        .collect();
    for v in verdicts {
        writeln!(o, "    {v}")?;
    }
    let without_gaze = r.trials.iter().filter(|t| t.samples.without_gaze()).count();
    writeln!(
        o,
        "  trials               {}{}",
        r.trials.len(),
        if without_gaze > 0 {
            format!(" ({without_gaze} WITHOUT ANY GAZE SAMPLE)")
        } else {
            String::new()
        }
    )?;
    if !r.trials.is_empty() {
        writeln!(
            o,
            "    {:>5}  {:<28} {:<6} {:<14} {:<9} {:>9} {:>7} {:>7}  {:>17}",
            "trial",
            "stimulus",
            "cond",
            "variant",
            "expr",
            "dur_ms",
            "frames",
            "dropped",
            "samples exp/rec/ok"
        )?;
        for t in &r.trials {
            let aborted = r
                .events
                .iter()
                .any(|e| e.kind == kind::TRIAL_ABORTED && e.trial == t.trial);
            let c = &t.samples;
            let samples = if c.expected == 0 {
                "-".to_string()
            } else {
                format!("{}/{}/{}", c.expected, c.received, c.valid)
            };
            writeln!(
                o,
                "    {:>5}  {:<28} {:<6} {:<14} {:<9} {:>9.1} {:>7} {:>7}  {:>17}{}{}",
                t.trial,
                t.stimulus_id,
                t.condition,
                t.variant,
                t.expression,
                (t.offset_us - t.onset_us) as f64 / 1000.0,
                t.frames,
                t.dropped_frames,
                samples,
                if c.without_gaze() { "  NO GAZE" } else { "" },
                if aborted {
                    "  cut short by the abort"
                } else {
                    ""
                }
            )?;
        }
    }
    crate::output::emit(&o)
}

/// Where a recording's gaze came from, in words (simulated gaze is never taken for real).
fn gaze_source(kind: &str) -> &str {
    match kind {
        "tobii" => "a Tobii eye tracker",
        "synthetic" => "SIMULATED (the synthetic tracker)",
        "replay" => "REPLAYED (another recording played again)",
        "import" => "an import of another tool's export",
        "" => "not recorded (a file written before et-suite recorded it)",
        other => other,
    }
}
