//! The penalized least-squares step at fixed covariance parameters θ (Bates, Mächler, Bolker &
//! Walker 2015, "Fitting linear mixed-effects models using lme4", section 3): the conditional
//! modes, the fixed effects, and the pieces of the (RE)ML deviance.
//!
//! Λθ is block diagonal, one lower-triangular block per level of each term, filled column-wise
//! from θ as lme4 does; with u spherical (b = Λθ u), the system is
//! `L Lᵀ = Λᵀ ZᵀZ Λ + I` and `RXᵀ RX = XᵀX − RZXᵀ RZX`.

use nalgebra::{DMatrix, DVector};

use super::model::Products;

/// The solution of the penalized least-squares problem at one θ.
#[derive(Debug, Clone)]
pub(crate) struct Pls {
    pub beta: DVector<f64>,
    /// Penalized residual sum of squares ‖y − Xβ − ZΛu‖² + ‖u‖².
    pub pwrss: f64,
    /// log det(L)²
    pub ld_l2: f64,
    /// log det(RX)²
    pub ld_rx2: f64,
    /// (RXᵀ RX)⁻¹: the fixed effects' covariance divided by σ².
    pub rx_inv2: DMatrix<f64>,
}

/// The lower-triangular k × k block of one term from its θ (column-wise).
fn block(theta: &[f64], k: usize) -> DMatrix<f64> {
    let mut t = DMatrix::zeros(k, k);
    let mut i = 0;
    for c in 0..k {
        for r in c..k {
            t[(r, c)] = theta[i];
            i += 1;
        }
    }
    t
}

/// Per term of `pr.blocks`, its block of Λ.
fn lambda_blocks(pr: &Products, theta: &[f64]) -> Vec<DMatrix<f64>> {
    let mut at = 0;
    pr.blocks
        .iter()
        .map(|&(_, k, _)| {
            let n = k * (k + 1) / 2;
            let b = block(&theta[at..at + n], k);
            at += n;
            b
        })
        .collect()
}

/// Terms from the first.. or from the second on.
#[derive(Clone, Copy)]
enum Terms {
    All,
    First,
    Rest,
}

fn terms<'a>(
    pr: &'a Products,
    t: &'a [DMatrix<f64>],
    which: Terms,
) -> impl Iterator<Item = (&'a (usize, usize, usize), &'a DMatrix<f64>)> {
    let (skip, take) = match which {
        Terms::All => (0, usize::MAX),
        Terms::First => (0, 1),
        Terms::Rest => (1, usize::MAX),
    };
    pr.blocks.iter().zip(t).skip(skip).take(take)
}

/// Λᵀ M for the rows of M that belong to `which` terms (M's row 0 is Z column `offset`).
fn lambda_t_rows(
    pr: &Products,
    t: &[DMatrix<f64>],
    which: Terms,
    offset: usize,
    m: &mut DMatrix<f64>,
) {
    for (&(start, k, levels), t) in terms(pr, t, which) {
        for l in 0..levels {
            let r0 = start + l * k - offset;
            let rows = m.rows(r0, k).into_owned();
            m.rows_mut(r0, k).copy_from(&(t.transpose() * rows));
        }
    }
}

/// M Λ for the columns of M that belong to `which` terms (M's column 0 is Z column `offset`).
fn lambda_cols(
    pr: &Products,
    t: &[DMatrix<f64>],
    which: Terms,
    offset: usize,
    m: &mut DMatrix<f64>,
) {
    for (&(start, k, levels), t) in terms(pr, t, which) {
        for l in 0..levels {
            let c0 = start + l * k - offset;
            let cols = m.columns(c0, k).into_owned();
            m.columns_mut(c0, k).copy_from(&(cols * t));
        }
    }
}

/// The Cholesky factor L of Λᵀ ZᵀZ Λ + I, split after the first term. The first term's block
/// is block diagonal (an observation has one level of a factor: one k × k block per level), so
/// it is factored level by level; only the Schur complement of the other terms (as large as
/// their levels, e.g. the images) is dense. For 200 participants and 32 images this is 200
/// 1 × 1 factors and one 32 × 32 instead of one 232 × 232.
struct Factor {
    k: usize,
    q1: usize,
    /// Per level of the first term, its k × k lower factor.
    l11: Vec<DMatrix<f64>>,
    /// q₂ × q₁.
    l21: DMatrix<f64>,
    /// q₂ × q₂ lower.
    l22: DMatrix<f64>,
}

impl Factor {
    fn new(pr: &Products, t: &[DMatrix<f64>]) -> Option<Factor> {
        let (k, levels) = pr.blocks.first().map_or((1, 0), |&(_, k, l)| (k, l));
        let q1 = k * levels;
        let q2 = pr.q - q1;
        let mut l11 = Vec::with_capacity(levels);
        for l in 0..levels {
            let d = pr.ztz.view((l * k, l * k), (k, k));
            let a = t[0].transpose() * d * &t[0] + DMatrix::identity(k, k);
            l11.push(a.cholesky()?.l());
        }
        let mut a21 = pr.ztz.view((q1, 0), (q2, q1)).into_owned();
        lambda_t_rows(pr, t, Terms::Rest, q1, &mut a21);
        lambda_cols(pr, t, Terms::First, 0, &mut a21);
        // L21 = A21 L11⁻ᵀ, level by level.
        let mut l21 = a21;
        for (l, f) in l11.iter().enumerate() {
            let blk = l21.columns(l * k, k).transpose();
            let x = f.solve_lower_triangular(&blk)?;
            l21.columns_mut(l * k, k).copy_from(&x.transpose());
        }
        let mut s = pr.ztz.view((q1, q1), (q2, q2)).into_owned();
        lambda_t_rows(pr, t, Terms::Rest, q1, &mut s);
        lambda_cols(pr, t, Terms::Rest, q1, &mut s);
        s += DMatrix::identity(q2, q2);
        s -= &l21 * l21.transpose();
        let l22 = if q2 == 0 { s } else { s.cholesky()?.l() };
        Some(Factor {
            k,
            q1,
            l11,
            l21,
            l22,
        })
    }

    /// log det(L)².
    fn log_det2(&self) -> f64 {
        2.0 * self
            .l11
            .iter()
            .flat_map(|f| f.diagonal().iter().copied().collect::<Vec<_>>())
            .chain(self.l22.diagonal().iter().copied())
            .map(f64::ln)
            .sum::<f64>()
    }

    /// L⁻¹ R.
    fn solve_lower(&self, r: &DMatrix<f64>) -> Option<DMatrix<f64>> {
        let k = self.k;
        let mut x1 = r.rows(0, self.q1).into_owned();
        for (l, f) in self.l11.iter().enumerate() {
            let v = f.solve_lower_triangular(&x1.rows(l * k, k).into_owned())?;
            x1.rows_mut(l * k, k).copy_from(&v);
        }
        let r2 = r.rows(self.q1, r.nrows() - self.q1) - &self.l21 * &x1;
        let x2 = self.l22.solve_lower_triangular(&r2)?;
        let mut out = DMatrix::zeros(r.nrows(), r.ncols());
        out.rows_mut(0, self.q1).copy_from(&x1);
        out.rows_mut(self.q1, x2.nrows()).copy_from(&x2);
        Some(out)
    }

    /// L⁻ᵀ r.
    fn solve_upper(&self, r: &DVector<f64>) -> Option<DVector<f64>> {
        let k = self.k;
        let q2 = r.len() - self.q1;
        let x2 = self
            .l22
            .transpose()
            .solve_upper_triangular(&r.rows(self.q1, q2).into_owned())?;
        let mut x1 = r.rows(0, self.q1) - self.l21.transpose() * &x2;
        for (l, f) in self.l11.iter().enumerate() {
            let v = f
                .transpose()
                .solve_upper_triangular(&x1.rows(l * k, k).into_owned())?;
            x1.rows_mut(l * k, k).copy_from(&v);
        }
        let mut out = DVector::zeros(r.len());
        out.rows_mut(0, self.q1).copy_from(&x1);
        out.rows_mut(self.q1, q2).copy_from(&x2);
        Some(out)
    }
}

/// Λ v for a vector in Z's column order.
fn lambda_vec(pr: &Products, t: &[DMatrix<f64>], v: &DVector<f64>) -> DVector<f64> {
    let mut out = v.clone();
    for (&(start, k, levels), t) in pr.blocks.iter().zip(t) {
        for l in 0..levels {
            let r0 = start + l * k;
            let seg = v.rows(r0, k).into_owned();
            out.rows_mut(r0, k).copy_from(&(t * seg));
        }
    }
    out
}

/// Solves the penalized least-squares problem at θ; `None` when a factorisation fails
/// (the fixed effects are not estimable at this θ).
pub(crate) fn solve(pr: &Products, y: &[f64], x: &DMatrix<f64>, theta: &[f64]) -> Option<Pls> {
    let t = lambda_blocks(pr, theta);
    let l = Factor::new(pr, &t)?;
    let ld_l2 = l.log_det2();

    let mut lzx = pr.ztx.clone();
    lambda_t_rows(pr, &t, Terms::All, 0, &mut lzx);
    let mut lzy = DMatrix::from_column_slice(pr.q, 1, pr.zty.as_slice());
    lambda_t_rows(pr, &t, Terms::All, 0, &mut lzy);
    let rzx = l.solve_lower(&lzx)?;
    let cu = l.solve_lower(&lzy)?.column(0).into_owned();

    let rxtrx = &pr.xtx - rzx.transpose() * &rzx;
    let rx = rxtrx.cholesky()?;
    let lx = rx.l();
    let ld_rx2 = 2.0 * lx.diagonal().iter().map(|d| d.ln()).sum::<f64>();
    let rhs = &pr.xty - rzx.transpose() * &cu;
    let beta = rx.solve(&rhs);
    let u = l.solve_upper(&(&cu - &rzx * &beta))?;
    let b = lambda_vec(pr, &t, &u);

    let mut rss = 0.0;
    for (i, row) in pr.z_rows.iter().enumerate() {
        let fixed: f64 = (0..pr.p).map(|j| x[(i, j)] * beta[j]).sum();
        let random: f64 = row.iter().map(|&(c, v)| v * b[c]).sum();
        let r = y[i] - fixed - random;
        rss += r * r;
    }
    let pwrss = rss + u.norm_squared();
    let rx_inv2 = rx.inverse();
    if !(pwrss.is_finite() && ld_l2.is_finite() && ld_rx2.is_finite()) {
        return None;
    }
    Some(Pls {
        beta,
        pwrss,
        ld_l2,
        ld_rx2,
        rx_inv2,
    })
}

/// The profiled deviance at θ (σ and β at their optimum): REML or ML, as lme4's `devfun`.
pub(crate) fn profiled_deviance(s: &Pls, n: usize, p: usize, reml: bool) -> f64 {
    let two_pi = 2.0 * std::f64::consts::PI;
    if reml {
        let nmp = (n - p) as f64;
        s.ld_l2 + s.ld_rx2 + nmp * (1.0 + (two_pi * s.pwrss / nmp).ln())
    } else {
        let nf = n as f64;
        s.ld_l2 + nf * (1.0 + (two_pi * s.pwrss / nf).ln())
    }
}

/// The deviance at θ and a given σ (not profiled), as lmerTest's `devfun_vp`: the function
/// whose Hessian in (θ, σ) gives the covariance of the variance parameters.
pub(crate) fn deviance_at_sigma(s: &Pls, n: usize, p: usize, sigma: f64, reml: bool) -> f64 {
    let s2 = sigma * sigma;
    let log2pis2 = (2.0 * std::f64::consts::PI * s2).ln();
    let ml = s.ld_l2 + s.pwrss / s2 + n as f64 * log2pis2;
    if reml {
        ml + s.ld_rx2 - p as f64 * log2pis2
    } else {
        ml
    }
}
