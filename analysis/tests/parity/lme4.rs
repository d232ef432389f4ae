//! The linear mixed model against lme4 / lmerTest on stored data sets: the cases are data
//! (`../reference/lme4_reference.toml` and `../reference/lme4/*.csv`, written by
//! `../reference/lme4_reference.R` with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2),
//! looped over here. Tolerance 1e-6 relative on estimates, SEs, variance components, deviance,
//! Satterthwaite df and p (lmerTest's own numerical derivatives are good to about 1e-9), and on
//! every REML case's Kenward–Roger SE, df, t and p.

use std::collections::BTreeMap;

use et_analysis::mixed::{
    fit, fit_with, likelihood_ratio, Ddf, Factor, FitError, Inference, LmmFit, MixedModel,
    RandomTerm,
};
use nalgebra::DMatrix;

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    data: String,
    reml: bool,
    fixed: Vec<String>,
    random: Vec<String>,
    slope: String,
    /// The grouping factors that have the random slope `slope`.
    slope_groups: Vec<String>,
    /// Of those, the ones whose slope is uncorrelated with their intercept (`||`).
    #[serde(default)]
    uncorrelated_groups: Vec<String>,
    /// Of those, the ones with the slope only (`0 + slope | group`).
    #[serde(default)]
    slope_only_groups: Vec<String>,
    singular: bool,
    deviance: f64,
    log_likelihood: f64,
    residual_variance: f64,
    estimate: Vec<f64>,
    se: Vec<f64>,
    df: Vec<f64>,
    t: Vec<f64>,
    p: Vec<f64>,
    /// Kenward–Roger's SE, df, t and p (REML cases only).
    #[serde(default)]
    kr_se: Vec<f64>,
    #[serde(default)]
    kr_df: Vec<f64>,
    #[serde(default)]
    kr_t: Vec<f64>,
    #[serde(default)]
    kr_p: Vec<f64>,
    components: Vec<String>,
    variances: Vec<f64>,
    correlations: Vec<f64>,
    /// The grouping factor of each correlation (lme4 orders factors its own way).
    correlation_groups: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Lrt {
    name: String,
    small: String,
    large: String,
    chisq: f64,
    df: usize,
    p: f64,
}

/// The expression × condition test of `analyze` on a stored data set (participant, identity,
/// condition, smile, dwell): lme4's likelihood ratio of the ML fits with and without it.
#[derive(serde::Deserialize)]
struct Interaction {
    name: String,
    data: String,
    singular: bool,
    chisq: f64,
    df: usize,
    p: f64,
}

#[derive(serde::Deserialize)]
struct Reference {
    case: Vec<Case>,
    lrt: Vec<Lrt>,
    interaction: Vec<Interaction>,
}

/// The columns of one stored data set (R's write.csv: quoted strings, plain numbers).
fn read_data(name: &str) -> BTreeMap<String, Vec<String>> {
    let path = format!("{}/tests/reference/lme4/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|h| h.trim_matches('"').to_string())
        .collect();
    let mut cols: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in lines {
        for (h, v) in header.iter().zip(line.split(',')) {
            cols.entry(h.clone())
                .or_default()
                .push(v.trim_matches('"').to_string());
        }
    }
    cols
}

fn model_of(c: &Case) -> MixedModel {
    let data = read_data(&c.data);
    let num = |col: &str| -> Vec<f64> { data[col].iter().map(|v| v.parse().unwrap()).collect() };
    let y = num("dwell");
    let n = y.len();
    let column = |name: &str| -> Vec<f64> {
        match name {
            "(Intercept)" => vec![1.0; n],
            _ => name
                .split(':')
                .map(num)
                .reduce(|a, b| a.iter().zip(&b).map(|(x, y)| x * y).collect())
                .unwrap(),
        }
    };
    let cols: Vec<Vec<f64>> = c.fixed.iter().map(|f| column(f)).collect();
    let x = DMatrix::from_fn(n, cols.len(), |i, j| cols[j][i]);
    let terms = c
        .random
        .iter()
        .flat_map(|g| {
            let labels: Vec<&str> = data[g.as_str()].iter().map(String::as_str).collect();
            let term = |intercept: bool, slope: bool| RandomTerm {
                factor: Factor::from_labels(g, &labels),
                intercept,
                slope: slope.then(|| (c.slope.clone(), num(&c.slope))),
            };
            let slope = c.slope_groups.contains(g);
            if c.uncorrelated_groups.contains(g) {
                vec![term(true, false), term(false, true)]
            } else if c.slope_only_groups.contains(g) {
                vec![term(false, true)]
            } else {
                vec![term(true, slope)]
            }
        })
        .collect();
    MixedModel {
        y,
        x,
        x_names: c.fixed.clone(),
        terms,
    }
}

fn close(what: &str, got: f64, want: f64, rel: f64, abs: f64) {
    let tol = (rel * want.abs()).max(abs);
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:.12e}, lme4 {want:.12e} (diff {:.3e})",
        got - want
    );
}

fn check(c: &Case, f: &LmmFit) {
    let w = |s: &str| format!("{}: {s}", c.name);
    assert_eq!(f.singular, c.singular, "{}", w("singular"));
    close(&w("deviance"), f.deviance, c.deviance, 1e-9, 0.0);
    close(&w("logLik"), f.log_likelihood, c.log_likelihood, 1e-9, 0.0);
    close(
        &w("sigma²"),
        f.residual_variance,
        c.residual_variance,
        1e-6,
        0.0,
    );
    for (j, co) in f.coefficients.iter().enumerate() {
        let name = &c.fixed[j];
        close(
            &w(&format!("{name} estimate")),
            co.estimate,
            c.estimate[j],
            1e-6,
            1e-9,
        );
        close(&w(&format!("{name} SE")), co.se, c.se[j], 1e-6, 0.0);
        close(&w(&format!("{name} df")), co.df, c.df[j], 1e-6, 0.0);
        close(&w(&format!("{name} t")), co.t, c.t[j], 1e-6, 1e-9);
        close(&w(&format!("{name} p")), co.p, c.p[j], 1e-6, 1e-300);
    }
    for (label, want) in c.components.iter().zip(&c.variances) {
        let got = f
            .components
            .iter()
            .find(|v| format!("{} {}", v.group, v.effect) == *label)
            .unwrap_or_else(|| panic!("{}", w(&format!("no component {label}"))));
        // A variance on the boundary is 0 in both (lme4 may stop a hair above it).
        close(
            &w(label),
            got.variance,
            *want,
            1e-6,
            1e-6 * c.residual_variance,
        );
    }
    assert_eq!(
        f.correlations.len(),
        c.correlations.len(),
        "{}",
        w("correlations")
    );
    for (group, want) in c.correlation_groups.iter().zip(&c.correlations) {
        let got = f
            .correlations
            .iter()
            .find(|(g, _)| g == group)
            .unwrap_or_else(|| panic!("{}", w(&format!("no correlation for {group}"))));
        close(
            &w(&format!("{group} correlation")),
            got.1,
            *want,
            1e-6,
            1e-9,
        );
    }
}

#[test]
fn mixed_models_equal_lme4_and_lmertest_on_the_stored_cases() {
    let r: Reference = toml::from_str(include_str!("../reference/lme4_reference.toml")).unwrap();
    assert!(r.case.len() >= 10);
    assert!(r.case.iter().any(|c| c.singular) && r.case.iter().any(|c| c.slope_groups.len() == 2));
    assert!(r.case.iter().any(|c| !c.uncorrelated_groups.is_empty()));
    assert!(r.case.iter().any(|c| !c.slope_only_groups.is_empty()));
    let mut fits = BTreeMap::new();
    for c in &r.case {
        let f = fit(&model_of(c), c.reml).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        check(c, &f);
        fits.insert(c.name.clone(), f);
    }
    let with_kr = r.case.iter().filter(|c| !c.kr_df.is_empty()).count();
    assert_eq!(with_kr, r.case.iter().filter(|c| c.reml).count());
    for c in r.case.iter().filter(|c| c.reml) {
        let f = fit_with(&model_of(c), true, Ddf::KenwardRoger, Inference::Always)
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(f.ddf, Ddf::KenwardRoger, "{}", c.name);
        for (j, co) in f.coefficients.iter().enumerate() {
            let w = |s: &str| format!("{}: {} Kenward–Roger {s}", c.name, c.fixed[j]);
            close(&w("SE"), co.se, c.kr_se[j], 1e-6, 0.0);
            close(&w("df"), co.df, c.kr_df[j], 1e-6, 0.0);
            close(&w("t"), co.t, c.kr_t[j], 1e-6, 1e-9);
            close(&w("p"), co.p, c.kr_p[j], 1e-6, 1e-300);
        }
    }
    for t in &r.lrt {
        let got = likelihood_ratio(&fits[&t.small], &fits[&t.large]).unwrap();
        assert_eq!(got.df, t.df, "{}", t.name);
        close(&format!("{} chisq", t.name), got.chisq, t.chisq, 1e-6, 0.0);
        close(&format!("{} p", t.name), got.p, t.p, 1e-6, 0.0);
    }
}

/// lmerTest refuses Kenward–Roger for an ML fit; so does the model.
#[test]
fn kenward_roger_is_refused_for_ml_fits() {
    let r: Reference = toml::from_str(include_str!("../reference/lme4_reference.toml")).unwrap();
    let c = r.case.iter().find(|c| !c.reml).unwrap();
    let got = fit_with(&model_of(c), false, Ddf::KenwardRoger, Inference::Always);
    assert_eq!(got.unwrap_err(), FitError::KenwardRogerNeedsReml);
}

/// The analysis's expression × condition test equals lme4's likelihood ratio (it had been
/// fitted without the identities' variance, which the fit left at 0).
#[test]
fn the_interaction_test_equals_lme4() {
    let r: Reference = toml::from_str(include_str!("../reference/lme4_reference.toml")).unwrap();
    assert!(!r.interaction.is_empty());
    for c in &r.interaction {
        let data = read_data(&c.data);
        let rows: Vec<et_analysis::DwellRow> = (0..data["dwell"].len())
            .map(|i| et_analysis::DwellRow {
                participant: data["participant"][i].clone(),
                trial: i as i32,
                stimulus_id: String::new(),
                identity: data["identity"][i].clone(),
                condition: data["condition"][i].clone(),
                variant: String::new(),
                expression: if data["smile"][i] == "1" {
                    "smile"
                } else {
                    "no_smile"
                }
                .into(),
                aoi: "mouth".into(),
                dwell_ms: data["dwell"][i].parse().unwrap(),
                valid_ms: 7000.0,
                trial_ms: 7000.0,
            })
            .collect();
        let cfg = et_analysis::AnalysisConfig::default();
        let t = et_analysis::compare::interaction_test(&rows, &cfg).unwrap();
        assert!(!c.singular);
        assert_eq!(t.random, "(1 | participant) + (1 | identity)", "{}", c.name);
        assert_eq!(t.df, Some(c.df), "{}", c.name);
        close(
            &format!("{} chisq", c.name),
            t.chisq.unwrap(),
            c.chisq,
            1e-6,
            0.0,
        );
        close(&format!("{} p", c.name), t.p.unwrap(), c.p, 1e-6, 0.0);
        assert!(t.note.is_empty(), "{}: {}", c.name, t.note);
    }
}
