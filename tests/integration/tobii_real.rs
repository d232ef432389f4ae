//! The adapter against Tobii's real Pro SDK C libraries (1.11.0.1 and 2.1.0.1, from PyPI's
//! `tittapy` wheel; `scripts/setup_tobii_sdk.sh` puts them in ~/.cache/et-suite/tobii-sdk or
//! `$ET_TOBII_SDK_DIR`). No tracker is attached here, so these check the real ABI: the library
//! loads and resolves every function, its version, its clock against CLOCK_MONOTONIC (the time
//! base the design assumes), discovery finding none within a bound, and what the user reads
//! when an address does not answer or a serial matches nothing. Without the libraries the
//! tests say so and pass (the fake library covers the rest); `./scripts/test.sh` installs them.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::run;

/// The SDK libraries, major version 1 then 2, when installed.
fn sdks() -> Vec<(u32, PathBuf)> {
    let dir = std::env::var_os("ET_TOBII_SDK_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/et-suite/tobii-sdk"))
        });
    let Some(Ok(entries)) = dir.map(std::fs::read_dir) else {
        return Vec::new();
    };
    let mut found: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let major = match name.rsplit_once(".so.")? {
                (stem, m) if stem.starts_with("libtobii_research") => m.parse().ok()?,
                _ => return None,
            };
            Some((major, p))
        })
        .collect();
    found.sort();
    if found.is_empty() {
        eprintln!("SKIPPED: no Tobii Pro SDK libraries (run scripts/setup_tobii_sdk.sh)");
    }
    found
}

#[test]
fn both_sdks_load_report_their_version_and_find_no_tracker_quickly() {
    for (major, lib) in sdks() {
        let t = Instant::now();
        let o = run(&["trackers", "--tobii-lib", lib.to_str().unwrap()]);
        let took = t.elapsed();
        let out = String::from_utf8_lossy(&o.stdout);
        let err = String::from_utf8_lossy(&o.stderr);
        // "No tracker found" has a status of its own, so a script can check before a session.
        assert_eq!(o.status.code(), Some(4), "{err}");
        let want = if major == 1 {
            "Tobii Pro SDK 1.11"
        } else {
            "Tobii Pro SDK 2.1"
        };
        assert!(out.contains(want), "{out}");
        assert!(err.contains("no eye trackers found"), "{err}");
        // Only SDK 1.x finds trackers through avahi.
        assert_eq!(err.contains("avahi"), major == 1, "{err}");
        // The SDK browses the network for about 3 s; only a hang is caught here.
        assert!(took < Duration::from_secs(120), "discovery took {took:?}");
        eprintln!(
            "SDK {major}: discovery with none attached took {:.2} s",
            took.as_secs_f64()
        );
    }
}

#[test]
fn an_address_where_nothing_answers_and_an_unknown_serial_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (major, lib) in sdks() {
        let lib = lib.to_str().unwrap();
        let out = dir.path().join(format!("a{major}.h5"));
        let o = run(&[
            "run",
            "--headless",
            "--tracker",
            "tobii:tet-tcp://127.0.0.1",
            "--tobii-lib",
            lib,
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success());
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{err}");
        // SDK 1.x says SE_CONNECTION_FAILED (204), 2.x SE_INTERNAL (200): both read the same.
        assert!(
            err.contains("no Tobii eye tracker answered at tet-tcp://127.0.0.1")
                && err.contains("the SDK says SE_"),
            "SDK {major}: {err}"
        );
        assert!(
            !err.contains("unknown"),
            "SDK {major}: a status code we do not name: {err}"
        );
        assert!(
            !out.exists(),
            "a recording was left for a session that never started"
        );
        let o = run(&[
            "run",
            "--headless",
            "--tracker",
            "tobii:NOSUCHSERIAL",
            "--tobii-lib",
            lib,
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.lines()
                .any(|l| l == "error: no Tobii eye tracker matches \"NOSUCHSERIAL\"; found: none"),
            "SDK {major}: {err}"
        );
    }
}

#[test]
fn the_sdk_clock_is_clock_monotonic() {
    for (major, lib) in sdks() {
        let lib = et_drivers::tobii::TobiiLibrary::load(&lib).unwrap();
        // Bracket each SDK reading between two CLOCK_MONOTONIC readings.
        let mut worst: i64 = 0;
        for _ in 0..200 {
            let before = et_drivers::clock::monotonic_now_us();
            let sdk = lib.system_time_us().unwrap();
            let after = et_drivers::clock::monotonic_now_us();
            let off = if sdk < before {
                before - sdk
            } else if sdk > after {
                sdk - after
            } else {
                0
            };
            worst = worst.max(off);
        }
        eprintln!(
            "SDK {major}: get_system_time_stamp lies within CLOCK_MONOTONIC readings ± {worst} µs"
        );
        // The design's time base: the SDK's system clock is CLOCK_MONOTONIC in µs.
        assert!(
            worst <= 1_000,
            "SDK {major}: off CLOCK_MONOTONIC by {worst} µs"
        );
    }
}

/// SDK 1.x without the avahi client library it links (a realistic lab case: `ldd` shows it
/// "not found"): `trackers` says which library is missing, in the loader's words, and exits
/// with the status for "library not loadable", so a pre-flight script stops there.
#[test]
fn sdk1_without_its_avahi_library_names_the_missing_library() {
    let Some((_, lib)) = sdks().into_iter().find(|(major, _)| *major == 1) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The library alone, without the avahi libraries that sit beside it in the wheel.
    let alone = dir.path().join(lib.file_name().unwrap());
    std::fs::copy(&lib, &alone).unwrap();
    let o = run(&["trackers", "--tobii-lib", alone.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert!(
        err.contains("libavahi-client") && err.contains("cannot open shared object file"),
        "{err}"
    );
}
