//! The survey map: which stimulus each question of each survey version shows, and how answer
//! codes and texts map to labels.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::AnalysisError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappedQuestion {
    /// Survey version ("A", "B").
    pub version: String,
    /// The question id in the export's first header row (e.g. "Q7").
    pub question: String,
    pub stimulus_id: String,
    pub identity: String,
    pub condition: String,
    pub variant: String,
    pub expression: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyMap {
    /// Answer labels in the order of their numeric codes (1-based), for numeric exports; the
    /// labels are also the valid text answers.
    pub choices: Vec<String>,
    /// Other answer texts meaning one of the labels (e.g. "22q11.2 deletion syndrome" = "22q").
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    #[serde(rename = "question")]
    pub questions: Vec<MappedQuestion>,
}

impl SurveyMap {
    pub fn load(path: &Path) -> Result<SurveyMap, AnalysisError> {
        const WHAT: &str = "survey map";
        let m: SurveyMap = et_files::toml_file::load(path, WHAT)?;
        if m.choices.is_empty() || m.questions.is_empty() {
            return Err(
                et_files::FileError::setting(path, WHAT)(et_files::SettingError::new(
                    "question",
                    "a survey map needs choices and [[question]] entries",
                ))
                .into(),
            );
        }
        Ok(m)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// The survey versions the map names.
    pub fn versions(&self) -> Vec<String> {
        let mut v: Vec<String> = self.questions.iter().map(|q| q.version.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// The label an answer stands for: a numeric code, a label or an alias (case-insensitive).
    pub fn label(&self, answer: &str) -> Option<String> {
        let a = answer.trim();
        if let Ok(code) = a.parse::<usize>() {
            return code
                .checked_sub(1)
                .and_then(|i| self.choices.get(i))
                .cloned();
        }
        let low = a.to_lowercase();
        self.choices
            .iter()
            .find(|c| c.to_lowercase() == low)
            .cloned()
            .or_else(|| {
                self.aliases
                    .iter()
                    .find(|(k, _)| k.to_lowercase() == low)
                    .map(|(_, v)| v.clone())
            })
    }

    /// The map for a stimulus set's two counterbalanced versions: version A shows what the
    /// eye-tracking version A shows, questions Q1… in the set's order of identities.
    pub fn from_stimuli(set: &et_stimuli::StimulusSet) -> Result<SurveyMap, AnalysisError> {
        use et_stimuli::{trial_list, CounterbalanceVersion};
        let mut questions = Vec::new();
        let mut conditions: Vec<String> = set.stimuli.iter().map(|s| s.condition.clone()).collect();
        conditions.sort();
        conditions.dedup();
        for v in [CounterbalanceVersion::A, CounterbalanceVersion::B] {
            let mut trials = trial_list(set, v, 0).map_err(|e| AnalysisError::Input {
                path: set.root.display().to_string(),
                message: format!("cannot build the survey's questions: {e}"),
            })?;
            trials.sort_by(|a, b| {
                (&a.stimulus.condition, &a.stimulus.identity)
                    .cmp(&(&b.stimulus.condition, &b.stimulus.identity))
            });
            for (i, t) in trials.iter().enumerate() {
                let s = &t.stimulus;
                questions.push(MappedQuestion {
                    version: v.as_str().into(),
                    question: format!("Q{}", i + 1),
                    stimulus_id: s.id.clone(),
                    identity: s.identity.clone(),
                    condition: s.condition.clone(),
                    variant: s.variant.as_str().into(),
                    expression: s.expression.as_str().into(),
                });
            }
        }
        let mut choices = conditions;
        choices.push("Unaffected".into());
        Ok(SurveyMap {
            choices,
            aliases: BTreeMap::new(),
            questions,
        })
    }
}
