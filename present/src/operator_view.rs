//! The operator's live picture (the second window): the participant's screen scaled down with
//! the current stimulus, where each eye looks now and a short trail, and the session's live
//! line underneath. Drawn on the CPU a few times a second (not timing-critical), so the
//! participant's presenter only uploads and shows a finished image.

use image::{imageops, Rgba, RgbaImage};

use super::draw::{blend, disk, fill_rect, line};
use super::text::Font;

/// What the operator's picture shows; positions in display-area units (0..1 from the top-left).
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorView<'a> {
    /// The participant's screen size (px), for the proportions and the stimulus rectangle.
    pub screen: (u32, u32),
    pub background: [u8; 3],
    /// The stimulus on screen and its rectangle there ([x, y, w, h], screen px).
    pub image: Option<(&'a RgbaImage, [f32; 4])>,
    /// A fixation cross or calibration target, when one is shown.
    pub target: Option<(f32, f32)>,
    /// Where each eye (left, right) looks now; `None` when the tracker does not see it.
    pub gaze: [Option<(f32, f32)>; 2],
    /// Earlier gaze (mean of the eyes), oldest first.
    pub trail: Vec<(f32, f32)>,
    /// The live line (trial, time left, tracker state, valid share, dropped frames).
    pub caption: String,
    /// The caption in the colour of trouble (tracker silent, little valid gaze).
    pub alarm: bool,
}

pub const LEFT_EYE: [u8; 3] = [40, 120, 255];
pub const RIGHT_EYE: [u8; 3] = [255, 70, 40];
const TRAIL: [u8; 3] = [255, 220, 0];
const TARGET: [u8; 3] = [255, 255, 255];
const CAPTION_BAND: [u8; 3] = [20, 20, 20];
const CAPTION: [u8; 3] = [230, 230, 230];
const ALARM: [u8; 3] = [255, 90, 70];

/// Where the participant's screen sits in a `width` × `height` picture: (x, y, w, h), its
/// proportions kept, above a caption band of `band` px.
pub fn screen_area(screen: (u32, u32), width: u32, height: u32, band: u32) -> [f32; 4] {
    let (sw, sh) = (screen.0.max(1) as f32, screen.1.max(1) as f32);
    let (w, h) = (width as f32, height.saturating_sub(band).max(1) as f32);
    let scale = (w / sw).min(h / sh);
    let (aw, ah) = (sw * scale, sh * scale);
    [(w - aw) / 2.0, (h - ah) / 2.0, aw, ah]
}

/// The caption band's height for a picture `height` px high (two lines of text).
pub fn caption_band(height: u32) -> u32 {
    (height / 6).clamp(30, 96)
}

/// The operator's picture, `width` × `height` px.
pub fn operator_image(v: &OperatorView, font: Option<&Font>, width: u32, height: u32) -> RgbaImage {
    let (width, height) = (width.max(64), height.max(64));
    let band = caption_band(height);
    let mut img = RgbaImage::from_pixel(width, height, Rgba([0, 0, 0, 255]));
    let [ax, ay, aw, ah] = screen_area(v.screen, width, height, band);
    fill_rect(&mut img, ax, ay, aw, ah, v.background);
    let scale = aw / v.screen.0.max(1) as f32;
    if let Some((stim, [x, y, w, h])) = v.image {
        let (tw, th) = ((w * scale).round() as u32, (h * scale).round() as u32);
        if tw > 0 && th > 0 {
            let thumb = if (stim.width(), stim.height()) == (tw, th) {
                stim.clone()
            } else {
                imageops::resize(stim, tw, th, imageops::FilterType::Triangle)
            };
            imageops::overlay(
                &mut img,
                &thumb,
                (ax + x * scale).round() as i64,
                (ay + y * scale).round() as i64,
            );
        }
    }
    let to_px = |(x, y): (f32, f32)| (ax + x * aw, ay + y * ah);
    if let Some(t) = v.target {
        let (cx, cy) = to_px(t);
        line(&mut img, (cx - 8.0, cy), (cx + 8.0, cy), 2.0, TARGET);
        line(&mut img, (cx, cy - 8.0), (cx, cy + 8.0), 2.0, TARGET);
    }
    for w in v.trail.windows(2) {
        line(&mut img, to_px(w[0]), to_px(w[1]), 1.5, TRAIL);
    }
    let r = (aw / 120.0).clamp(3.0, 10.0);
    for (g, c) in v.gaze.iter().zip([LEFT_EYE, RIGHT_EYE]) {
        if let Some(p) = g {
            let (cx, cy) = to_px(*p);
            disk(&mut img, cx, cy, r, c);
        }
    }
    let y0 = height - band;
    fill_rect(
        &mut img,
        0.0,
        y0 as f32,
        width as f32,
        band as f32,
        CAPTION_BAND,
    );
    if let Some(font) = font {
        let colour = if v.alarm { ALARM } else { CAPTION };
        // Where the session is on the first line, the tracker and frames on the second.
        let (first, rest) = v.caption.split_once(" | ").unwrap_or((&v.caption, ""));
        let line_h = band / 2;
        for (k, text) in [first, rest].into_iter().enumerate() {
            // Too long: smaller, so nothing the operator needs is cut off.
            let room = (width.saturating_sub(8).max(1), line_h.max(1));
            let img_text = font.render_within(text, line_h as f32 * 0.75, colour, room);
            let ty = y0 + k as u32 * line_h + line_h.saturating_sub(img_text.height()) / 2;
            blend(&mut img, &img_text, 4, ty);
        }
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    fn px(img: &RgbaImage, x: f32, y: f32) -> [u8; 3] {
        let p = img.get_pixel(x as u32, y as u32);
        [p[0], p[1], p[2]]
    }

    #[test]
    fn the_stimulus_and_each_eye_land_where_they_are_on_the_participants_screen() {
        // A 1920×1080 screen in a 640×420 picture: 350 px high above a 70 px band.
        let stim = RgbaImage::from_pixel(100, 100, Rgba([0, 200, 0, 255]));
        let v = OperatorView {
            screen: (1920, 1080),
            background: [128, 128, 128],
            image: Some((&stim, [960.0, 0.0, 960.0, 1080.0])),
            target: None,
            gaze: [Some((0.25, 0.5)), Some((0.75, 0.25))],
            trail: vec![],
            caption: String::new(),
            alarm: false,
        };
        let img = operator_image(&v, None, 640, 420);
        assert_eq!(caption_band(420), 70);
        let [x, y, w, h] = screen_area((1920, 1080), 640, 420, 70);
        assert!((x - 8.89).abs() < 0.01 && y.abs() < 0.01 && (w - 622.22).abs() < 0.01);
        assert!((h - 350.0).abs() < 0.01);
        // 350 px high at 16:9 is 622.2 px wide, centred from x = 8.9: the stimulus fills
        // the right half, the left half is background.
        assert_eq!(px(&img, 400.0, 100.0), [0, 200, 0]);
        assert_eq!(px(&img, 100.0, 100.0), [128, 128, 128]);
        // Left eye at (8.9 + 155.6, 175), right eye at (8.9 + 466.7, 87.5).
        assert_eq!(px(&img, 164.5, 175.0), LEFT_EYE);
        assert_eq!(px(&img, 475.6, 87.5), RIGHT_EYE);
        // The caption band below the screen.
        assert_eq!(px(&img, 10.0, 410.0), CAPTION_BAND);
    }
}
