//! Text screens (instructions, breaks, the end) rasterised on the CPU into an image layer: they
//! are not timing-critical, and one image path keeps the renderer simple.

use std::path::{Path, PathBuf};

use ab_glyph::{Font as _, FontVec, PxScale, ScaleFont};

use super::{PresentError, Result};

pub struct Font {
    font: FontVec,
    pub path: PathBuf,
}

impl Font {
    /// The font named by `ET_FONT`, else the first of the usual system fonts
    /// (`et_stimuli::font::font_file`).
    pub fn find() -> Result<Font> {
        let path = et_stimuli::font::font_file().map_err(|e| PresentError::Font(e.to_string()))?;
        Font::load(&path)
    }

    pub fn load(path: &Path) -> Result<Font> {
        let bytes = std::fs::read(path)
            .map_err(|e| PresentError::Font(format!("{}: {e}", path.display())))?;
        let font = FontVec::try_from_vec(bytes).map_err(|_| {
            PresentError::Font(format!("{}: not a TrueType/OpenType font", path.display()))
        })?;
        Ok(Font {
            font,
            path: path.to_path_buf(),
        })
    }

    /// `render`, at a smaller size where it would not fit `max` (width, height): text that
    /// runs off a screen or a picture is cut off without a word (a validation summary's longest
    /// line on an 800 px screen), so it is rendered again at the size that fits, glyphs sharp.
    pub fn render_within(
        &self,
        text: &str,
        px: f32,
        color: [u8; 3],
        (max_w, max_h): (u32, u32),
    ) -> image::RgbaImage {
        let mut px = px;
        let mut img = self.render(text, px, color);
        // Sizes scale with px (to within a pixel of rounding): two tries settle it.
        for _ in 0..3 {
            let k = (max_w as f32 / img.width().max(1) as f32)
                .min(max_h as f32 / img.height().max(1) as f32);
            if k >= 1.0 || px <= 6.0 {
                break;
            }
            px = (px * k * 0.98).max(6.0);
            img = self.render(text, px, color);
        }
        img
    }

    /// Lines centred on each other, `px` high, in `color` on a transparent image (alpha =
    /// glyph coverage), with a margin of half a line.
    pub fn render(&self, text: &str, px: f32, color: [u8; 3]) -> image::RgbaImage {
        let scale = PxScale::from(px);
        let f = self.font.as_scaled(scale);
        let line_h = (f.ascent() - f.descent() + f.line_gap()).ceil();
        let lines: Vec<&str> = text.lines().collect();
        let width_of = |line: &str| {
            let mut w = 0.0f32;
            let mut prev = None;
            for ch in line.chars() {
                let id = f.glyph_id(ch);
                if let Some(p) = prev {
                    w += f.kern(p, id);
                }
                w += f.h_advance(id);
                prev = Some(id);
            }
            w
        };
        let widths: Vec<f32> = lines.iter().map(|l| width_of(l)).collect();
        let margin = (px / 2.0).ceil();
        let w = (widths.iter().copied().fold(0.0, f32::max) + 2.0 * margin).ceil() as u32;
        let h = (line_h * lines.len().max(1) as f32 + 2.0 * margin).ceil() as u32;
        let mut img = image::RgbaImage::from_pixel(
            w.max(1),
            h.max(1),
            image::Rgba([color[0], color[1], color[2], 0]),
        );
        for (i, (line, lw)) in lines.iter().zip(&widths).enumerate() {
            let mut x = margin + ((w as f32 - 2.0 * margin - lw) / 2.0).floor();
            let y = margin + i as f32 * line_h + f.ascent();
            let mut prev = None;
            for ch in line.chars() {
                let id = f.glyph_id(ch);
                if let Some(p) = prev {
                    x += f.kern(p, id);
                }
                let glyph = id.with_scale_and_position(scale, ab_glyph::point(x, y));
                if let Some(outline) = self.font.outline_glyph(glyph) {
                    let b = outline.px_bounds();
                    outline.draw(|gx, gy, c| {
                        let px_x = b.min.x as i64 + i64::from(gx);
                        let px_y = b.min.y as i64 + i64::from(gy);
                        if px_x >= 0 && px_y >= 0 && (px_x as u32) < w && (px_y as u32) < h {
                            let p = img.get_pixel_mut(px_x as u32, px_y as u32);
                            let a = (c.clamp(0.0, 1.0) * 255.0).round() as u8;
                            p.0[3] = p.0[3].max(a);
                        }
                    });
                }
                x += f.h_advance(id);
                prev = Some(id);
            }
        }
        img
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_has_ink_where_glyphs_are_and_none_in_the_margin() {
        let Ok(font) = Font::find() else {
            // Setup installs fonts-dejavu-core; a machine without fonts says so in the error
            // test below instead.
            eprintln!("no system font; skipped");
            return;
        };
        let img = font.render("Pause\nPress space", 32.0, [0, 0, 0]);
        let ink = img.pixels().filter(|p| p.0[3] > 128).count();
        assert!(ink > 200, "{ink} inked pixels");
        // Two lines are taller than one and the top margin is empty.
        let one = font.render("Pause", 32.0, [0, 0, 0]);
        assert!(img.height() > one.height());
        assert!((0..img.width()).all(|x| img.get_pixel(x, 0).0[3] == 0));
    }

    #[test]
    fn text_too_wide_for_its_box_is_rendered_smaller_to_fit() {
        let Ok(font) = Font::find() else {
            eprintln!("no system font; skipped");
            return;
        };
        let long =
            "over 0.20°: (0.20, 0.50) 0.45° → key 3, (0.80, 0.50) 0.29° → key 3\nSpace: accept";
        let full = font.render(long, 18.0, [0, 0, 0]);
        assert!(full.width() > 400, "{}", full.width());
        let fitted = font.render_within(long, 18.0, [0, 0, 0], (400, 200));
        assert!(
            fitted.width() <= 400 && fitted.height() <= 200,
            "{:?}",
            fitted.dimensions()
        );
        assert!(
            fitted.width() > 300,
            "shrunk no more than needed: {}",
            fitted.width()
        );
        // Text that fits is left as it is.
        assert_eq!(
            font.render_within("Pause", 18.0, [0, 0, 0], (400, 200)),
            font.render("Pause", 18.0, [0, 0, 0])
        );
    }

    #[test]
    fn a_file_that_is_no_font_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.ttf");
        std::fs::write(&p, b"not a font").unwrap();
        let e = Font::load(&p).err().unwrap().to_string();
        assert!(e.contains("x.ttf") && e.contains("not a TrueType"), "{e}");
    }
}
