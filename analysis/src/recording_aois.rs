//! What a recording's AOIs are judged on: its stimulus set and its trials as drawn.
//!
//! A recording made by et-suite stores its stimulus manifest; an AOI file given to the analysis
//! replaces the set's AOIs. A recording without a manifest (imported from Tobii Pro Lab or
//! Studio, or written by another tool) gets a stand-in set built from its trials: one stimulus
//! per media name, with AOIs in px from the media's top-left corner at the size it was drawn
//! (Tobii's media coordinates), global or per media name from the AOI file. A recording with
//! neither trials nor a manifest is one "screen" stimulus over the whole recording, with AOIs in
//! screen px. Without any AOI there is nothing to judge: `None`.

use et_recording::{Recording, TrialRecord};
use et_stimuli::{AoiFile, Expression, Stimulus, StimulusSet, Variant};

use crate::AnalysisError;

/// The stimulus id of the stand-in for a recording with no trials.
pub const WHOLE_SCREEN: &str = "screen";

/// The set and the trials (drawn rectangles as the set's mapping needs them) of `rec`.
pub fn recording_aois(
    rec: &Recording,
    trials: &[TrialRecord],
    aois: Option<&AoiFile>,
) -> Result<Option<(StimulusSet, Vec<TrialRecord>)>, AnalysisError> {
    let err = |message: String| AnalysisError::Input {
        path: rec.path.display().to_string(),
        message,
    };
    match rec.stimulus_set() {
        Some(Ok(mut set)) => {
            if let Some(f) = aois {
                set.apply_aois(f);
            }
            Ok(Some((set, trials.to_vec())))
        }
        Some(Err(e)) => Err(err(e.to_string())),
        None => {
            let Some(f) = aois.filter(|f| !f.aoi.is_empty() || !f.stimulus.is_empty()) else {
                return Ok(None);
            };
            let mut trials = trials.to_vec();
            if trials.is_empty() {
                trials.push(whole_recording(rec)?);
            }
            let mut set = stand_in_set(&trials);
            set.apply_aois(f);
            // Drawn at the set's size: gaze maps to media px one to one.
            for t in &mut trials {
                t.image_rect[2] = set.image_width as f32;
                t.image_rect[3] = set.image_height as f32;
            }
            Ok(Some((set, trials)))
        }
    }
}

/// One trial spanning the whole recording on the whole screen.
pub(crate) fn whole_recording(rec: &Recording) -> Result<TrialRecord, AnalysisError> {
    let (Some(first), Some(last)) = (rec.gaze.first(), rec.gaze.last()) else {
        return Err(AnalysisError::Input {
            path: rec.path.display().to_string(),
            message: "the recording holds no gaze samples".into(),
        });
    };
    let period = (1e6 / rec.header.sampling_hz.max(1e-9)).round() as i64;
    Ok(TrialRecord {
        trial: 0,
        stimulus_id: WHOLE_SCREEN.into(),
        identity: String::new(),
        condition: String::new(),
        variant: String::new(),
        expression: String::new(),
        onset_us: first.system_ts_us,
        offset_us: last.system_ts_us.saturating_add(period),
        frames: 0,
        dropped_frames: 0,
        image_rect: [
            0.0,
            0.0,
            rec.header.screen.width_px as f32,
            rec.header.screen.height_px as f32,
        ],
        samples: Default::default(),
    })
}

/// A set with one stimulus per trial's media name; its image size is the largest drawn size,
/// so AOIs in media px apply to every media as drawn.
fn stand_in_set(trials: &[TrialRecord]) -> StimulusSet {
    let size = |i: usize| {
        trials
            .iter()
            .map(|t| t.image_rect[i].max(1.0).round() as u32)
            .max()
            .unwrap_or(1)
    };
    let mut ids: Vec<&str> = trials.iter().map(|t| t.stimulus_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    StimulusSet {
        name: "imported".into(),
        image_width: size(2),
        image_height: size(3),
        landmarks: None,
        aois: Vec::new(),
        stimuli: ids
            .into_iter()
            .map(|id| Stimulus {
                id: id.into(),
                image: Default::default(),
                identity: id.into(),
                condition: String::new(),
                variant: Variant::Reconstructed,
                expression: Expression::NoSmile,
                aois: Vec::new(),
            })
            .collect(),
        root: Default::default(),
    }
}
