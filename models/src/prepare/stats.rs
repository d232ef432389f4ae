//! The paired t-test Table 3 uses: the same test faces scored as reconstructed and as
//! manipulated (the paper names no test; paired is what its design implies).

use statrs::distribution::{ContinuousCDF, StudentsT};

/// (t, two-sided p) of the paired differences a − b; `None` with fewer than two pairs or no
/// spread.
pub fn paired_t(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    let n = a.len();
    if n < 2 || n != b.len() {
        return None;
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let mean = d.iter().sum::<f64>() / n as f64;
    let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    if var <= 0.0 {
        return None;
    }
    let t = mean / (var / n as f64).sqrt();
    let dist = StudentsT::new(0.0, 1.0, (n - 1) as f64).ok()?;
    Some((t, 2.0 * dist.sf(t.abs())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scipy 1.17.1 `ttest_rel([0.9, 0.8, 0.75, 0.6, 0.95], [0.7, 0.65, 0.8, 0.3, 0.6])`:
    /// statistic 2.7282410027474047, pvalue 0.05253817163827498.
    #[test]
    fn matches_scipy_ttest_rel() {
        let (t, p) = paired_t(&[0.9, 0.8, 0.75, 0.6, 0.95], &[0.7, 0.65, 0.8, 0.3, 0.6]).unwrap();
        assert!((t - 2.7282410027474047).abs() < 1e-12, "{t}");
        assert!((p - 0.05253817163827498).abs() < 1e-10, "{p}");
        assert!(paired_t(&[1.0], &[0.0]).is_none());
    }
}
