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

/// Λᵀ M (rows of M transformed block by block).
fn lambda_t_rows(pr: &Products, blocks: &[DMatrix<f64>], m: &mut DMatrix<f64>) {
    for (&(start, k, levels), t) in pr.blocks.iter().zip(blocks) {
        for l in 0..levels {
            let r0 = start + l * k;
            let rows = m.rows(r0, k).into_owned();
            m.rows_mut(r0, k).copy_from(&(t.transpose() * rows));
        }
    }
}

/// M Λ (columns of M transformed block by block).
fn lambda_cols(pr: &Products, blocks: &[DMatrix<f64>], m: &mut DMatrix<f64>) {
    for (&(start, k, levels), t) in pr.blocks.iter().zip(blocks) {
        for l in 0..levels {
            let c0 = start + l * k;
            let cols = m.columns(c0, k).into_owned();
            m.columns_mut(c0, k).copy_from(&(cols * t));
        }
    }
}

/// Λ v for a vector in Z's column order.
fn lambda_vec(pr: &Products, blocks: &[DMatrix<f64>], v: &DVector<f64>) -> DVector<f64> {
    let mut out = v.clone();
    for (&(start, k, levels), t) in pr.blocks.iter().zip(blocks) {
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
    let blocks = lambda_blocks(pr, theta);
    let mut a = pr.ztz.clone();
    lambda_t_rows(pr, &blocks, &mut a);
    lambda_cols(pr, &blocks, &mut a);
    for i in 0..pr.q {
        a[(i, i)] += 1.0;
    }
    let chol = a.cholesky()?;
    let l = chol.l();
    let ld_l2 = 2.0 * l.diagonal().iter().map(|d| d.ln()).sum::<f64>();

    let mut lzx = pr.ztx.clone();
    lambda_t_rows(pr, &blocks, &mut lzx);
    let mut lzy = DMatrix::from_column_slice(pr.q, 1, pr.zty.as_slice());
    lambda_t_rows(pr, &blocks, &mut lzy);
    let rzx = l.solve_lower_triangular(&lzx)?;
    let cu = l.solve_lower_triangular(&lzy)?.column(0).into_owned();

    let rxtrx = &pr.xtx - rzx.transpose() * &rzx;
    let rx = rxtrx.cholesky()?;
    let lx = rx.l();
    let ld_rx2 = 2.0 * lx.diagonal().iter().map(|d| d.ln()).sum::<f64>();
    let rhs = &pr.xty - rzx.transpose() * &cu;
    let beta = rx.solve(&rhs);
    let u = l
        .transpose()
        .solve_upper_triangular(&(&cu - &rzx * &beta))?;
    let b = lambda_vec(pr, &blocks, &u);

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
