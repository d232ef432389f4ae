//! Clinician surveys (Qualtrics exports) → the paper's Table 4 and Figure 4: accuracy per
//! condition for reconstructed vs manipulated images, per-version and per-respondent
//! accuracy, and confusion matrices.

mod figure;
pub mod map;
pub mod qualtrics;
pub mod results;

pub use map::SurveyMap;
pub use qualtrics::{Completion, Export, Response};
pub use results::{analyse_survey, SurveyConfig, SurveyResults};
