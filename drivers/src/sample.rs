//! One binocular gaze sample, as a screen-based tracker reports it.

/// One eye of a sample. Invalid values are NaN and their `*_valid` flag is false, so a reader
/// can never mistake a missing value for a real zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EyeSample {
    /// Gaze on the display area, 0..1 from the top-left corner.
    pub gaze_x: f32,
    pub gaze_y: f32,
    pub gaze_valid: bool,
    pub pupil_mm: f32,
    pub pupil_valid: bool,
    /// Eye position in the tracker's user coordinate system (mm).
    pub origin_mm: [f32; 3],
    pub origin_valid: bool,
    /// Gaze point on the display in user coordinates (mm).
    pub gaze3d_mm: [f32; 3],
}

impl EyeSample {
    /// An eye the tracker did not find.
    pub const INVALID: EyeSample = EyeSample {
        gaze_x: f32::NAN,
        gaze_y: f32::NAN,
        gaze_valid: false,
        pupil_mm: f32::NAN,
        pupil_valid: false,
        origin_mm: [f32::NAN; 3],
        origin_valid: false,
        gaze3d_mm: [f32::NAN; 3],
    };

    /// Compares bit patterns, so NaN equals NaN: what "sample for sample" means for round trips.
    pub fn bit_eq(&self, other: &EyeSample) -> bool {
        fn f(a: f32, b: f32) -> bool {
            a.to_bits() == b.to_bits()
        }
        f(self.gaze_x, other.gaze_x)
            && f(self.gaze_y, other.gaze_y)
            && self.gaze_valid == other.gaze_valid
            && f(self.pupil_mm, other.pupil_mm)
            && self.pupil_valid == other.pupil_valid
            && self
                .origin_mm
                .iter()
                .zip(other.origin_mm)
                .all(|(a, b)| f(*a, b))
            && self.origin_valid == other.origin_valid
            && self
                .gaze3d_mm
                .iter()
                .zip(other.gaze3d_mm)
                .all(|(a, b)| f(*a, b))
    }
}

/// A binocular sample. Both time stamps are microseconds: `system_ts_us` on the session clock
/// (DESIGN.md "Time"), `device_ts_us` on the tracker's own clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GazeSample {
    pub system_ts_us: i64,
    pub device_ts_us: i64,
    pub left: EyeSample,
    pub right: EyeSample,
}

impl GazeSample {
    pub fn bit_eq(&self, other: &GazeSample) -> bool {
        self.system_ts_us == other.system_ts_us
            && self.device_ts_us == other.device_ts_us
            && self.left.bit_eq(&other.left)
            && self.right.bit_eq(&other.right)
    }

    /// Gaze on the display area from whichever eyes are valid (their mean when both are).
    pub fn mean_gaze(&self) -> Option<(f32, f32)> {
        match (self.left.gaze_valid, self.right.gaze_valid) {
            (true, true) => Some((
                (self.left.gaze_x + self.right.gaze_x) / 2.0,
                (self.left.gaze_y + self.right.gaze_y) / 2.0,
            )),
            (true, false) => Some((self.left.gaze_x, self.left.gaze_y)),
            (false, true) => Some((self.right.gaze_x, self.right.gaze_y)),
            (false, false) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_gaze_uses_only_valid_eyes() {
        let mut s = GazeSample {
            system_ts_us: 0,
            device_ts_us: 0,
            left: EyeSample::INVALID,
            right: EyeSample::INVALID,
        };
        assert_eq!(s.mean_gaze(), None);
        s.right.gaze_valid = true;
        s.right.gaze_x = 0.25;
        s.right.gaze_y = 0.75;
        assert_eq!(s.mean_gaze(), Some((0.25, 0.75)));
        s.left.gaze_valid = true;
        s.left.gaze_x = 0.75;
        s.left.gaze_y = 0.25;
        assert_eq!(s.mean_gaze(), Some((0.5, 0.5)));
    }

    #[test]
    fn bit_eq_treats_nan_as_equal_but_not_other_values() {
        let a = EyeSample::INVALID;
        assert!(a.bit_eq(&EyeSample::INVALID));
        let mut b = a;
        b.pupil_mm = 3.0;
        assert!(!a.bit_eq(&b));
    }
}
