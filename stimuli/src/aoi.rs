//! Areas of interest in stimulus-image pixels, with hit testing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use et_files::{FileError, SettingError};
use serde::{Deserialize, Serialize};

/// Why AOIs could not be used; each names the file and, where there is one, the AOI.
#[derive(Debug, thiserror::Error)]
pub enum AoiError {
    /// An AOI file that cannot be read or is not valid TOML (its line).
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path}: not a valid AOI file: {message}")]
    Json { path: PathBuf, message: String },
    #[error("AOI '{aoi}': cannot read mask {path}: {message}")]
    Mask {
        aoi: String,
        path: PathBuf,
        message: String,
    },
    /// A mask that failed while loading the AOI file `file`.
    #[error("{file}: {source}")]
    InFile {
        file: PathBuf,
        source: Box<AoiError>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum AoiShape {
    /// Top-left corner and size; the right and bottom edges are outside (half-open).
    Rectangle {
        x: f64,
        y: f64,
        width: f64,
        height: f64,
    },
    Ellipse {
        cx: f64,
        cy: f64,
        rx: f64,
        ry: f64,
    },
    /// Vertices in order; inside by the even-odd rule.
    Polygon {
        points: Vec<[f64; 2]>,
    },
    /// An image the size of the stimulus, white inside (luminance ≥ 128), black outside; the
    /// path is relative to the file that names it. Must be loaded before hit testing.
    Mask {
        path: PathBuf,
        #[serde(skip)]
        pixels: Option<Arc<image::GrayImage>>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aoi {
    pub name: String,
    #[serde(flatten)]
    pub shape: AoiShape,
}

impl Aoi {
    /// Checks the shape is usable; the message names the AOI and what is wrong.
    pub fn validate(&self) -> Result<(), SettingError> {
        let name = &self.name;
        let refuse = |m: String| Err(SettingError::new(format!("aoi '{name}'"), m));
        if name.trim().is_empty() {
            return refuse("an AOI has an empty name".into());
        }
        let finite = |vals: &[f64]| vals.iter().all(|v| v.is_finite());
        match &self.shape {
            AoiShape::Rectangle {
                x,
                y,
                width,
                height,
            } => {
                if !finite(&[*x, *y, *width, *height]) || *width <= 0.0 || *height <= 0.0 {
                    return refuse(format!(
                        "AOI '{name}': rectangle needs finite x, y and positive width, height (got {x}, {y}, {width}, {height})"
                    ));
                }
            }
            AoiShape::Ellipse { cx, cy, rx, ry } => {
                if !finite(&[*cx, *cy, *rx, *ry]) || *rx <= 0.0 || *ry <= 0.0 {
                    return refuse(format!(
                        "AOI '{name}': ellipse needs finite cx, cy and positive rx, ry (got {cx}, {cy}, {rx}, {ry})"
                    ));
                }
            }
            AoiShape::Mask { path, .. } if path.as_os_str().is_empty() => {
                return refuse(format!("AOI '{name}': mask needs a path"));
            }
            AoiShape::Mask { .. } => {}
            AoiShape::Polygon { points } => {
                if points.len() < 3 {
                    return refuse(format!(
                        "AOI '{name}': polygon needs at least 3 points, got {}",
                        points.len()
                    ));
                }
                if !points.iter().all(|p| finite(p)) {
                    return refuse(format!("AOI '{name}': polygon has a non-finite coordinate"));
                }
            }
        }
        Ok(())
    }

    /// Loads a mask AOI's image (relative paths from `base`); other shapes need nothing.
    pub fn load_mask(&mut self, base: &Path) -> Result<(), AoiError> {
        if let AoiShape::Mask { path, pixels } = &mut self.shape {
            let full = if path.is_relative() {
                base.join(&*path)
            } else {
                path.clone()
            };
            let img = image::open(&full).map_err(|e| AoiError::Mask {
                aoi: self.name.clone(),
                path: full.clone(),
                message: e.to_string(),
            })?;
            *pixels = Some(Arc::new(img.to_luma8()));
        }
        Ok(())
    }

    /// Whether image pixel (x, y) lies in the AOI. A mask that was not loaded contains nothing.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        match &self.shape {
            AoiShape::Mask { pixels, .. } => mask_contains(pixels.as_deref(), x, y),
            AoiShape::Rectangle {
                x: rx,
                y: ry,
                width,
                height,
            } => rectangle_contains([*rx, *ry, *width, *height], x, y),
            AoiShape::Ellipse { cx, cy, rx, ry } => ellipse_contains([*cx, *cy, *rx, *ry], x, y),
            AoiShape::Polygon { points } => polygon_contains(points, x, y),
        }
    }

    /// How many of the points (`xs[i]`, `ys[i]`) lie in the AOI: `contains` for each, the shape
    /// looked up once, so the loop over a rectangle or an ellipse has no branch and vectorises.
    pub fn count_inside(&self, xs: &[f64], ys: &[f64]) -> usize {
        match &self.shape {
            AoiShape::Rectangle {
                x: rx,
                y: ry,
                width,
                height,
            } => count_where(xs, ys, |x, y| {
                rectangle_contains([*rx, *ry, *width, *height], x, y)
            }),
            AoiShape::Ellipse { cx, cy, rx, ry } => {
                count_where(xs, ys, |x, y| ellipse_contains([*cx, *cy, *rx, *ry], x, y))
            }
            AoiShape::Mask { pixels, .. } => {
                count_where(xs, ys, |x, y| mask_contains(pixels.as_deref(), x, y))
            }
            AoiShape::Polygon { points } => {
                count_where(xs, ys, |x, y| polygon_contains(points, x, y))
            }
        }
    }

    /// Centre and half-extents of the bounding box, in image px.
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        match &self.shape {
            AoiShape::Mask { pixels, .. } => {
                let Some(m) = pixels else {
                    return (0.0, 0.0, 0.0, 0.0);
                };
                let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
                for (x, y, p) in m.enumerate_pixels() {
                    if p.0[0] >= 128 {
                        x0 = x0.min(x);
                        y0 = y0.min(y);
                        x1 = x1.max(x + 1);
                        y1 = y1.max(y + 1);
                    }
                }
                if x0 > x1 {
                    return (0.0, 0.0, 0.0, 0.0);
                }
                let (x0, y0, x1, y1) = (f64::from(x0), f64::from(y0), f64::from(x1), f64::from(y1));
                (
                    (x0 + x1) / 2.0,
                    (y0 + y1) / 2.0,
                    (x1 - x0) / 2.0,
                    (y1 - y0) / 2.0,
                )
            }
            AoiShape::Rectangle {
                x,
                y,
                width,
                height,
            } => (x + width / 2.0, y + height / 2.0, width / 2.0, height / 2.0),
            AoiShape::Ellipse { cx, cy, rx, ry } => (*cx, *cy, *rx, *ry),
            AoiShape::Polygon { points } => {
                let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
                for [x, y] in points {
                    x0 = x0.min(*x);
                    y0 = y0.min(*y);
                    x1 = x1.max(*x);
                    y1 = y1.max(*y);
                }
                (
                    (x0 + x1) / 2.0,
                    (y0 + y1) / 2.0,
                    (x1 - x0) / 2.0,
                    (y1 - y0) / 2.0,
                )
            }
        }
    }
}

/// AOIs from a file of their own (TOML or JSON): global ones and ones for named stimuli. They
/// replace the stimulus set's AOIs in an analysis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AoiFile {
    #[serde(default)]
    pub aoi: Vec<Aoi>,
    /// Stimulus id → its own AOIs.
    #[serde(default)]
    pub stimulus: BTreeMap<String, Vec<Aoi>>,
}

impl AoiFile {
    /// The AOIs given for stimulus `id`: under its own name, or under the name of its image
    /// file (a Pro Lab export names a stimulus `faceA` in `Presented Stimulus name` and
    /// `faceA.jpg` in `Presented Media name`; either names it here).
    pub fn for_stimulus(&self, id: &str) -> Option<&Vec<Aoi>> {
        self.stimulus.get(id).or_else(|| {
            self.stimulus
                .iter()
                .find(|(key, _)| names_one_stimulus(key, id))
                .map(|(_, a)| a)
        })
    }
}

/// Whether two names are one stimulus: equal, or equal once an image file extension is taken
/// off either.
pub fn names_one_stimulus(a: &str, b: &str) -> bool {
    fn stem(s: &str) -> &str {
        match s.rsplit_once('.') {
            Some((stem, ext))
                if ["jpg", "jpeg", "png", "bmp", "gif", "tif", "tiff", "webp"]
                    .iter()
                    .any(|e| ext.eq_ignore_ascii_case(e)) =>
            {
                stem
            }
            _ => s,
        }
    }
    a == b || stem(a) == stem(b)
}

impl AoiFile {
    /// Reads `.json` as JSON and anything else as TOML; validates shapes and loads masks.
    pub fn load(path: &Path) -> Result<AoiFile, AoiError> {
        const WHAT: &str = "AOI file";
        let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
            path: path.into(),
            what: WHAT,
            source,
        })?;
        let mut f: AoiFile = if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            serde_json::from_str(&text).map_err(|e| AoiError::Json {
                path: path.into(),
                message: e.to_string(),
            })?
        } else {
            et_files::toml_file::parse(&text, path, WHAT)?
        };
        let base = path.parent().unwrap_or(Path::new(""));
        for a in f.aoi.iter_mut().chain(f.stimulus.values_mut().flatten()) {
            a.validate().map_err(FileError::setting(path, WHAT))?;
            a.load_mask(base).map_err(|e| AoiError::InFile {
                file: path.into(),
                source: Box::new(e),
            })?;
        }
        Ok(f)
    }
}

/// How many points (`xs[i]`, `ys[i]`) are `inside`.
#[inline(always)]
fn count_where(xs: &[f64], ys: &[f64], inside: impl Fn(f64, f64) -> bool) -> usize {
    xs.iter()
        .zip(ys)
        .map(|(x, y)| usize::from(inside(*x, *y)))
        .sum()
}

/// A mask's pixel at (x, y) is white (≥ 128); nothing is inside a mask not loaded.
fn mask_contains(pixels: Option<&image::GrayImage>, x: f64, y: f64) -> bool {
    match pixels {
        Some(m) if x >= 0.0 && y >= 0.0 => m
            .get_pixel_checked(x as u32, y as u32)
            .is_some_and(|p| p.0[0] >= 128),
        _ => false,
    }
}

/// Inside the rectangle [x, y, width, height], its right and bottom edges outside. Every
/// condition is computed (`&`, not `&&`): no branch in a loop over points.
#[inline(always)]
fn rectangle_contains([rx, ry, width, height]: [f64; 4], x: f64, y: f64) -> bool {
    (x >= rx) & (x < rx + width) & (y >= ry) & (y < ry + height)
}

/// Inside or on the ellipse [cx, cy, rx, ry]: ((x − cx)/rx)² + ((y − cy)/ry)² ≤ 1.
#[inline(always)]
fn ellipse_contains([cx, cy, rx, ry]: [f64; 4], x: f64, y: f64) -> bool {
    let (u, v) = ((x - cx) / rx, (y - cy) / ry);
    u * u + v * v <= 1.0
}

/// Inside the polygon by the even-odd rule.
fn polygon_contains(points: &[[f64; 2]], x: f64, y: f64) -> bool {
    let mut inside = false;
    let n = points.len();
    let mut j = n.wrapping_sub(1);
    for i in 0..n {
        let ([xi, yi], [xj, yj]) = (points[i], points[j]);
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aoi(shape: AoiShape) -> Aoi {
        Aoi {
            name: "a".into(),
            shape,
        }
    }

    #[test]
    fn rectangle_is_half_open() {
        let a = aoi(AoiShape::Rectangle {
            x: 10.0,
            y: 10.0,
            width: 10.0,
            height: 5.0,
        });
        assert!(a.contains(10.0, 10.0));
        assert!(a.contains(19.99, 14.99));
        assert!(!a.contains(20.0, 12.0));
        assert!(!a.contains(12.0, 15.0));
    }

    #[test]
    fn ellipse_boundary() {
        let a = aoi(AoiShape::Ellipse {
            cx: 0.0,
            cy: 0.0,
            rx: 2.0,
            ry: 1.0,
        });
        assert!(a.contains(2.0, 0.0));
        assert!(a.contains(1.0, 0.8));
        assert!(!a.contains(1.5, 0.8));
    }

    /// `count_inside` counts the points `contains` accepts, for every kind of shape (degenerate
    /// ellipses, a concave polygon, a mask), on points all around and on their edges.
    #[test]
    fn count_inside_counts_what_contains_accepts() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut mask = image::GrayImage::new(40, 30);
        for (x, y, p) in mask.enumerate_pixels_mut() {
            p.0[0] = if (x * 7 + y * 3) % 11 < 5 { 255 } else { 0 };
        }
        let mut shapes = vec![
            AoiShape::Polygon {
                points: vec![
                    [0.0, 0.0],
                    [30.0, 0.0],
                    [30.0, 30.0],
                    [20.0, 30.0],
                    [20.0, 10.0],
                    [10.0, 10.0],
                    [10.0, 30.0],
                    [0.0, 30.0],
                ],
            },
            AoiShape::Mask {
                path: PathBuf::from("m.png"),
                pixels: Some(Arc::new(mask)),
            },
            AoiShape::Rectangle {
                x: 3.0,
                y: 4.0,
                width: 20.0,
                height: 10.0,
            },
        ];
        for _ in 0..100 {
            let radius = |rng: &mut rand_chacha::ChaCha8Rng| match rng.random_range(0..10) {
                0 => 0.0,
                1 => -rng.random_range(1.0..20.0),
                _ => rng.random_range(0.5..30.0),
            };
            let (rx, ry) = (radius(&mut rng), radius(&mut rng));
            shapes.push(AoiShape::Ellipse {
                cx: rng.random_range(-5.0..40.0),
                cy: rng.random_range(-5.0..40.0),
                rx,
                ry,
            });
        }
        for shape in shapes {
            let a = aoi(shape);
            let (cx, cy, hw, hh) = a.bounds();
            let (mut xs, mut ys) = (Vec::new(), Vec::new());
            for _ in 0..2000 {
                let t = rng.random_range(0.0..std::f64::consts::TAU);
                // On the bounding box's ellipse, a hair either side, anywhere around, or NaN.
                let s = [1.0, 1.0 + 1e-12, 1.0 - 1e-12, rng.random_range(0.0..3.0)]
                    [rng.random_range(0..4)];
                xs.push(cx + hw * s * t.cos());
                ys.push(if rng.random_bool(0.01) {
                    f64::NAN
                } else {
                    cy + hh * s * t.sin()
                });
            }
            xs.extend([cx - hw, cx + hw, cx, cx]);
            ys.extend([cy, cy, cy - hh, cy + hh]);
            let expected = xs
                .iter()
                .zip(&ys)
                .filter(|(x, y)| a.contains(**x, **y))
                .count();
            assert!(expected > 0 || hw <= 0.0 || hh <= 0.0, "{:?}", a.shape);
            assert_eq!(a.count_inside(&xs, &ys), expected, "{:?}", a.shape);
        }
    }

    #[test]
    fn concave_polygon_even_odd() {
        // A "U": the notch between the arms is outside.
        let a = aoi(AoiShape::Polygon {
            points: vec![
                [0.0, 0.0],
                [3.0, 0.0],
                [3.0, 3.0],
                [2.0, 3.0],
                [2.0, 1.0],
                [1.0, 1.0],
                [1.0, 3.0],
                [0.0, 3.0],
            ],
        });
        assert!(a.contains(0.5, 2.0));
        assert!(a.contains(2.5, 2.0));
        assert!(a.contains(1.5, 0.5));
        assert!(!a.contains(1.5, 2.0));
        assert!(!a.contains(4.0, 1.0));
    }

    #[test]
    fn validation_messages_name_the_problem() {
        let two = aoi(AoiShape::Polygon {
            points: vec![[0.0, 0.0], [1.0, 1.0]],
        });
        let e = two.validate().unwrap_err();
        assert!(e.message.contains("at least 3 points, got 2"), "{e}");
        assert_eq!(e.key, "aoi 'a'");
        let flat = aoi(AoiShape::Ellipse {
            cx: 0.0,
            cy: 0.0,
            rx: 0.0,
            ry: 1.0,
        });
        assert!(flat.validate().unwrap_err().message.contains("positive rx"));
    }

    #[test]
    fn mask_is_white_inside() {
        let dir = tempfile::tempdir().unwrap();
        let mut img = image::GrayImage::new(10, 10);
        for y in 2..5 {
            for x in 3..7 {
                img.put_pixel(x, y, image::Luma([255]));
            }
        }
        img.save(dir.path().join("m.png")).unwrap();
        let mut a = aoi(AoiShape::Mask {
            path: "m.png".into(),
            pixels: None,
        });
        assert!(!a.contains(4.0, 3.0), "unloaded masks contain nothing");
        a.load_mask(dir.path()).unwrap();
        assert!(a.contains(4.5, 3.5) && a.contains(3.0, 2.0));
        assert!(
            !a.contains(7.0, 3.0)
                && !a.contains(4.0, 5.0)
                && !a.contains(-1.0, 3.0)
                && !a.contains(40.0, 3.0)
        );
        assert_eq!(a.bounds(), (5.0, 3.5, 2.0, 1.5));
    }

    /// Pro Lab names one stimulus `faceA` (Presented Stimulus name) and `faceA.jpg`
    /// (Presented Media name): AOIs keyed by either reach it.
    #[test]
    fn aois_keyed_by_the_stimulus_or_its_image_file_name_reach_it() {
        let f: AoiFile = toml::from_str(
            "[[stimulus.\"faceA.jpg\"]]\nname = \"mouth\"\nshape = \"rectangle\"\nx = 0.0\ny = 0.0\nwidth = 10.0\nheight = 10.0\n",
        )
        .unwrap();
        assert_eq!(
            f.for_stimulus("faceA").map(|a| a[0].name.as_str()),
            Some("mouth")
        );
        assert!(f.for_stimulus("faceA.jpg").is_some());
        assert!(f.for_stimulus("faceB").is_none());
        assert!(names_one_stimulus("faceA.PNG", "faceA"));
        assert!(!names_one_stimulus("faceA.v2", "faceA"));
    }

    #[test]
    fn aoi_files_in_toml_and_json_and_unknown_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("a.toml");
        std::fs::write(&t, "[[aoi]]\nname = \"mouth\"\nshape = \"rectangle\"\nx = 1.0\ny = 2.0\nwidth = 3.0\nheight = 4.0\n\n[[stimulus.\"WS-01\"]]\nname = \"chin\"\nshape = \"ellipse\"\ncx = 5.0\ncy = 5.0\nrx = 1.0\nry = 1.0\n").unwrap();
        let f = AoiFile::load(&t).unwrap();
        assert_eq!(f.aoi[0].name, "mouth");
        assert_eq!(f.stimulus["WS-01"][0].name, "chin");
        let j = dir.path().join("a.json");
        std::fs::write(
            &j,
            r#"{"aoi": [{"name": "eyes", "shape": "polygon", "points": [[0,0],[1,0],[0,1]]}]}"#,
        )
        .unwrap();
        assert_eq!(AoiFile::load(&j).unwrap().aoi[0].name, "eyes");
        std::fs::write(&t, "[[aoi]]\nname = \"x\"\nshape = \"star\"\n").unwrap();
        let e = AoiFile::load(&t).unwrap_err().to_string();
        assert!(
            e.contains("a.toml: line 1: not a valid AOI file") && e.contains("star"),
            "{e}"
        );
        std::fs::write(
            &t,
            "[[aoi]]\nname = \"m\"\nshape = \"mask\"\npath = \"missing.png\"\n",
        )
        .unwrap();
        let e = AoiFile::load(&t).unwrap_err();
        assert!(
            matches!(&e, AoiError::InFile { source, .. } if matches!(**source, AoiError::Mask { .. }))
        );
        assert!(
            e.to_string().contains("a.toml: AOI 'm': cannot read mask"),
            "{e}"
        );
    }
}
