//! The positioning guide's picture: the tracker's head box seen from the screen, the
//! participant's eyes in it (green inside, red outside, larger when closer), a distance scale
//! with the allowed range, and a caption. Drawn on the CPU into an image layer like the text
//! screens (not timing-critical; a few shapes need no drawing crate).

use image::{Rgba, RgbaImage};

use super::draw::{blend, disk, fill_rect, rect_outline};
use super::text::Font;

/// What the guide shows, in the box's own terms (the caller maps millimetres to these).
#[derive(Debug, Clone, PartialEq)]
pub struct GuideView {
    /// Each eye (left, right) across the box's front: −1 at its left or bottom edge, +1 at its
    /// right or top edge; `None` when the tracker does not see it.
    pub eyes: [Option<(f32, f32)>; 2],
    /// The eyes' distance across the allowed range: 0 at the nearest, 1 at the farthest.
    pub depth: Option<f32>,
    /// Every eye seen is inside the box and at an allowed distance.
    pub inside: bool,
    pub caption: String,
}

/// Transparent: the guide sits on the session's own background colour.
const BACKGROUND: [u8; 4] = [0, 0, 0, 0];
const OUTLINE: [u8; 3] = [200, 200, 200];
const GOOD: [u8; 3] = [40, 200, 80];
const BAD: [u8; 3] = [220, 50, 40];

/// The guide as a `width` × `height` image (the box takes the upper part, the distance scale
/// and caption the lower).
pub fn guide_image(v: &GuideView, font: Option<&Font>, width: u32, height: u32) -> RgbaImage {
    let (w, h) = (width.max(64) as f32, height.max(64) as f32);
    let mut img = RgbaImage::from_pixel(w as u32, h as u32, Rgba(BACKGROUND));
    let state = if v.inside { GOOD } else { BAD };
    // The head box: 70 % of the width, 55 % of the height, from 8 % down.
    let (bx, by, bw, bh) = (0.15 * w, 0.08 * h, 0.70 * w, 0.55 * h);
    rect_outline(&mut img, bx, by, bw, bh, 3.0, OUTLINE);
    let radius = 0.05 * bh * (1.5 - v.depth.unwrap_or(0.5).clamp(0.0, 1.0));
    for (x, y) in v.eyes.iter().flatten() {
        let cx = bx + bw * (x + 1.0) / 2.0;
        let cy = by + bh * (1.0 - y) / 2.0;
        disk(&mut img, cx, cy, radius, state);
    }
    // The distance scale: the allowed range is the bar, the eyes' distance its marker.
    let (sx, sy, sw) = (bx, by + bh + 0.08 * h, bw);
    fill_rect(&mut img, sx, sy - 2.0, sw, 4.0, OUTLINE);
    fill_rect(&mut img, sx - 2.0, sy - 12.0, 4.0, 24.0, OUTLINE);
    fill_rect(&mut img, sx + sw - 2.0, sy - 12.0, 4.0, 24.0, OUTLINE);
    if let Some(d) = v.depth {
        let mx = sx + sw * d.clamp(-0.1, 1.1);
        disk(&mut img, mx, sy, 10.0, state);
    }
    if let Some(font) = font {
        let y0 = (sy + 0.05 * h) as u32;
        let text = font.render_within(
            &v.caption,
            (0.05 * h).max(12.0),
            state,
            (w as u32, (h as u32).saturating_sub(y0)),
        );
        let x0 = ((w - text.width() as f32) / 2.0).max(0.0) as u32;
        blend(&mut img, &text, x0, y0);
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(img: &RgbaImage, x: f32, y: f32) -> [u8; 3] {
        let p = img.get_pixel(x as u32, y as u32);
        if p[3] == 0 {
            return [0; 3];
        }
        [p[0], p[1], p[2]]
    }

    #[test]
    fn eyes_are_drawn_where_the_box_says_in_the_colour_of_the_verdict() {
        let (w, h) = (400u32, 300u32);
        let mut v = GuideView {
            eyes: [Some((-0.2, 0.0)), Some((0.2, 0.0))],
            depth: Some(0.5),
            inside: true,
            caption: String::new(),
        };
        let img = guide_image(&v, None, w, h);
        // Box from x = 60 to 340, y = 24 to 189; the eyes at x = 60 + 280 × 0.4 and × 0.6.
        let cy = 24.0 + 165.0 / 2.0;
        assert_eq!(at(&img, 172.0, cy), GOOD);
        assert_eq!(at(&img, 228.0, cy), GOOD);
        assert_eq!(at(&img, 200.0, cy), [0; 3]);
        assert_eq!(at(&img, 61.0, cy), OUTLINE);
        // The distance marker half-way along the scale.
        assert_eq!(at(&img, 200.0, 189.0 + 24.0), GOOD);
        v.inside = false;
        v.eyes[0] = None;
        let img = guide_image(&v, None, w, h);
        assert_eq!(at(&img, 172.0, cy), [0; 3]);
        assert_eq!(at(&img, 228.0, cy), BAD);
    }
}
