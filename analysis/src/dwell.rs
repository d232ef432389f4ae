//! Sample-based dwell time: how long gaze was inside each AOI during each stimulus.
//!
//! A sample counts when its time stamp lies in [onset, offset) and it has valid gaze (the mean
//! of both eyes when both are valid, else the valid one). Each counted sample contributes one
//! nominal sample period (1 / sampling rate), so a dropped or invalid sample contributes
//! nothing rather than stretching its neighbour.

use et_drivers::GazeSample;
use et_recording::{Recording, TrialRecord};
use et_stimuli::{Aoi, StimulusSet};

use crate::geometry::{display_to_screen, screen_to_image};

#[derive(Debug, Clone, PartialEq)]
pub struct DwellRow {
    pub participant: String,
    pub trial: i32,
    pub stimulus_id: String,
    pub identity: String,
    pub condition: String,
    pub variant: String,
    pub expression: String,
    pub aoi: String,
    /// Time with gaze inside the AOI (ms).
    pub dwell_ms: f64,
    /// Time with valid gaze anywhere (ms).
    pub valid_ms: f64,
    /// Stimulus duration (ms).
    pub trial_ms: f64,
}

impl DwellRow {
    /// Dwell as a share of the stimulus duration.
    pub fn proportion(&self) -> f64 {
        if self.trial_ms > 0.0 {
            self.dwell_ms / self.trial_ms
        } else {
            f64::NAN
        }
    }
}

/// Samples with onset ≤ ts < offset (gaze is sorted by time).
pub(crate) fn window(gaze: &[GazeSample], onset: i64, offset: i64) -> &[GazeSample] {
    let a = gaze.partition_point(|s| s.system_ts_us < onset);
    let b = gaze.partition_point(|s| s.system_ts_us < offset);
    &gaze[a..b.max(a)]
}

/// Samples mapped to the image before the AOIs are tested on them: a few pages, in cache.
const CHUNK: usize = 512;

/// Dwell rows of one trial, one per AOI that applies to its stimulus: one pass over the
/// trial's samples, each mapped to the image once and tested against every AOI.
pub fn trial_dwell(rec: &Recording, set: &StimulusSet, trial: &TrialRecord) -> Vec<DwellRow> {
    let Some(stim) = set.stimulus(&trial.stimulus_id) else {
        return Vec::new();
    };
    let period_ms = 1000.0 / rec.header.sampling_hz.max(1e-9);
    let (sw, sh) = (rec.header.screen.width_px, rec.header.screen.height_px);
    let aois: Vec<&Aoi> = set.aois_for(stim).collect();
    let mut hits = vec![0usize; aois.len()];
    let mut valid = 0usize;
    // The valid samples' image positions a chunk at a time, then each AOI over the chunk.
    let (mut xs, mut ys) = (Vec::with_capacity(CHUNK), Vec::with_capacity(CHUNK));
    for chunk in window(&rec.gaze, trial.onset_us, trial.offset_us).chunks(CHUNK) {
        xs.clear();
        ys.clear();
        for (x, y) in chunk.iter().filter_map(GazeSample::mean_gaze) {
            let (sx, sy) = display_to_screen(f64::from(x), f64::from(y), sw, sh);
            let (ix, iy) =
                screen_to_image(sx, sy, trial.image_rect, set.image_width, set.image_height);
            xs.push(ix);
            ys.push(iy);
        }
        valid += xs.len();
        for (h, aoi) in hits.iter_mut().zip(&aois) {
            *h += aoi.count_inside(&xs, &ys);
        }
    }
    let valid_ms = valid as f64 * period_ms;
    aois.iter()
        .zip(hits)
        .map(|(aoi, hits)| DwellRow {
            participant: rec.header.participant.clone(),
            trial: trial.trial,
            stimulus_id: trial.stimulus_id.clone(),
            identity: trial.identity.clone(),
            condition: trial.condition.clone(),
            variant: trial.variant.clone(),
            expression: trial.expression.clone(),
            aoi: aoi.name.clone(),
            dwell_ms: hits as f64 * period_ms,
            valid_ms,
            trial_ms: (trial.offset_us - trial.onset_us) as f64 / 1000.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use et_drivers::{EyeSample, ScreenGeometry};
    use et_recording::RecordingHeader;

    fn sample(ts: i64, x: f32, y: f32) -> GazeSample {
        let mut e = EyeSample::INVALID;
        e.gaze_x = x;
        e.gaze_y = y;
        e.gaze_valid = true;
        GazeSample {
            system_ts_us: ts,
            device_ts_us: ts,
            left: e,
            right: EyeSample::INVALID,
        }
    }

    #[test]
    fn counts_samples_in_the_window_and_the_aoi() {
        let set = et_stimuli::default_set::manifest(1024);
        let mut header = RecordingHeader::new("P01", "1");
        header.sampling_hz = 100.0;
        header.screen = ScreenGeometry::default();
        // Mouth centre (512, 742) in image px → screen (420 + 512·1080/1024, 742·1080/1024).
        let mx = (420.0 + 512.0 * 1080.0 / 1024.0) / 1920.0;
        let my = 742.0 * 1080.0 / 1024.0 / 1080.0;
        let mut gaze = Vec::new();
        for k in 0..100 {
            let ts = 1_000_000 + k * 10_000;
            gaze.push(match k {
                0..=29 => sample(ts, mx as f32, my as f32), // mouth, 300 ms
                30..=39 => GazeSample {
                    left: EyeSample::INVALID,
                    ..sample(ts, 0.0, 0.0)
                }, // lost
                _ => sample(ts, 0.05, 0.05),                // off the image
            });
        }
        gaze.push(sample(3_000_000, mx as f32, my as f32)); // after offset
        let trial = TrialRecord {
            trial: 0,
            stimulus_id: "WS-01-reconstructed".into(),
            identity: "WS-01".into(),
            condition: "WS".into(),
            variant: "reconstructed".into(),
            expression: "smile".into(),
            onset_us: 1_000_000,
            offset_us: 2_000_000,
            frames: 60,
            dropped_frames: 0,
            image_rect: [420.0, 0.0, 1080.0, 1080.0],
            samples: Default::default(),
        };
        let rec = Recording::in_memory("mem", header, gaze, vec![trial.clone()]);
        let rows = trial_dwell(&rec, &set, &trial);
        let mouth = rows.iter().find(|r| r.aoi == "mouth").unwrap();
        assert!((mouth.dwell_ms - 300.0).abs() < 1e-9);
        assert!((mouth.valid_ms - 900.0).abs() < 1e-9);
        assert!((mouth.proportion() - 0.3).abs() < 1e-12);
        assert_eq!(rows.iter().find(|r| r.aoi == "eyes").unwrap().dwell_ms, 0.0);
    }
}
