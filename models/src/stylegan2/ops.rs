//! StyleGAN2's two custom CUDA ops, written with plain tensor operations so they run (and
//! trace) on any device: upfirdn2d (upsample by zero insertion, pad or crop, FIR filter,
//! downsample) and the bias + leaky ReLU + √2 gain that follows every convolution.

use tch::{Kind, Tensor};

/// The normalised 2-D separable kernel of a 1-D FIR, e.g. [1, 3, 3, 1] → 4×4 summing to 1.
pub fn make_kernel(k: &[f32]) -> Tensor {
    let k1 = Tensor::from_slice(k);
    let k2 = k1.unsqueeze(1) * k1.unsqueeze(0);
    let sum = k2.sum(Kind::Float);
    k2 / sum
}

/// upfirdn2d on [N, C, H, W] with a [kh, kw] kernel; `pad` = (before, after) on both axes
/// (negative crops).
pub fn upfirdn2d(x: &Tensor, kernel: &Tensor, up: i64, down: i64, pad: (i64, i64)) -> Tensor {
    let (n, c, h, w) = x.size4().unwrap_or((0, 0, 0, 0));
    let mut y = x.shallow_clone();
    if up > 1 {
        y = y
            .reshape([n, c, h, 1, w, 1])
            .constant_pad_nd([0, up - 1, 0, 0, 0, up - 1])
            .reshape([n, c, h * up, w * up]);
    }
    y = y.constant_pad_nd([pad.0, pad.1, pad.0, pad.1]);
    let (hp, wp) = (y.size()[2], y.size()[3]);
    let (kh, kw) = (kernel.size()[0], kernel.size()[1]);
    let f = kernel
        .flip([0, 1])
        .reshape([1, 1, kh, kw])
        .to_kind(y.kind())
        .to_device(y.device());
    let y = y
        .reshape([n * c, 1, hp, wp])
        .conv2d(&f, None::<Tensor>, [1, 1], [0, 0], [1, 1], 1);
    let (ho, wo) = (hp - kh + 1, wp - kw + 1);
    let y = y.reshape([n, c, ho, wo]);
    if down > 1 {
        y.slice(2, 0, ho, down).slice(3, 0, wo, down)
    } else {
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::fused_leaky_relu;

    #[test]
    fn kernel_is_normalised_and_separable() {
        let k = make_kernel(&[1.0, 3.0, 3.0, 1.0]);
        assert_eq!(k.size(), vec![4, 4]);
        assert!((k.sum(Kind::Float).double_value(&[]) - 1.0).abs() < 1e-6);
        assert!((k.double_value(&[1, 2]) - 9.0 / 64.0).abs() < 1e-7);
    }

    #[test]
    fn upsampling_a_constant_keeps_it_away_from_the_border() {
        // The ToRGB skip: kernel × 4, up 2, pad (2, 1): 8×8 → 16×16, a constant stays constant
        // inside.
        let k = make_kernel(&[1.0, 3.0, 3.0, 1.0]) * 4.0;
        let x = Tensor::ones([1, 2, 8, 8], (Kind::Float, tch::Device::Cpu));
        let y = upfirdn2d(&x, &k, 2, 1, (2, 1));
        assert_eq!(y.size(), vec![1, 2, 16, 16]);
        let inner = y.slice(2, 2, 14, 1).slice(3, 2, 14, 1);
        assert!((inner - 1.0).abs().max().double_value(&[]) < 1e-6);
        // Down by 2 after a blur halves the size.
        let d = upfirdn2d(&x, &make_kernel(&[1.0, 3.0, 3.0, 1.0]), 1, 2, (1, 1));
        assert_eq!(d.size(), vec![1, 2, 4, 4]);
    }

    #[test]
    fn leaky_relu_gain_and_bias() {
        let x = Tensor::from_slice(&[-1.0f32, 1.0]).reshape([1, 2]);
        let b = Tensor::from_slice(&[0.0f32, 1.0]);
        let y = fused_leaky_relu(&x, &b);
        let s = std::f64::consts::SQRT_2;
        assert!((y.double_value(&[0, 0]) + 0.2 * s).abs() < 1e-6);
        assert!((y.double_value(&[0, 1]) - 2.0 * s).abs() < 1e-6);
    }
}
