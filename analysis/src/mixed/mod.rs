//! Linear mixed models: `y ~ X β + (1 | g₁) + (1 + x | g₂) + …` with crossed random effects,
//! fitted by REML or ML as lme4 does, fixed effects tested with Satterthwaite's or (REML)
//! Kenward–Roger's degrees of freedom as lmerTest does, and nested models compared by a
//! likelihood-ratio test. The study uses it so that participants and images are random
//! samples, not independent trials (Baayen, Davidson & Bates 2008). Checked against lme4
//! 1.1-31 / lmerTest 3.1-3 / pbkrtest 0.5.2 in `tests/parity/lme4.rs`.

mod deriv;
mod fit;
mod kenward_roger;
mod model;
mod optimize;
mod pls;

pub use fit::{
    fit, fit_with, likelihood_ratio, Coefficient, Ddf, FitError, Inference, LmmFit, Lrt,
    VarianceComponent, CONVERGED_DECREMENT, SINGULAR_TOL,
};
pub use model::{Factor, MixedModel, ModelError, RandomTerm};
