//! The stimulus-set manifest (TOML): images, their condition/variant/expression/identity, AOIs.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use et_files::{FileError, SettingError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::aoi::Aoi;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    Reconstructed,
    Manipulated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expression {
    Smile,
    NoSmile,
}

impl Variant {
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Reconstructed => "reconstructed",
            Variant::Manipulated => "manipulated",
        }
    }
}

impl Expression {
    pub fn as_str(self) -> &'static str {
        match self {
            Expression::Smile => "smile",
            Expression::NoSmile => "no_smile",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "smile" => Some(Expression::Smile),
            "no_smile" => Some(Expression::NoSmile),
            _ => None,
        }
    }
}

/// Face landmarks shared by every image of an aligned set (image px).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Landmarks {
    pub left_eye: [f64; 2],
    pub right_eye: [f64; 2],
    pub nose: [f64; 2],
    pub mouth: [f64; 2],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stimulus {
    /// Unique within the set; at most 63 bytes (it is stored in fixed-length HDF5 fields).
    pub id: String,
    /// Path relative to the manifest.
    pub image: PathBuf,
    /// The person shown; both versions of a face share it.
    pub identity: String,
    pub condition: String,
    pub variant: Variant,
    pub expression: Expression,
    /// AOIs for this stimulus only, in addition to the set's global ones.
    #[serde(default, rename = "aoi", skip_serializing_if = "Vec::is_empty")]
    pub aois: Vec<Aoi>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StimulusSet {
    pub name: String,
    pub image_width: u32,
    pub image_height: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landmarks: Option<Landmarks>,
    /// AOIs that apply to every stimulus.
    #[serde(default, rename = "aoi")]
    pub aois: Vec<Aoi>,
    #[serde(rename = "stimulus")]
    pub stimuli: Vec<Stimulus>,
    /// Folder the image paths are relative to (not part of the TOML).
    #[serde(skip)]
    pub root: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A file that cannot be read, a manifest that is not valid TOML (its line), or a
    /// setting in it out of bounds.
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: image: {message}")]
    Image { path: PathBuf, message: String },
}

const MAX_FIELD_BYTES: usize = 63;

impl StimulusSet {
    /// Reads and validates a manifest, and checks that every image it names exists.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
            path: path.to_path_buf(),
            what: "stimulus manifest",
            source,
        })?;
        let mut set = Self::from_toml_str(&text, &path.display().to_string())?;
        set.root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let root = set.root.clone();
        for a in set
            .aois
            .iter_mut()
            .chain(set.stimuli.iter_mut().flat_map(|s| s.aois.iter_mut()))
        {
            a.load_mask(&root).map_err(|e| ManifestError::Invalid {
                origin: path.display().to_string(),
                message: e.to_string(),
            })?;
        }
        for s in &set.stimuli {
            let p = set.image_path(s);
            if !p.is_file() {
                return Err(ManifestError::Invalid {
                    origin: path.display().to_string(),
                    message: format!("stimulus '{}': image {} does not exist", s.id, p.display()),
                });
            }
        }
        Ok(set)
    }

    /// Parses and validates manifest text; `origin` names it in errors. Images are not checked.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ManifestError> {
        const WHAT: &str = "stimulus manifest";
        let origin = Path::new(origin);
        let set: StimulusSet = et_files::toml_file::parse(text, origin, WHAT)?;
        set.validate().map_err(FileError::setting(origin, WHAT))?;
        Ok(set)
    }

    pub fn to_toml(&self) -> String {
        // Serialising plain data to TOML cannot fail for this struct (no maps with non-string
        // keys, no NaN-only values); fall back to an empty string rather than panic.
        toml::to_string_pretty(self).unwrap_or_default()
    }

    fn validate(&self) -> Result<(), SettingError> {
        if self.image_width == 0 || self.image_height == 0 {
            return Err(SettingError::new(
                "image_width",
                format!(
                    "image_width and image_height must be positive, got {}x{}",
                    self.image_width, self.image_height
                ),
            ));
        }
        if self.stimuli.is_empty() {
            return Err(SettingError::new(
                "stimulus",
                "the set has no [[stimulus]] entries",
            ));
        }
        for a in &self.aois {
            a.validate()?;
        }
        let mut ids = HashSet::new();
        for s in &self.stimuli {
            for (field, v) in [
                ("id", &s.id),
                ("identity", &s.identity),
                ("condition", &s.condition),
            ] {
                if v.trim().is_empty() {
                    return Err(SettingError::new(
                        format!("stimulus.{field}"),
                        format!("a stimulus has an empty {field}"),
                    ));
                }
                if v.len() > MAX_FIELD_BYTES {
                    return Err(SettingError::new(
                        format!("stimulus.{field}"),
                        format!(
                            "stimulus '{}': {field} is {} bytes, at most {MAX_FIELD_BYTES} allowed",
                            s.id,
                            v.len()
                        ),
                    ));
                }
            }
            if !ids.insert(s.id.as_str()) {
                return Err(SettingError::new(
                    "stimulus.id",
                    format!("stimulus id '{}' appears more than once", s.id),
                ));
            }
            for a in &s.aois {
                a.validate().map_err(|e| SettingError {
                    key: format!("stimulus '{}' {}", s.id, e.key),
                    message: format!("stimulus '{}': {}", s.id, e.message),
                })?;
            }
        }
        Ok(())
    }

    pub fn image_path(&self, s: &Stimulus) -> PathBuf {
        self.root.join(&s.image)
    }

    pub fn stimulus(&self, id: &str) -> Option<&Stimulus> {
        self.stimuli.iter().find(|s| s.id == id)
    }

    /// Global AOIs followed by the stimulus's own.
    pub fn aois_for<'a>(&'a self, s: &'a Stimulus) -> impl Iterator<Item = &'a Aoi> {
        self.aois.iter().chain(s.aois.iter())
    }

    /// Every AOI name used in the set, sorted.
    pub fn aoi_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .aois
            .iter()
            .chain(self.stimuli.iter().flat_map(|s| s.aois.iter()))
            .map(|a| a.name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Stimuli grouped by identity.
    pub fn by_identity(&self) -> BTreeMap<&str, Vec<&Stimulus>> {
        let mut m: BTreeMap<&str, Vec<&Stimulus>> = BTreeMap::new();
        for s in &self.stimuli {
            m.entry(s.identity.as_str()).or_default().push(s);
        }
        m
    }

    /// SHA-256 over the manifest text and every image, in manifest order: what a recording
    /// stores so a later analysis can tell whether it has the same stimuli.
    pub fn sha256(&self, manifest_text: &str) -> Result<String, ManifestError> {
        let mut h = Sha256::new();
        h.update(manifest_text.as_bytes());
        for s in &self.stimuli {
            let p = self.image_path(s);
            let bytes = std::fs::read(&p).map_err(|source| FileError::Read {
                path: p,
                what: "stimulus image",
                source,
            })?;
            h.update(s.id.as_bytes());
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(&bytes);
        }
        Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl StimulusSet {
    /// Replaces the set's AOIs with an AOI file's: its global AOIs for all stimuli, and its
    /// per-stimulus AOIs for the stimuli it names.
    pub fn apply_aois(&mut self, f: &crate::aoi::AoiFile) {
        self.aois = f.aoi.clone();
        for s in &mut self.stimuli {
            s.aois = f.for_stimulus(&s.id).cloned().unwrap_or_default();
        }
    }

    /// The set's AOIs as an AOI file (masks stay loaded), to carry them into an analysis.
    pub fn aoi_file(&self) -> crate::aoi::AoiFile {
        crate::aoi::AoiFile {
            aoi: self.aois.clone(),
            stimulus: self
                .stimuli
                .iter()
                .filter(|s| !s.aois.is_empty())
                .map(|s| (s.id.clone(), s.aois.clone()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
name = "t"
image_width = 100
image_height = 100

[[aoi]]
name = "mouth"
shape = "ellipse"
cx = 50.0
cy = 70.0
rx = 10.0
ry = 5.0

[[stimulus]]
id = "a-rec"
image = "a-rec.png"
identity = "a"
condition = "WS"
variant = "reconstructed"
expression = "smile"

[[stimulus]]
id = "a-man"
image = "a-man.png"
identity = "a"
condition = "WS"
variant = "manipulated"
expression = "no_smile"
[[stimulus.aoi]]
name = "chin"
shape = "rectangle"
x = 40.0
y = 85.0
width = 20.0
height = 10.0
"#;

    #[test]
    fn parses_and_round_trips() {
        let set = StimulusSet::from_toml_str(OK, "m.toml").unwrap();
        assert_eq!(set.stimuli.len(), 2);
        assert_eq!(set.stimuli[1].expression, Expression::NoSmile);
        let s = &set.stimuli[1];
        assert_eq!(set.aois_for(s).count(), 2);
        assert_eq!(
            set.aoi_names(),
            vec!["chin".to_string(), "mouth".to_string()]
        );
        let again = StimulusSet::from_toml_str(&set.to_toml(), "again").unwrap();
        assert_eq!(again, set);
    }

    #[test]
    fn errors_name_the_file_and_problem() {
        let bad = OK.replace("variant = \"manipulated\"", "variant = \"edited\"");
        let e = StimulusSet::from_toml_str(&bad, "m.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("m.toml: line 27: not a valid stimulus manifest"),
            "{e}"
        );
        assert!(e.contains("edited"), "{e}");

        let dup = OK.replace("id = \"a-man\"", "id = \"a-rec\"");
        let e = StimulusSet::from_toml_str(&dup, "m.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'a-rec' appears more than once"), "{e}");

        let poly = OK.replace(
            "shape = \"rectangle\"\nx = 40.0\ny = 85.0\nwidth = 20.0\nheight = 10.0",
            "shape = \"polygon\"\npoints = [[0.0, 0.0], [1.0, 1.0]]",
        );
        let e = StimulusSet::from_toml_str(&poly, "m.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("stimulus 'a-man': AOI 'chin': polygon needs at least 3 points, got 2"),
            "{e}"
        );
    }

    #[test]
    fn missing_image_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("manifest.toml");
        std::fs::write(&p, OK).unwrap();
        let e = StimulusSet::load(&p).unwrap_err().to_string();
        assert!(e.contains("a-rec.png does not exist"), "{e}");
    }
}
