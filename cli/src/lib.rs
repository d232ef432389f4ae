//! What et-suite's two binaries share at the command line: `et-suite` (recording, analysis)
//! and `et-suite-prepare` (the stimulus networks, in `et-models`, the only one that links
//! libtorch). Exit statuses, log set-up, printing to stdout, progress bars, and the arguments of `prepare`,
//! which both parse so they document them alike. No domain logic lives here.

pub mod exit;
pub mod logging;
pub mod output;
pub mod prepare;
pub mod progress;
