//! A linear soft-margin SVM with an unregularised intercept (the problem libsvm and sklearn's
//! `SVC(kernel='linear')` solve): hinge loss, penalty C. Solved in the dual by sequential
//! minimal optimisation with second-order working-set selection (Fan, Chen & Lin, JMLR 2005)
//! until the maximal KKT violation is below `tol`.

use nalgebra::{DMatrix, DVector};

use crate::error::{ModelError, Result};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SvmOptions {
    pub c: f64,
    /// Stop when the maximal violating pair's gap is below this (libsvm's `eps`; sklearn's
    /// default is 1e-3; ours is tighter).
    pub tol: f64,
    pub max_iter: usize,
}

impl Default for SvmOptions {
    fn default() -> Self {
        SvmOptions {
            c: 1.0,
            tol: 1e-5,
            max_iter: 10_000_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LinearSvm {
    /// Normal of the separating hyperplane, towards the positive class (not normalised).
    pub w: Vec<f64>,
    /// Decision = w·x + b.
    pub b: f64,
    pub support_vectors: usize,
    pub iterations: usize,
}

impl LinearSvm {
    pub fn decision(&self, x: &[f64]) -> f64 {
        dot(&self.w, x) + self.b
    }

    pub fn predict(&self, x: &[f64]) -> bool {
        self.decision(x) > 0.0
    }

    /// Trains on the rows of `x` (n × d, row-major) with labels `y` (true = positive).
    pub fn fit(x: &[f64], d: usize, y: &[bool], opt: SvmOptions) -> Result<LinearSvm> {
        let n = y.len();
        if d == 0 || x.len() != n * d {
            return Err(ModelError::Invalid(format!(
                "SVM: {} values for {n} samples of dimension {d}",
                x.len()
            )));
        }
        if !y.iter().any(|&v| v) || y.iter().all(|&v| v) {
            return Err(ModelError::Invalid(
                "SVM: both classes need at least one sample".into(),
            ));
        }
        if !(opt.c > 0.0 && opt.c.is_finite()) {
            return Err(ModelError::Invalid(format!(
                "SVM: C must be positive, got {}",
                opt.c
            )));
        }
        let samples = DMatrix::from_row_slice(n, d, x);
        let ys: Vec<f64> = y.iter().map(|&v| if v { 1.0 } else { -1.0 }).collect();
        let diag: Vec<f64> = samples.row_iter().map(|r| r.norm_squared()).collect();
        // The whole Gram matrix X·Xᵀ when it fits in 256 MB; otherwise columns as needed.
        let gram: Option<DMatrix<f64>> =
            (n * n <= 32 << 20).then(|| &samples * samples.transpose());
        let column = |i: usize, out: &mut Vec<f64>| {
            out.clear();
            match &gram {
                Some(g) => out.extend(g.column(i).iter()),
                None => out.extend((&samples * samples.row(i).transpose()).iter()),
            }
        };
        let c = opt.c;
        let mut alpha = vec![0.0f64; n];
        // Gradient of ½αᵀQα − eᵀα with Q_ij = y_i y_j x_i·x_j.
        let mut grad = vec![-1.0f64; n];
        let (mut ki, mut kj) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let up = |a: f64, yv: f64| (yv > 0.0 && a < c) || (yv < 0.0 && a > 0.0);
        let low = |a: f64, yv: f64| (yv > 0.0 && a > 0.0) || (yv < 0.0 && a < c);
        let mut iterations = 0;
        loop {
            // i: the most violating index going up.
            let mut gmax = f64::NEG_INFINITY;
            let mut i = usize::MAX;
            for t in 0..n {
                if up(alpha[t], ys[t]) && -ys[t] * grad[t] >= gmax {
                    gmax = -ys[t] * grad[t];
                    i = t;
                }
            }
            if i == usize::MAX {
                break;
            }
            column(i, &mut ki);
            // j: the partner that decreases the objective most (second-order rule).
            let mut gmax2 = f64::NEG_INFINITY;
            let mut j = usize::MAX;
            let mut best = f64::INFINITY;
            for t in 0..n {
                if !low(alpha[t], ys[t]) {
                    continue;
                }
                let v = ys[t] * grad[t];
                gmax2 = gmax2.max(v);
                let b = gmax + v;
                if b > 0.0 {
                    let a = (diag[i] + diag[t] - 2.0 * ki[t]).max(1e-12);
                    let obj = -(b * b) / a;
                    if obj <= best {
                        best = obj;
                        j = t;
                    }
                }
            }
            if gmax + gmax2 < opt.tol || j == usize::MAX {
                break;
            }
            iterations += 1;
            if iterations > opt.max_iter {
                return Err(ModelError::Invalid(format!(
                    "SVM did not converge in {} iterations (violation {:.3e} > tol {:.1e}); scale the codes or raise the limit",
                    opt.max_iter,
                    gmax + gmax2,
                    opt.tol
                )));
            }
            column(j, &mut kj);
            let (ai, aj) = (alpha[i], alpha[j]);
            let quad = (diag[i] + diag[j] - 2.0 * ki[j]).max(1e-12);
            let (mut ni, mut nj);
            if ys[i] != ys[j] {
                // α_i − α_j stays constant.
                let delta = (-grad[i] - grad[j]) / quad;
                let diff = ai - aj;
                ni = ai + delta;
                nj = aj + delta;
                if diff > 0.0 {
                    if nj < 0.0 {
                        nj = 0.0;
                        ni = diff;
                    }
                } else if ni < 0.0 {
                    ni = 0.0;
                    nj = -diff;
                }
                if diff > 0.0 {
                    if ni > c {
                        ni = c;
                        nj = c - diff;
                    }
                } else if nj > c {
                    nj = c;
                    ni = c + diff;
                }
            } else {
                // α_i + α_j stays constant.
                let delta = (grad[i] - grad[j]) / quad;
                let sum = ai + aj;
                ni = ai - delta;
                nj = aj + delta;
                if sum > c {
                    if ni > c {
                        ni = c;
                        nj = sum - c;
                    }
                } else if nj < 0.0 {
                    nj = 0.0;
                    ni = sum;
                }
                if sum > c {
                    if nj > c {
                        nj = c;
                        ni = sum - c;
                    }
                } else if ni < 0.0 {
                    ni = 0.0;
                    nj = sum;
                }
            }
            alpha[i] = ni;
            alpha[j] = nj;
            let (di, dj) = (ni - ai, nj - aj);
            for t in 0..n {
                grad[t] += ys[t] * (ys[i] * ki[t] * di + ys[j] * kj[t] * dj);
            }
        }
        // The intercept from the free support vectors (their KKT condition is an equality),
        // or the middle of the feasible interval when there are none.
        let (mut sum, mut free) = (0.0, 0usize);
        let (mut ub, mut lb) = (f64::INFINITY, f64::NEG_INFINITY);
        for t in 0..n {
            let yg = ys[t] * grad[t];
            let at_upper = alpha[t] >= c;
            let at_lower = alpha[t] <= 0.0;
            if at_upper {
                if ys[t] < 0.0 {
                    ub = ub.min(yg);
                } else {
                    lb = lb.max(yg);
                }
            } else if at_lower {
                if ys[t] > 0.0 {
                    ub = ub.min(yg);
                } else {
                    lb = lb.max(yg);
                }
            } else {
                free += 1;
                sum += yg;
            }
        }
        let rho = if free > 0 {
            sum / free as f64
        } else {
            (ub + lb) / 2.0
        };
        // The primal normal w = Xᵀ(α ∘ y).
        let coefficients = DVector::from_iterator(n, alpha.iter().zip(&ys).map(|(a, y)| a * y));
        let w = samples.tr_mul(&coefficients);
        Ok(LinearSvm {
            w: w.iter().copied().collect(),
            b: -rho,
            support_vectors: alpha.iter().filter(|&&a| a > 0.0).count(),
            iterations,
        })
    }
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f64], b: &[f64]) -> f64 {
        dot(a, b) / (dot(a, a).sqrt() * dot(b, b).sqrt())
    }

    #[test]
    fn a_separable_pair_gives_the_closed_form_maximum_margin() {
        // Two points: the maximum-margin hyperplane is their perpendicular bisector, with
        // w = 2(p − q)/|p − q|², b = −w·(p + q)/2, and α = 2/|p − q|² each (≤ C here).
        let (p, q) = ([2.0, 1.0, 0.5], [0.0, -1.0, 1.5]);
        let x: Vec<f64> = p.iter().chain(&q).copied().collect();
        let m = LinearSvm::fit(&x, 3, &[true, false], SvmOptions::default()).unwrap();
        let diff: Vec<f64> = p.iter().zip(&q).map(|(a, b)| a - b).collect();
        let n2 = dot(&diff, &diff);
        for (wk, dk) in m.w.iter().zip(&diff) {
            assert!((wk - 2.0 * dk / n2).abs() < 1e-6, "{:?}", m.w);
        }
        let mid: Vec<f64> = p.iter().zip(&q).map(|(a, b)| (a + b) / 2.0).collect();
        assert!(m.decision(&mid).abs() < 1e-6);
        assert!((m.decision(&p) - 1.0).abs() < 1e-6 && (m.decision(&q) + 1.0).abs() < 1e-6);
    }

    #[test]
    fn overlapping_classes_match_sklearn_svc_linear() {
        // Reference: scikit-learn 1.9.1, SVC(kernel='linear', C=1.0, tol=1e-6) on the data
        // below (the formula is in the Python that produced it:
        // X[i][k] = sin(0.7 i + 1.3 k) + 0.15 ((7 i + 3 k) mod 5), labels as listed).
        let (n, d) = (24usize, 4usize);
        let x: Vec<f64> = (0..n)
            .flat_map(|i| {
                (0..d).map(move |k| {
                    (0.7 * i as f64 + 1.3 * k as f64).sin() + 0.15 * ((i * 7 + k * 3) % 5) as f64
                })
            })
            .collect();
        let labels = [
            1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0,
        ];
        let y: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
        let coef = [
            0.8930706286165488,
            0.9743428457625136,
            -0.519797270762228,
            -0.31251264250498756,
        ];
        let intercept = -0.058793038623034276;
        let m = LinearSvm::fit(&x, d, &y, SvmOptions::default()).unwrap();
        let cos = cosine(&m.w, &coef);
        assert!(cos >= 0.999_999, "cosine {cos}: {:?}", m.w);
        for (wk, ck) in m.w.iter().zip(&coef) {
            assert!((wk - ck).abs() < 1e-3, "{:?} vs {coef:?}", m.w);
        }
        assert!((m.b - intercept).abs() < 1e-3, "{} vs {intercept}", m.b);
        assert_eq!(m.support_vectors, 9);
    }

    #[test]
    fn one_class_is_refused() {
        let e = LinearSvm::fit(&[1.0, 2.0], 1, &[true, true], SvmOptions::default()).unwrap_err();
        assert!(e.to_string().contains("both classes"));
    }
}
