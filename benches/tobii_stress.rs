//! Stress report (not a test): the fake Tobii SDK streaming at 1200 Hz (Spectrum rate) and
//! 10 000 Hz through the real adapter, the bounded channel and the recorder into HDF5.
//! Reports samples the fake delivered vs samples in the file (lost), drops counted by the
//! channel, and callback-to-disk latency: from a sample's time stamp (the fake calls back at
//! that moment) to the end of the first flush that holds it.
//!
//! Run: `cargo bench --bench tobii_stress` (optionally `-- <seconds>`; default 60).

use std::ffi::c_int;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use et_drivers::tobii::{TobiiConfig, TobiiTracker};
use et_drivers::{sample_channel, Tracker};
use et_recording::{Recording, RecordingHeader, RecordingWriter};
use et_sessions::recorder::{spawn_recorder, FlushPolicy};

fn percentile(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let secs: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(60);
    let built = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .join("libfake_tobii.so");
    for hz in [1200.0f32, 10_000.0] {
        let dir = tempfile::tempdir().unwrap();
        let lib_path = dir.path().join("libtobii_research.so");
        std::fs::copy(&built, &lib_path).expect("the fake library is built as a dev-dependency");
        // SAFETY: our own test library.
        let lib = unsafe { libloading::Library::new(&lib_path) }.unwrap();
        unsafe {
            (*lib
                .get::<unsafe extern "C" fn(c_int, u64)>(b"fake_tobii_configure")
                .unwrap())(1, 3);
            (*lib
                .get::<unsafe extern "C" fn(bool)>(b"fake_tobii_allow_any_frequency")
                .unwrap())(true);
        }
        let mut t = TobiiTracker::open(TobiiConfig {
            library: Some(lib_path.clone()),
            frequency_hz: Some(hz),
            ..Default::default()
        })
        .unwrap();
        let out = dir.path().join("stress.h5");
        let mut h = RecordingHeader::new("STRESS", "1");
        h.sampling_hz = f64::from(hz);
        let w = RecordingWriter::create(&out, &h, None).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let policy = FlushPolicy {
            flush_log: Some(Arc::clone(&log)),
            ..FlushPolicy::default()
        };
        let (tx, rx) = sample_channel((f64::from(hz) * 5.0) as usize);
        let rec = spawn_recorder(w, rx, policy).unwrap();
        t.start(tx).unwrap();
        std::thread::sleep(Duration::from_secs(secs));
        t.stop().unwrap();
        let sent = unsafe {
            (*lib
                .get::<unsafe extern "C" fn() -> u64>(b"fake_tobii_sent_count")
                .unwrap())()
        };
        let stats = rec.finish(true).unwrap();
        let file = Recording::open(&out).unwrap();
        let flushes = log.lock().unwrap().clone();
        let mut lat: Vec<i64> = Vec::with_capacity(file.gaze.len());
        let mut f = 0;
        for (i, s) in file.gaze.iter().enumerate() {
            while f < flushes.len() && flushes[f].1 <= i {
                f += 1;
            }
            if f < flushes.len() {
                lat.push(flushes[f].0 - s.system_ts_us);
            }
        }
        lat.sort_unstable();
        let gaps = file
            .gaze
            .windows(2)
            .filter(|w| w[1].system_ts_us - w[0].system_ts_us > (2e6 / f64::from(hz)) as i64)
            .count();
        println!(
            "{hz} Hz for {secs} s: fake delivered {sent}, file holds {} (lost {}), channel drops {}, gaps > 2 periods {gaps}; \
             callback-to-disk latency ms: p50 {:.1}, p95 {:.1}, p99 {:.1}, max {:.1} ({} flushes)",
            file.gaze.len(),
            sent as i64 - file.gaze.len() as i64,
            stats.samples_dropped,
            percentile(&lat, 0.5),
            percentile(&lat, 0.95),
            percentile(&lat, 0.99),
            percentile(&lat, 1.0),
            flushes.len()
        );
        unsafe {
            (*lib
                .get::<unsafe extern "C" fn()>(b"fake_tobii_reset")
                .unwrap())()
        };
    }
}
