//! AOI metrics per participant × trial × AOI, sample-based and fixation-based. Names follow
//! Tobii Pro Lab's metric export (peers.md §3.3) where one exists:
//!
//! | field | Pro Lab | definition here |
//! |---|---|---|
//! | `dwell_ms` | — (sample-based "total dwell") | valid samples in the AOI during the stimulus × one nominal sample period |
//! | `dwell_proportion` | — | `dwell_ms` / stimulus duration |
//! | `total_fixation_duration_ms` | Total_duration_of_fixations | sum of the durations of fixations whose centroid is in the AOI, each clipped to the stimulus interval |
//! | `fixation_count` | Number_of_fixations | fixations in the AOI overlapping the interval |
//! | `time_to_first_fixation_ms` | Time_to_first_fixation | onset → start of the first fixation in the AOI (0 if it began before the onset); empty if none |
//! | `first_fixation_duration_ms` | Duration_of_first_fixation | clipped duration of that fixation; empty if none |
//! | `visit_count` | Number_of_Visits | runs of consecutive fixations in the AOI (a fixation elsewhere ends a visit) |
//! | `total_visit_duration_ms` | Total_duration_of_Visit | sum over visits of (end of its last fixation − start of its first), clipped |

use et_recording::{Recording, TrialRecord};
use et_stimuli::StimulusSet;

use crate::dwell::{trial_dwell, DwellRow};
use crate::fixation::{Fixation, FixationResult};
use crate::geometry::screen_to_image;
use crate::parallel::{each_in_parallel, WORTH_SPLITTING_SAMPLES};

#[derive(Debug, Clone, PartialEq)]
pub struct AoiMetrics {
    pub participant: String,
    pub trial: i32,
    pub stimulus_id: String,
    pub condition: String,
    pub expression: String,
    pub aoi: String,
    pub dwell_ms: f64,
    pub dwell_proportion: f64,
    pub total_fixation_duration_ms: f64,
    pub fixation_count: usize,
    pub time_to_first_fixation_ms: Option<f64>,
    pub first_fixation_duration_ms: Option<f64>,
    pub visit_count: usize,
    pub total_visit_duration_ms: f64,
}

/// One AOI of one stimulus over the participants who saw it: each participant's metrics are
/// first averaged over their trials of the stimulus (usually one), then over participants, so
/// each participant weighs the same. What a study without the smile design reports first.
#[derive(Debug, Clone, PartialEq)]
pub struct StimulusAoiSummary {
    pub stimulus_id: String,
    pub aoi: String,
    pub participants: usize,
    pub mean_dwell_ms: f64,
    pub mean_dwell_proportion: f64,
    pub mean_fixation_count: f64,
    pub mean_total_fixation_duration_ms: f64,
    /// Participants with a fixation in the AOI, and their mean time to the first one (NaN
    /// when none fixated it).
    pub participants_fixated: usize,
    pub mean_time_to_first_fixation_ms: f64,
}

/// Each participant's rows (their trials) of each stimulus × AOI, in stimulus, AOI and
/// participant order: what the per-stimulus table and its figure summarise.
pub(crate) type ByStimulusAoi<'a> = std::collections::BTreeMap<
    (&'a str, &'a str),
    std::collections::BTreeMap<&'a str, Vec<&'a AoiMetrics>>,
>;

pub(crate) fn by_stimulus_aoi(metrics: &[AoiMetrics]) -> ByStimulusAoi<'_> {
    let mut by = ByStimulusAoi::new();
    for m in metrics {
        by.entry((m.stimulus_id.as_str(), m.aoi.as_str()))
            .or_default()
            .entry(m.participant.as_str())
            .or_default()
            .push(m);
    }
    by
}

/// The rows of `metrics` summarised per stimulus × AOI (`StimulusAoiSummary`), in stimulus
/// then AOI order.
pub fn per_stimulus(metrics: &[AoiMetrics]) -> Vec<StimulusAoiSummary> {
    use crate::descriptive::mean; // NaN for no value
    by_stimulus_aoi(metrics)
        .into_iter()
        .map(|((stimulus, aoi), people)| {
            let each = |f: &dyn Fn(&AoiMetrics) -> f64| -> Vec<f64> {
                people
                    .values()
                    .map(|trials| mean(&trials.iter().map(|m| f(m)).collect::<Vec<_>>()))
                    .collect()
            };
            let ttff: Vec<f64> = people
                .values()
                .filter_map(|trials| {
                    let seen: Vec<f64> = trials
                        .iter()
                        .filter_map(|m| m.time_to_first_fixation_ms)
                        .collect();
                    (!seen.is_empty()).then(|| mean(&seen))
                })
                .collect();
            StimulusAoiSummary {
                stimulus_id: stimulus.to_string(),
                aoi: aoi.to_string(),
                participants: people.len(),
                mean_dwell_ms: mean(&each(&|m| m.dwell_ms)),
                mean_dwell_proportion: mean(&each(&|m| m.dwell_proportion)),
                mean_fixation_count: mean(&each(&|m| m.fixation_count as f64)),
                mean_total_fixation_duration_ms: mean(&each(&|m| m.total_fixation_duration_ms)),
                participants_fixated: ttff.len(),
                mean_time_to_first_fixation_ms: mean(&ttff),
            }
        })
        .collect()
}

/// Fixations overlapping [onset, offset), clipped to it, with their centroid in image px.
pub(crate) fn trial_fixations<'a>(
    fix: &'a FixationResult,
    trial: &TrialRecord,
    set: &StimulusSet,
) -> Vec<(&'a Fixation, i64, i64, (f64, f64))> {
    // Fixations are in time order and do not overlap: find the first that ends after the onset.
    let from = fix
        .fixations
        .partition_point(|f| f.end_us <= trial.onset_us);
    fix.fixations[from..]
        .iter()
        .take_while(|f| f.start_us < trial.offset_us)
        .map(|f| {
            let img = screen_to_image(
                f.screen_x,
                f.screen_y,
                trial.image_rect,
                set.image_width,
                set.image_height,
            );
            (
                f,
                f.start_us.max(trial.onset_us),
                f.end_us.min(trial.offset_us),
                img,
            )
        })
        .collect()
}

/// Every AOI's metrics for one trial; `fix` is the filter's result over the whole recording.
pub fn trial_metrics(
    rec: &Recording,
    set: &StimulusSet,
    trial: &TrialRecord,
    fix: &FixationResult,
) -> Vec<AoiMetrics> {
    trial_metrics_with_dwell(rec, set, trial, fix, &trial_dwell(rec, set, trial))
}

/// The dwell rows (`trial_dwell`) and AOI metrics of each of `trials`, in their order. A
/// recording long enough to be worth it has its trials spread over every core.
pub fn trials_aoi_metrics(
    rec: &Recording,
    set: &StimulusSet,
    trials: &[&TrialRecord],
    fix: &FixationResult,
) -> Vec<(Vec<DwellRow>, Vec<AoiMetrics>)> {
    let parallel = rec.gaze.len() >= WORTH_SPLITTING_SAMPLES;
    trials_aoi_metrics_on(rec, set, trials, fix, parallel)
}

/// `trials_aoi_metrics`, the trials spread over the cores or one after another.
fn trials_aoi_metrics_on(
    rec: &Recording,
    set: &StimulusSet,
    trials: &[&TrialRecord],
    fix: &FixationResult,
    parallel: bool,
) -> Vec<(Vec<DwellRow>, Vec<AoiMetrics>)> {
    let one = |t: &TrialRecord| {
        let dwell = trial_dwell(rec, set, t);
        let metrics = trial_metrics_with_dwell(rec, set, t, fix, &dwell);
        (dwell, metrics)
    };
    if parallel {
        each_in_parallel(trials.len(), |i| one(trials[i]))
    } else {
        trials.iter().map(|t| one(t)).collect()
    }
}

/// `trial_metrics` for a caller that has the trial's dwell rows already (`trial_dwell`), so
/// the samples are mapped to the AOIs once.
pub fn trial_metrics_with_dwell(
    rec: &Recording,
    set: &StimulusSet,
    trial: &TrialRecord,
    fix: &FixationResult,
    dwell: &[DwellRow],
) -> Vec<AoiMetrics> {
    let Some(stim) = set.stimulus(&trial.stimulus_id) else {
        return Vec::new();
    };
    let fixations = trial_fixations(fix, trial, set);
    set.aois_for(stim)
        .map(|aoi| {
            let inside: Vec<bool> = fixations
                .iter()
                .map(|(_, _, _, (x, y))| aoi.contains(*x, *y))
                .collect();
            let ms = |us: i64| us as f64 / 1000.0;
            let mut total = 0i64;
            let mut count = 0;
            let mut first: Option<(i64, i64)> = None;
            let mut visits = 0;
            let mut visit_total = 0i64;
            let mut visit_start: Option<i64> = None;
            let mut visit_end = 0i64;
            for (k, (_, s, e, _)) in fixations.iter().enumerate() {
                if inside[k] {
                    total += e - s;
                    count += 1;
                    first.get_or_insert((*s, *e));
                    visit_start.get_or_insert(*s);
                    visit_end = *e;
                } else if let Some(vs) = visit_start.take() {
                    visits += 1;
                    visit_total += visit_end - vs;
                }
            }
            if let Some(vs) = visit_start {
                visits += 1;
                visit_total += visit_end - vs;
            }
            let d = dwell.iter().find(|r| r.aoi == aoi.name);
            AoiMetrics {
                participant: rec.header.participant.clone(),
                trial: trial.trial,
                stimulus_id: trial.stimulus_id.clone(),
                condition: trial.condition.clone(),
                expression: trial.expression.clone(),
                aoi: aoi.name.clone(),
                dwell_ms: d.map_or(0.0, |r| r.dwell_ms),
                dwell_proportion: d.map_or(f64::NAN, |r| r.proportion()),
                total_fixation_duration_ms: ms(total),
                fixation_count: count,
                time_to_first_fixation_ms: first.map(|(s, _)| ms(s - trial.onset_us)),
                first_fixation_duration_ms: first.map(|(s, e)| ms(e - s)),
                visit_count: visits,
                total_visit_duration_ms: ms(visit_total),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixation::{EyeChoice, SampleClass};
    use et_recording::RecordingHeader;

    #[test]
    fn per_stimulus_weighs_each_participant_once() {
        let row =
            |p: &str, trial: i32, dwell: f64, fixations: usize, ttff: Option<f64>| AoiMetrics {
                participant: p.into(),
                trial,
                stimulus_id: "faceA".into(),
                condition: String::new(),
                expression: String::new(),
                aoi: "mouth".into(),
                dwell_ms: dwell,
                dwell_proportion: dwell / 1000.0,
                total_fixation_duration_ms: dwell,
                fixation_count: fixations,
                time_to_first_fixation_ms: ttff,
                first_fixation_duration_ms: None,
                visit_count: 0,
                total_visit_duration_ms: 0.0,
            };
        // P1 saw faceA twice (mean dwell 200, one fixation in 300 ms), P2 once and never
        // fixated the mouth.
        let rows = [
            row("P1", 0, 100.0, 1, Some(300.0)),
            row("P1", 5, 300.0, 1, None),
            row("P2", 0, 500.0, 0, None),
        ];
        let s = per_stimulus(&rows);
        assert_eq!(s.len(), 1);
        let s = &s[0];
        assert_eq!((s.participants, s.participants_fixated), (2, 1));
        assert_eq!(s.mean_dwell_ms, 350.0);
        assert!((s.mean_dwell_proportion - 0.35).abs() < 1e-12);
        assert_eq!(s.mean_fixation_count, 0.5);
        assert_eq!(s.mean_time_to_first_fixation_ms, 300.0);
        assert!(per_stimulus(&[]).is_empty());
    }

    fn fixation(start_ms: i64, end_ms: i64, img: (f64, f64)) -> Fixation {
        // Trial image drawn at [420, 0, 1080, 1080] on 1920×1080: image px → screen px.
        let sx = 420.0 + img.0 * 1080.0 / 1024.0;
        let sy = img.1 * 1080.0 / 1024.0;
        Fixation {
            start_us: start_ms * 1000,
            end_us: end_ms * 1000,
            duration_us: (end_ms - start_ms) * 1000,
            x: sx / 1920.0,
            y: sy / 1080.0,
            screen_x: sx,
            screen_y: sy,
            dispersion_deg: 0.0,
            samples: 1,
            eye: EyeChoice::Average,
            first: 0,
            last: 0,
        }
    }

    /// Participant P01's recording at 120 Hz on the default screen, held in memory.
    fn recording(gaze: Vec<et_drivers::GazeSample>, trials: Vec<TrialRecord>) -> Recording {
        let mut header = RecordingHeader::new("P01", "1");
        header.sampling_hz = 120.0;
        Recording::in_memory("mem", header, gaze, trials)
    }

    #[test]
    fn metric_definitions_by_hand() {
        let set = et_stimuli::default_set::manifest(1024);
        let (mouth, eyes) = ((512.0, 742.0), (400.0, 460.0));
        // Trial 1000..8000 ms. Fixations: one straddling the onset on the mouth, one on the eyes,
        // two on the mouth (one visit), one on the eyes, one straddling the offset on the mouth.
        let fx = vec![
            fixation(900, 1200, mouth),
            fixation(1300, 1500, eyes),
            fixation(1600, 1900, mouth),
            fixation(1950, 2400, mouth),
            fixation(2500, 2700, eyes),
            fixation(7900, 8200, mouth),
            fixation(8300, 8500, mouth),
        ];
        let res = FixationResult {
            fixations: fx,
            classes: vec![SampleClass::Missing],
        };
        let trial = TrialRecord {
            trial: 3,
            stimulus_id: "WS-01-reconstructed".into(),
            identity: "WS-01".into(),
            condition: "WS".into(),
            variant: "reconstructed".into(),
            expression: "smile".into(),
            onset_us: 1_000_000,
            offset_us: 8_000_000,
            frames: 420,
            dropped_frames: 0,
            image_rect: [420.0, 0.0, 1080.0, 1080.0],
            samples: Default::default(),
        };
        let rec = recording(vec![], vec![trial.clone()]);
        let m = trial_metrics(&rec, &set, &trial, &res);
        let mouth = m.iter().find(|r| r.aoi == "mouth").unwrap();
        // Clipped: 200 + 300 + 450 + 100 ms.
        assert_eq!(mouth.total_fixation_duration_ms, 1050.0);
        assert_eq!(mouth.fixation_count, 4);
        assert_eq!(mouth.time_to_first_fixation_ms, Some(0.0));
        assert_eq!(mouth.first_fixation_duration_ms, Some(200.0));
        // Visits: [1000,1200], [1600,2400], [7900,8000].
        assert_eq!(mouth.visit_count, 3);
        assert_eq!(mouth.total_visit_duration_ms, 200.0 + 800.0 + 100.0);
        let eyes = m.iter().find(|r| r.aoi == "eyes").unwrap();
        assert_eq!((eyes.fixation_count, eyes.visit_count), (2, 2));
        assert_eq!(eyes.time_to_first_fixation_ms, Some(300.0));
        let nose = m.iter().find(|r| r.aoi == "nose").unwrap();
        assert_eq!(
            (nose.fixation_count, nose.time_to_first_fixation_ms),
            (0, None)
        );
    }

    /// Trials spread over the cores give the rows the serial walk gives, in trial order (the
    /// path `analyze` takes for recordings of a million samples and more).
    #[test]
    fn trials_spread_over_the_cores_give_the_serial_result() {
        use crate::fixation::ivt::{ivt, IvtConfig};
        use et_drivers::{EyeSample, GazeSample};
        let set = et_stimuli::default_set::manifest(1024);
        let stimuli: Vec<_> = set.stimuli.iter().take(24).collect();
        // Gaze jumping every 250 ms between places over the image, 120 Hz, 7 s per trial.
        let (mut gaze, mut trials) = (Vec::new(), Vec::new());
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let rect = [420.0, 0.0, 1080.0, 1080.0];
        for (k, st) in stimuli.iter().enumerate() {
            let onset = k as i64 * 7_000_000;
            let (mut x, mut y) = (0.5, 0.5);
            for j in 0..840 {
                if j % 30 == 0 {
                    (x, y) = (0.25 + 0.5 * next(), 0.1 + 0.8 * next());
                }
                let e = EyeSample {
                    gaze_x: x as f32,
                    gaze_y: y as f32,
                    gaze_valid: next() > 0.05,
                    ..EyeSample::INVALID
                };
                let ts = onset + (j as f64 * 1e6 / 120.0).round() as i64;
                gaze.push(GazeSample {
                    system_ts_us: ts,
                    device_ts_us: ts,
                    left: e,
                    right: e,
                });
            }
            trials.push(TrialRecord {
                onset_us: onset,
                offset_us: onset + 7_000_000,
                frames: 420,
                ..TrialRecord::showing(k as i32, st, rect)
            });
        }
        let rec = recording(gaze, trials);
        let fix = ivt(&rec.gaze, &rec.header.screen, 120.0, &IvtConfig::default());
        let trials: Vec<&TrialRecord> = rec.trials.iter().collect();
        let serial = trials_aoi_metrics_on(&rec, &set, &trials, &fix, false);
        let parallel = trials_aoi_metrics_on(&rec, &set, &trials, &fix, true);
        assert_eq!(serial.len(), 24);
        assert!(serial
            .iter()
            .all(|(d, m)| d.iter().any(|r| r.dwell_ms > 0.0)
                && m.iter().any(|r| r.fixation_count > 0)));
        assert_eq!(parallel, serial);
    }
}
