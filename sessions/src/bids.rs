//! Export to BIDS eye-tracking (BIDS 1.11 "Physiological recordings", peers.md §5): one
//! gzipped, header-less physio TSV per eye with its JSON sidecar, the physio events, and the
//! task events with the screen geometry in `StimulusPresentation`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::json;

use crate::error::{Result, SessionError};
use crate::reader::Recording;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SessionError + '_ {
    move |source| SessionError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_gz(path: &Path, text: &str) -> Result<()> {
    let f = std::fs::File::create(path).map_err(io(path))?;
    let mut gz = GzEncoder::new(f, Compression::default());
    gz.write_all(text.as_bytes()).map_err(io(path))?;
    gz.finish().map_err(io(path))?;
    Ok(())
}

fn write_json(path: &Path, v: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(v).map_err(|e| SessionError::Invalid(e.to_string()))?;
    std::fs::write(path, text + "\n").map_err(io(path))
}

/// BIDS labels allow only letters and digits.
pub fn label(s: &str) -> String {
    let l: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if l.is_empty() {
        "01".into()
    } else {
        l
    }
}

fn na(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "n/a".into()
    }
}

/// Writes the recording as `DIR/sub-<participant>/beh/…`; returns the files written.
pub fn export_bids(rec: &Recording, dir: &Path, task: &str) -> Result<Vec<PathBuf>> {
    let sub = label(&rec.header.participant);
    let task = label(task);
    let beh = dir.join(format!("sub-{sub}")).join("beh");
    std::fs::create_dir_all(&beh).map_err(io(&beh))?;
    let stem = format!("sub-{sub}_task-{task}");
    let mut written = Vec::new();
    let t0 = rec.gaze.first().map_or(0, |s| s.system_ts_us);
    let (w, h) = (
        f64::from(rec.header.screen.width_px),
        f64::from(rec.header.screen.height_px),
    );

    let desc = dir.join("dataset_description.json");
    if !desc.exists() {
        write_json(
            &desc,
            &json!({"Name": "et-suite export", "BIDSVersion": "1.11.0", "DatasetType": "raw",
            "GeneratedBy": [{"Name": "et-suite", "Version": env!("CARGO_PKG_VERSION")}]}),
        )?;
        written.push(desc);
    }
    for (n, eye_name) in [(1, "left"), (2, "right")] {
        let mut tsv = String::with_capacity(rec.gaze.len() * 40);
        for s in &rec.gaze {
            let e = if n == 1 { &s.left } else { &s.right };
            let (x, y, p) = if e.gaze_valid {
                (
                    f64::from(e.gaze_x) * w,
                    f64::from(e.gaze_y) * h,
                    if e.pupil_valid {
                        f64::from(e.pupil_mm)
                    } else {
                        f64::NAN
                    },
                )
            } else {
                (f64::NAN, f64::NAN, f64::NAN)
            };
            tsv.push_str(&format!(
                "{:.3}\t{}\t{}\t{}\n",
                s.system_ts_us as f64 / 1000.0,
                na(x),
                na(y),
                na(p)
            ));
        }
        let base = format!("{stem}_recording-eye{n}_physio");
        let data = beh.join(format!("{base}.tsv.gz"));
        write_gz(&data, &tsv)?;
        written.push(data);
        let side = beh.join(format!("{base}.json"));
        write_json(
            &side,
            &json!({
                "SamplingFrequency": rec.header.sampling_hz,
                "StartTime": 0,
                "Columns": ["timestamp", "x_coordinate", "y_coordinate", "pupil_size"],
                "PhysioType": "eyetrack",
                "RecordedEye": eye_name,
                "SampleCoordinateSystem": "gaze-on-screen",
                "Manufacturer": manufacturer(&rec.header),
                "ManufacturersModelName": rec.header.tracker_model,
                "DeviceSerialNumber": rec.header.tracker_serial,
                "SoftwareVersions": rec.header.software_version,
                "EyeTrackerDistance": rec.header.screen.viewing_distance_mm / 1000.0,
                "timestamp": {"Description": "Tracker system time", "Units": "ms"},
                "x_coordinate": {"Description": "Gaze position on the screen, from the left", "Units": "pixel"},
                "y_coordinate": {"Description": "Gaze position on the screen, from the top", "Units": "pixel"},
                "pupil_size": {"Description": "Pupil diameter", "Units": "mm"},
            }),
        )?;
        written.push(side);
        let mut ev = String::new();
        for e in &rec.events {
            let _ = writeln!(
                ev,
                "{:.3}\tn/a\t{}\t{}",
                e.ts_us as f64 / 1000.0,
                e.kind,
                e.text.replace(['\t', '\n'], " ")
            );
        }
        let evf = beh.join(format!("{stem}_recording-eye{n}_physioevents.tsv.gz"));
        write_gz(&evf, &ev)?;
        written.push(evf);
        let evj = beh.join(format!("{stem}_recording-eye{n}_physioevents.json"));
        write_json(
            &evj,
            &json!({"Columns": ["onset", "duration", "trial_type", "message"], "OnsetSource": "timestamp",
            "Description": "Session events as et-suite recorded them (onset on the tracker clock, ms)"}),
        )?;
        written.push(evj);
    }
    let mut events =
        String::from("onset\tduration\ttrial_type\tstimulus_id\tcondition\tvariant\texpression\n");
    for t in &rec.trials {
        let _ = writeln!(
            events,
            "{:.6}\t{:.6}\t{}_{}\t{}\t{}\t{}\t{}",
            (t.onset_us - t0) as f64 / 1e6,
            (t.offset_us - t.onset_us) as f64 / 1e6,
            t.condition,
            t.expression,
            t.stimulus_id,
            t.condition,
            t.variant,
            t.expression
        );
    }
    let evt = beh.join(format!("{stem}_events.tsv"));
    std::fs::write(&evt, events).map_err(io(&evt))?;
    written.push(evt);
    let s = &rec.header.screen;
    let evj = beh.join(format!("{stem}_events.json"));
    write_json(
        &evj,
        &json!({
            "StimulusPresentation": {
                "ScreenDistance": s.viewing_distance_mm / 1000.0,
                "ScreenOrigin": ["top", "left"],
                "ScreenResolution": [s.width_px, s.height_px],
                "ScreenSize": [s.width_mm / 1000.0, s.height_mm / 1000.0],
                "SoftwareName": "et-suite",
                "SoftwareVersion": env!("CARGO_PKG_VERSION"),
            },
            "onset": {"Description": "Stimulus onset, seconds from the first gaze sample", "Units": "s"},
            "trial_type": {"Description": "condition_expression"},
            "stimulus_id": {"Description": "Stimulus identifier in the stimulus set"},
            "condition": {"Description": "Genetic condition of the person shown (22q, AS, NS, WS)"},
            "variant": {"Description": "reconstructed or expression-manipulated image"},
            "expression": {"Description": "smile or no_smile"},
        }),
    )?;
    written.push(evj);
    Ok(written)
}

/// The sidecar's manufacturer: simulated gaze is never credited to a tracker maker (files
/// written before `tracker_kind` are known by the synthetic tracker's model name).
fn manufacturer(h: &crate::format::RecordingHeader) -> &'static str {
    if h.not_live() == Some("SIMULATED") || h.tracker_model.starts_with("et-suite synthetic") {
        "n/a (simulated gaze: et-suite's synthetic tracker)"
    } else if h.tracker_model.contains("Tobii") {
        "Tobii"
    } else {
        "n/a"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{EventRecord, RecordingHeader, TrialRecord};
    use crate::writer::RecordingWriter;
    use et_drivers::{EyeSample, GazeSample};
    use std::io::Read;

    #[test]
    fn writes_the_bids_files_with_required_fields() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.h5");
        let mut h = RecordingHeader::new("P-03", "1");
        h.sampling_hz = 120.0;
        h.tracker_kind = "synthetic".into();
        let mut w = RecordingWriter::create(&p, &h, None).unwrap();
        let e = EyeSample {
            gaze_x: 0.5,
            gaze_y: 0.25,
            gaze_valid: true,
            pupil_mm: 3.5,
            pupil_valid: true,
            ..EyeSample::INVALID
        };
        w.append_gaze(&[GazeSample {
            system_ts_us: 1_000_000,
            device_ts_us: 0,
            left: e,
            right: EyeSample::INVALID,
        }])
        .unwrap();
        w.append_events(&[EventRecord::new(1_000_000, "stimulus_onset", 0, "WS-01")])
            .unwrap();
        w.append_trials(&[TrialRecord {
            trial: 0,
            stimulus_id: "WS-01".into(),
            identity: "WS".into(),
            condition: "WS".into(),
            variant: "reconstructed".into(),
            expression: "smile".into(),
            onset_us: 1_500_000,
            offset_us: 8_500_000,
            frames: 420,
            dropped_frames: 0,
            image_rect: [0.0; 4],
            samples: Default::default(),
        }])
        .unwrap();
        w.finish(true).unwrap();
        let rec = Recording::open(&p).unwrap();
        let out = dir.path().join("bids");
        export_bids(&rec, &out, "faces").unwrap();
        let beh = out.join("sub-P03/beh");
        let mut text = String::new();
        flate2::read::GzDecoder::new(
            std::fs::File::open(beh.join("sub-P03_task-faces_recording-eye1_physio.tsv.gz"))
                .unwrap(),
        )
        .read_to_string(&mut text)
        .unwrap();
        assert_eq!(text, "1000.000\t960\t270\t3.5\n");
        let mut right = String::new();
        flate2::read::GzDecoder::new(
            std::fs::File::open(beh.join("sub-P03_task-faces_recording-eye2_physio.tsv.gz"))
                .unwrap(),
        )
        .read_to_string(&mut right)
        .unwrap();
        assert_eq!(right, "1000.000\tn/a\tn/a\tn/a\n");
        let side: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(beh.join("sub-P03_task-faces_recording-eye1_physio.json"))
                .unwrap(),
        )
        .unwrap();
        for k in [
            "SamplingFrequency",
            "StartTime",
            "Columns",
            "PhysioType",
            "RecordedEye",
            "SampleCoordinateSystem",
        ] {
            assert!(side.get(k).is_some(), "{k}");
        }
        // Simulated gaze is never credited to a tracker maker.
        assert!(side["Manufacturer"]
            .as_str()
            .unwrap()
            .starts_with("n/a (simulated gaze"));
        let ev: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(beh.join("sub-P03_task-faces_events.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            ev["StimulusPresentation"]["ScreenResolution"],
            json!([1920, 1080])
        );
        let events = std::fs::read_to_string(beh.join("sub-P03_task-faces_events.tsv")).unwrap();
        assert!(events
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("0.500000\t7.000000\tWS_smile"));
        assert!(out.join("dataset_description.json").exists());
    }
}
