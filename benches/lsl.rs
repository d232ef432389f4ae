//! LSL benchmark (not a test): the fake Tobii SDK at 1200 Hz through the real adapter and the
//! recorder, every sample pushed to the `et-suite-gaze` outlet with a pylsl consumer connected.
//! Reports samples per second through the outlet (tracker time and wall time), samples lost
//! between the file and the outlet, and the latency a push adds: from a sample's stamp (the
//! fake calls back at that moment) to its push (median, p99, max). Then the outlet's capacity:
//! samples pushed as fast as it takes them.
//!
//! LSL announces streams by multicast: the benchmark runs itself inside a network namespace
//! of its own with only loopback (as the tests do) and stops with a note where none can be
//! made. Needs liblsl (ET_LSL_LIB) and pylsl: `scripts/setup_lsl.sh`.
//!
//! Run: `ET_LSL_LIB=… cargo bench --bench lsl` (optionally `-- <seconds>`; default 30).

use std::ffi::c_int;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use et_drivers::lsl::LslLibrary;
use et_drivers::tobii::{TobiiConfig, TobiiTracker};
use et_drivers::{sample_channel, GazeSample, ScreenGeometry, Tracker};
use et_recording::{RecordingHeader, RecordingWriter};
use et_sessions::lsl::{Outlets, Source};
use et_sessions::recorder::{spawn_session_recorder, FlushPolicy};

const IN_NAMESPACE: &str = "ET_LSL_BENCH_IN_NAMESPACE";

fn percentile(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

/// Runs this benchmark again inside a fresh network namespace; false where none can be made.
fn reexec_in_namespace() -> bool {
    let me = std::env::current_exe().unwrap();
    let cfg = std::env::temp_dir().join("et-suite-lsl-bench.cfg");
    std::fs::write(
        &cfg,
        "[ports]\nIPv6 = disable\n[multicast]\nResolveScope = machine\n[lab]\nKnownPeers = {127.0.0.1}\n",
    )
    .unwrap();
    let status = std::process::Command::new("unshare")
        .args([
            "--net",
            "sh",
            "-c",
            "ip link set lo up && exec \"$@\"",
            "sh",
        ])
        .arg(me)
        .args(std::env::args().skip(1))
        .env(IN_NAMESPACE, "1")
        .env("LSLAPICFG", &cfg)
        .status();
    matches!(status, Ok(s) if s.success())
}

fn main() {
    if std::env::var_os(IN_NAMESPACE).is_none() {
        if !reexec_in_namespace() {
            eprintln!("lsl bench: no network namespace could be made (needs root and unshare): not run on the host's network");
        }
        return;
    }
    let secs: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(30);
    let lsl = LslLibrary::find(None).expect("liblsl: set ET_LSL_LIB (scripts/setup_lsl.sh)");
    let built = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .join("libfake_tobii.so");
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
    let hz = 1200.0f32;
    let mut t = TobiiTracker::open(TobiiConfig {
        library: Some(lib_path.clone()),
        frequency_hz: Some(hz),
        ..Default::default()
    })
    .unwrap();
    let info = t.info();
    let screen = ScreenGeometry::default();
    let mut outlets = Outlets::open(
        lsl,
        &Source {
            info: &info,
            participant: "BENCH",
            screen: &screen,
            clock: t.clock(),
        },
    )
    .unwrap();
    // A real consumer (pylsl), reading until the stream ends.
    let consumer = std::process::Command::new("python3")
        .args([
            "-c",
            "import pylsl\ni = pylsl.StreamInlet(pylsl.resolve_byprop('name', 'et-suite-gaze', timeout=30)[0], recover=False)\nn = 0\nwhile True:\n    try:\n        s, _ = i.pull_chunk(timeout=1.0, max_samples=8192)\n    except pylsl.util.LostError:\n        break\n    n += len(s)\nprint(n)",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with pylsl");
    assert!(outlets.wait_for_consumer(&|| false));
    let log = Arc::new(Mutex::new(Vec::new()));
    outlets.log_pushes(Arc::clone(&log));
    let out = dir.path().join("lsl.h5");
    let mut h = RecordingHeader::new("BENCH", "1");
    h.sampling_hz = f64::from(hz);
    let w = RecordingWriter::create(&out, &h, None).unwrap();
    let (tx, rx) = sample_channel((f64::from(hz) * 5.0) as usize);
    let rec = spawn_session_recorder(w, rx, FlushPolicy::default(), None, Some(outlets)).unwrap();
    let t0 = Instant::now();
    t.start(tx).unwrap();
    std::thread::sleep(Duration::from_secs(secs));
    t.stop().unwrap();
    let wall = t0.elapsed().as_secs_f64();
    let stats = rec.finish(true).unwrap();
    let received: u64 = String::from_utf8_lossy(&consumer.wait_with_output().unwrap().stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    let file = et_recording::Recording::open(&out).unwrap();
    let span = match (file.gaze.first(), file.gaze.last()) {
        (Some(a), Some(b)) => (b.system_ts_us - a.system_ts_us) as f64 / 1e6,
        _ => f64::NAN,
    };
    let mut lat = log.lock().unwrap().clone();
    lat.sort_unstable();
    println!(
        "1200 Hz for {secs} s: {} samples recorded, {} pushed, {} received by pylsl ({} lost), {:.1} samples/s of tracker time, {:.1} per wall second",
        stats.counts.gaze,
        lat.len(),
        received,
        stats.counts.gaze as i64 - received as i64,
        lat.len() as f64 / span,
        lat.len() as f64 / wall
    );
    println!(
        "added latency, stamp to LSL push: median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
    // Capacity: the outlet pushed as fast as it takes samples (no consumer).
    let mut o = Outlets::open(
        lsl,
        &Source {
            info: &info,
            participant: "BENCH2",
            screen: &screen,
            clock: Arc::new(et_drivers::MonotonicClock),
        },
    )
    .unwrap();
    let batch: Vec<GazeSample> = (0..1000)
        .map(|k| GazeSample {
            system_ts_us: k,
            device_ts_us: k,
            left: et_drivers::EyeSample::INVALID,
            right: et_drivers::EyeSample::INVALID,
        })
        .collect();
    let t0 = Instant::now();
    let mut n = 0u64;
    while t0.elapsed() < Duration::from_secs(3) {
        o.samples(&batch);
        n += batch.len() as u64;
    }
    println!(
        "outlet capacity, no consumer connected: {:.0} samples/s ({:.2} µs per push)",
        n as f64 / t0.elapsed().as_secs_f64(),
        t0.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
