//! The screen a participant looks at: enough to turn display-area coordinates into pixels,
//! millimetres and (approximately) degrees.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenGeometry {
    pub width_px: u32,
    pub height_px: u32,
    pub width_mm: f64,
    pub height_mm: f64,
    pub viewing_distance_mm: f64,
}

/// How far below the display's bottom edge the tracker (the user coordinates' origin) sits, mm.
pub const TRACKER_BELOW_DISPLAY_MM: f64 = 20.0;

impl Default for ScreenGeometry {
    /// A 24" 16:9 monitor at 65 cm, the usual set-up for a Tobii Pro X3-120.
    fn default() -> Self {
        ScreenGeometry {
            width_px: 1920,
            height_px: 1080,
            width_mm: 531.0,
            height_mm: 299.0,
            viewing_distance_mm: 650.0,
        }
    }
}

impl ScreenGeometry {
    /// Display-area units (0..1) per degree of visual angle at the screen centre, per axis.
    pub fn norm_per_degree(&self) -> (f64, f64) {
        let mm = self.viewing_distance_mm * 1f64.to_radians().tan();
        (mm / self.width_mm, mm / self.height_mm)
    }

    /// Pixels per degree at the screen centre (horizontal).
    pub fn px_per_degree(&self) -> f64 {
        self.norm_per_degree().0 * f64::from(self.width_px)
    }

    /// A point given in millimetres on the display from its top-left corner, `z_mm` in front of
    /// it (Tobii's ADCS/DACS mm, as exports give eye positions), in the user coordinates the
    /// recordings use: x right of the display's centre, y up from the tracker 20 mm below the
    /// display's bottom edge, z towards the user (mm).
    pub fn display_mm_to_user(&self, x_mm: f64, y_mm: f64, z_mm: f64) -> [f64; 3] {
        [
            x_mm - self.width_mm / 2.0,
            TRACKER_BELOW_DISPLAY_MM + self.height_mm - y_mm,
            z_mm,
        ]
    }

    /// Checks that every dimension is positive and finite.
    pub fn validate(&self) -> Result<(), et_files::SettingError> {
        if self.width_px == 0 || self.height_px == 0 {
            return Err(et_files::SettingError::new(
                "screen.width_px",
                format!(
                    "screen size in px must be positive, got {}x{}",
                    self.width_px, self.height_px
                ),
            ));
        }
        for (name, v) in [
            ("width_mm", self.width_mm),
            ("height_mm", self.height_mm),
            ("viewing_distance_mm", self.viewing_distance_mm),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(et_files::SettingError::new(
                    format!("screen.{name}"),
                    format!("screen {name} must be a positive number, got {v}"),
                ));
            }
        }
        Ok(())
    }
}

/// Angle in degrees between the directions from `eye` to `a` and to `b` (all mm, one frame):
/// Tobii's velocity angle, computed as 2·asin(|u − v| / 2) of the unit vectors, which stays
/// accurate for tiny angles where acos does not.
pub fn angle_deg(eye: [f64; 3], a: [f64; 3], b: [f64; 3]) -> f64 {
    angle_of_chord_deg(chord(eye, a, b))
}

/// |u − v| of the unit vectors from `eye` towards `a` and `b`: the chord the angle between
/// them subtends on the unit sphere (NaN where a direction is undefined).
pub fn chord(eye: [f64; 3], a: [f64; 3], b: [f64; 3]) -> f64 {
    let unit = |p: [f64; 3]| {
        let d = [p[0] - eye[0], p[1] - eye[1], p[2] - eye[2]];
        let n = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        [d[0] / n, d[1] / n, d[2] / n]
    };
    let (u, v) = (unit(a), unit(b));
    ((u[0] - v[0]).powi(2) + (u[1] - v[1]).powi(2) + (u[2] - v[2]).powi(2)).sqrt()
}

/// The angle (degrees) a chord of the unit sphere subtends: 2·asin(c / 2).
pub fn angle_of_chord_deg(c: f64) -> f64 {
    (2.0 * (c / 2.0).min(1.0).asin()).to_degrees()
}

/// Angle (degrees) between two display-area points seen from an eye facing the screen centre
/// at the viewing distance: for when samples carry no 3D eye position.
impl ScreenGeometry {
    pub fn angle_between(&self, a: (f64, f64), b: (f64, f64)) -> f64 {
        angle_of_chord_deg(self.chord_between(a, b))
    }

    /// The chord (`chord`) of `angle_between`'s angle.
    pub fn chord_between(&self, a: (f64, f64), b: (f64, f64)) -> f64 {
        let mm = |p: (f64, f64)| {
            [
                (p.0 - 0.5) * self.width_mm,
                (0.5 - p.1) * self.height_mm,
                0.0,
            ]
        };
        chord([0.0, 0.0, self.viewing_distance_mm], mm(a), mm(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_degree_at_65_cm_is_about_11_mm() {
        let g = ScreenGeometry::default();
        let (nx, _) = g.norm_per_degree();
        let mm = nx * g.width_mm;
        assert!((mm - 11.345).abs() < 0.01, "{mm}");
        assert!((g.px_per_degree() - 41.0).abs() < 0.1);
    }

    #[test]
    fn rejects_zero_distance() {
        let g = ScreenGeometry {
            viewing_distance_mm: 0.0,
            ..Default::default()
        };
        assert_eq!(g.validate().unwrap_err().key, "screen.viewing_distance_mm");
    }
}
