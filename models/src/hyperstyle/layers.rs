//! Small layers the HyperStyle networks share, named as in the PyTorch modules whose weights
//! they load.

use tch::nn::{self, Init};
use tch::Tensor;

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

/// A linear layer with StyleGAN2's equalised learning rate (weights scaled by 1/√in at run
/// time), without activation.
#[derive(Debug)]
pub(crate) struct EqualLinear {
    weight: Tensor,
    bias: Tensor,
    scale: f64,
}

impl EqualLinear {
    pub(crate) fn new(p: nn::Path, d_in: i64, d_out: i64) -> EqualLinear {
        EqualLinear {
            weight: p.var(
                "weight",
                &[d_out, d_in],
                Init::Randn {
                    mean: 0.0,
                    stdev: 1.0,
                },
            ),
            bias: p.var("bias", &[d_out], Init::Const(0.0)),
            scale: 1.0 / (d_in as f64).sqrt(),
        }
    }
    pub(crate) fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&(&self.weight * self.scale), Some(&self.bias))
    }
}

/// Convolution, batch norm (inference statistics), in one call.
pub(crate) fn conv_bn(x: &Tensor, c: &nn::Conv2D, b: &nn::BatchNorm) -> Tensor {
    x.apply(c).apply_t(b, false)
}
