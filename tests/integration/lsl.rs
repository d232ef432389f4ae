//! The Lab Streaming Layer with a real LSL client on the other side: pylsl (PyPI, installed by
//! `scripts/setup_lsl.sh` for the tests only) plays LabRecorder and PsychoPy
//! (`lsl_peer.py`). LSL finds peers by multicast and broadcast, so every test that opens a
//! stream runs inside a network namespace of its own holding only the loopback interface, with
//! an `lsl_api.cfg` that keeps LSL on this machine: no packet leaves it. Where no namespace can
//! be made (not root, no `unshare`), those tests skip with a printed note; they never run on
//! the host's network. No wall-clock bound is asserted.

use std::path::{Path, PathBuf};
use std::process::Output;

use et_recording::Recording;

use crate::common::*;

const LSL_API_CFG: &str = "[ports]\nIPv6 = disable\n[multicast]\nResolveScope = machine\n[lab]\nKnownPeers = {127.0.0.1}\n";

/// Whether a network namespace with only loopback can be made here.
fn namespace_available() -> bool {
    command("unshare")
        .args(["--net", "sh", "-c", "ip link set lo up"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// pylsl's liblsl, which et-suite loads (scripts/setup_lsl.sh installs pylsl).
fn pylsl_liblsl() -> PathBuf {
    let o = command("python3")
        .args([
            "-c",
            "import os, pylsl; print(os.path.join(os.path.dirname(pylsl.__file__), 'lib', 'liblsl.so'))",
        ])
        .output()
        .expect("python3 runs");
    assert!(
        o.status.success(),
        "pylsl is not importable (scripts/setup_lsl.sh installs it): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
}

/// Runs `args` inside a fresh network namespace (loopback only) with LSL kept on this machine;
/// `None` (after a printed note) where no namespace can be made.
fn in_namespace(dir: &Path, args: &[String]) -> Option<Output> {
    if !namespace_available() {
        eprintln!("note: LSL test skipped: no network namespace can be made here (needs root and unshare); LSL is never tested on the host's network");
        return None;
    }
    let cfg = dir.join("lsl_api.cfg");
    std::fs::write(&cfg, LSL_API_CFG).unwrap();
    let mut c = command("unshare");
    c.args([
        "--net",
        "sh",
        "-c",
        "ip link set lo up && exec \"$@\"",
        "sh",
    ])
    .args(args)
    .env("LSLAPICFG", &cfg)
    .env("ET_LSL_LIB", pylsl_liblsl())
    .env("ET_LOG", "warn");
    Some(c.output().expect("unshare runs"))
}

/// What the peer saw (lsl_peer.py's OUT.json).
#[derive(serde::Deserialize)]
struct Seen {
    gaze_ts: Vec<f64>,
    /// Channel values; null where the value is NaN.
    gaze: Vec<Vec<Option<f32>>>,
    markers: Vec<(String, f64)>,
    /// The peer's markers: text, LSL time pushed, the trial whose onset it had seen.
    pushed: Vec<(String, f64, i32)>,
    restarted: Option<f64>,
    gaze_info: GazeInfo,
    returncode: i32,
}

#[derive(serde::Deserialize)]
struct GazeInfo {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    source_id: String,
    rate: f64,
    channels: Vec<std::collections::BTreeMap<String, String>>,
    model: String,
    width_px: String,
}

/// The peer around an et-suite command; what it saw.
fn with_peer(dir: &Path, et_suite_args: &[&str]) -> Option<(Seen, Output)> {
    let out = dir.join("peer.json");
    let mut args = vec![
        "python3".to_string(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/integration/lsl_peer.py").to_string(),
        s(&out).to_string(),
        "--".to_string(),
        env!("CARGO_BIN_EXE_et-suite").to_string(),
    ];
    args.extend(et_suite_args.iter().map(|a| a.to_string()));
    let o = in_namespace(dir, &args)?;
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| {
        panic!(
            "the peer wrote nothing ({e}): {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    Some((serde_json::from_str(&text).unwrap(), o))
}

/// The LSL time the recording's clock pairs give a tracker time stamp (the pair nearest in
/// time; on one machine they differ by microseconds).
fn mapped(rec: &Recording, ts_us: i64) -> f64 {
    let pair = rec
        .lsl_clock
        .iter()
        .filter(|p| p.stream.is_empty())
        .min_by_key(|p| (p.ts_us - ts_us).abs())
        .expect("a clock pair");
    ts_us as f64 / 1e6 + pair.offset_s
}

/// `run --lsl --lsl-wait --lsl-markers --speed 1`: every recorded sample reaches the consumer
/// exactly once, in order, stamped within 1 ms of its tracker time mapped by the stored clock
/// pairs; every event goes out as a marker; the peer's markers land in their trials at their
/// times; the peer's stream going away and coming back is recorded as such.
#[test]
fn a_session_streams_every_sample_once_and_records_outside_markers() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 250\nfixation_ms = 50\niti_ms = 50\n[calibration]\nenabled = false\n",
    );
    let rec_path = dir.path().join("rec.h5");
    let Some((seen, o)) = with_peer(
        dir.path(),
        &[
            "run",
            "--headless",
            "--config",
            s(&cfg),
            "--speed",
            "1",
            "--out",
            s(&rec_path),
            "--lsl",
            "--lsl-wait",
            "--lsl-markers",
            "peer-markers",
        ],
    ) else {
        return;
    };
    let log = String::from_utf8_lossy(&o.stderr);
    assert_eq!(seen.returncode, 0, "{log}");
    let rec = Recording::open(&rec_path).unwrap();
    assert!(rec.header.complete);

    // The stream's description.
    let g = &seen.gaze_info;
    assert_eq!(
        (g.name.as_str(), g.kind.as_str()),
        ("et-suite-gaze", "Gaze")
    );
    assert_eq!(g.rate, rec.header.sampling_hz);
    assert!(g.source_id.contains(&rec.header.tracker_serial) && g.source_id.contains("P01"));
    assert_eq!(g.model, rec.header.tracker_model);
    assert_eq!(g.width_px, rec.header.screen.width_px.to_string());
    let labels: Vec<&str> = g.channels.iter().map(|c| c["label"].as_str()).collect();
    assert_eq!(
        labels,
        [
            "left_x",
            "left_y",
            "left_valid",
            "left_pupil",
            "right_x",
            "right_y",
            "right_valid",
            "right_pupil"
        ]
    );
    assert!(g
        .channels
        .iter()
        .all(|c| !c["unit"].is_empty() && !c["eye"].is_empty()));

    // Every sample once, in order, with its values and its own time.
    assert!(!rec.gaze.is_empty());
    assert_eq!(
        seen.gaze.len(),
        rec.gaze.len(),
        "samples streamed vs recorded"
    );
    for (k, (s, (ts, v))) in rec
        .gaze
        .iter()
        .zip(seen.gaze_ts.iter().zip(&seen.gaze))
        .enumerate()
    {
        let want = mapped(&rec, s.system_ts_us);
        assert!(
            (ts - want).abs() < 1e-3,
            "sample {k}: LSL stamp {ts} s, tracker time mapped {want} s"
        );
        let same = |a: Option<f32>, b: f32| a.map_or(b.is_nan(), |a| a.to_bits() == b.to_bits());
        assert!(
            same(v[0], s.left.gaze_x) && same(v[5], s.right.gaze_y),
            "sample {k}"
        );
        assert_eq!(v[2] == Some(1.0), s.left.gaze_valid, "sample {k}");
    }
    assert!(rec.lsl_clock.iter().any(|p| p.stream.is_empty()));
    assert!(rec
        .lsl_clock
        .iter()
        .any(|p| p.stream == "peer-markers" && p.uncertainty_s.is_finite()));

    // Every event of the file went out as a marker (the peer's own came in, not out).
    let events: Vec<_> = rec
        .events
        .iter()
        .filter(|e| e.kind != "lsl_marker")
        .collect();
    assert_eq!(seen.markers.len(), events.len(), "markers vs /events rows");
    for (e, (text, ts)) in events.iter().zip(&seen.markers) {
        assert_eq!(text, &e.as_marker());
        assert!((ts - mapped(&rec, e.ts_us)).abs() < 1e-3, "{text}");
    }

    // The peer's markers: in the trial whose stimulus was on, at the time they were pushed.
    let peer: Vec<_> = rec
        .events
        .iter()
        .filter(|e| e.kind == "lsl_marker")
        .collect();
    assert_eq!(peer.len(), 2, "{:?}", rec.events);
    let span = |trial: i32| {
        let at = |kind: &str| {
            rec.events
                .iter()
                .find(|e| e.kind == kind && e.trial == trial)
                .map(|e| e.ts_us)
                .unwrap()
        };
        (at("trial_start"), at("stimulus_offset"))
    };
    for (e, (text, pushed, _)) in peer.iter().zip(&seen.pushed) {
        assert_eq!(&e.text, text);
        assert!((mapped(&rec, e.ts_us) - pushed).abs() < 1e-3, "{text}");
        // In the trial under way at its time (none between trials).
        let under_way = rec
            .trials
            .iter()
            .map(|t| t.trial)
            .find(|&t| (span(t).0..span(t).1).contains(&e.ts_us))
            .unwrap_or(-1);
        assert_eq!(e.trial, under_way, "{text} at {}", e.ts_us);
    }
    // Its stream went away and came back, between the two markers.
    let at = |kind: &str| rec.events.iter().position(|e| e.kind == kind);
    let (lost, back) = (at("lsl_stream_lost"), at("lsl_stream_back"));
    assert!(seen.restarted.is_some());
    assert!(lost.is_some() && back.is_some(), "{:?}", rec.events);
    let (lost, back) = (
        rec.events[lost.unwrap()].ts_us,
        rec.events[back.unwrap()].ts_us,
    );
    assert!(peer[0].ts_us < lost && lost < back && back < peer[1].ts_us);

    // The README's recipe: the XDF that LabRecorder would have written, put on the
    // recording's time axis by scripts/align_xdf.py.
    let aligned = dir.path().join("aligned");
    let o = command("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/align_xdf.py"))
        .args([s(&rec_path), s(&dir.path().join("peer.xdf")), s(&aligned)])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(said.contains("synchronisation:"), "{said}");
    let column = |file: &str| -> Vec<i64> {
        let text = std::fs::read_to_string(aligned.join(file)).unwrap();
        text.lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect()
    };
    let gaze_us = column("et-suite-gaze.csv");
    assert_eq!(gaze_us.len(), rec.gaze.len());
    for (a, s) in gaze_us.iter().zip(&rec.gaze) {
        assert!(
            (a - s.system_ts_us).abs() <= 1000,
            "{a} vs {}",
            s.system_ts_us
        );
    }
    let marker_us = column("et-suite-markers.csv");
    for (a, e) in marker_us.iter().zip(&events) {
        assert!((a - e.ts_us).abs() <= 1000, "{a} vs {e:?}");
    }
}

/// `replay --lsl --lsl-wait` streams a recording again, every sample once and in order.
#[test]
fn a_replay_streams_the_recording_again() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 100\nfixation_ms = 50\niti_ms = 50\n[calibration]\nenabled = false\n",
    );
    let src = dir.path().join("src.h5");
    record_at_full_speed(&cfg, &src);
    let out = dir.path().join("again.h5");
    let Some((seen, o)) = with_peer(
        dir.path(),
        &["replay", s(&src), "--out", s(&out), "--lsl", "--lsl-wait"],
    ) else {
        return;
    };
    assert_eq!(seen.returncode, 0, "{}", String::from_utf8_lossy(&o.stderr));
    let rec = Recording::open(&out).unwrap();
    assert_eq!(seen.gaze.len(), rec.gaze.len());
    assert!(seen.gaze_ts.windows(2).all(|w| w[0] < w[1]));
    for (s, ts) in rec.gaze.iter().zip(&seen.gaze_ts) {
        assert!((ts - mapped(&rec, s.system_ts_us)).abs() < 1e-3);
    }
}

/// Refusals come before the recording exists: LSL on an accelerated clock; a marker stream
/// nobody sends; no liblsl at all (naming how to install it).
#[test]
fn lsl_that_cannot_work_is_refused_before_the_file_exists() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 100\nfixation_ms = 50\niti_ms = 50\n",
    );
    let out = dir.path().join("r.h5");
    // Accelerated: refused before liblsl is even looked for.
    let o = run_at_full_speed(&cfg, &out, &["--lsl"]);
    assert_clean_error(&o, "real time");
    assert!(!out.exists());
    // No liblsl.
    let o = bin()
        .args([
            "run",
            "--headless",
            "--config",
            s(&cfg),
            "--out",
            s(&out),
            "--lsl",
        ])
        .env("ET_LSL_LIB", dir.path().join("missing/liblsl.so"))
        .output()
        .unwrap();
    assert_clean_error(&o, "pip install pylsl");
    assert!(!out.exists());
    // A marker stream that is not there.
    let args: Vec<String> = [
        env!("CARGO_BIN_EXE_et-suite"),
        "run",
        "--headless",
        "--config",
        s(&cfg),
        "--out",
        s(&out),
        "--lsl-markers",
        "nobody-sends-this",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    let Some(o) = in_namespace(dir.path(), &args) else {
        return;
    };
    assert_clean_error(&o, "nobody-sends-this");
    assert!(!out.exists());
    // Two streams of the type asked for: refused, naming both. The senders live until
    // et-suite has answered; it starts once they are up (a file says so).
    let ready = dir.path().join("ready");
    let two = format!(
        "import pylsl, time\n\
         a = pylsl.StreamOutlet(pylsl.StreamInfo('trig-a', 'Triggers', 1, 0, 'string', 'sa'))\n\
         b = pylsl.StreamOutlet(pylsl.StreamInfo('trig-b', 'Triggers', 1, 0, 'string', 'sb'))\n\
         open('{}', 'w').close()\n\
         time.sleep(600)\n",
        s(&ready)
    );
    let script = format!(
        "python3 -c \"$0\" & p=$!; while [ ! -e '{}' ]; do sleep 0.1; done; \"$@\"; rc=$?; kill $p; exit $rc",
        s(&ready)
    );
    let mut args: Vec<String> = vec!["sh".into(), "-c".into(), script, two];
    args.extend(
        [
            env!("CARGO_BIN_EXE_et-suite"),
            "run",
            "--headless",
            "--config",
            s(&cfg),
            "--out",
            s(&out),
            "--lsl-markers",
            "Triggers",
        ]
        .iter()
        .map(|a| a.to_string()),
    );
    let o = in_namespace(dir.path(), &args).unwrap();
    assert_clean_error(&o, "2 LSL streams answer");
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(said.contains("trig-a") && said.contains("trig-b"), "{said}");
    assert!(!out.exists());
}
