//! The renderer drawing into a texture that is read back: the participant's view without a
//! display, for pixel-exact tests (lavapipe in CI) and for previewing a stimulus set.

use super::gpu::{request_device, Renderer};
use super::{PresentError, Result, Screen, Style};

const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

pub struct Offscreen {
    pub renderer: Renderer,
    w: u32,
    h: u32,
    target: wgpu::Texture,
    view: wgpu::TextureView,
    readback: wgpu::Buffer,
    /// Bytes per row in the read-back buffer (wgpu pads rows to 256 bytes).
    padded_row: u32,
}

impl Offscreen {
    /// A `w` × `h` px screen on the first adapter wgpu finds (lavapipe without a GPU).
    pub fn new(w: u32, h: u32, style: Style) -> Result<Offscreen> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let (_adapter, device, queue, info) = request_device(&instance, None)?;
        let max = device.limits().max_texture_dimension_2d;
        if w == 0 || h == 0 || w > max || h > max {
            return Err(PresentError::TooLarge {
                key: "offscreen target".into(),
                w,
                h,
                max,
            });
        }
        let target = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("offscreen"),
            size: wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = target.create_view(&wgpu::TextureViewDescriptor::default());
        let align = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let padded_row = (4 * w).div_ceil(align) * align;
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("offscreen readback"),
            size: u64::from(padded_row) * u64::from(h),
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        Ok(Offscreen {
            renderer: Renderer::new(device, queue, FORMAT, style, info),
            w,
            h,
            target,
            view,
            readback,
            padded_row,
        })
    }

    pub fn size(&self) -> (u32, u32) {
        (self.w, self.h)
    }

    /// Draws `screen` and waits until the GPU is done (no read-back): what one frame costs.
    pub fn draw(&mut self, screen: &Screen, age_s: f32) -> Result<()> {
        let enc = self
            .renderer
            .encode(&self.view, self.w, self.h, screen, age_s)?;
        let r = &self.renderer;
        r.queue().submit([enc.finish()]);
        r.device()
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| PresentError::Device(e.to_string()))?;
        self.renderer.check()
    }

    /// Draws `screen` and reads it back as the participant would see it.
    pub fn render(&mut self, screen: &Screen, age_s: f32) -> Result<image::RgbaImage> {
        let mut enc = self
            .renderer
            .encode(&self.view, self.w, self.h, screen, age_s)?;
        enc.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture: &self.target,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &self.readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(self.padded_row),
                    rows_per_image: Some(self.h),
                },
            },
            wgpu::Extent3d {
                width: self.w,
                height: self.h,
                depth_or_array_layers: 1,
            },
        );
        let r = &self.renderer;
        r.queue().submit([enc.finish()]);
        let slice = self.readback.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |res| {
            let _ = tx.send(res);
        });
        r.device()
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| PresentError::Device(e.to_string()))?;
        rx.recv()
            .map_err(|_| PresentError::Device("read-back never finished".into()))?
            .map_err(|e| PresentError::Device(format!("read-back: {e}")))?;
        r.check()?;
        let mut out = Vec::with_capacity((4 * self.w * self.h) as usize);
        {
            let data = slice
                .get_mapped_range()
                .map_err(|e| PresentError::Device(format!("read-back: {e}")))?;
            for row in data.chunks(self.padded_row as usize) {
                out.extend_from_slice(&row[..(4 * self.w) as usize]);
            }
        }
        self.readback.unmap();
        image::RgbaImage::from_raw(self.w, self.h, out)
            .ok_or_else(|| PresentError::Device("read-back has the wrong size".into()))
    }
}

/// Golden-image tests: every render is compared pixel for pixel with what the drawing rules
/// say (the shader's rules re-stated on the CPU), on whatever adapter wgpu finds — lavapipe in CI.
#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};
    use rand::{Rng, SeedableRng};

    const BG: [u8; 3] = [128, 128, 128];

    fn screen(w: u32, h: u32) -> Offscreen {
        match Offscreen::new(w, h, Style::default()) {
            Ok(o) => o,
            Err(e) => panic!("{e}"),
        }
    }

    fn noise(w: u32, h: u32, seed: u64) -> RgbaImage {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        RgbaImage::from_fn(w, h, |_, _| {
            Rgba([rng.random(), rng.random(), rng.random(), 255])
        })
    }

    fn bg() -> Rgba<u8> {
        Rgba([BG[0], BG[1], BG[2], 255])
    }

    fn assert_same(got: &RgbaImage, want: &RgbaImage) {
        let diffs: Vec<_> = got
            .enumerate_pixels()
            .filter(|(x, y, p)| *p != want.get_pixel(*x, *y))
            .take(5)
            .map(|(x, y, p)| (x, y, p.0, want.get_pixel(x, y).0))
            .collect();
        assert!(
            diffs.is_empty(),
            "pixels differ (x, y, got, want): {diffs:?}"
        );
    }

    #[test]
    fn an_image_at_its_own_size_reaches_the_screen_unchanged() {
        let mut o = screen(160, 120);
        let img = noise(100, 80, 7);
        o.renderer.preload("face", &img).unwrap();
        let rect = [30.0, 20.0, 100.0, 80.0];
        let got = o
            .render(
                &Screen::Image {
                    key: "face".into(),
                    rect,
                },
                0.0,
            )
            .unwrap();
        let want = RgbaImage::from_fn(160, 120, |x, y| {
            if (30..130).contains(&x) && (20..100).contains(&y) {
                *img.get_pixel(x - 30, y - 20)
            } else {
                bg()
            }
        });
        assert_same(&got, &want);
    }

    /// A key loaded again at the same size reuses its texture: the new image is what shows.
    #[test]
    fn an_image_loaded_again_under_its_key_replaces_the_old_one() {
        let mut o = screen(100, 80);
        let rect = [0.0, 0.0, 100.0, 80.0];
        let shown = Screen::Image {
            key: "operator".into(),
            rect,
        };
        for seed in [1, 2] {
            let img = noise(100, 80, seed);
            o.renderer.preload("operator", &img).unwrap();
            assert_same(&o.render(&shown, 0.0).unwrap(), &img);
        }
    }

    #[test]
    fn a_scaled_image_fills_exactly_its_rectangle() {
        // A 64² image of four flat quadrants fitted into 200×100: drawn at (50, 0), 100×100.
        let mut o = screen(200, 100);
        let quad = |x: u32, y: u32| match (x < 32, y < 32) {
            (true, true) => Rgba([255, 0, 0, 255]),
            (false, true) => Rgba([0, 255, 0, 255]),
            (true, false) => Rgba([0, 0, 255, 255]),
            (false, false) => Rgba([255, 255, 0, 255]),
        };
        o.renderer
            .preload("q", &RgbaImage::from_fn(64, 64, quad))
            .unwrap();
        let got = o
            .render(
                &Screen::Image {
                    key: "q".into(),
                    rect: [50.0, 0.0, 100.0, 100.0],
                },
                0.0,
            )
            .unwrap();
        for y in 0..100 {
            for x in 0..200 {
                let p = *got.get_pixel(x, y);
                if !(50..150).contains(&x) {
                    assert_eq!(p, bg(), "({x}, {y}) outside the image");
                } else {
                    // Away from the quadrant seam (filtering blends there) colours are exact.
                    let (ix, iy) = (x - 50, y);
                    if (ix as i32 - 50).abs() > 2 && (iy as i32 - 50).abs() > 2 {
                        let want = quad(ix * 64 / 100, iy * 64 / 100);
                        assert_eq!(p, want, "({x}, {y})");
                    }
                }
            }
        }
    }

    #[test]
    fn the_fixation_cross_is_centred_with_the_styled_size() {
        let (w, h) = (120u32, 90u32);
        let mut o = screen(w, h);
        let got = o.render(&Screen::Cross, 0.0).unwrap();
        let s = Style::default();
        let want = RgbaImage::from_fn(w, h, |x, y| {
            let dx = (x as f32 + 0.5 - w as f32 / 2.0).abs();
            let dy = (y as f32 + 0.5 - h as f32 / 2.0).abs();
            let (a, t) = (s.cross_size_px / 2.0, s.cross_thickness_px / 2.0);
            if (dx < a && dy < t) || (dy < a && dx < t) {
                Rgba([0, 0, 0, 255])
            } else {
                bg()
            }
        });
        assert_same(&got, &want);
        // 40 px arms, 4 px thick: 2 × 40 × 4 − 4 × 4 black pixels.
        let black = got.pixels().filter(|p| p.0[0] == 0).count();
        assert_eq!(black, 2 * 40 * 4 - 16);
    }

    #[test]
    fn the_calibration_target_shrinks_around_its_dot() {
        let (w, h) = (200u32, 100u32);
        let mut o = screen(w, h);
        let s = Style::default();
        for age in [0.0f32, 0.3, 2.0] {
            let got = o.render(&Screen::Target { x: 0.25, y: 0.5 }, age).unwrap();
            let r = s.target_radius(age);
            let want = RgbaImage::from_fn(w, h, |x, y| {
                let d = ((x as f32 + 0.5 - 50.0).powi(2) + (y as f32 + 0.5 - 50.0).powi(2)).sqrt();
                if d < s.target_dot_radius_px {
                    Rgba([0, 0, 0, 255])
                } else if d < r {
                    Rgba([255, 255, 255, 255])
                } else {
                    bg()
                }
            });
            assert_same(&got, &want);
        }
    }

    #[test]
    fn blank_text_and_missing_images() {
        let mut o = screen(320, 120);
        let got = o.render(&Screen::Blank, 0.0).unwrap();
        assert!(got.pixels().all(|p| *p == bg()));
        let e = o
            .render(
                &Screen::Image {
                    key: "nope".into(),
                    rect: [0.0, 0.0, 10.0, 10.0],
                },
                0.0,
            )
            .err()
            .unwrap();
        assert!(e.to_string().contains("\"nope\" was not preloaded"), "{e}");
        if crate::text::Font::find().is_ok() {
            let got = o.render(&Screen::Text("Pause".into()), 0.0).unwrap();
            let dark = |x: u32, y: u32| got.get_pixel(x, y).0[0] < 64;
            let ink = (0..320).flat_map(|x| (0..120).map(move |y| (x, y)));
            let inked: Vec<_> = ink.filter(|&(x, y)| dark(x, y)).collect();
            assert!(inked.len() > 100, "{} dark pixels", inked.len());
            // Centred: the ink's bounding box sits around the middle.
            let (minx, maxx) = (
                inked.iter().map(|p| p.0).min().unwrap(),
                inked.iter().map(|p| p.0).max().unwrap(),
            );
            assert!((i64::from(minx + maxx) - 320).abs() < 8, "{minx}..{maxx}");
            assert!((0..320).all(|x| !dark(x, 0) && !dark(x, 119)));
        }
    }
}
