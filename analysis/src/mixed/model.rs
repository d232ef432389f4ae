//! What a linear mixed model is fitted to: the response, the fixed-effects design and the
//! random-effect terms, checked once, and the cross-products every deviance evaluation reuses.

use nalgebra::{DMatrix, DVector};

/// A grouping factor: the level of every observation.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    /// The factor's name as reported ("participant", "identity").
    pub name: String,
    pub levels: Vec<String>,
    /// Per observation, an index into `levels`.
    pub index: Vec<usize>,
}

impl Factor {
    /// Levels in order of first appearance.
    pub fn from_labels(name: &str, labels: &[&str]) -> Factor {
        let mut levels: Vec<String> = Vec::new();
        let index = labels
            .iter()
            .map(|l| match levels.iter().position(|v| v == l) {
                Some(i) => i,
                None => {
                    levels.push((*l).to_string());
                    levels.len() - 1
                }
            })
            .collect();
        Factor {
            name: name.into(),
            levels,
            index,
        }
    }
}

/// `(1 | factor)`; with a slope, `(1 + covariate | factor)` (correlated intercept and slope);
/// without the intercept, `(0 + covariate | factor)`. Two terms of one factor, one with the
/// intercept and one with the slope only, are lme4's `(1 + covariate || factor)`.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomTerm {
    pub factor: Factor,
    /// Whether the term has a random intercept.
    pub intercept: bool,
    /// The slope's name and its value per observation.
    pub slope: Option<(String, Vec<f64>)>,
}

impl RandomTerm {
    /// Random effects per level: the intercept and/or the slope.
    pub fn width(&self) -> usize {
        usize::from(self.intercept) + usize::from(self.slope.is_some())
    }

    /// Covariance parameters: the lower triangle of the relative covariance factor.
    pub fn n_theta(&self) -> usize {
        let k = self.width();
        k * (k + 1) / 2
    }

    /// Names of the effects per level ("(Intercept)", then the slope's name).
    pub fn effect_names(&self) -> Vec<String> {
        let intercept = self.intercept.then(|| "(Intercept)".to_string());
        intercept
            .into_iter()
            .chain(self.slope.iter().map(|(n, _)| n.clone()))
            .collect()
    }
}

/// `y ~ X β + Σ terms`, Gaussian residuals.
#[derive(Debug, Clone, PartialEq)]
pub struct MixedModel {
    pub y: Vec<f64>,
    /// n × p fixed-effects design, full column rank.
    pub x: DMatrix<f64>,
    pub x_names: Vec<String>,
    pub terms: Vec<RandomTerm>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("the model has {n} observation(s) for {p} fixed effect(s): it needs more observations than fixed effects")]
    TooFewObservations { n: usize, p: usize },
    #[error("{what} has {got} entries for {n} observations")]
    Length { what: String, got: usize, n: usize },
    #[error("observation {row}: {what} is not a finite number")]
    NotFinite { what: String, row: usize },
    #[error(
        "the fixed effects are not estimable: column '{0}' of the design depends on the others"
    )]
    RankDeficient(String),
    #[error(
        "random term '{0}' has a single level: its variance cannot be separated from the residual"
    )]
    OneLevel(String),
    #[error("random term '{0}' has neither an intercept nor a slope")]
    EmptyTerm(String),
}

impl MixedModel {
    /// Checks sizes, finiteness and rank, so that fitting only meets numerical trouble.
    pub fn validate(&self) -> Result<(), ModelError> {
        let (n, p) = (self.y.len(), self.x.ncols());
        if self.x.nrows() != n {
            return Err(ModelError::Length {
                what: "the fixed-effects design".into(),
                got: self.x.nrows(),
                n,
            });
        }
        if n <= p {
            return Err(ModelError::TooFewObservations { n, p });
        }
        if let Some(row) = self.y.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NotFinite {
                what: "the response".into(),
                row,
            });
        }
        if let Some(k) = self.x.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NotFinite {
                what: "the fixed-effects design".into(),
                row: k % n,
            });
        }
        for t in &self.terms {
            if t.factor.index.len() != n {
                return Err(ModelError::Length {
                    what: format!("factor '{}'", t.factor.name),
                    got: t.factor.index.len(),
                    n,
                });
            }
            if t.factor.levels.len() < 2 {
                return Err(ModelError::OneLevel(t.factor.name.clone()));
            }
            if t.width() == 0 {
                return Err(ModelError::EmptyTerm(t.factor.name.clone()));
            }
            if let Some((name, v)) = &t.slope {
                if v.len() != n {
                    return Err(ModelError::Length {
                        what: format!("slope '{name}'"),
                        got: v.len(),
                        n,
                    });
                }
                if let Some(row) = v.iter().position(|x| !x.is_finite()) {
                    return Err(ModelError::NotFinite {
                        what: format!("slope '{name}'"),
                        row,
                    });
                }
            }
        }
        // Rank: a pivoted check by Cholesky of the scaled cross-product.
        let xtx = self.x.transpose() * &self.x;
        for j in 0..p {
            let sub = xtx.view((0, 0), (j + 1, j + 1)).into_owned();
            let scale = (0..=j).map(|i| sub[(i, i)]).fold(0.0f64, f64::max);
            let ok = scale > 0.0
                && sub.clone().cholesky().is_some_and(|c| {
                    let d = c.l()[(j, j)];
                    d * d > 1e-10 * sub[(j, j)].max(f64::MIN_POSITIVE)
                });
            if !ok {
                return Err(ModelError::RankDeficient(self.x_names[j].clone()));
            }
        }
        Ok(())
    }

    /// Number of covariance parameters θ over all terms.
    pub fn n_theta(&self) -> usize {
        self.terms.iter().map(RandomTerm::n_theta).sum()
    }

    /// θ's lower bounds: 0 for the diagonal of each factor, none below it.
    pub fn theta_lower(&self) -> Vec<f64> {
        let mut v = Vec::new();
        for t in &self.terms {
            let k = t.width();
            for c in 0..k {
                for r in c..k {
                    v.push(if r == c { 0.0 } else { f64::NEG_INFINITY });
                }
            }
        }
        v
    }
}

/// Cross-products of the data, computed once per model.
#[derive(Debug, Clone)]
pub(crate) struct Products {
    pub n: usize,
    pub p: usize,
    pub q: usize,
    pub ztz: DMatrix<f64>,
    pub ztx: DMatrix<f64>,
    pub zty: DVector<f64>,
    pub xtx: DMatrix<f64>,
    pub xty: DVector<f64>,
    /// yᵀy of the (shifted) response.
    pub yty: f64,
    /// The intercept column and the mean subtracted from y when the model has one: the
    /// residuals do not change, and yᵀy − ‖c‖² then loses no precision to a large mean.
    pub shift: Option<(usize, f64)>,
    /// Per term: first column in Z, width (effects per level), levels.
    pub blocks: Vec<(usize, usize, usize)>,
    /// How many leading terms share the first term's factor (2 for `(1 + x || g) + …`): their
    /// random effects are factored together, level by level.
    pub first_group: usize,
}

impl Products {
    pub fn new(m: &MixedModel) -> Products {
        let n = m.y.len();
        let p = m.x.ncols();
        let mut blocks = Vec::new();
        let mut q = 0;
        for t in &m.terms {
            blocks.push((q, t.width(), t.factor.levels.len()));
            q += t.width() * t.factor.levels.len();
        }
        let z_rows: Vec<Vec<(usize, f64)>> = (0..n)
            .map(|i| {
                let mut row = Vec::new();
                for (t, &(start, k, _)) in m.terms.iter().zip(&blocks) {
                    let mut col = start + t.factor.index[i] * k;
                    if t.intercept {
                        row.push((col, 1.0));
                        col += 1;
                    }
                    if let Some((_, v)) = &t.slope {
                        row.push((col, v[i]));
                    }
                }
                row
            })
            .collect();
        let intercept = (0..p).find(|&j| m.x.column(j).iter().all(|v| *v == 1.0));
        let mean = m.y.iter().sum::<f64>() / n.max(1) as f64;
        let shift = intercept.map(|j| (j, mean));
        let y = DVector::from_iterator(n, m.y.iter().map(|v| v - shift.map_or(0.0, |s| s.1)));
        let mut ztz = DMatrix::zeros(q, q);
        let mut ztx = DMatrix::zeros(q, p);
        let mut zty = DVector::zeros(q);
        for (i, row) in z_rows.iter().enumerate() {
            for &(a, va) in row {
                zty[a] += va * y[i];
                for j in 0..p {
                    ztx[(a, j)] += va * m.x[(i, j)];
                }
                for &(b, vb) in row {
                    ztz[(a, b)] += va * vb;
                }
            }
        }
        Products {
            n,
            p,
            q,
            ztz,
            ztx,
            zty,
            xtx: m.x.transpose() * &m.x,
            xty: m.x.transpose() * &y,
            yty: y.norm_squared(),
            shift,
            blocks,
            first_group: m
                .terms
                .iter()
                .take_while(|t| m.terms.first().is_some_and(|f| f.factor == t.factor))
                .count(),
        }
    }
}
