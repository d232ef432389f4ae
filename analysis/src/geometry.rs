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
