//! The networks' tests through the command line, in the networks' package so that the
//! integration test binary needs no libtorch: `et-suite prepare` (which runs
//! et-suite-prepare from beside itself; `cargo build --workspace --bins` builds both).
//!
//! `et-suite prepare boundary` through the CLI: a planted direction is found, the output is a
//! 1×D float32 unit vector NumPy reads, and bad inputs get one-line errors.

// The integration tests' helpers (the et-suite binary beside this package's, a small study).
#[path = "../../../tests/integration/common.rs"]
mod common;

use common::{argv, assert_clean_error, error_rows, path_in, record_at_full_speed, run, s};
use et_models::npy;

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
    let py = common::command("python3")
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

/// The VGGFace2 pickle (a dict of name → NumPy array, as cydonia999/VGGFace2-pytorch ships
/// it) made here with NumPy at full shapes, converted by our script, loads into the classifier
/// trunk value for value, with the 8631-class head dropped.
#[test]
fn the_vggface2_pickle_converts_and_loads_into_the_classifier() {
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
    let o = common::command("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("vggface2.safetensors");
    let convert = |out: &std::path::Path| {
        common::command("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../scripts/convert_vggface2.py"
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

/// Writes tiny random-weight networks, eight drawn faces in two conditions, and a config;
/// returns the config's path.
fn tiny_pipeline(dir: &std::path::Path) -> std::path::PathBuf {
    use et_models::hyperstyle::{HyperStyle, HyperStyleConfig, HypernetConfig};
    use et_models::stylegan2::GeneratorConfig;
    use et_stimuli::Expression;
    use tch::nn::VarStore;
    tch::manual_seed(11);
    // A 32 px generator of official width; the hypernetwork tunes one to-RGB layer (the
    // shared hypernetwork's 134 M values are left out to keep the file small).
    let vs = VarStore::new(tch::Device::Cpu);
    let cfg = HyperStyleConfig {
        generator: GeneratorConfig {
            size: 32,
            ..GeneratorConfig::default()
        },
        hypernet: HypernetConfig {
            layers_to_tune: vec![4],
            input_nc: 6,
        },
        input_size: 32,
    };
    let _h = HyperStyle::new(&vs.root(), cfg).unwrap();
    vs.save(dir.join("hyperstyle.safetensors")).unwrap();
    let cls = VarStore::new(tch::Device::Cpu);
    let _c = et_models::classifier::CaffeResnet50::new(&cls.root(), 2);
    cls.save(dir.join("fold-1.safetensors")).unwrap();

    let images = dir.join("aligned");
    std::fs::create_dir_all(&images).unwrap();
    let mut csv = String::from("file,condition,smile,identity,test\n");
    for cond in ["NS", "WS"] {
        for n in 1..=4 {
            let identity = format!("{cond}-{n:02}");
            let smile = n % 2 == 0;
            let e = if smile {
                Expression::Smile
            } else {
                Expression::NoSmile
            };
            let file = format!("{identity}.png");
            et_stimuli::default_set::draw_face(48, &identity, e)
                .save(images.join(&file))
                .unwrap();
            csv.push_str(&format!(
                "{file},{cond},{},{identity},{}\n",
                u8::from(smile),
                u8::from(n <= 2)
            ));
        }
    }
    std::fs::write(dir.join("labels.csv"), csv).unwrap();
    let config = dir.join("prepare.toml");
    std::fs::write(
        &config,
        "images = \"aligned\"\nlabels = \"labels.csv\"\nout = \"prepared\"\n\
         [hyperstyle]\nweights = \"hyperstyle.safetensors\"\nsize = 32\ninput_size = 32\nn_iters = 2\nlayers_to_tune = [4]\n\
         [edit]\ndistance = 8.0\nimage_size = 64\n\
         [classifier]\nweights = [\"fold-1.safetensors\"]\nclasses = [\"NS\", \"WS\"]\n",
    )
    .unwrap();
    config
}

#[test]
fn the_pipeline_makes_a_stimulus_set_run_accepts_and_resumes_from_its_cache() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_pipeline(dir.path());
    let o = run(&["prepare", "--config", s(&config), "--device", "cpu"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("8 images of 4 faces (8 codes computed, 0 from the cache)"),
        "{stdout}"
    );
    let out = dir.path().join("prepared");
    let set = et_stimuli::StimulusSet::load(&out.join("manifest.toml")).unwrap();
    assert_eq!(set.stimuli.len(), 8);
    assert_eq!((set.image_width, set.image_height), (64, 64));
    assert_eq!(set.aois[0].name, "mouth");
    // Each test face: the reconstruction keeps its label's expression, the edit the other.
    for id in ["NS-01", "NS-02", "WS-01", "WS-02"] {
        let rec = set
            .stimuli
            .iter()
            .find(|s| s.id == format!("{id}-reconstructed"))
            .unwrap();
        let man = set
            .stimuli
            .iter()
            .find(|s| s.id == format!("{id}-manipulated"))
            .unwrap();
        assert_ne!(rec.expression, man.expression);
        let a = image::open(set.image_path(rec)).unwrap().to_rgb8();
        let b = image::open(set.image_path(man)).unwrap().to_rgb8();
        assert_eq!(a.dimensions(), (64, 64));
        assert_ne!(a.as_raw(), b.as_raw(), "{id}: the edit changed nothing");
    }
    // One unit smile direction per condition over the flattened W+ codes (8 × 512).
    for cond in ["NS", "WS"] {
        let b = npy::read(&out.join(format!("boundaries/{cond}.npy"))).unwrap();
        assert_eq!((b.rows, b.cols), (1, 8 * 512));
        let norm: f64 = b.data.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }
    // The classifier's probabilities for all 8 images, and Table 3 with both conditions.
    let probs = std::fs::read_to_string(out.join("classifier_probabilities.csv")).unwrap();
    let rows: Vec<&str> = probs.lines().skip(1).collect();
    assert_eq!(rows.len(), 8);
    for r in rows {
        let f: Vec<f64> = r.split(',').skip(5).map(|v| v.parse().unwrap()).collect();
        assert!((f.iter().sum::<f64>() - 1.0).abs() < 1e-4, "{r}");
    }
    let table = std::fs::read_to_string(out.join("table3.csv")).unwrap();
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.lines().nth(1).unwrap().starts_with("NS,2,"));

    // A rerun takes every code from the cache.
    let o = run(&["prepare", "--config", s(&config), "--device", "cpu"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("(0 codes computed, 8 from the cache)"));

    // `run` accepts the set.
    let study = dir.path().join("study.toml");
    std::fs::write(
        &study,
        "participant = \"P01\"\nstimulus_set = \"prepared/manifest.toml\"\n[timing]\nstimulus_ms = 100\nfixation_ms = 50\niti_ms = 50\n",
    )
    .unwrap();
    let rec = dir.path().join("r.h5");
    record_at_full_speed(&study, &rec);
    let r = et_recording::Recording::open(&rec).unwrap();
    assert!(r.header.complete);
    assert_eq!(r.trials.len(), 4);
    // And so does the demo (simulated participants, analysis with the set's mouth AOI).
    let manifest = out.join("manifest.toml");
    let demo = dir.path().join("demo");
    let o = run(&[
        "demo",
        "--stimuli",
        s(&manifest),
        "--participants",
        "2",
        "--out",
        s(&demo),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(demo.join("recordings/P02.h5").is_file());
}

#[test]
fn classifier_cross_validation_writes_fold_models_out_of_fold_predictions_and_table1() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("photos");
    std::fs::create_dir_all(&images).unwrap();
    let mut faces =
        String::from("image_name,bb_x1,bb_y1,bb_x2,bb_y2,x1,y1,x2,y2,x3,y3,x4,y4,x5,y5,score\n");
    let mut labels = String::from("image_name,label,group\n");
    for (c, class) in ["AS", "NS", "WS"].iter().enumerate() {
        for n in 0..4 {
            let name = format!("{class}Slide{n}.png");
            let e = if n % 2 == 0 {
                et_stimuli::Expression::Smile
            } else {
                et_stimuli::Expression::NoSmile
            };
            et_stimuli::default_set::draw_face(96, &format!("{class}-{n}"), e)
                .save(images.join(&name))
                .unwrap();
            let dx = (c * 2 + n) as f64 * 0.5;
            faces.push_str(&format!(
                "{name},0,0,96,96,{},40,{},40,48,55,{},70,{},70,0.99\n",
                30.0 + dx,
                66.0 + dx,
                35.0 + dx,
                61.0 + dx
            ));
            // Two photos of each person: a group never straddles folds.
            labels.push_str(&format!("{name},{class},{class}-{}\n", n / 2));
        }
    }
    std::fs::write(dir.path().join("facedet.csv"), faces).unwrap();
    std::fs::write(dir.path().join("labels.csv"), labels).unwrap();
    let out = dir.path().join("cv");
    let (facedet, labels_csv) = (
        dir.path().join("facedet.csv"),
        dir.path().join("labels.csv"),
    );
    let args = [
        "prepare",
        "classifier",
        "--images",
        s(&images),
        "--faces",
        s(&facedet),
        "--labels",
        s(&labels_csv),
        "--out",
        s(&out),
        "--classes",
        "AS,NS,WS",
        "--folds",
        "2",
        "--epochs",
        "1",
        "--batch",
        "4",
        "--lr",
        "1e-7",
        "--device",
        "cpu",
    ];
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("12 images, 2 folds"));
    for k in 1..=2 {
        assert!(out.join(format!("fold-{k}.safetensors")).is_file());
        let meta = std::fs::read_to_string(out.join(format!("fold-{k}.toml"))).unwrap();
        assert!(
            meta.contains("mean_bgr = [") && meta.contains("[[epoch]]"),
            "{meta}"
        );
    }
    let oof = std::fs::read_to_string(out.join("out_of_fold.csv")).unwrap();
    let rows: Vec<Vec<&str>> = oof
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 12);
    let fold_of = |name: &str| rows.iter().find(|r| r[0] == name).unwrap()[2].to_string();
    for class in ["AS", "NS", "WS"] {
        assert_eq!(
            fold_of(&format!("{class}Slide0.png")),
            fold_of(&format!("{class}Slide1.png"))
        );
        assert_eq!(
            fold_of(&format!("{class}Slide2.png")),
            fold_of(&format!("{class}Slide3.png"))
        );
    }
    for r in &rows {
        let p: f64 = r[4..].iter().map(|v| v.parse::<f64>().unwrap()).sum();
        assert!((p - 1.0).abs() < 1e-4);
    }
    let table = std::fs::read_to_string(out.join("table1.csv")).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 1 + 3 + 2, "{table}");
    assert!(
        lines[1].starts_with("AS,") && lines[1].ends_with(",4"),
        "{table}"
    );
    assert!(lines[5].starts_with("top-1 accuracy,"));
    // Trained models are never overwritten.
    assert_clean_error(&run(&args), "exists");
    // A label outside the classes names the line.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "image_name,label\nASSlide0.png,XX\n").unwrap();
    let mut args2 = args.to_vec();
    let out2 = dir.path().join("cv2");
    args2[7] = s(&bad);
    args2[9] = s(&out2);
    assert_clean_error(&run(&args2), "bad.csv: line 2");
}

#[test]
fn classifier_tables_from_out_of_fold_predictions_smile_labels_and_openface() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("oof.csv"),
        "image_name,label,fold,prediction,p_NS,p_WS\n\
         a.png,NS,1,NS,0.9,0.1\nb.png,NS,1,NS,0.8,0.2\nc.png,NS,2,WS,0.3,0.7\nd.png,NS,2,WS,0.2,0.8\n\
         e.png,WS,1,WS,0.3,0.7\nf.png,WS,2,NS,0.6,0.4\n",
    )
    .unwrap();
    std::fs::write(
        d.join("smile.csv"),
        "image_name,smile\na.png,1\nb.png,1\nc.png,0\nd.png,0\ne.png,1\nf.png,0\n",
    )
    .unwrap();
    let of = d.join("openface");
    std::fs::create_dir_all(&of).unwrap();
    for (stem, au6, au12) in [
        ("a", 1.2, 2.1),
        ("b", 0.9, 2.2),
        ("c", 0.1, 0.2),
        ("d", 0.0, 0.3),
        ("e", 1.1, 1.8),
        ("f", 0.2, 0.1),
    ] {
        // OpenFace pads its column names with a space.
        std::fs::write(
            of.join(format!("{stem}.csv")),
            format!("face, confidence, AU06_r, AU12_r\n0, 0.98, {au6}, {au12}\n"),
        )
        .unwrap();
    }
    let out = d.join("tables");
    let o = run(&[
        "prepare",
        "classifier-tables",
        "--predictions",
        s(&d.join("oof.csv")),
        "--smile",
        s(&d.join("smile.csv")),
        "--openface",
        s(&of),
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t2 = std::fs::read_to_string(out.join("table2.csv")).unwrap();
    let ns = t2.lines().nth(1).unwrap();
    // NS: smiling 0.85 and 2/2 correct; not smiling 0.25 and 0/2; Fisher p = 1/3, exact in
    // the CSV (people read it rounded in the report).
    assert!(ns.starts_with("NS,2,2,0.8500,0.2500,"), "{t2}");
    let fisher: f64 = ns.rsplit(',').next().unwrap().parse().unwrap();
    assert!(
        ns.contains(",1.0000,0.0000,") && (fisher - 1.0 / 3.0).abs() < 1e-12,
        "{t2}"
    );
    let f3 = std::fs::read_to_string(out.join("figure3.csv")).unwrap();
    // Levels: a 3.3→3, b 3.1→3, c 0.3→0, d 0.3→0, e 2.9→3, f 0.3→0.
    assert_eq!(
        f3,
        "au6_plus_au12,n,correct,top1\n0,3,0,0.0000\n3,3,3,1.0000\n"
    );
    let png = image::open(out.join("figure3.png")).unwrap();
    assert_eq!((png.width(), png.height()), (640, 400));
    // Titled, axes named with their units, each bar's accuracy and image count written.
    let svg = std::fs::read_to_string(out.join("figure3.svg")).unwrap();
    for text in [
        "Figure 3",
        "top-1 accuracy",
        "AU6 + AU12",
        "0 (n = 3)",
        "3 (n = 3)",
        "100 %",
    ] {
        assert!(svg.contains(text), "Figure 3 lacks {text:?}");
    }
}

/// `prepare boundary` on the planted codes with `scores` for scores.
fn boundary_with(dir: &std::path::Path, scores: &str) -> Vec<String> {
    let (codes, _) = write_inputs(dir);
    let short = dir.join("short.npy");
    npy::write_f32(&short, 10, 1, &[1.0; 10]).unwrap();
    std::fs::write(dir.join("junk.npy"), b"not numpy").unwrap();
    let codes = if scores == "junk codes" {
        dir.join("junk.npy")
    } else {
        codes
    };
    argv(["prepare", "boundary", "--codes", s(&codes), "--scores"])
        .into_iter()
        .chain([
            path_in(dir, "short.npy"),
            "--out".into(),
            path_in(dir, "b.npy"),
        ])
        .collect()
}

/// `prepare` on the tiny pipeline with `edit` applied to its config.
fn pipeline_with(
    dir: &std::path::Path,
    edit: impl Fn(String) -> String,
    device: &str,
) -> Vec<String> {
    let config = tiny_pipeline(dir);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, edit(text)).unwrap();
    argv(["prepare", "--config", s(&config), "--device", device])
}

error_rows! {
    boundary_with_scores_of_another_length: |d| boundary_with(d, "short")
        => "400 rows but scores have 10";
    boundary_with_codes_that_are_not_numpy: |d| boundary_with(d, "junk codes")
        => "junk.npy";
    pipeline_with_weights_of_another_generator_size: |d| {
        pipeline_with(d, |t| t.replace("size = 32\n", "size = 64\n"), "cpu")
    } => "hyperstyle.safetensors";
    pipeline_testing_a_condition_the_classifier_lacks: |d| {
        pipeline_with(d, |t| t.replace("[\"NS\", \"WS\"]", "[\"AS\", \"WS\"]"), "cpu")
    } => "condition NS of NS-01.png is not one of classifier.classes";
    pipeline_without_the_hyperstyle_weights: |d| {
        let cmd = pipeline_with(d, |t| t, "cpu");
        std::fs::remove_file(d.join("hyperstyle.safetensors")).unwrap();
        cmd
    } => "convert_hyperstyle.py";
    pipeline_with_a_label_for_an_image_that_is_not_there: |d| {
        let cmd = pipeline_with(d, |t| t, "cpu");
        std::fs::write(
            d.join("labels.csv"),
            "file,condition,smile,identity,test\nx.png,WS,1,WS-09,1\n",
        )
        .unwrap();
        cmd
    } => "x.png";
    pipeline_on_an_unknown_device: |d| pipeline_with(d, |t| t, "gpu")
        => "auto, cpu or cuda:N";
}
