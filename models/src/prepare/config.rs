//! `prepare.toml`: what `et-suite prepare --config` makes stimuli from. Paths are relative to
//! the config file's folder.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::classifier::preprocess::FOLD1_MEAN_BGR;
use et_files::{FileError, SettingError};

use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrepareConfig {
    /// Folder of aligned face images (FFHQ alignment, as HyperStyle expects).
    pub images: PathBuf,
    /// CSV with the columns file, condition, smile (1/0), identity, test (1/0).
    pub labels: PathBuf,
    /// Output folder: the stimulus set, the cache of codes, boundaries and tables.
    pub out: PathBuf,
    #[serde(default = "default_batch")]
    pub batch: usize,
    pub hyperstyle: HyperStyleSection,
    #[serde(default)]
    pub boundary: BoundarySection,
    #[serde(default)]
    pub edit: EditSection,
    #[serde(default)]
    pub aoi: AoiSection,
    pub classifier: Option<ClassifierSection>,
}

fn default_batch() -> usize {
    4
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HyperStyleSection {
    /// Converted weights (models/scripts/convert_hyperstyle.py).
    pub weights: PathBuf,
    #[serde(default = "default_size")]
    pub size: i64,
    #[serde(default = "default_input")]
    pub input_size: i64,
    /// Refinement iterations (HyperStyle's editing default: 3).
    #[serde(default = "default_iters")]
    pub n_iters: usize,
    /// Convolutions the hypernetwork offsets; absent: every non-to-RGB layer (the study's).
    pub layers_to_tune: Option<Vec<usize>>,
}

fn default_size() -> i64 {
    1024
}
fn default_input() -> i64 {
    256
}
fn default_iters() -> usize {
    3
}

/// InterfaceGAN's boundary search, with the settings the study's logs imply.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BoundarySection {
    pub ratio: f64,
    pub split: f64,
    pub seed: u64,
}

impl Default for BoundarySection {
    fn default() -> Self {
        BoundarySection {
            ratio: 0.5,
            split: 0.7,
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EditSection {
    /// How far the code moves along the unit smile normal, towards the other expression
    /// (the authors' editor offers 4·f; which f made the stimuli is not published).
    pub distance: f64,
    /// Written image size (px); the generator's output is resized to it.
    pub image_size: u32,
}

impl Default for EditSection {
    fn default() -> Self {
        EditSection {
            distance: 8.0,
            image_size: 1024,
        }
    }
}

/// The mouth AOI as an ellipse in fractions of the image (centre x, y; radii x, y). The
/// default fits FFHQ-aligned faces (as the default set's).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AoiSection {
    pub mouth: [f64; 4],
}

impl Default for AoiSection {
    fn default() -> Self {
        AoiSection {
            mouth: [0.5, 742.0 / 1024.0, 165.0 / 1024.0, 95.0 / 1024.0],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierSection {
    /// One converted model per cross-validation fold; probabilities are averaged over them.
    pub weights: Vec<PathBuf>,
    /// The class names in the head's order (the study's 12 by default).
    #[serde(default = "default_classes")]
    pub classes: Vec<String>,
    /// The input mean for models without a `fold-K.toml` beside them (which gives each
    /// fold's own training mean).
    #[serde(default = "default_mean")]
    pub mean_bgr: [f32; 3],
    /// Where the five landmarks (eyes, nose tip, mouth corners) sit on the generated images,
    /// in fractions of the image: the prepared faces are aligned, so one template serves all.
    #[serde(default = "default_template")]
    pub landmarks: [[f64; 2]; 5],
}

/// The study's classes (label order of `NIHFacesDataset`).
pub const STUDY_CLASSES: [&str; 12] = [
    "22q11DS",
    "Angelman",
    "BWS",
    "CdLS",
    "Down",
    "KS",
    "NS",
    "PWS",
    "RSTS1",
    "Unaffected",
    "WHS",
    "WS",
];

fn default_classes() -> Vec<String> {
    STUDY_CLASSES.iter().map(|s| s.to_string()).collect()
}
fn default_mean() -> [f32; 3] {
    FOLD1_MEAN_BGR
}
/// Typical FFHQ-aligned landmark positions (fractions of the image).
fn default_template() -> [[f64; 2]; 5] {
    [
        [0.385, 0.480],
        [0.615, 0.480],
        [0.500, 0.600],
        [0.405, 0.715],
        [0.595, 0.715],
    ]
}

impl PrepareConfig {
    /// Reads and checks `path`; relative paths become relative to its folder.
    pub fn load(path: &Path) -> Result<PrepareConfig> {
        const WHAT: &str = "prepare config";
        let mut c: PrepareConfig = et_files::toml_file::load(path, WHAT)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut c.images);
        fix(&mut c.labels);
        fix(&mut c.out);
        fix(&mut c.hyperstyle.weights);
        if let Some(cl) = &mut c.classifier {
            cl.weights.iter_mut().for_each(fix);
        }
        c.validate().map_err(FileError::setting(path, WHAT))?;
        Ok(c)
    }

    fn validate(&self) -> std::result::Result<(), SettingError> {
        let refuse = |key: &str, m: String| Err(SettingError::new(key, m));
        if self.batch == 0 {
            return refuse("batch", "batch must be at least 1".into());
        }
        if self.hyperstyle.n_iters == 0 {
            return refuse(
                "hyperstyle.n_iters",
                "hyperstyle.n_iters must be at least 1".into(),
            );
        }
        if !(self.edit.distance.is_finite() && self.edit.distance > 0.0) {
            return refuse(
                "edit.distance",
                format!("edit.distance must be positive, got {}", self.edit.distance),
            );
        }
        if self.edit.image_size < 16 {
            return refuse(
                "edit.image_size",
                format!(
                    "edit.image_size must be at least 16 px, got {}",
                    self.edit.image_size
                ),
            );
        }
        if let Some(c) = &self.classifier {
            if c.weights.is_empty() {
                return refuse(
                    "classifier.weights",
                    "classifier.weights lists no model".into(),
                );
            }
            if c.classes.len() < 2 {
                return refuse(
                    "classifier.classes",
                    "classifier.classes needs at least two classes".into(),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's `prepare.toml` parses (unknown keys are refused) and passes `validate`,
    /// so the documented sample cannot drift from the declaration.
    #[test]
    fn the_readme_prepare_config_parses() {
        let readme = include_str!("../../../README.md");
        let after = readme
            .split_once("`prepare.toml` (paths relative to it):")
            .expect("README documents prepare.toml")
            .1;
        let block = after
            .split_once("```toml\n")
            .and_then(|(_, rest)| rest.split_once("\n```"))
            .expect("a toml block")
            .0;
        let cfg: PrepareConfig =
            et_files::toml_file::parse(block, Path::new("README.md"), "prepare config")
                .unwrap_or_else(|e| panic!("{e}"));
        cfg.validate().unwrap();
        assert_eq!(cfg.batch, 4);
        assert!(cfg.classifier.is_some());
        assert_eq!(
            cfg.aoi,
            AoiSection::default(),
            "README's [aoi] is not the default"
        );
        // Every section and key the declaration has is named in the block (set or commented).
        for key in [
            "images",
            "labels",
            "out",
            "batch",
            "[hyperstyle]",
            "weights",
            "size",
            "input_size",
            "n_iters",
            "layers_to_tune",
            "[boundary]",
            "ratio",
            "split",
            "seed",
            "[edit]",
            "distance",
            "image_size",
            "[aoi]",
            "mouth",
            "[classifier]",
            "classes",
            "mean_bgr",
            "landmarks",
        ] {
            assert!(
                block.contains(key),
                "README's prepare.toml does not name {key}"
            );
        }
    }
}
