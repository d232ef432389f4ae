//! Areas of interest in stimulus-image pixels, with hit testing.

use serde::{Deserialize, Serialize};

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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aoi {
    pub name: String,
    #[serde(flatten)]
    pub shape: AoiShape,
}

impl Aoi {
    /// Checks the shape is usable; the message names the AOI and what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let name = &self.name;
        if name.trim().is_empty() {
            return Err("an AOI has an empty name".into());
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
                    return Err(format!(
                        "AOI '{name}': rectangle needs finite x, y and positive width, height (got {x}, {y}, {width}, {height})"
                    ));
                }
            }
            AoiShape::Ellipse { cx, cy, rx, ry } => {
                if !finite(&[*cx, *cy, *rx, *ry]) || *rx <= 0.0 || *ry <= 0.0 {
                    return Err(format!(
                        "AOI '{name}': ellipse needs finite cx, cy and positive rx, ry (got {cx}, {cy}, {rx}, {ry})"
                    ));
                }
            }
            AoiShape::Polygon { points } => {
                if points.len() < 3 {
                    return Err(format!(
                        "AOI '{name}': polygon needs at least 3 points, got {}",
                        points.len()
                    ));
                }
                if !points.iter().all(|p| finite(p)) {
                    return Err(format!("AOI '{name}': polygon has a non-finite coordinate"));
                }
            }
        }
        Ok(())
    }

    /// Whether image pixel (x, y) lies in the AOI.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        match &self.shape {
            AoiShape::Rectangle {
                x: rx,
                y: ry,
                width,
                height,
            } => x >= *rx && x < rx + width && y >= *ry && y < ry + height,
            AoiShape::Ellipse { cx, cy, rx, ry } => {
                let (u, v) = ((x - cx) / rx, (y - cy) / ry);
                u * u + v * v <= 1.0
            }
            AoiShape::Polygon { points } => {
                let mut inside = false;
                let n = points.len();
                let mut j = n - 1;
                for i in 0..n {
                    let ([xi, yi], [xj, yj]) = (points[i], points[j]);
                    if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                        inside = !inside;
                    }
                    j = i;
                }
                inside
            }
        }
    }

    /// Centre and half-extents of the bounding box, in image px.
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        match &self.shape {
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
        assert!(e.contains("at least 3 points, got 2"), "{e}");
        let flat = aoi(AoiShape::Ellipse {
            cx: 0.0,
            cy: 0.0,
            rx: 0.0,
            ry: 1.0,
        });
        assert!(flat.validate().unwrap_err().contains("positive rx"));
    }
}
