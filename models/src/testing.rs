//! Deterministic weights for tests that compare our networks with the official PyTorch code:
//! every tensor is filled from its name and shape by a formula written the same way in the
//! NumPy script that produced the stored reference outputs, so no weight file is needed.

use tch::{nn, Kind, Tensor};

fn fnv1a(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The formula's values for one named tensor.
pub fn formula(name: &str, shape: &[i64]) -> Tensor {
    let n: i64 = shape.iter().product();
    let phase = 0.013 * f64::from(fnv1a(name) % 1000);
    let leaf = name.rsplit('.').next().unwrap_or(name);
    let v: Vec<f32> = (0..n)
        .map(|j| {
            let s = (0.7 * j as f64 + phase).sin();
            let v = match (leaf, shape.len()) {
                ("w1" | "w2" | "b1" | "b2", _) => 0.025 * s,
                ("running_var", _) => 1.0 + 0.5 * s * s,
                ("running_mean" | "bias", _) => 0.1 * s,
                ("weight", 1) => 1.0 + 0.1 * s,
                ("weight", 4) => {
                    let he = s * (2.0 / (shape[1] * shape[2] * shape[3]) as f64).sqrt();
                    // The periodic formula adds up coherently; this keeps the hypernetwork's
                    // 16 residual blocks finite.
                    if name.starts_with("hypernet.") {
                        0.2 * he
                    } else {
                        he
                    }
                }
                ("weight", 2) => 0.02 * s,
                _ => s,
            };
            v as f32
        })
        .collect();
    Tensor::from_slice(&v).reshape(shape)
}

/// Fills every variable of `vs` (parameters and buffers) with the formula.
pub fn fill(vs: &nn::VarStore) {
    tch::no_grad(|| {
        for (name, mut t) in vs.variables() {
            let v = formula(&name, &t.size()).to_kind(t.kind());
            t.copy_(&v);
        }
    });
}

/// The reference scripts' test input: 50·sin(0.001 j) + 20·cos(0.0173 j) over the flat index.
pub fn input(shape: &[i64]) -> Tensor {
    let n: i64 = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|j| {
            let j = j as f64;
            (50.0 * (0.001 * j).sin() + 20.0 * (0.0173 * j).cos()) as f32
        })
        .collect();
    Tensor::from_slice(&v).reshape(shape).to_kind(Kind::Float)
}

/// The largest |t[k·step] − want[k]| over the stored reference values (every `step`-th value
/// of the flattened tensor).
pub fn max_abs_diff_at(t: &Tensor, step: usize, want: &[f64]) -> f64 {
    let f = t.flatten(0, -1);
    want.iter()
        .enumerate()
        .map(|(k, w)| (f.double_value(&[(k * step) as i64]) - w).abs())
        .fold(0f64, f64::max)
}
