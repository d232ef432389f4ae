//! Fitting a linear mixed model by REML or ML, with fixed-effect tests as lmerTest reports
//! them (Satterthwaite's or Kenward–Roger's degrees of freedom) and the likelihood-ratio test
//! between nested fits.

use nalgebra::DMatrix;
use statrs::distribution::{ChiSquared, ContinuousCDF, StudentsT};

use super::deriv::{hessians, jacobian};
use super::kenward_roger::adjust;
use super::model::{MixedModel, ModelError, Products};
use super::optimize::{minimise, Minimum};
use super::pls::{profiled_deviance, solve};

/// A θ on the diagonal below this counts as a boundary (singular) fit, as lme4's `isSingular`.
pub const SINGULAR_TOL: f64 = 1e-4;
/// The optimum is accepted when the Newton decrement there is below this (deviance units).
pub const CONVERGED_DECREMENT: f64 = 1e-6;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("the mixed model did not converge (Newton decrement {decrement:.3e} at the end; no estimates are reported)")]
    NotConverged { decrement: f64 },
    #[error("the mixed model could not be evaluated at its start (a factorisation failed)")]
    Degenerate,
    #[error("Kenward–Roger's adjustment is defined for REML fits only (as in lmerTest); fit with REML or use Satterthwaite's df")]
    KenwardRogerNeedsReml,
    #[error("the likelihood-ratio test needs two ML fits of nested models on the same data: {0}")]
    NotNested(String),
}

/// One fixed effect.
#[derive(Debug, Clone, PartialEq)]
pub struct Coefficient {
    pub name: String,
    pub estimate: f64,
    /// From the fit's covariance of the fixed effects, or Kenward–Roger's adjusted one.
    pub se: f64,
    /// Satterthwaite's or Kenward–Roger's degrees of freedom (`LmmFit::ddf` says which; n − p
    /// when the model has no random term).
    pub df: f64,
    pub t: f64,
    /// Two-sided.
    pub p: f64,
}

/// The variance of one random effect of one grouping factor.
#[derive(Debug, Clone, PartialEq)]
pub struct VarianceComponent {
    pub group: String,
    pub effect: String,
    pub variance: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LmmFit {
    pub reml: bool,
    /// The method that gave the coefficients' SE and df: the one asked for, or Satterthwaite's
    /// where Kenward–Roger's could not be computed (as lmerTest falls back).
    pub ddf: Ddf,
    pub coefficients: Vec<Coefficient>,
    pub components: Vec<VarianceComponent>,
    /// Per factor with a slope, the intercept–slope correlation.
    pub correlations: Vec<(String, f64)>,
    pub residual_variance: f64,
    /// The relative covariance parameters, lme4's order within each term.
    pub theta: Vec<f64>,
    /// −2 log-likelihood (ML) or the REML criterion.
    pub deviance: f64,
    pub log_likelihood: f64,
    pub n: usize,
    /// Fixed effects + covariance parameters + residual variance.
    pub n_params: usize,
    /// Some variance (or an intercept–slope covariance matrix) is estimated on its boundary.
    pub singular: bool,
    /// Names of the random terms' factors, in the model's order.
    pub groups: Vec<String>,
}

/// Some diagonal θ (a term's variance, or the rest of a slope's beyond its intercept; those
/// with the lower bound 0 in `lower`) on its boundary, as lme4's `isSingular`.
fn boundary(theta: &[f64], lower: &[f64]) -> bool {
    theta
        .iter()
        .zip(lower)
        .any(|(th, lo)| *lo == 0.0 && *th < SINGULAR_TOL)
}

fn two_sided_t(t: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) if t.is_finite() => (2.0 * d.sf(t.abs())).min(1.0),
        _ => f64::NAN,
    }
}

/// The minimum of the profiled deviance from `theta0`, restarted off the boundary where it ends
/// there: the projected simplex can stall on a face of the bounds (a variance held at 0) while
/// elsewhere the deviance is lower, so a boundary optimum stands only if no restart finds a
/// lower (and converged) one: one with those variances back at their start value, one with
/// each term that holds such a variance back at its start (its correlations 0).
fn optimum(
    objective: &dyn Fn(&[f64]) -> f64,
    theta0: &[f64],
    lower: &[f64],
    model: &MixedModel,
) -> Minimum {
    let m = minimise(objective, theta0, lower);
    if !boundary(&m.x, lower) {
        return m;
    }
    let zero = |i: usize| lower[i] == 0.0 && m.x[i] < SINGULAR_TOL;
    let raised: Vec<f64> = (0..m.x.len())
        .map(|i| if zero(i) { theta0[i] } else { m.x[i] })
        .collect();
    let mut reset = m.x.clone();
    let mut at = 0;
    for term in &model.terms {
        let block = at..at + term.n_theta();
        if block.clone().any(zero) {
            reset[block.clone()].copy_from_slice(&theta0[block.clone()]);
        }
        at = block.end;
    }
    // Terms of one effect each restart alike both ways: once is enough.
    let starts = if raised == reset {
        vec![raised]
    } else {
        vec![raised, reset]
    };
    let mut best = m;
    for start in starts {
        let again = minimise(objective, &start, lower);
        // A lower point where Newton has not converged is not an optimum to report.
        if again.value < best.value && again.decrement < CONVERGED_DECREMENT {
            best = again;
        }
    }
    best
}

/// Fits `model` by REML (`reml = true`, lme4's default) or ML, with Satterthwaite's df.
pub fn fit(model: &MixedModel, reml: bool) -> Result<LmmFit, FitError> {
    fit_with(model, reml, Ddf::Satterthwaite, Inference::Always)
}

/// How the fixed effects' t-tests get their SE and degrees of freedom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ddf {
    /// The fit's covariance of the fixed effects, Satterthwaite's df (lmerTest's default).
    Satterthwaite,
    /// Kenward–Roger's adjusted covariance and df (REML only; lmerTest's
    /// `ddf = "Kenward-Roger"` through pbkrtest): closer to nominal with few groups.
    KenwardRoger,
}

impl Ddf {
    pub fn as_str(self) -> &'static str {
        match self {
            Ddf::Satterthwaite => "Satterthwaite",
            Ddf::KenwardRoger => "Kenward–Roger",
        }
    }
}

/// Whether a fit computes the df (Satterthwaite's numerical Hessians or Kenward–Roger's
/// adjustment: most of a fit's cost) when it ends on the boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inference {
    /// Always, as lmerTest does.
    Always,
    /// Not for a singular fit (its df and p are NaN): for a caller that simplifies a singular
    /// model and reports only the final, regular fit.
    UnlessSingular,
}

/// `fit`, with the df by `ddf`, computed as `inference` says.
pub fn fit_with(
    model: &MixedModel,
    reml: bool,
    ddf: Ddf,
    inference: Inference,
) -> Result<LmmFit, FitError> {
    model.validate()?;
    if ddf == Ddf::KenwardRoger && !reml {
        return Err(FitError::KenwardRogerNeedsReml);
    }
    let pr = Products::new(model);
    let (n, p) = (pr.n, pr.p);
    let eval = |theta: &[f64]| solve(&pr, theta);
    let lower = model.theta_lower();
    let theta0: Vec<f64> = lower
        .iter()
        .map(|l| if *l == 0.0 { 1.0 } else { 0.0 })
        .collect();
    if eval(&theta0).is_none() {
        return Err(FitError::Degenerate);
    }
    let objective =
        |theta: &[f64]| eval(theta).map_or(f64::INFINITY, |s| profiled_deviance(&s, n, p, reml));
    let theta = if lower.is_empty() {
        Vec::new()
    } else {
        let m = optimum(&objective, &theta0, &lower, model);
        if m.decrement.is_nan() || m.decrement >= CONVERGED_DECREMENT {
            return Err(FitError::NotConverged {
                decrement: m.decrement,
            });
        }
        m.x
    };
    let s = eval(&theta).ok_or(FitError::Degenerate)?;
    let deviance = profiled_deviance(&s, n, p, reml);
    let dof = if reml { (n - p) as f64 } else { n as f64 };
    let sigma2 = s.pwrss / dof;
    let sigma = sigma2.sqrt();

    // Satterthwaite: the deviance in (θ, σ) and the fixed effects' covariance as functions of
    // the same parameters, as lmerTest (Kuznetsova, Brockhoff & Christensen 2017).
    let k = theta.len();
    let singular = boundary(&theta, &lower);
    let tested = k > 0 && !(singular && inference == Inference::UnlessSingular);
    let phi = &s.rx_inv2 * sigma2;
    let kenward_roger = (tested && ddf == Ddf::KenwardRoger)
        .then(|| adjust(&pr, &theta, sigma2, &phi))
        .flatten();
    let satterthwaite = if tested && kenward_roger.is_none() {
        satterthwaite(&|t: &[f64]| eval(t), &theta, sigma, n, p, reml)
    } else {
        None
    };
    let coefficients = (0..p)
        .map(|j| {
            let var = kenward_roger
                .as_ref()
                .map_or(phi[(j, j)], |a| a.vcov[(j, j)]);
            let se = var.sqrt();
            let df = match (&kenward_roger, &satterthwaite) {
                (Some(a), _) => a.df[j],
                (None, None) if k == 0 => (n - p) as f64,
                (None, None) => f64::NAN,
                (None, Some((a, jac))) => {
                    let g =
                        nalgebra::DVector::from_iterator(k + 1, jac.iter().map(|c| c[j * p + j]));
                    2.0 * var * var / (g.transpose() * a * &g)[(0, 0)]
                }
            };
            let t = s.beta[j] / se;
            Coefficient {
                name: model.x_names[j].clone(),
                estimate: s.beta[j],
                se,
                df,
                t,
                p: if df.is_finite() && df > 0.0 {
                    two_sided_t(t, df)
                } else {
                    f64::NAN
                },
            }
        })
        .collect();

    let mut components = Vec::new();
    let mut correlations = Vec::new();
    let mut at = 0;
    for term in &model.terms {
        let w = term.width();
        let mut tm = DMatrix::zeros(w, w);
        for c in 0..w {
            for r in c..w {
                tm[(r, c)] = theta[at];
                at += 1;
            }
        }
        let cov = &tm * tm.transpose() * sigma2;
        for (e, name) in term.effect_names().into_iter().enumerate() {
            components.push(VarianceComponent {
                group: term.factor.name.clone(),
                effect: name,
                variance: cov[(e, e)],
            });
        }
        if w == 2 {
            correlations.push((
                term.factor.name.clone(),
                cov[(0, 1)] / (cov[(0, 0)] * cov[(1, 1)]).sqrt(),
            ));
        }
    }
    Ok(LmmFit {
        reml,
        ddf: if kenward_roger.is_some() {
            Ddf::KenwardRoger
        } else {
            Ddf::Satterthwaite
        },
        coefficients,
        components,
        correlations,
        residual_variance: sigma2,
        theta,
        deviance,
        log_likelihood: -deviance / 2.0,
        n,
        n_params: p + k + 1,
        singular,
        groups: model.terms.iter().map(|t| t.factor.name.clone()).collect(),
    })
}

/// The covariance of the variance parameters (θ, σ) and the Jacobian of the fixed effects'
/// covariance in them, as lmerTest computes them (Kuznetsova, Brockhoff & Christensen 2017):
/// 2 H⁻¹ for H the Hessian of the deviance at fixed σ (`pls::deviance_at_sigma`), and
/// ∂ σ²(RXᵀRX)⁻¹ / ∂(θ, σ). The deviance is A(θ) + B(θ)/σ² + C log(2πσ²) with A the log
/// determinants, B the penalized residual sum of squares and C = n (− p for REML), so the σ
/// derivatives are written out and only θ's are numerical (Richardson, as numDeriv).
#[allow(clippy::type_complexity)]
fn satterthwaite(
    eval: &dyn Fn(&[f64]) -> Option<super::pls::Pls>,
    theta: &[f64],
    sigma: f64,
    n: usize,
    p: usize,
    reml: bool,
) -> Option<(DMatrix<f64>, Vec<Vec<f64>>)> {
    let k = theta.len();
    // [A, B, (RXᵀRX)⁻¹ entries] as functions of θ.
    let parts = |t: &[f64]| -> Vec<f64> {
        eval(t).map_or(vec![f64::NAN; 2 + p * p], |s| {
            let mut v = vec![s.ld_l2 + if reml { s.ld_rx2 } else { 0.0 }, s.pwrss];
            v.extend_from_slice(s.rx_inv2.as_slice());
            v
        })
    };
    let ab = |t: &[f64]| -> Vec<f64> { parts(t)[..2].to_vec() };
    let d1 = jacobian(&parts, theta);
    let d2 = hessians(&ab, theta);
    let s = eval(theta)?;
    let b = s.pwrss;
    let c = if reml { (n - p) as f64 } else { n as f64 };
    let (s2, s3, s4) = (sigma * sigma, sigma.powi(3), sigma.powi(4));
    let h = DMatrix::from_fn(k + 1, k + 1, |i, j| match (i < k, j < k) {
        (true, true) => d2[0][i][j] + d2[1][i][j] / s2,
        (true, false) => -2.0 * d1[i][1] / s3,
        (false, true) => -2.0 * d1[j][1] / s3,
        (false, false) => 6.0 * b / s4 - 2.0 * c / s2,
    });
    let a = h.try_inverse()? * 2.0;
    let mut jac: Vec<Vec<f64>> = (0..k)
        .map(|i| d1[i][2..].iter().map(|v| v * s2).collect())
        .collect();
    jac.push(s.rx_inv2.iter().map(|v| 2.0 * sigma * v).collect());
    Some((a, jac))
}

/// A likelihood-ratio test of a smaller against a larger nested model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lrt {
    pub chisq: f64,
    pub df: usize,
    pub p: f64,
}

/// The likelihood-ratio test between two ML fits (as `anova(small, large)` after refitting
/// with ML). Nesting is the caller's claim; the sizes are checked.
pub fn likelihood_ratio(small: &LmmFit, large: &LmmFit) -> Result<Lrt, FitError> {
    if small.reml || large.reml {
        return Err(FitError::NotNested(
            "REML criteria of models with different fixed effects are not comparable; fit both with ML".into(),
        ));
    }
    if small.n != large.n {
        return Err(FitError::NotNested(format!(
            "{} vs {} observations",
            small.n, large.n
        )));
    }
    let Some(df) = large
        .n_params
        .checked_sub(small.n_params)
        .filter(|d| *d > 0)
    else {
        return Err(FitError::NotNested(format!(
            "the larger model has {} parameters, the smaller {}",
            large.n_params, small.n_params
        )));
    };
    let chisq = (small.deviance - large.deviance).max(0.0);
    let p = ChiSquared::new(df as f64).map_or(f64::NAN, |d| d.sf(chisq));
    Ok(Lrt { chisq, df, p })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypothesis_tests::student_t_test;

    #[test]
    fn without_random_terms_it_is_least_squares() {
        let a = [3.1, 2.7, 4.0, 3.6, 2.2];
        let b = [4.4, 3.9, 5.2, 4.1, 4.8, 5.0];
        let y: Vec<f64> = a.iter().chain(&b).copied().collect();
        let x = DMatrix::from_fn(11, 2, |i, j| if j == 0 || i >= 5 { 1.0 } else { 0.0 });
        let m = MixedModel {
            y,
            x,
            x_names: vec!["(Intercept)".into(), "b".into()],
            terms: Vec::new(),
        };
        let f = fit(&m, true).unwrap();
        let t = student_t_test(&b, &a).unwrap();
        let c = &f.coefficients[1];
        assert!((c.t - t.t).abs() < 1e-12 && (c.p - t.p).abs() < 1e-12 && c.df == 9.0);
    }

    /// A group whose variance is 0 in the data ends on the boundary: `UnlessSingular` gives the
    /// same estimates and variances without Satterthwaite's df; a regular fit gets them.
    #[test]
    fn a_singular_fit_skips_satterthwaite_only_when_asked() {
        let groups: Vec<String> = (0..24).map(|i| format!("g{}", i % 6)).collect();
        let labels: Vec<&str> = groups.iter().map(String::as_str).collect();
        let x: Vec<f64> = (0..24).map(|i| f64::from(u8::from(i % 2 == 0))).collect();
        // Within each group the same residual pattern: nothing varies between groups.
        let y: Vec<f64> = (0..24)
            .map(|i| 10.0 + 2.0 * x[i] + [0.3, -0.8, 1.1, -0.2][(i / 6) % 4])
            .collect();
        let model = |y: Vec<f64>| MixedModel {
            y,
            x: DMatrix::from_fn(24, 2, |i, j| if j == 0 { 1.0 } else { x[i] }),
            x_names: vec!["(Intercept)".into(), "x".into()],
            terms: vec![crate::mixed::RandomTerm {
                factor: crate::mixed::Factor::from_labels("g", &labels),
                intercept: true,
                slope: None,
            }],
        };
        let m = model(y.clone());
        let always = fit(&m, true).unwrap();
        let lean = fit_with(&m, true, Ddf::Satterthwaite, Inference::UnlessSingular).unwrap();
        assert!(always.singular && lean.singular);
        assert_eq!(
            always.coefficients[1].estimate,
            lean.coefficients[1].estimate
        );
        assert_eq!(always.components, lean.components);
        assert!(always.coefficients[1].df.is_finite() && lean.coefficients[1].df.is_nan());
        // Group offsets make the fit regular: df as always.
        let shifted: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(i, v)| v + (i % 6) as f64)
            .collect();
        let regular = fit_with(
            &model(shifted),
            true,
            Ddf::Satterthwaite,
            Inference::UnlessSingular,
        )
        .unwrap();
        assert!(!regular.singular && regular.coefficients[1].df.is_finite());
    }

    #[test]
    fn lrt_refuses_reml_fits_and_non_nested_sizes() {
        let m = MixedModel {
            y: vec![1.0, 2.0, 3.5, 3.9],
            x: DMatrix::from_element(4, 1, 1.0),
            x_names: vec!["(Intercept)".into()],
            terms: Vec::new(),
        };
        let reml = fit(&m, true).unwrap();
        let ml = fit(&m, false).unwrap();
        assert!(likelihood_ratio(&reml, &ml).is_err());
        assert!(likelihood_ratio(&ml, &ml).is_err());
    }
}
