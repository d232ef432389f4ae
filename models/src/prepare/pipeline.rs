//! The steps of `prepare`, in order; each reports progress through a callback so the CLI can
//! draw bars.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::RgbImage;
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

use super::config::PrepareConfig;
use super::labels::{self, LabelRow};
use crate::classifier::{preprocess, CaffeResnet50};
use crate::error::{ModelError, Result};
use crate::hyperstyle::{to_u8, HyperStyle, HyperStyleConfig, HypernetConfig};
use crate::interfacegan::{train_boundary, BoundaryOptions};
use crate::npy::{self, Matrix};
use crate::stylegan2::GeneratorConfig;
use crate::weights::{self, WeightKind};
use et_stimuli::Variant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Inverting every image (cached codes are skipped).
    Invert,
    /// Decoding reconstructed and manipulated test faces.
    Edit,
    /// Scoring both versions with the classifier.
    Classify,
}

/// One written stimulus image.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedImage {
    pub id: String,
    pub identity: String,
    pub condition: String,
    pub variant: Variant,
    pub smile: bool,
    /// Relative to the output folder.
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConditionBoundary {
    pub condition: String,
    pub images: usize,
    pub smiling: usize,
    pub train_accuracy: f64,
    pub val_accuracy: Option<f64>,
    pub path: PathBuf,
}

#[derive(Debug)]
pub struct PrepareOutcome {
    pub images: Vec<PreparedImage>,
    pub boundaries: Vec<ConditionBoundary>,
    /// The classifier's probabilities per image (fold average), in `images` order, when
    /// fold models were given.
    pub probabilities: Option<Vec<Vec<f64>>>,
    /// Codes read from the cache / computed now.
    pub cached: usize,
    pub inverted: usize,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        path: path.into(),
        source,
    }
}

fn image_err(path: &Path, e: impl std::fmt::Display) -> ModelError {
    ModelError::Image {
        path: path.into(),
        message: e.to_string(),
    }
}

/// Runs the pipeline; `progress(stage, done, total)` after every batch.
pub fn run(
    cfg: &PrepareConfig,
    device: Device,
    progress: &dyn Fn(Stage, usize, usize),
) -> Result<PrepareOutcome> {
    let rows = labels::read(&cfg.labels)?;
    for r in &rows {
        let p = cfg.images.join(&r.file);
        if !p.is_file() {
            return Err(ModelError::Invalid(format!(
                "{}: lists {}, which is not in {}",
                cfg.labels.display(),
                r.file,
                cfg.images.display()
            )));
        }
    }
    let tests: Vec<&LabelRow> = rows.iter().filter(|r| r.test).collect();
    let mut seen = BTreeMap::new();
    for t in &tests {
        // Stimulus ids are "<identity>-reconstructed" in 63-byte recording fields.
        if t.identity.len() > 63 - "-reconstructed".len() {
            return Err(ModelError::Invalid(format!(
                "{}: identity {:?} is longer than 49 bytes (stimulus ids must fit the recording's 63-byte field)",
                cfg.labels.display(),
                t.identity
            )));
        }
        if let Some(other) = seen.insert(t.identity.as_str(), t.file.as_str()) {
            return Err(ModelError::Invalid(format!(
                "{}: identity {} has two test images ({other} and {}); one per face",
                cfg.labels.display(),
                t.identity,
                t.file
            )));
        }
    }
    if let Some(c) = &cfg.classifier {
        if let Some(t) = tests.iter().find(|t| !c.classes.contains(&t.condition)) {
            return Err(ModelError::Invalid(format!(
                "{}: condition {} of {} is not one of classifier.classes ({})",
                cfg.labels.display(),
                t.condition,
                t.file,
                c.classes.join(", ")
            )));
        }
    }
    let hs = &cfg.hyperstyle;
    let generator = GeneratorConfig {
        size: hs.size,
        ..GeneratorConfig::default()
    };
    let hypernet = match &hs.layers_to_tune {
        Some(l) => HypernetConfig {
            layers_to_tune: l.clone(),
            input_nc: 6,
        },
        None => HypernetConfig::for_generator(&generator),
    };
    let mut vs = VarStore::new(device);
    let net = HyperStyle::new(
        &vs.root(),
        HyperStyleConfig {
            generator,
            hypernet,
            input_size: hs.input_size,
        },
    )?;
    weights::load(&mut vs, &hs.weights, WeightKind::HyperStyle)?;
    let _guard = tch::no_grad_guard();
    // The output folders only once every input has been read: a refused run leaves nothing.
    for dir in ["cache/codes", "boundaries", "images"] {
        let d = cfg.out.join(dir);
        std::fs::create_dir_all(&d).map_err(io(&d))?;
    }

    // 1. Codes for every image (cached).
    let (n_latent, dim) = (generator.n_latent(), generator.style_dim);
    // One flat folder: images listed in subfolders get their path joined by "__".
    let cache = |r: &LabelRow| {
        let flat = r.file.replace(['/', '\\'], "__");
        cfg.out.join("cache/codes").join(format!("{flat}.npy"))
    };
    let mut codes: Vec<Option<Vec<f64>>> = rows
        .iter()
        .map(|r| {
            npy::read(&cache(r))
                .ok()
                .filter(|m| m.rows as i64 == n_latent && m.cols as i64 == dim)
                .map(|m| m.data)
        })
        .collect();
    let cached = codes.iter().filter(|c| c.is_some()).count();
    let todo: Vec<usize> = (0..rows.len()).filter(|&i| codes[i].is_none()).collect();
    let mut done = 0;
    for chunk in todo.chunks(cfg.batch) {
        let x = load_batch(cfg, &rows, chunk, hs.input_size, device)?;
        let inv = net.invert(&x, hs.n_iters)?;
        for (k, &i) in chunk.iter().enumerate() {
            let c: Vec<f32> = Vec::<f32>::try_from(
                inv.codes
                    .get(k as i64)
                    .to_device(Device::Cpu)
                    .flatten(0, -1),
            )?;
            npy::write_f32(&cache(&rows[i]), n_latent as usize, dim as usize, &c)?;
            codes[i] = Some(c.into_iter().map(f64::from).collect());
        }
        done += chunk.len();
        progress(Stage::Invert, done, todo.len());
    }

    // 2. A smile direction per condition.
    let mut by_condition: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        by_condition
            .entry(r.condition.as_str())
            .or_default()
            .push(i);
    }
    let d = (n_latent * dim) as usize;
    let mut normals: BTreeMap<String, Tensor> = BTreeMap::new();
    let mut boundaries = Vec::new();
    for (condition, idx) in &by_condition {
        let smiling = idx.iter().filter(|&&i| rows[i].smile).count();
        if smiling == 0 || smiling == idx.len() {
            return Err(ModelError::Invalid(format!(
                "{}: condition {condition} needs smiling and non-smiling images to find a smile direction ({smiling} of {} smile)",
                cfg.labels.display(),
                idx.len()
            )));
        }
        let mut data = Vec::with_capacity(idx.len() * d);
        for &i in idx {
            data.extend(codes[i].iter().flatten());
        }
        let m = Matrix {
            rows: idx.len(),
            cols: d,
            data,
        };
        let s = Matrix {
            rows: idx.len(),
            cols: 1,
            data: idx
                .iter()
                .map(|&i| f64::from(u8::from(rows[i].smile)))
                .collect(),
        };
        let opt = BoundaryOptions {
            ratio: cfg.boundary.ratio,
            split: cfg.boundary.split,
            seed: cfg.boundary.seed,
            ..BoundaryOptions::default()
        };
        let b = train_boundary(&m, &s, &opt).map_err(|e| {
            ModelError::Invalid(format!("condition {condition}: no smile direction: {e}"))
        })?;
        let path = cfg.out.join("boundaries").join(format!("{condition}.npy"));
        npy::write_f32(&path, 1, d, &b.normal)?;
        normals.insert(
            condition.to_string(),
            Tensor::from_slice(&b.normal)
                .reshape([1, n_latent, dim])
                .to_device(device),
        );
        boundaries.push(ConditionBoundary {
            condition: condition.to_string(),
            images: idx.len(),
            smiling,
            train_accuracy: b.train_accuracy,
            val_accuracy: b.val_accuracy,
            path,
        });
    }

    // 3. Reconstructed and manipulated test faces.
    let test_idx: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].test).collect();
    let mut images = Vec::new();
    let mut done = 0;
    for chunk in test_idx.chunks(cfg.batch) {
        let x = load_batch(cfg, &rows, chunk, hs.input_size, device)?;
        let inv = net.invert(&x, hs.n_iters)?;
        for (k, &i) in chunk.iter().enumerate() {
            let r = &rows[i];
            let k = k as i64;
            // Towards the other expression: a smiling face loses its smile and vice versa.
            let sign = if r.smile { -1.0 } else { 1.0 };
            let code = inv.codes.get(k).unsqueeze(0);
            let edited = &code + &normals[&r.condition] * (sign * cfg.edit.distance);
            let deltas: Vec<Option<Tensor>> = inv
                .deltas
                .iter()
                .map(|d| d.as_ref().map(|d| d.get(k).unsqueeze(0)))
                .collect();
            let manipulated = net.decode(&edited, &deltas)?;
            for (variant, img) in [
                (Variant::Reconstructed, inv.image.get(k)),
                (Variant::Manipulated, manipulated.get(0)),
            ] {
                let id = format!("{}-{}", r.identity, variant.as_str());
                let rel = PathBuf::from("images").join(format!("{id}.png"));
                save_png(&img, cfg.edit.image_size, &cfg.out.join(&rel))?;
                images.push(PreparedImage {
                    id,
                    identity: r.identity.clone(),
                    condition: r.condition.clone(),
                    variant,
                    smile: (variant == Variant::Reconstructed) == r.smile,
                    path: rel,
                });
            }
        }
        done += chunk.len();
        progress(Stage::Edit, done, test_idx.len());
    }

    // 4. The classifier's view of both versions.
    let probabilities = match &cfg.classifier {
        Some(c) => Some(classify(cfg, c, &images, device, progress)?),
        None => None,
    };
    Ok(PrepareOutcome {
        images,
        boundaries,
        probabilities,
        cached,
        inverted: todo.len(),
    })
}

/// Images resized to the networks' input and scaled to [-1, 1] (HyperStyle's
/// `EncodeTransforms`: Resize, ToTensor, Normalize(0.5, 0.5)).
fn load_batch(
    cfg: &PrepareConfig,
    rows: &[LabelRow],
    idx: &[usize],
    n: i64,
    device: Device,
) -> Result<Tensor> {
    let mut all = Vec::with_capacity(idx.len() * (3 * n * n) as usize);
    for &i in idx {
        let p = cfg.images.join(&rows[i].file);
        let img = image::open(&p).map_err(|e| image_err(&p, e))?.to_rgb8();
        let img = image::imageops::resize(&img, n as u32, n as u32, FilterType::Triangle);
        for c in 0..3 {
            all.extend(img.pixels().map(|px| f32::from(px[c]) / 127.5 - 1.0));
        }
    }
    Ok(Tensor::from_slice(&all)
        .reshape([idx.len() as i64, 3, n, n])
        .to_device(device))
}

/// A [3, H, W] image in [-1, 1] → PNG at `size` px, written to a temporary name then renamed.
fn save_png(img: &Tensor, size: u32, path: &Path) -> Result<()> {
    let u = to_u8(img)
        .permute([1, 2, 0])
        .contiguous()
        .to_device(Device::Cpu);
    let (h, w) = (u.size()[0] as u32, u.size()[1] as u32);
    let bytes = Vec::<u8>::try_from(u.flatten(0, -1))?;
    let rgb =
        RgbImage::from_raw(w, h, bytes).ok_or_else(|| image_err(path, "wrong buffer size"))?;
    let rgb = if (w, h) == (size, size) {
        rgb
    } else {
        image::imageops::resize(&rgb, size, size, FilterType::Lanczos3)
    };
    let tmp = path.with_extension("png.part");
    rgb.save_with_format(&tmp, image::ImageFormat::Png)
        .map_err(|e| image_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// The training mean a fold model was centred with (`fold-K.toml` beside `fold-K.safetensors`,
/// as `prepare classifier` writes them); `None` without one (weights trained elsewhere), an
/// error for one that cannot be read (a model centred on another mean classifies wrongly).
fn fold_mean(weights: &Path) -> Result<Option<[f32; 3]>> {
    #[derive(serde::Deserialize)]
    struct Meta {
        mean_bgr: [f32; 3],
    }
    let meta = weights.with_extension("toml");
    if !meta.exists() {
        return Ok(None);
    }
    let m: Meta = et_files::toml_file::load(&meta, "fold model's training mean")?;
    Ok(Some(m.mean_bgr))
}

fn classify(
    cfg: &PrepareConfig,
    c: &super::config::ClassifierSection,
    images: &[PreparedImage],
    device: Device,
    progress: &dyn Fn(Stage, usize, usize),
) -> Result<Vec<Vec<f64>>> {
    let n_classes = c.classes.len() as i64;
    let mut models = Vec::new();
    for w in &c.weights {
        let mut vs = VarStore::new(device);
        let m = CaffeResnet50::new(&vs.root(), n_classes);
        weights::load(&mut vs, w, WeightKind::Classifier)?;
        models.push((vs, m, fold_mean(w)?.unwrap_or(c.mean_bgr)));
    }
    let mut probs: Vec<Vec<f64>> = Vec::new();
    for (k, im) in images.iter().enumerate() {
        let path = cfg.out.join(&im.path);
        let img = image::open(&path)
            .map_err(|e| image_err(&path, e))?
            .to_rgb8();
        let (w, h) = (f64::from(img.width()), f64::from(img.height()));
        let lm = c.landmarks.map(|p| [p[0] * w, p[1] * h]);
        let m = preprocess::alignment(&lm).ok_or_else(|| {
            ModelError::Invalid("classifier.landmarks: degenerate template".into())
        })?;
        let aligned = preprocess::warp(&img, &m, preprocess::SIZE)
            .ok_or_else(|| image_err(&path, "cannot align"))?;
        let mut sum = Tensor::zeros([1, n_classes], (Kind::Float, device));
        for (_, m, mean) in &models {
            let x = preprocess::to_input(&aligned, *mean)
                .unsqueeze(0)
                .to_device(device);
            sum += m.forward_t(&x, false).softmax(-1, Kind::Float);
        }
        let p = Vec::<f64>::try_from(
            (sum / models.len() as f64)
                .to_kind(Kind::Double)
                .to_device(Device::Cpu)
                .flatten(0, -1),
        )?;
        probs.push(p);
        progress(Stage::Classify, k + 1, images.len());
    }
    // Per-image probabilities, then Table 3.
    let mut csv = String::from("id,identity,condition,variant,smile");
    for name in &c.classes {
        csv.push_str(&format!(",p_{name}"));
    }
    csv.push('\n');
    for (im, p) in images.iter().zip(&probs) {
        csv.push_str(&format!(
            "{},{},{},{},{}",
            im.id,
            im.identity,
            im.condition,
            im.variant.as_str(),
            u8::from(im.smile)
        ));
        for v in p {
            csv.push_str(&format!(",{v:.6}"));
        }
        csv.push('\n');
    }
    let csv_path = cfg.out.join("classifier_probabilities.csv");
    std::fs::write(&csv_path, csv).map_err(io(&csv_path))?;
    Ok(probs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fold model's training mean: absent is none (weights trained elsewhere), present is
    /// read, and one that cannot be read is an error, never the config's mean in silence.
    #[test]
    fn a_fold_models_mean_is_read_or_refused() {
        let dir = tempfile::tempdir().unwrap();
        let w = dir.path().join("fold-1.safetensors");
        assert_eq!(fold_mean(&w).unwrap(), None);
        std::fs::write(w.with_extension("toml"), "mean_bgr = [1.0, 2.0, 3.0]\n").unwrap();
        assert_eq!(fold_mean(&w).unwrap(), Some([1.0, 2.0, 3.0]));
        std::fs::write(w.with_extension("toml"), "mean_bgr = [1.0, 2.0]\n").unwrap();
        let e = fold_mean(&w).unwrap_err().to_string();
        assert!(e.contains("fold-1.toml: line 1"), "{e}");
    }
}
