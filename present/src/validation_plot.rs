//! The validation result as the operator sees it in the participant's window while deciding
//! (as Titta and Pro Lab draw it): each target as a cross where it was on the screen, each
//! eye's mean gaze there as a dot joined to it (left blue, right green), and the summary lines
//! underneath.

use image::{Rgba, RgbaImage};

use super::draw::{blend, disk, fill_rect, line};
use super::text::Font;

/// One validation target and where each eye (left, right) looked on average, both on the
/// display area (0..1 from the top-left); `None` for an eye without valid gaze.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlotPoint {
    pub target: (f32, f32),
    pub eyes: [Option<(f32, f32)>; 2],
}

const TARGET: [u8; 3] = [240, 240, 240];
pub(crate) const EYE_COLOURS: [[u8; 3]; 2] = [[60, 110, 255], [40, 200, 80]];

/// The plot as a `width` × `height` image on a transparent background (the session's own
/// colour shows through): the screen's area above, `caption`'s lines below.
/// `screen_aspect` (width / height of the participant's screen) keeps the targets' layout.
pub fn validation_image(
    points: &[PlotPoint],
    caption: &str,
    font: Option<&Font>,
    (width, height): (u32, u32),
    screen_aspect: f32,
) -> RgbaImage {
    let (w, h) = (width.max(64) as f32, height.max(64) as f32);
    let mut img = RgbaImage::from_pixel(w as u32, h as u32, Rgba([0, 0, 0, 0]));
    // The screen's area in the top 70 %, in its own proportions, centred.
    let aspect = if screen_aspect.is_finite() && screen_aspect > 0.0 {
        screen_aspect
    } else {
        16.0 / 9.0
    };
    let (aw, ah) = {
        let ah = 0.70 * h;
        if ah * aspect <= w {
            (ah * aspect, ah)
        } else {
            (w, w / aspect)
        }
    };
    let x0 = (w - aw) / 2.0;
    let at = |p: (f32, f32)| (x0 + p.0 * aw, p.1 * ah);
    let arm = (0.02 * w).max(6.0);
    for p in points {
        let t = at(p.target);
        for (eye, colour) in p.eyes.iter().zip(EYE_COLOURS) {
            if let Some(e) = eye {
                line(&mut img, t, at(*e), 2.0, colour);
                disk(&mut img, at(*e).0, at(*e).1, arm / 2.5, colour);
            }
        }
        fill_rect(&mut img, t.0 - arm, t.1 - 1.5, 2.0 * arm, 3.0, TARGET);
        fill_rect(&mut img, t.0 - 1.5, t.1 - arm, 3.0, 2.0 * arm, TARGET);
    }
    if let Some(font) = font {
        let text = font.render_within(
            caption,
            (0.035 * h).max(12.0),
            TARGET,
            (w as u32, (0.28 * h) as u32),
        );
        let x0 = ((w - text.width() as f32) / 2.0).max(0.0) as u32;
        blend(&mut img, &text, x0, (0.72 * h) as u32);
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_summary_fits_the_picture_instead_of_running_off_it() {
        let Ok(font) = Font::find() else {
            eprintln!("no system font; skipped");
            return;
        };
        let caption = "Validation, attempt 1: FAIL\nover 0.20°: (0.20, 0.50) 0.36° → key 3, (0.80, 0.50) 0.33° → key 3, (0.50, 0.20) 0.39° → key 3\n\nSpace: accept    R: positioning, then recalibrate all";
        let img = validation_image(&[], caption, Some(&font), (400, 300), 4.0 / 3.0);
        // The text is centred and whole: no ink on the picture's left and right edges or its
        // last row (it used to be cut off at both sides).
        let inked = |x: u32, y: u32| img.get_pixel(x, y).0[3] > 0;
        assert!((0..300).all(|y| !inked(0, y) && !inked(399, y)));
        assert!((0..400).all(|x| !inked(x, 299)));
        assert!(
            (0..400).any(|x| (210..300).any(|y| inked(x, y))),
            "a caption is drawn"
        );
    }

    fn at(img: &RgbaImage, x: f32, y: f32) -> [u8; 4] {
        img.get_pixel(x as u32, y as u32).0
    }

    #[test]
    fn targets_and_each_eyes_mean_are_drawn_where_they_were() {
        let points = [PlotPoint {
            target: (0.5, 0.5),
            eyes: [Some((0.25, 0.5)), None],
        }];
        let img = validation_image(&points, "", None, (400, 400), 400.0 / 280.0);
        // The screen area is 400 × 280 px: the target at (200, 140), the left eye at (100, 140).
        assert_eq!(at(&img, 200.0, 140.0)[..3], TARGET);
        assert_eq!(at(&img, 100.0, 140.0)[..3], EYE_COLOURS[0]);
        assert_eq!(
            at(&img, 150.0, 140.0)[..3],
            EYE_COLOURS[0],
            "the joining line"
        );
        assert_eq!(at(&img, 300.0, 140.0)[3], 0, "no right eye drawn");
    }
}

#[cfg(test)]
mod proportion_tests {
    use super::*;

    #[test]
    fn a_narrower_screen_keeps_its_proportions_centred() {
        // 4:3 in a 400 × 400 picture: the area is the 280 px band's height by 373 px, centred
        // (from x = 13); a target at the screen's left edge sits there.
        let points = [PlotPoint {
            target: (0.0, 0.5),
            eyes: [None, None],
        }];
        let img = validation_image(&points, "", None, (400, 400), 4.0 / 3.0);
        let x0 = (400.0 - 280.0 * 4.0 / 3.0) / 2.0;
        assert_eq!(img.get_pixel(x0 as u32 + 1, 140).0[..3], TARGET);
    }
}
