//! Export to BIDS eye-tracking (BIDS 1.11 "Physiological recordings", peers.md §5): one
//! gzipped, header-less physio TSV per eye with its JSON sidecar, the physio events, and the
//! task events with the screen geometry in `StimulusPresentation`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::json;

use crate::error::{RecordingError, Result};
use crate::reader::Recording;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RecordingError + '_ {
    move |source| RecordingError::Io {
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
    let text =
        serde_json::to_string_pretty(v).map_err(|e| RecordingError::Invalid(e.to_string()))?;
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

/// A value in px to 0.001 px, without the float32 noise of the stored normalised position
/// (324 px, not 324.0000057220459); "n/a" when missing.
fn px(v: f64) -> String {
    if v.is_finite() {
        let s = format!("{v:.3}");
        match s.trim_end_matches('0').trim_end_matches('.') {
            "-0" => "0".into(),
            t => t.to_string(),
        }
    } else {
        "n/a".into()
    }
}

/// A stored float32 as written (3.36 mm, not 3.359999895095825); "n/a" when missing.
fn short(v: Option<f32>) -> String {
    v.filter(|v| v.is_finite())
        .map_or_else(|| "n/a".into(), |v| format!("{v}"))
}

/// A text cell, "n/a" when empty (BIDS marks missing values so).
fn text_or_na(v: &str) -> &str {
    if v.is_empty() {
        "n/a"
    } else {
        v
    }
}

/// mm in metres, rounded to 0.1 µm so the JSON says 0.2956 and not 0.29560000000000003.
fn metres(mm: f64) -> f64 {
    (mm * 1e4).round() / 1e7
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
                    e.pupil_valid.then_some(e.pupil_mm),
                )
            } else {
                (f64::NAN, f64::NAN, None)
            };
            let _ = writeln!(
                tsv,
                "{:.3}\t{}\t{}\t{}",
                s.system_ts_us as f64 / 1000.0,
                px(x),
                px(y),
                short(p)
            );
        }
        let base = format!("{stem}_recording-eye{n}_physio");
        let data = beh.join(format!("{base}.tsv.gz"));
        write_gz(&data, &tsv)?;
        written.push(data);
        let side = beh.join(format!("{base}.json"));
        let mut sidecar = json!({
                "SamplingFrequency": rec.header.sampling_hz,
                "StartTime": 0,
                "Columns": ["timestamp", "x_coordinate", "y_coordinate", "pupil_size"],
                "PhysioType": "eyetrack",
                "RecordedEye": eye_name,
                "SampleCoordinateSystem": "gaze-on-screen",
                "Manufacturer": manufacturer(&rec.header),
                "ManufacturersModelName": rec.header.tracker_model,
                "SoftwareVersions": software_versions(&rec.header),
                "EyeTrackerDistance": metres(rec.header.screen.viewing_distance_mm),
                "timestamp": {"Description": "Tracker system time", "Units": "ms"},
                "x_coordinate": {"Description": "Gaze position on the screen, from the left", "Units": "pixel"},
                "y_coordinate": {"Description": "Gaze position on the screen, from the top", "Units": "pixel"},
                "pupil_size": {"Description": "Pupil diameter", "Units": "mm"},
        });
        // A serial is given only where the recording knows it (imports do not).
        if !rec.header.tracker_serial.is_empty() {
            sidecar["DeviceSerialNumber"] = json!(rec.header.tracker_serial);
        }
        write_json(&side, &sidecar)?;
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
    // The study's columns (condition, variant, expression) only where its trials have them:
    // an import's media are described as what they are, not as faces of a syndrome.
    let design = rec.trials.iter().any(|t| !t.expression.is_empty());
    let mut events = String::from("onset\tduration\ttrial_type\tstimulus_id");
    if design {
        events.push_str("\tcondition\tvariant\texpression");
    }
    events.push('\n');
    for t in &rec.trials {
        let trial_type = if design {
            format!("{}_{}", text_or_na(&t.condition), text_or_na(&t.expression))
        } else {
            text_or_na(&t.stimulus_id).to_string()
        };
        let _ = write!(
            events,
            "{:.6}\t{:.6}\t{trial_type}\t{}",
            (t.onset_us - t0) as f64 / 1e6,
            (t.offset_us - t.onset_us) as f64 / 1e6,
            text_or_na(&t.stimulus_id),
        );
        if design {
            let _ = write!(
                events,
                "\t{}\t{}\t{}",
                text_or_na(&t.condition),
                text_or_na(&t.variant),
                text_or_na(&t.expression)
            );
        }
        events.push('\n');
    }
    let evt = beh.join(format!("{stem}_events.tsv"));
    std::fs::write(&evt, events).map_err(io(&evt))?;
    written.push(evt);
    let s = &rec.header.screen;
    let evj = beh.join(format!("{stem}_events.json"));
    let mut columns = json!({
        "StimulusPresentation": {
            "ScreenDistance": metres(s.viewing_distance_mm),
            "ScreenOrigin": ["top", "left"],
            "ScreenResolution": [s.width_px, s.height_px],
            "ScreenSize": [metres(s.width_mm), metres(s.height_mm)],
            "SoftwareName": "et-suite",
            "SoftwareVersion": env!("CARGO_PKG_VERSION"),
        },
        "onset": {"Description": "Stimulus onset, seconds from the first gaze sample", "Units": "s"},
    });
    if design {
        columns["trial_type"] = json!({"Description": "condition_expression"});
        columns["stimulus_id"] = json!({"Description": "Stimulus identifier in the stimulus set"});
        columns["condition"] =
            json!({"Description": "Genetic condition of the person shown (22q, AS, NS, WS)"});
        columns["variant"] =
            json!({"Description": "reconstructed or expression-manipulated image"});
        columns["expression"] = json!({"Description": "smile or no_smile"});
    } else {
        columns["trial_type"] = json!({"Description": "The stimulus shown (as stimulus_id)"});
        columns["stimulus_id"] =
            json!({"Description": "Stimulus or media name as the recording gives it"});
    }
    write_json(&evj, &columns)?;
    written.push(evj);
    Ok(written)
}

/// The software that recorded the gaze: et-suite, or for an import the exporting software
/// and the et-suite that imported it.
fn software_versions(h: &crate::format::RecordingHeader) -> String {
    if h.source_software.is_empty() {
        h.software_version.clone()
    } else {
        format!("{} (imported by {})", h.source_software, h.software_version)
    }
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

    fn gunzip(path: &Path) -> String {
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    /// An import: media without the study's design, no serial, gaze in whole px stored as
    /// normalised float32, a screen size in mm that is not a round number of metres.
    #[test]
    fn an_import_is_exported_as_what_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.h5");
        let mut h = RecordingHeader::new("P10", "Recording1");
        h.sampling_hz = 120.0;
        h.tracker_kind = "imported".into();
        h.tracker_model = "imported (TobiiProLab)".into();
        h.source_software = "Tobii Pro Lab 1.145.28180".into();
        h.screen.width_mm = 526.2;
        h.screen.height_mm = 295.6;
        let mut w = RecordingWriter::create(&p, &h, None).unwrap();
        let e = EyeSample {
            gaze_x: 324.0 / 1920.0,
            gaze_y: 1070.0 / 1080.0,
            gaze_valid: true,
            pupil_mm: 3.36,
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
        w.append_trials(&[TrialRecord {
            trial: 0,
            stimulus_id: "babelia".into(),
            identity: String::new(),
            condition: String::new(),
            variant: String::new(),
            expression: String::new(),
            onset_us: 1_000_000,
            offset_us: 3_000_000,
            frames: 0,
            dropped_frames: 0,
            image_rect: [0.0; 4],
            samples: Default::default(),
        }])
        .unwrap();
        w.finish(true).unwrap();
        let rec = Recording::open(&p).unwrap();
        let out = dir.path().join("bids");
        export_bids(&rec, &out, "faces").unwrap();
        let beh = out.join("sub-P10/beh");
        assert_eq!(
            gunzip(&beh.join("sub-P10_task-faces_recording-eye1_physio.tsv.gz")),
            "1000.000\t324\t1070\t3.36\n"
        );
        let side: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(beh.join("sub-P10_task-faces_recording-eye1_physio.json"))
                .unwrap(),
        )
        .unwrap();
        assert!(side.get("DeviceSerialNumber").is_none(), "{side}");
        assert_eq!(
            side["SoftwareVersions"],
            json!(format!(
                "Tobii Pro Lab 1.145.28180 (imported by {})",
                rec.header.software_version
            ))
        );
        let events = std::fs::read_to_string(beh.join("sub-P10_task-faces_events.tsv")).unwrap();
        assert_eq!(
            events,
            "onset\tduration\ttrial_type\tstimulus_id\n0.000000\t2.000000\tbabelia\tbabelia\n"
        );
        let ev: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(beh.join("sub-P10_task-faces_events.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            ev["StimulusPresentation"]["ScreenSize"],
            json!([0.5262, 0.2956])
        );
        assert!(
            ev.get("condition").is_none() && ev.get("expression").is_none(),
            "{ev}"
        );
    }

    #[test]
    fn missing_and_whole_values_are_written_plainly() {
        assert_eq!(px(f64::NAN), "n/a");
        assert_eq!(px(0.0), "0");
        assert_eq!(px(-0.0001), "0");
        assert_eq!(px(959.5), "959.5");
        assert_eq!(short(None), "n/a");
        assert_eq!(short(Some(f32::NAN)), "n/a");
        assert_eq!(text_or_na(""), "n/a");
    }
}
