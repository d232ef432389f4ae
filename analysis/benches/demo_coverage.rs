//! Is the study's statistics calibrated on the demo's own data?
//!
//! `cargo bench -p et-analysis --bench demo_coverage [-- STUDIES]` simulates STUDIES (default
//! 100) demo studies of 10 participants through the demo's generative model (the synthetic
//! tracker's gaze on the default faces, participants and identities with their drawn attention
//! effects, the default trial order and timing) and the real analysis (`analyse_study`: I-VT,
//! the mouth AOI's dwell), and prints per model (each as `analyze` runs it, and the mixed
//! model also with smaller random parts), with the bias of its estimates, their SD over the
//! studies and the SE the model claims (a CI too narrow shows as SE < SD):
//! - with the demo's planted effect: how often the 95 % CI of smile − no smile covers the
//!   truth, and how often p < 0.05 (power);
//! - with no effect planted (both expressions draw the same attention), once with the
//!   participants' own smile effects (SD as configured: they average to exactly none, see
//!   `ParticipantAttention::on_face`) and once without: how often p < 0.05 (false
//!   positives; about 5 % is right) and how often the CI covers 0.
//!
//! The truth in ms of the planted effect is not a parameter of the generator (gaze is drawn
//! from visit weights and lengths, then filtered and mapped to AOIs), so it is measured: the
//! mean dwell difference over a separate population of 400 studies of 50 simulated
//! participants (20 000 people on 12 800 drawn identities), with its Monte Carlo SE printed
//! beside it (about 3 ms, against model SEs near 190 ms: small enough that a CI ending within
//! a few ms of the truth is decided by the data, not by the truth's own noise).
//!
//! What it leaves out of a real demo: the session's presentation timing and calibration, and
//! the HDF5 round trip (both checked elsewhere); the gaze stream is the synthetic tracker's
//! own (`samples_between`, tested equal to what its thread streams).

use std::path::PathBuf;
use std::time::Instant;

use et_analysis::compare::{compare_with, ComparisonRow};
use et_analysis::mixed::Ddf;
use et_analysis::{analyse_study, trial_dwell, AnalysisConfig, StudyModel};
use et_drivers::synthetic::{samples_between, Scene, SceneTimeline, SyntheticConfig};
use et_recording::{Recording, RecordingHeader, TrialRecord};
use et_sessions::attention::image_scene;
use et_sessions::placement::fit_rect;
use et_sessions::StudyConfig;
use et_stimuli::{trial_list, StimulusSet};

const PARTICIPANTS: u32 = 10;

/// One simulated participant's recording, as the demo's session would have recorded it
/// (trials back to back after a second of blank screen).
fn participant(set: &StimulusSet, manifest: &str, cfg: &StudyConfig) -> Recording {
    let t = &cfg.timing;
    let (w, h) = (cfg.screen.width_px, cfg.screen.height_px);
    let rect = fit_rect(set.image_width, set.image_height, w, h);
    let specs = trial_list(set, cfg.counterbalance_version(), cfg.order_seed())
        .expect("the default set has a trial list");
    let attention = cfg.attention.for_participant(&cfg.participant);
    let scene = SceneTimeline::new();
    let ms = |v: u32| i64::from(v) * 1000;
    let start = 1_000_000i64;
    let mut at = start + 1_000_000;
    let mut trials = Vec::new();
    for spec in &specs {
        let st = &spec.stimulus;
        scene.publish(at, Scene::Target { x: 0.5, y: 0.5 });
        let onset = at + ms(t.fixation_ms);
        let face = attention.on_face(st.expression, &st.identity);
        scene.publish(onset, image_scene(set, &face, rect, w, h));
        let offset = onset + ms(t.stimulus_ms);
        scene.publish(offset, Scene::Blank);
        trials.push(TrialRecord {
            onset_us: onset,
            offset_us: offset,
            frames: (f64::from(t.stimulus_ms) * t.refresh_hz / 1000.0).round() as u32,
            ..TrialRecord::showing(spec.index as i32, st, rect)
        });
        at = offset + ms(t.iti_ms);
    }
    let tracker = SyntheticConfig {
        seed: cfg.tracker_seed(),
        sampling_hz: cfg.tracker.sampling_hz,
        screen: cfg.screen,
        ..SyntheticConfig::default()
    };
    let mut header = RecordingHeader::new(&cfg.participant, &cfg.session);
    header.sampling_hz = cfg.tracker.sampling_hz;
    header.screen = cfg.screen;
    header.stimulus_set = set.name.clone();
    header.complete = true;
    let gaze = samples_between(&tracker, &scene, start, at);
    let path = format!("simulated/{}.h5", cfg.participant);
    Recording {
        manifest: manifest.to_string(),
        ..Recording::in_memory(path, header, gaze, trials)
    }
}

/// The default study config with the demo's attention, or with no effect planted (both
/// expressions draw the same attention), its participants with or without smile effects of
/// their own.
fn study_config(planted: bool, own_smile_effects: bool) -> StudyConfig {
    let mut cfg = StudyConfig::default();
    if !planted {
        cfg.attention.no_smile = cfg.attention.smile;
    }
    if !own_smile_effects {
        cfg.attention.participant_smile_sd = 0.0;
    }
    cfg
}

/// `n` simulated participants of the study drawn with `seed`.
fn study(
    set: &StimulusSet,
    manifest: &str,
    base: &StudyConfig,
    seed: u64,
    n: u32,
) -> Vec<Recording> {
    (0..n)
        .map(|i| participant(set, manifest, &base.simulated_participant(seed, i)))
        .collect()
}

/// Smile − no smile in mouth dwell (ms), the mean over the participants of `recs` of each
/// one's difference: the estimand of every model on a balanced design. Dwell as `analyze`
/// computes it (`trial_dwell`), without the rest of the analysis.
fn mean_difference(recs: &[Recording], cfg: &AnalysisConfig) -> f64 {
    let per_participant: Vec<f64> = recs
        .iter()
        .map(|r| {
            let set = r
                .stimulus_set()
                .expect("a stored manifest")
                .expect("a valid manifest");
            let dwell: Vec<_> = r
                .trials
                .iter()
                .flat_map(|t| trial_dwell(r, &set, t))
                .filter(|d| d.aoi == cfg.aoi)
                .collect();
            let mean = |e: &str| {
                let v: Vec<f64> = dwell
                    .iter()
                    .filter(|d| d.expression == e)
                    .map(|d| d.dwell_ms)
                    .collect();
                v.iter().sum::<f64>() / v.len() as f64
            };
            mean("smile") - mean("no_smile")
        })
        .collect();
    per_participant.iter().sum::<f64>() / per_participant.len() as f64
}

/// Studies the truth is measured on, and participants in each.
const TRUTH_STUDIES: u64 = 400;
const TRUTH_PARTICIPANTS: u32 = 50;

/// Each truth study's mean difference (`mean_difference`), the studies spread over the cores
/// (seeds 1 000 000 on, apart from the simulated studies' 1..).
fn truth_studies(
    set: &StimulusSet,
    manifest: &str,
    planted: &StudyConfig,
    cfg: &AnalysisConfig,
) -> Vec<f64> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let one = |j: u64| {
        let recs = study(set, manifest, planted, 1_000_000 + j, TRUTH_PARTICIPANTS);
        mean_difference(&recs, cfg)
    };
    let mut all: Vec<(u64, f64)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|w| {
                s.spawn(move || {
                    (w..TRUTH_STUDIES)
                        .step_by(threads as usize)
                        .map(|j| (j, one(j)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|h| h.join().expect("a truth worker"))
            .collect()
    });
    all.sort_by_key(|(j, _)| *j);
    all.into_iter().map(|(_, d)| d).collect()
}

/// With `ET_COVERAGE_DWELL=DIR`, each study's dwell rows go to `DIR/<scenario>-<seed>.csv`
/// (participant, identity, expression, dwell_ms), for fitting the same data elsewhere
/// (`analysis/tests/reference/coverage_lme4.R` fits them with lme4 / lmerTest), and the
/// default model's result per study to `DIR/<scenario>-ours.tsv`.
fn slug(scenario: &str) -> String {
    scenario
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The default model's result for one study, one line in DIR/<scenario>-ours.tsv (seed,
/// estimate, SE, df, CI, the fit's detail), to set beside lme4's on the same data.
fn write_default_fit(dir: &std::path::Path, scenario: &str, seed: u64, row: &ComparisonRow) {
    use std::io::Write;
    let path = dir.join(format!("{}-ours.tsv", slug(scenario)));
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("the fits' dump");
    writeln!(
        f,
        "{seed}\t{}\t{}\t{}\t{}\t{}\t{}",
        row.estimate,
        row.se,
        row.df.unwrap_or(f64::NAN),
        row.ci_low,
        row.ci_high,
        row.detail
    )
    .expect("a fit's line");
}

fn write_dwell(dir: &std::path::Path, scenario: &str, seed: u64, dwell: &[et_analysis::DwellRow]) {
    let slug = slug(scenario);
    let mut text = String::from("participant,identity,expression,dwell_ms\n");
    for d in dwell {
        text += &format!(
            "{},{},{},{}\n",
            d.participant, d.identity, d.expression, d.dwell_ms
        );
    }
    std::fs::create_dir_all(dir).expect("the dump folder");
    std::fs::write(dir.join(format!("{slug}-{seed}.csv")), text).expect("a dwell dump");
}

#[derive(Default)]
struct Tally {
    studies: u32,
    covered: u32,
    significant: u32,
    undefined: u32,
    /// What the fits without a result said (each distinct text once).
    why: Vec<String>,
    estimates: Vec<f64>,
    ses: Vec<f64>,
}

impl Tally {
    /// How far the estimates sit from `truth` on average, how much they vary, and the SE the
    /// model claims (root mean square): a CI too narrow shows as SE < SD.
    fn spread(&self, truth: f64) -> String {
        let n = self.estimates.len() as f64;
        if n < 2.0 {
            return String::new();
        }
        let mean = self.estimates.iter().sum::<f64>() / n;
        let sd = (self
            .estimates
            .iter()
            .map(|e| (e - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0))
            .sqrt();
        let se = (self.ses.iter().map(|s| s * s).sum::<f64>() / n).sqrt();
        format!(
            "   bias {:+.1} ms, SD of estimates {sd:.1} ms, model SE {se:.1} ms",
            mean - truth
        )
    }
}

/// The analyses compared: each model as `analyze` runs it, and the mixed model with smaller
/// random parts.
fn variants() -> Vec<(&'static str, StudyModel, AnalysisConfig)> {
    let d = AnalysisConfig::default();
    let with = |random_slope, identity_slope| AnalysisConfig {
        random_slope,
        identity_slope,
        ..AnalysisConfig::default()
    };
    vec![
        ("lmm (default)", StudyModel::Lmm, d.clone()),
        (
            "lmm, Satterthwaite df",
            StudyModel::Lmm,
            AnalysisConfig {
                ddf: Ddf::Satterthwaite,
                ..AnalysisConfig::default()
            },
        ),
        (
            "lmm, participant slope only",
            StudyModel::Lmm,
            with(true, false),
        ),
        ("lmm, intercepts only", StudyModel::Lmm, with(false, false)),
        ("by_participant", StudyModel::ByParticipant, d.clone()),
        ("by_item", StudyModel::ByItem, d.clone()),
        ("welch_trials", StudyModel::WelchTrials, d),
    ]
}

fn main() {
    let studies: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100);
    let set = et_stimuli::default_set::manifest(1024);
    let manifest = set.to_toml();
    let cfg = AnalysisConfig::default();
    let dump = std::env::var_os("ET_COVERAGE_DWELL").map(PathBuf::from);
    let began = Instant::now();

    // The truth: independent studies of 50 participants, spread over the cores.
    let planted = study_config(true, true);
    let population = truth_studies(&set, &manifest, &planted, &cfg);
    let truth = population.iter().sum::<f64>() / population.len() as f64;
    let sd = (population.iter().map(|d| (d - truth).powi(2)).sum::<f64>()
        / (population.len() as f64 - 1.0))
        .sqrt();
    let truth_se = sd / (population.len() as f64).sqrt();
    println!(
        "truth (planted effect, mouth dwell smile − no smile): {truth:.1} ms (Monte Carlo SE {truth_se:.1} ms over {} participants; {:.0} s)",
        population.len() * TRUTH_PARTICIPANTS as usize,
        began.elapsed().as_secs_f64()
    );

    for (label, base, target) in [
        ("planted effect", planted, truth),
        (
            "no effect, participants with smile effects of their own",
            study_config(false, true),
            0.0,
        ),
        (
            "no effect, participants alike in it",
            study_config(false, false),
            0.0,
        ),
    ] {
        let t0 = Instant::now();
        let variants = variants();
        let mut tally: Vec<Tally> = variants.iter().map(|_| Tally::default()).collect();
        for seed in 1..=studies {
            let recs = study(&set, &manifest, &base, seed, PARTICIPANTS);
            let a = analyse_study(&recs, &cfg, None).expect("the simulated study analyses");
            if let Some(dir) = &dump {
                write_dwell(dir, label, seed, &a.dwell);
            }
            for (k, ((_, model, vcfg), t)) in variants.iter().zip(&mut tally).enumerate() {
                let rows = compare_with(*model, &a.dwell, vcfg);
                let Some(row) = rows.iter().find(|r| r.condition == "all") else {
                    continue;
                };
                if let (Some(dir), 0) = (&dump, k) {
                    write_default_fit(dir, label, seed, row);
                }
                t.studies += 1;
                if !row.p.is_finite() {
                    t.undefined += 1;
                    if !t.why.contains(&row.detail) {
                        t.why.push(row.detail.clone());
                    }
                    continue;
                }
                t.estimates.push(row.estimate);
                t.ses.push(row.se);
                if row.ci_low <= target && target <= row.ci_high {
                    t.covered += 1;
                }
                if row.p < 0.05 {
                    t.significant += 1;
                }
            }
        }
        println!(
            "{label} ({studies} studies of {PARTICIPANTS} participants × 32 trials, truth {target:.1} ms; {:.0} s):",
            t0.elapsed().as_secs_f64()
        );
        for ((name, _, _), t) in variants.iter().zip(&tally) {
            let defined = t.studies - t.undefined;
            println!(
                "  {name:<28} 95 % CI covers the truth {:>3}/{defined}   p < 0.05 {:>3}/{defined}{}{}",
                t.covered,
                t.significant,
                t.spread(target),
                if t.undefined > 0 {
                    format!(
                        "   ({} without a result: {})",
                        t.undefined,
                        t.why.join("; ")
                    )
                } else {
                    String::new()
                }
            );
        }
    }
}
