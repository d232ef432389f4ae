//! Where simulated participants look: per expression, the probability of visiting the mouth,
//! the eyes, the nose or elsewhere on the face, and how long a visit lasts. Mapped onto each
//! stimulus through the set's landmarks (or its AOIs), this is the synthetic tracker's input
//! and the demo's ground truth.

use et_drivers::synthetic::{AttentionRegion, Scene};
use et_stimuli::{Expression, StimulusSet};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionAttention {
    /// Relative probability of the next visit going here.
    pub weight: f64,
    /// Mean visit length (ms).
    pub dwell_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpressionAttention {
    pub mouth: RegionAttention,
    pub eyes: RegionAttention,
    pub nose: RegionAttention,
    pub elsewhere: RegionAttention,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttentionConfig {
    pub smile: ExpressionAttention,
    pub no_smile: ExpressionAttention,
}

const fn r(weight: f64, dwell_ms: f64) -> RegionAttention {
    RegionAttention { weight, dwell_ms }
}

impl Default for AttentionConfig {
    /// A modest planted effect: smiling mouths draw somewhat more visits.
    fn default() -> Self {
        AttentionConfig {
            smile: ExpressionAttention {
                mouth: r(0.28, 800.0),
                eyes: r(0.37, 1000.0),
                nose: r(0.20, 500.0),
                elsewhere: r(0.15, 500.0),
            },
            no_smile: ExpressionAttention {
                mouth: r(0.20, 800.0),
                eyes: r(0.42, 1000.0),
                nose: r(0.21, 500.0),
                elsewhere: r(0.17, 500.0),
            },
        }
    }
}

impl ExpressionAttention {
    fn regions(&self) -> [(&'static str, RegionAttention); 4] {
        [
            ("mouth", self.mouth),
            ("eyes", self.eyes),
            ("nose", self.nose),
            ("elsewhere", self.elsewhere),
        ]
    }

    /// Expected share of visit time on `region` (weight × dwell, normalised).
    pub fn expected_share(&self, region: &str) -> f64 {
        let total: f64 = self
            .regions()
            .iter()
            .map(|(_, a)| a.weight * a.dwell_ms)
            .sum();
        self.regions()
            .iter()
            .find(|(n, _)| *n == region)
            .map_or(0.0, |(_, a)| a.weight * a.dwell_ms / total)
    }
}

impl AttentionConfig {
    pub fn for_expression(&self, e: Expression) -> &ExpressionAttention {
        match e {
            Expression::Smile => &self.smile,
            Expression::NoSmile => &self.no_smile,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        for (e, a) in [("smile", &self.smile), ("no_smile", &self.no_smile)] {
            let mut total = 0.0;
            for (n, r) in a.regions() {
                if !(r.weight.is_finite()
                    && r.weight >= 0.0
                    && r.dwell_ms.is_finite()
                    && r.dwell_ms > 0.0)
                {
                    return Err(format!(
                        "attention.{e}.{n}: weight must be >= 0 and dwell_ms > 0"
                    ));
                }
                total += r.weight;
            }
            if total <= 0.0 {
                return Err(format!(
                    "attention.{e}: at least one weight must be positive"
                ));
            }
        }
        Ok(())
    }
}

/// Region centres and half-extents in image px for one set (from landmarks, else AOIs).
fn region_geometry(set: &StimulusSet, name: &str) -> Option<(f64, f64, f64, f64)> {
    let k = f64::from(set.image_width) / 1024.0;
    if let Some(l) = &set.landmarks {
        return Some(match name {
            "mouth" => (l.mouth[0], l.mouth[1], 105.0 * k, 40.0 * k),
            "eyes" => {
                let cx = (l.left_eye[0] + l.right_eye[0]) / 2.0;
                let cy = (l.left_eye[1] + l.right_eye[1]) / 2.0;
                let half = (l.right_eye[0] - l.left_eye[0]).abs() / 2.0;
                (cx, cy, half + 45.0 * k, 30.0 * k)
            }
            "nose" => (l.nose[0], l.nose[1] - 10.0 * k, 35.0 * k, 40.0 * k),
            _ => {
                let cx = (l.left_eye[0] + l.right_eye[0]) / 2.0;
                let cy = (l.left_eye[1] + l.mouth[1]) / 2.0;
                (cx, cy, 260.0 * k, 330.0 * k)
            }
        });
    }
    match name {
        "elsewhere" => {
            let (w, h) = (f64::from(set.image_width), f64::from(set.image_height));
            Some((w / 2.0, h / 2.0, w * 0.4, h * 0.45))
        }
        _ => set.aois.iter().find(|a| a.name == name).map(|a| {
            let (cx, cy, rx, ry) = a.bounds();
            (cx, cy, rx * 0.7, ry * 0.7)
        }),
    }
}

/// The scene a simulated participant sees for a stimulus drawn at `rect` (screen px) on a
/// `screen_w`×`screen_h` display.
pub fn image_scene(
    set: &StimulusSet,
    expression: Expression,
    attention: &AttentionConfig,
    rect: [f32; 4],
    screen_w: u32,
    screen_h: u32,
) -> Scene {
    let a = attention.for_expression(expression);
    let sx = f64::from(rect[2]) / f64::from(set.image_width);
    let sy = f64::from(rect[3]) / f64::from(set.image_height);
    let (w, h) = (f64::from(screen_w), f64::from(screen_h));
    let regions = a
        .regions()
        .iter()
        .filter_map(|(name, ra)| {
            let (cx, cy, rx, ry) = region_geometry(set, name)?;
            Some(AttentionRegion {
                name: (*name).to_string(),
                cx: (f64::from(rect[0]) + cx * sx) / w,
                cy: (f64::from(rect[1]) + cy * sy) / h,
                rx: rx * sx / w,
                ry: ry * sy / h,
                weight: ra.weight,
                mean_dwell_ms: ra.dwell_ms,
            })
        })
        .collect();
    Scene::Image { regions }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_share_is_weight_times_dwell() {
        let a = AttentionConfig::default();
        let s = a.smile.expected_share("mouth");
        assert!(
            (s - 0.28 * 800.0 / (0.28 * 800.0 + 0.37 * 1000.0 + 0.2 * 500.0 + 0.15 * 500.0)).abs()
                < 1e-12
        );
        assert!(a.smile.expected_share("mouth") > a.no_smile.expected_share("mouth"));
    }

    #[test]
    fn mouth_region_lies_inside_the_mouth_aoi_on_screen() {
        let set = et_stimuli::default_set::manifest(1024);
        let rect = [420.0, 0.0, 1080.0, 1080.0];
        let Scene::Image { regions } = image_scene(
            &set,
            Expression::Smile,
            &AttentionConfig::default(),
            rect,
            1920,
            1080,
        ) else {
            panic!("not an image scene");
        };
        let m = regions.iter().find(|r| r.name == "mouth").unwrap();
        let mouth = set.aois.iter().find(|a| a.name == "mouth").unwrap();
        // Back to image px: the region's extreme points are inside the AOI.
        let to_img = |x: f64, y: f64| {
            (
                (x * 1920.0 - 420.0) / 1080.0 * 1024.0,
                y * 1080.0 / 1080.0 * 1024.0,
            )
        };
        for (dx, dy) in [(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)] {
            let (x, y) = to_img(m.cx + dx * m.rx, m.cy + dy * m.ry);
            assert!(mouth.contains(x, y), "({x}, {y})");
        }
    }

    #[test]
    fn rejects_negative_weight() {
        let mut a = AttentionConfig::default();
        a.no_smile.nose.weight = -1.0;
        assert!(a
            .validate()
            .unwrap_err()
            .contains("attention.no_smile.nose"));
    }
}
