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

/// The VGGFace2 pickle (a dict of name → NumPy array, as cydonia999/VGGFace2-pytorch ships
/// it) made here with NumPy at full shapes, converted by our script, loads into the classifier
/// trunk value for value, with the 8631-class head dropped.
#[test]
fn the_vggface2_pickle_converts_and_loads_into_the_classifier() {
    use std::process::Command;
    use tch::nn::VarStore;
    let dir = tempfile::tempdir().unwrap();
    let vs = VarStore::new(tch::Device::Cpu);
    let _m = et_models::classifier::CaffeResnet50::new(&vs.root(), 8631);
    let mut shapes: Vec<(String, Vec<i64>)> = vs
        .variables()
        .into_iter()
        .map(|(k, t)| (k, t.size()))
        .collect();
    shapes.sort();
    let spec: Vec<String> = shapes
        .iter()
        .map(|(k, s)| format!("{k:?}: {s:?}"))
        .collect();
    let pkl = dir.path().join("resnet50_ft_weight.pkl");
    // Each tensor holds its index in the sorted name list plus its flat position / 1e6.
    let script = format!(
        "import pickle, numpy as np\nshapes = {{{}}}\nd = {{}}\nfor i, k in enumerate(sorted(shapes)):\n    s = shapes[k]\n    d[k] = (i + np.arange(int(np.prod(s))) / 1e6).reshape(s).astype(np.float32)\nd['bn1.num_batches_tracked'] = np.array(0)\npickle.dump(d, open({:?}, 'wb'), protocol=2)\n",
        spec.join(", "),
        s(&pkl)
    );
    let o = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("vggface2.safetensors");
    let convert = |out: &std::path::Path| {
        Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/models/scripts/convert_vggface2.py"
            ))
            .args(["--pickle", s(&pkl), "--out", s(out)])
            .output()
            .unwrap()
    };
    let o = convert(&out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Never overwritten.
    let again = convert(&out);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));

    let mut fresh = VarStore::new(tch::Device::Cpu);
    let _m2 = et_models::classifier::CaffeResnet50::new(&fresh.root(), 12);
    let mut missing = et_models::weights::load_partial(
        &mut fresh,
        &out,
        et_models::weights::WeightKind::VggFace2,
    )
    .unwrap();
    missing.sort();
    assert_eq!(missing, vec!["fc.bias", "fc.weight"]);
    let vars = fresh.variables();
    for (i, (k, _)) in shapes.iter().enumerate() {
        if k.starts_with("fc.") {
            continue;
        }
        let t = &vars[k];
        let first = t.flatten(0, -1).double_value(&[0]);
        let last = t.flatten(0, -1).double_value(&[t.numel() as i64 - 1]);
        assert_eq!(first, i as f64, "{k}");
        assert!(
            (last - (i as f64 + (t.numel() - 1) as f64 / 1e6)).abs() < 1e-3,
            "{k}"
        );
    }
}
