//! Parity with the reference implementations, one test binary (it links polars once): every
//! hypothesis test against SciPy (`scipy`) and the linear mixed model against lme4 / lmerTest
//! (`lme4`). The stored values and the scripts that wrote them are in `../reference/`.

mod lme4;
mod scipy;
