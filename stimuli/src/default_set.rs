//! The default stimulus set: 32 made-up identities (8 each of 22q, AS, NS, WS), each drawn as a
//! face-like image in a reconstructed and a manipulated version with the opposite expression,
//! mirroring the study's design. Landmarks sit at fixed FFHQ-like positions, so one mouth AOI
//! fits every image, as in the study.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::aoi::{Aoi, AoiShape};
use crate::manifest::{Expression, Landmarks, ManifestError, Stimulus, StimulusSet, Variant};

pub const CONDITIONS: [&str; 4] = ["22q", "AS", "NS", "WS"];
pub const IDENTITIES_PER_CONDITION: usize = 8;
/// The image size of the study's stimuli (FFHQ-aligned, 1024²).
pub const FULL_SIZE: u32 = 1024;

/// The typical expression of a condition, shown by its reconstructed images (AS and WS smile).
pub fn typical_expression(condition: &str) -> Expression {
    match condition {
        "AS" | "WS" => Expression::Smile,
        _ => Expression::NoSmile,
    }
}

fn opposite(e: Expression) -> Expression {
    match e {
        Expression::Smile => Expression::NoSmile,
        Expression::NoSmile => Expression::Smile,
    }
}

/// Template landmarks at 1024², scaled to `size`.
pub fn landmarks(size: u32) -> Landmarks {
    let k = f64::from(size) / f64::from(FULL_SIZE);
    let p = |x: f64, y: f64| [x * k, y * k];
    Landmarks {
        left_eye: p(382.0, 470.0),
        right_eye: p(642.0, 470.0),
        nose: p(512.0, 610.0),
        mouth: p(512.0, 742.0),
    }
}

fn aois(size: u32) -> Vec<Aoi> {
    let k = f64::from(size) / f64::from(FULL_SIZE);
    vec![
        Aoi {
            name: "mouth".into(),
            shape: AoiShape::Ellipse {
                cx: 512.0 * k,
                cy: 742.0 * k,
                rx: 165.0 * k,
                ry: 95.0 * k,
            },
        },
        Aoi {
            name: "eyes".into(),
            shape: AoiShape::Rectangle {
                x: 282.0 * k,
                y: 390.0 * k,
                width: 460.0 * k,
                height: 140.0 * k,
            },
        },
        Aoi {
            name: "nose".into(),
            shape: AoiShape::Ellipse {
                cx: 512.0 * k,
                cy: 605.0 * k,
                rx: 70.0 * k,
                ry: 65.0 * k,
            },
        },
    ]
}

/// The manifest of the default set at `size`² pixels (images not drawn).
pub fn manifest(size: u32) -> StimulusSet {
    let mut stimuli = Vec::new();
    for c in CONDITIONS {
        for n in 1..=IDENTITIES_PER_CONDITION {
            let identity = format!("{c}-{n:02}");
            for variant in [Variant::Reconstructed, Variant::Manipulated] {
                let typical = typical_expression(c);
                let expression = if variant == Variant::Reconstructed {
                    typical
                } else {
                    opposite(typical)
                };
                let id = format!("{identity}-{}", variant.as_str());
                stimuli.push(Stimulus {
                    image: PathBuf::from(format!("images/{id}.png")),
                    id,
                    identity: identity.clone(),
                    condition: c.to_string(),
                    variant,
                    expression,
                    aois: Vec::new(),
                });
            }
        }
    }
    StimulusSet {
        name: "et-suite default faces".into(),
        image_width: size,
        image_height: size,
        landmarks: Some(landmarks(size)),
        aois: aois(size),
        stimuli,
        root: PathBuf::new(),
    }
}

/// The default set's manifest in `dir`, generating the set there first when it is missing
/// (`announce` is told before the minutes that takes). Generation writes to a temporary folder
/// and renames it, so an interrupted run never leaves half a set; a folder that exists but
/// holds no manifest is refused rather than filled.
pub fn ensure(dir: &Path, announce: impl FnOnce(&Path)) -> Result<PathBuf, ManifestError> {
    let manifest = dir.join("manifest.toml");
    if manifest.is_file() {
        return Ok(manifest);
    }
    let invalid = |message: String| ManifestError::Invalid {
        origin: dir.display().to_string(),
        message,
    };
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(invalid(
            "exists but holds no manifest.toml; remove it or point --stimuli elsewhere".into(),
        ));
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|source| ManifestError::Write {
        path: parent.to_path_buf(),
        source,
    })?;
    let tmp = parent.join(format!(
        ".{}.tmp-{}",
        dir.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("stimuli"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    announce(dir);
    generate(&tmp, FULL_SIZE)?;
    if dir.exists() {
        let _ = std::fs::remove_dir(dir);
    }
    if let Err(source) = std::fs::rename(&tmp, dir) {
        // Another process may have finished first; use its set if it is complete.
        let _ = std::fs::remove_dir_all(&tmp);
        if !manifest.is_file() {
            return Err(ManifestError::Write {
                path: dir.to_path_buf(),
                source,
            });
        }
    }
    Ok(manifest)
}

/// Draws every image and writes `dir/manifest.toml`; returns the manifest's path.
pub fn generate(dir: &Path, size: u32) -> Result<PathBuf, ManifestError> {
    let mut set = manifest(size);
    set.root = dir.to_path_buf();
    let images = dir.join("images");
    std::fs::create_dir_all(&images).map_err(|source| ManifestError::Write {
        path: images.clone(),
        source,
    })?;
    for s in &set.stimuli {
        let path = set.image_path(s);
        let img = draw_face(size, &s.identity, s.expression);
        img.save(&path).map_err(|e| ManifestError::Image {
            path: path.clone(),
            message: e.to_string(),
        })?;
    }
    let manifest_path = dir.join("manifest.toml");
    std::fs::write(&manifest_path, set.to_toml()).map_err(|source| ManifestError::Write {
        path: manifest_path.clone(),
        source,
    })?;
    Ok(manifest_path)
}

struct Look {
    skin: [f32; 3],
    hair: [f32; 3],
    iris: [f32; 3],
    width: f32,
}

fn look(identity: &str) -> Look {
    let seed = identity.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let skins = [
        [241.0, 200.0, 170.0],
        [224.0, 172.0, 135.0],
        [198.0, 140.0, 100.0],
        [160.0, 108.0, 75.0],
        [110.0, 75.0, 52.0],
    ];
    let hairs = [
        [40.0, 28.0, 20.0],
        [90.0, 60.0, 35.0],
        [170.0, 130.0, 70.0],
        [20.0, 20.0, 22.0],
        [120.0, 50.0, 25.0],
    ];
    let irises = [
        [70.0, 50.0, 30.0],
        [60.0, 100.0, 150.0],
        [80.0, 110.0, 70.0],
        [40.0, 30.0, 25.0],
    ];
    Look {
        skin: skins[r.random_range(0..skins.len())],
        hair: hairs[r.random_range(0..hairs.len())],
        iris: irises[r.random_range(0..irises.len())],
        width: r.random_range(0.92..1.06),
    }
}

fn in_ellipse(x: f32, y: f32, cx: f32, cy: f32, rx: f32, ry: f32) -> bool {
    let (u, v) = ((x - cx) / rx, (y - cy) / ry);
    u * u + v * v <= 1.0
}

fn shade(c: [f32; 3], f: f32) -> [f32; 3] {
    c.map(|v| (v * f).clamp(0.0, 255.0))
}

/// Colour of template point (x, y) in 1024² coordinates.
fn colour_at(x: f32, y: f32, l: &Look, expression: Expression) -> [f32; 3] {
    let w = l.width;
    let mouth = (512.0, 742.0);
    // Mouth first (it sits on the face).
    let dx = (x - mouth.0) / 120.0;
    if dx.abs() < 1.0 {
        let lip = [170.0, 70.0, 75.0];
        match expression {
            Expression::Smile => {
                let top = mouth.1 - 14.0 - 30.0 * dx * dx;
                let bottom = mouth.1 + 42.0 * (1.0 - dx * dx) - 30.0 * dx * dx;
                if y >= top - 9.0 && y <= bottom + 11.0 {
                    return if y > top && y < bottom && dx.abs() < 0.93 {
                        [245.0, 242.0, 235.0]
                    } else {
                        lip
                    };
                }
            }
            Expression::NoSmile => {
                if in_ellipse(x, y, mouth.0, mouth.1, 88.0, 17.0) {
                    return if (y - mouth.1).abs() < 2.5 {
                        shade(lip, 0.6)
                    } else {
                        lip
                    };
                }
            }
        }
    }
    for ex in [382.0, 642.0] {
        let ey = 470.0;
        if in_ellipse(x, y, ex, ey - 62.0, 72.0, 11.0) {
            return shade(l.hair, 0.9);
        }
        if in_ellipse(
            x,
            y,
            ex,
            ey,
            56.0,
            if expression == Expression::Smile {
                22.0
            } else {
                27.0
            },
        ) {
            let r2 = (x - ex).powi(2) + (y - ey).powi(2);
            return if r2 < 100.0 {
                [10.0, 10.0, 10.0]
            } else if r2 < 22.0 * 22.0 {
                l.iris
            } else {
                [248.0, 248.0, 245.0]
            };
        }
    }
    if in_ellipse(x, y, 490.0, 640.0, 9.0, 6.0) || in_ellipse(x, y, 534.0, 640.0, 9.0, 6.0) {
        return shade(l.skin, 0.45);
    }
    if in_ellipse(x, y, 512.0, 610.0, 38.0, 30.0)
        || (x - 512.0).abs() < 14.0 && (520.0..610.0).contains(&y)
    {
        return shade(l.skin, 0.9);
    }
    if expression == Expression::Smile
        && (in_ellipse(x, y, 512.0 - 190.0 * w, 680.0, 55.0, 35.0)
            || in_ellipse(x, y, 512.0 + 190.0 * w, 680.0, 55.0, 35.0))
    {
        return [l.skin[0].min(250.0), l.skin[1] * 0.88, l.skin[2] * 0.88];
    }
    if in_ellipse(x, y, 512.0, 575.0, 270.0 * w, 350.0) {
        return l.skin;
    }
    if in_ellipse(x, y, 512.0 - 272.0 * w, 590.0, 38.0, 70.0)
        || in_ellipse(x, y, 512.0 + 272.0 * w, 590.0, 38.0, 70.0)
    {
        return shade(l.skin, 0.93);
    }
    if in_ellipse(x, y, 512.0, 470.0, 320.0 * w, 390.0) && y < 760.0 {
        return l.hair;
    }
    if (x - 512.0).abs() < 120.0 && y > 820.0 {
        return shade(l.skin, 0.85);
    }
    if y > 930.0 && (x - 512.0).abs() < 420.0 {
        return [70.0, 90.0, 120.0];
    }
    let g = 200.0 - 40.0 * y / 1024.0;
    [g, g + 4.0, g + 10.0]
}

/// One face at `size`², drawn from the 1024² template.
pub fn draw_face(size: u32, identity: &str, expression: Expression) -> RgbImage {
    let l = look(identity);
    let k = FULL_SIZE as f32 / size as f32;
    RgbImage::from_fn(size, size, |px, py| {
        let c = colour_at((px as f32 + 0.5) * k, (py as f32 + 0.5) * k, &l, expression);
        Rgb(c.map(|v| v.round() as u8))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_has_32_identities_in_two_versions_with_opposite_expressions() {
        let m = manifest(FULL_SIZE);
        assert_eq!(m.stimuli.len(), 64);
        for (_, pair) in m.by_identity() {
            assert_eq!(pair.len(), 2);
            assert_ne!(pair[0].expression, pair[1].expression);
            assert_ne!(pair[0].variant, pair[1].variant);
        }
        let ws_rec = m.stimulus("WS-01-reconstructed").unwrap();
        assert_eq!(ws_rec.expression, Expression::Smile);
        let q_man = m.stimulus("22q-03-manipulated").unwrap();
        assert_eq!(q_man.expression, Expression::Smile);
    }

    #[test]
    fn mouth_aoi_covers_the_drawn_mouth_in_both_expressions() {
        let m = manifest(256);
        let mouth = m.aois.iter().find(|a| a.name == "mouth").unwrap();
        for e in [Expression::Smile, Expression::NoSmile] {
            let img = draw_face(256, "AS-01", e);
            let mut lip_px = 0;
            let mut outside = 0;
            for (x, y, p) in img.enumerate_pixels() {
                if p.0 == [170, 70, 75] {
                    lip_px += 1;
                    if !mouth.contains(f64::from(x) + 0.5, f64::from(y) + 0.5) {
                        outside += 1;
                    }
                }
            }
            assert!(lip_px > 100, "{e:?}: {lip_px}");
            assert_eq!(outside, 0, "{e:?}");
        }
    }

    #[test]
    fn generated_set_loads_and_hashes_stably() {
        let dir = tempfile::tempdir().unwrap();
        let p = generate(dir.path(), 64).unwrap();
        let set = StimulusSet::load(&p).unwrap();
        assert_eq!(set.stimuli.len(), 64);
        let text = std::fs::read_to_string(&p).unwrap();
        let h1 = set.sha256(&text).unwrap();
        assert_eq!(h1, set.sha256(&text).unwrap());
        assert_eq!(h1.len(), 64);
        let img = image::open(set.image_path(&set.stimuli[0])).unwrap();
        assert_eq!((img.width(), img.height()), (64, 64));
    }
}
