//! Survey results: per-answer correctness, Table 4 (accuracy per condition, reconstructed vs
//! manipulated, with a p-value), per-version and per-respondent accuracy, respondent summary,
//! and the confusion matrices (Figure 4).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::map::SurveyMap;
use super::qualtrics::{Completion, Export};
use crate::descriptive::mean;
use crate::hypothesis_tests::welch_t_test;
use crate::hypothesis_tests::{two_proportion_z, wilcoxon, Method};
use crate::table::esc;
use crate::table::{fmt_p, p_phrase};
use crate::table::{Shown, Table};
use crate::AnalysisError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyTest {
    /// Per response: pooled two-proportion z-test (= chi-square without Yates).
    TwoProportion,
    /// Per respondent: Wilcoxon signed-rank of each respondent's reconstructed vs manipulated
    /// accuracy within the condition.
    PairedWilcoxon,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SurveyConfig {
    pub completion: Completion,
    pub test: SurveyTest,
}

impl Default for SurveyConfig {
    fn default() -> Self {
        SurveyConfig {
            completion: Completion::FinishedAndAllAnswered,
            test: SurveyTest::TwoProportion,
        }
    }
}

impl SurveyConfig {
    pub fn load(path: &Path) -> Result<SurveyConfig, AnalysisError> {
        Ok(et_files::toml_file::load(path, "survey config")?)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub respondent: String,
    pub version: String,
    pub question: String,
    pub stimulus_id: String,
    pub condition: String,
    pub variant: String,
    pub expression: String,
    pub label: String,
    pub correct: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table4Row {
    pub condition: String,
    pub overall: f64,
    pub n_reconstructed: usize,
    pub reconstructed: f64,
    pub n_manipulated: usize,
    pub manipulated: f64,
    pub test: &'static str,
    pub p: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VersionRow {
    pub version: String,
    pub responses: usize,
    pub previews: usize,
    pub incomplete: usize,
    pub complete: usize,
    /// Mean of the complete respondents' accuracies.
    pub accuracy: f64,
}

#[derive(Debug, Clone)]
pub struct SurveyResults {
    pub config: SurveyConfig,
    pub choices: Vec<String>,
    pub answers: Vec<Answer>,
    pub table4: Vec<Table4Row>,
    pub versions: Vec<VersionRow>,
    /// Welch's t-test of per-respondent accuracy between the first two versions.
    pub version_p: f64,
    /// (respondent, version, answers, accuracy).
    pub respondents: Vec<(String, String, usize, f64)>,
    /// Variant → condition → counts per answer label (in `choices` order).
    pub confusion: BTreeMap<String, BTreeMap<String, Vec<usize>>>,
}

/// Analyses exports, each with its survey version, against the map.
pub fn analyse_survey(
    exports: &[(String, String, Export)],
    map: &SurveyMap,
    cfg: &SurveyConfig,
) -> Result<SurveyResults, AnalysisError> {
    let mut answers = Vec::new();
    let mut versions = Vec::new();
    let mut respondents = Vec::new();
    for (version, origin, export) in exports {
        let questions: Vec<_> = map
            .questions
            .iter()
            .filter(|q| &q.version == version)
            .collect();
        if questions.is_empty() {
            return Err(AnalysisError::Input {
                path: origin.clone(),
                message: format!("the survey map has no questions for version {version}"),
            });
        }
        for q in &questions {
            if !export.columns.contains(&q.question) {
                return Err(AnalysisError::Input {
                    path: origin.clone(),
                    message: format!("the map's question {} (version {version}, {}) is not a column of the export", q.question, q.stimulus_id),
                });
            }
        }
        let mut row = VersionRow {
            version: version.clone(),
            responses: export.responses.len(),
            previews: 0,
            incomplete: 0,
            complete: 0,
            accuracy: f64::NAN,
        };
        let mut accs = Vec::new();
        for r in &export.responses {
            if r.preview {
                row.previews += 1;
                continue;
            }
            let all_answered = questions
                .iter()
                .all(|q| r.answers.get(&q.question).is_some_and(|a| !a.is_empty()));
            let complete = match cfg.completion {
                Completion::FinishedAndAllAnswered => r.finished && all_answered,
                Completion::Finished => r.finished,
                Completion::All => true,
            };
            if !complete {
                row.incomplete += 1;
                continue;
            }
            row.complete += 1;
            let mut right = 0usize;
            let mut n = 0usize;
            for q in &questions {
                let raw = r.answers.get(&q.question).map(String::as_str).unwrap_or("");
                if raw.is_empty() {
                    continue;
                }
                let label = map.label(raw).ok_or_else(|| AnalysisError::Input {
                    path: origin.clone(),
                    message: format!(
                        "response {}, question {}: answer {raw:?} is not one of the map's choices ({}) or aliases",
                        r.response_id,
                        q.question,
                        map.choices.join(", ")
                    ),
                })?;
                let correct = label.eq_ignore_ascii_case(&q.condition);
                right += usize::from(correct);
                n += 1;
                answers.push(Answer {
                    respondent: r.response_id.clone(),
                    version: version.clone(),
                    question: q.question.clone(),
                    stimulus_id: q.stimulus_id.clone(),
                    condition: q.condition.clone(),
                    variant: q.variant.clone(),
                    expression: q.expression.clone(),
                    label,
                    correct,
                });
            }
            if n > 0 {
                let acc = right as f64 / n as f64;
                accs.push(acc);
                respondents.push((r.response_id.clone(), version.clone(), n, acc));
            }
        }
        row.accuracy = if accs.is_empty() {
            f64::NAN
        } else {
            mean(&accs)
        };
        versions.push(row);
    }
    let version_p = if exports.len() >= 2 {
        let acc_of = |v: &str| {
            respondents
                .iter()
                .filter(|r| r.1 == v)
                .map(|r| r.3)
                .collect::<Vec<f64>>()
        };
        welch_t_test(&acc_of(&exports[0].0), &acc_of(&exports[1].0)).map_or(f64::NAN, |t| t.p)
    } else {
        f64::NAN
    };
    let mut conditions: Vec<String> = map.questions.iter().map(|q| q.condition.clone()).collect();
    conditions.sort();
    conditions.dedup();
    let mut table4 = Vec::new();
    for c in conditions
        .iter()
        .map(String::as_str)
        .chain(std::iter::once("all"))
    {
        let pick = |variant: &str| {
            answers
                .iter()
                .filter(|a| (c == "all" || a.condition == c) && a.variant == variant)
                .collect::<Vec<_>>()
        };
        let (rec, man) = (pick("reconstructed"), pick("manipulated"));
        let acc = |v: &[&Answer]| v.iter().filter(|a| a.correct).count() as f64 / v.len() as f64;
        let (kr, km) = (
            rec.iter().filter(|a| a.correct).count() as u64,
            man.iter().filter(|a| a.correct).count() as u64,
        );
        let (test, p) = match cfg.test {
            SurveyTest::TwoProportion => (
                "two_proportion_z",
                two_proportion_z(kr, rec.len() as u64, km, man.len() as u64)
                    .map_or(f64::NAN, |r| r.1),
            ),
            SurveyTest::PairedWilcoxon => {
                let mut diffs = Vec::new();
                for (id, ..) in &respondents {
                    let mine = |v: &[&Answer]| {
                        let m: Vec<_> = v.iter().filter(|a| &a.respondent == id).collect();
                        (!m.is_empty())
                            .then(|| m.iter().filter(|a| a.correct).count() as f64 / m.len() as f64)
                    };
                    if let (Some(a), Some(b)) = (mine(&rec), mine(&man)) {
                        diffs.push(a - b);
                    }
                }
                (
                    "paired_wilcoxon",
                    wilcoxon(&diffs, Method::Auto).map_or(f64::NAN, |r| r.p),
                )
            }
        };
        let all: Vec<&Answer> = rec.iter().chain(man.iter()).copied().collect();
        table4.push(Table4Row {
            condition: c.into(),
            overall: acc(&all),
            n_reconstructed: rec.len(),
            reconstructed: acc(&rec),
            n_manipulated: man.len(),
            manipulated: acc(&man),
            test,
            p,
        });
    }
    let mut confusion: BTreeMap<String, BTreeMap<String, Vec<usize>>> = BTreeMap::new();
    for a in &answers {
        let row = confusion
            .entry(a.variant.clone())
            .or_default()
            .entry(a.condition.clone())
            .or_insert_with(|| vec![0; map.choices.len()]);
        if let Some(i) = map.choices.iter().position(|c| c == &a.label) {
            row[i] += 1;
        }
    }
    Ok(SurveyResults {
        config: cfg.clone(),
        choices: map.choices.clone(),
        answers,
        table4,
        versions,
        version_p,
        respondents,
        confusion,
    })
}

fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}", 100.0 * v)
    } else {
        "n/a".into()
    }
}

impl SurveyResults {
    pub fn render(&self) -> String {
        let mut s = String::new();
        let test = self.table4.first().map_or("", |r| r.test);
        let _ = writeln!(
            s,
            "Diagnostic accuracy (%), reconstructed vs manipulated images; p: {test}"
        );
        let _ = writeln!(
            s,
            "{:<10} {:>8} {:>14} {:>14} {:>10}",
            "condition", "overall", "reconstructed", "manipulated", "p"
        );
        for r in &self.table4 {
            let _ = writeln!(
                s,
                "{:<10} {:>8} {:>14} {:>14} {:>10}",
                r.condition,
                pct(r.overall),
                pct(r.reconstructed),
                pct(r.manipulated),
                fmt_p(r.p)
            );
        }
        let _ = writeln!(s, "\nSurvey versions (complete respondents' mean accuracy)");
        for v in &self.versions {
            let _ = writeln!(
                s,
                "  {}: {} complete of {} responses ({} previews, {} incomplete), accuracy {}%",
                v.version,
                v.complete,
                v.responses,
                v.previews,
                v.incomplete,
                pct(v.accuracy)
            );
        }
        let _ = writeln!(
            s,
            "  versions compared (Welch t on respondent accuracy): {}",
            p_phrase(self.version_p)
        );
        s
    }

    /// Writes the tables (CSV), `figure4.png` and `survey_report.html` into `dir`.
    /// Table 4, the answers and the respondents, declared once for CSV and Parquet.
    pub fn tables(&self) -> Vec<crate::table::Table> {
        let t = &self.table4;
        let a = &self.answers;
        let r = &self.respondents;
        let v = &self.versions;
        let mut tables = vec![
            Table::new("table4")
                .text("condition", t.iter().map(|r| r.condition.as_str()))
                .float("overall", t.iter().map(|r| r.overall))
                .count(
                    "n_reconstructed",
                    t.iter().map(|r| r.n_reconstructed as u64),
                )
                .float("reconstructed", t.iter().map(|r| r.reconstructed))
                .count("n_manipulated", t.iter().map(|r| r.n_manipulated as u64))
                .float("manipulated", t.iter().map(|r| r.manipulated))
                .text("test", t.iter().map(|r| r.test))
                .float("p", t.iter().map(|r| r.p)),
            Table::new("answers")
                .text("respondent", a.iter().map(|r| r.respondent.as_str()))
                .text("version", a.iter().map(|r| r.version.as_str()))
                .text("question", a.iter().map(|r| r.question.as_str()))
                .text("stimulus_id", a.iter().map(|r| r.stimulus_id.as_str()))
                .text("condition", a.iter().map(|r| r.condition.as_str()))
                .text("variant", a.iter().map(|r| r.variant.to_string()))
                .text("expression", a.iter().map(|r| r.expression.to_string()))
                .text("answer", a.iter().map(|r| r.label.as_str()))
                .flag("correct", a.iter().map(|r| r.correct)),
            Table::new("respondents")
                .text("respondent", r.iter().map(|x| x.0.as_str()))
                .text("version", r.iter().map(|x| x.1.as_str()))
                .count("answers", r.iter().map(|x| x.2 as u64))
                .float("accuracy", r.iter().map(|x| x.3)),
            Table::new("versions")
                .text("version", v.iter().map(|r| r.version.as_str()))
                .count("responses", v.iter().map(|r| r.responses as u64))
                .count("previews", v.iter().map(|r| r.previews as u64))
                .count("incomplete", v.iter().map(|r| r.incomplete as u64))
                .count("complete", v.iter().map(|r| r.complete as u64))
                .float("accuracy", v.iter().map(|r| r.accuracy))
                // The versions compared (Welch t on respondent accuracy), the same on each row.
                .float("versions_welch_p", v.iter().map(|_| self.version_p)),
        ];
        // Per variant, true condition × answer: one count column per answer choice.
        for (variant, rows) in &self.confusion {
            let mut t = Table::new(format!("confusion_{variant}"))
                .text("condition", rows.keys().map(String::as_str));
            for (k, choice) in self.choices.iter().enumerate() {
                let counts = rows.values().map(|c| c.get(k).map_or(0, |n| *n as u64));
                t = t.count(choice.as_str(), counts);
            }
            tables.push(t);
        }
        tables
    }

    /// Writes the tables (CSV), `figure4.png` and `survey_report.html` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), AnalysisError> {
        std::fs::create_dir_all(dir).map_err(|source| AnalysisError::Write {
            path: dir.display().to_string(),
            source,
        })?;
        let tables = self.tables();
        for t in &tables {
            t.write_csv(dir)?;
        }
        let fp = dir.join("figure4.png");
        // Labelled (titles, axes, percentages) when a font is found; else the bare grid.
        if let Err(why) = super::figure::write_confusion_figure(self, dir) {
            tracing::warn!("Figure 4 without labels: {why}");
            crate::heatmap::save_png(&self.figure4(), &fp)?;
        }
        let png = std::fs::read(&fp).map_err(|source| AnalysisError::Write {
            path: fp.display().to_string(),
            source,
        })?;
        let mut h = String::from("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>et-suite survey</title><style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.25em .6em;text-align:right}td.t,th.t{text-align:left}</style></head><body><h1>Clinician survey</h1>");
        let _ = write!(
            h,
            "<h2>Table 4: accuracy (%)</h2><p>Columns as in <code>table4.csv</code> (accuracies there as shares); p: {}.</p>",
            esc(self.table4.first().map_or("", |r| r.test))
        );
        if let Some(t) = tables.iter().find(|t| t.name == "table4") {
            h.push_str(&t.html(
                &[
                    ("condition", Shown::Plain),
                    ("overall", Shown::Percent),
                    ("n_reconstructed", Shown::Plain),
                    ("reconstructed", Shown::Percent),
                    ("n_manipulated", Shown::Plain),
                    ("manipulated", Shown::Percent),
                    ("p", Shown::P),
                ],
                |_| true,
            ));
        }
        let _ = write!(h, "<h2>Versions</h2><pre>{}</pre>", esc(&self.render()));
        for variant in self.confusion.keys() {
            let name = format!("confusion_{variant}");
            if let Some(t) = tables.iter().find(|t| t.name == name) {
                let _ = write!(
                    h,
                    "<h2>Confusion matrix: {}</h2><p>Rows: true condition; columns: answers (<code>{}.csv</code>).</p>",
                    esc(variant),
                    esc(&name)
                );
                let columns: Vec<(&str, Shown)> = t
                    .columns
                    .iter()
                    .map(|(c, _)| (c.as_str(), Shown::Plain))
                    .collect();
                h.push_str(&t.html(&columns, |_| true));
            }
        }
        let _ = writeln!(h, "<h2>Figure 4</h2><p>Row proportions, reconstructed (left) and manipulated (right); rows: true condition, columns: {}.</p><img src=\"data:image/png;base64,{}\"></body></html>", esc(&self.choices.join(", ")), crate::report::base64(&png));
        let hp = dir.join("survey_report.html");
        std::fs::write(&hp, h).map_err(|source| AnalysisError::Write {
            path: hp.display().to_string(),
            source,
        })
    }

    /// Both confusion matrices as coloured grids (row proportions), side by side.
    /// Figure 4 without text (used when no font is found for `figures::write_confusion_figure`).
    pub fn figure4(&self) -> image::RgbImage {
        let cell = 40u32;
        let cols = self.choices.len() as u32;
        let rows = self.confusion.values().map(|m| m.len()).max().unwrap_or(0) as u32;
        let mut img = image::RgbImage::from_pixel(
            2 * cols * cell + 3 * cell / 2,
            rows * cell + cell,
            image::Rgb([255, 255, 255]),
        );
        for (k, variant) in ["reconstructed", "manipulated"].iter().enumerate() {
            let Some(m) = self.confusion.get(*variant) else {
                continue;
            };
            let x0 = cell / 2 + k as u32 * (cols * cell + cell / 2);
            for (r, counts) in m.values().enumerate() {
                let total: usize = counts.iter().sum();
                for (c, n) in counts.iter().enumerate() {
                    let v = if total > 0 {
                        *n as f64 / total as f64
                    } else {
                        0.0
                    };
                    let colour = image::Rgb(crate::heatmap::colour(v));
                    for y in 0..cell - 2 {
                        for x in 0..cell - 2 {
                            img.put_pixel(
                                x0 + c as u32 * cell + x,
                                cell / 2 + r as u32 * cell + y,
                                colour,
                            );
                        }
                    }
                }
            }
        }
        img
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::map::MappedQuestion;

    fn map() -> SurveyMap {
        let q = |v: &str, id: &str, cond: &str, variant: &str| MappedQuestion {
            version: v.into(),
            question: id.into(),
            stimulus_id: format!("{cond}-{variant}"),
            identity: cond.into(),
            condition: cond.into(),
            variant: variant.into(),
            expression: "smile".into(),
        };
        SurveyMap {
            choices: vec![
                "22q".into(),
                "AS".into(),
                "NS".into(),
                "WS".into(),
                "Unaffected".into(),
            ],
            aliases: [("Williams syndrome".to_string(), "WS".to_string())].into(),
            questions: vec![
                q("A", "Q1", "WS", "reconstructed"),
                q("A", "Q2", "22q", "manipulated"),
            ],
        }
    }

    #[test]
    fn text_export_end_to_end_and_errors() {
        let e = Export::parse(crate::survey::qualtrics::tests::TEXT, "t.csv").unwrap();
        let r = analyse_survey(
            &[("A".into(), "t.csv".into(), e.clone())],
            &map(),
            &SurveyConfig::default(),
        )
        .unwrap();
        // One complete respondent (R_aaa): WS right, 22q right; R_bbb is incomplete, R_ccc a preview.
        assert_eq!(r.versions[0].complete, 1);
        assert_eq!((r.versions[0].previews, r.versions[0].incomplete), (1, 1));
        assert_eq!(r.answers.len(), 2);
        assert!(r.answers.iter().all(|a| a.correct));
        let lenient = SurveyConfig {
            completion: Completion::All,
            ..SurveyConfig::default()
        };
        assert_eq!(
            analyse_survey(&[("A".into(), "t.csv".into(), e.clone())], &map(), &lenient)
                .unwrap()
                .versions[0]
                .complete,
            2
        );

        let mut m = map();
        m.questions[1].question = "Q9".into();
        let err = analyse_survey(
            &[("A".into(), "t.csv".into(), e.clone())],
            &m,
            &SurveyConfig::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("question Q9 (version A"), "{err}");
        let mut m = map();
        m.choices.retain(|c| c != "WS");
        let err = analyse_survey(
            &[("A".into(), "t.csv".into(), e)],
            &m,
            &SurveyConfig::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("answer \"WS\" is not one of the map's choices"),
            "{err}"
        );
    }

    #[test]
    fn the_survey_report_shows_table4_from_its_declaration_with_user_text_escaped() {
        let e = Export::parse(crate::survey::qualtrics::tests::TEXT, "t.csv").unwrap();
        let mut m = map();
        // A choice label from the user's map, as it would reach the HTML.
        m.choices.push("<script>x</script>".into());
        let r = analyse_survey(
            &[("A".into(), "t.csv".into(), e)],
            &m,
            &SurveyConfig::default(),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        r.write(dir.path()).unwrap();
        let html = std::fs::read_to_string(dir.path().join("survey_report.html")).unwrap();
        assert!(!html.contains("<script>"), "unescaped user text");
        assert!(html.contains("&lt;script&gt;"));
        // Table 4's columns are the CSV's, its accuracies in percent.
        let csv = std::fs::read_to_string(dir.path().join("table4.csv")).unwrap();
        assert!(csv.starts_with("condition,overall,n_reconstructed,reconstructed,"));
        assert!(html.contains("<th>n_<wbr>reconstructed</th>"), "{html}");
        let ws = r.table4.iter().find(|t| t.condition == "WS").unwrap();
        assert!(html.contains(&format!("<td>{:.1}</td>", 100.0 * ws.overall)));
    }

    #[test]
    fn two_proportion_p_matches_scipy_on_fixed_counts() {
        // scipy 1.17.1: chi2_contingency([[68,44],[56,56]], correction=False).pvalue = 0.10677674991183483.
        let p = two_proportion_z(68, 112, 56, 112).unwrap().1;
        assert!((p - 0.10677674991183483).abs() < 1e-9);
        // scipy 1.17.1: wilcoxon([.75,.5,1,.25,.75,.5,1,.5], [.5,.5,.5,.25,.25,.75,.5,.25]).pvalue = 0.125.
        let d: Vec<f64> = [0.75, 0.5, 1.0, 0.25, 0.75, 0.5, 1.0, 0.5]
            .iter()
            .zip([0.5, 0.5, 0.5, 0.25, 0.25, 0.75, 0.5, 0.25])
            .map(|(a, b)| a - b)
            .collect();
        assert!((wilcoxon(&d, Method::Auto).unwrap().p - 0.125).abs() < 1e-9);
    }
}
