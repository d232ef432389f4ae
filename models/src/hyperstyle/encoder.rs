//! HyperStyle's W encoder: an IR-SE-50 (ArcFace's ResNet with squeeze-and-excitation units)
//! whose pooled features a linear layer maps to one w, repeated for every style layer. Its
//! codes plus the generator's average latent are the initial inversion the hypernetwork then
//! refines.

use tch::nn;
use tch::Tensor;

use crate::layers::{bn, conv, conv_bn, EqualLinear, PRelu};

/// IR-SE-50: (input channels, depth, units) per stage; the first unit of each stage strides.
const STAGES: [(i64, i64, i64); 4] = [(64, 64, 3), (64, 128, 4), (128, 256, 14), (256, 512, 3)];

#[derive(Debug)]
struct IrSeUnit {
    shortcut: Option<(nn::Conv2D, nn::BatchNorm)>,
    stride: i64,
    bn_in: nn::BatchNorm,
    conv1: nn::Conv2D,
    prelu: PRelu,
    conv2: nn::Conv2D,
    bn_out: nn::BatchNorm,
    se_fc1: nn::Conv2D,
    se_fc2: nn::Conv2D,
}

impl IrSeUnit {
    fn new(p: &nn::Path, c_in: i64, depth: i64, stride: i64) -> IrSeUnit {
        let r = p / "res_layer";
        let s = p / "shortcut_layer";
        IrSeUnit {
            shortcut: (c_in != depth).then(|| {
                (
                    conv(&s / "0", c_in, depth, 1, stride, 0, false),
                    bn(&s / "1", depth),
                )
            }),
            stride,
            bn_in: bn(&r / "0", c_in),
            conv1: conv(&r / "1", c_in, depth, 3, 1, 1, false),
            prelu: PRelu::new(&r / "2", depth),
            conv2: conv(&r / "3", depth, depth, 3, stride, 1, false),
            bn_out: bn(&r / "4", depth),
            se_fc1: conv(&r / "5" / "fc1", depth, depth / 16, 1, 1, 0, false),
            se_fc2: conv(&r / "5" / "fc2", depth / 16, depth, 1, 1, 0, false),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let shortcut = match &self.shortcut {
            Some((c, b)) => conv_bn(x, c, b),
            // MaxPool2d(1, stride): plain subsampling.
            None if self.stride > 1 => {
                x.slice(2, 0, None, self.stride)
                    .slice(3, 0, None, self.stride)
            }
            None => x.shallow_clone(),
        };
        let r = self
            .prelu
            .forward(&x.apply_t(&self.bn_in, false).apply(&self.conv1));
        let r = conv_bn(&r, &self.conv2, &self.bn_out);
        let se = r
            .adaptive_avg_pool2d([1, 1])
            .apply(&self.se_fc1)
            .relu()
            .apply(&self.se_fc2)
            .sigmoid();
        r * se + shortcut
    }
}

/// `WEncoder(50, 'ir_se')` of HyperStyle (`models/encoders/w_encoder.py`), parameter names
/// as in its checkpoints without the `encoder.` prefix.
#[derive(Debug)]
pub struct WEncoder {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
    prelu: PRelu,
    body: Vec<IrSeUnit>,
    linear: EqualLinear,
    n_styles: i64,
}

impl WEncoder {
    pub fn new(p: &nn::Path, n_styles: i64) -> WEncoder {
        let i = p / "input_layer";
        let mut body = Vec::new();
        for (c_in, depth, units) in STAGES {
            for u in 0..units {
                let (c, s) = if u == 0 { (c_in, 2) } else { (depth, 1) };
                body.push(IrSeUnit::new(&(p / "body" / body.len()), c, depth, s));
            }
        }
        WEncoder {
            conv: conv(&i / "0", 3, 64, 3, 1, 1, false),
            bn: bn(&i / "1", 64),
            prelu: PRelu::new(&i / "2", 64),
            body,
            linear: EqualLinear::new(p / "linear", 512, 512, 0.0, 1.0, false),
            n_styles,
        }
    }

    /// Images [B, 3, H, W] in [-1, 1] → codes [B, n_styles, 512] (before the average latent).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let mut y = self.prelu.forward(&conv_bn(x, &self.conv, &self.bn));
        for u in &self.body {
            y = u.forward(&y);
        }
        let w = self
            .linear
            .forward(&y.adaptive_avg_pool2d([1, 1]).flatten(1, -1));
        w.unsqueeze(1).repeat([1, self.n_styles, 1])
    }
}
