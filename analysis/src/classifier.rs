//! The paper's analyses of the classifier: Table 2 (out-of-fold predictions by manual smile
//! label, per condition: mean probability of the true condition with a Welch t-test, and top-1
//! accuracy with Fisher's exact test — the paper names no tests), Figure 3 (top-1 accuracy by
//! smile intensity, AU6 + AU12 from OpenFace, rounded to whole levels) and Table 3 (the
//! prepared stimuli, reconstructed vs manipulated, paired over faces).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use et_files::csv_table::{Row, Table};
use et_files::FileError;

use crate::descriptive::mean;
use crate::hypothesis_tests::welch_t_test;
use crate::hypothesis_tests::{fisher_exact, paired_t_test};
use crate::AnalysisError;

/// A p-value for a CSV: the exact value (shortest text that reads back the same), "NA" when
/// undefined; people read them rounded in the report, never here.
fn exact(p: f64) -> String {
    if p.is_finite() {
        format!("{p:?}")
    } else {
        "NA".into()
    }
}

/// One image's out-of-fold result.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub image: String,
    pub condition: String,
    pub correct: bool,
    /// Probability of the true condition.
    pub gt_probability: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table2Row {
    pub condition: String,
    pub n_smile: usize,
    pub n_no_smile: usize,
    pub prob_smile: f64,
    pub prob_no_smile: f64,
    pub p_probability: Option<f64>,
    pub top1_smile: f64,
    pub top1_no_smile: f64,
    pub p_top1: f64,
}

/// Reads `out_of_fold.csv` as `et-suite prepare classifier` writes it (image_name, label,
/// prediction, p_<class>…).
pub fn read_predictions(path: &Path) -> Result<Vec<Scored>, AnalysisError> {
    let t = Table::read(path)?;
    let (ni, nl, np) = (
        t.column("image_name")?,
        t.column("label")?,
        t.column("prediction")?,
    );
    t.rows
        .iter()
        .map(|r| {
            let label = r.get(nl).to_string();
            let pc = t.column(&format!("p_{label}"))?;
            let p = r
                .get(pc)
                .parse::<f64>()
                .map_err(|_| t.at(r.line, format!("p_{label} is not a number")))?;
            Ok(Scored {
                image: r.get(ni).to_string(),
                correct: r.get(np) == label,
                condition: label,
                gt_probability: p,
            })
        })
        .collect()
}

/// image_name → smile (1/0).
pub fn read_smile(path: &Path) -> Result<BTreeMap<String, bool>, AnalysisError> {
    let t = Table::read(path)?;
    let (ni, ns) = (t.column("image_name")?, t.column("smile")?);
    t.rows
        .iter()
        .map(|r| match r.get(ns) {
            "1" => Ok((r.get(ni).to_string(), true)),
            "0" => Ok((r.get(ni).to_string(), false)),
            other => Err(t
                .at(r.line, format!("smile must be 1 or 0, got {other:?}"))
                .into()),
        })
        .collect()
}

/// AU06_r + AU12_r per image from OpenFace's per-image CSVs in `dir` (`<image stem>.csv`;
/// OpenFace pads its column names with spaces; with several faces, the most confident row).
pub fn read_openface(
    dir: &Path,
    images: &[String],
) -> Result<BTreeMap<String, f64>, AnalysisError> {
    let mut out = BTreeMap::new();
    for img in images {
        let stem = Path::new(img)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(img);
        let path = dir.join(format!("{stem}.csv"));
        if !path.exists() {
            continue;
        }
        let t = Table::read(&path)?;
        let (a6, a12) = (t.column("AU06_r")?, t.column("AU12_r")?);
        let conf = t.column("confidence").ok();
        let num = |r: &Row, c: usize| r.get(c).parse::<f64>().ok();
        let best = t
            .rows
            .iter()
            .max_by(|x, y| {
                let cx = conf.and_then(|c| num(x, c)).unwrap_or(0.0);
                let cy = conf.and_then(|c| num(y, c)).unwrap_or(0.0);
                cx.total_cmp(&cy)
            })
            .ok_or_else(|| FileError::Invalid {
                path: path.clone(),
                message: "no rows".into(),
            })?;
        let (Some(x), Some(y)) = (num(best, a6), num(best, a12)) else {
            return Err(t.at(best.line, "AU06_r or AU12_r is not a number").into());
        };
        out.insert(img.clone(), x + y);
    }
    Ok(out)
}

/// Table 2 per condition, then all conditions together.
pub fn table2(scored: &[Scored], smile: &BTreeMap<String, bool>) -> Vec<Table2Row> {
    let mut conditions: Vec<&str> = scored.iter().map(|s| s.condition.as_str()).collect();
    conditions.sort();
    conditions.dedup();
    conditions.push("all");
    conditions
        .into_iter()
        .map(|cond| {
            let of = |want: bool| -> Vec<&Scored> {
                scored
                    .iter()
                    .filter(|s| {
                        (cond == "all" || s.condition == cond) && smile.get(&s.image) == Some(&want)
                    })
                    .collect()
            };
            let (s, n) = (of(true), of(false));
            let probs = |v: &[&Scored]| v.iter().map(|x| x.gt_probability).collect::<Vec<_>>();
            let hits = |v: &[&Scored]| v.iter().filter(|x| x.correct).count() as u64;
            let rate = |v: &[&Scored]| {
                if v.is_empty() {
                    f64::NAN
                } else {
                    hits(v) as f64 / v.len() as f64
                }
            };
            Table2Row {
                condition: cond.to_string(),
                n_smile: s.len(),
                n_no_smile: n.len(),
                prob_smile: mean(&probs(&s)),
                prob_no_smile: mean(&probs(&n)),
                p_probability: welch_t_test(&probs(&s), &probs(&n)).map(|t| t.p),
                top1_smile: rate(&s),
                top1_no_smile: rate(&n),
                p_top1: fisher_exact([
                    [hits(&s), s.len() as u64 - hits(&s)],
                    [hits(&n), n.len() as u64 - hits(&n)],
                ]),
            }
        })
        .collect()
}

pub fn table2_csv(rows: &[Table2Row]) -> String {
    let mut s = String::from("condition,n_smile,n_no_smile,gt_probability_smile,gt_probability_no_smile,p_welch_t,top1_smile,top1_no_smile,p_fisher_exact\n");
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{:.4},{:.4},{},{:.4},{:.4},{}",
            r.condition,
            r.n_smile,
            r.n_no_smile,
            r.prob_smile,
            r.prob_no_smile,
            r.p_probability.map_or("NA".into(), exact),
            r.top1_smile,
            r.top1_no_smile,
            exact(r.p_top1)
        );
    }
    s
}

/// Figure 3's data: smile intensity level (round(AU6 + AU12)) → (images, correct).
pub fn figure3(
    scored: &[Scored],
    intensity: &BTreeMap<String, f64>,
) -> BTreeMap<u32, (usize, usize)> {
    let mut bins: BTreeMap<u32, (usize, usize)> = BTreeMap::new();
    for s in scored {
        if let Some(v) = intensity.get(&s.image) {
            let b = bins.entry(v.max(0.0).round() as u32).or_default();
            b.0 += 1;
            b.1 += usize::from(s.correct);
        }
    }
    bins
}

/// One prepared face version's probability of its true condition.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionScore {
    pub condition: String,
    pub identity: String,
    pub manipulated: bool,
    pub gt_probability: f64,
}

/// Writes `table3.csv` into `dir` (`table3_csv`) and returns its path and text.
pub fn write_table3(
    dir: &Path,
    scores: &[VersionScore],
) -> Result<(std::path::PathBuf, String), AnalysisError> {
    let table = table3_csv(scores);
    let path = dir.join("table3.csv");
    std::fs::write(&path, &table).map_err(|source| AnalysisError::Write {
        path: path.display().to_string(),
        source,
    })?;
    Ok((path, table))
}

/// Table 3 as CSV: per condition, the mean probability of the true condition for the
/// reconstructed and the manipulated faces, and a paired t-test over the faces that have both
/// (the same faces in both versions make it paired).
pub fn table3_csv(scores: &[VersionScore]) -> String {
    let mut per: BTreeMap<&str, BTreeMap<&str, [Option<f64>; 2]>> = BTreeMap::new();
    for v in scores {
        per.entry(&v.condition)
            .or_default()
            .entry(&v.identity)
            .or_default()[usize::from(v.manipulated)] = Some(v.gt_probability);
    }
    let mut t = String::from(
        "condition,n,mean_gt_probability_reconstructed,mean_gt_probability_manipulated,p_paired_t\n",
    );
    for (cond, faces) in per {
        let (a, b): (Vec<f64>, Vec<f64>) =
            faces.values().filter_map(|v| Some((v[0]?, v[1]?))).unzip();
        let p = paired_t_test(&a, &b).map_or("NA".into(), |r| exact(r.p));
        let m = |v: &[f64]| {
            if v.is_empty() {
                "NA".to_string()
            } else {
                format!("{:.4}", mean(v))
            }
        };
        let _ = writeln!(t, "{cond},{},{},{},{p}", a.len(), m(&a), m(&b));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(image: &str, condition: &str, correct: bool, p: f64) -> Scored {
        Scored {
            image: image.into(),
            condition: condition.into(),
            correct,
            gt_probability: p,
        }
    }

    #[test]
    fn table2_groups_by_smile_label_and_condition() {
        let scored = vec![
            s("a", "NS", true, 0.9),
            s("b", "NS", true, 0.8),
            s("c", "NS", false, 0.3),
            s("d", "NS", false, 0.2),
            s("e", "WS", true, 0.7),
            s("f", "WS", false, 0.4),
        ];
        let smile: BTreeMap<String, bool> = [
            ("a", true),
            ("b", true),
            ("c", false),
            ("d", false),
            ("e", true),
            ("f", false),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
        let t = table2(&scored, &smile);
        assert_eq!(t.len(), 3);
        let ns = &t[0];
        assert_eq!((ns.n_smile, ns.n_no_smile), (2, 2));
        assert!((ns.prob_smile - 0.85).abs() < 1e-12 && (ns.prob_no_smile - 0.25).abs() < 1e-12);
        assert_eq!((ns.top1_smile, ns.top1_no_smile), (1.0, 0.0));
        // scipy.stats.fisher_exact([[2, 0], [0, 2]]) = 0.3333 (two-sided).
        assert!((ns.p_top1 - 1.0 / 3.0).abs() < 1e-9);
        let all = &t[2];
        assert_eq!(
            (all.condition.as_str(), all.n_smile, all.n_no_smile),
            ("all", 3, 3)
        );
        assert!(table2_csv(&t).lines().count() == 4);
    }

    #[test]
    fn table3_pairs_the_versions_of_each_face() {
        let v = |c: &str, id: &str, m: bool, p: f64| VersionScore {
            condition: c.into(),
            identity: id.into(),
            manipulated: m,
            gt_probability: p,
        };
        let t = table3_csv(&[
            v("NS", "1", false, 0.9),
            v("NS", "1", true, 0.7),
            v("NS", "2", false, 0.8),
            v("NS", "2", true, 0.65),
            v("NS", "3", false, 0.75),
            v("NS", "3", true, 0.8),
            v("WS", "9", false, 0.5),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        // scipy 1.17.1 ttest_rel([0.9, 0.8, 0.75], [0.7, 0.65, 0.8]): pvalue 0.32063377951324257.
        let p: f64 = lines[1]
            .strip_prefix("NS,3,0.8167,0.7167,")
            .unwrap()
            .parse()
            .unwrap();
        assert!((p - 0.32063377951324257).abs() < 1e-12, "{}", lines[1]);
        assert_eq!(lines[2], "WS,0,NA,NA,NA");
    }

    #[test]
    fn figure3_bins_by_rounded_intensity() {
        let scored = vec![
            s("a", "NS", true, 0.9),
            s("b", "NS", false, 0.1),
            s("c", "NS", true, 0.6),
        ];
        let au: BTreeMap<String, f64> = [("a", 0.4), ("b", 0.2), ("c", 3.6)]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        let f = figure3(&scored, &au);
        assert_eq!(f.get(&0), Some(&(2, 1)));
        assert_eq!(f.get(&4), Some(&(1, 1)));
    }

    #[test]
    fn small_p_values_keep_their_size_in_table2() {
        let row = Table2Row {
            condition: "WS".into(),
            n_smile: 40,
            n_no_smile: 40,
            prob_smile: 0.9,
            prob_no_smile: 0.2,
            p_probability: Some(3.2e-9),
            top1_smile: 0.95,
            top1_no_smile: 0.1,
            p_top1: 4.0e-12,
        };
        let csv = table2_csv(&[row]);
        assert!(
            csv.contains(",3.2e-9,") && csv.ends_with(",4e-12\n"),
            "{csv}"
        );
    }
}
