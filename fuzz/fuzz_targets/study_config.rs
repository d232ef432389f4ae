//! The study config (TOML) every `run`, `replay`, `demo` and `import --config` reads.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(case) = et_suite_fuzz::case_file("study.toml", data) {
        let _ = et_sessions::StudyConfig::load(&case.path);
    }
});
