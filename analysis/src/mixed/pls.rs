//! The penalized least-squares step at fixed covariance parameters θ (Bates, Mächler, Bolker &
//! Walker 2015, "Fitting linear mixed-effects models using lme4", section 3): the fixed
//! effects and the pieces of the (RE)ML deviance.
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

/// All terms, the leading terms of the first factor (`Products::first_group`), or the others.
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
        Terms::First => (0, pr.first_group),
        Terms::Rest => (pr.first_group, usize::MAX),
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
        if k == 1 {
            // A scalar per level: scale in place, no temporaries (the common case).
            let s = t[(0, 0)];
            for l in 0..levels {
                m.row_mut(start + l - offset).scale_mut(s);
            }
            continue;
        }
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
        if k == 1 {
            let s = t[(0, 0)];
            for l in 0..levels {
                m.column_mut(start + l - offset).scale_mut(s);
            }
            continue;
        }
        for l in 0..levels {
            let c0 = start + l * k - offset;
            let cols = m.columns(c0, k).into_owned();
            m.columns_mut(c0, k).copy_from(&(cols * t));
        }
    }
}

/// Cholesky of a small k × k block in place (row-major, lower triangle used); false when it is
/// not positive definite.
fn chol_small(a: &mut [f64], k: usize) -> bool {
    for j in 0..k {
        let mut d = a[j * k + j];
        for m in 0..j {
            d -= a[j * k + m] * a[j * k + m];
        }
        if d.is_nan() || d <= 0.0 {
            return false;
        }
        let d = d.sqrt();
        a[j * k + j] = d;
        for i in j + 1..k {
            let mut v = a[i * k + j];
            for m in 0..j {
                v -= a[i * k + m] * a[j * k + m];
            }
            a[i * k + j] = v / d;
        }
    }
    true
}

/// Solves L x = v in place for a small lower block (row-major).
fn forward_small(l: &[f64], k: usize, v: &mut [f64]) {
    for i in 0..k {
        let mut x = v[i];
        for m in 0..i {
            x -= l[i * k + m] * v[m];
        }
        v[i] = x / l[i * k + i];
    }
}

/// The Cholesky factor L of Λᵀ ZᵀZ Λ + I, split after the leading terms of the first factor
/// (one term, or the two of `(1 + x || g)`). Their block is block diagonal by level (an
/// observation has one level of a factor: one k × k block per level, k their effects together;
/// in the terms' column order it has no fill-in between levels), so it is factored level by
/// level in place; only the Schur complement of the other terms (as large as their levels, e.g.
/// the images) is dense. For 200 participants and 32 images this is 200 small factors and one
/// 32 × 32 instead of one 232 × 232 (or 432 × 432).
struct Factor {
    k: usize,
    q1: usize,
    /// Per level of the first factor and effect `a < k`, its column in Z (at `l * k + a`).
    cols: Vec<usize>,
    /// Per level of the first term, its k × k lower factor, row-major, one after another.
    l11: Vec<f64>,
    /// q₂ × q₁.
    l21: DMatrix<f64>,
    /// q₂ × q₂ lower.
    l22: DMatrix<f64>,
}

impl Factor {
    fn new(pr: &Products, t: &[DMatrix<f64>]) -> Option<Factor> {
        let group = &pr.blocks[..pr.first_group];
        let levels = group.first().map_or(0, |&(_, _, l)| l);
        let k: usize = group.iter().map(|&(_, w, _)| w).sum::<usize>().max(1);
        let q1 = k * levels;
        let q2 = pr.q - q1;
        let cols: Vec<usize> = (0..levels)
            .flat_map(|l| {
                group
                    .iter()
                    .flat_map(move |&(start, w, _)| (0..w).map(move |a| start + l * w + a))
            })
            .collect();
        let mut l11 = vec![0.0; levels * k * k];
        if levels > 0 {
            // Tᵀ D T + I per level (D: the level's block of ZᵀZ, T the terms' Λ blocks on
            // the diagonal).
            let mut t0 = DMatrix::zeros(k, k);
            let mut at = 0;
            for tb in &t[..pr.first_group] {
                let w = tb.nrows();
                t0.view_mut((at, at), (w, w)).copy_from(tb);
                at += w;
            }
            for l in 0..levels {
                let c = &cols[l * k..(l + 1) * k];
                let blk = &mut l11[l * k * k..(l + 1) * k * k];
                for i in 0..k {
                    for j in 0..=i {
                        let mut v = 0.0;
                        for a in 0..k {
                            for b in 0..k {
                                v += t0[(a, i)] * pr.ztz[(c[a], c[b])] * t0[(b, j)];
                            }
                        }
                        blk[i * k + j] = v + if i == j { 1.0 } else { 0.0 };
                    }
                }
                if !chol_small(blk, k) {
                    return None;
                }
            }
        }
        let mut l21 = pr.ztz.view((q1, 0), (q2, q1)).into_owned();
        lambda_t_rows(pr, t, Terms::Rest, q1, &mut l21);
        lambda_cols(pr, t, Terms::First, 0, &mut l21);
        // L21 = A21 L11⁻ᵀ: each row's k entries of a level solve L11 x = a.
        let mut buf = vec![0.0; k];
        for l in 0..levels {
            let blk = &l11[l * k * k..(l + 1) * k * k];
            for r in 0..q2 {
                for (a, v) in buf.iter_mut().enumerate() {
                    *v = l21[(r, cols[l * k + a])];
                }
                forward_small(blk, k, &mut buf);
                for (a, v) in buf.iter().enumerate() {
                    l21[(r, cols[l * k + a])] = *v;
                }
            }
        }
        let mut s = pr.ztz.view((q1, q1), (q2, q2)).into_owned();
        lambda_t_rows(pr, t, Terms::Rest, q1, &mut s);
        lambda_cols(pr, t, Terms::Rest, q1, &mut s);
        for i in 0..q2 {
            s[(i, i)] += 1.0;
        }
        s.gemm(-1.0, &l21, &l21.transpose(), 1.0);
        let l22 = if q2 == 0 { s } else { s.cholesky()?.unpack() };
        Some(Factor {
            k,
            q1,
            cols,
            l11,
            l21,
            l22,
        })
    }

    /// log det(L)².
    fn log_det2(&self) -> f64 {
        let k = self.k;
        let first: f64 = (0..self.q1)
            .map(|i| {
                let (l, a) = (i / k, i % k);
                self.l11[l * k * k + a * k + a].ln()
            })
            .sum();
        let rest: f64 = self.l22.diagonal().iter().map(|d| d.ln()).sum();
        2.0 * (first + rest)
    }

    /// L⁻¹ R.
    fn solve_lower(&self, r: &DMatrix<f64>) -> Option<DMatrix<f64>> {
        let k = self.k;
        let mut out = r.clone();
        let mut buf = vec![0.0; k];
        for c in 0..r.ncols() {
            for l in 0..self.q1 / k {
                for (a, v) in buf.iter_mut().enumerate() {
                    *v = out[(self.cols[l * k + a], c)];
                }
                forward_small(&self.l11[l * k * k..(l + 1) * k * k], k, &mut buf);
                for (a, v) in buf.iter().enumerate() {
                    out[(self.cols[l * k + a], c)] = *v;
                }
            }
        }
        let q2 = r.nrows() - self.q1;
        if q2 > 0 {
            let x1 = out.rows(0, self.q1).into_owned();
            let mut r2 = out.rows(self.q1, q2).into_owned();
            r2.gemm(-1.0, &self.l21, &x1, 1.0);
            let x2 = self.l22.solve_lower_triangular(&r2)?;
            out.rows_mut(self.q1, q2).copy_from(&x2);
        }
        Some(out)
    }
}

/// Solves the penalized least-squares problem at θ; `None` when a factorisation fails
/// (the fixed effects are not estimable at this θ).
pub(crate) fn solve(pr: &Products, theta: &[f64]) -> Option<Pls> {
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
    let cb = lx.solve_lower_triangular(&rhs)?;
    let mut beta = lx.transpose().solve_upper_triangular(&cb)?;
    if let Some((j, mean)) = pr.shift {
        beta[j] += mean;
    }
    // The minimum of ‖y − Xβ − ZΛu‖² + ‖u‖² without forming residuals: yᵀy − ‖c_u‖² − ‖c_β‖²
    // (y centred when there is an intercept, so little is cancelled). A data set the model fits
    // exactly (no residual) is refused rather than given an infinite likelihood.
    let pwrss = pr.yty - cu.norm_squared() - cb.norm_squared();
    let rx_inv2 = rx.inverse();
    if !(pwrss > 0.0 && pwrss.is_finite() && ld_l2.is_finite() && ld_rx2.is_finite()) {
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

/// L⁻¹ Λᵀ (q × q) at θ: with it Λ (Λᵀ ZᵀZ Λ + I)⁻¹ Λᵀ = (L⁻¹Λᵀ)ᵀ (L⁻¹Λᵀ), the q × q matrix
/// S in V⁻¹ = (I − Z S Zᵀ) / σ², which the Kenward–Roger adjustment works through instead of
/// the n × n V⁻¹. `None` when the factorisation fails.
pub(crate) fn lambda_t_solved(pr: &Products, theta: &[f64]) -> Option<DMatrix<f64>> {
    let t = lambda_blocks(pr, theta);
    let l = Factor::new(pr, &t)?;
    let mut lt = DMatrix::identity(pr.q, pr.q);
    lambda_t_rows(pr, &t, Terms::All, 0, &mut lt);
    l.solve_lower(&lt)
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
