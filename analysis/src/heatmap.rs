//! Group heatmaps per stimulus: fixation-duration-weighted Gaussian density, each participant
//! normalised to unit mass before averaging so that every participant weighs the same, kernel
//! width in degrees of visual angle. The density is accumulated as point masses and blurred
//! with a separable Gaussian (two 1-D passes), so the cost per image is linear in its pixels
//! (times the kernel width), never per-pixel kernels.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};

use crate::AnalysisError;

/// The normalised Gaussian taps for `sigma` cells, ±3σ, and their reach `r` (taps -r..=r).
fn gaussian_kernel(sigma: f64) -> (isize, Vec<f32>) {
    let r = (3.0 * sigma).ceil() as isize;
    let k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp() as f32)
        .collect();
    let norm: f32 = k.iter().sum();
    (r, k.iter().map(|v| v / norm).collect())
}

/// A density over an image, row-major, `w`×`h` cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Density {
    pub w: usize,
    pub h: usize,
    pub data: Vec<f32>,
}

impl Density {
    pub fn zeros(w: usize, h: usize) -> Self {
        Density {
            w,
            h,
            data: vec![0.0; w * h],
        }
    }

    pub fn sum(&self) -> f64 {
        self.data.iter().map(|v| f64::from(*v)).sum()
    }

    pub fn max(&self) -> f32 {
        self.data.iter().copied().fold(0.0, f32::max)
    }

    /// Adds a point mass at image position (x, y) in cell units; points off the image are dropped.
    pub fn splat(&mut self, x: f64, y: f64, weight: f64) {
        if x >= 0.0 && y >= 0.0 && (x as usize) < self.w && (y as usize) < self.h {
            self.data[y as usize * self.w + x as usize] += weight as f32;
        }
    }

    /// Separable Gaussian blur with standard deviation `sigma` cells (kernel ±3σ), zero outside.
    pub fn blur(&mut self, sigma: f64) {
        if sigma <= 0.0 {
            return;
        }
        let (r, k) = gaussian_kernel(sigma);
        let (w, h) = (self.w as isize, self.h as isize);
        let mut tmp = vec![0.0f32; self.data.len()];
        // Each tap is added to a whole row (or the part of it the tap reaches) at once, so the
        // loops run over contiguous memory and vectorise; every cell still sums its taps in
        // kernel order from zero, as a cell-by-cell loop would (`tests::blur_by_rows…`).
        let wu = self.w;
        for (row, out) in self.data.chunks_exact(wu).zip(tmp.chunks_exact_mut(wu)) {
            for (j, kv) in k.iter().enumerate() {
                let d = j as isize - r;
                // Cells x with 0 <= x + d < w.
                let (from, to) = ((-d).max(0), (w - d).min(w));
                if from >= to {
                    continue;
                }
                let (from, to) = (from as usize, to as usize);
                let src = &row[(from as isize + d) as usize..(to as isize + d) as usize];
                for (o, v) in out[from..to].iter_mut().zip(src) {
                    *o += kv * v;
                }
            }
        }
        for y in 0..h {
            let out = &mut self.data[(y * w) as usize..((y + 1) * w) as usize];
            out.fill(0.0);
            for (j, kv) in k.iter().enumerate() {
                let yy = y + j as isize - r;
                if yy >= 0 && yy < h {
                    let src = &tmp[yy as usize * wu..(yy as usize + 1) * wu];
                    for (o, v) in out.iter_mut().zip(src) {
                        *o += kv * v;
                    }
                }
            }
        }
    }

    /// Writes the density as a NumPy `.npy` file (little-endian f32, C order, shape (h, w)).
    pub fn write_npy(&self, path: &Path) -> Result<(), AnalysisError> {
        let mut header = format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
            self.h, self.w
        );
        // Magic (6) + version (2) + header length (2) + header, padded to a multiple of 64.
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = Vec::with_capacity(10 + header.len() + self.data.len() * 4);
        out.extend_from_slice(b"\x93NUMPY\x01\x00");
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        for v in &self.data {
            out.extend_from_slice(&v.to_le_bytes());
        }
        std::fs::write(path, out).map_err(|source| AnalysisError::Write {
            path: path.display().to_string(),
            source,
        })
    }
}

/// One fixation on a stimulus: image px and duration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageFixation {
    pub x: f64,
    pub y: f64,
    pub duration_ms: f64,
}

/// The group density of one stimulus: each participant's fixations (image px, at `scale`
/// cells per image px) weighted by duration and normalised to the participant's total
/// fixation time, summed, divided by the number of participants, then blurred once with
/// `sigma_px` (image px) — the blur is linear, so this equals averaging per-participant maps.
/// Participants without fixations on the stimulus are left out of the average.
pub fn group_density(
    per_participant: &BTreeMap<String, Vec<ImageFixation>>,
    w: usize,
    h: usize,
    scale: f64,
    sigma_px: f64,
) -> Density {
    let mut acc = Density::zeros(w, h);
    let mut n = 0usize;
    for fixations in per_participant.values() {
        let total: f64 = fixations.iter().map(|f| f.duration_ms).sum();
        if total <= 0.0 {
            continue;
        }
        for f in fixations {
            acc.splat(f.x * scale, f.y * scale, f.duration_ms / total);
        }
        n += 1;
    }
    if n > 0 {
        for a in &mut acc.data {
            *a /= n as f32;
        }
    }
    acc.blur(sigma_px * scale);
    acc
}

/// The map's CIE L*a*b* at `t` in 0..1: L* rises linearly from 20 to 92 (dark blue → teal →
/// yellow); a*b* follow one quadratic Bézier curve (no bend, so no kink in the colour bar),
/// its middle control point chosen so that every colour is inside sRGB (no channel clipped:
/// `colours_are_inside_srgb`) with as much chroma as that allows.
fn map_lab(t: f64) -> (f64, f64, f64) {
    const FROM: (f64, f64) = (30.0, -55.0);
    const CONTROL: (f64, f64) = (-80.0, 12.0);
    const TO: (f64, f64) = (-12.0, 85.0);
    let bezier = |p0: f64, p1: f64, p2: f64| {
        (1.0 - t) * (1.0 - t) * p0 + 2.0 * (1.0 - t) * t * p1 + t * t * p2
    };
    (
        20.0 + 72.0 * t,
        bezier(FROM.0, CONTROL.0, TO.0),
        bezier(FROM.1, CONTROL.1, TO.1),
    )
}

/// Linear sRGB of an L*a*b* colour (D65), unclipped.
fn lab_to_linear_srgb((l, a, b): (f64, f64, f64)) -> [f64; 3] {
    let fy = (l + 16.0) / 116.0;
    let (fx, fz) = (fy + a / 500.0, fy - b / 200.0);
    let inv = |v: f64| {
        if v > 6.0 / 29.0 {
            v * v * v
        } else {
            3.0 * (6.0f64 / 29.0).powi(2) * (v - 4.0 / 29.0)
        }
    };
    let (x, y, z) = (0.95047 * inv(fx), inv(fy), 1.08883 * inv(fz));
    [
        3.2406 * x - 1.5372 * y - 0.4986 * z,
        -0.9689 * x + 1.8758 * y + 0.0415 * z,
        0.0557 * x - 0.2040 * y + 1.0570 * z,
    ]
}

/// sRGB colour of `t` in 0..1 on the heatmaps' map (`map_lab`): equal steps in value look like
/// equal steps.
pub fn colour(t: f64) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    let lin = lab_to_linear_srgb(map_lab(t));
    lin.map(|c| {
        let c = c.clamp(0.0, 1.0);
        let s = if c <= 0.0031308 {
            12.92 * c
        } else {
            1.055 * c.powf(1.0 / 2.4) - 0.055
        };
        (s * 255.0).round() as u8
    })
}

/// The stimulus with the density laid over it (opacity grows with density, up to 65 %) and a
/// white scale bar `bar_px` image px long (one degree) in the bottom-left corner.
pub fn overlay(stimulus: &RgbImage, d: &Density, bar_px: f64) -> RgbImage {
    let mut out = stimulus.clone();
    let (w, h) = (out.width() as usize, out.height() as usize);
    let max = d.max().max(f32::MIN_POSITIVE);
    for y in 0..h {
        for x in 0..w {
            let v = d.data[(y * d.h / h) * d.w + (x * d.w / w)] / max;
            if v < 0.02 {
                continue;
            }
            let c = colour(f64::from(v));
            let a = 0.65 * f64::from(v).sqrt();
            let p = out.get_pixel_mut(x as u32, y as u32);
            for (ch, ck) in p.0.iter_mut().zip(c) {
                *ch = (f64::from(*ch) * (1.0 - a) + f64::from(ck) * a).round() as u8;
            }
        }
    }
    let (x0, y0) = ((w / 20) as u32, (h - h / 20) as u32);
    let len = bar_px.round().max(1.0) as u32;
    let thick = (h as u32 / 128).max(2);
    for y in y0.saturating_sub(thick + 1)..=(y0 + 1).min(h as u32 - 1) {
        for x in x0.saturating_sub(1)..=(x0 + len + 1).min(w as u32 - 1) {
            let edge = y == y0.saturating_sub(thick + 1)
                || y == (y0 + 1).min(h as u32 - 1)
                || x == x0.saturating_sub(1)
                || x == (x0 + len + 1).min(w as u32 - 1);
            out.put_pixel(
                x,
                y,
                if edge {
                    Rgb([0, 0, 0])
                } else {
                    Rgb([255, 255, 255])
                },
            );
        }
    }
    out
}

/// Side by side: each (left, right) pair as a row, the paper's Figure 2 layout.
pub fn pairs_figure(pairs: &[(RgbImage, RgbImage)], cell: u32) -> RgbImage {
    let rows = pairs.len() as u32;
    let mut out = RgbImage::from_pixel(cell * 2 + 12, rows * (cell + 6) + 6, Rgb([255, 255, 255]));
    for (i, (a, b)) in pairs.iter().enumerate() {
        let y = 6 + i as u32 * (cell + 6);
        for (k, img) in [a, b].into_iter().enumerate() {
            let small =
                image::imageops::resize(img, cell, cell, image::imageops::FilterType::Triangle);
            image::imageops::overlay(
                &mut out,
                &small,
                i64::from(4 + k as u32 * (cell + 4)),
                i64::from(y),
            );
        }
    }
    out
}

pub fn save_png(img: &RgbImage, path: &Path) -> Result<PathBuf, AnalysisError> {
    img.save(path).map_err(|e| AnalysisError::Input {
        path: path.display().to_string(),
        message: format!("cannot write PNG: {e}"),
    })?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blur cell by cell, each cell's taps summed in kernel order: what `blur` was.
    fn blur_cell_by_cell(d: &mut Density, sigma: f64) {
        let (r, k) = gaussian_kernel(sigma);
        let (w, h) = (d.w as isize, d.h as isize);
        let mut tmp = vec![0.0f32; d.data.len()];
        for y in 0..h {
            for x in 0..w {
                let mut acc = 0.0;
                for (j, kv) in k.iter().enumerate() {
                    let xx = x + j as isize - r;
                    if xx >= 0 && xx < w {
                        acc += kv * d.data[(y * w + xx) as usize];
                    }
                }
                tmp[(y * w + x) as usize] = acc;
            }
        }
        for x in 0..w {
            for y in 0..h {
                let mut acc = 0.0;
                for (j, kv) in k.iter().enumerate() {
                    let yy = y + j as isize - r;
                    if yy >= 0 && yy < h {
                        acc += kv * tmp[(yy * w + x) as usize];
                    }
                }
                d.data[(y * w + x) as usize] = acc;
            }
        }
    }

    #[test]
    fn blur_by_rows_equals_the_cell_by_cell_blur_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for (w, h, sigma) in [(37, 23, 2.5), (64, 64, 9.0), (5, 40, 3.0), (1, 1, 0.7)] {
            let mut d = Density::zeros(w, h);
            for _ in 0..30 {
                let (x, y) = (
                    rng.random_range(0.0..w as f64),
                    rng.random_range(0.0..h as f64),
                );
                d.splat(x, y, rng.random_range(0.1..3.0));
            }
            let mut want = d.clone();
            blur_cell_by_cell(&mut want, sigma);
            d.blur(sigma);
            assert!(
                d.data
                    .iter()
                    .map(|v| v.to_bits())
                    .eq(want.data.iter().map(|v| v.to_bits())),
                "{w}x{h}, sigma {sigma}"
            );
        }
    }

    #[test]
    fn blur_preserves_mass_and_matches_the_gaussian() {
        let mut d = Density::zeros(101, 101);
        d.splat(50.0, 50.0, 2.0);
        d.blur(5.0);
        assert!((d.sum() - 2.0).abs() < 1e-4, "{}", d.sum());
        // Separable result equals the 2-D Gaussian: ratio centre / one sigma away = e^{1/2}.
        let c = f64::from(d.data[50 * 101 + 50]);
        let one = f64::from(d.data[50 * 101 + 55]);
        assert!((c / one - 0.5f64.exp()).abs() < 1e-3, "{}", c / one);
        let diag = f64::from(d.data[55 * 101 + 55]);
        assert!((c / diag - 1f64.exp()).abs() < 2e-3);
    }

    #[test]
    fn every_participant_weighs_the_same() {
        // P1 looks long at the left, P2 briefly at the right: equal mass on both sides.
        let mut m = BTreeMap::new();
        m.insert(
            "P1".to_string(),
            vec![ImageFixation {
                x: 20.0,
                y: 50.0,
                duration_ms: 5000.0,
            }],
        );
        m.insert(
            "P2".to_string(),
            vec![ImageFixation {
                x: 80.0,
                y: 50.0,
                duration_ms: 100.0,
            }],
        );
        m.insert("P3".to_string(), vec![]);
        let d = group_density(&m, 100, 100, 1.0, 4.0);
        assert!((d.sum() - 1.0).abs() < 1e-4);
        let left: f64 = (0..100)
            .flat_map(|y| (0..50).map(move |x| (x, y)))
            .map(|(x, y)| f64::from(d.data[y * 100 + x]))
            .sum();
        assert!((left - 0.5).abs() < 1e-4, "{left}");
        // Within one participant, duration weights.
        let mut one = BTreeMap::new();
        one.insert(
            "P".to_string(),
            vec![
                ImageFixation {
                    x: 20.0,
                    y: 50.0,
                    duration_ms: 300.0,
                },
                ImageFixation {
                    x: 80.0,
                    y: 50.0,
                    duration_ms: 100.0,
                },
            ],
        );
        let d = group_density(&one, 100, 100, 1.0, 4.0);
        let left: f64 = (0..100)
            .flat_map(|y| (0..50).map(move |x| (x, y)))
            .map(|(x, y)| f64::from(d.data[y * 100 + x]))
            .sum();
        assert!((left - 0.75).abs() < 1e-4, "{left}");
    }

    #[test]
    fn colours_are_inside_srgb() {
        // A clipped channel bends the map (the old one clipped red from 0.4 to 0.5: a kink in
        // the colour bar near 0.55).
        for i in 0..=1000 {
            let lin = lab_to_linear_srgb(map_lab(f64::from(i) / 1000.0));
            assert!(
                lin.iter().all(|c| (-1e-4..=1.0 + 1e-4).contains(c)),
                "t = {}: {lin:?}",
                f64::from(i) / 1000.0
            );
        }
    }

    #[test]
    fn colour_map_lightness_rises_monotonically() {
        let lum = |c: [u8; 3]| {
            0.2126 * f64::from(c[0]) + 0.7152 * f64::from(c[1]) + 0.0722 * f64::from(c[2])
        };
        let mut last = -1.0;
        for i in 0..=20 {
            let l = lum(colour(i as f64 / 20.0));
            assert!(l > last, "step {i}");
            last = l;
        }
    }

    #[test]
    fn npy_header_is_numpy_v1() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.npy");
        let mut d = Density::zeros(3, 2);
        d.data[4] = 1.5;
        d.write_npy(&p).unwrap();
        let b = std::fs::read(&p).unwrap();
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
        let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hl) % 64, 0);
        assert!(std::str::from_utf8(&b[10..10 + hl])
            .unwrap()
            .contains("'shape': (2, 3)"));
        assert_eq!(
            f32::from_le_bytes(b[10 + hl + 16..10 + hl + 20].try_into().unwrap()),
            1.5
        );
    }
}
