//! The prepared images as a stimulus set: what `run` and `demo` read; and, when the classifier
//! scored them, each image's probability of its true condition (the paper's Table 3 compares
//! those of the reconstructed and manipulated versions).

use std::path::PathBuf;

use super::config::PrepareConfig;
use super::pipeline::{PrepareOutcome, PreparedImage};
use crate::error::{ModelError, Result};

/// Writes `manifest.toml` of the prepared images into the output folder, checked first as
/// `run` will read it, and returns its path.
pub fn write_manifest(cfg: &PrepareConfig, images: &[PreparedImage]) -> Result<PathBuf> {
    let path = cfg.out.join("manifest.toml");
    let text = stimulus_set(cfg, images).to_toml();
    et_stimuli::StimulusSet::from_toml_str(&text, &path.display().to_string())?;
    std::fs::write(&path, text).map_err(|source| ModelError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// One prepared image's probability of its true condition (the fold models' average).
#[derive(Debug, Clone, PartialEq)]
pub struct TrueConditionScore {
    pub condition: String,
    pub identity: String,
    pub manipulated: bool,
    pub probability: f64,
}

/// Each image's probability of its true condition, in `images` order; `None` when no fold
/// models scored them. An image whose condition is not one of `classifier.classes` is an error.
pub fn true_condition_scores(
    cfg: &PrepareConfig,
    out: &PrepareOutcome,
) -> Result<Option<Vec<TrueConditionScore>>> {
    let (Some(probs), Some(c)) = (&out.probabilities, &cfg.classifier) else {
        return Ok(None);
    };
    out.images
        .iter()
        .zip(probs)
        .map(|(im, p)| {
            let class = c.classes.iter().position(|k| *k == im.condition);
            let probability = class.and_then(|k| p.get(k)).ok_or_else(|| {
                ModelError::Invalid(format!(
                    "condition {} is not one of classifier.classes ({})",
                    im.condition,
                    c.classes.join(", ")
                ))
            })?;
            Ok(TrueConditionScore {
                condition: im.condition.clone(),
                identity: im.identity.clone(),
                manipulated: im.variant == et_stimuli::Variant::Manipulated,
                probability: *probability,
            })
        })
        .collect::<Result<_>>()
        .map(Some)
}

/// The manifest of the written images, with the mouth AOI of `[aoi]` in pixels.
pub fn stimulus_set(cfg: &PrepareConfig, images: &[PreparedImage]) -> et_stimuli::StimulusSet {
    let size = cfg.edit.image_size;
    let [cx, cy, rx, ry] = cfg.aoi.mouth;
    let s = f64::from(size);
    et_stimuli::StimulusSet {
        name: format!("prepared from {}", cfg.labels.display()),
        image_width: size,
        image_height: size,
        landmarks: None,
        aois: vec![et_stimuli::Aoi {
            name: "mouth".into(),
            shape: et_stimuli::AoiShape::Ellipse {
                cx: cx * s,
                cy: cy * s,
                rx: rx * s,
                ry: ry * s,
            },
        }],
        stimuli: images
            .iter()
            .map(|i| et_stimuli::Stimulus {
                id: i.id.clone(),
                image: i.path.clone(),
                identity: i.identity.clone(),
                condition: i.condition.clone(),
                variant: i.variant,
                expression: if i.smile {
                    et_stimuli::Expression::Smile
                } else {
                    et_stimuli::Expression::NoSmile
                },
                aois: Vec::new(),
            })
            .collect(),
        root: cfg.out.clone(),
    }
}
