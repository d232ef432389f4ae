//! Benchmark: `et-suite analyze` end to end on a study of 100 recordings of 7 minutes at
//! 120 Hz (5 million samples in HDF5): 32 trials of 7 s each (the default set's faces, gaze
//! from the synthetic tracker's attention model), 6 s between trials. Times the release
//! binary as a user runs it (reading, I-VT, AOI metrics, every model, all tables, figures and
//! report.html; without `--stimuli`, so heatmaps are densities, no PNG overlays), and the
//! analysis alone in this process (`analyse_study` on recordings already read) to apportion.
//!
//! Run: `cargo bench --bench analyze [-- <recordings>]` (default 100).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use et_drivers::synthetic::{GazeGenerator, SyntheticConfig};
use et_drivers::ScreenGeometry;
use et_recording::{EventRecord, Recording, RecordingHeader, RecordingWriter, TrialRecord};
use et_sessions::attention::{image_scene, AttentionConfig};
use et_sessions::placement::fit_rect;

const TRIAL_US: i64 = 7_000_000;
const BETWEEN_US: i64 = 6_000_000;
const SESSION_US: i64 = 7 * 60 * 1_000_000;

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().expect("temp dir");
    let t = Instant::now();
    let paths: Vec<PathBuf> = (0..n).map(|k| write_recording(&dir, k)).collect();
    let bytes: u64 = paths
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let samples = n as i64 * SESSION_US * 120 / 1_000_000;
    println!(
        "study: {n} recordings, {samples} samples, {:.0} MB of HDF5, written in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let mut best = f64::MAX;
    for run in 0..3 {
        let out = dir.path().join(format!("analysis{run}"));
        let t = Instant::now();
        let o = Command::new(env!("CARGO_BIN_EXE_et-suite"))
            .arg("analyze")
            .args(&paths)
            .arg("--out")
            .arg(&out)
            .env("ET_LOG", "warn")
            .output()
            .expect("et-suite runs");
        let secs = t.elapsed().as_secs_f64();
        assert!(
            o.status.success(),
            "analyze failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        best = best.min(secs);
        println!("run {run}: et-suite analyze end to end {secs:.2} s");
    }

    // SAFETY: getrusage fills the struct it is given.
    let peak_kb = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u.ru_maxrss
    };
    let in_memory = samples as f64 * std::mem::size_of::<et_drivers::GazeSample>() as f64;
    println!(
        "peak memory of et-suite analyze: {:.0} MB ({:.2} x the samples' {:.0} MB in memory)",
        peak_kb as f64 / 1e3,
        peak_kb as f64 * 1e3 / in_memory,
        in_memory / 1e6
    );
    let t = Instant::now();
    let recordings: Vec<Recording> = paths
        .iter()
        .map(|p| Recording::open(p).expect("read"))
        .collect();
    let read_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let analysis =
        et_analysis::analyse_study(&recordings, &Default::default(), None).expect("analysis");
    let analyse_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let tables = analysis.tables();
    let tables_s = t.elapsed().as_secs_f64();
    println!(
        "in process: reading {read_s:.2} s, analyse_study {analyse_s:.2} s ({} dwell rows), building the {} tables {tables_s:.2} s",
        analysis.dwell.len(),
        tables.len()
    );
    println!("RESULT recordings={n} samples={samples} seconds={best:.3}");
}

/// Participant `k`'s recording: 32 trials of the default set, gaze from the attention model.
fn write_recording(dir: &tempfile::TempDir, k: usize) -> PathBuf {
    let screen = ScreenGeometry::default();
    let set = et_stimuli::default_set::manifest(1024);
    let rect = fit_rect(1024, 1024, screen.width_px, screen.height_px);
    let attention = AttentionConfig::default();
    let path = dir.path().join(format!("P{k:03}.h5"));
    let mut h = RecordingHeader::new(&format!("P{k:03}"), "1");
    h.sampling_hz = 120.0;
    h.screen = screen;
    let mut w = RecordingWriter::create(&path, &h, Some(&set.to_toml())).expect("create");
    let mut g = GazeGenerator::new(SyntheticConfig {
        seed: k as u64,
        ..Default::default()
    });
    let mut trials = Vec::new();
    let mut events = Vec::new();
    for (i, st) in set.stimuli.iter().enumerate().take(32) {
        let onset = BETWEEN_US + i as i64 * (TRIAL_US + BETWEEN_US);
        trials.push(TrialRecord {
            onset_us: onset,
            offset_us: onset + TRIAL_US,
            frames: 420,
            ..TrialRecord::showing(i as i32, st, rect)
        });
        events.push(EventRecord::new(onset, "stimulus_onset", i as i32, ""));
    }
    let scenes: Vec<_> = set
        .stimuli
        .iter()
        .take(32)
        .map(|st| {
            image_scene(
                &set,
                attention.for_expression(st.expression),
                rect,
                screen.width_px,
                screen.height_px,
            )
        })
        .collect();
    let centre = et_drivers::synthetic::Scene::Target { x: 0.5, y: 0.5 };
    let mut buf = Vec::with_capacity(8192);
    let samples = SESSION_US * 120 / 1_000_000;
    for s in 0..samples {
        let ts = s * 1_000_000 / 120;
        let showing = trials
            .iter()
            .position(|t| t.onset_us <= ts && ts < t.offset_us);
        let scene = showing.map_or(&centre, |i| &scenes[i]);
        buf.push(g.sample(ts, showing.map_or(0, |i| i + 1), scene));
        if buf.len() == 8192 {
            w.append_gaze(&buf).expect("append");
            buf.clear();
        }
    }
    w.append_gaze(&buf).expect("append");
    w.append_trials(&trials).expect("trials");
    w.append_events(&events).expect("events");
    w.finish(true).expect("finish");
    path
}
