//! The analysis config (`analyze --config`): which tests, models, corrections, fixation
//! filter and trials; README "Analysis config" lists every key.

use std::path::Path;

use crate::fixation::idt::IdtConfig;
use crate::fixation::ivt::IvtSpec;
use crate::mixed::Ddf;
use crate::quality::ExclusionRules;
use et_files::{FileError, SettingError};

use crate::AnalysisError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestChoice {
    Welch,
    Student,
    MannWhitney,
    Permutation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    None,
    Bonferroni,
    Holm,
    BenjaminiHochberg,
}

/// The most resamples a permutation test may take (about a minute on one core).
pub const MAX_PERMUTATIONS: usize = 1_000_000;

/// The analysis config (TOML).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisConfig {
    /// The AOI the study compares (the paper's mouth AOI).
    pub aoi: String,
    /// The model whose p-values fill the comparison table (`compare::StudyModel`); every model
    /// is also written side by side in `models.csv`.
    pub model: StudyModel,
    /// The mixed model has a by-participant random slope for expression (default: the
    /// maximal model the design justifies, Barr et al. 2013; simplified when singular).
    pub random_slope: bool,
    /// The mixed model has a by-identity random slope for expression: each face its own smile
    /// effect (expression varies within identity; default: maximal, simplified when singular).
    pub identity_slope: bool,
    /// How the mixed model's t-tests get their SE and df: `kenward_roger` (default: with ten
    /// participants, Satterthwaite's intervals on the unadjusted SE are too narrow) or
    /// `satterthwaite` (lmerTest's default).
    pub ddf: Ddf,
    /// What the models compare: `dwell_ms` or `proportion` (of the stimulus time).
    pub response: Response,
    /// The test of `model = "welch_trials"` (trials pooled as independent observations).
    pub test: TestChoice,
    pub correction: Correction,
    /// Resamples and seed of the permutation test.
    pub permutations: usize,
    pub seed: u64,
    /// Gaussian kernel SD of the heatmaps, degrees of visual angle.
    pub heatmap_sigma_deg: f64,
    /// The fixation filter: "ivt" (Tobii's I-VT, `[ivt]`) or "idt" (dispersion, `[idt]`).
    pub filter: FixationFilter,
    /// The I-VT: a preset (`auto`: as the software that recorded each recording classifies)
    /// and any stage keys overriding it.
    pub ivt: IvtSpec,
    pub idt: IdtConfig,
    /// Trials and participants left out before any statistic (`[exclusion]`; off by default).
    pub exclusion: ExclusionRules,
    /// Stimulus intervals that are not trials of the analysis (`[trials]`).
    pub trials: TrialsConfig,
}

/// `[trials]`: which stimulus intervals of a recording are not trials of the analysis.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrialsConfig {
    /// Stimulus names (or their image files' names) whose intervals are left out of every
    /// table: by default Tobii Pro Lab's own calibration, which an export lists as a stimulus.
    pub exclude: Vec<String>,
}

impl Default for TrialsConfig {
    fn default() -> Self {
        TrialsConfig {
            exclude: vec!["Eyetracker Calibration".into()],
        }
    }
}

impl TrialsConfig {
    pub(crate) fn excludes(&self, stimulus_id: &str) -> bool {
        self.exclude.iter().any(|e| {
            e.eq_ignore_ascii_case(stimulus_id)
                || et_stimuli::aoi::names_one_stimulus(e, stimulus_id)
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixationFilter {
    Ivt,
    Idt,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            aoi: "mouth".into(),
            model: StudyModel::Lmm,
            random_slope: true,
            identity_slope: true,
            ddf: Ddf::KenwardRoger,
            response: Response::DwellMs,
            test: TestChoice::Welch,
            correction: Correction::Holm,
            permutations: 10_000,
            seed: 1,
            heatmap_sigma_deg: 1.0,
            filter: FixationFilter::Ivt,
            ivt: IvtSpec::default(),
            idt: IdtConfig::default(),
            exclusion: ExclusionRules::default(),
            trials: TrialsConfig::default(),
        }
    }
}

impl Correction {
    pub fn as_str(self) -> &'static str {
        match self {
            Correction::None => "none",
            Correction::Bonferroni => "bonferroni",
            Correction::Holm => "holm",
            Correction::BenjaminiHochberg => "benjamini_hochberg",
        }
    }
}

impl AnalysisConfig {
    pub fn load(path: &Path) -> Result<Self, AnalysisError> {
        const WHAT: &str = "analysis config";
        let cfg: AnalysisConfig = et_files::toml_file::load(path, WHAT)?;
        cfg.validate().map_err(FileError::setting(path, WHAT))?;
        Ok(cfg)
    }

    /// Every setting within its bounds, else the first that is not.
    pub fn validate(&self) -> Result<(), SettingError> {
        self.ivt.validate()?;
        self.idt.validate()?;
        self.exclusion.validate()?;
        if !(self.heatmap_sigma_deg.is_finite()
            && self.heatmap_sigma_deg > 0.0
            && self.heatmap_sigma_deg <= 10.0)
        {
            return Err(SettingError::new(
                "heatmap_sigma_deg",
                format!(
                    "heatmap_sigma_deg must be in (0, 10], got {}",
                    self.heatmap_sigma_deg
                ),
            ));
        }
        if !(100..=MAX_PERMUTATIONS).contains(&self.permutations) {
            return Err(SettingError::new(
                "permutations",
                format!(
                    "permutations must be 100 to {MAX_PERMUTATIONS}, got {}",
                    self.permutations
                ),
            ));
        }
        Ok(())
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// The config's keys and tables as a user writes them, in the order declared (`aoi`, …,
    /// `[ivt]`, …): read from the declaration itself, so `analyze --help` lists what exists.
    pub fn keys() -> Vec<String> {
        let text = AnalysisConfig::default().to_toml();
        let mut keys = Vec::new();
        let mut top = true;
        for line in text.lines() {
            let line = line.trim();
            if let Some(table) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                top = false;
                if !table.contains('.') {
                    keys.push(format!("[{table}]"));
                }
            } else if let Some((key, _)) = line.split_once(" = ").filter(|_| top) {
                keys.push(key.to_string());
            }
        }
        keys
    }
}

/// A setting's name as the config writes it (`snake_case`).
pub(crate) fn setting_name<T: serde::Serialize>(v: &T) -> String {
    toml::Value::try_from(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Which model gives the p-values of the comparison table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StudyModel {
    /// `response ~ smile + (1 + smile | participant) + (1 + smile | identity)` (REML,
    /// Kenward–Roger or Satterthwaite as configured; the slopes as configured, simplified while
    /// singular or not converging).
    Lmm,
    /// Per participant, mean of smile vs no smile images: paired t and Wilcoxon (F1).
    ByParticipant,
    /// Per identity, mean over participants of its smile vs no smile image: paired (F2).
    ByItem,
    /// Every participant × image an independent observation, `test` between the groups.
    WelchTrials,
}

impl StudyModel {
    pub const ALL: [StudyModel; 4] = [
        StudyModel::Lmm,
        StudyModel::ByParticipant,
        StudyModel::ByItem,
        StudyModel::WelchTrials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StudyModel::Lmm => "lmm",
            StudyModel::ByParticipant => "by_participant",
            StudyModel::ByItem => "by_item",
            StudyModel::WelchTrials => "welch_trials",
        }
    }
}

/// What the models compare: dwell time, or dwell as a share of the stimulus time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    DwellMs,
    Proportion,
}
