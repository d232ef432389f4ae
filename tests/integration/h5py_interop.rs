//! A recording written by the runner, read by h5py (another HDF5 implementation's view of the
//! contract): root attributes and field names as DESIGN.md lists them, and the same values
//! our reader returns, sample for sample.

use crate::common::{run, small_study};
use et_recording::Recording;

const SCRIPT: &str = r#"
import json, sys
import h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
out = {"attrs": sorted(f.attrs.keys()), "fields": {}, "len": {}}
for name in ["gaze", "events", "trials", "frames", "validation"]:
    out["fields"][name] = list(f[name].dtype.names)
    out["len"][name] = int(f[name].shape[0])
g = f["gaze"][:]
out["ts"] = [int(v) for v in g["system_ts_us"]]
out["device_ts"] = [int(v) for v in g["device_ts_us"]]
# float32 -> float64 is exact; NaN as null.
out["left_x"] = [None if np.isnan(v) else float(v) for v in g["left_gaze_x"]]
out["right_pupil"] = [None if np.isnan(v) else float(v) for v in g["right_pupil_mm"]]
out["right_valid"] = [int(v) for v in g["right_gaze_valid"]]
out["complete"] = bool(f.attrs["complete"])
out["format"] = f.attrs["format"] if isinstance(f.attrs["format"], str) else f.attrs["format"].decode()
out["format_version"] = int(f.attrs["format_version"])
out["trial_stimuli"] = [s.decode() for s in f["trials"]["stimulus_id"]]
out["event_kinds"] = [s.decode() for s in f["events"]["kind"]]
out["manifest_len"] = len(f["stimuli"].attrs["manifest"])
print(json.dumps(out))
"#;

fn field_list(prefix: &str) -> Vec<String> {
    [
        "gaze_x",
        "gaze_y",
        "gaze_valid",
        "pupil_mm",
        "pupil_valid",
        "origin_x",
        "origin_y",
        "origin_z",
        "origin_valid",
        "gaze3d_x",
        "gaze3d_y",
        "gaze3d_z",
    ]
    .iter()
    .map(|f| format!("{prefix}_{f}"))
    .collect()
}

#[test]
fn h5py_reads_what_the_runner_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 500\nfixation_ms = 200\niti_ms = 100\n",
    );
    let file = dir.path().join("p.h5");
    crate::common::record_at_full_speed(&cfg, &file);

    let py = crate::common::command("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        py.status.success(),
        "h5py could not read the recording (is h5py installed? run ./scripts/setup.sh): {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();

    // Root attributes named by DESIGN.md.
    let attrs: Vec<&str> = v["attrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for a in [
        "format",
        "format_version",
        "software_version",
        "participant",
        "session",
        "created_utc",
        "tracker_model",
        "tracker_serial",
        "sdk_version",
        "sampling_hz",
        "screen_width_px",
        "screen_height_px",
        "screen_width_mm",
        "screen_height_mm",
        "viewing_distance_mm",
        "stimulus_set",
        "stimulus_set_sha256",
        "complete",
    ] {
        assert!(attrs.contains(&a), "root attribute {a} missing: {attrs:?}");
    }
    assert_eq!(v["format"], "et-suite-recording");
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["complete"], true);

    let names = |d: &str| -> Vec<String> {
        v["fields"][d]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    let mut gaze = vec!["system_ts_us".to_string(), "device_ts_us".to_string()];
    gaze.extend(field_list("left"));
    gaze.extend(field_list("right"));
    assert_eq!(names("gaze"), gaze);
    assert_eq!(names("events"), ["ts_us", "kind", "trial", "text"]);
    assert_eq!(
        names("trials"),
        [
            "trial",
            "stimulus_id",
            "identity",
            "condition",
            "variant",
            "expression",
            "onset_us",
            "offset_us",
            "frames",
            "dropped_frames",
            "image_x",
            "image_y",
            "image_w",
            "image_h",
            "samples_expected",
            "samples_received",
            "samples_valid",
        ]
    );
    assert_eq!(names("frames"), ["ts_us", "trial"]);
    assert_eq!(
        names("validation"),
        [
            "attempt",
            "eye",
            "target_x",
            "target_y",
            "accuracy_deg",
            "precision_rms_deg",
            "precision_sd_deg",
            "data_loss",
            "mean_gaze_x",
            "mean_gaze_y",
            "window_start_us",
            "window_end_us"
        ]
    );

    // Same values through both readers.
    let rec = Recording::open(&file).unwrap();
    assert_eq!(v["len"]["gaze"].as_u64().unwrap() as usize, rec.gaze.len());
    assert_eq!(
        v["len"]["events"].as_u64().unwrap() as usize,
        rec.events.len()
    );
    assert_eq!(
        v["len"]["trials"].as_u64().unwrap() as usize,
        rec.trials.len()
    );
    assert_eq!(
        v["len"]["frames"].as_u64().unwrap() as usize,
        rec.frames.len()
    );
    for (i, s) in rec.gaze.iter().enumerate() {
        assert_eq!(v["ts"][i].as_i64().unwrap(), s.system_ts_us);
        assert_eq!(v["device_ts"][i].as_i64().unwrap(), s.device_ts_us);
        let lx = v["left_x"][i].as_f64();
        assert_eq!(
            lx.map(|x| x as f32),
            if s.left.gaze_x.is_nan() {
                None
            } else {
                Some(s.left.gaze_x)
            },
            "sample {i}"
        );
        let rp = v["right_pupil"][i].as_f64();
        assert_eq!(
            rp.map(|x| x as f32),
            if s.right.pupil_mm.is_nan() {
                None
            } else {
                Some(s.right.pupil_mm)
            }
        );
        assert_eq!(
            v["right_valid"][i].as_u64().unwrap() == 1,
            s.right.gaze_valid
        );
    }
    let stimuli: Vec<&str> = v["trial_stimuli"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    let ours: Vec<&str> = rec.trials.iter().map(|t| t.stimulus_id.as_str()).collect();
    assert_eq!(stimuli, ours);
    assert!(v["event_kinds"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k == "stimulus_onset"));
    assert_eq!(
        v["manifest_len"].as_u64().unwrap() as usize,
        rec.manifest.len()
    );
}

const FOREIGN: &str = r#"
import sys
import h5py, numpy as np
f = h5py.File(sys.argv[1], "w")
for k, v in dict(format="et-suite-recording", software_version="matlab-export 0.1", participant="P99",
                 session="1", created_utc="2026-01-01T00:00:00Z", tracker_model="Tobii Pro X3-120",
                 tracker_serial="X3-1", sdk_version="1.11", stimulus_set="lab set",
                 stimulus_set_sha256="00").items():
    f.attrs[k] = v
f.attrs["format_version"] = 1
f.attrs["sampling_hz"] = 120.0
f.attrs["screen_width_px"] = 1920
f.attrs["screen_height_px"] = 1080
f.attrs["screen_width_mm"] = 531.0
f.attrs["screen_height_mm"] = 299.0
f.attrs["viewing_distance_mm"] = 650.0
f.attrs["complete"] = True
eye = [("gaze_x", "<f4"), ("gaze_y", "<f4"), ("gaze_valid", "u1"), ("pupil_mm", "<f4"), ("pupil_valid", "u1"),
       ("origin_x", "<f4"), ("origin_y", "<f4"), ("origin_z", "<f4"), ("origin_valid", "u1"),
       ("gaze3d_x", "<f4"), ("gaze3d_y", "<f4"), ("gaze3d_z", "<f4")]
gdt = np.dtype([("system_ts_us", "<i8"), ("device_ts_us", "<i8")] + [("left_" + n, t) for n, t in eye] + [("right_" + n, t) for n, t in eye])
g = np.zeros(3, dtype=gdt)
g["system_ts_us"] = [10, 20, 30]
g["left_gaze_x"] = [0.25, np.nan, 0.5]
g["left_gaze_valid"] = [1, 0, 1]
f.create_dataset("gaze", data=g)
vu = h5py.string_dtype("utf-8")
ev = np.array([(10, "note", -1, "Grüße"), (20, "stimulus_onset", 0, "img1")],
              dtype=[("ts_us", "<i8"), ("kind", vu), ("trial", "<i4"), ("text", vu)])
f.create_dataset("events", data=ev)
tr = np.array([(0, b"img1", b"id1", b"WS", b"reconstructed", b"smile", 20, 7000020, 420, 1, 420.0, 0.0, 1080.0, 1080.0)],
              dtype=[("trial", "<i4"), ("stimulus_id", "S40"), ("identity", "S40"), ("condition", "S8"), ("variant", "S20"),
                     ("expression", "S10"), ("onset_us", "<i8"), ("offset_us", "<i8"), ("frames", "<u4"),
                     ("dropped_frames", "<u4"), ("image_x", "<f4"), ("image_y", "<f4"), ("image_w", "<f4"), ("image_h", "<f4")])
f.create_dataset("trials", data=tr)
f.create_dataset("frames", data=np.array([(20, 0)], dtype=[("ts_us", "<i8"), ("trial", "<i4")]))
va = h5py.string_dtype("ascii")
f.create_dataset("validation", data=np.array([(1, "right", 1.0, 2.0, 0.5, 0.1, 0.2, 0.0)],
    dtype=[("attempt", "<i4"), ("eye", va), ("target_x", "<f4"), ("target_y", "<f4"), ("accuracy_deg", "<f4"),
           ("precision_rms_deg", "<f4"), ("precision_sd_deg", "<f4"), ("data_loss", "<f4")]))
f.close()
"#;

#[test]
fn our_reader_accepts_variable_length_and_ascii_strings_from_other_writers() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("foreign.h5");
    let py = crate::common::command("python3")
        .arg("-c")
        .arg(FOREIGN)
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        py.status.success(),
        "h5py failed (run ./scripts/setup.sh): {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let rec = Recording::open(&file).unwrap();
    assert_eq!(rec.header.participant, "P99");
    assert!(rec.header.complete);
    assert_eq!(rec.gaze.len(), 3);
    assert!(rec.gaze[1].left.gaze_x.is_nan() && !rec.gaze[1].left.gaze_valid);
    assert_eq!(rec.events[0].text, "Grüße");
    assert_eq!(rec.events[1].kind, "stimulus_onset");
    assert_eq!(rec.trials[0].stimulus_id, "img1");
    assert_eq!(rec.trials[0].expression, "smile");
    assert_eq!(rec.trials[0].dropped_frames, 1);
    assert_eq!(rec.validation[0].eye, "right");
    // Written without the mean gaze (as files before it): unknown, not 0.
    assert!(rec.validation[0].mean_gaze_x.is_nan() && rec.validation[0].mean_gaze_y.is_nan());
    // Nor the collection window: none, so no samples are drawn for it.
    assert_eq!(
        (
            rec.validation[0].window_start_us,
            rec.validation[0].window_end_us
        ),
        (0, 0)
    );
    let out = run(&["inspect", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Follows the live file until it shows samples and then more than 30 new ones: growth, not a
/// rate, so a busy machine only makes it wait longer (120 s is a hang guard).
const FOLLOW: &str = r#"
import sys, time, json
import h5py
f = h5py.File(sys.argv[1], "r", libver="latest", swmr=True)
d = f["gaze"]
t0 = time.monotonic()
def rows():
    d.refresh()
    return d.shape[0]
a = rows()
while a == 0 and time.monotonic() - t0 < 120:
    time.sleep(0.05)
    a = rows()
b = a
while b <= a + 30 and time.monotonic() - t0 < 120:
    time.sleep(0.05)
    b = rows()
ts = d[max(b - 5, 0):b]["system_ts_us"].tolist()
print(json.dumps({"before": a, "after": b, "tail": ts}))
"#;

#[test]
fn h5py_follows_a_live_recording_and_ctrl_c_closes_it_cleanly() {
    follow_then_signal(libc::SIGINT);
}

#[test]
fn sigterm_closes_a_live_recording_cleanly() {
    follow_then_signal(libc::SIGTERM);
}

fn follow_then_signal(sig: i32) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_study(dir.path(), "");
    let file = dir.path().join("live.h5");
    let child = crate::common::bin()
        .args([
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--headless",
            "--out",
            file.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::common::wait_for_file(&file);
    let py = crate::common::command("python3")
        .arg("-c")
        .arg(FOLLOW)
        .arg(&file)
        .output()
        .expect("python3 runs");
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        py.status.success(),
        "h5py could not follow the live file: {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
    let (before, after) = (v["before"].as_u64().unwrap(), v["after"].as_u64().unwrap());
    assert!(before > 0, "no samples visible to a live reader in 120 s");
    assert!(
        after > before + 30,
        "live reader saw {before} then only {after} samples in 120 s"
    );

    // Ctrl-C: exit status 130, and a file that opens without recovery, marked incomplete.
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rec = Recording::open(&file).unwrap();
    assert!(!rec.header.complete);
    assert!(rec.gaze.len() as u64 >= after);
    assert!(rec
        .events
        .iter()
        .any(|e| e.kind == "note" && e.text.contains("aborted by the operator")));
}
