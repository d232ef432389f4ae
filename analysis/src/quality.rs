//! Data quality per trial and per participant, and the exclusion rules the analysis config
//! sets, applied before any statistic: a trial or participant that fails a rule is listed with
//! the rule and its value, never silently dropped or silently kept.
//!
//! Per trial: the share of the samples the tracker should have delivered (duration × rate) that
//! carry valid gaze, per eye and for either eye; the time the tracker was lost (between a
//! `tracker_lost` event and the next `tracker_back`, or the end); dropped display frames. Per
//! participant: the same summed over trials, and the mean accuracy and precision (RMS) of the
//! accepted calibration's validation (the last attempt recorded).

use std::collections::BTreeSet;

use et_recording::{Recording, TrialRecord};
use serde::{Deserialize, Serialize};

/// Exclusion rules (`[exclusion]` in the analysis config); each is off unless set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExclusionRules {
    /// A trial is excluded when less than this share of its expected samples has valid gaze
    /// (either eye), 0 to 1.
    pub min_valid_share: Option<f64>,
    /// A participant is excluded when the accepted calibration's mean validation accuracy is
    /// worse than this (degrees).
    pub max_validation_accuracy_deg: Option<f64>,
    /// A participant is excluded when less than this share of their trials survives the trial
    /// rules, 0 to 1.
    pub min_trials_share: Option<f64>,
}

impl ExclusionRules {
    pub fn validate(&self) -> Result<(), et_files::SettingError> {
        for (name, v, hi) in [
            ("min_valid_share", self.min_valid_share, 1.0),
            ("min_trials_share", self.min_trials_share, 1.0),
            (
                "max_validation_accuracy_deg",
                self.max_validation_accuracy_deg,
                90.0,
            ),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && (0.0..=hi).contains(&v)) {
                    return Err(et_files::SettingError::new(
                        format!("exclusion.{name}"),
                        format!("exclusion.{name} must be in 0 to {hi}, got {v}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrialQuality {
    pub participant: String,
    pub trial: i32,
    pub stimulus_id: String,
    pub expected_samples: u64,
    /// Samples the recording holds in the trial's span (0: the tracker sent none).
    pub received_samples: u64,
    pub valid_share_left: f64,
    pub valid_share_right: f64,
    pub valid_share_any: f64,
    pub tracker_lost_ms: f64,
    pub dropped_frames: u32,
    /// How long the image was shown when the session was aborted during this trial (a
    /// `trial_aborted` event): shorter than planned, so the trial never enters the statistics.
    pub aborted_after_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantQuality {
    pub participant: String,
    pub trials: usize,
    pub valid_share_left: f64,
    pub valid_share_right: f64,
    pub valid_share_any: f64,
    pub tracker_lost_ms: f64,
    pub dropped_frames: u64,
    /// Mean over points and eyes of the last validation attempt; None when none was recorded.
    pub validation_accuracy_deg: Option<f64>,
    pub validation_precision_rms_deg: Option<f64>,
}

/// One exclusion: whom (a trial, or −1 for the whole participant), by which rule and value
/// (`limit` is NaN for the rules that are always on: `trial_aborted`, whose value is how long
/// the trial was shown in ms, and `no_gaze_samples`, whose value is 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Exclusion {
    pub participant: String,
    pub trial: i32,
    pub rule: &'static str,
    pub value: f64,
    pub limit: f64,
}

/// Time in [a, b) the tracker was lost, from the recording's events.
fn lost_within(rec: &Recording, a: i64, b: i64) -> f64 {
    let mut lost_since: Option<i64> = None;
    let mut total: i64 = 0;
    let end = rec.gaze.last().map_or(b, |s| s.system_ts_us.max(b));
    let mut add = |from: i64, to: i64| {
        let (s, e) = (from.max(a), to.min(b));
        if e > s {
            total = total.saturating_add(e - s);
        }
    };
    for e in &rec.events {
        match e.kind.as_str() {
            et_recording::format::kind::TRACKER_LOST => {
                lost_since.get_or_insert(e.ts_us);
            }
            et_recording::format::kind::TRACKER_BACK => {
                if let Some(s) = lost_since.take() {
                    add(s, e.ts_us);
                }
            }
            _ => {}
        }
    }
    if let Some(s) = lost_since {
        add(s, end);
    }
    total as f64 / 1000.0
}

/// The quality of one trial.
pub fn trial_quality(rec: &Recording, t: &TrialRecord) -> TrialQuality {
    let hz = rec.header.sampling_hz;
    let duration_s = t.offset_us.saturating_sub(t.onset_us).max(0) as f64 / 1e6;
    let expected = (duration_s * hz).round().max(1.0);
    let w = crate::dwell::window(&rec.gaze, t.onset_us, t.offset_us);
    let share = |n: usize| (n as f64 / expected).min(1.0);
    TrialQuality {
        participant: rec.header.participant.clone(),
        trial: t.trial,
        stimulus_id: t.stimulus_id.clone(),
        expected_samples: expected as u64,
        received_samples: w.len() as u64,
        valid_share_left: share(w.iter().filter(|s| s.left.gaze_valid).count()),
        valid_share_right: share(w.iter().filter(|s| s.right.gaze_valid).count()),
        valid_share_any: share(w.iter().filter(|s| s.mean_gaze().is_some()).count()),
        tracker_lost_ms: lost_within(rec, t.onset_us, t.offset_us),
        dropped_frames: t.dropped_frames,
        aborted_after_ms: rec
            .events
            .iter()
            .any(|e| e.kind == et_recording::format::kind::TRIAL_ABORTED && e.trial == t.trial)
            .then_some(duration_s * 1000.0),
    }
}

/// The quality of the whole recording (`recording_aois::whole_recording`: its first sample
/// to one period after its last) as if it were one trial: what a recording without stimulus
/// intervals (an import of gaze alone) is judged by.
fn whole_recording_quality(rec: &Recording) -> Option<TrialQuality> {
    let whole = crate::recording_aois::whole_recording(rec).ok()?;
    Some(trial_quality(rec, &whole))
}

/// The participant's summary over `trials` (their trial qualities) and their validation; a
/// recording without trials is summarised over all of its samples (never a share of nothing).
pub fn participant_quality(rec: &Recording, trials: &[TrialQuality]) -> ParticipantQuality {
    let n_trials = trials.len();
    let whole: Vec<TrialQuality>;
    let trials = if trials.is_empty() {
        whole = whole_recording_quality(rec).into_iter().collect();
        &whole[..]
    } else {
        trials
    };
    let weight: f64 = trials.iter().map(|t| t.expected_samples as f64).sum();
    let mean = |f: fn(&TrialQuality) -> f64| {
        if weight > 0.0 {
            trials
                .iter()
                .map(|t| f(t) * t.expected_samples as f64)
                .sum::<f64>()
                / weight
        } else {
            f64::NAN
        }
    };
    let last = rec.validation.iter().map(|v| v.attempt).max();
    let points: Vec<_> = rec
        .validation
        .iter()
        .filter(|v| Some(v.attempt) == last && v.accuracy_deg.is_finite())
        .collect();
    let avg = |f: fn(&&et_recording::ValidationRecord) -> f32| {
        (!points.is_empty())
            .then(|| points.iter().map(|v| f64::from(f(v))).sum::<f64>() / points.len() as f64)
    };
    ParticipantQuality {
        participant: rec.header.participant.clone(),
        trials: n_trials,
        valid_share_left: mean(|t| t.valid_share_left),
        valid_share_right: mean(|t| t.valid_share_right),
        valid_share_any: mean(|t| t.valid_share_any),
        // Summed from +0.0 (an empty `sum` of floats is −0.0).
        tracker_lost_ms: trials.iter().fold(0.0, |acc, t| acc + t.tracker_lost_ms),
        dropped_frames: trials.iter().map(|t| u64::from(t.dropped_frames)).sum(),
        validation_accuracy_deg: avg(|v| v.accuracy_deg),
        validation_precision_rms_deg: avg(|v| v.precision_rms_deg),
    }
}

/// The exclusions `rules` make for one participant, in the order they apply: trials first,
/// then the participant (by validation, then by the share of trials left).
pub fn exclusions(
    rules: &ExclusionRules,
    p: &ParticipantQuality,
    trials: &[TrialQuality],
) -> Vec<Exclusion> {
    // Not a rule one can turn off: a trial cut short is not the trial the design planned.
    let mut out: Vec<Exclusion> = trials
        .iter()
        .filter_map(|t| {
            t.aborted_after_ms.map(|ms| Exclusion {
                participant: t.participant.clone(),
                trial: t.trial,
                rule: "trial_aborted",
                value: ms,
                limit: f64::NAN,
            })
        })
        .collect();
    // Nor this one: a trial the tracker sent no sample for (it was silent) measured nothing,
    // and zeros in its place would be taken for data.
    out.extend(
        trials
            .iter()
            .filter(|t| t.aborted_after_ms.is_none() && t.received_samples == 0)
            .map(|t| Exclusion {
                participant: t.participant.clone(),
                trial: t.trial,
                rule: "no_gaze_samples",
                value: 0.0,
                limit: f64::NAN,
            }),
    );
    if let Some(min) = rules.min_valid_share {
        for t in trials.iter().filter(|t| {
            t.aborted_after_ms.is_none() && t.received_samples > 0 && t.valid_share_any < min
        }) {
            out.push(Exclusion {
                participant: t.participant.clone(),
                trial: t.trial,
                rule: "min_valid_share",
                value: t.valid_share_any,
                limit: min,
            });
        }
    }
    if let (Some(max), Some(acc)) = (rules.max_validation_accuracy_deg, p.validation_accuracy_deg) {
        if acc > max {
            out.push(Exclusion {
                participant: p.participant.clone(),
                trial: -1,
                rule: "max_validation_accuracy_deg",
                value: acc,
                limit: max,
            });
            return out;
        }
    }
    if let Some(min) = rules.min_trials_share {
        if !trials.is_empty() {
            let kept = 1.0 - out.len() as f64 / trials.len() as f64;
            if kept < min {
                out.push(Exclusion {
                    participant: p.participant.clone(),
                    trial: -1,
                    rule: "min_trials_share",
                    value: kept,
                    limit: min,
                });
            }
        }
    }
    out
}

/// The trials of `participant` the exclusions remove (every trial when the participant is out).
pub fn excluded_trials(list: &[Exclusion], participant: &str) -> (bool, BTreeSet<i32>) {
    let mine = list.iter().filter(|e| e.participant == participant);
    let whole = mine.clone().any(|e| e.trial < 0);
    (
        whole,
        mine.filter(|e| e.trial >= 0).map(|e| e.trial).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use et_drivers::{EyeSample, GazeSample};
    use et_recording::{EventRecord, RecordingHeader, ValidationRecord};

    fn sample(ts: i64, left: bool, right: bool) -> GazeSample {
        let eye = |v: bool| {
            let mut e = EyeSample::INVALID;
            if v {
                (e.gaze_x, e.gaze_y, e.gaze_valid) = (0.5, 0.5, true);
            }
            e
        };
        GazeSample {
            system_ts_us: ts,
            device_ts_us: ts,
            left: eye(left),
            right: eye(right),
        }
    }

    fn trial(n: i32, onset: i64, offset: i64) -> TrialRecord {
        TrialRecord {
            trial: n,
            stimulus_id: format!("s{n}"),
            identity: String::new(),
            condition: String::new(),
            variant: String::new(),
            expression: String::new(),
            onset_us: onset,
            offset_us: offset,
            frames: 60,
            dropped_frames: u32::try_from(n).unwrap_or(0),
            image_rect: [0.0; 4],
            samples: Default::default(),
        }
    }

    /// 100 Hz, two 1 s trials: the first fully valid in both eyes; the second with the left
    /// eye valid in 30 samples only, the right in none, 20 samples missing, and 200 ms of
    /// tracker loss. The last validation attempt has accuracy 0.8 and 1.6 (mean 1.2).
    fn recording() -> Recording {
        let mut header = RecordingHeader::new("P01", "1");
        header.sampling_hz = 100.0;
        let mut gaze: Vec<GazeSample> = (0..100).map(|i| sample(i * 10_000, true, true)).collect();
        gaze.extend((100..180).map(|i| sample(i * 10_000, i < 130, false)));
        let ev = |ts, kind: &str| EventRecord {
            ts_us: ts,
            kind: kind.into(),
            trial: -1,
            text: String::new(),
        };
        let val = |attempt, acc| ValidationRecord {
            attempt,
            eye: "left".into(),
            target_x: 0.5,
            target_y: 0.5,
            accuracy_deg: acc,
            precision_rms_deg: 0.1,
            precision_sd_deg: 0.1,
            data_loss: 0.0,
            mean_gaze_x: f32::NAN,
            mean_gaze_y: f32::NAN,
            window_start_us: 0,
            window_end_us: 0,
        };
        let trials = vec![trial(0, 0, 1_000_000), trial(1, 1_000_000, 2_000_000)];
        Recording {
            events: vec![ev(1_500_000, "tracker_lost"), ev(1_700_000, "tracker_back")],
            validation: vec![val(1, 3.0), val(2, 0.8), val(2, 1.6)],
            ..Recording::in_memory("q.h5", header, gaze, trials)
        }
    }

    #[test]
    fn a_recording_without_trials_is_judged_over_all_its_samples() {
        // An import of gaze alone: no stimulus intervals. Its quality is never NaN or -0.
        let rec = Recording {
            trials: Vec::new(),
            ..recording()
        };
        let pq = participant_quality(&rec, &[]);
        assert_eq!(pq.trials, 0);
        // 180 samples from 0 to 1.8 s at 100 Hz, 130 of them with gaze from an eye.
        assert!((pq.valid_share_any - 130.0 / 180.0).abs() < 1e-12);
        assert_eq!(pq.tracker_lost_ms, 200.0);
        let empty = Recording {
            gaze: Vec::new(),
            events: Vec::new(),
            ..rec
        };
        let pq = participant_quality(&empty, &[]);
        assert!(pq.tracker_lost_ms.is_sign_positive() && pq.tracker_lost_ms == 0.0);
    }

    #[test]
    fn shares_loss_and_validation_per_trial_and_participant() {
        let rec = recording();
        let tq: Vec<TrialQuality> = rec.trials.iter().map(|t| trial_quality(&rec, t)).collect();
        assert_eq!(tq[0].expected_samples, 100);
        assert_eq!((tq[0].valid_share_any, tq[0].tracker_lost_ms), (1.0, 0.0));
        assert_eq!(
            (tq[1].valid_share_left, tq[1].valid_share_right),
            (0.3, 0.0)
        );
        assert_eq!(tq[1].valid_share_any, 0.3);
        assert_eq!(tq[1].tracker_lost_ms, 200.0);
        let pq = participant_quality(&rec, &tq);
        assert!((pq.valid_share_any - 0.65).abs() < 1e-12);
        assert!((pq.validation_accuracy_deg.unwrap() - 1.2).abs() < 1e-6);
        assert_eq!(pq.dropped_frames, 1);
    }

    #[test]
    fn rules_exclude_trials_then_participants_and_say_why() {
        let rec = recording();
        let tq: Vec<TrialQuality> = rec.trials.iter().map(|t| trial_quality(&rec, t)).collect();
        let pq = participant_quality(&rec, &tq);
        assert!(exclusions(&ExclusionRules::default(), &pq, &tq).is_empty());
        let trials_only = ExclusionRules {
            min_valid_share: Some(0.5),
            ..ExclusionRules::default()
        };
        let ex = exclusions(&trials_only, &pq, &tq);
        assert_eq!(ex.len(), 1);
        assert_eq!(
            (ex[0].trial, ex[0].rule, ex[0].value),
            (1, "min_valid_share", 0.3)
        );
        assert_eq!(excluded_trials(&ex, "P01"), (false, [1].into()));
        let share = ExclusionRules {
            min_trials_share: Some(0.75),
            ..trials_only
        };
        let ex = exclusions(&share, &pq, &tq);
        assert_eq!(
            (ex[1].trial, ex[1].rule, ex[1].value),
            (-1, "min_trials_share", 0.5)
        );
        assert!(excluded_trials(&ex, "P01").0);
        let accuracy = ExclusionRules {
            max_validation_accuracy_deg: Some(1.0),
            ..ExclusionRules::default()
        };
        let ex = exclusions(&accuracy, &pq, &tq);
        assert_eq!(
            (ex[0].trial, ex[0].rule),
            (-1, "max_validation_accuracy_deg")
        );
        assert!(ExclusionRules {
            min_valid_share: Some(1.5),
            ..ExclusionRules::default()
        }
        .validate()
        .unwrap_err()
        .key
        .contains("exclusion.min_valid_share"));
    }

    /// A trial the session was aborted in is out whatever the rules say, with how long it ran.
    #[test]
    fn a_trial_cut_short_by_an_abort_is_always_excluded() {
        let mut rec = recording();
        rec.trials[1].offset_us = 1_400_000;
        rec.events.push(EventRecord {
            ts_us: 1_400_000,
            kind: et_recording::format::kind::TRIAL_ABORTED.into(),
            trial: 1,
            text: "aborted after 400.0 of 1000 ms".into(),
        });
        let tq: Vec<TrialQuality> = rec.trials.iter().map(|t| trial_quality(&rec, t)).collect();
        assert_eq!(tq[0].aborted_after_ms, None);
        assert_eq!(tq[1].aborted_after_ms, Some(400.0));
        let pq = participant_quality(&rec, &tq);
        let ex = exclusions(&ExclusionRules::default(), &pq, &tq);
        assert_eq!(ex.len(), 1);
        assert_eq!(
            (ex[0].trial, ex[0].rule, ex[0].value),
            (1, "trial_aborted", 400.0)
        );
        // Not listed twice when a rule would exclude it as well.
        let strict = ExclusionRules {
            min_valid_share: Some(0.99),
            ..ExclusionRules::default()
        };
        assert_eq!(exclusions(&strict, &pq, &tq).len(), 1);
    }

    /// A trial the tracker sent nothing for is out whatever the rules say.
    #[test]
    fn a_trial_without_any_gaze_sample_is_always_excluded() {
        let mut rec = recording();
        rec.gaze.retain(|s| s.system_ts_us < 1_000_000);
        let tq: Vec<TrialQuality> = rec.trials.iter().map(|t| trial_quality(&rec, t)).collect();
        assert_eq!((tq[0].received_samples, tq[1].received_samples), (100, 0));
        let pq = participant_quality(&rec, &tq);
        let ex = exclusions(&ExclusionRules::default(), &pq, &tq);
        assert_eq!(ex.len(), 1);
        assert_eq!((ex[0].trial, ex[0].rule), (1, "no_gaze_samples"));
        // Listed once, under its own rule, when the valid-share rule would take it too.
        let strict = ExclusionRules {
            min_valid_share: Some(0.5),
            ..ExclusionRules::default()
        };
        let ex = exclusions(&strict, &pq, &tq);
        assert_eq!(ex.len(), 1, "{ex:?}");
    }
}
