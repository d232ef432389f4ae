//! A Qualtrics CSV export (`survey`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = et_analysis::survey::qualtrics::Export::parse(text, "fuzz.csv");
    }
});
