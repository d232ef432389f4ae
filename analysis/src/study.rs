//! The study's eye-tracking result: dwell on one AOI per participant × image, summarised per
//! condition × expression, and smile against no smile per condition and over all images under
//! the configured model (`compare`: a mixed model with crossed participant and image effects by
//! default). Per-condition p-values are corrected across the conditions (Holm by default); the
//! overall comparison is reported uncorrected.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use et_recording::{Recording, RecordingHeader, TrialRecord};

use crate::compare::{compare_with, corrected, interaction_test, ComparisonRow, InteractionTest};

use crate::config::StudyModel;
use crate::config::{setting_name, AnalysisConfig, FixationFilter};
use crate::descriptive::{mean, variance};
use crate::dwell::DwellRow;
use crate::fixation::idt::idt;
use crate::fixation::ivt::{ivt, ResolvedIvt};
use crate::fixation::FixationResult;
use crate::fixation::{FixationResult as Classified, SampleClass};
use crate::geometry::Degrees;
use crate::heatmap::ImageFixation;
use crate::metrics::{trial_fixations, trials_aoi_metrics, AoiMetrics, StimulusAoiSummary};
use crate::parallel::each_in_parallel;
use crate::quality::{
    excluded_trials, exclusions, participant_quality, trial_quality, Exclusion, ParticipantQuality,
    TrialQuality,
};
use crate::recording_aois::recording_aois;
use crate::table::{fmt_p, Table};
use crate::AnalysisError;

#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub condition: String,
    pub expression: String,
    pub n: usize,
    pub mean_dwell_ms: f64,
    pub sd_dwell_ms: f64,
    pub mean_proportion: f64,
}

/// What one recording says about how it was made (for the methods).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingFacts {
    pub header: RecordingHeader,
    /// Points of the calibration the session went on with (from its `calibration` events);
    /// `None` when et-suite did not calibrate (imports, calibration off).
    pub calibration_points: Option<usize>,
    /// Targets of the accepted validation; `None` without validation.
    pub validation_targets: Option<usize>,
}

impl RecordingFacts {
    pub fn of(rec: &et_recording::Recording) -> RecordingFacts {
        // "attempt 2: applied (9 points, point 4 redone)": the last applied calibration.
        let calibration_points = rec
            .events
            .iter()
            .rev()
            .filter(|e| e.kind == et_recording::format::kind::CALIBRATION)
            .find_map(|e| {
                let rest = e.text.split_once(": applied (")?.1;
                rest.split_once(" points")?.0.parse().ok()
            });
        let last = rec.validation.iter().map(|v| v.attempt).max();
        let mut targets: Vec<(u32, u32)> = rec
            .validation
            .iter()
            .filter(|v| Some(v.attempt) == last)
            .map(|v| (v.target_x.to_bits(), v.target_y.to_bits()))
            .collect();
        targets.sort_unstable();
        targets.dedup();
        RecordingFacts {
            header: rec.header.clone(),
            calibration_points,
            validation_targets: (!targets.is_empty()).then_some(targets.len()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct StudyAnalysis {
    pub aoi: String,
    /// Some trial shows a smile or no-smile face: the smile models, the summary per condition ×
    /// expression and their figure exist. Without it (imports, other studies) the results are
    /// the AOI metrics per stimulus and participant.
    pub smile_design: bool,
    /// How each recording was made (tracker, rate, screen, calibration), in input order: for
    /// the methods paragraph.
    pub recordings: Vec<RecordingFacts>,
    pub config: AnalysisConfig,
    pub dwell: Vec<DwellRow>,
    /// Every AOI's metrics per participant × trial, fixations from the Tobii I-VT defaults.
    pub metrics: Vec<AoiMetrics>,
    /// The metrics per stimulus × AOI over participants (`aoi_stimuli.csv`).
    pub stimulus_aois: Vec<StimulusAoiSummary>,
    pub summary: Vec<SummaryRow>,
    /// Smile vs no smile under the configured model, corrected across conditions.
    pub comparisons: Vec<ComparisonRow>,
    /// The same comparisons under every model, uncorrected (a robustness table).
    pub all_models: Vec<ComparisonRow>,
    /// Whether the smile effect differs between conditions (`interaction.csv`); `None` for
    /// one condition, another model than lmm, or no smile design.
    pub interaction: Option<InteractionTest>,
    /// Fixations per stimulus and participant in image px (clipped durations), for heatmaps.
    pub stimulus_fixations: BTreeMap<String, BTreeMap<String, Vec<ImageFixation>>>,
    /// Image px per degree of visual angle (from the first trial's drawn size and screen).
    pub image_px_per_deg: f64,
    /// The stimulus set of the first recording.
    pub set: Option<et_stimuli::StimulusSet>,
    /// Every fixation of every recording (I-VT), with the trial it falls in.
    pub fixations: Vec<FixationRow>,
    /// Every recorded event: participant, time (µs), kind, trial, text.
    pub events: Vec<(String, i64, String, i32, String)>,
    /// Every sample's class in Tobii's terms, per recording (`classes.csv`).
    pub classes: Vec<RecordingClasses>,
    /// The fixation filter's settings each recording was classified with (`ivt_settings.csv`).
    pub ivt_settings: Vec<(String, String, ResolvedIvt)>,
    /// Data quality of every trial and participant (before exclusion).
    pub trial_quality: Vec<TrialQuality>,
    pub participant_quality: Vec<ParticipantQuality>,
    /// Per trial, each eye and both: data loss, effective frequency and precision over fixation
    /// samples, as ETDQualitizer computes them (`quality_trials_eyes.csv`).
    pub trial_data_quality: Vec<crate::quality_measures::TrialDataQuality>,
    /// Each participant's accepted validation per eye and binocular, as ETDQualitizer computes
    /// it (`quality_validation.csv`).
    pub validation_quality: Vec<crate::quality_measures::ValidationQuality>,
    /// Each participant's validation rows (every attempt), for the validation figure.
    pub validation: Vec<ParticipantValidation>,
    /// What the exclusion rules left out, with the rule and value (applied before the
    /// dwell, metrics, heatmaps and every statistic).
    pub exclusions: Vec<Exclusion>,
    /// What the analysis could not do and why, one line each (shown with the tables).
    pub notes: Vec<String>,
}

/// One participant's validation: the screen it was shown on (px), every row, and the gaze
/// samples each row was computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantValidation {
    pub participant: String,
    pub screen_px: (u32, u32),
    pub rows: Vec<et_recording::ValidationRecord>,
    pub samples: Vec<ValidationSample>,
}

/// One eye's gaze sample in a validation target's collection window (screen px).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidationSample {
    pub attempt: i32,
    pub left: bool,
    pub x: f32,
    pub y: f32,
}

impl ParticipantValidation {
    /// `rec`'s validation with the samples of each row's window (none for files written
    /// before the window was recorded); `None` when it was not validated.
    pub fn of(rec: &Recording) -> Option<ParticipantValidation> {
        if rec.validation.is_empty() {
            return None;
        }
        let (w, h) = (rec.header.screen.width_px, rec.header.screen.height_px);
        let mut samples = Vec::new();
        for r in rec
            .validation
            .iter()
            .filter(|r| r.window_end_us > r.window_start_us)
        {
            let left = r.eye == "left";
            let from = rec
                .gaze
                .partition_point(|g| g.system_ts_us < r.window_start_us);
            for g in rec.gaze[from..]
                .iter()
                .take_while(|g| g.system_ts_us < r.window_end_us)
            {
                let eye = if left { &g.left } else { &g.right };
                if eye.gaze_valid {
                    samples.push(ValidationSample {
                        attempt: r.attempt,
                        left,
                        x: eye.gaze_x * w as f32,
                        y: eye.gaze_y * h as f32,
                    });
                }
            }
        }
        Some(ParticipantValidation {
            participant: rec.header.participant.clone(),
            screen_px: (w, h),
            rows: rec.validation.clone(),
            samples,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FixationRow {
    pub participant: String,
    /// Trial whose stimulus interval holds the fixation's midpoint, or −1.
    pub trial: i32,
    pub start_us: i64,
    pub end_us: i64,
    pub duration_ms: f64,
    pub screen_x: f64,
    pub screen_y: f64,
    pub dispersion_deg: f64,
    pub samples: usize,
}

/// One participant's fixations in sum: how many, and their mean and median duration (NaN
/// without fixations).
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantFixations {
    pub participant: String,
    pub count: usize,
    pub mean_duration_ms: f64,
    pub median_duration_ms: f64,
}

/// One recording's samples classified as Tobii labels them ("Eye movement type"), with the
/// number of the event each belongs to among the events of its class ("Eye movement type
/// index", from 1), so an export's columns can be compared one for one.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingClasses {
    pub participant: String,
    /// The recording's file as given to the analysis (two files may share a name).
    pub recording: String,
    pub ts_us: Vec<i64>,
    pub class: Vec<&'static str>,
    pub event: Vec<u32>,
}

/// Tobii's names of the sample classes, as `classes.csv` writes them.
const CLASS_NAMES: [&str; 4] = ["Fixation", "Saccade", "Unclassified", "EyesNotFound"];

impl RecordingClasses {
    fn of(rec: &Recording, fix: &Classified) -> Self {
        let name = |c: &SampleClass| match c {
            SampleClass::Fixation(_) => CLASS_NAMES[0],
            SampleClass::Saccade => CLASS_NAMES[1],
            SampleClass::Unclassified => CLASS_NAMES[2],
            SampleClass::Missing => CLASS_NAMES[3],
        };
        let mut counts = [0u32; 3];
        let mut event = Vec::with_capacity(fix.classes.len());
        let mut prev: Option<&SampleClass> = None;
        for c in &fix.classes {
            let number = match c {
                SampleClass::Fixation(k) => k.saturating_add(1),
                other => {
                    let slot = match other {
                        SampleClass::Saccade => 0,
                        SampleClass::Unclassified => 1,
                        _ => 2,
                    };
                    if prev != Some(c) {
                        counts[slot] += 1;
                    }
                    counts[slot]
                }
            };
            event.push(number);
            prev = Some(c);
        }
        RecordingClasses {
            participant: rec.header.participant.clone(),
            recording: rec.path.display().to_string(),
            ts_us: rec.gaze.iter().map(|s| s.system_ts_us).collect(),
            class: fix.classes.iter().map(name).collect(),
            event,
        }
    }
}

/// What one recording adds to the study. The study joins them in the order it was given the
/// recordings, so the result is the same whichever thread analysed which.
struct RecordingPart {
    dwell: Vec<DwellRow>,
    metrics: Vec<AoiMetrics>,
    /// Per analysed trial, its stimulus and the fixations on the image.
    image_fixations: Vec<(String, Vec<ImageFixation>)>,
    /// From the first trial with a drawn image; NaN when none had one.
    image_px_per_deg: f64,
    trial_quality: Vec<TrialQuality>,
    participant_quality: ParticipantQuality,
    validation: Option<ParticipantValidation>,
    /// An accuracy rule is set but the recording holds no validation.
    no_validation: bool,
    excluded: Vec<Exclusion>,
    fixations: Vec<FixationRow>,
    events: Vec<(String, i64, String, i32, String)>,
    classes: RecordingClasses,
    ivt: ResolvedIvt,
    /// The stimulus set it was analysed with; `None` when it has none (AOI tables skipped).
    set: Option<et_stimuli::StimulusSet>,
    /// Whose recording, and its file, for the join (the recording itself is gone by then).
    participant: String,
    path: String,
    /// "SIMULATED" or "REPLAYED" when its gaze is not a participant's: said in the notes, so
    /// no table passes simulated gaze off as people's.
    not_live: Option<&'static str>,
    /// Some trial shows a smile or no-smile version of a face (the study's design).
    smile_design: bool,
    facts: RecordingFacts,
    validation_quality: Vec<crate::quality_measures::ValidationQuality>,
    trial_data_quality: Vec<crate::quality_measures::TrialDataQuality>,
}

/// One recording's fixations, data quality, exclusions, AOI dwell and metrics.
fn analyse_recording(
    rec: &Recording,
    cfg: &AnalysisConfig,
    aois: Option<&et_stimuli::AoiFile>,
) -> Result<RecordingPart, AnalysisError> {
    let aoi = cfg.aoi.as_str();
    // The recording's trials without the intervals `[trials] exclude` names.
    let trials: Vec<TrialRecord> = rec
        .trials
        .iter()
        .filter(|t| !cfg.trials.excludes(&t.stimulus_id))
        .cloned()
        .collect();
    // The study's AOI (`aoi`) is what the smile models compare: a recording without the
    // smile design keeps every AOI's dwell and need not have it.
    let smile_design = trials
        .iter()
        .any(|t| crate::compare::is_smile_expression(&t.expression));
    let view = recording_aois(rec, &trials, aois)?;
    if let Some((set, _)) = &view {
        check_aois(rec, set, smile_design.then_some(aoi))?;
    }
    if !rec.gaze.iter().any(|s| s.mean_gaze().is_some()) {
        return Err(AnalysisError::Input {
            path: rec.path.display().to_string(),
            message: "the recording holds no valid gaze samples".into(),
        });
    }
    let (gaze, screen, hz) = (&rec.gaze, &rec.header.screen, rec.header.sampling_hz);
    let resolved = cfg.ivt.resolve(&rec.header.source_software);
    let fix = match cfg.filter {
        FixationFilter::Ivt => ivt(gaze, screen, hz, &resolved.cfg),
        FixationFilter::Idt => idt(gaze, screen, hz, &cfg.idt),
    };
    let trial_quality: Vec<TrialQuality> = trials.iter().map(|t| trial_quality(rec, t)).collect();
    let trial_data_quality: Vec<crate::quality_measures::TrialDataQuality> = trials
        .iter()
        .flat_map(|t| crate::quality_measures::trial_data_quality(rec, t, &fix.fixations))
        .collect();
    let participant_quality = participant_quality(rec, &trial_quality);
    let no_validation = cfg.exclusion.max_validation_accuracy_deg.is_some()
        && participant_quality.validation_accuracy_deg.is_none();
    let excluded = exclusions(&cfg.exclusion, &participant_quality, &trial_quality);
    let (whole, out) = excluded_trials(&excluded, &rec.header.participant);
    let mut part = RecordingPart {
        not_live: rec.header.not_live(),
        smile_design,
        facts: RecordingFacts::of(rec),
        validation_quality: crate::quality_measures::validation_quality(rec),
        trial_data_quality,
        dwell: Vec::new(),
        metrics: Vec::new(),
        image_fixations: Vec::new(),
        image_px_per_deg: f64::NAN,
        trial_quality,
        participant_quality,
        validation: ParticipantValidation::of(rec),
        no_validation,
        excluded,
        fixations: fixation_rows(rec, &trials, &fix),
        classes: RecordingClasses::of(rec, &fix),
        ivt: resolved,
        events: rec
            .events
            .iter()
            .map(|e| {
                (
                    rec.header.participant.clone(),
                    e.ts_us,
                    e.kind.clone(),
                    e.trial,
                    e.text.clone(),
                )
            })
            .collect(),
        set: None,
        participant: rec.header.participant.clone(),
        path: rec.path.display().to_string(),
    };
    if let Some((set, trials)) = view {
        let kept: Vec<&TrialRecord> = trials
            .iter()
            .filter(|t| !whole && !out.contains(&t.trial))
            .collect();
        for (t, (dwell, metrics)) in kept.iter().zip(trials_aoi_metrics(rec, &set, &kept, &fix)) {
            check_possible(rec, t, &metrics)?;
            part.metrics.extend(metrics);
            part.dwell
                .extend(dwell.into_iter().filter(|r| !smile_design || r.aoi == aoi));
            let on_image = trial_fixations(&fix, t, &set)
                .into_iter()
                .map(|(_, s, e, (x, y))| ImageFixation {
                    x,
                    y,
                    duration_ms: (e - s) as f64 / 1000.0,
                })
                .collect();
            part.image_fixations.push((t.stimulus_id.clone(), on_image));
            if part.image_px_per_deg.is_nan() && t.image_rect[2] > 0.0 {
                part.image_px_per_deg = Degrees::new(&rec.header.screen).px_per_deg()
                    * f64::from(set.image_width)
                    / f64::from(t.image_rect[2]);
            }
        }
        part.set = Some(set);
    }
    Ok(part)
}

/// Every fixation of `rec` as a table row, with the trial whose stimulus interval holds its
/// midpoint.
fn fixation_rows(
    rec: &Recording,
    trials: &[TrialRecord],
    fix: &FixationResult,
) -> Vec<FixationRow> {
    let trials = TrialFinder::new(trials);
    fix.fixations
        .iter()
        .map(|f| {
            let mid = (f.start_us + f.end_us) / 2;
            let trial = trials.at(mid).map_or(-1, |t| t.trial);
            FixationRow {
                participant: rec.header.participant.clone(),
                trial,
                start_us: f.start_us,
                end_us: f.end_us,
                duration_ms: f.duration_us as f64 / 1000.0,
                screen_x: f.screen_x,
                screen_y: f.screen_y,
                dispersion_deg: f.dispersion_deg,
                samples: f.samples,
            }
        })
        .collect()
}

/// The trial whose stimulus interval `[onset, offset)` holds a time: the first in file order
/// that does. Trials in time order without overlap (every session's are) are searched by
/// bisection, so a long recording with many trials does not cost trials × fixations.
struct TrialFinder<'a> {
    trials: &'a [TrialRecord],
    ordered: bool,
}

impl<'a> TrialFinder<'a> {
    fn new(trials: &'a [TrialRecord]) -> Self {
        let ordered = trials.iter().all(|t| t.onset_us <= t.offset_us)
            && trials.windows(2).all(|w| w[0].offset_us <= w[1].onset_us);
        TrialFinder { trials, ordered }
    }

    fn at(&self, ts_us: i64) -> Option<&'a TrialRecord> {
        let holds = |t: &&TrialRecord| t.onset_us <= ts_us && ts_us < t.offset_us;
        if self.ordered {
            // Offsets rise with the order: only the first trial ending after `ts_us` can hold it.
            let k = self.trials.partition_point(|t| t.offset_us <= ts_us);
            self.trials.get(k).filter(holds)
        } else {
            self.trials.iter().find(holds)
        }
    }
}

/// Analyses every recording, using the stimulus set each recording stores; `aois`, when given,
/// replaces the set's AOIs (an AOI file, or the set loaded from disk with its mask images).
/// Recordings are analysed in parallel and joined in their order.
pub fn analyse_study(
    recordings: &[Recording],
    cfg: &AnalysisConfig,
    aois: Option<&et_stimuli::AoiFile>,
) -> Result<StudyAnalysis, AnalysisError> {
    analyse_recordings(recordings.len(), |i| Ok(&recordings[i]), cfg, aois)
}

/// `analyse_study` over `count` recordings that `read(i)` gives (e.g. from their files) while
/// others are analysed: reading one overlaps analysing the rest, and each recording is dropped
/// once analysed, so only those in hand are in memory. Results are joined in index order. After
/// a failure (reading or analysing) no further recording is started, and the error is the
/// first in index order among the recordings done.
pub fn analyse_recordings<R: std::borrow::Borrow<Recording>>(
    count: usize,
    read: impl Fn(usize) -> Result<R, AnalysisError> + Sync,
    cfg: &AnalysisConfig,
    aois: Option<&et_stimuli::AoiFile>,
) -> Result<StudyAnalysis, AnalysisError> {
    let aoi = cfg.aoi.as_str();
    let mut dwell = Vec::new();
    let mut metrics = Vec::new();
    let mut stimulus_fixations: BTreeMap<String, BTreeMap<String, Vec<ImageFixation>>> =
        BTreeMap::new();
    let mut image_px_per_deg = f64::NAN;
    let mut first_set = None;
    let mut fixations = Vec::new();
    let mut events = Vec::new();
    let mut classes = Vec::new();
    let mut ivt_settings = Vec::new();
    let mut without_aois = Vec::new();
    let (mut trial_q, mut participant_q, mut excluded) = (Vec::new(), Vec::new(), Vec::new());
    let mut validation = Vec::new();
    let mut no_validation = Vec::new();
    let mut not_live: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut smile_design = false;
    let mut recordings = Vec::new();
    let mut validation_quality = Vec::new();
    let mut trial_data_q = Vec::new();
    // After a failure no further recording is started: the result is an error whatever the
    // skipped ones hold (the failed one's is among the results).
    let failed = AtomicBool::new(false);
    let parts = each_in_parallel(count, |i| {
        if failed.load(Ordering::Relaxed) {
            return None;
        }
        let part = read(i).and_then(|rec| analyse_recording(rec.borrow(), cfg, aois));
        if part.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        Some(part)
    });
    for part in parts.into_iter().flatten() {
        let part = part?;
        dwell.extend(part.dwell);
        metrics.extend(part.metrics);
        for (stimulus, on_image) in part.image_fixations {
            stimulus_fixations
                .entry(stimulus)
                .or_default()
                .entry(part.participant.clone())
                .or_default()
                .extend(on_image);
        }
        if image_px_per_deg.is_nan() {
            image_px_per_deg = part.image_px_per_deg;
        }
        trial_q.extend(part.trial_quality);
        participant_q.push(part.participant_quality);
        validation.extend(part.validation);
        if part.no_validation {
            no_validation.push(part.participant.clone());
        }
        if let Some(what) = part.not_live {
            not_live
                .entry(what)
                .or_default()
                .push(part.participant.clone());
        }
        smile_design |= part.smile_design;
        recordings.push(part.facts);
        validation_quality.extend(part.validation_quality);
        trial_data_q.extend(part.trial_data_quality);
        excluded.extend(part.excluded);
        fixations.extend(part.fixations);
        events.extend(part.events);
        ivt_settings.push((
            part.participant.clone(),
            part.classes.recording.clone(),
            part.ivt,
        ));
        classes.push(part.classes);
        match part.set {
            Some(set) => {
                first_set.get_or_insert(set);
            }
            None => without_aois.push(part.path.clone()),
        }
    }
    let mut notes = Vec::new();
    for (what, who) in &not_live {
        let source = match *what {
            "SIMULATED" => "et-suite's synthetic tracker, not people",
            _ => "recordings played again by et-suite",
        };
        notes.push(format!(
            "{what} GAZE in {} recording(s) ({}): {source}",
            who.len(),
            who.join(", ")
        ));
    }
    if !no_validation.is_empty() {
        notes.push(format!(
            "max_validation_accuracy_deg not applied to {} (no validation recorded)",
            no_validation.join(", ")
        ));
    }
    if !excluded.is_empty() {
        let people = excluded.iter().filter(|e| e.trial < 0).count();
        notes.push(format!(
            "excluded before the statistics: {} trial(s) and {people} participant(s) (exclusions.csv lists each with its rule)",
            excluded.iter().filter(|e| e.trial >= 0).count()
        ));
    }
    if !without_aois.is_empty() {
        notes.push(format!(
            "no AOIs for {} recording(s) without a stimulus manifest ({}): fixations, events and data quality written, AOI tables skipped for them (pass --aois FILE to judge AOIs)",
            without_aois.len(),
            without_aois.join(", ")
        ));
    }
    if !smile_design {
        notes.push(
            "no trial shows a smile or no-smile face (recordings without the study's design, e.g. imports): the smile models are not fitted; the AOI metrics per stimulus and participant are the results".into(),
        );
    }
    let mut groups: BTreeMap<(String, String), Vec<&DwellRow>> = BTreeMap::new();
    for r in dwell.iter().filter(|_| smile_design) {
        groups
            .entry((r.condition.clone(), r.expression.clone()))
            .or_default()
            .push(r);
    }
    let summary = groups
        .iter()
        .map(|((c, e), rows)| {
            let d: Vec<f64> = rows.iter().map(|r| r.dwell_ms).collect();
            let p: Vec<f64> = rows.iter().map(|r| r.proportion()).collect();
            SummaryRow {
                condition: c.clone(),
                expression: e.clone(),
                n: d.len(),
                mean_dwell_ms: mean(&d),
                sd_dwell_ms: if d.len() > 1 {
                    variance(&d).sqrt()
                } else {
                    f64::NAN
                },
                mean_proportion: mean(&p),
            }
        })
        .collect();
    // Every model once; the configured model's rows, corrected, are the comparisons. The
    // interaction test (two more mixed models) runs beside them, filling a core they leave
    // idle at their end.
    let (all_models, interaction) = std::thread::scope(|sc| {
        let interaction = (smile_design && cfg.model == StudyModel::Lmm && !dwell.is_empty())
            .then(|| sc.spawn(|| interaction_test(&dwell, cfg)));
        let all_models: Vec<ComparisonRow> = StudyModel::ALL
            .iter()
            .filter(|_| smile_design)
            .flat_map(|&m| compare_with(m, &dwell, cfg))
            .collect();
        let interaction =
            interaction.and_then(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        (all_models, interaction)
    });
    let comparisons = corrected(
        all_models
            .iter()
            .filter(|r| r.model == cfg.model.as_str())
            .cloned()
            .collect(),
        cfg,
    );
    notes.extend(interaction.as_ref().map(InteractionTest::line));
    Ok(StudyAnalysis {
        aoi: aoi.into(),
        smile_design,
        recordings,
        config: cfg.clone(),
        stimulus_aois: crate::metrics::per_stimulus(&metrics),
        dwell,
        metrics,
        summary,
        comparisons,
        all_models,
        interaction,
        stimulus_fixations,
        image_px_per_deg,
        set: first_set,
        fixations,
        events,
        classes,
        ivt_settings,
        trial_quality: trial_q,
        participant_quality: participant_q,
        trial_data_quality: trial_data_q,
        validation_quality,
        validation,
        exclusions: excluded,
        notes,
    })
}

/// A trial's results must be possible before anything is reported from them: a trial at least
/// one sample long, no AOI holding gaze for longer than the trial. An impossible value means the
/// recording's time base is wrong (ms read as µs, a rate that does not fit): an error naming
/// the recording and trial, never a table of 30 556 %.
fn check_possible(
    rec: &Recording,
    t: &TrialRecord,
    metrics: &[AoiMetrics],
) -> Result<(), AnalysisError> {
    let period_us = 1e6 / rec.header.sampling_hz.max(1e-9);
    let err = |why: String| {
        AnalysisError::Input {
        path: rec.path.display().to_string(),
        message: format!(
            "trial {} ({}): {why}; the recording's time stamps or sampling rate are wrong (an import in the wrong time unit?)",
            t.trial, t.stimulus_id
        ),
    }
    };
    let span = t.offset_us.saturating_sub(t.onset_us) as f64;
    if span < period_us {
        return Err(err(format!(
            "lasts {span} µs, less than one sample at {} Hz",
            rec.header.sampling_hz
        )));
    }
    // Each sample counts one nominal period, so a trial may hold one sample more than its
    // length fits; more than that is impossible.
    let limit_ms = (span + 1.5 * period_us) / 1000.0;
    if let Some(m) = metrics.iter().find(|m| m.dwell_ms > limit_ms) {
        return Err(err(format!(
            "AOI '{}' holds gaze for {:.0} % of the trial",
            m.aoi,
            m.dwell_proportion * 100.0
        )));
    }
    Ok(())
}

/// The set's AOIs are usable: masks loaded, and the study's AOI (when one is needed) among them.
fn check_aois(
    rec: &Recording,
    set: &et_stimuli::StimulusSet,
    aoi: Option<&str>,
) -> Result<(), AnalysisError> {
    let err = |message: String| AnalysisError::Input {
        path: rec.path.display().to_string(),
        message,
    };
    let unloaded = set
        .aois
        .iter()
        .chain(set.stimuli.iter().flat_map(|s| s.aois.iter()))
        .find(|a| matches!(&a.shape, et_stimuli::AoiShape::Mask { pixels: None, .. }));
    if let Some(a) = unloaded {
        return Err(err(format!(
            "AOI '{}' is an image mask: pass --stimuli or --aois so its image can be read",
            a.name
        )));
    }
    // A mask of another size would silently miss (or shift) every hit: refuse it.
    let masks = set
        .aois
        .iter()
        .chain(set.stimuli.iter().flat_map(|s| s.aois.iter()));
    for a in masks {
        if let et_stimuli::AoiShape::Mask {
            pixels: Some(m),
            path,
        } = &a.shape
        {
            if (m.width(), m.height()) != (set.image_width, set.image_height) {
                return Err(err(format!(
                    "AOI '{}': mask {} is {}x{} px but the stimuli are {}x{} px; draw the mask at the images' size",
                    a.name,
                    path.display(),
                    m.width(),
                    m.height(),
                    set.image_width,
                    set.image_height
                )));
            }
        }
    }
    if let Some(aoi) = aoi.filter(|aoi| !set.aoi_names().iter().any(|n| n == aoi)) {
        return Err(err(format!(
            "the stimulus set has no AOI named '{aoi}' (it has: {}); set `aoi` in the analysis config",
            set.aoi_names().join(", ")
        )));
    }
    Ok(())
}

impl StudyAnalysis {
    /// The test behind the comparisons' p-values, in words (`compare::tests_in_words`).
    pub fn tests_used(&self) -> String {
        crate::compare::tests_in_words(&self.comparisons)
    }
}

impl StudyAnalysis {
    /// The study's results: dwell per condition × expression and the smile models.
    fn render_smile_models(&self, s: &mut String) {
        let _ = writeln!(s, "Dwell time on AOI '{}' per condition x expression (one observation = one participant x image)", self.aoi);
        let _ = writeln!(
            s,
            "{:<10} {:<9} {:>5} {:>12} {:>10} {:>9}",
            "condition", "expr", "n", "mean_ms", "sd_ms", "share"
        );
        for r in &self.summary {
            let _ = writeln!(
                s,
                "{:<10} {:<9} {:>5} {:>12.1} {:>10.1} {:>9.3}",
                r.condition, r.expression, r.n, r.mean_dwell_ms, r.sd_dwell_ms, r.mean_proportion
            );
        }
        let correction = self.config.correction.as_str();
        let _ = writeln!(
            s,
            "\nSmile vs no smile, model {}: {} (two-sided); p_corr: {correction} across conditions",
            self.config.model.as_str(),
            self.tests_used()
        );
        let _ = writeln!(
            s,
            "{:<10} {:>7} {:>7} {:>10} {:>10} {:>8} {:>10} {:>9} {:>7} {:>10} {:>10}",
            "condition",
            "n_smile",
            "n_none",
            "smile_ms",
            "none_ms",
            "g",
            "estimate",
            "stat",
            "df",
            "p",
            "p_corr"
        );
        for c in &self.comparisons {
            let _ = writeln!(
                s,
                "{:<10} {:>7} {:>7} {:>10.1} {:>10.1} {:>8} {:>10} {:>9} {:>7} {:>10} {:>10}",
                c.condition,
                c.n_smile,
                c.n_no_smile,
                c.mean_smile_ms,
                c.mean_no_smile_ms,
                num_or_na(c.hedges_g, 3),
                num_or_na(c.estimate, 3),
                num_or_na(c.statistic, 3),
                c.df.map_or("-".into(), |d| format!("{d:.1}")),
                fmt_p(c.p),
                c.p_corrected.map_or("-".into(), fmt_p),
            );
        }
        for c in &self.comparisons {
            let _ = writeln!(s, "model ({}): {}", c.condition, c.detail);
        }
        let _ = writeln!(
            s,
            "\nEvery model over all images (uncorrected; models.csv has each condition)"
        );
        let _ = writeln!(
            s,
            "{:<15} {:>10} {:>9} {:>7} {:>10} {:>10}",
            "model", "estimate", "stat", "df", "p", "wilcoxon_p"
        );
        for c in self.all_models.iter().filter(|c| c.condition == "all") {
            let _ = writeln!(
                s,
                "{:<15} {:>10} {:>9} {:>7} {:>10} {:>10}",
                c.model,
                num_or_na(c.estimate, 3),
                num_or_na(c.statistic, 3),
                c.df.map_or("-".into(), |d| format!("{d:.1}")),
                fmt_p(c.p),
                fmt_p(c.wilcoxon_p),
            );
        }
    }

    /// Results of recordings without the smile design (imports, other studies): the AOI
    /// metrics per stimulus over participants, then each participant's fixations.
    fn render_aoi_results(&self, s: &mut String) {
        if self.stimulus_aois.is_empty() {
            let _ = writeln!(
                s,
                "AOI metrics: none (no AOIs for these recordings; pass --aois FILE)"
            );
        } else {
            let _ = writeln!(
                s,
                "AOI metrics per stimulus (mean over participants; aoi_metrics.csv has each participant x trial)"
            );
            let st = &self.stimulus_aois;
            let ws = width_of("stimulus", st.iter().map(|r| r.stimulus_id.as_str()));
            let wa = width_of("aoi", st.iter().map(|r| r.aoi.as_str()));
            let _ = writeln!(
                s,
                "{:<ws$} {:<wa$} {:>4} {:>9} {:>7} {:>6} {:>9} {:>9}",
                "stimulus", "aoi", "n", "dwell_ms", "share", "fix_n", "fix_ms", "ttff_ms"
            );
            for r in st {
                let _ = writeln!(
                    s,
                    "{:<ws$} {:<wa$} {:>4} {:>9.1} {:>7.3} {:>6.2} {:>9.1} {:>9}",
                    r.stimulus_id,
                    r.aoi,
                    r.participants,
                    r.mean_dwell_ms,
                    r.mean_dwell_proportion,
                    r.mean_fixation_count,
                    r.mean_total_fixation_duration_ms,
                    num_or_na(r.mean_time_to_first_fixation_ms, 1),
                );
            }
        }
        let _ = writeln!(
            s,
            "\nFixations per participant ({} filter; fixations.csv has each)",
            setting_name(&self.config.filter)
        );
        let fixations = self.fixations_per_participant();
        let wp = width_of(
            "participant",
            fixations.iter().map(|f| f.participant.as_str()),
        );
        let _ = writeln!(
            s,
            "{:<wp$} {:>9} {:>8} {:>10}",
            "participant", "fixations", "mean_ms", "median_ms"
        );
        for f in fixations {
            let _ = writeln!(
                s,
                "{:<wp$} {:>9} {:>8} {:>10}",
                f.participant,
                f.count,
                num_or_na(f.mean_duration_ms, 1),
                num_or_na(f.median_duration_ms, 1)
            );
        }
    }

    /// Each participant's fixation count and mean and median duration (in the order of the
    /// data-quality table; a participant without fixations has 0 and n/a).
    pub fn fixations_per_participant(&self) -> Vec<ParticipantFixations> {
        self.participant_quality
            .iter()
            .map(|q| {
                let d: Vec<f64> = self
                    .fixations
                    .iter()
                    .filter(|f| f.participant == q.participant)
                    .map(|f| f.duration_ms)
                    .collect();
                // `mean` of no value is NaN, as the median's.
                ParticipantFixations {
                    participant: q.participant.clone(),
                    count: d.len(),
                    mean_duration_ms: mean(&d),
                    median_duration_ms: crate::descriptive::median(d),
                }
            })
            .collect()
    }

    /// The tables as text for the terminal.
    pub fn render(&self) -> String {
        let mut s = String::new();
        if self.smile_design {
            self.render_smile_models(&mut s);
        } else {
            self.render_aoi_results(&mut s);
        }
        let _ = writeln!(
            s,
            "\nData quality per participant (valid = share of expected samples with gaze, either eye)"
        );
        let q = &self.participant_quality;
        let wp = width_of("participant", q.iter().map(|q| q.participant.as_str())).max(12);
        let _ = writeln!(
            s,
            "{:<wp$} {:>6} {:>7} {:>9} {:>8} {:>10}  excluded",
            "participant", "trials", "valid", "lost_ms", "dropped", "accuracy"
        );
        for q in &self.participant_quality {
            let by = self
                .exclusions
                .iter()
                .filter(|e| e.participant == q.participant)
                .map(|e| {
                    if e.trial < 0 {
                        format!("all ({})", e.rule)
                    } else {
                        format!("trial {}", e.trial)
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                s,
                "{:<wp$} {:>6} {:>7.3} {:>9.0} {:>8} {:>10}  {by}",
                q.participant,
                q.trials,
                q.valid_share_any,
                q.tracker_lost_ms,
                q.dropped_frames,
                q.validation_accuracy_deg
                    .map_or("n/a".into(), |a| format!("{a:.2}°"))
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        s
    }

    /// An AOI file's per-stimulus keys must each name a stimulus that some recording analysed
    /// shows (by its name or its image file's): a key that matches nothing would leave its
    /// AOIs out without a word. (A counterbalanced subset of recordings need not show every
    /// stimulus of the file, only each one somewhere.)
    pub fn check_aoi_keys(
        &self,
        file: &et_stimuli::AoiFile,
        path: &Path,
    ) -> Result<(), AnalysisError> {
        let shown: std::collections::BTreeSet<&str> = self
            .trial_quality
            .iter()
            .map(|t| t.stimulus_id.as_str())
            .collect();
        let unmatched: Vec<&str> = file
            .stimulus
            .keys()
            .map(String::as_str)
            .filter(|k| {
                !shown
                    .iter()
                    .any(|id| et_stimuli::aoi::names_one_stimulus(k, id))
            })
            .collect();
        if unmatched.is_empty() {
            return Ok(());
        }
        let mut present: Vec<&str> = shown.into_iter().collect();
        let more = present.len().saturating_sub(20);
        present.truncate(20);
        Err(AnalysisError::Input {
            path: path.display().to_string(),
            message: format!(
                "AOI key(s) {} match no stimulus of the recordings analysed; they show: {}{}",
                unmatched
                    .iter()
                    .map(|k| format!("'{k}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
                present.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        })
    }

    /// Every result table, declared once for CSV and Parquet: dwell, summary, comparisons,
    /// models, aoi_metrics, fixations, events, quality_trials, quality_participants,
    /// exclusions.
    pub fn tables(&self) -> Vec<Table> {
        let d = &self.dwell;
        let dwell = Table::new("dwell")
            .text("participant", d.iter().map(|r| r.participant.as_str()))
            .small("trial", d.iter().map(|r| r.trial))
            .text("stimulus_id", d.iter().map(|r| r.stimulus_id.as_str()))
            .text("identity", d.iter().map(|r| r.identity.as_str()))
            .text("condition", d.iter().map(|r| r.condition.as_str()))
            .text("variant", d.iter().map(|r| r.variant.as_str()))
            .text("expression", d.iter().map(|r| r.expression.as_str()))
            .text("aoi", d.iter().map(|r| r.aoi.as_str()))
            .float("dwell_ms", d.iter().map(|r| r.dwell_ms))
            .float("valid_ms", d.iter().map(|r| r.valid_ms))
            .float("trial_ms", d.iter().map(|r| r.trial_ms))
            .float("proportion", d.iter().map(DwellRow::proportion));
        let m = &self.summary;
        let summary = Table::new("summary")
            .text("condition", m.iter().map(|r| r.condition.as_str()))
            .text("expression", m.iter().map(|r| r.expression.as_str()))
            .count("n", m.iter().map(|r| r.n as u64))
            .float("mean_dwell_ms", m.iter().map(|r| r.mean_dwell_ms))
            .float("sd_dwell_ms", m.iter().map(|r| r.sd_dwell_ms))
            .float("mean_proportion", m.iter().map(|r| r.mean_proportion));
        let a = &self.metrics;
        let metrics = Table::new("aoi_metrics")
            .text("participant", a.iter().map(|r| r.participant.as_str()))
            .small("trial", a.iter().map(|r| r.trial))
            .text("stimulus_id", a.iter().map(|r| r.stimulus_id.as_str()))
            .text("condition", a.iter().map(|r| r.condition.as_str()))
            .text("expression", a.iter().map(|r| r.expression.as_str()))
            .text("aoi", a.iter().map(|r| r.aoi.as_str()))
            .float("dwell_ms", a.iter().map(|r| r.dwell_ms))
            .float("dwell_proportion", a.iter().map(|r| r.dwell_proportion))
            .float(
                "total_fixation_duration_ms",
                a.iter().map(|r| r.total_fixation_duration_ms),
            )
            .count("fixation_count", a.iter().map(|r| r.fixation_count as u64))
            .maybe_float(
                "time_to_first_fixation_ms",
                a.iter().map(|r| r.time_to_first_fixation_ms),
            )
            .maybe_float(
                "first_fixation_duration_ms",
                a.iter().map(|r| r.first_fixation_duration_ms),
            )
            .count("visit_count", a.iter().map(|r| r.visit_count as u64))
            .float(
                "total_visit_duration_ms",
                a.iter().map(|r| r.total_visit_duration_ms),
            );
        let st = &self.stimulus_aois;
        let aoi_stimuli = Table::new("aoi_stimuli")
            .text("stimulus_id", st.iter().map(|r| r.stimulus_id.as_str()))
            .text("aoi", st.iter().map(|r| r.aoi.as_str()))
            .count("participants", st.iter().map(|r| r.participants as u64))
            .float("mean_dwell_ms", st.iter().map(|r| r.mean_dwell_ms))
            .float(
                "mean_dwell_proportion",
                st.iter().map(|r| r.mean_dwell_proportion),
            )
            .float(
                "mean_fixation_count",
                st.iter().map(|r| r.mean_fixation_count),
            )
            .float(
                "mean_total_fixation_duration_ms",
                st.iter().map(|r| r.mean_total_fixation_duration_ms),
            )
            .count(
                "participants_fixated",
                st.iter().map(|r| r.participants_fixated as u64),
            )
            .float(
                "mean_time_to_first_fixation_ms",
                st.iter().map(|r| r.mean_time_to_first_fixation_ms),
            );
        let x = &self.fixations;
        let fixations = Table::new("fixations")
            .text("participant", x.iter().map(|r| r.participant.as_str()))
            .small("trial", x.iter().map(|r| r.trial))
            .int("start_us", x.iter().map(|r| r.start_us))
            .int("end_us", x.iter().map(|r| r.end_us))
            .float("duration_ms", x.iter().map(|r| r.duration_ms))
            .float("screen_x", x.iter().map(|r| r.screen_x))
            .float("screen_y", x.iter().map(|r| r.screen_y))
            .float("dispersion_deg", x.iter().map(|r| r.dispersion_deg))
            .count("samples", x.iter().map(|r| r.samples as u64));
        let e = &self.events;
        let events = Table::new("events")
            .text("participant", e.iter().map(|r| r.0.as_str()))
            .int("ts_us", e.iter().map(|r| r.1))
            .text("kind", e.iter().map(|r| r.2.as_str()))
            .small("trial", e.iter().map(|r| r.3))
            .text("text", e.iter().map(|r| r.4.as_str()));
        let q = &self.trial_quality;
        let quality_trials = Table::new("quality_trials")
            .text("participant", q.iter().map(|r| r.participant.as_str()))
            .small("trial", q.iter().map(|r| r.trial))
            .text("stimulus_id", q.iter().map(|r| r.stimulus_id.as_str()))
            .count("expected_samples", q.iter().map(|r| r.expected_samples))
            .float("valid_share_left", q.iter().map(|r| r.valid_share_left))
            .float("valid_share_right", q.iter().map(|r| r.valid_share_right))
            .float("valid_share_any", q.iter().map(|r| r.valid_share_any))
            .float("tracker_lost_ms", q.iter().map(|r| r.tracker_lost_ms))
            .count(
                "dropped_frames",
                q.iter().map(|r| u64::from(r.dropped_frames)),
            )
            .maybe_float("aborted_after_ms", q.iter().map(|r| r.aborted_after_ms));
        let d = &self.trial_data_quality;
        let quality_trials_eyes = Table::new("quality_trials_eyes")
            .text("participant", d.iter().map(|r| r.participant.as_str()))
            .small("trial", d.iter().map(|r| r.trial))
            .text("stimulus_id", d.iter().map(|r| r.stimulus_id.as_str()))
            .text("eye", d.iter().map(|r| r.eye))
            .float("data_loss_pct", d.iter().map(|r| r.data_loss_pct))
            .float("effective_hz", d.iter().map(|r| r.effective_hz))
            .count("fixations", d.iter().map(|r| r.fixations as u64))
            .float(
                "fixation_rms_s2s_deg",
                d.iter().map(|r| r.fixation_rms_s2s_deg),
            )
            .float("fixation_std_deg", d.iter().map(|r| r.fixation_std_deg));
        let q = &self.participant_quality;
        let excluded_by = |p: &str| {
            self.exclusions
                .iter()
                .find(|e| e.trial < 0 && e.participant == p)
                .map_or("", |e| e.rule)
        };
        let quality_participants = Table::new("quality_participants")
            .text("participant", q.iter().map(|r| r.participant.as_str()))
            .count("trials", q.iter().map(|r| r.trials as u64))
            .float("valid_share_left", q.iter().map(|r| r.valid_share_left))
            .float("valid_share_right", q.iter().map(|r| r.valid_share_right))
            .float("valid_share_any", q.iter().map(|r| r.valid_share_any))
            .float("tracker_lost_ms", q.iter().map(|r| r.tracker_lost_ms))
            .count("dropped_frames", q.iter().map(|r| r.dropped_frames))
            .maybe_float(
                "validation_accuracy_deg",
                q.iter().map(|r| r.validation_accuracy_deg),
            )
            .maybe_float(
                "validation_precision_rms_deg",
                q.iter().map(|r| r.validation_precision_rms_deg),
            )
            .text("excluded_by", q.iter().map(|r| excluded_by(&r.participant)));
        let vq = &self.validation_quality;
        let quality_validation = Table::new("quality_validation")
            .text("participant", vq.iter().map(|r| r.participant.as_str()))
            .small("attempt", vq.iter().map(|r| r.attempt))
            .text("eye", vq.iter().map(|r| r.eye))
            .count("targets", vq.iter().map(|r| r.targets as u64))
            .float("accuracy_deg", vq.iter().map(|r| r.accuracy_deg))
            .float("rms_s2s_deg", vq.iter().map(|r| r.rms_s2s_deg))
            .float("std_deg", vq.iter().map(|r| r.std_deg))
            .float("bcea_deg2", vq.iter().map(|r| r.bcea_deg2))
            .float("data_loss_pct", vq.iter().map(|r| r.data_loss_pct));
        let x = &self.exclusions;
        let exclusions = Table::new("exclusions")
            .text("participant", x.iter().map(|r| r.participant.as_str()))
            .small("trial", x.iter().map(|r| r.trial))
            .text("rule", x.iter().map(|r| r.rule))
            .float("value", x.iter().map(|r| r.value))
            .float("limit", x.iter().map(|r| r.limit));
        // Every sample of every recording: the text columns coded (one name per recording,
        // four class names), so millions of rows hold no String each.
        let c = &self.classes;
        let rows: usize = c.iter().map(|r| r.ts_us.len()).sum();
        let mut recording_of = Vec::with_capacity(rows);
        let mut class_of = Vec::with_capacity(rows);
        for (k, r) in c.iter().enumerate() {
            recording_of.extend(std::iter::repeat_n(k as u32, r.ts_us.len()));
            class_of.extend(
                r.class
                    .iter()
                    .map(|name| CLASS_NAMES.iter().position(|n| n == name).unwrap_or(0) as u32),
            );
        }
        let classes = Table::new("classes")
            .labels(
                "participant",
                c.iter().map(|r| r.participant.clone()).collect(),
                recording_of.clone(),
            )
            .labels(
                "recording",
                c.iter().map(|r| r.recording.clone()).collect(),
                recording_of,
            )
            .int("ts_us", c.iter().flat_map(|r| r.ts_us.iter().copied()))
            .labels(
                "class",
                CLASS_NAMES.iter().map(|n| n.to_string()).collect(),
                class_of,
            )
            .count(
                "event_index",
                c.iter().flat_map(|r| r.event.iter().map(|e| u64::from(*e))),
            );
        let v = &self.ivt_settings;
        let ivt_settings = Table::new("ivt_settings")
            .text("participant", v.iter().map(|r| r.0.as_str()))
            .text("recording", v.iter().map(|r| r.1.as_str()))
            .text("rules", v.iter().map(|r| r.2.rules))
            .text("why", v.iter().map(|r| r.2.why.as_str()))
            .flag("overridden", v.iter().map(|r| r.2.overridden))
            .maybe_float("gap_fill_max_ms", v.iter().map(|r| r.2.cfg.gap_fill_max_ms))
            .text("eye", v.iter().map(|r| setting_name(&r.2.cfg.eye)))
            .maybe_float(
                "median_window",
                v.iter().map(|r| r.2.cfg.median_window.map(|w| w as f64)),
            )
            .text(
                "median_edges",
                v.iter().map(|r| setting_name(&r.2.cfg.median_edges)),
            )
            .float(
                "velocity_window_ms",
                v.iter().map(|r| r.2.cfg.velocity_window_ms),
            )
            .text(
                "velocity_edges",
                v.iter().map(|r| setting_name(&r.2.cfg.velocity_edges)),
            )
            .text("angles", v.iter().map(|r| setting_name(&r.2.cfg.angles)))
            .float("threshold_deg_s", v.iter().map(|r| r.2.cfg.threshold_deg_s))
            .maybe_float(
                "merge_max_gap_ms",
                v.iter().map(|r| r.2.cfg.merge_max_gap_ms),
            )
            .float(
                "merge_max_angle_deg",
                v.iter().map(|r| r.2.cfg.merge_max_angle_deg),
            )
            .text(
                "merge_compare",
                v.iter().map(|r| setting_name(&r.2.cfg.merge_compare)),
            )
            .maybe_float(
                "discard_shorter_than_ms",
                v.iter().map(|r| r.2.cfg.discard_shorter_than_ms),
            );
        vec![
            dwell,
            summary,
            comparison_table("comparisons", &self.comparisons),
            comparison_table("models", &self.all_models),
            interaction_table(self.interaction.as_ref()),
            metrics,
            aoi_stimuli,
            fixations,
            events,
            classes,
            ivt_settings,
            quality_trials,
            quality_trials_eyes,
            quality_participants,
            quality_validation,
            exclusions,
        ]
    }
}

/// The width of a text column: its longest value or its header.
fn width_of<'a>(header: &str, values: impl Iterator<Item = &'a str>) -> usize {
    values
        .map(|v| v.chars().count())
        .fold(header.chars().count(), usize::max)
}

/// `v` with `prec` decimals, or "n/a" when it is not a number (a statistic that is undefined).
fn num_or_na(v: f64, prec: usize) -> String {
    if v.is_finite() {
        format!("{v:.prec$}")
    } else {
        "n/a".into()
    }
}

/// The expression × condition test (`interaction`): one row, or none where it was not run.
fn interaction_table(t: Option<&InteractionTest>) -> Table {
    let t: Vec<&InteractionTest> = t.into_iter().collect();
    Table::new("interaction")
        .text("effect", t.iter().map(|_| "expression × condition"))
        .text("test", t.iter().map(|_| "likelihood ratio, ML fits"))
        .text("random", t.iter().map(|r| r.random.as_str()))
        .maybe_float("chisq", t.iter().map(|r| r.chisq))
        .maybe_float("df", t.iter().map(|r| r.df.map(|d| d as f64)))
        .maybe_float("p", t.iter().map(|r| r.p))
        .text("note", t.iter().map(|r| r.note.as_str()))
}

/// Comparison rows (`comparisons`, `models`).
fn comparison_table(name: &'static str, c: &[ComparisonRow]) -> Table {
    Table::new(name)
        .text("condition", c.iter().map(|r| r.condition.as_str()))
        .text("model", c.iter().map(|r| r.model))
        .count("n_smile", c.iter().map(|r| r.n_smile as u64))
        .count("n_no_smile", c.iter().map(|r| r.n_no_smile as u64))
        .float("mean_smile_ms", c.iter().map(|r| r.mean_smile_ms))
        .float("mean_no_smile_ms", c.iter().map(|r| r.mean_no_smile_ms))
        .float("sd_smile_ms", c.iter().map(|r| r.sd_smile_ms))
        .float("sd_no_smile_ms", c.iter().map(|r| r.sd_no_smile_ms))
        .float("hedges_g", c.iter().map(|r| r.hedges_g))
        .float("estimate", c.iter().map(|r| r.estimate))
        .float("se", c.iter().map(|r| r.se))
        .float("ci_low", c.iter().map(|r| r.ci_low))
        .float("ci_high", c.iter().map(|r| r.ci_high))
        .text("test", c.iter().map(|r| r.test))
        .float("statistic", c.iter().map(|r| r.statistic))
        .maybe_float("df", c.iter().map(|r| r.df))
        .float("p", c.iter().map(|r| r.p))
        .maybe_float("p_corrected", c.iter().map(|r| r.p_corrected))
        .float("wilcoxon_p", c.iter().map(|r| r.wilcoxon_p))
        .text("detail", c.iter().map(|r| r.detail.as_str()))
}

#[cfg(test)]
mod tests {

    #[test]
    fn p_values_are_shown_in_one_style() {
        for (p, shown, phrase) in [
            (1.151e-5, "< .001", "p < .001"),
            (0.000999, "< .001", "p < .001"),
            (0.001, ".001", "p = .001"),
            (0.0002 + 0.0416, ".042", "p = .042"),
            (0.9999, "1.000", "p = 1.000"),
            (f64::NAN, "n/a", "p n/a"),
        ] {
            assert_eq!(
                (fmt_p(p).as_str(), p_phrase(p).as_str()),
                (shown, phrase),
                "{p}"
            );
        }
    }

    use super::*;
    use crate::config::TrialsConfig;
    use crate::table::p_phrase;
    use et_drivers::synthetic::{GazeGenerator, Scene, SyntheticConfig};
    use et_recording::{RecordingHeader, TrialRecord};

    /// A recording in ms read as µs: a "7 s" trial of 7000 µs holds 840 samples at a stated
    /// 120 Hz, whose dwell is 7 s. Refused, naming the recording and trial; so is a trial
    /// shorter than one sample. One sample more than the trial fits is possible, not refused.
    #[test]
    fn impossible_results_are_errors_naming_the_recording_and_trial() {
        let mut header = RecordingHeader::new("P1", "1");
        header.sampling_hz = 120.0;
        let trial = |span_us: i64| TrialRecord {
            trial: 3,
            stimulus_id: "faceA".into(),
            identity: String::new(),
            condition: String::new(),
            variant: String::new(),
            expression: String::new(),
            onset_us: 0,
            offset_us: span_us,
            frames: 0,
            dropped_frames: 0,
            image_rect: [0.0; 4],
            samples: Default::default(),
        };
        let rec = Recording::in_memory("/data/p1.h5", header, Vec::new(), vec![trial(7000)]);
        let dwell = |ms: f64| AoiMetrics {
            participant: "P1".into(),
            trial: 3,
            stimulus_id: "faceA".into(),
            condition: String::new(),
            expression: String::new(),
            aoi: "mouth".into(),
            dwell_ms: ms,
            dwell_proportion: ms / 7.0,
            total_fixation_duration_ms: 0.0,
            fixation_count: 0,
            time_to_first_fixation_ms: None,
            first_fixation_duration_ms: None,
            visit_count: 0,
            total_visit_duration_ms: 0.0,
        };
        let e = check_possible(&rec, &trial(7_000_000), &[dwell(7000.0 * 1000.0)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/data/p1.h5") && e.contains("trial 3 (faceA)"),
            "{e}"
        );
        let e = check_possible(&rec, &trial(7000), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("less than one sample at 120 Hz"), "{e}");
        assert!(check_possible(&rec, &trial(7_000_000), &[dwell(7000.0 + 8.3)]).is_ok());
    }

    /// Participant `k`: four 2-s trials of the default set, gaze wandering between two points.
    fn recording(k: usize) -> Recording {
        let set = et_stimuli::default_set::manifest(64);
        let rect = [420.0, 0.0, 1080.0, 1080.0];
        let trials: Vec<TrialRecord> = set.stimuli[..4]
            .iter()
            .enumerate()
            .map(|(i, st)| TrialRecord {
                onset_us: 500_000 + i as i64 * 2_500_000,
                offset_us: 2_500_000 + i as i64 * 2_500_000,
                ..TrialRecord::showing(i as i32, st, rect)
            })
            .collect();
        let mut g = GazeGenerator::new(SyntheticConfig {
            seed: k as u64,
            ..Default::default()
        });
        let scene = Scene::Target {
            x: 0.3 + 0.1 * k as f64,
            y: 0.5,
        };
        let mut header = RecordingHeader::new(&format!("P{k}"), "1");
        header.sampling_hz = 120.0;
        let gaze = (0..1200)
            .map(|s| g.sample(s * 1_000_000 / 120, 1, &scene))
            .collect();
        Recording {
            manifest: set.to_toml(),
            ..Recording::in_memory(format!("P{k}.h5"), header, gaze, trials)
        }
    }

    #[test]
    fn the_trial_holding_a_time_is_the_first_in_file_order_that_does() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let st = &et_stimuli::default_set::manifest(64).stimuli[0];
        let mut bisected = 0;
        for case in 0..200 {
            // In order without overlap (as sessions write them), or shuffled and overlapping.
            let mut at = 0i64;
            let mut trials: Vec<TrialRecord> = (0..rng.random_range(0..12))
                .map(|i| {
                    at += rng.random_range(0..3_000);
                    let onset = at;
                    at += rng.random_range(0..5_000);
                    TrialRecord {
                        onset_us: onset,
                        offset_us: at,
                        ..TrialRecord::showing(i, st, [0.0; 4])
                    }
                })
                .collect();
            if case % 2 == 1 {
                for t in &mut trials {
                    t.onset_us -= rng.random_range(0..4_000);
                }
                trials.reverse();
            }
            let finder = TrialFinder::new(&trials);
            bisected += usize::from(finder.ordered);
            for ts in -5_000..at + 5_000 {
                let want = trials
                    .iter()
                    .find(|t| t.onset_us <= ts && ts < t.offset_us)
                    .map(|t| t.trial);
                assert_eq!(finder.at(ts).map(|t| t.trial), want, "case {case}, {ts} µs");
            }
        }
        assert!(
            (100..190).contains(&bisected),
            "{bisected} of 200 searched by bisection"
        );
    }

    #[test]
    fn recordings_read_while_others_are_analysed_give_the_same_study_and_the_first_failure() {
        let recs: Vec<Recording> = (0..5).map(recording).collect();
        let cfg = AnalysisConfig::default();
        let whole = analyse_study(&recs, &cfg, None).unwrap();
        let streamed = analyse_recordings(5, |i| Ok(recording(i)), &cfg, None).unwrap();
        let text = |s: &StudyAnalysis| {
            format!(
                "{:?} {:?} {:?} {:?} {:?}",
                s.fixations, s.dwell, s.metrics, s.comparisons, s.notes
            )
        };
        assert_eq!(text(&whole), text(&streamed));
        let unreadable = |i: usize| AnalysisError::Input {
            path: format!("r{i}.h5"),
            message: "unreadable".into(),
        };
        let failed = analyse_recordings(
            5,
            |i| match i {
                1 | 3 => Err(unreadable(i)),
                _ => Ok(recording(i)),
            },
            &cfg,
            None,
        );
        assert!(
            matches!(&failed, Err(AnalysisError::Input { path, .. }) if path == "r1.h5"),
            "{:?}",
            failed.err()
        );
    }

    /// Tobii Pro Lab lists its calibration as a stimulus: not a trial of the analysis by
    /// default; `[trials] exclude` names any others.
    #[test]
    fn calibration_intervals_are_not_trials_unless_asked() {
        let mut rec = recording(0);
        let last = rec.trials.last().unwrap().clone();
        rec.trials.push(TrialRecord {
            trial: last.trial + 1,
            stimulus_id: "Eyetracker Calibration".into(),
            onset_us: last.offset_us,
            offset_us: last.offset_us + 500_000,
            ..last.clone()
        });
        let names = |s: &StudyAnalysis| -> Vec<String> {
            s.trial_quality
                .iter()
                .map(|t| t.stimulus_id.clone())
                .collect()
        };
        let study =
            analyse_study(std::slice::from_ref(&rec), &AnalysisConfig::default(), None).unwrap();
        assert_eq!(names(&study).len(), 4);
        assert!(!names(&study).iter().any(|n| n.contains("Calibration")));
        let cfg: AnalysisConfig = toml::from_str("[trials]\nexclude = [\"foo\"]\n").unwrap();
        let kept = analyse_study(std::slice::from_ref(&rec), &cfg, None);
        // Kept as a trial, its stimulus is not in the set: the analysis says so.
        assert!(kept.is_err() || names(&kept.unwrap()).len() == 5);
        let first = rec.trials[0].stimulus_id.clone();
        let cfg = AnalysisConfig {
            trials: TrialsConfig {
                exclude: vec![first.clone()],
            },
            ..AnalysisConfig::default()
        };
        let study = analyse_study(std::slice::from_ref(&rec), &cfg, None).unwrap();
        assert!(!names(&study).contains(&first));
    }

    #[test]
    fn recordings_analysed_in_parallel_join_in_their_order() {
        let recs: Vec<Recording> = (0..7).map(recording).collect();
        let cfg = AnalysisConfig::default();
        let study = analyse_study(&recs, &cfg, None).unwrap();
        let alone: Vec<StudyAnalysis> = recs
            .iter()
            .map(|r| analyse_study(std::slice::from_ref(r), &cfg, None).unwrap())
            .collect();
        let joined = |f: fn(&StudyAnalysis) -> Vec<String>| -> Vec<String> {
            alone.iter().flat_map(f).collect()
        };
        let fixations = |s: &StudyAnalysis| s.fixations.iter().map(|f| format!("{f:?}")).collect();
        let dwell = |s: &StudyAnalysis| s.dwell.iter().map(|d| format!("{d:?}")).collect();
        let metrics = |s: &StudyAnalysis| s.metrics.iter().map(|m| format!("{m:?}")).collect();
        assert!(study.fixations.len() > 7);
        assert_eq!(fixations(&study), joined(fixations));
        assert_eq!(dwell(&study), joined(dwell));
        assert_eq!(metrics(&study), joined(metrics));
        assert_eq!(
            each_in_parallel(recs.len(), |i| recs[i].header.participant.clone()),
            (0..7).map(|k| format!("P{k}")).collect::<Vec<_>>()
        );
    }
}
