//! The Kenward–Roger small-sample adjustment of a REML fit's fixed-effect tests (Kenward &
//! Roger 1997), as pbkrtest 0.5.2 computes it and lmerTest reports it with
//! `summary(m, ddf = "Kenward-Roger")`: the fixed effects' covariance inflated for the
//! uncertainty of the estimated variances (Φ_A), and each t-test's degrees of freedom from it.
//!
//! With few participants (the study has 10) Satterthwaite's df on the unadjusted covariance
//! gives intervals that are too narrow; Kenward–Roger's are close to nominal (Luke 2017).
//!
//! The model's covariance is V = Σᵣ γᵣ Gᵣ: per random term, Gᵣ = Z Cᵣ Zᵀ for each variance and
//! covariance of its effects (Cᵣ picks the term's columns, level by level), and G = I for the
//! residual. pbkrtest forms the n × n V⁻¹; here every product is taken through the q × q
//! matrix S of V⁻¹ = (I − Z S Zᵀ)/σ², so the cost grows with the random effects (q), not with
//! the observations squared: with N = I − S ZᵀZ, Zᵀ V⁻ᵐ = Nᵐ Zᵀ / σ²ᵐ and
//! Xᵀ V⁻ᵐ X = (Xᵀ V⁻⁽ᵐ⁻¹⁾ X − XᵀZ S Zᵀ V⁻⁽ᵐ⁻¹⁾ X) / σ².

use nalgebra::{DMatrix, SymmetricEigen};

use super::model::Products;
use super::pls::lambda_t_solved;

/// The Kenward–Roger adjusted covariance of the fixed effects and each one's df.
#[derive(Debug, Clone)]
pub(crate) struct Adjusted {
    /// Φ_A (p × p).
    pub vcov: DMatrix<f64>,
    /// Per fixed effect, the df of its t-test (pbkrtest's `Lb_ddf` for a unit contrast).
    pub df: Vec<f64>,
}

/// A covariance parameter's G: a random term's Z Cᵣ Zᵀ, Cᵣ given by its (row, column) entries
/// (each 1), or the residual's identity.
enum Param {
    Random(Vec<(usize, usize)>),
    Residual,
}

/// The parameters in pbkrtest's order: per term, the lower triangle of its covariance
/// (column by column), then the residual variance.
fn params(pr: &Products) -> Vec<Param> {
    let mut out = Vec::new();
    for &(start, k, levels) in &pr.blocks {
        for c in 0..k {
            for r in c..k {
                let mut entries = Vec::new();
                for l in 0..levels {
                    let (a, b) = (start + l * k + r, start + l * k + c);
                    entries.push((a, b));
                    if a != b {
                        entries.push((b, a));
                    }
                }
                out.push(Param::Random(entries));
            }
        }
    }
    out.push(Param::Residual);
    out
}

/// Cᵣ Y for Cᵣ given by its entries.
fn pick(entries: &[(usize, usize)], y: &DMatrix<f64>) -> DMatrix<f64> {
    let mut out = DMatrix::zeros(y.nrows(), y.ncols());
    for &(a, b) in entries {
        for j in 0..y.ncols() {
            out[(a, j)] += y[(b, j)];
        }
    }
    out
}

/// Σᵢⱼ Aᵢⱼ Bᵢⱼ.
fn dot(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| x * y).sum()
}

/// The inverse of a symmetric matrix, or, when an eigenvalue is within 1e-10 of 0 (pbkrtest's
/// test), its Moore–Penrose inverse with MASS::ginv's tolerance (√ε of the largest).
fn inverse_or_pseudo(m: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let eig = SymmetricEigen::new(m.clone());
    let smallest = eig
        .eigenvalues
        .iter()
        .map(|v| v.abs())
        .fold(f64::INFINITY, f64::min);
    if smallest > 1e-10 {
        return m.clone().try_inverse();
    }
    let largest = eig.eigenvalues.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let tol = f64::EPSILON.sqrt() * largest;
    let mut out = DMatrix::zeros(m.nrows(), m.ncols());
    for (i, &l) in eig.eigenvalues.iter().enumerate() {
        if l.abs() > tol {
            let v = eig.eigenvectors.column(i);
            out += v * v.transpose() / l;
        }
    }
    Some(out)
}

/// The adjustment at the REML optimum θ (σ² the REML residual variance, `phi` = σ²(RXᵀRX)⁻¹,
/// the unadjusted covariance). `None` when a factorisation or an inverse fails or a value is
/// not finite.
pub(crate) fn adjust(
    pr: &Products,
    theta: &[f64],
    sigma2: f64,
    phi: &DMatrix<f64>,
) -> Option<Adjusted> {
    let (a, u) = (&pr.ztz, &pr.ztx);
    let j = lambda_t_solved(pr, theta)?;
    let jt = j.transpose();
    let ja = &j * a;
    let ju = &j * u;
    // Zᵀ V⁻¹ Z, Zᵀ V⁻¹ X, Zᵀ V⁻² X, Zᵀ V⁻² Z, with S Y = Jᵀ (J Y) and each J Y formed once.
    let k = (a - ja.transpose() * &ja) / sigma2;
    let jk = &j * &k;
    let m1 = (u - ja.transpose() * &ju) / sigma2;
    let jm1 = &j * &m1;
    let m2 = (&m1 - a * (&jt * &jm1)) / sigma2;
    let jm2 = &j * &m2;
    let k2 = (&k - a * (&jt * &jk)) / sigma2;
    // Xᵀ V⁻¹ X, Xᵀ V⁻² X, Xᵀ V⁻³ X.
    let x1 = (&pr.xtx - ju.transpose() * &ju) / sigma2;
    let x2 = (&x1 - ju.transpose() * &jm1) / sigma2;
    let x3 = (&x2 - ju.transpose() * &jm2) / sigma2;
    // tr V⁻¹ = (n − tr S ZᵀZ)/σ², tr V⁻² = (tr V⁻¹ − tr S ZᵀV⁻¹Z)/σ²; tr(Jᵀ J Y) = Σ J ∘ (J Y).
    let tr_v1 = (pr.n as f64 - dot(&j, &ja)) / sigma2;
    let tr_v2 = (tr_v1 - dot(&j, &jk)) / sigma2;

    let params = params(pr);
    let g = params.len();
    // Per random parameter, Cᵣ Zᵀ V⁻¹ X.
    let cm: Vec<Option<DMatrix<f64>>> = params
        .iter()
        .map(|p| match p {
            Param::Random(e) => Some(pick(e, &m1)),
            Param::Residual => None,
        })
        .collect();
    // P_r = −Xᵀ V⁻¹ G_r V⁻¹ X.
    let pp: Vec<DMatrix<f64>> = cm
        .iter()
        .map(|c| match c {
            Some(c) => -(m1.transpose() * c),
            None => -x2.clone(),
        })
        .collect();
    // Q_rs = Xᵀ V⁻¹ G_r V⁻¹ G_s V⁻¹ X (Q_sr = Q_rsᵀ).
    let mut q: Vec<Vec<DMatrix<f64>>> = vec![vec![DMatrix::zeros(0, 0); g]; g];
    for r in 0..g {
        for s in r..g {
            let v = match (&cm[r], &cm[s]) {
                (Some(cr), Some(cs)) => cr.transpose() * (&k * cs),
                (Some(cr), None) => cr.transpose() * &m2,
                (None, Some(cs)) => m2.transpose() * cs,
                (None, None) => x3.clone(),
            };
            q[s][r] = v.transpose();
            q[r][s] = v;
        }
    }
    // tr(V⁻¹ G_r V⁻¹ G_s).
    let ktrace = |r: usize, s: usize| -> f64 {
        match (&params[r], &params[s]) {
            (Param::Random(er), Param::Random(es)) => er
                .iter()
                .map(|&(a, b)| es.iter().map(|&(c, d)| k[(b, c)] * k[(d, a)]).sum::<f64>())
                .sum(),
            (Param::Random(e), Param::Residual) | (Param::Residual, Param::Random(e)) => {
                e.iter().map(|&(a, b)| k2[(b, a)]).sum()
            }
            (Param::Residual, Param::Residual) => tr_v2,
        }
    };

    // The expected information (twice), W = 2 IE2⁻¹.
    let mut ie2 = DMatrix::zeros(g, g);
    for r in 0..g {
        let phi_p = phi * &pp[r];
        for s in r..g {
            let v = ktrace(r, s) - 2.0 * dot(phi, &q[r][s]) + dot(&phi_p, &(&pp[s] * phi));
            ie2[(r, s)] = v;
            ie2[(s, r)] = v;
        }
    }
    if ie2.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let w = inverse_or_pseudo(&ie2)? * 2.0;

    let p = phi.nrows();
    let mut uu = DMatrix::zeros(p, p);
    for r in 0..g {
        for s in r + 1..g {
            uu += (&q[r][s] - &pp[r] * phi * &pp[s]) * w[(r, s)];
        }
    }
    uu = &uu + uu.transpose();
    for r in 0..g {
        uu += (&q[r][r] - &pp[r] * phi * &pp[r]) * w[(r, r)];
    }
    let vcov = phi + phi * uu * phi * 2.0;

    let df = (0..p).map(|c| unit_contrast_df(c, phi, &pp, &w)).collect();
    if vcov.iter().any(|v| !v.is_finite()) {
        return None;
    }
    Some(Adjusted { vcov, df })
}

/// pbkrtest's `Lb_ddf` for L the unit vector of fixed effect `c` (a one-row contrast, q = 1),
/// step by step as there.
fn unit_contrast_df(c: usize, phi: &DMatrix<f64>, pp: &[DMatrix<f64>], w: &DMatrix<f64>) -> f64 {
    let p = phi.nrows();
    // Θ = Lᵀ (L Φ Lᵀ)⁻¹ L.
    let mut theta = DMatrix::zeros(p, p);
    theta[(c, c)] = 1.0 / phi[(c, c)];
    let theta_phi = theta * phi;
    let u: Vec<DMatrix<f64>> = pp.iter().map(|pr| &theta_phi * pr * phi).collect();
    let (mut a1, mut a2) = (0.0, 0.0);
    for i in 0..pp.len() {
        for j in i..pp.len() {
            let e = if i == j { 1.0 } else { 2.0 };
            a1 += e * w[(i, j)] * (u[i].trace() * u[j].trace());
            a2 += e * w[(i, j)] * dot(&u[i], &u[j].transpose());
        }
    }
    let q = 1.0;
    let b = (a1 + 6.0 * a2) / (2.0 * q);
    let g = ((q + 1.0) * a1 - (q + 4.0) * a2) / ((q + 2.0) * a2);
    let denom = 3.0 * q + 2.0 * (1.0 - g);
    let (c1, c2, c3) = (g / denom, (q - g) / denom, (q + 2.0 - g) / denom);
    let v0 = 1.0 + c1 * b;
    let v0 = if v0.abs() < 1e-10 { 0.0 } else { v0 };
    let v1 = 1.0 - c2 * b;
    let v2 = 1.0 - c3 * b;
    let x = 1.0 - a2 / q;
    let ratio = if x.abs() < 1e-14 && v1.abs() < 1e-14 {
        1.0
    } else {
        x / v1
    };
    let rho = ratio * ratio * v0 / (q * v2);
    4.0 + (q + 2.0) / (q * rho - 1.0)
}
