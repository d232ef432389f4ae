//! Layers the networks share, named as in the PyTorch modules whose weights they load.

use tch::nn::{self, Init};
use tch::Tensor;

/// leaky_relu(x + bias, 0.2) · √2, the bias broadcast over channels (dim 1).
pub fn fused_leaky_relu(x: &Tensor, bias: &Tensor) -> Tensor {
    let mut shape = vec![1, bias.size()[0]];
    shape.extend(std::iter::repeat_n(1, x.dim().saturating_sub(2)));
    let y = x + bias.reshape(shape.as_slice());
    // max(y, 0.2 y) is the leaky ReLU for a slope below 1.
    y.maximum(&(&y * 0.2)) * std::f64::consts::SQRT_2
}

pub(crate) fn conv(
    p: nn::Path,
    c_in: i64,
    c_out: i64,
    k: i64,
    stride: i64,
    pad: i64,
    bias: bool,
) -> nn::Conv2D {
    nn::conv2d(
        p,
        c_in,
        c_out,
        k,
        nn::ConvConfig {
            stride,
            padding: pad,
            bias,
            ..Default::default()
        },
    )
}

pub(crate) fn bn(p: nn::Path, c: i64) -> nn::BatchNorm {
    nn::batch_norm2d(p, c, Default::default())
}

/// PyTorch's PReLU with one slope per channel.
#[derive(Debug)]
pub(crate) struct PRelu(Tensor);

impl PRelu {
    pub(crate) fn new(p: nn::Path, c: i64) -> PRelu {
        PRelu(p.var("weight", &[c], Init::Const(0.25)))
    }
    pub(crate) fn forward(&self, x: &Tensor) -> Tensor {
        x.prelu(&self.0)
    }
}

/// Convolution, batch norm (inference statistics), in one call.
pub(crate) fn conv_bn(x: &Tensor, c: &nn::Conv2D, b: &nn::BatchNorm) -> Tensor {
    x.apply(c).apply_t(b, false)
}

/// A linear layer with StyleGAN2's equalised learning rate: weights scaled by lr_mul/√in at
/// run time, optionally followed by the fused bias + leaky ReLU.
#[derive(Debug)]
pub(crate) struct EqualLinear {
    weight: Tensor,
    bias: Tensor,
    scale: f64,
    lr_mul: f64,
    activate: bool,
}

impl EqualLinear {
    pub(crate) fn new(
        p: nn::Path,
        d_in: i64,
        d_out: i64,
        bias_init: f64,
        lr_mul: f64,
        activate: bool,
    ) -> Self {
        EqualLinear {
            weight: p.var(
                "weight",
                &[d_out, d_in],
                Init::Randn {
                    mean: 0.0,
                    stdev: 1.0 / lr_mul,
                },
            ),
            bias: p.var("bias", &[d_out], Init::Const(bias_init)),
            scale: lr_mul / (d_in as f64).sqrt(),
            lr_mul,
            activate,
        }
    }

    pub(crate) fn forward(&self, x: &Tensor) -> Tensor {
        let w = &self.weight * self.scale;
        let b = &self.bias * self.lr_mul;
        if self.activate {
            fused_leaky_relu(&x.linear(&w, None::<Tensor>), &b)
        } else {
            x.linear(&w, Some(&b))
        }
    }
}
