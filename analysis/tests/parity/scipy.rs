//! Every hypothesis test against SciPy's values for the same data: the cases are data
//! (`../reference/scipy_reference.toml`, written by `../reference/scipy_reference.py` with SciPy
//! 1.17.1), looped over here. Tolerance 1e-9 relative (both sides compute in f64; the normal
//! and t tails come from different libraries).

use et_analysis::hypothesis_tests::{
    hedges_g, mann_whitney_u, paired_t_test, student_t_test, wilcoxon, Method,
};
use et_analysis::welch_t_test;

#[derive(serde::Deserialize)]
struct Case {
    test: String,
    a: Vec<f64>,
    b: Vec<f64>,
    statistic: f64,
    p: f64,
    df: Option<f64>,
}

#[derive(serde::Deserialize)]
struct Reference {
    case: Vec<Case>,
}

fn close(what: &str, got: f64, want: f64) {
    let tol = 1e-9 * want.abs().max(1e-12);
    assert!((got - want).abs() <= tol, "{what}: got {got}, SciPy {want}");
}

#[test]
fn every_test_equals_scipy_on_the_stored_cases() {
    let r: Reference = toml::from_str(include_str!("../reference/scipy_reference.toml")).unwrap();
    assert!(r.case.len() >= 40);
    for (i, c) in r.case.iter().enumerate() {
        let what = format!("case {i} ({})", c.test);
        let (stat, p, df) = match c.test.as_str() {
            "welch_t" => {
                let t = welch_t_test(&c.a, &c.b).unwrap();
                (t.t, t.p, Some(t.df))
            }
            "student_t" => {
                let t = student_t_test(&c.a, &c.b).unwrap();
                (t.t, t.p, Some(t.df))
            }
            "paired_t" => {
                let t = paired_t_test(&c.a, &c.b).unwrap();
                (t.t, t.p, Some(t.df))
            }
            "mann_whitney_u" | "mann_whitney_u_asymptotic" => {
                let m = if c.test.ends_with("asymptotic") {
                    Method::Asymptotic
                } else {
                    Method::Auto
                };
                let r = mann_whitney_u(&c.a, &c.b, m).unwrap();
                (r.statistic, r.p, None)
            }
            "wilcoxon" | "wilcoxon_asymptotic" => {
                let m = if c.test.ends_with("asymptotic") {
                    Method::Asymptotic
                } else {
                    Method::Auto
                };
                let r = wilcoxon(&c.a, m).unwrap();
                (r.statistic, r.p, None)
            }
            "hedges_g" => (hedges_g(&c.a, &c.b), 0.0, None),
            other => panic!("{what}: unknown test {other}"),
        };
        close(&format!("{what} statistic"), stat, c.statistic);
        if c.p != 0.0 {
            close(&format!("{what} p"), p, c.p);
        }
        if let (Some(got), Some(want)) = (df, c.df) {
            close(&format!("{what} df"), got, want);
        }
    }
}
