//! Benchmark: Tobii I-VT (all stages, defaults) and AOI metrics over a long synthetic
//! recording (default 10 million samples at 120 Hz, 23 h), in memory. With `--export PATH` it
//! also writes the samples (time ms, x px, y px as little-endian f64 triples, mean of valid
//! eyes, NaN when none) for `scripts/bench_vs_pymovements.py`, which runs pymovements on the
//! same samples and prints the ratio.
//!
//! Run: `cargo bench -p et-analysis --bench ivt_aoi [-- <samples>] [--export PATH]`

use std::io::Write;
use std::time::Instant;

use et_analysis::fixation::ivt::{ivt, IvtConfig};
use et_analysis::metrics::trials_aoi_metrics;
use et_drivers::synthetic::{GazeGenerator, SyntheticConfig};
use et_drivers::ScreenGeometry;
use et_recording::{Recording, RecordingHeader, TrialRecord};
use et_sessions::attention::{image_scene, AttentionConfig};
use et_sessions::placement::fit_rect;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let export = args
        .iter()
        .position(|a| a == "--export")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let screen = ScreenGeometry::default();
    let set = et_stimuli::default_set::manifest(1024);
    let rect = fit_rect(1024, 1024, screen.width_px, screen.height_px);
    let smile = set
        .stimuli
        .iter()
        .find(|s| s.expression == et_stimuli::Expression::Smile)
        .unwrap();
    let scene = image_scene(
        &set,
        AttentionConfig::default().for_expression(smile.expression),
        rect,
        screen.width_px,
        screen.height_px,
    );
    let t = Instant::now();
    let mut g = GazeGenerator::new(SyntheticConfig::default());
    let period = 1e6 / 120.0;
    // A new trial (scene index) every 7 s, so gaze re-orients as after each onset.
    let gaze: Vec<_> = (0..n)
        .map(|k| {
            let ts = (k as f64 * period).round() as i64;
            g.sample(ts, 1 + (ts / 7_000_000) as usize, &scene)
        })
        .collect();
    eprintln!(
        "generated {n} samples in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let last = gaze.last().map_or(0, |s| s.system_ts_us);
    let trials: Vec<TrialRecord> = (0..=last / 7_000_000)
        .map(|i| TrialRecord {
            onset_us: i * 7_000_000,
            offset_us: (i + 1) * 7_000_000,
            frames: 420,
            ..TrialRecord::showing(i as i32, smile, rect)
        })
        .collect();
    let mut header = RecordingHeader::new("BENCH", "1");
    header.sampling_hz = 120.0;
    header.screen = screen;
    let rec = Recording {
        manifest: set.to_toml(),
        ..Recording::in_memory("bench", header, gaze, trials)
    };
    if let Some(path) = &export {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("export file"));
        for s in &rec.gaze {
            let (x, y) = s.mean_gaze().map_or((f64::NAN, f64::NAN), |(x, y)| {
                (f64::from(x) * 1920.0, f64::from(y) * 1080.0)
            });
            for v in [s.system_ts_us as f64 / 1000.0, x, y] {
                out.write_all(&v.to_le_bytes()).expect("write");
            }
        }
        eprintln!("exported to {path}");
    }
    let mut best = f64::MAX;
    for run in 0..5 {
        let t = Instant::now();
        let fix = ivt(&rec.gaze, &rec.header.screen, 120.0, &IvtConfig::default());
        let t_ivt = t.elapsed().as_secs_f64();
        let trials: Vec<&TrialRecord> = rec.trials.iter().collect();
        let per_trial = trials_aoi_metrics(&rec, &set, &trials, &fix);
        let total = t.elapsed().as_secs_f64();
        let (mut mouth_dwell, mut mouth_fix) = (0.0, 0.0);
        for m in per_trial.iter().flat_map(|(_, m)| m) {
            if m.aoi == "mouth" {
                mouth_dwell += m.dwell_ms;
                mouth_fix += m.total_fixation_duration_ms;
            }
        }
        best = best.min(total);
        if run == 0 {
            println!("fingerprint {:016x}", fingerprint(&fix));
            println!("AOI fingerprint {:016x}", aoi_fingerprint(&per_trial));
        }
        println!(
            "run {run}: I-VT {t_ivt:.2} s ({} fixations), + AOI metrics for {} trials x 3 AOIs: {total:.2} s total; mouth dwell {:.0} s, mouth fixation time {:.0} s",
            fix.fixations.len(),
            rec.trials.len(),
            mouth_dwell / 1000.0,
            mouth_fix / 1000.0
        );
    }
    println!("RESULT samples={n} seconds={best:.3}");
}

/// FNV-1a over every dwell row's and AOI metric's numbers, in order.
fn aoi_fingerprint(
    per_trial: &[(
        Vec<et_analysis::DwellRow>,
        Vec<et_analysis::metrics::AoiMetrics>,
    )],
) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |v: u64| {
        for b in v.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    };
    for (dwell, metrics) in per_trial {
        for d in dwell {
            eat(d.dwell_ms.to_bits());
            eat(d.valid_ms.to_bits());
        }
        for m in metrics {
            for v in [
                m.dwell_ms,
                m.total_fixation_duration_ms,
                m.time_to_first_fixation_ms.unwrap_or(-1.0),
                m.first_fixation_duration_ms.unwrap_or(-1.0),
                m.total_visit_duration_ms,
            ] {
                eat(v.to_bits());
            }
            eat(m.fixation_count as u64);
            eat(m.visit_count as u64);
        }
    }
    h
}

/// FNV-1a over every fixation (samples, times, position bits) and every sample's class: equal
/// fingerprints before and after a change mean equal results on these 10 M samples.
fn fingerprint(r: &et_analysis::fixation::FixationResult) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |v: u64| {
        for b in v.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    };
    for f in &r.fixations {
        for v in [
            f.first as u64,
            f.last as u64,
            f.start_us as u64,
            f.end_us as u64,
            f.x.to_bits(),
            f.y.to_bits(),
            f.dispersion_deg.to_bits(),
            f.samples as u64,
        ] {
            eat(v);
        }
    }
    for c in &r.classes {
        eat(match c {
            et_analysis::fixation::SampleClass::Fixation(k) => u64::from(*k),
            et_analysis::fixation::SampleClass::Saccade => u64::MAX,
            et_analysis::fixation::SampleClass::Unclassified => u64::MAX - 1,
            et_analysis::fixation::SampleClass::Missing => u64::MAX - 2,
        });
    }
    h
}
