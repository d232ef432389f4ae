//! Any bytes as a recording: `Recording::open` and what `inspect` computes must refuse or
//! succeed, never panic. (A crash inside libhdf5 itself shows here too: see tests/integration/fuzz.rs.)
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(case) = et_suite_fuzz::case_file("rec.h5", data) else {
        return;
    };
    if let Ok(rec) = et_recording::Recording::open(&case.path) {
        let _ = (rec.duration_us(), rec.data_loss());
    }
});
