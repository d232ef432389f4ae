//! Every table as Parquet beside its CSV (polars lives here and nowhere else).

use std::path::Path;

use polars::prelude::*;

use crate::study::StudyAnalysis;
use crate::AnalysisError;

fn write(df: &mut DataFrame, path: &Path) -> Result<(), AnalysisError> {
    let file = std::fs::File::create(path).map_err(|source| AnalysisError::Write {
        path: path.display().to_string(),
        source,
    })?;
    ParquetWriter::new(file)
        .finish(df)
        .map(|_| ())
        .map_err(|e| AnalysisError::Recording {
            path: path.display().to_string(),
            message: format!("cannot write Parquet: {e}"),
        })
}

fn frame(columns: Vec<Column>, path: &Path) -> Result<DataFrame, AnalysisError> {
    DataFrame::new_infer_height(columns).map_err(|e| AnalysisError::Recording {
        path: path.display().to_string(),
        message: format!("cannot build the table: {e}"),
    })
}

impl StudyAnalysis {
    /// Writes `dwell`, `summary`, `comparisons`, `aoi_metrics`, `fixations` and `events` as
    /// `.parquet`.
    pub fn write_parquet(&self, dir: &Path) -> Result<(), AnalysisError> {
        let s = |name: &str, v: Vec<String>| Column::new(name.into(), v);
        let f = |name: &str, v: Vec<f64>| Column::new(name.into(), v);
        let u = |name: &str, v: Vec<u64>| Column::new(name.into(), v);
        let o = |name: &str, v: Vec<Option<f64>>| Column::new(name.into(), v);

        let p = dir.join("dwell.parquet");
        let d = &self.dwell;
        let mut df = frame(
            vec![
                s(
                    "participant",
                    d.iter().map(|r| r.participant.clone()).collect(),
                ),
                Column::new(
                    "trial".into(),
                    d.iter().map(|r| r.trial).collect::<Vec<i32>>(),
                ),
                s(
                    "stimulus_id",
                    d.iter().map(|r| r.stimulus_id.clone()).collect(),
                ),
                s("identity", d.iter().map(|r| r.identity.clone()).collect()),
                s("condition", d.iter().map(|r| r.condition.clone()).collect()),
                s("variant", d.iter().map(|r| r.variant.clone()).collect()),
                s(
                    "expression",
                    d.iter().map(|r| r.expression.clone()).collect(),
                ),
                s("aoi", d.iter().map(|r| r.aoi.clone()).collect()),
                f("dwell_ms", d.iter().map(|r| r.dwell_ms).collect()),
                f("valid_ms", d.iter().map(|r| r.valid_ms).collect()),
                f("trial_ms", d.iter().map(|r| r.trial_ms).collect()),
                f("proportion", d.iter().map(|r| r.proportion()).collect()),
            ],
            &p,
        )?;
        write(&mut df, &p)?;

        let p = dir.join("summary.parquet");
        let m = &self.summary;
        let mut df = frame(
            vec![
                s("condition", m.iter().map(|r| r.condition.clone()).collect()),
                s(
                    "expression",
                    m.iter().map(|r| r.expression.clone()).collect(),
                ),
                u("n", m.iter().map(|r| r.n as u64).collect()),
                f("mean_dwell_ms", m.iter().map(|r| r.mean_dwell_ms).collect()),
                f("sd_dwell_ms", m.iter().map(|r| r.sd_dwell_ms).collect()),
                f(
                    "mean_proportion",
                    m.iter().map(|r| r.mean_proportion).collect(),
                ),
            ],
            &p,
        )?;
        write(&mut df, &p)?;

        for (name, c) in [
            ("comparisons.parquet", &self.comparisons),
            ("models.parquet", &self.all_models),
        ] {
            let p = dir.join(name);
            let mut df = frame(
                vec![
                    s("condition", c.iter().map(|r| r.condition.clone()).collect()),
                    s("model", c.iter().map(|r| r.model.to_string()).collect()),
                    u("n_smile", c.iter().map(|r| r.n_smile as u64).collect()),
                    u(
                        "n_no_smile",
                        c.iter().map(|r| r.n_no_smile as u64).collect(),
                    ),
                    f("mean_smile_ms", c.iter().map(|r| r.mean_smile_ms).collect()),
                    f(
                        "mean_no_smile_ms",
                        c.iter().map(|r| r.mean_no_smile_ms).collect(),
                    ),
                    f("sd_smile_ms", c.iter().map(|r| r.sd_smile_ms).collect()),
                    f(
                        "sd_no_smile_ms",
                        c.iter().map(|r| r.sd_no_smile_ms).collect(),
                    ),
                    f("hedges_g", c.iter().map(|r| r.hedges_g).collect()),
                    f("estimate", c.iter().map(|r| r.estimate).collect()),
                    f("se", c.iter().map(|r| r.se).collect()),
                    f("ci_low", c.iter().map(|r| r.ci_low).collect()),
                    f("ci_high", c.iter().map(|r| r.ci_high).collect()),
                    s("test", c.iter().map(|r| r.test.to_string()).collect()),
                    f("statistic", c.iter().map(|r| r.statistic).collect()),
                    o("df", c.iter().map(|r| r.df).collect()),
                    f("p", c.iter().map(|r| r.p).collect()),
                    f("p_corrected", c.iter().map(|r| r.p_corrected).collect()),
                    f("wilcoxon_p", c.iter().map(|r| r.wilcoxon_p).collect()),
                    s("detail", c.iter().map(|r| r.detail.clone()).collect()),
                ],
                &p,
            )?;
            write(&mut df, &p)?;
        }

        let p = dir.join("quality_trials.parquet");
        let q = &self.trial_quality;
        let mut df = frame(
            vec![
                s(
                    "participant",
                    q.iter().map(|r| r.participant.clone()).collect(),
                ),
                Column::new(
                    "trial".into(),
                    q.iter().map(|r| r.trial).collect::<Vec<i32>>(),
                ),
                s(
                    "stimulus_id",
                    q.iter().map(|r| r.stimulus_id.clone()).collect(),
                ),
                u(
                    "expected_samples",
                    q.iter().map(|r| r.expected_samples).collect(),
                ),
                f(
                    "valid_share_left",
                    q.iter().map(|r| r.valid_share_left).collect(),
                ),
                f(
                    "valid_share_right",
                    q.iter().map(|r| r.valid_share_right).collect(),
                ),
                f(
                    "valid_share_any",
                    q.iter().map(|r| r.valid_share_any).collect(),
                ),
                f(
                    "tracker_lost_ms",
                    q.iter().map(|r| r.tracker_lost_ms).collect(),
                ),
                u(
                    "dropped_frames",
                    q.iter().map(|r| u64::from(r.dropped_frames)).collect(),
                ),
                o(
                    "aborted_after_ms",
                    q.iter().map(|r| r.aborted_after_ms).collect(),
                ),
            ],
            &p,
        )?;
        write(&mut df, &p)?;

        let p = dir.join("quality_participants.parquet");
        let q = &self.participant_quality;
        let mut df = frame(
            vec![
                s(
                    "participant",
                    q.iter().map(|r| r.participant.clone()).collect(),
                ),
                u("trials", q.iter().map(|r| r.trials as u64).collect()),
                f(
                    "valid_share_left",
                    q.iter().map(|r| r.valid_share_left).collect(),
                ),
                f(
                    "valid_share_right",
                    q.iter().map(|r| r.valid_share_right).collect(),
                ),
                f(
                    "valid_share_any",
                    q.iter().map(|r| r.valid_share_any).collect(),
                ),
                f(
                    "tracker_lost_ms",
                    q.iter().map(|r| r.tracker_lost_ms).collect(),
                ),
                u(
                    "dropped_frames",
                    q.iter().map(|r| r.dropped_frames).collect(),
                ),
                o(
                    "validation_accuracy_deg",
                    q.iter().map(|r| r.validation_accuracy_deg).collect(),
                ),
                o(
                    "validation_precision_rms_deg",
                    q.iter().map(|r| r.validation_precision_rms_deg).collect(),
                ),
            ],
            &p,
        )?;
        write(&mut df, &p)?;

        let p = dir.join("exclusions.parquet");
        let e = &self.exclusions;
        let mut df = frame(
            vec![
                s(
                    "participant",
                    e.iter().map(|r| r.participant.clone()).collect(),
                ),
                Column::new(
                    "trial".into(),
                    e.iter().map(|r| r.trial).collect::<Vec<i32>>(),
                ),
                s("rule", e.iter().map(|r| r.rule.to_string()).collect()),
                f("value", e.iter().map(|r| r.value).collect()),
                f("limit", e.iter().map(|r| r.limit).collect()),
            ],
            &p,
        )?;
        write(&mut df, &p)?;

        let p = dir.join("aoi_metrics.parquet");
        let a = &self.metrics;
        let mut df = frame(
            vec![
                s(
                    "participant",
                    a.iter().map(|r| r.participant.clone()).collect(),
                ),
                Column::new(
                    "trial".into(),
                    a.iter().map(|r| r.trial).collect::<Vec<i32>>(),
                ),
                s(
                    "stimulus_id",
                    a.iter().map(|r| r.stimulus_id.clone()).collect(),
                ),
                s("condition", a.iter().map(|r| r.condition.clone()).collect()),
                s(
                    "expression",
                    a.iter().map(|r| r.expression.clone()).collect(),
                ),
                s("aoi", a.iter().map(|r| r.aoi.clone()).collect()),
                f("dwell_ms", a.iter().map(|r| r.dwell_ms).collect()),
                f(
                    "dwell_proportion",
                    a.iter().map(|r| r.dwell_proportion).collect(),
                ),
                f(
                    "total_fixation_duration_ms",
                    a.iter().map(|r| r.total_fixation_duration_ms).collect(),
                ),
                u(
                    "fixation_count",
                    a.iter().map(|r| r.fixation_count as u64).collect(),
                ),
                o(
                    "time_to_first_fixation_ms",
                    a.iter().map(|r| r.time_to_first_fixation_ms).collect(),
                ),
                o(
                    "first_fixation_duration_ms",
                    a.iter().map(|r| r.first_fixation_duration_ms).collect(),
                ),
                u(
                    "visit_count",
                    a.iter().map(|r| r.visit_count as u64).collect(),
                ),
                f(
                    "total_visit_duration_ms",
                    a.iter().map(|r| r.total_visit_duration_ms).collect(),
                ),
            ],
            &p,
        )?;
        write(&mut df, &p)?;

        let p = dir.join("fixations.parquet");
        let x = &self.fixations;
        let mut df = frame(
            vec![
                s(
                    "participant",
                    x.iter().map(|r| r.participant.clone()).collect(),
                ),
                Column::new(
                    "trial".into(),
                    x.iter().map(|r| r.trial).collect::<Vec<i32>>(),
                ),
                Column::new(
                    "start_us".into(),
                    x.iter().map(|r| r.start_us).collect::<Vec<i64>>(),
                ),
                Column::new(
                    "end_us".into(),
                    x.iter().map(|r| r.end_us).collect::<Vec<i64>>(),
                ),
                f("duration_ms", x.iter().map(|r| r.duration_ms).collect()),
                f("screen_x", x.iter().map(|r| r.screen_x).collect()),
                f("screen_y", x.iter().map(|r| r.screen_y).collect()),
                f(
                    "dispersion_deg",
                    x.iter().map(|r| r.dispersion_deg).collect(),
                ),
                u("samples", x.iter().map(|r| r.samples as u64).collect()),
            ],
            &p,
        )?;
        write(&mut df, &p)?;

        let p = dir.join("events.parquet");
        let e = &self.events;
        let mut df = frame(
            vec![
                s("participant", e.iter().map(|r| r.0.clone()).collect()),
                Column::new("ts_us".into(), e.iter().map(|r| r.1).collect::<Vec<i64>>()),
                s("kind", e.iter().map(|r| r.2.clone()).collect()),
                Column::new("trial".into(), e.iter().map(|r| r.3).collect::<Vec<i32>>()),
                s("text", e.iter().map(|r| r.4.clone()).collect()),
            ],
            &p,
        )?;
        write(&mut df, &p)
    }
}

/// Every sample of a recording as a table (one row per sample, both eyes), written as Parquet
/// or CSV by the file's extension.
pub fn write_samples(rec: &et_sessions::Recording, path: &Path) -> Result<usize, AnalysisError> {
    let g = &rec.gaze;
    let f32s = |name: &str, f: &dyn Fn(&et_drivers::GazeSample) -> f32| {
        Column::new(name.into(), g.iter().map(f).collect::<Vec<f32>>())
    };
    let bools = |name: &str, f: &dyn Fn(&et_drivers::GazeSample) -> bool| {
        Column::new(name.into(), g.iter().map(f).collect::<Vec<bool>>())
    };
    let mut cols = vec![
        Column::new(
            "system_ts_us".into(),
            g.iter().map(|s| s.system_ts_us).collect::<Vec<i64>>(),
        ),
        Column::new(
            "device_ts_us".into(),
            g.iter().map(|s| s.device_ts_us).collect::<Vec<i64>>(),
        ),
    ];
    for (side, left) in [("left", true), ("right", false)] {
        let e = move |s: &et_drivers::GazeSample| if left { s.left } else { s.right };
        cols.push(f32s(&format!("{side}_gaze_x"), &|s| e(s).gaze_x));
        cols.push(f32s(&format!("{side}_gaze_y"), &|s| e(s).gaze_y));
        cols.push(bools(&format!("{side}_gaze_valid"), &|s| e(s).gaze_valid));
        cols.push(f32s(&format!("{side}_pupil_mm"), &|s| e(s).pupil_mm));
        cols.push(bools(&format!("{side}_pupil_valid"), &|s| e(s).pupil_valid));
        for (k, axis) in ["x", "y", "z"].iter().enumerate() {
            cols.push(f32s(&format!("{side}_origin_{axis}"), &|s| {
                e(s).origin_mm[k]
            }));
        }
        cols.push(bools(&format!("{side}_origin_valid"), &|s| {
            e(s).origin_valid
        }));
        for (k, axis) in ["x", "y", "z"].iter().enumerate() {
            cols.push(f32s(&format!("{side}_gaze3d_{axis}"), &|s| {
                e(s).gaze3d_mm[k]
            }));
        }
    }
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        use std::fmt::Write as _;
        let mut out = cols
            .iter()
            .map(|c| c.name().to_string())
            .collect::<Vec<_>>()
            .join(",");
        out.push('\n');
        for s in g {
            let _ = write!(out, "{},{}", s.system_ts_us, s.device_ts_us);
            for e in [&s.left, &s.right] {
                let n = |v: f32| {
                    if v.is_nan() {
                        String::new()
                    } else {
                        v.to_string()
                    }
                };
                let _ = write!(
                    out,
                    ",{},{},{},{},{},{},{},{},{},{},{},{}",
                    n(e.gaze_x),
                    n(e.gaze_y),
                    e.gaze_valid,
                    n(e.pupil_mm),
                    e.pupil_valid,
                    n(e.origin_mm[0]),
                    n(e.origin_mm[1]),
                    n(e.origin_mm[2]),
                    e.origin_valid,
                    n(e.gaze3d_mm[0]),
                    n(e.gaze3d_mm[1]),
                    n(e.gaze3d_mm[2])
                );
            }
            out.push('\n');
        }
        std::fs::write(path, out).map_err(|source| AnalysisError::Write {
            path: path.display().to_string(),
            source,
        })?;
    } else {
        let mut df = frame(cols, path)?;
        write(&mut df, path)?;
    }
    Ok(g.len())
}

impl crate::survey::SurveyResults {
    /// Writes `table4.parquet`, `answers.parquet` and `respondents.parquet`.
    pub fn write_parquet(&self, dir: &Path) -> Result<(), AnalysisError> {
        let s = |name: &str, v: Vec<String>| Column::new(name.into(), v);
        let f = |name: &str, v: Vec<f64>| Column::new(name.into(), v);
        let u = |name: &str, v: Vec<u64>| Column::new(name.into(), v);
        let p = dir.join("table4.parquet");
        let t = &self.table4;
        let mut df = frame(
            vec![
                s("condition", t.iter().map(|r| r.condition.clone()).collect()),
                f("overall", t.iter().map(|r| r.overall).collect()),
                u(
                    "n_reconstructed",
                    t.iter().map(|r| r.n_reconstructed as u64).collect(),
                ),
                f("reconstructed", t.iter().map(|r| r.reconstructed).collect()),
                u(
                    "n_manipulated",
                    t.iter().map(|r| r.n_manipulated as u64).collect(),
                ),
                f("manipulated", t.iter().map(|r| r.manipulated).collect()),
                s("test", t.iter().map(|r| r.test.to_string()).collect()),
                f("p", t.iter().map(|r| r.p).collect()),
            ],
            &p,
        )?;
        write(&mut df, &p)?;
        let p = dir.join("answers.parquet");
        let a = &self.answers;
        let mut df = frame(
            vec![
                s(
                    "respondent",
                    a.iter().map(|r| r.respondent.clone()).collect(),
                ),
                s("version", a.iter().map(|r| r.version.clone()).collect()),
                s("question", a.iter().map(|r| r.question.clone()).collect()),
                s(
                    "stimulus_id",
                    a.iter().map(|r| r.stimulus_id.clone()).collect(),
                ),
                s("condition", a.iter().map(|r| r.condition.clone()).collect()),
                s("variant", a.iter().map(|r| r.variant.clone()).collect()),
                s(
                    "expression",
                    a.iter().map(|r| r.expression.clone()).collect(),
                ),
                s("answer", a.iter().map(|r| r.label.clone()).collect()),
                Column::new(
                    "correct".into(),
                    a.iter().map(|r| r.correct).collect::<Vec<bool>>(),
                ),
            ],
            &p,
        )?;
        write(&mut df, &p)?;
        let p = dir.join("respondents.parquet");
        let r = &self.respondents;
        let mut df = frame(
            vec![
                s("respondent", r.iter().map(|x| x.0.clone()).collect()),
                s("version", r.iter().map(|x| x.1.clone()).collect()),
                u("answers", r.iter().map(|x| x.2 as u64).collect()),
                f("accuracy", r.iter().map(|x| x.3).collect()),
            ],
            &p,
        )?;
        write(&mut df, &p)
    }
}
