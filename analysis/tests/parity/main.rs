//! Parity with the reference implementations, one test binary (it links polars once): every
//! hypothesis test against SciPy (`scipy`), the linear mixed model against lme4 / lmerTest
//! (`lme4`) and the data-quality measures against ETDQualitizer (`etdq`). The stored values and the scripts that wrote them are in `../reference/`.

mod etdq;
mod lme4;
mod scipy;
