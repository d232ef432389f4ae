//! Gaze as BrainVision Core Data Format 1.0 (`.vhdr` header, `.vmrk` markers, `.eeg` data),
//! the format EEG tools read (MNE-Python's `mne.io.read_raw_brainvision`, EEGLAB, FieldTrip,
//! Brainstorm), so gaze can be put beside an EEG recording there (README "Recording with EEG":
//! `mne.preprocessing.realign_raw` on events both recordings share).
//!
//! BrainVision holds regularly sampled data. The samples are placed on the grid of the
//! recording's nominal rate from its first sample: each slot takes the sample stamped within
//! half a period of it, and a slot without one is NaN (a lost sample, never a shifted one). A
//! sample the grid cannot place (two in one slot: a clock that ran fast) is counted and said.
//! Every `/events` row becomes a `Stimulus` marker at the slot of its time, its description
//! `kind; trial N; text` as on the LSL marker stream. Float32 values: gaze in pixels of the
//! recording's screen, pupils in mm, validity 0/1.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{RecordingError, Result};
use crate::reader::Recording;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct BrainVisionExport {
    pub header: PathBuf,
    /// Grid slots written (the data's length in samples).
    pub slots: usize,
    /// Slots without a sample (NaN).
    pub empty_slots: usize,
    /// Samples that found no slot of their own (more than one in a slot).
    pub unplaced: usize,
    pub markers: usize,
}

const CHANNELS: [(&str, &str); 8] = [
    ("left_x", "px"),
    ("left_y", "px"),
    ("right_x", "px"),
    ("right_y", "px"),
    ("left_pupil", "mm"),
    ("right_pupil", "mm"),
    ("left_valid", "bool"),
    ("right_valid", "bool"),
];

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RecordingError + '_ {
    move |source| RecordingError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// BrainVision's escape for a comma inside a marker's description.
fn escape(s: &str) -> String {
    s.replace(',', "\\1").replace(['\r', '\n'], " ")
}

/// Writes `rec` as `vhdr` (which must end in `.vhdr`) with its `.vmrk` and `.eeg` beside it;
/// none of the three may exist.
pub fn write(rec: &Recording, vhdr: &Path) -> Result<BrainVisionExport> {
    if vhdr.extension().and_then(|e| e.to_str()) != Some("vhdr") {
        return Err(RecordingError::Invalid(format!(
            "{}: a BrainVision export is named by its header, NAME.vhdr",
            vhdr.display()
        )));
    }
    let (vmrk, eeg) = (vhdr.with_extension("vmrk"), vhdr.with_extension("eeg"));
    for p in [vhdr, vmrk.as_path(), eeg.as_path()] {
        if p.exists() {
            return Err(RecordingError::AlreadyExists {
                path: p.to_path_buf(),
            });
        }
    }
    let hz = rec.header.sampling_hz;
    if !(hz.is_finite() && hz > 0.0) {
        return Err(RecordingError::Invalid(format!(
            "{}: sampling_hz {hz} is not a rate; BrainVision needs regular samples",
            rec.path.display()
        )));
    }
    let period_us = 1e6 / hz;
    let first = rec.gaze.first().map_or(0, |s| s.system_ts_us);
    let slot_of = |ts: i64| ((ts - first) as f64 / period_us).round();
    let last_slot = rec.gaze.last().map_or(-1.0, |s| slot_of(s.system_ts_us));
    let slots = (last_slot + 1.0).max(0.0) as usize;
    let (w, h) = (
        rec.header.screen.width_px as f32,
        rec.header.screen.height_px as f32,
    );
    let mut data = vec![f32::NAN; slots * CHANNELS.len()];
    let mut filled = vec![false; slots];
    let mut unplaced = 0usize;
    for s in &rec.gaze {
        let k = slot_of(s.system_ts_us);
        let Some(k) = (k >= 0.0 && k < slots as f64).then_some(k as usize) else {
            unplaced += 1;
            continue;
        };
        if std::mem::replace(&mut filled[k], true) {
            unplaced += 1;
            continue;
        }
        let pupil = |e: &et_drivers::EyeSample| if e.pupil_valid { e.pupil_mm } else { f32::NAN };
        let valid = |b: bool| if b { 1.0 } else { 0.0 };
        data[k * CHANNELS.len()..(k + 1) * CHANNELS.len()].copy_from_slice(&[
            s.left.gaze_x * w,
            s.left.gaze_y * h,
            s.right.gaze_x * w,
            s.right.gaze_y * h,
            pupil(&s.left),
            pupil(&s.right),
            valid(s.left.gaze_valid),
            valid(s.right.gaze_valid),
        ]);
    }
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut head = format!(
        "Brain Vision Data Exchange Header File Version 1.0\n\
         ; Written by et-suite {} from {}\n\
         ; First slot: tracker time {first} us; slot k is at {first} + k * {period_us} us\n\
         ; Gaze in px of a {}x{} screen, pupils in mm, validity 0/1; NaN: no sample\n\n\
         [Common Infos]\nCodepage=UTF-8\nDataFile={}\nMarkerFile={}\nDataFormat=BINARY\n\
         DataOrientation=MULTIPLEXED\nNumberOfChannels={}\n\
         ; Sampling interval in microseconds\nSamplingInterval={period_us}\n\n\
         [Binary Infos]\nBinaryFormat=IEEE_FLOAT_32\n\n[Channel Infos]\n\
         ; Each entry: Ch<Channel number>=<Name>,<Reference channel name>,<Resolution in \"Unit\">,<Unit>\n",
        env!("CARGO_PKG_VERSION"),
        rec.path.display(),
        w,
        h,
        name(&eeg),
        name(&vmrk),
        CHANNELS.len(),
    );
    for (i, (label, unit)) in CHANNELS.iter().enumerate() {
        head.push_str(&format!("Ch{}={label},,1,{unit}\n", i + 1));
    }
    let mut marks = format!(
        "Brain Vision Data Exchange Marker File, Version 1.0\n\n[Common Infos]\nCodepage=UTF-8\nDataFile={}\n\n[Marker Infos]\n\
         ; Each entry: Mk<Marker number>=<Type>,<Description>,<Position in data points>,<Size in data points>,<Channel number (0 = marker is related to all channels)>\n\
         Mk1=New Segment,,1,1,0\n",
        name(&eeg)
    );
    let mut markers = 0usize;
    for e in &rec.events {
        let k = slot_of(e.ts_us);
        if !(k >= 0.0 && k < slots as f64) {
            continue;
        }
        markers += 1;
        let text = e.as_marker();
        marks.push_str(&format!(
            "Mk{}=Stimulus,{},{},1,0\n",
            markers + 1,
            escape(&text),
            k as usize + 1
        ));
    }
    let mut bytes = Vec::with_capacity(data.len() * 4);
    for v in &data {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    let create = |p: &Path| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
            .map_err(io(p))
    };
    create(&eeg)?.write_all(&bytes).map_err(io(&eeg))?;
    create(&vmrk)?
        .write_all(marks.as_bytes())
        .map_err(io(&vmrk))?;
    create(vhdr)?.write_all(head.as_bytes()).map_err(io(vhdr))?;
    Ok(BrainVisionExport {
        header: vhdr.to_path_buf(),
        slots,
        empty_slots: filled.iter().filter(|f| !**f).count(),
        unplaced,
        markers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{EventRecord, RecordingHeader};
    use et_drivers::{EyeSample, GazeSample};

    fn sample(ts: i64, x: f32) -> GazeSample {
        let eye = EyeSample {
            gaze_x: x,
            gaze_y: 0.5,
            gaze_valid: true,
            pupil_mm: 3.0,
            pupil_valid: true,
            ..EyeSample::INVALID
        };
        GazeSample {
            system_ts_us: ts,
            device_ts_us: ts,
            left: eye,
            right: eye,
        }
    }

    #[test]
    fn samples_go_on_the_grid_with_a_lost_one_as_nan_and_events_as_markers() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = RecordingHeader::new("P01", "1");
        h.sampling_hz = 100.0;
        // 10 ms apart, the third lost, a little jitter.
        let gaze = vec![
            sample(1_000_000, 0.1),
            sample(1_010_300, 0.2),
            sample(1_029_800, 0.4),
        ];
        let mut rec = Recording::in_memory(dir.path().join("r.h5"), h, gaze, Vec::new());
        rec.events = vec![
            EventRecord::new(1_010_000, "stimulus_onset", 0, "face, smiling"),
            EventRecord::new(5_000_000, "note", -1, "after the data"),
        ];
        let vhdr = dir.path().join("gaze.vhdr");
        let out = write(&rec, &vhdr).unwrap();
        assert_eq!(
            (out.slots, out.empty_slots, out.unplaced, out.markers),
            (4, 1, 0, 1)
        );
        let bytes = std::fs::read(dir.path().join("gaze.eeg")).unwrap();
        assert_eq!(bytes.len(), 4 * 8 * 4);
        let v: Vec<f32> = bytes
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let w = rec.header.screen.width_px as f32;
        assert_eq!(v[0], 0.1 * w);
        assert_eq!(v[8], 0.2 * w);
        assert!(v[16..24].iter().all(|x| x.is_nan()), "the lost sample");
        assert_eq!(v[24], 0.4 * w);
        assert_eq!(v[24 + 6], 1.0);
        let head = std::fs::read_to_string(&vhdr).unwrap();
        assert!(head.contains("SamplingInterval=10000\n"), "{head}");
        assert!(head.contains("DataFile=gaze.eeg") && head.contains("Ch8=right_valid,,1,bool"));
        let marks = std::fs::read_to_string(dir.path().join("gaze.vmrk")).unwrap();
        assert!(
            marks.contains("Mk2=Stimulus,stimulus_onset; trial 0; face\\1 smiling,2,1,0\n"),
            "{marks}"
        );
        // Never overwritten.
        assert!(matches!(
            write(&rec, &vhdr),
            Err(RecordingError::AlreadyExists { .. })
        ));
    }
}
