//! analysis.toml (`analyze --config`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(case) = et_suite_fuzz::case_file("analysis.toml", data) {
        let _ = et_analysis::AnalysisConfig::load(&case.path);
    }
});
