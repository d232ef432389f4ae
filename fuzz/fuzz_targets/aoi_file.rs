//! AOI files, TOML or JSON by the first byte.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name = et_suite_fuzz::pick(data, &["aois.toml", "aois.json"]);
    if let Some(case) = et_suite_fuzz::case_file(name, data.get(1..).unwrap_or_default()) {
        let _ = et_stimuli::AoiFile::load(&case.path);
    }
});
