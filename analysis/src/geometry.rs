//! Display-area coordinates → screen pixels → stimulus-image pixels.

/// Screen px of a display-area point (0..1 from the top-left).
pub fn display_to_screen(x: f64, y: f64, screen_w: u32, screen_h: u32) -> (f64, f64) {
    (x * f64::from(screen_w), y * f64::from(screen_h))
}

/// Image px of a screen point, for an image of `img_w`×`img_h` drawn at `rect` (x, y, w, h).
pub fn screen_to_image(sx: f64, sy: f64, rect: [f32; 4], img_w: u32, img_h: u32) -> (f64, f64) {
    let [rx, ry, rw, rh] = rect.map(f64::from);
    (
        (sx - rx) / rw * f64::from(img_w),
        (sy - ry) / rh * f64::from(img_h),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centre_of_screen_is_centre_of_a_centred_image() {
        let (sx, sy) = display_to_screen(0.5, 0.5, 1920, 1080);
        assert_eq!((sx, sy), (960.0, 540.0));
        let (ix, iy) = screen_to_image(sx, sy, [420.0, 0.0, 1080.0, 1080.0], 1024, 1024);
        assert!((ix - 512.0).abs() < 1e-9 && (iy - 512.0).abs() < 1e-9);
        let (ix, _) = screen_to_image(420.0, 0.0, [420.0, 0.0, 1080.0, 1080.0], 1024, 1024);
        assert_eq!(ix, 0.0);
    }
}

/// Visual angle helpers for one screen set-up: the screen's own (`et_drivers::geometry`, the
/// one owner of angles) plus pymovements' per-axis degrees, which only the analysis uses.
#[derive(Debug, Clone, Copy)]
pub struct Degrees {
    pub width_mm: f64,
    pub height_mm: f64,
    pub distance_mm: f64,
    pub width_px: f64,
    pub height_px: f64,
    screen: et_drivers::ScreenGeometry,
}

impl Degrees {
    pub fn new(s: &et_drivers::ScreenGeometry) -> Self {
        Degrees {
            width_mm: s.width_mm,
            height_mm: s.height_mm,
            distance_mm: s.viewing_distance_mm,
            width_px: f64::from(s.width_px),
            height_px: f64::from(s.height_px),
            screen: *s,
        }
    }

    /// A display-area point as mm on the screen plane, origin at the centre, y up.
    pub fn display_to_mm(&self, x: f64, y: f64) -> [f64; 3] {
        [(x - 0.5) * self.width_mm, (0.5 - y) * self.height_mm, 0.0]
    }

    /// Degrees from the screen centre per axis (pymovements' pix2deg, with the eye facing the
    /// screen centre at the viewing distance).
    pub fn display_to_deg(&self, x: f64, y: f64) -> (f64, f64) {
        let [mx, my, _] = self.display_to_mm(x, y);
        (
            mx.atan2(self.distance_mm).to_degrees(),
            my.atan2(self.distance_mm).to_degrees(),
        )
    }

    /// Pixels per degree at the screen centre (horizontal).
    pub fn px_per_deg(&self) -> f64 {
        self.screen.px_per_degree()
    }

    /// Angle between two display-area gaze points seen from an eye at the screen centre at the
    /// viewing distance (used when the sample carries no 3D eye position).
    pub fn angle_2d(&self, a: (f64, f64), b: (f64, f64)) -> f64 {
        self.screen.angle_between(a, b)
    }

    /// The chord of `angle_2d`'s angle (`et_drivers::geometry::chord`).
    pub fn chord_2d(&self, a: (f64, f64), b: (f64, f64)) -> f64 {
        self.screen.chord_between(a, b)
    }
}

pub use et_drivers::geometry::{angle_deg, angle_of_chord_deg, chord};

#[cfg(test)]
mod angle_tests {
    use super::*;

    #[test]
    fn angles_by_hand() {
        // 10 mm at 573 mm is about 1 degree; a right angle is 90.
        let d = angle_deg([0.0, 0.0, 573.0], [0.0, 0.0, 0.0], [10.0, 0.0, 0.0]);
        assert!((d - (10.0f64 / 573.0).atan().to_degrees()).abs() < 1e-12);
        assert!((angle_deg([0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]) - 90.0).abs() < 1e-12);
        assert_eq!(angle_deg([0.0; 3], [1.0, 1.0, 1.0], [2.0, 2.0, 2.0]), 0.0);
        let g = Degrees::new(&et_drivers::ScreenGeometry::default());
        let (dx, dy) = g.display_to_deg(0.5, 0.5);
        assert_eq!((dx, dy), (0.0, 0.0));
        let (dx, _) = g.display_to_deg(1.0, 0.5);
        assert!((dx - (265.5f64 / 650.0).atan().to_degrees()).abs() < 1e-12);
        assert!((g.px_per_deg() - 41.0).abs() < 0.1);
    }
}
