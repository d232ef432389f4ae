//! Benchmark: `et-suite import` of a Tobii Studio TSV export (one participant, 300 Hz, both
//! eyes with validity, pupils, eye positions and a media column), the path a lab takes to bring
//! Tobii data in. Reports rows per second and the process's peak memory. Target: ≥ 500,000
//! rows/s in release.
//!
//! Run: `cargo bench -p et-recording --bench import` (optionally `-- <rows>`; default 1,000,000).

use std::io::Write as _;
use std::time::Instant;

use et_recording::import::{import, ImportOptions, ScreenInput};

/// The process's peak resident memory (MB), from /proc.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let rows: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let tsv = dir.path().join("studio.tsv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&tsv).expect("create"));
    writeln!(f, "ParticipantName\tRecordingResolution\tRecordingTimestamp\tMediaName\tMediaPosX (ADCSpx)\tMediaPosY (ADCSpx)\tMediaWidth\tMediaHeight\tGazePointLeftX (ADCSpx)\tGazePointLeftY (ADCSpx)\tGazePointRightX (ADCSpx)\tGazePointRightY (ADCSpx)\tValidityLeft\tValidityRight\tPupilLeft\tPupilRight\tEyePosLeftX (ADCSmm)\tEyePosLeftY (ADCSmm)\tEyePosLeftZ (ADCSmm)\tEyePosRightX (ADCSmm)\tEyePosRightY (ADCSmm)\tEyePosRightZ (ADCSmm)").expect("write");
    for k in 0..rows {
        let t = k * 10 / 3;
        let x = 400 + (k * 7919 % 800);
        let media = k / 2100; // 7 s per stimulus at 300 Hz
        writeln!(
            f,
            "P01\t1920 x 1080\t{t}\tface{media}.png\t560\t140\t800\t800\t{x}\t540\t{x}\t541\t0\t0\t3.1\t3.2\t230.5\t150.2\t640.1\t290.5\t150.2\t640.3"
        )
        .expect("write");
    }
    drop(f);
    let size = std::fs::metadata(&tsv).map(|m| m.len()).unwrap_or(0);
    let out = dir.path().join("out.h5");
    let opts = ImportOptions {
        screen: ScreenInput {
            width_mm: Some(531.0),
            height_mm: Some(299.0),
            ..ScreenInput::default()
        },
        ..ImportOptions::default()
    };
    let before = peak_rss_mb();
    let t = Instant::now();
    let r = import(&tsv, &out, &opts).expect("import");
    let s = t.elapsed().as_secs_f64();
    println!(
        "import: {rows} rows ({:.1} MB TSV) in {s:.3} s = {:.0} rows/s; {} samples, {} stimulus intervals at {} Hz; peak memory {:.0} MB (before the import {:.0} MB)",
        size as f64 / 1e6,
        rows as f64 / s,
        r[0].samples,
        r[0].trials,
        r[0].sampling_hz,
        peak_rss_mb(),
        before
    );
}
