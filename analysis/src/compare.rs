//! Smile against no smile on the study AOI's dwell: one comparison per condition and over all
//! images, under the model the analysis config names.
//!
//! Each participant sees many images, so trials are not independent units. The default is a
//! linear mixed model with participants and images (identities) as crossed random effects
//! (Baayen, Davidson & Bates 2008), tested with Kenward–Roger's (or Satterthwaite's) df as
//! lmerTest does; the by-participant (F1) and by-item (F2) paired analyses are the
//! psycholinguists' alternative; `welch_trials` pools every participant × image as
//! independent, as the paper did, and says so.

use std::collections::BTreeMap;

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::config::{AnalysisConfig, Correction, Response, StudyModel, TestChoice};
use crate::descriptive::{mean, variance};
use crate::dwell::DwellRow;
use crate::hypothesis_tests::welch_t_test;
use crate::hypothesis_tests::{
    benjamini_hochberg, bonferroni, hedges_g, holm, mann_whitney_u, paired_t_test,
    permutation_test, student_t_test, wilcoxon, Method,
};
use crate::mixed::{
    fit, fit_with, Ddf, Factor, FitError, Inference, LmmFit, MixedModel, RandomTerm,
};
use crate::parallel::each_in_parallel;

impl Response {
    fn of(self, r: &DwellRow) -> f64 {
        match self {
            Response::DwellMs => r.dwell_ms,
            Response::Proportion => r.proportion(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonRow {
    /// A condition, or "all".
    pub condition: String,
    /// The model that gave `statistic`, `df` and `p` (`StudyModel::as_str`).
    pub model: &'static str,
    /// The model in words: its formula or units, and what happened in the fit.
    pub detail: String,
    pub n_smile: usize,
    pub n_no_smile: usize,
    pub mean_smile_ms: f64,
    pub mean_no_smile_ms: f64,
    pub sd_smile_ms: f64,
    pub sd_no_smile_ms: f64,
    /// Hedges' g of smile − no smile over trials (descriptive).
    pub hedges_g: f64,
    /// Smile − no smile in the response's unit, as the model estimates it, and its SE.
    pub estimate: f64,
    pub se: f64,
    /// 95 % confidence interval of `estimate` (t quantile at the test's df; NaN without one).
    pub ci_low: f64,
    pub ci_high: f64,
    /// The test's name, its statistic (t, or U of the smile group) and degrees of freedom.
    pub test: &'static str,
    pub statistic: f64,
    pub df: Option<f64>,
    /// NaN when the test is undefined (too few values, no variance, a fit that failed).
    pub p: f64,
    /// `p` corrected across the conditions; `None` where no correction applies (the "all"
    /// row, every row of `models.csv`, a condition whose p is undefined).
    pub p_corrected: Option<f64>,
    /// The Wilcoxon signed-rank p of the paired analyses (NaN for the others).
    pub wilcoxon_p: f64,
}

/// Whether an expression is one of the two the smile models compare.
pub(crate) fn is_smile_expression(e: &str) -> bool {
    e == "smile" || e == "no_smile"
}

/// The comparison rows (each condition, then "all") under the configured model, with the
/// per-condition p-values corrected as configured ("all" is reported uncorrected).
pub fn compare(dwell: &[DwellRow], cfg: &AnalysisConfig) -> Vec<ComparisonRow> {
    corrected(compare_with(cfg.model, dwell, cfg), cfg)
}

/// `rows` (one model's, per condition then "all") with each condition's p corrected across
/// the conditions by `cfg.correction`; the "all" row is not part of the family.
pub fn corrected(mut rows: Vec<ComparisonRow>, cfg: &AnalysisConfig) -> Vec<ComparisonRow> {
    let per: Vec<usize> = (0..rows.len().saturating_sub(1))
        .filter(|&i| rows[i].p.is_finite())
        .collect();
    let ps: Vec<f64> = per.iter().map(|&i| rows[i].p).collect();
    let adjusted = match cfg.correction {
        Correction::None => ps.clone(),
        Correction::Bonferroni => bonferroni(&ps),
        Correction::Holm => holm(&ps),
        Correction::BenjaminiHochberg => benjamini_hochberg(&ps),
    };
    for (k, &i) in per.iter().enumerate() {
        rows[i].p_corrected = Some(adjusted[k]);
    }
    rows
}

/// The rows under `model`, uncorrected (for the table that sets every model side by side).
pub fn compare_with(
    model: StudyModel,
    dwell: &[DwellRow],
    cfg: &AnalysisConfig,
) -> Vec<ComparisonRow> {
    let mut conditions: Vec<String> = dwell.iter().map(|r| r.condition.clone()).collect();
    conditions.sort();
    conditions.dedup();
    // Each condition's model on a core of its own (the mixed models are most of an analysis),
    // the largest ("all") started first so that it does not start last and run alone.
    conditions.insert(0, "all".into());
    let mut rows = each_in_parallel(conditions.len(), |k| {
        let c = &conditions[k];
        let rows: Vec<&DwellRow> = dwell
            .iter()
            .filter(|r| c == "all" || &r.condition == c)
            .filter(|r| is_smile_expression(&r.expression))
            .collect();
        row(model, c.clone(), &rows, cfg)
    });
    // Reported per condition, then "all".
    rows.rotate_left(1);
    rows
}

fn sd(v: &[f64]) -> f64 {
    if v.len() > 1 {
        variance(v).sqrt()
    } else {
        f64::NAN
    }
}

/// What one model says about one subset of the rows.
struct Test {
    test: &'static str,
    detail: String,
    estimate: f64,
    se: f64,
    statistic: f64,
    df: Option<f64>,
    p: f64,
    wilcoxon_p: f64,
}

impl Test {
    fn undefined(test: &'static str, detail: String) -> Test {
        Test {
            test,
            detail,
            estimate: f64::NAN,
            se: f64::NAN,
            statistic: f64::NAN,
            df: None,
            p: f64::NAN,
            wilcoxon_p: f64::NAN,
        }
    }
}

fn row(
    model: StudyModel,
    condition: String,
    rows: &[&DwellRow],
    cfg: &AnalysisConfig,
) -> ComparisonRow {
    let pick = |e: &str| -> Vec<f64> {
        rows.iter()
            .filter(|r| r.expression == e)
            .map(|r| r.dwell_ms)
            .collect()
    };
    let (s, n) = (pick("smile"), pick("no_smile"));
    let t = match model {
        StudyModel::WelchTrials => pooled(cfg, rows),
        StudyModel::ByParticipant => paired(cfg.response, rows, |r| &r.participant, "participants"),
        StudyModel::ByItem => paired(cfg.response, rows, |r| &r.identity, "identities"),
        StudyModel::Lmm => mixed(cfg, rows),
    };
    let half = t.df.map_or(f64::NAN, |df| {
        StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |d| d.inverse_cdf(0.975) * t.se)
    });
    ComparisonRow {
        condition,
        model: model.as_str(),
        detail: t.detail,
        n_smile: s.len(),
        n_no_smile: n.len(),
        mean_smile_ms: mean(&s),
        mean_no_smile_ms: mean(&n),
        sd_smile_ms: sd(&s),
        sd_no_smile_ms: sd(&n),
        hedges_g: if s.len() > 1 && n.len() > 1 {
            hedges_g(&s, &n)
        } else {
            f64::NAN
        },
        estimate: t.estimate,
        se: t.se,
        ci_low: t.estimate - half,
        ci_high: t.estimate + half,
        test: t.test,
        statistic: t.statistic,
        df: t.df,
        p: t.p,
        p_corrected: None,
        wilcoxon_p: t.wilcoxon_p,
    }
}

/// Every participant × image one independent observation (the paper's analysis).
fn pooled(cfg: &AnalysisConfig, rows: &[&DwellRow]) -> Test {
    let pick = |e: &str| -> Vec<f64> {
        rows.iter()
            .filter(|r| r.expression == e)
            .map(|r| cfg.response.of(r))
            .collect()
    };
    let (s, n) = (pick("smile"), pick("no_smile"));
    let detail = format!(
        "{} trials treated as independent observations (participants and images ignored)",
        s.len() + n.len()
    );
    let name = match cfg.test {
        TestChoice::Welch => "welch_t",
        TestChoice::Student => "student_t",
        TestChoice::MannWhitney => "mann_whitney_u",
        TestChoice::Permutation => "permutation",
    };
    if s.is_empty() || n.is_empty() {
        return Test::undefined(name, detail);
    }
    let estimate = mean(&s) - mean(&n);
    // Welch's SE unless the test is Student's, whose pooled SE goes with its t and df.
    let mut se = (variance(&s) / s.len() as f64 + variance(&n) / n.len() as f64).sqrt();
    let (statistic, df, p) = match cfg.test {
        TestChoice::Welch => {
            welch_t_test(&s, &n).map_or((f64::NAN, None, f64::NAN), |t| (t.t, Some(t.df), t.p))
        }
        TestChoice::Student => match student_t_test(&s, &n) {
            Some(t) => {
                se = t.se;
                (t.t, Some(t.df), t.p)
            }
            None => (f64::NAN, None, f64::NAN),
        },
        TestChoice::MannWhitney => mann_whitney_u(&s, &n, Method::Auto)
            .map_or((f64::NAN, None, f64::NAN), |r| (r.statistic, None, r.p)),
        TestChoice::Permutation => (
            estimate,
            None,
            permutation_test(&s, &n, cfg.permutations, cfg.seed),
        ),
    };
    Test {
        test: name,
        detail,
        estimate,
        se,
        statistic,
        df,
        p,
        wilcoxon_p: f64::NAN,
    }
}

/// Per unit (participant or identity), the mean response of its smile and of its no-smile
/// observations; units with only one expression are left out and counted.
fn paired(
    response: Response,
    rows: &[&DwellRow],
    unit: impl Fn(&DwellRow) -> &String,
    units: &str,
) -> Test {
    let mut by: BTreeMap<&String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for r in rows {
        let e = by.entry(unit(r)).or_default();
        if r.expression == "smile" {
            e.0.push(response.of(r));
        } else {
            e.1.push(response.of(r));
        }
    }
    let total = by.len();
    let (s, n): (Vec<f64>, Vec<f64>) = by
        .values()
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .map(|(a, b)| (mean(a), mean(b)))
        .unzip();
    let mut detail = format!("paired over {} {units} (means per unit)", s.len());
    if s.len() < total {
        detail.push_str(&format!(
            "; {} {units} without both expressions left out",
            total - s.len()
        ));
    }
    let d: Vec<f64> = s.iter().zip(&n).map(|(a, b)| a - b).collect();
    let Some(t) = paired_t_test(&s, &n) else {
        return Test::undefined("paired_t", detail);
    };
    Test {
        test: "paired_t",
        detail,
        estimate: mean(&d),
        se: (variance(&d) / d.len() as f64).sqrt(),
        statistic: t.t,
        df: Some(t.df),
        p: t.p,
        wilcoxon_p: wilcoxon(&d, Method::Auto).map_or(f64::NAN, |w| w.p),
    }
}

/// A grouping factor of the mixed model's random part and which random effects it has.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Grouping {
    unit: Unit,
    effects: Effects,
}

/// The random effects of one grouping factor, from the maximal form down the steps a singular
/// fit is simplified by (Bates, Kliegl, Vasishth & Baayen 2015; Matuschek et al. 2017): first the
/// correlation goes, then a variance estimated 0.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Effects {
    /// `(1 | g)`
    Intercept,
    /// `(1 + smile | g)`: intercept and slope, correlated.
    Correlated,
    /// `(1 + smile || g)`: intercept and slope, uncorrelated.
    Uncorrelated,
    /// `(0 + smile | g)`: the slope alone (its intercept variance was estimated 0).
    Slope,
}

impl Effects {
    fn has_slope(self) -> bool {
        self != Effects::Intercept
    }

    /// Covariance parameters θ in the fitted model (lme4's order).
    fn n_theta(self) -> usize {
        match self {
            Effects::Correlated => 3,
            Effects::Uncorrelated => 2,
            Effects::Intercept | Effects::Slope => 1,
        }
    }

    /// The random terms: (intercept, slope) of each.
    fn terms(self) -> &'static [(bool, bool)] {
        match self {
            Effects::Intercept => &[(true, false)],
            Effects::Correlated => &[(true, true)],
            Effects::Uncorrelated => &[(true, false), (false, true)],
            Effects::Slope => &[(false, true)],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Participant,
    Identity,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Participant => "participant",
            Unit::Identity => "identity",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Unit::Participant => "participants",
            Unit::Identity => "identities",
        }
    }

    fn of(self, r: &DwellRow) -> &str {
        match self {
            Unit::Participant => &r.participant,
            Unit::Identity => &r.identity,
        }
    }
}

/// Participants and identities as the random part, each that has more than one level (with
/// the smile slopes asked for, participants' then identities').
fn groupings(rows: &[&DwellRow], slopes: (bool, bool)) -> Vec<Grouping> {
    [(Unit::Participant, slopes.0), (Unit::Identity, slopes.1)]
        .into_iter()
        .filter(|(unit, _)| distinct(rows, |r| unit.of(r)) > 1)
        .map(|(unit, slope)| Grouping {
            unit,
            effects: if slope {
                Effects::Correlated
            } else {
                Effects::Intercept
            },
        })
        .collect()
}

/// The mixed model `response ~ smile` with `groups` as its random part.
fn mixed_model(cfg: &AnalysisConfig, rows: &[&DwellRow], groups: &[Grouping]) -> MixedModel {
    let y: Vec<f64> = rows.iter().map(|r| cfg.response.of(r)).collect();
    let smile: Vec<f64> = rows
        .iter()
        .map(|r| f64::from(u8::from(r.expression == "smile")))
        .collect();
    let x = nalgebra::DMatrix::from_fn(rows.len(), 2, |i, j| if j == 0 { 1.0 } else { smile[i] });
    let terms = groups
        .iter()
        .flat_map(|g| {
            let labels: Vec<&str> = rows.iter().map(|r| g.unit.of(r)).collect();
            let factor = Factor::from_labels(g.unit.name(), &labels);
            g.effects
                .terms()
                .iter()
                .map(|&(intercept, slope)| RandomTerm {
                    factor: factor.clone(),
                    intercept,
                    slope: slope.then(|| ("smile".to_string(), smile.clone())),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    MixedModel {
        y,
        x,
        x_names: vec!["(Intercept)".into(), "smile".into()],
        terms,
    }
}

fn formula(groups: &[Grouping]) -> String {
    let mut f = "response ~ smile".to_string();
    for g in groups {
        let inner = match g.effects {
            Effects::Intercept => "1 |",
            Effects::Correlated => "1 + smile |",
            Effects::Uncorrelated => "1 + smile ||",
            Effects::Slope => "0 + smile |",
        };
        f.push_str(&format!(" + ({inner} {})", g.unit.name()));
    }
    f
}

/// What resolves a singular fit, read from θ (per grouping in order, lme4's layout: correlated
/// [intercept, covariance, slope], uncorrelated [intercept, slope], one effect [its SD]). The
/// first that applies, over all groupings: a correlated intercept and slope whose covariance
/// matrix is on its boundary are refitted uncorrelated (the variances kept, so a slope whose
/// correlation alone was ±1 keeps its variance in the SE); then a slope variance
/// estimated 0 goes; then an intercept variance estimated 0 (the simpler model has the same
/// likelihood). `None` when no θ is at the boundary.
fn simplification(theta: &[f64], groups: &[Grouping]) -> Option<(String, Vec<Grouping>)> {
    let tol = crate::mixed::SINGULAR_TOL;
    let starts: Vec<usize> = groups
        .iter()
        .scan(0, |at, g| {
            let s = *at;
            *at += g.effects.n_theta();
            Some(s)
        })
        .collect();
    let zero = |i: usize| theta.get(i).is_some_and(|v| *v < tol);
    let with = |k: usize, effects: Option<Effects>| {
        let mut next = groups.to_vec();
        match effects {
            Some(e) => next[k].effects = e,
            None => {
                next.remove(k);
            }
        }
        next
    };
    for (k, g) in groups.iter().enumerate() {
        let s = starts[k];
        if g.effects == Effects::Correlated && (zero(s) || zero(s + 2)) {
            let why = format!(
                "the {}' intercept–slope covariance is on its boundary (a variance 0 or a correlation ±1); refitted uncorrelated",
                g.unit.plural()
            );
            return Some((why, with(k, Some(Effects::Uncorrelated))));
        }
    }
    for (k, g) in groups.iter().enumerate() {
        let s = starts[k];
        let slope_zero = match g.effects {
            Effects::Uncorrelated => zero(s + 1),
            Effects::Slope => zero(s),
            _ => false,
        };
        if slope_zero {
            let why = format!(
                "{} smile slope variance estimated 0; refitted without it",
                g.unit.name()
            );
            let next = (g.effects == Effects::Uncorrelated).then_some(Effects::Intercept);
            return Some((why, with(k, next)));
        }
    }
    for (k, g) in groups.iter().enumerate() {
        let s = starts[k];
        if matches!(g.effects, Effects::Intercept | Effects::Uncorrelated) && zero(s) {
            let why = format!(
                "{} intercept variance estimated 0; refitted without it",
                g.unit.name()
            );
            let next = (g.effects == Effects::Uncorrelated).then_some(Effects::Slope);
            return Some((why, with(k, next)));
        }
    }
    None
}

/// The mixed model, simplified while its fit is singular (see [`simplification`]; its tests
/// are the ones to report). Every step is said in the detail.
fn mixed(cfg: &AnalysisConfig, rows: &[&DwellRow]) -> Test {
    let mut groups = groupings(rows, (cfg.random_slope, cfg.identity_slope));
    let mut steps: Vec<String> = Vec::new();
    loop {
        let f = formula(&groups);
        // The df only for the fit that is reported: a singular one is simplified.
        let model = mixed_model(cfg, rows, &groups);
        let result: Result<LmmFit, FitError> =
            fit_with(&model, true, cfg.ddf, Inference::UnlessSingular);
        // A random slope too many for the data (a deviance flat near its boundary) does not
        // converge: the model without it (identities' first) is the next to try, as for a
        // singular fit.
        let slope_to_drop = groups.iter().rposition(|g| g.effects.has_slope());
        let fitted = match (result, slope_to_drop) {
            (Ok(fitted), _) => fitted,
            (Err(e @ FitError::NotConverged { .. }), Some(k)) => {
                steps.push(format!(
                    "{f}: {e}, refitted without the {}' smile slope",
                    groups[k].unit.plural()
                ));
                if groups[k].effects == Effects::Slope {
                    groups.remove(k);
                } else {
                    groups[k].effects = Effects::Intercept;
                }
                continue;
            }
            (Err(e), _) => {
                steps.push(format!("{f}: {e}"));
                return Test::undefined("lmm_t", steps.join("; "));
            }
        };
        if fitted.singular {
            let Some((why, next)) = simplification(&fitted.theta, &groups) else {
                steps.push(format!(
                    "{f}: singular fit that no simpler model resolves; not reported"
                ));
                return Test::undefined("lmm_t", steps.join("; "));
            };
            steps.push(format!("{f}: singular fit ({why})"));
            groups = next;
            continue;
        }
        let c = &fitted.coefficients[1];
        let vc: Vec<String> = fitted
            .components
            .iter()
            .map(|v| format!("{} {} SD {:.4}", v.group, v.effect, v.variance.sqrt()))
            .chain(std::iter::once(format!(
                "residual SD {:.4}",
                fitted.residual_variance.sqrt()
            )))
            .collect();
        let method = match (fitted.groups.is_empty(), fitted.ddf) {
            (true, _) => "least squares, df n − p: no random effect left",
            (false, Ddf::KenwardRoger) => "REML, Kenward–Roger SE and df",
            (false, Ddf::Satterthwaite) if cfg.ddf == Ddf::KenwardRoger => {
                "REML, Satterthwaite df: Kenward–Roger's could not be computed"
            }
            (false, Ddf::Satterthwaite) => "REML, Satterthwaite df",
        };
        steps.push(format!(
            "{f} ({method}; {} observations; {})",
            fitted.n,
            vc.join(", ")
        ));
        return Test {
            test: if fitted.groups.is_empty() {
                "lm_t"
            } else {
                "lmm_t"
            },
            detail: steps.join("; "),
            estimate: c.estimate,
            se: c.se,
            statistic: c.t,
            df: Some(c.df),
            p: c.p,
            wilcoxon_p: f64::NAN,
        };
    }
}

/// The test behind each row's p, in words: one name when every row used the same, else each
/// test with its conditions. A mixed model left with no random effect is fitted by least
/// squares, so one headline name for all conditions could claim a test some did not get.
pub fn tests_in_words(rows: &[ComparisonRow]) -> String {
    let mut by_test: Vec<(&str, Vec<&str>)> = Vec::new();
    for c in rows {
        match by_test.iter_mut().find(|(t, _)| *t == c.test) {
            Some((_, conds)) => conds.push(&c.condition),
            None => by_test.push((c.test, vec![&c.condition])),
        }
    }
    match by_test.as_slice() {
        [] => String::new(),
        [(t, _)] => (*t).to_string(),
        many => many
            .iter()
            .map(|(t, conds)| format!("{t} ({})", conds.join(", ")))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The expression × condition test: which models it compared and how it came out (`None`
/// values where it could not be done, `note` saying why).
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionTest {
    /// The random part both models share, as fitted (after any simplification).
    pub random: String,
    pub chisq: Option<f64>,
    pub df: Option<usize>,
    pub p: Option<f64>,
    /// Each singular fit and what was done about it, or why there is no test.
    pub note: String,
}

impl InteractionTest {
    fn not_tested(random: String, why: String) -> InteractionTest {
        InteractionTest {
            random,
            chisq: None,
            df: None,
            p: None,
            note: why,
        }
    }

    /// One line for the terminal and the notes.
    pub fn line(&self) -> String {
        match (self.chisq, self.df, self.p) {
            (Some(chisq), Some(df), Some(p)) => format!(
                "expression × condition (likelihood-ratio test of ML fits, random part: {}): χ²({df}) = {chisq:.3}, {}{}",
                self.random,
                crate::table::p_phrase(p),
                if self.note.is_empty() {
                    String::new()
                } else {
                    format!("; {}", self.note)
                }
            ),
            _ => format!("expression × condition: not tested ({})", self.note),
        }
    }
}

/// Does the smile effect differ between conditions? The likelihood-ratio test (ML fits, as
/// `anova()` after refitting) of `response ~ smile * condition` against `response ~ smile +
/// condition`, both with crossed random intercepts for participants and identities. A fit on
/// its boundary is simplified as the main model's is (`simplification`: the variance estimated
/// 0 goes, both models refitted without it), and the note says so; `None` with fewer than two
/// conditions.
pub fn interaction_test(dwell: &[DwellRow], cfg: &AnalysisConfig) -> Option<InteractionTest> {
    let rows: Vec<&DwellRow> = dwell
        .iter()
        .filter(|r| is_smile_expression(&r.expression))
        .collect();
    let mut conditions: Vec<&str> = rows.iter().map(|r| r.condition.as_str()).collect();
    conditions.sort_unstable();
    conditions.dedup();
    if conditions.len() < 2 {
        return None;
    }
    let design = |base: &MixedModel, with_interaction: bool| {
        let mut m = base.clone();
        let smile: Vec<f64> = m.x.column(1).iter().copied().collect();
        let mut cols: Vec<(String, Vec<f64>)> = Vec::new();
        for c in &conditions[1..] {
            let d: Vec<f64> = rows
                .iter()
                .map(|r| f64::from(u8::from(r.condition == *c)))
                .collect();
            if with_interaction {
                cols.push((
                    format!("smile:{c}"),
                    d.iter().zip(&smile).map(|(a, b)| a * b).collect(),
                ));
            }
            cols.push((c.to_string(), d));
        }
        let n = rows.len();
        let p0 = m.x.ncols();
        let mut x = nalgebra::DMatrix::zeros(n, p0 + cols.len());
        x.columns_mut(0, p0).copy_from(&m.x);
        for (j, (name, v)) in cols.into_iter().enumerate() {
            x.column_mut(p0 + j).copy_from_slice(&v);
            m.x_names.push(name);
        }
        m.x = x;
        m
    };
    let random = |groups: &[Grouping]| {
        let f = formula(groups);
        match f.strip_prefix("response ~ smile + ") {
            Some(r) => r.to_string(),
            None => "none (least squares)".to_string(),
        }
    };
    let mut groups = groupings(&rows, (false, false));
    let mut steps: Vec<String> = Vec::new();
    loop {
        let base = mixed_model(cfg, &rows, &groups);
        let fits = fit(&design(&base, false), false)
            .and_then(|small| Ok((fit(&design(&base, true), false)?, small)));
        let (large, small) = match fits {
            Ok(f) => f,
            Err(e) => {
                steps.push(e.to_string());
                return Some(InteractionTest::not_tested(
                    random(&groups),
                    steps.join("; "),
                ));
            }
        };
        // Either fit on its boundary: the variance it puts at 0 goes from both.
        let singular = [&large, &small]
            .into_iter()
            .find(|f| f.singular)
            .map(|f| simplification(&f.theta, &groups));
        match singular {
            Some(Some((why, next))) => {
                steps.push(format!("singular fit ({why})"));
                groups = next;
            }
            Some(None) => {
                steps.push("singular fit that no simpler model resolves".into());
                return Some(InteractionTest::not_tested(
                    random(&groups),
                    steps.join("; "),
                ));
            }
            None => {
                return Some(match crate::mixed::likelihood_ratio(&small, &large) {
                    Ok(t) => InteractionTest {
                        random: random(&groups),
                        chisq: Some(t.chisq),
                        df: Some(t.df),
                        p: Some(t.p),
                        note: steps.join("; "),
                    },
                    Err(e) => {
                        steps.push(e.to_string());
                        InteractionTest::not_tested(random(&groups), steps.join("; "))
                    }
                })
            }
        }
    }
}

fn distinct(rows: &[&DwellRow], key: impl Fn(&DwellRow) -> &str) -> usize {
    let mut v: Vec<&str> = rows.iter().map(|r| key(r)).collect();
    v.sort();
    v.dedup();
    v.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Participants × identities, each identity seen smiling and not; dwell from a participant
    /// offset, a per-participant smile effect and a fixed pattern of noise.
    fn rows(participants: usize, identities: usize, offset: f64, slope: f64) -> Vec<DwellRow> {
        let mut v = Vec::new();
        for p in 0..participants {
            let a = offset * ((p as f64 * 1.7).sin());
            let b = 100.0 + slope * ((p as f64 * 2.3).cos());
            for i in 0..identities {
                for smile in [false, true] {
                    let noise =
                        150.0 * (((p * 31 + i * 17 + usize::from(smile) * 7) as f64) * 0.77).sin();
                    v.push(DwellRow {
                        participant: format!("P{p:02}"),
                        trial: (i * 2 + usize::from(smile)) as i32,
                        stimulus_id: format!("id{i}-{smile}"),
                        identity: format!("id{i}"),
                        condition: if i % 2 == 0 { "A" } else { "B" }.into(),
                        variant: String::new(),
                        expression: if smile { "smile" } else { "no_smile" }.into(),
                        aoi: "mouth".into(),
                        dwell_ms: 1500.0 + a + if smile { b } else { 0.0 } + noise,
                        valid_ms: 7000.0,
                        trial_ms: 7000.0,
                    });
                }
            }
        }
        v
    }

    fn all(rows: &[ComparisonRow]) -> &ComparisonRow {
        rows.iter().find(|r| r.condition == "all").unwrap()
    }

    #[test]
    fn the_tests_are_named_per_condition_when_they_differ() {
        let d = rows(8, 6, 300.0, 50.0);
        let mut r = compare_with(StudyModel::Lmm, &d, &AnalysisConfig::default());
        assert!(r.iter().all(|c| c.test == "lmm_t"));
        assert_eq!(tests_in_words(&r), "lmm_t");
        let a = r.iter_mut().find(|c| c.condition == "A").unwrap();
        a.test = "lm_t";
        assert_eq!(tests_in_words(&r), "lm_t (A); lmm_t (B, all)");
    }

    /// The default mixed model's SE and df are Kenward–Roger's and the detail says so; the
    /// config's `ddf = "satterthwaite"` gives lmerTest's default on the same fit.
    #[test]
    fn the_mixed_models_df_are_kenward_rogers_unless_configured() {
        // Unbalanced (a trial in eleven lost): in balanced data the two agree.
        let mut d = rows(8, 16, 300.0, 400.0);
        let mut k = 0;
        d.retain(|_| {
            k += 1;
            k % 11 != 0
        });
        let kr = all(&compare_with(
            StudyModel::Lmm,
            &d,
            &AnalysisConfig::default(),
        ))
        .clone();
        let cfg = AnalysisConfig {
            ddf: Ddf::Satterthwaite,
            ..AnalysisConfig::default()
        };
        let sat = all(&compare_with(StudyModel::Lmm, &d, &cfg)).clone();
        assert!(
            kr.detail.contains("Kenward–Roger SE and df"),
            "{}",
            kr.detail
        );
        assert!(sat.detail.contains("Satterthwaite df"), "{}", sat.detail);
        assert_eq!(kr.estimate, sat.estimate);
        assert!(
            kr.se > sat.se && kr.se < 1.1 * sat.se,
            "{} vs {}",
            kr.se,
            sat.se
        );
        assert!(
            kr.df.is_some() && kr.df != sat.df,
            "{:?} vs {:?}",
            kr.df,
            sat.df
        );
    }

    #[test]
    fn by_participant_is_the_paired_test_of_participant_means() {
        let d = rows(8, 6, 300.0, 50.0);
        let cfg = AnalysisConfig::default();
        let r = all(&compare_with(StudyModel::ByParticipant, &d, &cfg)).clone();
        let mean_of = |p: &str, e: &str| {
            let v: Vec<f64> = d
                .iter()
                .filter(|r| r.participant == p && r.expression == e)
                .map(|r| r.dwell_ms)
                .collect();
            mean(&v)
        };
        let ids: Vec<String> = (0..8).map(|p| format!("P{p:02}")).collect();
        let s: Vec<f64> = ids.iter().map(|p| mean_of(p, "smile")).collect();
        let n: Vec<f64> = ids.iter().map(|p| mean_of(p, "no_smile")).collect();
        let t = paired_t_test(&s, &n).unwrap();
        assert_eq!((r.statistic, r.df, r.p), (t.t, Some(t.df), t.p));
        assert!(r.wilcoxon_p.is_finite() && r.detail.contains("8 participants"));
        let items = all(&compare_with(StudyModel::ByItem, &d, &cfg)).clone();
        assert_eq!(items.df, Some(5.0));
    }

    #[test]
    fn the_mixed_model_sees_participants_where_pooling_does_not() {
        // The smile effect varies a lot between participants: pooling trials as independent
        // makes it look far surer than the model with a by-participant slope does.
        let d = rows(8, 16, 300.0, 400.0);
        let pooled = all(&compare_with(
            StudyModel::WelchTrials,
            &d,
            &AnalysisConfig::default(),
        ))
        .clone();
        let cfg = AnalysisConfig {
            random_slope: true,
            ..AnalysisConfig::default()
        };
        let lmm = all(&compare_with(StudyModel::Lmm, &d, &cfg)).clone();
        assert!(
            lmm.detail.contains("(1 + smile | participant)"),
            "{}",
            lmm.detail
        );
        assert!(
            (lmm.estimate - pooled.estimate).abs() < 1e-6,
            "balanced: same estimate"
        );
        assert!(
            lmm.df.unwrap() < 10.0,
            "df near participants − 1: {:?}",
            lmm.df
        );
        assert!(
            lmm.p > 5.0 * pooled.p,
            "lmm p {} vs pooled {}",
            lmm.p,
            pooled.p
        );
        assert_eq!(lmm.test, "lmm_t");
    }

    #[test]
    fn faces_that_differ_in_their_smile_effect_widen_the_mixed_models_interval() {
        // Each identity its own smile effect: a model without the identities' slope takes
        // the 16 faces for the whole population of faces and is too sure.
        let mut d = rows(8, 16, 200.0, 30.0);
        for r in d.iter_mut() {
            let i: f64 = r.identity.trim_start_matches("id").parse().unwrap();
            let smile = if r.expression == "smile" { 1.0 } else { 0.0 };
            r.dwell_ms += 250.0 * (i * 0.9).cos() + smile * 400.0 * (i * 1.3).sin();
        }
        let with = all(&compare_with(
            StudyModel::Lmm,
            &d,
            &AnalysisConfig::default(),
        ))
        .clone();
        let without = all(&compare_with(
            StudyModel::Lmm,
            &d,
            &AnalysisConfig {
                identity_slope: false,
                ..AnalysisConfig::default()
            },
        ))
        .clone();
        assert!(
            with.detail.contains("(1 + smile | identity)") && with.p.is_finite(),
            "{}",
            with.detail
        );
        assert!(
            with.se > 2.0 * without.se,
            "se {} with the slope, {} without: {} / {}",
            with.se,
            without.se,
            with.detail,
            without.detail
        );
    }

    #[test]
    fn a_maximal_model_that_does_not_converge_is_refitted_without_a_slope() {
        // One condition of `demo --participants 4 --seed 3` (32 trials, 4 participants) less
        // its 23rd trial: with both smile slopes the deviance is flat near its boundary and
        // Newton cannot finish, from the start nor from the restarts off the boundary (the
        // whole condition converges to a singular fit since the fit restarts).
        let text = include_str!("../tests/reference/demo_seed3_22q_dwell.csv");
        let d: Vec<DwellRow> = text
            .lines()
            .skip(1)
            .enumerate()
            .filter(|(k, _)| *k != 22)
            .map(|(_, l)| {
                let f: Vec<&str> = l.split(',').collect();
                DwellRow {
                    participant: f[0].into(),
                    trial: f[1].parse().unwrap(),
                    stimulus_id: f[2].into(),
                    identity: f[3].into(),
                    condition: f[4].into(),
                    variant: f[5].into(),
                    expression: f[6].into(),
                    aoi: f[7].into(),
                    dwell_ms: f[8].parse().unwrap(),
                    valid_ms: 7000.0,
                    trial_ms: 7000.0,
                }
            })
            .collect();
        assert_eq!(d.len(), 31);
        let r = all(&compare_with(
            StudyModel::Lmm,
            &d,
            &AnalysisConfig::default(),
        ))
        .clone();
        assert!(r.detail.contains("did not converge"), "{}", r.detail);
        assert!(
            r.detail
                .contains("refitted without the identities' smile slope"),
            "{}",
            r.detail
        );
        assert!(r.p.is_finite(), "{}", r.detail);
    }

    #[test]
    fn a_singular_fit_loses_its_correlation_first_then_a_slope_then_an_intercept() {
        use Effects::*;
        let pair = |a, b| {
            [(Unit::Participant, a), (Unit::Identity, b)]
                .map(|(unit, effects)| Grouping { unit, effects })
                .to_vec()
        };
        let step = |theta: &[f64], groups: &[Grouping]| simplification(theta, groups).unwrap();
        // θ: participant [intercept, covariance, slope], identity [intercept, covariance, slope].
        let (why, next) = step(
            &[1.0, 0.2, 0.5, 0.8, 0.1, 0.0],
            &pair(Correlated, Correlated),
        );
        assert!(
            why.starts_with("the identities' intercept–slope covariance"),
            "{why}"
        );
        assert_eq!(next, pair(Correlated, Uncorrelated));
        let (why, next) = step(
            &[0.0, 0.2, 0.5, 0.8, 0.1, 0.3],
            &pair(Correlated, Correlated),
        );
        assert!(why.starts_with("the participants'"), "{why}");
        assert_eq!(next, pair(Uncorrelated, Correlated));
        // Uncorrelated [intercept, slope]: a slope estimated 0 goes before an intercept.
        let (why, next) = step(&[0.0, 0.4, 0.8, 0.0], &pair(Uncorrelated, Uncorrelated));
        assert!(
            why.starts_with("identity smile slope variance estimated 0"),
            "{why}"
        );
        assert_eq!(next, pair(Uncorrelated, Intercept));
        let (why, next) = step(&[0.0, 0.4, 0.8, 0.3], &pair(Uncorrelated, Uncorrelated));
        assert!(
            why.starts_with("participant intercept variance estimated 0"),
            "{why}"
        );
        assert_eq!(next, pair(Slope, Uncorrelated));
        // A slope alone estimated 0: its grouping goes.
        let (_, next) = step(&[0.0, 0.8], &pair(Slope, Intercept));
        assert_eq!(next, pair(Slope, Intercept)[1..].to_vec());
        // Intercepts only: the one estimated 0 goes.
        let plain = pair(Intercept, Intercept);
        let (why, next) = step(&[0.7, 0.0], &plain);
        assert_eq!(
            why,
            "identity intercept variance estimated 0; refitted without it"
        );
        assert_eq!(next, plain[..1].to_vec());
        assert!(simplification(&[0.7, 0.4], &plain).is_none());
        assert!(
            simplification(&[0.7, 0.4, 0.2, 0.5, 0.3], &pair(Uncorrelated, Correlated)).is_none()
        );
    }

    #[test]
    fn a_singular_fit_is_simplified_and_says_so() {
        // No participant offset and no slope variation: the participant variance is 0.
        let d = rows(6, 8, 0.0, 0.0);
        let r = all(&compare_with(
            StudyModel::Lmm,
            &d,
            &AnalysisConfig::default(),
        ))
        .clone();
        assert!(r.detail.contains("singular fit"), "{}", r.detail);
        assert!(r.detail.contains("refitted without it"), "{}", r.detail);
        assert!(r.p.is_finite());
        // One participant: no participant term at all; one row per expression: undefined.
        let one: Vec<DwellRow> = rows(1, 1, 0.0, 0.0);
        let r = all(&compare_with(
            StudyModel::Lmm,
            &one,
            &AnalysisConfig::default(),
        ))
        .clone();
        assert!(r.p.is_nan() && !r.detail.is_empty(), "{r:?}");
    }

    #[test]
    fn an_interaction_planted_in_one_condition_is_found() {
        let mut d = rows(8, 12, 200.0, 30.0);
        let flat = interaction_test(&d, &AnalysisConfig::default());
        for r in d
            .iter_mut()
            .filter(|r| r.condition == "B" && r.expression == "smile")
        {
            r.dwell_ms += 400.0;
        }
        let planted = interaction_test(&d, &AnalysisConfig::default()).unwrap();
        let flat = flat.unwrap();
        assert_eq!(planted.df, Some(1), "{planted:?}");
        assert!(
            planted.p.unwrap() < 1e-3 && flat.p.unwrap() > 0.01,
            "{flat:?} / {planted:?}"
        );
        // One participant: tested with the identities' intercepts only, said so.
        let one = interaction_test(&rows(1, 12, 0.0, 0.0), &AnalysisConfig::default()).unwrap();
        assert_eq!(one.random, "(1 | identity)", "{one:?}");
        assert!(
            one.line().contains("random part: (1 | identity))"),
            "{}",
            one.line()
        );
        // One condition: nothing to test.
        let a_only: Vec<DwellRow> = d.into_iter().filter(|r| r.condition == "A").collect();
        assert_eq!(interaction_test(&a_only, &AnalysisConfig::default()), None);
    }

    /// A variance the ML fits put at 0 goes from both models, as in the main model, and the
    /// test says so (the identities here differ by noise alone).
    #[test]
    fn the_interaction_test_simplifies_a_singular_fit_and_says_so() {
        let t = interaction_test(&rows(8, 12, 200.0, 30.0), &AnalysisConfig::default()).unwrap();
        assert_eq!(t.random, "(1 | participant)", "{t:?}");
        assert_eq!(
            t.note,
            "singular fit (identity intercept variance estimated 0; refitted without it)"
        );
        assert!(t.p.is_some_and(|p| p > 0.5), "{t:?}");
        assert!(t.line().ends_with(
            "; singular fit (identity intercept variance estimated 0; refitted without it)"
        ));
    }

    /// Student's t is printed with its own pooled SE and CI: on unbalanced groups Welch's SE
    /// beside Student's t made estimate / SE disagree with t.
    #[test]
    fn student_t_comes_with_its_pooled_se_and_ci() {
        let mut d = rows(6, 8, 200.0, 30.0);
        // Unbalanced: drop a third of the smile trials.
        let mut k = 0;
        d.retain(|r| {
            k += 1;
            r.expression != "smile" || k % 3 != 0
        });
        let cfg = AnalysisConfig {
            model: StudyModel::WelchTrials,
            test: TestChoice::Student,
            ..AnalysisConfig::default()
        };
        for r in compare(&d, &cfg) {
            assert_ne!(r.n_smile, r.n_no_smile);
            assert!(
                (r.estimate / r.se - r.statistic).abs() < 1e-9,
                "{}: t {} but estimate/SE {}",
                r.condition,
                r.statistic,
                r.estimate / r.se
            );
            let df = r.df.unwrap();
            let q = StudentsT::new(0.0, 1.0, df).unwrap().inverse_cdf(0.975);
            assert!((r.ci_high - r.estimate - q * r.se).abs() < 1e-9);
        }
    }

    #[test]
    fn the_configured_model_fills_the_corrected_table() {
        let d = rows(6, 8, 200.0, 30.0);
        for m in StudyModel::ALL {
            let cfg = AnalysisConfig {
                model: m,
                ..AnalysisConfig::default()
            };
            let rows = compare(&d, &cfg);
            assert_eq!(rows.len(), 3);
            assert!(rows.iter().all(|r| r.model == m.as_str()));
            assert!(rows[0].p_corrected.is_some_and(|pc| pc >= rows[0].p));
            // The overall row is not part of the family: nothing corrected is claimed.
            assert_eq!(rows[2].p_corrected, None);
            // Without the correction step (models.csv), no row claims a corrected p.
            assert!(compare_with(m, &d, &cfg)
                .iter()
                .all(|r| r.p_corrected.is_none()));
        }
    }
}
