//! `et-suite prepare boundary` through the CLI: a planted direction is found, the output is a
//! 1×D float32 unit vector NumPy reads, and bad inputs get one-line errors.

mod common;

use common::{assert_clean_error, run};
use et_models::npy;

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// 400 codes in 64-D; the score is the projection on e_3 − e_7 (normalised) plus a small
/// deterministic wobble; labels 1/0 by its sign, as the study's manual smile labels.
fn write_inputs(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (n, d) = (400usize, 64usize);
    let codes: Vec<f32> = (0..n * d)
        .map(|k| ((k as f64 * 0.618_033_988_7).fract() * 2.0 - 1.0) as f32)
        .collect();
    let labels: Vec<f32> = (0..n)
        .map(|i| {
            let p = f64::from(codes[i * d + 3]) - f64::from(codes[i * d + 7]);
            let wobble = 0.05 * ((i as f64) * 1.7).sin();
            if p + wobble > 0.0 {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let (c, sc) = (dir.join("codes.npy"), dir.join("scores.npy"));
    npy::write_f32(&c, n, d, &codes).unwrap();
    npy::write_f32(&sc, n, 1, &labels).unwrap();
    (c, sc)
}

#[test]
fn a_boundary_is_found_written_as_numpy_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let (codes, scores) = write_inputs(dir.path());
    let out = dir.path().join("smile_boundary.npy");
    let o = run(&[
        "prepare",
        "boundary",
        "--codes",
        s(&codes),
        "--scores",
        s(&scores),
        "--out",
        s(&out),
        "--ratio",
        "0.5",
        "--seed",
        "3",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("200 samples per side (140 train, 60 validation)"),
        "{stdout}"
    );
    let b = npy::read(&out).unwrap();
    assert_eq!((b.rows, b.cols), (1, 64));
    let norm: f64 = b.data.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
    let cos = (b.data[3] - b.data[7]) / 2f64.sqrt();
    assert!(cos > 0.9, "cosine to the planted direction {cos}");
    // NumPy reads what we wrote.
    let py = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, numpy as np; a = np.load(sys.argv[1]); print(a.dtype, a.shape, round(float(np.linalg.norm(a)), 4))",
            s(&out),
        ])
        .output()
        .expect("python3 runs");
    assert_eq!(
        String::from_utf8_lossy(&py.stdout).trim(),
        "float32 (1, 64) 1.0"
    );
    let again = run(&[
        "prepare",
        "boundary",
        "--codes",
        s(&codes),
        "--scores",
        s(&scores),
        "--out",
        s(&out),
    ]);
    assert_clean_error(&again, "already exists");
}

#[test]
fn mismatched_or_unreadable_inputs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (codes, _) = write_inputs(dir.path());
    let short = dir.path().join("short.npy");
    npy::write_f32(&short, 10, 1, &[1.0; 10]).unwrap();
    let out = dir.path().join("b.npy");
    let o = run(&[
        "prepare",
        "boundary",
        "--codes",
        s(&codes),
        "--scores",
        s(&short),
        "--out",
        s(&out),
    ]);
    assert_clean_error(&o, "400 rows but scores have 10");
    let junk = dir.path().join("junk.npy");
    std::fs::write(&junk, b"not numpy").unwrap();
    let o = run(&[
        "prepare",
        "boundary",
        "--codes",
        s(&junk),
        "--scores",
        s(&short),
        "--out",
        s(&out),
    ]);
    assert_clean_error(&o, "junk.npy");
    assert!(!out.exists());
}
