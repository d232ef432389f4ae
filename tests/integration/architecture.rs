//! The dependency rules of ARCHITECTURE.md, checked from `cargo metadata`: which of our crates
//! each crate may depend on, and where the heavy or special libraries may appear (polars only in
//! analysis, libtorch only in models and the networks' binary, HDF5 only in sessions, the GPU
//! stack only in stimuli). A new edge that breaks a rule fails here, naming it.

use std::collections::{BTreeMap, BTreeSet};

/// Per package, its normal (non-dev, non-build) dependencies by package name.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = crate::common::command(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_string())
                .collect();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

#[test]
fn crates_depend_one_way_and_heavy_libraries_stay_where_they_belong() {
    let deps = dependencies();
    let ours: BTreeSet<&str> = [
        "et-cli",
        "et-drivers",
        "et-stimuli",
        "et-sessions",
        "et-analysis",
        "et-models",
        "fake-tobii",
        "et-suite",
        "et-suite-prepare",
    ]
    .into();
    assert_eq!(
        deps.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        ours,
        "a package was added or renamed: give it a row in ARCHITECTURE.md and here"
    );
    // Which of our crates each may use.
    let allowed: BTreeMap<&str, &[&str]> = [
        ("et-cli", &[][..]),
        ("et-drivers", &[][..]),
        ("fake-tobii", &["et-drivers"][..]),
        ("et-stimuli", &["et-drivers"][..]),
        ("et-sessions", &["et-drivers", "et-stimuli"][..]),
        (
            "et-analysis",
            &["et-drivers", "et-stimuli", "et-sessions"][..],
        ),
        ("et-models", &["et-stimuli"][..]),
        (
            "et-suite-prepare",
            &["et-cli", "et-models", "et-stimuli", "et-analysis"][..],
        ),
        (
            "et-suite",
            &[
                "et-cli",
                "et-drivers",
                "et-stimuli",
                "et-sessions",
                "et-analysis",
            ][..],
        ),
    ]
    .into();
    // Libraries that only some crates may name.
    let confined: [(&str, &[&str]); 7] = [
        ("polars", &["et-analysis"]),
        ("nalgebra", &["et-analysis", "et-models", "et-drivers"]),
        // libtorch: the networks and their binary only; et-suite never links it.
        ("tch", &["et-models", "et-suite-prepare"]),
        ("hdf5-metno", &["et-sessions"]),
        ("hdf5-metno-sys", &["et-sessions"]),
        ("wgpu", &["et-stimuli"]),
        ("winit", &["et-stimuli"]),
    ];
    let mut broken = Vec::new();
    for (pkg, ds) in &deps {
        for d in ds.iter().filter(|d| ours.contains(d.as_str())) {
            if !allowed[pkg.as_str()].contains(&d.as_str()) {
                broken.push(format!("{pkg} depends on {d}"));
            }
        }
        for (lib, owners) in confined {
            if ds.contains(lib) && !owners.contains(&pkg.as_str()) {
                broken.push(format!("{pkg} names {lib} (only {owners:?} may)"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "ARCHITECTURE.md's rules broken: {broken:#?}"
    );
}

/// The recording and analysis binary builds without libtorch: nothing `et-suite` needs to build
/// (normal dependencies, all the way down) reaches torch-sys. The demo depends on it.
#[test]
fn et_suite_builds_without_libtorch() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = crate::common::command(cargo)
        .args([
            "tree",
            "-p",
            "et-suite",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        tree.lines().any(|l| l.starts_with("et-sessions ")),
        "{tree}"
    );
    let torch: Vec<&str> = tree
        .lines()
        .filter(|l| {
            l.starts_with("torch-sys ") || l.starts_with("tch ") || l.starts_with("et-models ")
        })
        .collect();
    assert!(torch.is_empty(), "et-suite reaches {torch:?}");
}

#[test]
fn analysis_does_not_use_the_presenter() {
    // The design says analysis must not link the presenter: its figures draw their own text.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/analysis/src");
    let mut uses = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(dir)];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (i, line) in text.lines().enumerate() {
                    if line.contains("present::") {
                        uses.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(uses.is_empty(), "{uses:#?}");
}
