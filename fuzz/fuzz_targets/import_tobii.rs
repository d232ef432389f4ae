//! A Tobii Pro Studio / Pro Lab / plain export → `import`; whatever it accepts must read back
//! and give a duration and a data-loss share (the reader's checks hold for imported files too).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name = et_suite_fuzz::pick(data, &["export.tsv", "export.csv", "export.txt"]);
    let Some(case) = et_suite_fuzz::case_file(name, data.get(1..).unwrap_or_default()) else {
        return;
    };
    let out = case.dir.path().join("out");
    let opts = et_recording::import::ImportOptions {
        screen: et_drivers::ScreenGeometry::default().into(),
        ..Default::default()
    };
    if let Ok(reports) = et_recording::import::import(&case.path, &out, &opts) {
        for r in reports {
            let rec = et_recording::Recording::open(&r.path).expect("imported but unreadable");
            let _ = (rec.duration_us(), rec.data_loss());
        }
    }
});
