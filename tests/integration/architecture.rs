//! The dependency rules of ARCHITECTURE.md, checked from `cargo metadata`: which of our crates
//! each crate may depend on, which libraries each may name, and which may be anywhere in a
//! crate's resolved dependency tree (polars only under analysis, libtorch only under the
//! networks, HDF5 only under the recording, the GPU stack and tokio never under analysis), so a
//! rule cannot be broken through a third crate. A new edge that breaks a rule fails here,
//! naming it.

use std::collections::{BTreeMap, BTreeSet};

/// Per package of the workspace: its normal (non-dev, non-build) dependencies by name; every
/// package its build needs, all the way down (normal and build edges), by name; and the same
/// without what polars brings (polars 0.55 itself depends on tokio, through polars-async).
struct Dependencies {
    direct: BTreeMap<String, BTreeSet<String>>,
    resolved: BTreeMap<String, BTreeSet<String>>,
    beside_polars: BTreeMap<String, BTreeSet<String>>,
}

fn dependencies() -> Dependencies {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let run = |args: &[&str]| {
        let out = crate::common::command(&cargo)
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "cargo {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let meta: serde_json::Value = serde_json::from_slice(&run(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
    ]))
    .unwrap();
    let direct: BTreeMap<String, BTreeSet<String>> = meta["packages"]
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
        .collect();
    // What building each package needs on this platform, all the way down (cargo tree
    // resolves the features and platforms a build actually uses; dev edges left out).
    let tree =
        |extra: &[&str], only: &dyn Fn(&str) -> bool| -> BTreeMap<String, BTreeSet<String>> {
            direct
                .keys()
                .filter(|pkg| only(pkg))
                .map(|pkg| {
                    let mut args = vec![
                        "tree",
                        "-p",
                        pkg,
                        "-e",
                        "normal,build",
                        "--prefix",
                        "none",
                        "--offline",
                    ];
                    args.extend_from_slice(extra);
                    let names = String::from_utf8_lossy(&run(&args))
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_whitespace().next())
                        .map(str::to_string)
                        .collect();
                    (pkg.clone(), names)
                })
                .collect()
        };
    let resolved = tree(&[], &|_| true);
    // (`--prune` refuses a package that is not in the tree.)
    let mut beside_polars = tree(&["--prune", "polars"], &|p| resolved[p].contains("polars"));
    for (p, t) in &resolved {
        beside_polars.entry(p.clone()).or_insert_with(|| t.clone());
    }
    Dependencies {
        direct,
        resolved,
        beside_polars,
    }
}

#[test]
fn crates_depend_one_way_and_heavy_libraries_stay_where_they_belong() {
    let Dependencies {
        direct,
        resolved,
        beside_polars,
    } = dependencies();
    let ours: BTreeSet<&str> = [
        "et-cli",
        "et-files",
        "et-drivers",
        "et-stimuli",
        "et-present",
        "et-recording",
        "et-sessions",
        "et-analysis",
        "et-models",
        "fake-tobii",
        "et-suite",
        "et-suite-prepare",
    ]
    .into();
    assert_eq!(
        direct.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        ours,
        "a package was added or renamed: give it a row in ARCHITECTURE.md and here"
    );
    // Which of our crates each may use.
    let allowed: BTreeMap<&str, &[&str]> = [
        ("et-cli", &[][..]),
        ("et-files", &[][..]),
        ("et-drivers", &["et-files"][..]),
        ("fake-tobii", &["et-drivers"][..]),
        ("et-stimuli", &["et-files", "et-drivers"][..]),
        ("et-present", &["et-files", "et-drivers", "et-stimuli"][..]),
        (
            "et-recording",
            &["et-files", "et-drivers", "et-stimuli"][..],
        ),
        (
            "et-sessions",
            &[
                "et-files",
                "et-drivers",
                "et-stimuli",
                "et-present",
                "et-recording",
            ][..],
        ),
        (
            "et-analysis",
            &["et-files", "et-drivers", "et-stimuli", "et-recording"][..],
        ),
        ("et-models", &["et-files", "et-stimuli"][..]),
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
                "et-present",
                "et-recording",
                "et-sessions",
                "et-analysis",
            ][..],
        ),
    ]
    .into();
    // Libraries that only some crates may name.
    let named: [(&str, &[&str]); 9] = [
        // One CSV reader, one policy (errors name the file and line; nothing ends silently).
        ("csv", &["et-files"]),
        ("polars", &["et-analysis"]),
        ("nalgebra", &["et-analysis", "et-models", "et-drivers"]),
        // libtorch: the networks and their binary only; et-suite never links it.
        ("tch", &["et-models", "et-suite-prepare"]),
        ("hdf5-metno", &["et-recording"]),
        ("hdf5-metno-sys", &["et-recording"]),
        ("wgpu", &["et-present"]),
        ("winit", &["et-present"]),
        ("tokio", &["et-sessions", "et-suite"]),
    ];
    // Libraries that may be anywhere in the resolved trees of these crates only.
    let reached: [(&str, &[&str]); 5] = [
        ("polars", &["et-analysis", "et-suite", "et-suite-prepare"]),
        ("torch-sys", &["et-models", "et-suite-prepare"]),
        (
            "hdf5-metno-sys",
            &[
                "et-recording",
                "et-sessions",
                "et-analysis",
                "et-suite",
                "et-suite-prepare",
            ],
        ),
        ("wgpu", &["et-present", "et-sessions", "et-suite"]),
        ("winit", &["et-present", "et-sessions", "et-suite"]),
    ];
    let mut broken = Vec::new();
    for (pkg, ds) in &direct {
        for d in ds.iter().filter(|d| ours.contains(d.as_str())) {
            if !allowed[pkg.as_str()].contains(&d.as_str()) {
                broken.push(format!("{pkg} depends on {d}"));
            }
        }
        for (lib, owners) in named {
            if ds.contains(lib) && !owners.contains(&pkg.as_str()) {
                broken.push(format!("{pkg} names {lib} (only {owners:?} may)"));
            }
        }
    }
    for (pkg, tree) in &resolved {
        for (lib, owners) in reached {
            if tree.contains(lib) && !owners.contains(&pkg.as_str()) {
                broken.push(format!(
                    "{pkg} reaches {lib} through its dependencies (only {owners:?} may)"
                ));
            }
        }
    }
    // The session runtime's tokio: nowhere but under sessions (polars' own aside).
    for (pkg, tree) in &beside_polars {
        if tree.contains("tokio") && !["et-sessions", "et-suite"].contains(&pkg.as_str()) {
            broken.push(format!("{pkg} reaches tokio other than through polars"));
        }
    }
    assert!(
        broken.is_empty(),
        "ARCHITECTURE.md's rules broken: {broken:#?}"
    );
    // The rule the split exists for, said plainly.
    for lib in ["wgpu", "winit"] {
        assert!(
            !resolved["et-analysis"].contains(lib),
            "analysis reaches {lib}"
        );
    }
    assert!(!beside_polars["et-analysis"].contains("tokio"));
    assert!(resolved["et-analysis"].contains("hdf5-metno-sys"));
}

/// The recording and analysis binary, and its tests, build without libtorch: nothing `et-suite`
/// needs to build or test (normal, build and dev dependencies, all the way down) reaches
/// torch-sys. The demo and these tests depend on it; the networks' tests live in their package.
#[test]
fn et_suite_builds_without_libtorch() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = crate::common::command(cargo)
        .args([
            "tree",
            "-p",
            "et-suite",
            "-e",
            "normal,build,dev",
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

/// Each source file's top-level module (`foo.rs` and `foo/…` are `foo`) and the crate's
/// modules it names (`crate::bar…`), its tests left out.
fn module_graph(src: &std::path::Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = first.trim_end_matches(".rs").to_string();
            if module == "lib" || module == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let names = graph.entry(module.clone()).or_default();
            for part in code.split("crate::").skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    names.insert(name);
                }
            }
        }
    }
    graph
}

/// A circle of modules in `graph`, if there is one.
fn a_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == n) {
            let mut circle = path[at..].to_vec();
            circle.push(n.to_string());
            return Some(circle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            if graph.contains_key(m) {
                if let Some(c) = visit(m, graph, path, done) {
                    return Some(c);
                }
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

/// No circles of imports inside a crate: a newcomer can read each crate's modules in an order
/// where every module uses only those before it.
#[test]
fn no_crate_has_a_circle_of_module_imports() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut circles = Vec::new();
    for src in [
        "cli/src",
        "files/src",
        "drivers/src",
        "stimuli/src",
        "present/src",
        "recording/src",
        "sessions/src",
        "analysis/src",
        "models/src",
        "models/cli/src",
        "src",
    ] {
        if let Some(c) = a_circle(&module_graph(&root.join(src))) {
            circles.push(format!("{src}: {}", c.join(" → ")));
        }
    }
    assert!(circles.is_empty(), "circles of imports: {circles:#?}");
}

#[test]
fn the_circle_check_finds_a_circle() {
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), ["b".to_string()].into()),
        ("b".to_string(), ["c".to_string()].into()),
        ("c".to_string(), ["a".to_string()].into()),
        ("d".to_string(), ["a".to_string()].into()),
    ]
    .into();
    assert_eq!(a_circle(&g).unwrap(), ["a", "b", "c", "a"]);
    let mut acyclic = g.clone();
    acyclic.insert("c".into(), BTreeSet::new());
    assert_eq!(a_circle(&acyclic), None);
}
