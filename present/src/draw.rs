//! A few shapes drawn on the CPU into the image layers of the operator's screens (the
//! positioning guide, the validation plot, the operator's live picture): not timing-critical, and too few to need a
//! drawing crate in the presenter.

use image::{Rgba, RgbaImage};

pub(crate) fn rgba(c: [u8; 3]) -> Rgba<u8> {
    Rgba([c[0], c[1], c[2], 255])
}

pub(crate) fn fill_rect(img: &mut RgbaImage, x: f32, y: f32, w: f32, h: f32, c: [u8; 3]) {
    let (iw, ih) = (img.width() as i64, img.height() as i64);
    let (x0, y0) = ((x.round() as i64).max(0), (y.round() as i64).max(0));
    let (x1, y1) = (
        ((x + w).round() as i64).min(iw),
        ((y + h).round() as i64).min(ih),
    );
    for py in y0..y1 {
        for px in x0..x1 {
            img.put_pixel(px as u32, py as u32, rgba(c));
        }
    }
}

pub(crate) fn rect_outline(
    img: &mut RgbaImage,
    x: f32,
    y: f32,
    w: f32,
    h: f32,
    t: f32,
    c: [u8; 3],
) {
    fill_rect(img, x, y, w, t, c);
    fill_rect(img, x, y + h - t, w, t, c);
    fill_rect(img, x, y, t, h, c);
    fill_rect(img, x + w - t, y, t, h, c);
}

pub(crate) fn disk(img: &mut RgbaImage, cx: f32, cy: f32, r: f32, c: [u8; 3]) {
    let (iw, ih) = (img.width() as i64, img.height() as i64);
    let (x0, x1) = (
        ((cx - r).floor() as i64).max(0),
        ((cx + r).ceil() as i64).min(iw),
    );
    let (y0, y1) = (
        ((cy - r).floor() as i64).max(0),
        ((cy + r).ceil() as i64).min(ih),
    );
    for py in y0..y1 {
        for px in x0..x1 {
            let (dx, dy) = (px as f32 + 0.5 - cx, py as f32 + 0.5 - cy);
            if dx * dx + dy * dy <= r * r {
                img.put_pixel(px as u32, py as u32, rgba(c));
            }
        }
    }
}

/// `top` over `img` at (x0, y0), by `top`'s alpha.
pub(crate) fn blend(img: &mut RgbaImage, top: &RgbaImage, x0: u32, y0: u32) {
    for (x, y, p) in top.enumerate_pixels() {
        let (px, py) = (x0 + x, y0 + y);
        if px >= img.width() || py >= img.height() {
            continue;
        }
        let a = f32::from(p[3]) / 255.0;
        let under = img.get_pixel_mut(px, py);
        let b = f32::from(under[3]) / 255.0;
        let out = a + b * (1.0 - a);
        if out > 0.0 {
            for k in 0..3 {
                let c = (f32::from(p[k]) * a + f32::from(under[k]) * b * (1.0 - a)) / out;
                under[k] = c.round() as u8;
            }
        }
        under[3] = (out * 255.0).round() as u8;
    }
}

/// A line from `a` to `b`, `w` px wide, as a row of small disks.
pub(crate) fn line(img: &mut RgbaImage, a: (f32, f32), b: (f32, f32), w: f32, c: [u8; 3]) {
    let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
    let steps = (len / (w / 2.0).max(0.5)).ceil().max(1.0) as usize;
    for k in 0..=steps {
        let t = k as f32 / steps as f32;
        disk(
            img,
            a.0 + (b.0 - a.0) * t,
            a.1 + (b.1 - a.1) * t,
            w / 2.0,
            c,
        );
    }
}
