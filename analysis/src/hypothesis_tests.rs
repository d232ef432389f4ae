//! Hypothesis tests and what goes with them: t-tests (Welch, Student, paired), rank tests,
//! contingency tests, multiple-comparison corrections, effect sizes and
//! resampling, written here (statrs gives distributions only) and checked against scipy.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};

use crate::descriptive::{mean, variance};

fn std_normal_sf(z: f64) -> f64 {
    Normal::new(0.0, 1.0).map_or(f64::NAN, |n| n.sf(z))
}

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

/// Student's t-test with pooled variance, as `scipy.stats.ttest_ind(a, b)`.
pub fn student_t_test(a: &[f64], b: &[f64]) -> Option<TTest> {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    if n1 < 2.0 || n2 < 2.0 {
        return None;
    }
    let df = n1 + n2 - 2.0;
    let sp2 = ((n1 - 1.0) * variance(a) + (n2 - 1.0) * variance(b)) / df;
    let se = (sp2 * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se <= 0.0 || !se.is_finite() {
        return None;
    }
    let t = (mean(a) - mean(b)) / se;
    let p = (2.0 * StudentsT::new(0.0, 1.0, df).ok()?.sf(t.abs())).min(1.0);
    Some(TTest { t, df, se, p })
}

/// Paired t-test of a − b, as `scipy.stats.ttest_rel(a, b)`.
pub fn paired_t_test(a: &[f64], b: &[f64]) -> Option<TTest> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let n = d.len() as f64;
    let se = (variance(&d) / n).sqrt();
    if se <= 0.0 || !se.is_finite() {
        return None;
    }
    let t = mean(&d) / se;
    let df = n - 1.0;
    let p = (2.0 * StudentsT::new(0.0, 1.0, df).ok()?.sf(t.abs())).min(1.0);
    Some(TTest { t, df, se, p })
}

/// Values closer than this share of the largest magnitude among them are one value to the rank
/// tests: dwell times are multiples of a sample period (1000/120 ms), and the same sum reached
/// in another order differs in the last bits (1025.0000000000002 against 1025.0); a user
/// expects those to tie, and a difference of such values to be 0.
pub const RANK_RELATIVE_PRECISION: f64 = 1e-9;

/// `v` as whole multiples of `RANK_RELATIVE_PRECISION` × the largest |value| (exact integers as
/// f64): the values the rank tests order, compare and sign. Ranks depend on order alone, so
/// the scale does not change a statistic.
pub fn on_rank_grid(v: &[f64]) -> Vec<f64> {
    let scale = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if scale == 0.0 || !scale.is_finite() {
        return v.to_vec();
    }
    let quantum = scale * RANK_RELATIVE_PRECISION;
    v.iter().map(|x| (x / quantum).round()).collect()
}

/// Mid-ranks (1-based) of `v`, and the tie groups' sizes.
fn ranks(v: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut r = vec![0.0; v.len()];
    let mut ties = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for k in &idx[i..=j] {
            r[*k] = mid;
        }
        if j > i {
            ties.push(j - i + 1);
        }
        i = j + 1;
    }
    (r, ties)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// scipy's choice: exact when the rules below allow, else asymptotic.
    Auto,
    Exact,
    Asymptotic,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankTest {
    pub statistic: f64,
    pub p: f64,
    /// True when the exact (or exhaustive permutation) distribution was used.
    pub exact: bool,
}

/// How many arrangements of `n1` x's and `n2` y's give each U = 0 … n1·n2: the coefficients of
/// the Gaussian binomial [n1 + n2 choose n1]_q = ∏_{k=1}^{n1} (1 − q^(n2+k)) / (1 − q^k),
/// multiplied out exactly in integers. Memory is one polynomial of degree n1·n2 (the former
/// table of (n2 + 1) such rows took 25 GB at n1 = 8, n2 = 20,000), time n1 times that.
/// `None` when a count would not fit in 127 bits (then the normal approximation is used).
fn mwu_counts(n1: usize, n2: usize) -> Option<Vec<f64>> {
    let (n1, n2) = (n1.min(n2), n1.max(n2));
    let max = n1.checked_mul(n2)?;
    if max > 50_000_000 {
        return None;
    }
    let mut c = vec![0i128; max + 1];
    c[0] = 1;
    let mut degree = 0usize;
    for k in 1..=n1 {
        // × (1 − q^(n2+k)).
        let m = n2 + k;
        let new_degree = degree + m;
        for u in (m..=new_degree.min(max)).rev() {
            c[u] = c[u].checked_sub(c[u - m])?;
        }
        // ÷ (1 − q^k): exact, as a running sum (which clears the terms above the quotient's
        // degree).
        for u in k..=new_degree.min(max) {
            c[u] = c[u].checked_add(c[u - k])?;
        }
        degree = new_degree - k;
    }
    Some(c.into_iter().map(|v| v as f64).collect())
}

/// Mann–Whitney U of `x` against `y`, two-sided, as `scipy.stats.mannwhitneyu(x, y)`:
/// the statistic is U of `x`; exact without ties (auto: when a sample has at most 8 values),
/// else the normal approximation with tie and continuity correction. Values are compared on
/// the rank grid (`on_rank_grid`): equal up to rounding noise is a tie.
pub fn mann_whitney_u(x: &[f64], y: &[f64], method: Method) -> Option<RankTest> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let all = on_rank_grid(&x.iter().chain(y).copied().collect::<Vec<f64>>());
    let (r, ties) = ranks(&all);
    let r1: f64 = r[..n1].iter().sum();
    let u1 = r1 - (n1 * (n1 + 1)) as f64 / 2.0;
    let (f1, f2) = (n1 as f64, n2 as f64);
    let exact = match method {
        Method::Exact => true,
        Method::Asymptotic => false,
        Method::Auto => ties.is_empty() && n1.min(n2) <= 8,
    };
    if let Some(counts) = exact.then(|| mwu_counts(n1, n2)).flatten() {
        let total: f64 = counts.iter().sum();
        let u = u1.round() as usize;
        let cdf: f64 = counts[..=u.min(counts.len() - 1)].iter().sum::<f64>() / total;
        let sf: f64 = counts[u.min(counts.len())..].iter().sum::<f64>() / total;
        return Some(RankTest {
            statistic: u1,
            p: (2.0 * cdf.min(sf)).min(1.0),
            exact: true,
        });
    }
    let n = f1 + f2;
    let tie_term: f64 = ties.iter().map(|&t| (t * t * t - t) as f64).sum::<f64>() / (n * (n - 1.0));
    let sigma = (f1 * f2 / 12.0 * ((n + 1.0) - tie_term)).sqrt();
    let u = u1.max(f1 * f2 - u1);
    let z = (u - f1 * f2 / 2.0 - 0.5) / sigma;
    Some(RankTest {
        statistic: u1,
        p: (2.0 * std_normal_sf(z)).min(1.0),
        exact: false,
    })
}

/// Wilcoxon signed-rank test of `d` (paired differences), two-sided, zero differences
/// dropped, as `scipy.stats.wilcoxon(d)`: the statistic is min(T+, T−); exact for at most 50
/// untied non-zero differences, an exhaustive sign-flip permutation for at most 13 with ties
/// or zeros, else the normal approximation with tie correction (no continuity correction).
/// Differences are compared on the rank grid (`on_rank_grid`), so rounding noise is 0 and
/// equal differences tie.
pub fn wilcoxon(d: &[f64], method: Method) -> Option<RankTest> {
    let d = &on_rank_grid(d)[..];
    let had_zeros = d.contains(&0.0);
    let nz: Vec<f64> = d.iter().copied().filter(|v| *v != 0.0).collect();
    let n = nz.len();
    if n == 0 {
        return None;
    }
    let abs: Vec<f64> = nz.iter().map(|v| v.abs()).collect();
    let (r, ties) = ranks(&abs);
    let t_plus: f64 = nz
        .iter()
        .zip(&r)
        .filter(|(v, _)| **v > 0.0)
        .map(|(_, r)| r)
        .sum();
    let total = (n * (n + 1)) as f64 / 2.0;
    let stat = t_plus.min(total - t_plus);
    let clean = ties.is_empty() && !had_zeros;
    // SciPy's choice counts every difference, zeros included: exact up to 50 without ties or
    // zeros, else a permutation test up to 13, else the normal approximation.
    let all = d.len();
    let use_exact = match method {
        Method::Exact => true,
        Method::Asymptotic => false,
        Method::Auto => (clean && all <= 50) || (!clean && all <= 13),
    };
    if use_exact && clean {
        // Distribution of T+ over the 2^n sign patterns of ranks 1..n.
        let max = n * (n + 1) / 2;
        let mut c = vec![0.0f64; max + 1];
        c[0] = 1.0;
        for k in 1..=n {
            for s in (k..=max).rev() {
                c[s] += c[s - k];
            }
        }
        let all: f64 = c.iter().sum();
        let t = t_plus.round() as usize;
        let cdf = c[..=t].iter().sum::<f64>() / all;
        let sf = c[t..].iter().sum::<f64>() / all;
        return Some(RankTest {
            statistic: stat,
            p: (2.0 * cdf.min(sf)).min(1.0),
            exact: true,
        });
    }
    if use_exact && n <= 20 {
        // Exhaustive sign flips of the (mid-)ranks.
        let (mut le, mut ge) = (0u64, 0u64);
        let eps = 1e-9 * total.max(1.0);
        for mask in 0u64..(1u64 << n) {
            let s: f64 = (0..n).filter(|i| mask >> i & 1 == 1).map(|i| r[i]).sum();
            if s <= t_plus + eps {
                le += 1;
            }
            if s >= t_plus - eps {
                ge += 1;
            }
        }
        let m = (1u64 << n) as f64;
        return Some(RankTest {
            statistic: stat,
            p: (2.0 * (le as f64 / m).min(ge as f64 / m)).min(1.0),
            exact: true,
        });
    }
    let nf = n as f64;
    let mn = nf * (nf + 1.0) / 4.0;
    let tie_term: f64 = ties.iter().map(|&t| (t * t * t - t) as f64).sum::<f64>() / 48.0;
    let se = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term).sqrt();
    let z = (stat - mn) / se;
    Some(RankTest {
        statistic: stat,
        p: (2.0 * std_normal_sf(z.abs())).min(1.0),
        exact: false,
    })
}

fn ln_factorial(n: u64) -> f64 {
    (1..=n).map(|k| (k as f64).ln()).sum()
}

/// Fisher's exact test on a 2×2 table [[a, b], [c, d]], two-sided, as
/// `scipy.stats.fisher_exact`: the sum of the probabilities of all tables with the same
/// margins that are no more likely than the observed one.
pub fn fisher_exact(t: [[u64; 2]; 2]) -> f64 {
    let [[a, b], [c, d]] = t;
    let (r1, r2, c1) = (a + b, c + d, a + c);
    let n = r1 + r2;
    let lnp = |x: u64| -> f64 {
        // Hypergeometric: x successes in row 1.
        ln_factorial(r1) + ln_factorial(r2) + ln_factorial(c1) + ln_factorial(n - c1)
            - ln_factorial(n)
            - ln_factorial(x)
            - ln_factorial(r1 - x)
            - ln_factorial(c1 - x)
            - ln_factorial(r2 + x - c1)
    };
    let lo = c1.saturating_sub(r2);
    let hi = r1.min(c1);
    let observed = lnp(a);
    let p: f64 = (lo..=hi)
        .map(lnp)
        .filter(|l| *l <= observed + 1e-7_f64.ln_1p())
        .map(f64::exp)
        .sum();
    p.min(1.0)
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChiSquare {
    pub statistic: f64,
    pub dof: usize,
    pub p: f64,
}

/// Pearson's chi-square test of independence on an r×c table, as
/// `scipy.stats.chi2_contingency(table, correction=yates)`: Yates' correction applies only
/// when there is one degree of freedom.
pub fn chi_square(table: &[Vec<f64>], yates: bool) -> Option<ChiSquare> {
    let rows = table.len();
    let cols = table.first()?.len();
    if rows < 2 || cols < 2 || table.iter().any(|r| r.len() != cols) {
        return None;
    }
    let total: f64 = table.iter().flatten().sum();
    let row_sums: Vec<f64> = table.iter().map(|r| r.iter().sum()).collect();
    let col_sums: Vec<f64> = (0..cols)
        .map(|j| table.iter().map(|r| r[j]).sum())
        .collect();
    let dof = (rows - 1) * (cols - 1);
    let mut stat = 0.0;
    for i in 0..rows {
        for j in 0..cols {
            let e = row_sums[i] * col_sums[j] / total;
            if e <= 0.0 {
                return None;
            }
            let mut diff = table[i][j] - e;
            if yates && dof == 1 {
                diff = diff.signum() * (diff.abs() - 0.5).max(0.0);
            }
            stat += diff * diff / e;
        }
    }
    let p = ChiSquared::new(dof as f64).ok()?.sf(stat);
    Some(ChiSquare {
        statistic: stat,
        dof,
        p,
    })
}

/// Two-proportion z-test with the pooled proportion (two-sided): equal to the chi-square test
/// of the 2×2 table without Yates' correction (z² = χ²).
pub fn two_proportion_z(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<(f64, f64)> {
    if n1 == 0 || n2 == 0 || x1 > n1 || x2 > n2 {
        return None;
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let p = (x1 + x2) as f64 / (n1 + n2) as f64;
    let se = (p * (1.0 - p) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    if se <= 0.0 {
        return None;
    }
    let z = (p1 - p2) / se;
    Some((z, (2.0 * std_normal_sf(z.abs())).min(1.0)))
}

pub fn bonferroni(p: &[f64]) -> Vec<f64> {
    p.iter().map(|v| (v * p.len() as f64).min(1.0)).collect()
}

/// Holm's step-down correction (monotone), in the input order.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut idx: Vec<usize> = (0..m).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (k, &i) in idx.iter().enumerate() {
        running = running.max(((m - k) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

/// Benjamini–Hochberg adjusted p-values, as `scipy.stats.false_discovery_control(p)`.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut idx: Vec<usize> = (0..m).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    let mut running: f64 = 1.0;
    for k in (0..m).rev() {
        let i = idx[k];
        running = running.min(p[i] * m as f64 / (k + 1) as f64);
        out[i] = running.min(1.0);
    }
    out
}

/// Cohen's d with the pooled standard deviation.
pub fn cohens_d(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let sp = (((n1 - 1.0) * variance(a) + (n2 - 1.0) * variance(b)) / (n1 + n2 - 2.0)).sqrt();
    (mean(a) - mean(b)) / sp
}

/// Hedges' g: Cohen's d times the exact small-sample correction
/// J = Γ(df/2) / (√(df/2) · Γ((df − 1)/2)) (Hedges 1981), not its approximation
/// 1 − 3/(4·df − 1), which is 0.05 % high at df = 8.
pub fn hedges_g(a: &[f64], b: &[f64]) -> f64 {
    let df = (a.len() + b.len()) as f64 - 2.0;
    cohens_d(a, b) * hedges_correction(df)
}

fn hedges_correction(df: f64) -> f64 {
    use statrs::function::gamma::ln_gamma;
    if df <= 1.0 {
        return f64::NAN;
    }
    (ln_gamma(df / 2.0) - ln_gamma((df - 1.0) / 2.0)).exp() / (df / 2.0).sqrt()
}

/// Rank-biserial correlation for Mann–Whitney: 2·U₁/(n₁n₂) − 1 (positive when `x` tends to be
/// larger).
pub fn rank_biserial(x: &[f64], y: &[f64]) -> Option<f64> {
    let u = mann_whitney_u(x, y, Method::Asymptotic)?.statistic;
    Some(2.0 * u / (x.len() * y.len()) as f64 - 1.0)
}

/// Two-sided permutation test of the difference in means, `n` random relabellings with a fixed
/// seed; p = (hits + 1) / (n + 1), so it is never zero.
pub fn permutation_test(a: &[f64], b: &[f64], n: usize, seed: u64) -> f64 {
    let observed = (mean(a) - mean(b)).abs();
    let mut pool: Vec<f64> = a.iter().chain(b).copied().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut hits = 0usize;
    for _ in 0..n {
        pool.shuffle(&mut rng);
        let (x, y) = pool.split_at(a.len());
        if (mean(x) - mean(y)).abs() >= observed - 1e-12 {
            hits += 1;
        }
    }
    (hits + 1) as f64 / (n + 1) as f64
}

/// Percentile bootstrap confidence interval of the difference in means (a − b), resampling
/// each group with replacement `n` times with a fixed seed.
pub fn bootstrap_ci(a: &[f64], b: &[f64], n: usize, level: f64, seed: u64) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut diffs: Vec<f64> = (0..n)
        .map(|_| {
            let ma = (0..a.len())
                .map(|_| a[rng.random_range(0..a.len())])
                .sum::<f64>()
                / a.len() as f64;
            let mb = (0..b.len())
                .map(|_| b[rng.random_range(0..b.len())])
                .sum::<f64>()
                / b.len() as f64;
            ma - mb
        })
        .collect();
    diffs.sort_by(f64::total_cmp);
    let q = |f: f64| diffs[((diffs.len() - 1) as f64 * f).round() as usize];
    let tail = (1.0 - level) / 2.0;
    (q(tail), q(1.0 - tail))
}

#[cfg(test)]
mod tests {
    //! References: scipy 1.17.1 (numpy 2.4.6), printed with repr().
    use super::*;

    const A: [f64; 8] = [1220.5, 980.0, 1500.25, 870.0, 1333.3, 1010.0, 940.5, 1190.0];
    const B: [f64; 7] = [1010.0, 760.5, 1105.0, 690.0, 980.75, 820.0, 1300.0];
    const P1: [f64; 10] = [5.1, 4.8, 6.0, 5.5, 5.9, 4.2, 5.0, 6.3, 5.7, 4.9];
    const P2: [f64; 10] = [4.9, 4.9, 5.2, 5.1, 5.0, 4.4, 4.6, 5.8, 5.1, 4.7];
    const X: [f64; 9] = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
    #[allow(clippy::approx_constant)] // 3.14 is a data value here, not π.
    const Y: [f64; 9] = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];

    fn close(got: f64, want: f64) {
        assert!((got - want).abs() <= 1e-9, "{got} vs {want}");
    }

    #[test]
    fn t_tests_match_scipy() {
        // ttest_ind(A, B): 1.6003843062451688, 0.13352383597521617, df 13.
        let r = student_t_test(&A, &B).unwrap();
        close(r.t, 1.6003843062451688);
        close(r.p, 0.13352383597521617);
        assert_eq!(r.df, 13.0);
        // ttest_rel(P1, P2): 3.286095317616218, 0.009436979802752704, df 9.
        let r = paired_t_test(&P1, &P2).unwrap();
        close(r.t, 3.286095317616218);
        close(r.p, 0.009436979802752704);
    }

    #[test]
    fn mann_whitney_matches_scipy() {
        // mannwhitneyu(X[:7], Y[:6]) exact/auto: 31.0, 0.18065268065268064; asymptotic 0.17473582321524717.
        let r = mann_whitney_u(&X[..7], &Y[..6], Method::Auto).unwrap();
        assert!(r.exact);
        assert_eq!(r.statistic, 31.0);
        close(r.p, 0.18065268065268064);
        close(
            mann_whitney_u(&X[..7], &Y[..6], Method::Asymptotic)
                .unwrap()
                .p,
            0.17473582321524717,
        );
        // mannwhitneyu(X, Y) (9 vs 9, ties in Y → asymptotic): 58.0, 0.13291945818531892.
        let r = mann_whitney_u(&X, &Y, Method::Auto).unwrap();
        assert!(!r.exact);
        assert_eq!(r.statistic, 58.0);
        close(r.p, 0.13291945818531892);
        // Ties: mannwhitneyu([3,4,2,6,2,5,4,4,7,3], [1,2,3,1,2,5,1,2,3,2,1]): 92.5, 0.007866416522828322.
        let xt = [3.0, 4.0, 2.0, 6.0, 2.0, 5.0, 4.0, 4.0, 7.0, 3.0];
        let yt = [1.0, 2.0, 3.0, 1.0, 2.0, 5.0, 1.0, 2.0, 3.0, 2.0, 1.0];
        let r = mann_whitney_u(&xt, &yt, Method::Auto).unwrap();
        assert_eq!(r.statistic, 92.5);
        close(r.p, 0.007866416522828322);
        let rb = rank_biserial(&xt, &yt).unwrap();
        close(rb, 2.0 * 92.5 / 110.0 - 1.0);
    }

    #[test]
    fn mann_whitney_exact_counts_are_small_and_right() {
        // Against counting every arrangement of 3 x's and 4 y's.
        let c = mwu_counts(3, 4).unwrap();
        let mut brute = vec![0.0; 13];
        for mask in 0u32..(1 << 7) {
            if mask.count_ones() != 3 {
                continue;
            }
            // U = number of (x, y) pairs with the y before the x.
            let (mut ys, mut u) = (0, 0);
            for pos in 0..7 {
                if mask >> pos & 1 == 1 {
                    u += ys;
                } else {
                    ys += 1;
                }
            }
            brute[u] += 1.0;
        }
        assert_eq!(c, brute);
        // 8 against 20,000 stays exact in one polynomial of 160,001 counts.
        let x: Vec<f64> = (0..8).map(|k| f64::from(k) * 2.5 + 0.0004).collect();
        let y: Vec<f64> = (0..20_000).map(|k| f64::from(k) * 0.001).collect();
        let r = mann_whitney_u(&x, &y, Method::Auto).unwrap();
        assert!(r.exact && (0.0..=1.0).contains(&r.p), "{r:?}");
    }

    #[test]
    fn wilcoxon_matches_scipy() {
        // The differences of P1[:8] and P2[:8] hold 0.2 and −0.2, 0.4 and 0.4 up to float
        // noise (0.1999999999999993 against −0.20000000000000018): ties on the rank grid.
        // scipy.stats.wilcoxon of the differences on that grid: 3.5, 0.046875 (on the raw
        // floats scipy sees no ties: 4.0).
        let d: Vec<f64> = P1[..8].iter().zip(&P2[..8]).map(|(a, b)| a - b).collect();
        let r = wilcoxon(&d, Method::Auto).unwrap();
        assert_eq!(r.statistic, 3.5);
        close(r.p, 0.046875);
        let d = [
            0.8, -0.3, 1.1, 0.45, 0.92, -0.2, 0.4, 0.5, 0.6, 1.3, -0.55, 0.75, 0.85, 0.33, 0.21,
        ];
        // wilcoxon(d): 12.0, 0.0042724609375; method='approx': 0.0064064902221673695.
        let r = wilcoxon(&d, Method::Auto).unwrap();
        assert_eq!(r.statistic, 12.0);
        close(r.p, 0.0042724609375);
        close(
            wilcoxon(&d, Method::Asymptotic).unwrap().p,
            0.0064064902221673695,
        );
        // Ties, 12 differences: exhaustive permutation: 7.5, 0.01171875.
        let dt = [1.0, 2.0, 2.0, 3.0, -1.0, 3.0, 4.0, -2.0, 5.0, 2.0, 1.0, 3.0];
        let r = wilcoxon(&dt, Method::Auto).unwrap();
        assert_eq!(r.statistic, 7.5);
        close(r.p, 0.01171875);
    }

    #[test]
    fn contingency_tests_match_scipy() {
        // fisher_exact([[8,2],[1,5]]) 0.034965034965034975; [[12,5],[3,9]] 0.02532768703367614.
        close(fisher_exact([[8, 2], [1, 5]]), 0.034965034965034975);
        close(fisher_exact([[12, 5], [3, 9]]), 0.02532768703367614);
        // chi2_contingency([[34,26],[28,32]]): Yates 0.8342602892102335, 0.3610435077580345;
        // correction=False 1.2013348164627364, 0.2730550546343707.
        let t = vec![vec![34.0, 26.0], vec![28.0, 32.0]];
        let r = chi_square(&t, true).unwrap();
        close(r.statistic, 0.8342602892102335);
        close(r.p, 0.3610435077580345);
        let r = chi_square(&t, false).unwrap();
        close(r.statistic, 1.2013348164627364);
        close(r.p, 0.2730550546343707);
        // chi2_contingency([[10,20,30],[25,15,12]]): 14.35897435897436, 0.0007620585412149424, dof 2.
        let r = chi_square(&[vec![10.0, 20.0, 30.0], vec![25.0, 15.0, 12.0]], true).unwrap();
        close(r.statistic, 14.35897435897436);
        close(r.p, 0.0007620585412149424);
        assert_eq!(r.dof, 2);
        // Two proportions 34/60 vs 28/60: p equals the uncorrected chi-square's.
        let (z, p) = two_proportion_z(34, 60, 28, 60).unwrap();
        close(z * z, 1.2013348164627364);
        close(p, 0.2730550546343707);
    }

    #[test]
    fn corrections() {
        let p = [0.01, 0.04, 0.03, 0.2, 0.005];
        // false_discovery_control(p): [0.025, 0.05, 0.05, 0.2, 0.025].
        for (got, want) in benjamini_hochberg(&p)
            .iter()
            .zip([0.025, 0.05, 0.05, 0.2, 0.025])
        {
            close(*got, want);
        }
        // Holm by hand: sorted 0.005·5, 0.01·4, 0.03·3, 0.04·2, 0.2·1, made monotone.
        for (got, want) in holm(&p).iter().zip([0.04, 0.09, 0.09, 0.2, 0.025]) {
            close(*got, want);
        }
        for (got, want) in bonferroni(&p).iter().zip([0.05, 0.2, 0.15, 1.0, 0.025]) {
            close(*got, want);
        }
    }

    #[test]
    fn effect_sizes_and_resampling() {
        // Pooled SD by hand from the t statistic: d = t·sqrt(1/n1 + 1/n2).
        let d = cohens_d(&A, &B);
        close(d, 1.6003843062451688 * (1.0 / 8.0 + 1.0 / 7.0f64).sqrt());
        // The exact correction is below its approximation, by less than 0.05 % at df = 13
        // (SciPy's values: tests/reference/scipy_reference.toml, "hedges_g").
        let j = hedges_g(&A, &B) / d;
        let approx = 1.0 - 3.0 / (4.0 * 13.0 - 1.0);
        assert!(j < approx && approx - j < 5e-4 * approx, "{j}");
        // Seeded resampling is reproducible and agrees with the t-test in direction.
        let p1 = permutation_test(&A, &B, 5000, 7);
        assert_eq!(p1, permutation_test(&A, &B, 5000, 7));
        assert!((p1 - 0.133).abs() < 0.03, "{p1}");
        let (lo, hi) = bootstrap_ci(&A, &B, 4000, 0.95, 3);
        assert!(
            lo < mean(&A) - mean(&B) && mean(&A) - mean(&B) < hi && lo < 0.0,
            "{lo} {hi}"
        );
    }
}

/// Welch against SciPy.
#[cfg(test)]
mod welch_tests {
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
