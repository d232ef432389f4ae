//! The study's eye-tracking result: dwell on one AOI per condition × expression, and Welch
//! t-tests of smile against no smile per condition and over all images. The unit of analysis
//! is one participant viewing one image.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use et_sessions::Recording;

use crate::dwell::{trial_dwell, DwellRow};
use crate::fixation::ivt::{ivt, IvtConfig};
use crate::metrics::{trial_metrics, AoiMetrics};
use crate::stats::{mean, variance, welch_t_test, TTest};
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

#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonRow {
    /// A condition, or "all".
    pub condition: String,
    pub n_smile: usize,
    pub n_no_smile: usize,
    pub mean_smile_ms: f64,
    pub mean_no_smile_ms: f64,
    pub test: Option<TTest>,
}

#[derive(Debug, Clone)]
pub struct StudyAnalysis {
    pub aoi: String,
    pub dwell: Vec<DwellRow>,
    /// Every AOI's metrics per participant × trial, fixations from the Tobii I-VT defaults.
    pub metrics: Vec<AoiMetrics>,
    pub summary: Vec<SummaryRow>,
    pub comparisons: Vec<ComparisonRow>,
}

/// Analyses every recording on `aoi`, using the stimulus set each recording stores.
pub fn analyse_study(recordings: &[Recording], aoi: &str) -> Result<StudyAnalysis, AnalysisError> {
    let mut dwell = Vec::new();
    let mut metrics = Vec::new();
    for rec in recordings {
        let set = match rec.stimulus_set() {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                return Err(AnalysisError::Recording {
                    path: rec.path.display().to_string(),
                    message: e.to_string(),
                })
            }
            None => return Err(AnalysisError::Recording {
                path: rec.path.display().to_string(),
                message:
                    "the recording stores no stimulus manifest (/stimuli), so its AOIs are unknown"
                        .into(),
            }),
        };
        if !set.aoi_names().iter().any(|n| n == aoi) {
            return Err(AnalysisError::Recording {
                path: rec.path.display().to_string(),
                message: format!(
                    "the stimulus set has no AOI named '{aoi}' (it has: {})",
                    set.aoi_names().join(", ")
                ),
            });
        }
        if !rec.gaze.iter().any(|s| s.mean_gaze().is_some()) {
            return Err(AnalysisError::Recording {
                path: rec.path.display().to_string(),
                message: "the recording holds no valid gaze samples".into(),
            });
        }
        let fix = ivt(
            &rec.gaze,
            &rec.header.screen,
            rec.header.sampling_hz,
            &IvtConfig::default(),
        );
        for t in &rec.trials {
            dwell.extend(
                trial_dwell(rec, &set, t)
                    .into_iter()
                    .filter(|r| r.aoi == aoi),
            );
            metrics.extend(trial_metrics(rec, &set, t, &fix));
        }
    }
    let mut groups: BTreeMap<(String, String), Vec<&DwellRow>> = BTreeMap::new();
    for r in &dwell {
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
    let mut conditions: Vec<String> = dwell.iter().map(|r| r.condition.clone()).collect();
    conditions.sort();
    conditions.dedup();
    conditions.push("all".into());
    let comparisons = conditions
        .into_iter()
        .map(|c| {
            let pick = |e: &str| -> Vec<f64> {
                dwell
                    .iter()
                    .filter(|r| (c == "all" || r.condition == c) && r.expression == e)
                    .map(|r| r.dwell_ms)
                    .collect()
            };
            let (s, n) = (pick("smile"), pick("no_smile"));
            ComparisonRow {
                n_smile: s.len(),
                n_no_smile: n.len(),
                mean_smile_ms: mean(&s),
                mean_no_smile_ms: mean(&n),
                test: welch_t_test(&s, &n),
                condition: c,
            }
        })
        .collect();
    Ok(StudyAnalysis {
        aoi: aoi.into(),
        dwell,
        metrics,
        summary,
        comparisons,
    })
}

fn fmt_p(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.3e}")
    } else {
        format!("{p:.4}")
    }
}

impl StudyAnalysis {
    /// The tables as text for the terminal.
    pub fn render(&self) -> String {
        let mut s = String::new();
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
        let _ = writeln!(s, "\nSmile vs no smile, Welch t-test (two-sided)");
        let _ = writeln!(
            s,
            "{:<10} {:>8} {:>8} {:>12} {:>12} {:>9} {:>8} {:>10}",
            "condition", "n_smile", "n_none", "smile_ms", "no_smile_ms", "t", "df", "p"
        );
        for c in &self.comparisons {
            let (t, df, p) = c
                .test
                .map_or(("n/a".into(), "n/a".into(), "n/a".into()), |t| {
                    (format!("{:.3}", t.t), format!("{:.1}", t.df), fmt_p(t.p))
                });
            let _ = writeln!(
                s,
                "{:<10} {:>8} {:>8} {:>12.1} {:>12.1} {:>9} {:>8} {:>10}",
                c.condition, c.n_smile, c.n_no_smile, c.mean_smile_ms, c.mean_no_smile_ms, t, df, p
            );
        }
        s
    }

    /// Writes `dwell.csv`, `summary.csv`, `comparisons.csv` and `aoi_metrics.csv` into `dir`.
    pub fn write_csv(&self, dir: &Path) -> Result<(), AnalysisError> {
        let werr = |p: &Path| {
            let path = p.display().to_string();
            move |source| AnalysisError::Write { path, source }
        };
        std::fs::create_dir_all(dir).map_err(werr(dir))?;
        let mut d = String::from("participant,trial,stimulus_id,identity,condition,variant,expression,aoi,dwell_ms,valid_ms,trial_ms,proportion\n");
        for r in &self.dwell {
            let _ = writeln!(
                d,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                csv(&r.participant),
                r.trial,
                csv(&r.stimulus_id),
                csv(&r.identity),
                csv(&r.condition),
                r.variant,
                r.expression,
                csv(&r.aoi),
                r.dwell_ms,
                r.valid_ms,
                r.trial_ms,
                r.proportion()
            );
        }
        let mut s =
            String::from("condition,expression,n,mean_dwell_ms,sd_dwell_ms,mean_proportion\n");
        for r in &self.summary {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{}",
                csv(&r.condition),
                r.expression,
                r.n,
                r.mean_dwell_ms,
                r.sd_dwell_ms,
                r.mean_proportion
            );
        }
        let mut c = String::from(
            "condition,n_smile,n_no_smile,mean_smile_ms,mean_no_smile_ms,test,t,df,p\n",
        );
        for r in &self.comparisons {
            let (t, df, p) = r
                .test
                .map_or((f64::NAN, f64::NAN, f64::NAN), |t| (t.t, t.df, t.p));
            let _ = writeln!(
                c,
                "{},{},{},{},{},welch_t,{t},{df},{p}",
                csv(&r.condition),
                r.n_smile,
                r.n_no_smile,
                r.mean_smile_ms,
                r.mean_no_smile_ms
            );
        }
        let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
        let mut m = String::from("participant,trial,stimulus_id,condition,expression,aoi,dwell_ms,dwell_proportion,total_fixation_duration_ms,fixation_count,time_to_first_fixation_ms,first_fixation_duration_ms,visit_count,total_visit_duration_ms\n");
        for r in &self.metrics {
            let _ = writeln!(
                m,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                csv(&r.participant),
                r.trial,
                csv(&r.stimulus_id),
                csv(&r.condition),
                r.expression,
                csv(&r.aoi),
                r.dwell_ms,
                r.dwell_proportion,
                r.total_fixation_duration_ms,
                r.fixation_count,
                opt(r.time_to_first_fixation_ms),
                opt(r.first_fixation_duration_ms),
                r.visit_count,
                r.total_visit_duration_ms
            );
        }
        for (name, text) in [
            ("dwell.csv", d),
            ("summary.csv", s),
            ("comparisons.csv", c),
            ("aoi_metrics.csv", m),
        ] {
            let p = dir.join(name);
            std::fs::write(&p, text).map_err(werr(&p))?;
        }
        Ok(())
    }
}

/// Quotes a CSV field when it needs it.
fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
