//! A stimulus set's manifest.toml (`--stimuli`, `stimulus_set`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = et_stimuli::StimulusSet::from_toml_str(text, "fuzz/manifest.toml");
    }
});
