//! The survey's config and its question map (`survey --config`, `--map`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name = et_suite_fuzz::pick(data, &["survey.toml", "map.toml"]);
    if let Some(case) = et_suite_fuzz::case_file(name, data.get(1..).unwrap_or_default()) {
        if name == "survey.toml" {
            let _ = et_analysis::survey::SurveyConfig::load(&case.path);
        } else {
            let _ = et_analysis::survey::SurveyMap::load(&case.path);
        }
    }
});
