//! Benchmark: replay of a long synthetic recording at `--speed max` into a new recording,
//! the path `et-suite replay FILE --speed max --out NEW` takes. Reports samples per second for
//! reading, and for the replay itself (replay tracker → channel → recorder → HDF5, flushed
//! every 100 ms and fsynced every second). Target: ≥ 1 million samples/s.
//!
//! Run: `cargo bench --bench replay` (optionally `-- <samples>`; default 2,000,000).

use std::time::Instant;

use et_drivers::replay::ReplaySpeed;
use et_drivers::synthetic::{GazeGenerator, Scene, SyntheticConfig};
use et_recording::{Recording, RecordingHeader, RecordingWriter};
use et_sessions::replay::replay_to_file;

fn main() {
    let n: i64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("long.h5");
    let mut h = RecordingHeader::new("BENCH", "1");
    h.sampling_hz = 120.0;
    let mut w = RecordingWriter::create(&src, &h, None).expect("create");
    let mut g = GazeGenerator::new(SyntheticConfig::default());
    let scene = Scene::Target { x: 0.5, y: 0.5 };
    let t = Instant::now();
    let mut buf = Vec::with_capacity(8192);
    for k in 0..n {
        buf.push(g.sample(k * 1_000_000 / 120, 1, &scene));
        if buf.len() == 8192 {
            w.append_gaze(&buf).expect("append");
            buf.clear();
        }
    }
    w.append_gaze(&buf).expect("append");
    w.finish(true).expect("finish");
    let size = std::fs::metadata(&src).map(|m| m.len()).unwrap_or(0);
    println!(
        "source: {n} samples ({:.1} h at 120 Hz), {:.1} MB, generated and written in {:.2} s",
        n as f64 / 120.0 / 3600.0,
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let mut rates = Vec::new();
    for run in 0..3 {
        let t = Instant::now();
        let rec = Recording::open(&src).expect("read");
        let read_s = t.elapsed().as_secs_f64();
        let out = dir.path().join(format!("replay{run}.h5"));
        let t = Instant::now();
        let stats = replay_to_file(&rec, &out, ReplaySpeed::Max).expect("replay");
        let replay_s = t.elapsed().as_secs_f64();
        assert_eq!(stats.counts.gaze as i64, n);
        assert_eq!(stats.samples_dropped, 0);
        let rate = n as f64 / replay_s;
        rates.push(rate);
        println!(
            "run {run}: read {:.2} s ({:.2} M samples/s); replay --speed max into a new recording {:.2} s ({:.2} M samples/s); end to end {:.2} M samples/s",
            read_s,
            n as f64 / read_s / 1e6,
            replay_s,
            rate / 1e6,
            n as f64 / (read_s + replay_s) / 1e6
        );
        std::fs::remove_file(&out).ok();
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "median replay rate: {:.2} M samples/s (target ≥ 1.0)",
        rates[1] / 1e6
    );
}
