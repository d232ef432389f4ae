//! Statistics written here (statrs gives distributions only), each checked against scipy.

use statrs::distribution::{ContinuousCDF, StudentsT};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    pub t: f64,
    pub df: f64,
    /// The standard error of the difference the test divides by (Welch's unpooled, Student's
    /// pooled), so a table prints the SE and CI of the test it names.
    pub se: f64,
    /// Two-sided p-value.
    pub p: f64,
}

pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The median of the values that are not NaN (the mean of the middle two for an even count);
/// NaN when none is.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| !x.is_nan());
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Sample variance (n − 1 in the denominator).
pub fn variance(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)
}

/// Welch's unequal-variance t-test of mean(a) − mean(b), two-sided, as
/// `scipy.stats.ttest_ind(a, b, equal_var=False)`. `None` when it is undefined: fewer than two
/// values in a group, or no variance in either.
pub fn welch_t_test(a: &[f64], b: &[f64]) -> Option<TTest> {
    if a.len() < 2 || b.len() < 2 || a.iter().chain(b).any(|v| !v.is_finite()) {
        return None;
    }
    let (va, vb) = (variance(a) / a.len() as f64, variance(b) / b.len() as f64);
    let se2 = va + vb;
    if se2 <= 0.0 {
        return None;
    }
    let se = se2.sqrt();
    let t = (mean(a) - mean(b)) / se;
    let df = se2 * se2 / (va * va / (a.len() as f64 - 1.0) + vb * vb / (b.len() as f64 - 1.0));
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    // Survival function, not 1 − cdf, so small p-values keep their precision.
    let p = (2.0 * dist.sf(t.abs())).min(1.0);
    Some(TTest { t, df, se, p })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference: scipy 1.17.1 (numpy 2.4.6), scipy.stats.ttest_ind(x, y, equal_var=False):
    // statistic, pvalue, df as printed by Python's repr.
    const A: [f64; 8] = [1220.5, 980.0, 1500.25, 870.0, 1333.3, 1010.0, 940.5, 1190.0];
    const B: [f64; 7] = [1010.0, 760.5, 1105.0, 690.0, 980.75, 820.0, 1300.0];
    const C: [f64; 12] = [2.1, 2.4, 1.9, 2.8, 2.2, 2.0, 2.6, 2.3, 2.5, 1.8, 2.9, 2.05];
    const D: [f64; 5] = [2.9, 3.4, 2.2, 3.8, 3.1];
    const E: [f64; 3] = [0.001, 0.002, 0.0015];
    const F: [f64; 4] = [10.0, 11.0, 9.5, 10.5];

    fn check(x: &[f64], y: &[f64], t: f64, p: f64, df: f64) {
        let r = welch_t_test(x, y).unwrap();
        assert!(
            (r.t - t).abs() <= 1e-9 * t.abs().max(1.0),
            "t {} vs {t}",
            r.t
        );
        assert!((r.p - p).abs() <= 1e-9, "p {} vs {p}", r.p);
        assert!((r.p - p).abs() <= 1e-7 * p, "relative p {} vs {p}", r.p);
        assert!((r.df - df).abs() <= 1e-9 * df, "df {} vs {df}", r.df);
    }

    #[test]
    fn welch_matches_scipy() {
        check(
            &A,
            &B,
            1.6028586553329809,
            0.13333016914815896,
            12.807812443553148,
        );
        check(
            &C,
            &D,
            -2.743109589227092,
            0.038983833938968024,
            5.200408017258808,
        );
        check(
            &E,
            &F,
            -31.753803157366647,
            6.86324921584039e-05,
            3.00000479999904,
        );
        check(
            &B,
            &A,
            -1.6028586553329809,
            0.13333016914815896,
            12.807812443553148,
        );
    }

    #[test]
    fn undefined_cases_are_none() {
        assert!(welch_t_test(&[1.0], &[1.0, 2.0]).is_none());
        assert!(welch_t_test(&[1.0, 1.0], &[2.0, 2.0]).is_none());
        assert!(welch_t_test(&[1.0, f64::NAN], &[2.0, 3.0]).is_none());
    }
}
