//! Cross-validated training of the classifier, as the study evaluated it: stratified grouped
//! folds, one model per fold trained on the other folds (the authors validated on the held-out
//! fold; so do we), out-of-fold predictions for every image, and Table 1 from them. Writes
//! `fold-K.safetensors` + `fold-K.toml` (mean, best epoch, log), `out_of_fold.csv`,
//! `table1.csv`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use image::RgbImage;
use tch::Device;

use super::folds::stratified_group_kfold;
use super::metrics::{report, Report};
use super::preprocess::{alignment, warp, SIZE};
use super::train::{predict, train_fold, TrainOptions};
use crate::error::{ModelError, Result};
use et_files::csv_table::Table;

pub struct CvInput {
    pub images: PathBuf,
    /// `facedet.csv`-style: image_name and x1,y1 … x5,y5 (eyes, nose, mouth corners).
    pub faces: PathBuf,
    /// image_name, label (a class name) and optionally group (related images share one).
    pub labels: PathBuf,
    pub out: PathBuf,
    pub classes: Vec<String>,
    pub trunk: Option<PathBuf>,
    pub folds: usize,
    pub train: TrainOptions,
}

pub struct CvOutcome {
    pub report: Report,
    pub best_epochs: Vec<usize>,
    pub n_images: usize,
}

/// Every image: its name, the aligned face, its class and its group.
struct Loaded {
    names: Vec<String>,
    images: Vec<RgbImage>,
    labels: Vec<usize>,
    groups: Vec<String>,
}

/// Reads, aligns (5-point similarity to 224 px) and labels every image.
fn load(input: &CvInput) -> Result<Loaded> {
    let faces = Table::read(&input.faces)?;
    let name_f = faces.column("image_name")?;
    let mut coords = Vec::new();
    for k in 1..=5 {
        coords.push((
            faces.column(&format!("x{k}"))?,
            faces.column(&format!("y{k}"))?,
        ));
    }
    let mut landmarks: BTreeMap<String, [[f64; 2]; 5]> = BTreeMap::new();
    for row in &faces.rows {
        let (line, r) = (row.line, &row.fields);
        let bad = |m: String| ModelError::from(faces.at(line, m));
        let get = |c: usize| -> Result<f64> {
            r.get(c)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad(format!("column {} is not a number", faces.header[c])))
        };
        let mut lm = [[0.0; 2]; 5];
        for (k, (cx, cy)) in coords.iter().enumerate() {
            lm[k] = [get(*cx)?, get(*cy)?];
        }
        let name = r.get(name_f).cloned().unwrap_or_default();
        landmarks.insert(name, lm);
    }
    let table = Table::read(&input.labels)?;
    let name_l = table.column("image_name")?;
    let label_l = table.column("label")?;
    let group_l = table.column("group").ok();
    let (mut names, mut images, mut labels, mut groups) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in &table.rows {
        let (line, r) = (row.line, &row.fields);
        let bad = |m: String| ModelError::from(table.at(line, m));
        let name = r.get(name_l).cloned().unwrap_or_default();
        let label = r.get(label_l).cloned().unwrap_or_default();
        let class = input
            .classes
            .iter()
            .position(|c| *c == label)
            .ok_or_else(|| {
                bad(format!(
                    "label {label:?} is not one of the classes ({})",
                    input.classes.join(", ")
                ))
            })?;
        let lm = landmarks.get(&name).ok_or_else(|| {
            bad(format!(
                "{name} has no landmarks in {}",
                input.faces.display()
            ))
        })?;
        let path = input.images.join(&name);
        let img = image::open(&path)
            .map_err(|e| ModelError::Image {
                path: path.clone(),
                message: e.to_string(),
            })?
            .to_rgb8();
        let m = alignment(lm).ok_or_else(|| bad(format!("{name}: degenerate landmarks")))?;
        let aligned = warp(&img, &m, SIZE).ok_or_else(|| bad(format!("{name}: cannot align")))?;
        groups.push(
            group_l
                .and_then(|g| r.get(g).cloned())
                .unwrap_or_else(|| name.clone()),
        );
        names.push(name);
        images.push(aligned);
        labels.push(class);
    }
    if names.is_empty() {
        return Err(ModelError::Invalid(format!(
            "{}: no images",
            input.labels.display()
        )));
    }
    Ok(Loaded {
        names,
        images,
        labels,
        groups,
    })
}

pub fn run(
    input: &CvInput,
    device: Device,
    progress: &dyn Fn(usize, usize, usize),
) -> Result<CvOutcome> {
    let table = input.out.join("table1.csv");
    if table.exists() {
        return Err(ModelError::Invalid(format!(
            "{}: exists; choose another --out (trained models are never overwritten)",
            table.display()
        )));
    }
    std::fs::create_dir_all(&input.out).map_err(|source| ModelError::Io {
        path: input.out.clone(),
        source,
    })?;
    let Loaded {
        names,
        images,
        labels,
        groups,
    } = load(input)?;
    let fold = stratified_group_kfold(&labels, &groups, input.folds, Some(input.train.seed))?;
    let n_classes = input.classes.len();
    let mut oof: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut best_epochs = Vec::new();
    for k in 0..input.folds {
        let val: Vec<usize> = (0..names.len()).filter(|&i| fold[i] == k).collect();
        let train: Vec<usize> = (0..names.len()).filter(|&i| fold[i] != k).collect();
        let m = train_fold(
            &images,
            &labels,
            &train,
            &val,
            n_classes,
            input.trunk.as_deref(),
            &input.train,
            device,
            &|e, n| progress(k, e, n),
        )?;
        let stem = input.out.join(format!("fold-{}", k + 1));
        m.vs.save(stem.with_extension("safetensors"))?;
        let mut meta = format!(
            "# Fold {} of {}: trained on {} images, validated on {}.\nmean_bgr = [{}, {}, {}]\nbest_epoch = {}\n",
            k + 1,
            input.folds,
            train.len(),
            val.len(),
            m.mean_bgr[0],
            m.mean_bgr[1],
            m.mean_bgr[2],
            m.best_epoch
        );
        for l in &m.log {
            meta.push_str(&format!(
                "[[epoch]]\nepoch = {}\nlr = {:e}\ntrain_loss = {}\nval_loss = {}\nval_accuracy = {}\n",
                l.epoch, l.lr, l.train_loss, l.val_loss, l.val_accuracy
            ));
        }
        let meta_path = stem.with_extension("toml");
        std::fs::write(&meta_path, meta).map_err(|source| ModelError::Io {
            path: meta_path,
            source,
        })?;
        let refs: Vec<&RgbImage> = val.iter().map(|&i| &images[i]).collect();
        for (i, p) in val.iter().zip(predict(&m, &refs, device)?) {
            oof[*i] = p;
        }
        best_epochs.push(m.best_epoch);
    }
    let predicted: Vec<usize> = oof
        .iter()
        .map(|p| {
            p.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(c, _)| c)
        })
        .collect();
    let mut csv = String::from("image_name,label,fold,prediction");
    for c in &input.classes {
        csv.push_str(&format!(",p_{c}"));
    }
    csv.push('\n');
    for i in 0..names.len() {
        csv.push_str(&format!(
            "{},{},{},{}",
            names[i],
            input.classes[labels[i]],
            fold[i] + 1,
            input.classes[predicted[i]]
        ));
        for v in &oof[i] {
            csv.push_str(&format!(",{v:.6}"));
        }
        csv.push('\n');
    }
    let oof_path = input.out.join("out_of_fold.csv");
    std::fs::write(&oof_path, csv).map_err(|source| ModelError::Io {
        path: oof_path,
        source,
    })?;
    let r = report(&labels, &predicted, n_classes);
    std::fs::write(&table, r.to_csv(&input.classes)).map_err(|source| ModelError::Io {
        path: table.clone(),
        source,
    })?;
    Ok(CvOutcome {
        report: r,
        best_epochs,
        n_images: names.len(),
    })
}
