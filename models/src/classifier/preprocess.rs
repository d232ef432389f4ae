//! The study's input to the classifier (Sümer et al.'s `NIHFacesDataset`): the face is warped by
//! the 5-point similarity transform that puts its landmarks (eyes, nose tip, mouth corners, as
//! InsightFace's RetinaFace detects them) on ArcFace's template scaled to 224 px, channels are
//! flipped to BGR, and a per-channel mean is subtracted — no division by 255, no std.

use image::RgbImage;
use nalgebra::{DMatrix, DVector, Matrix2, Matrix2x3, Vector2};
use tch::Tensor;

/// ArcFace's 112 px landmark template: left eye, right eye, nose tip, left and right mouth
/// corners (insightface `arcface_dst`).
pub const ARCFACE_112: [[f64; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// The input size of the classifier.
pub const SIZE: u32 = 224;

/// Fold 1's training-image mean (B, G, R) from the authors' `test.py`; every fold's is close.
pub const FOLD1_MEAN_BGR: [f32; 3] = [112.482, 123.050, 147.127];

/// A 2×3 affine matrix mapping source pixels to destination pixels.
pub type Affine = Matrix2x3<f64>;

/// The least-squares similarity (rotation, uniform scale, translation; no reflection) taking
/// `src` onto `dst`, as skimage's `SimilarityTransform.estimate` (Umeyama) finds it. Written as
/// [[a, −b, tx], [b, a, ty]], the residuals are linear in (a, b, tx, ty), so Umeyama's
/// minimiser is the linear least-squares solution; `None` when the points do not fix it or are
/// not finite.
pub fn similarity(src: &[[f64; 2]], dst: &[[f64; 2]]) -> Option<Affine> {
    let n = src.len();
    let finite = |p: &[[f64; 2]]| p.iter().flatten().all(|v| v.is_finite());
    if n < 2 || n != dst.len() || !finite(src) || !finite(dst) {
        return None;
    }
    let design = DMatrix::from_row_iterator(
        2 * n,
        4,
        src.iter()
            .flat_map(|p| [p[0], -p[1], 1.0, 0.0, p[1], p[0], 0.0, 1.0]),
    );
    let target = DVector::from_iterator(2 * n, dst.iter().flat_map(|q| [q[0], q[1]]));
    let svd = design.svd(true, true);
    if svd.singular_values.min() <= 1e-9 * svd.singular_values.max() {
        return None;
    }
    let s = svd.solve(&target, 0.0).ok()?;
    Some(Affine::new(s[0], -s[1], s[2], s[1], s[0], s[3]))
}

/// The transform that aligns a face with these five landmarks to the 224 px template.
pub fn alignment(landmarks: &[[f64; 2]; 5]) -> Option<Affine> {
    let dst: Vec<[f64; 2]> = ARCFACE_112
        .iter()
        .map(|p| {
            [
                p[0] * f64::from(SIZE) / 112.0,
                p[1] * f64::from(SIZE) / 112.0,
            ]
        })
        .collect();
    similarity(landmarks, &dst)
}

/// OpenCV's `warpAffine` with bilinear interpolation and a black border: each output pixel
/// samples the source at M⁻¹·(x, y). (OpenCV quantises positions to 1/32 px, so single values
/// may differ from it by a grey level.)
pub fn warp(img: &RgbImage, m: &Affine, size: u32) -> Option<RgbImage> {
    let linear: Matrix2<f64> = m.fixed_view::<2, 2>(0, 0).into_owned();
    if linear.determinant().abs() < 1e-12 {
        return None;
    }
    let inv = linear.try_inverse()?;
    let shift = m.column(2).into_owned();
    let (w, h) = (i64::from(img.width()), i64::from(img.height()));
    let px = |x: i64, y: i64, c: usize| -> f64 {
        if x < 0 || y < 0 || x >= w || y >= h {
            0.0
        } else {
            f64::from(img.get_pixel(x as u32, y as u32)[c])
        }
    };
    let mut out = RgbImage::new(size, size);
    for (x, y, p) in out.enumerate_pixels_mut() {
        let source = inv * (Vector2::new(f64::from(x), f64::from(y)) - shift);
        let (sx, sy) = (source.x, source.y);
        let (x0, y0) = (sx.floor() as i64, sy.floor() as i64);
        let (fx, fy) = (sx - x0 as f64, sy - y0 as f64);
        for c in 0..3 {
            let v = (1.0 - fy) * ((1.0 - fx) * px(x0, y0, c) + fx * px(x0 + 1, y0, c))
                + fy * ((1.0 - fx) * px(x0, y0 + 1, c) + fx * px(x0 + 1, y0 + 1, c));
            p[c] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    Some(out)
}

/// An aligned 224 px RGB face → the network's input [3, 224, 224]: BGR, mean subtracted.
pub fn to_input(aligned: &RgbImage, mean_bgr: [f32; 3]) -> Tensor {
    let (w, h) = (aligned.width() as usize, aligned.height() as usize);
    let mut v = vec![0f32; 3 * w * h];
    for (x, y, p) in aligned.enumerate_pixels() {
        let i = y as usize * w + x as usize;
        for (c, src) in [2usize, 1, 0].into_iter().enumerate() {
            v[c * w * h + i] = f32::from(p[src]) - mean_bgr[c];
        }
    }
    Tensor::from_slice(&v).reshape([3, h as i64, w as i64])
}

#[cfg(test)]
mod tests {
    use super::*;

    const LANDMARKS: [[f64; 2]; 5] = [
        [210.5, 260.25],
        [330.0, 250.75],
        [275.0, 320.5],
        [225.25, 390.0],
        [320.5, 385.5],
    ];

    /// A 512 px pattern: R = x/2, G = y/2, B = 0.37 (x + 2y), each mod 256.
    fn pattern() -> RgbImage {
        RgbImage::from_fn(512, 512, |x, y| {
            let (x, y) = (f64::from(x), f64::from(y));
            image::Rgb([
                ((x * 0.5) % 256.0) as u8,
                ((y * 0.5) % 256.0) as u8,
                (((x + 2.0 * y) * 0.37) % 256.0) as u8,
            ])
        })
    }

    /// skimage 0.26.0 `SimilarityTransform().estimate(LANDMARKS, arcface_dst * 2)` and
    /// OpenCV 5.0.0 `warpAffine(pattern, M, (224, 224), borderValue=0)` (Python 3.11; the
    /// landmarks were float32 there, hence the 1e-4 tolerance on the matrix).
    #[test]
    fn alignment_matches_skimage_and_opencv() {
        let m = alignment(&LANDMARKS).unwrap();
        let want = [
            [
                0.6072647285765764,
                -0.019836122967596143,
                -46.900170166562305,
            ],
            [0.019836122967596143, 0.6072647285765764, -56.7737050877478],
        ];
        for r in 0..2 {
            for c in 0..3 {
                assert!((m[(r, c)] - want[r][c]).abs() < 1e-4, "{m:?}");
            }
        }
        let w = warp(&pattern(), &m, SIZE).unwrap();
        let cv_pixels = [
            [40, 45, 96],
            [91, 85, 193],
            [135, 124, 28],
            [184, 164, 122],
            [229, 223, 243],
        ];
        for (k, (x, y)) in [(0, 0), (60, 50), (112, 100), (170, 150), (223, 223)]
            .iter()
            .enumerate()
        {
            let p = w.get_pixel(*x, *y);
            for c in 0..3 {
                let d = (i32::from(p[c]) - cv_pixels[k][c]).abs();
                assert!(
                    d <= 2,
                    "pixel ({x}, {y}) channel {c}: {} vs OpenCV {}",
                    p[c],
                    cv_pixels[k][c]
                );
            }
        }
        let cv_mean = [134.55291374362244, 133.8972018494898, 130.59426817602042];
        for (c, want) in cv_mean.iter().enumerate() {
            let mean = w.pixels().map(|p| f64::from(p[c])).sum::<f64>() / (224.0 * 224.0);
            assert!(
                (mean - want).abs() < 0.5,
                "channel {c}: mean {mean} vs OpenCV {want}"
            );
        }
    }

    /// A planted similarity (a turn of 140°, scale 1.7, a shift) is found exactly; points that
    /// coincide, or that a mirror image would fit, do not give a reflection.
    #[test]
    fn a_planted_similarity_is_recovered_and_degenerate_points_are_refused() {
        let (s, r) = (1.7, 140f64.to_radians());
        let (a, b, tx, ty) = (s * r.cos(), s * r.sin(), 12.5, -3.0);
        let src = LANDMARKS;
        let dst: Vec<[f64; 2]> = src
            .iter()
            .map(|p| [a * p[0] - b * p[1] + tx, b * p[0] + a * p[1] + ty])
            .collect();
        let m = similarity(&src, &dst).unwrap();
        let want = Affine::new(a, -b, tx, b, a, ty);
        assert!((m - want).abs().max() < 1e-9, "{m} vs {want}");
        assert!(similarity(&[[3.0, 4.0]; 5], &dst).is_none());
        assert!(similarity(&[[f64::NAN, 4.0]; 5], &dst).is_none());
        // A mirrored copy is fitted by the best proper similarity, never by a reflection.
        let mirrored: Vec<[f64; 2]> = src.iter().map(|p| [-p[0], p[1]]).collect();
        let m = similarity(&src, &mirrored).unwrap();
        assert!(m[(0, 0)] * m[(1, 1)] - m[(0, 1)] * m[(1, 0)] >= 0.0);
    }

    #[test]
    fn input_is_bgr_minus_the_mean_without_scaling() {
        let img = RgbImage::from_pixel(224, 224, image::Rgb([200, 100, 50]));
        let t = to_input(&img, [10.0, 20.0, 30.0]);
        assert_eq!(t.size(), vec![3, 224, 224]);
        assert_eq!(t.double_value(&[0, 5, 5]), 40.0); // B − 10
        assert_eq!(t.double_value(&[1, 5, 5]), 80.0); // G − 20
        assert_eq!(t.double_value(&[2, 5, 5]), 170.0); // R − 30
        assert!(similarity(&[[1.0, 1.0]], &[[2.0, 2.0]]).is_none());
    }
}
