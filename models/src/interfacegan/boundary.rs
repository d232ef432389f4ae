//! Finding a boundary the way InterfaceGAN's `train_boundary` does: sort by score, take the
//! top and bottom `ratio` as positives and negatives, shuffle each side, split into training
//! and validation, fit the linear SVM, and return its unit normal (the intercept is dropped).
//! Differences from the Python, on purpose: the shuffle is seeded (NumPy's is not), and ties in
//! the scores keep file order (NumPy's quicksort leaves them in an unspecified order).

use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::svm::{LinearSvm, SvmOptions};
use crate::error::{ModelError, Result};
use crate::npy::Matrix;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundaryOptions {
    /// In (0, 1]: the share of samples taken from each end; above 1: that many samples. Capped
    /// at half the samples. InterfaceGAN's default is 0.02; the study's logs fit 0.5.
    pub ratio: f64,
    /// Share of each side used for training (the rest validates). InterfaceGAN: 0.7.
    pub split: f64,
    pub seed: u64,
    /// Samples with this score are left out (InterfaceGAN's `invalid_value`).
    pub invalid_value: Option<f64>,
    pub svm: SvmOptions,
}

impl Default for BoundaryOptions {
    fn default() -> Self {
        BoundaryOptions {
            ratio: 0.02,
            split: 0.7,
            seed: 0,
            invalid_value: None,
            svm: SvmOptions::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Boundary {
    /// Unit normal, 1 × D, pointing towards high scores.
    pub normal: Vec<f32>,
    /// Samples taken from each end.
    pub chosen: usize,
    pub train_per_side: usize,
    pub val_per_side: usize,
    pub train_accuracy: f64,
    /// On the held-out part of both ends (none when `split` = 1).
    pub val_accuracy: Option<f64>,
    /// On the middle samples, labelled by the midpoint of the extreme scores (for reporting).
    pub remaining_accuracy: Option<f64>,
    pub svm: LinearSvm,
}

pub fn train_boundary(codes: &Matrix, scores: &Matrix, opt: &BoundaryOptions) -> Result<Boundary> {
    let invalid = |m: String| Err(ModelError::Invalid(m));
    if scores.cols != 1 {
        return invalid(format!(
            "scores: expected shape (N, 1), got ({}, {})",
            scores.rows, scores.cols
        ));
    }
    if codes.rows != scores.rows {
        return invalid(format!(
            "codes have {} rows but scores have {}; they must describe the same samples",
            codes.rows, scores.rows
        ));
    }
    if !(opt.split > 0.0 && opt.split <= 1.0) {
        return invalid(format!("split must be in (0, 1], got {}", opt.split));
    }
    if !(opt.ratio > 0.0 && opt.ratio.is_finite()) {
        return invalid(format!("ratio must be positive, got {}", opt.ratio));
    }
    let keep: Vec<usize> = (0..codes.rows)
        .filter(|&i| opt.invalid_value != Some(scores.data[i]))
        .collect();
    let n = keep.len();
    let mut order = keep;
    // Descending by score; ties keep file order.
    order.sort_by(|&a, &b| scores.data[b].total_cmp(&scores.data[a]));
    let chosen = if opt.ratio <= 1.0 {
        (n as f64 * opt.ratio) as usize
    } else {
        opt.ratio as usize
    }
    .min(n / 2);
    let train_per_side = (chosen as f64 * opt.split) as usize;
    if train_per_side == 0 {
        return invalid(format!(
            "{n} usable samples with ratio {} and split {} leave no training sample; raise --ratio",
            opt.ratio, opt.split
        ));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(opt.seed);
    let mut pos = order[..chosen].to_vec();
    let mut neg = order[n - chosen..].to_vec();
    pos.shuffle(&mut rng);
    neg.shuffle(&mut rng);
    let d = codes.cols;
    let gather = |idx: &[usize]| -> Vec<f64> {
        idx.iter()
            .flat_map(|&i| codes.row(i).iter().copied())
            .collect()
    };
    let train_idx: Vec<usize> = pos[..train_per_side]
        .iter()
        .chain(&neg[..train_per_side])
        .copied()
        .collect();
    let train_y: Vec<bool> = (0..2 * train_per_side)
        .map(|k| k < train_per_side)
        .collect();
    let svm = LinearSvm::fit(&gather(&train_idx), d, &train_y, opt.svm)?;
    let accuracy = |idx: &[usize], label: &dyn Fn(usize, usize) -> bool| -> Option<f64> {
        (!idx.is_empty()).then(|| {
            let right = idx
                .iter()
                .enumerate()
                .filter(|&(k, &i)| svm.predict(codes.row(i)) == label(k, i))
                .count();
            right as f64 / idx.len() as f64
        })
    };
    let train_accuracy = accuracy(&train_idx, &|k, _| k < train_per_side).unwrap_or(0.0);
    let val_per_side = chosen - train_per_side;
    let val_idx: Vec<usize> = pos[train_per_side..]
        .iter()
        .chain(&neg[train_per_side..])
        .copied()
        .collect();
    let val_accuracy = accuracy(&val_idx, &|k, _| k < val_per_side);
    let middle = &order[chosen..n - chosen];
    let mid_score = (scores.data[order[0]] + scores.data[order[n - 1]]) / 2.0;
    let remaining_accuracy = accuracy(middle, &|_, i| scores.data[i] > mid_score);
    let norm = svm.w.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm.is_nan() || norm <= 0.0 {
        return invalid("the SVM found no direction (all codes equal?)".into());
    }
    Ok(Boundary {
        normal: svm.w.iter().map(|v| (v / norm) as f32).collect(),
        chosen,
        train_per_side,
        val_per_side,
        train_accuracy,
        val_accuracy,
        remaining_accuracy,
        svm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use rand_distr::{Distribution, StandardNormal};

    /// Codes in 32-D whose score is their projection on a planted direction plus noise.
    fn planted(n: usize, seed: u64) -> (Matrix, Matrix, Vec<f64>) {
        let d = 32;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let dir: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
        let norm = dir.iter().map(|v| v * v).sum::<f64>().sqrt();
        let dir: Vec<f64> = dir.iter().map(|v| v / norm).collect();
        let data: Vec<f64> = (0..n * d)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let scores: Vec<f64> = (0..n)
            .map(|i| {
                let p: f64 = data[i * d..(i + 1) * d]
                    .iter()
                    .zip(&dir)
                    .map(|(a, b)| a * b)
                    .sum();
                p + 0.1 * rng.random::<f64>()
            })
            .collect();
        (
            Matrix {
                rows: n,
                cols: d,
                data,
            },
            Matrix {
                rows: n,
                cols: 1,
                data: scores,
            },
            dir,
        )
    }

    #[test]
    fn the_planted_direction_is_found_with_the_authors_split() {
        let (codes, scores, dir) = planted(1000, 5);
        let opt = BoundaryOptions {
            ratio: 0.5,
            ..BoundaryOptions::default()
        };
        let b = train_boundary(&codes, &scores, &opt).unwrap();
        assert_eq!(
            (b.chosen, b.train_per_side, b.val_per_side),
            (500, 350, 150)
        );
        let cos: f64 = b
            .normal
            .iter()
            .zip(&dir)
            .map(|(a, b)| f64::from(*a) * b)
            .sum();
        assert!(cos > 0.95, "cosine to the planted direction {cos}");
        let unit: f64 = b.normal.iter().map(|v| f64::from(*v).powi(2)).sum();
        assert!((unit - 1.0).abs() < 1e-5);
        assert!(b.val_accuracy.unwrap() > 0.95);
        assert_eq!(b.remaining_accuracy, None);
        // The same seed gives the same boundary; another seed nearly the same.
        assert_eq!(
            train_boundary(&codes, &scores, &opt).unwrap().normal,
            b.normal
        );
    }

    #[test]
    fn mismatched_inputs_are_refused() {
        let (codes, mut scores, _) = planted(20, 1);
        scores.rows = 19;
        scores.data.pop();
        let e = train_boundary(&codes, &scores, &BoundaryOptions::default()).unwrap_err();
        assert!(e.to_string().contains("20 rows but scores have 19"), "{e}");
        let (codes, scores, _) = planted(20, 1);
        let e = train_boundary(&codes, &scores, &BoundaryOptions::default()).unwrap_err();
        assert!(e.to_string().contains("raise --ratio"), "{e}");
    }
}
