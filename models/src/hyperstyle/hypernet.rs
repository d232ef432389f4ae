//! HyperStyle's hypernetwork (`SharedWeightsHyperNetResNet`): a ResNet-34 body reads the input
//! image beside the current reconstruction (6 channels) and, per generator convolution,
//! a refinement block predicts a weight offset Δ (W' = W·(1 + Δ)). The nine 512→512 layers of
//! the coarse resolutions share one small hypernetwork that turns a 512-d code into a full
//! 3×3 kernel offset; the others predict one value per (out, in) channel pair, repeated over
//! the kernel (to-RGB layers: a 1×1 kernel).

use tch::nn::{self, Init};
use tch::Tensor;

use crate::error::{ModelError, Result};
use crate::layers::{bn, conv, conv_bn, EqualLinear, PRelu};
use crate::stylegan2::GeneratorConfig;

/// Layers whose offsets come from the shared hypernetwork (HyperStyle's `shared_layers`).
pub const SHARED_LAYERS: [usize; 9] = [0, 2, 3, 5, 6, 8, 9, 11, 12];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HypernetConfig {
    /// Convolutions given an offset; HyperStyle's default (and the study's) is every
    /// non-to-RGB layer.
    pub layers_to_tune: Vec<usize>,
    /// Input channels: the image and the current reconstruction.
    pub input_nc: i64,
}

impl HypernetConfig {
    /// Every non-to-RGB convolution of `g`.
    pub fn for_generator(g: &GeneratorConfig) -> HypernetConfig {
        let rgb = g.to_rgb_layers();
        HypernetConfig {
            layers_to_tune: (0..g.n_conv_layers())
                .filter(|i| !rgb.contains(i))
                .collect(),
            input_nc: 6,
        }
    }
}

/// torchvision's BasicBlock (stride on the first 3×3).
#[derive(Debug)]
struct BasicBlock {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    conv2: nn::Conv2D,
    bn2: nn::BatchNorm,
    downsample: Option<(nn::Conv2D, nn::BatchNorm)>,
}

impl BasicBlock {
    fn new(p: &nn::Path, c_in: i64, c: i64, stride: i64) -> BasicBlock {
        let d = p / "downsample";
        BasicBlock {
            conv1: conv(p / "conv1", c_in, c, 3, stride, 1, false),
            bn1: bn(p / "bn1", c),
            conv2: conv(p / "conv2", c, c, 3, 1, 1, false),
            bn2: bn(p / "bn2", c),
            downsample: (stride != 1 || c_in != c).then(|| {
                (
                    conv(&d / "0", c_in, c, 1, stride, 0, false),
                    bn(&d / "1", c),
                )
            }),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let y = conv_bn(x, &self.conv1, &self.bn1).relu();
        let y = conv_bn(&y, &self.conv2, &self.bn2);
        let s = match &self.downsample {
            Some((c, b)) => conv_bn(x, c, b),
            None => x.shallow_clone(),
        };
        (y + s).relu()
    }
}

/// Stride-2 (or 1) convolutions with LeakyReLU(0.01), named `convs.0`, `convs.2`, … as in a
/// PyTorch Sequential that interleaves the activations.
fn conv_stack(p: &nn::Path, channels: &[(i64, i64, i64)]) -> Vec<nn::Conv2D> {
    channels
        .iter()
        .enumerate()
        .map(|(i, (c_in, c_out, stride))| {
            conv(p / "convs" / (2 * i), *c_in, *c_out, 3, *stride, 1, true)
        })
        .collect()
}

fn run_stack(x: &Tensor, convs: &[nn::Conv2D]) -> Tensor {
    convs
        .iter()
        .fold(x.shallow_clone(), |y, c| y.apply(c).leaky_relu())
}

#[derive(Debug)]
enum Block {
    /// `HyperRefinementBlock`: a 512-d code for the shared hypernetwork.
    Shared {
        convs: Vec<nn::Conv2D>,
        linear: EqualLinear,
        /// The shared hypernetwork's w1, b1, w2, b2 (one set of tensors for every block).
        hyper: [Tensor; 4],
    },
    /// `RefinementBlock`: one value per channel pair.
    Own {
        convs: Vec<nn::Conv2D>,
        output: nn::Conv2D,
        k: i64,
        c_in: i64,
        c_out: i64,
        to_rgb: bool,
    },
}

#[derive(Debug)]
pub struct Hypernet {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    prelu: PRelu,
    body: Vec<BasicBlock>,
    blocks: Vec<Option<Block>>,
}

impl Hypernet {
    pub fn new(p: &nn::Path, g: &GeneratorConfig, cfg: &HypernetConfig) -> Result<Hypernet> {
        let n = g.n_conv_layers();
        if let Some(bad) = cfg.layers_to_tune.iter().find(|&&i| i >= n) {
            return Err(ModelError::Invalid(format!(
                "layers_to_tune: the generator has {n} convolutions, no layer {bad}"
            )));
        }
        let mut body = Vec::new();
        let mut c_in = 64;
        for (c, blocks, stride) in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)] {
            for b in 0..blocks {
                let s = if b == 0 { stride } else { 1 };
                body.push(BasicBlock::new(&(p / "body" / body.len()), c_in, c, s));
                c_in = c;
            }
        }
        let h = p / "shared_weight_hypernet";
        // fmod(randn / 40, 2), HyperStyle's initialisation.
        let init = Init::Randn {
            mean: 0.0,
            stdev: 1.0 / 40.0,
        };
        let rgb = g.to_rgb_layers();
        // Created only when a shared layer is tuned (w2 alone holds 134 M values).
        let mut shared: Option<[Tensor; 4]> = None;
        let mut blocks = Vec::new();
        for i in 0..n {
            if !cfg.layers_to_tune.contains(&i) {
                blocks.push(None);
                continue;
            }
            let bp = p / "refinement_blocks" / i;
            let (k, ci, co) = g.conv_shape(i);
            if SHARED_LAYERS.contains(&i) {
                if (k, ci, co) != (3, 512, 512) {
                    return Err(ModelError::Invalid(format!(
                        "layer {i} is {co}x{ci}x{k}x{k}; the shared hypernetwork makes 512x512x3x3 offsets"
                    )));
                }
                let convs = conv_stack(
                    &bp,
                    &[
                        (512, 128, 1),
                        (128, 128, 2),
                        (128, 128, 2),
                        (128, 128, 2),
                        (128, 512, 2),
                    ],
                );
                let hyper = shared
                    .get_or_insert_with(|| {
                        [
                            h.var("w1", &[512, 512 * 9], init),
                            h.var("b1", &[512 * 9], init),
                            h.var("w2", &[512, 512 * 512], init),
                            h.var("b2", &[512 * 512], init),
                        ]
                    })
                    .each_ref()
                    .map(Tensor::shallow_clone);
                blocks.push(Some(Block::Shared {
                    convs,
                    linear: EqualLinear::new(&bp / "linear", 512, 512, 0.0, 1.0, false),
                    hyper,
                }));
            } else {
                let to_rgb = rgb.contains(&i);
                // Spatial 16 → 1 for to-RGB layers (4 stride-2 convolutions), 16 → 2 then a
                // pool for the others (3).
                let mut spec = vec![(512, 256, 2)];
                let middle = if k == 3 { 1 } else { 2 };
                spec.extend(std::iter::repeat_n((256, 256, 2), middle));
                spec.push((256, 512, 2));
                let convs = conv_stack(&bp, &spec);
                let out_name = if to_rgb { "0" } else { "1" };
                let output = conv(&bp / "output" / out_name, 512, ci * co, 1, 1, 0, true);
                blocks.push(Some(Block::Own {
                    convs,
                    output,
                    k,
                    c_in: ci,
                    c_out: co,
                    to_rgb,
                }));
            }
        }
        Ok(Hypernet {
            conv1: conv(p / "conv1", cfg.input_nc, 64, 7, 2, 3, false),
            bn1: bn(p / "bn1", 64),
            prelu: PRelu::new(p / "relu", 64),
            body,
            blocks,
        })
    }

    /// Offsets for the input [B, input_nc, 256, 256]: one per convolution (None where not
    /// tuned), each [B, out, in, k, k].
    pub fn forward(&self, x: &Tensor) -> Vec<Option<Tensor>> {
        let mut f = self.prelu.forward(&conv_bn(x, &self.conv1, &self.bn1));
        for b in &self.body {
            f = b.forward(&f);
        }
        let batch = f.size()[0];
        self.blocks
            .iter()
            .map(|b| {
                b.as_ref().map(|b| match b {
                    Block::Shared {
                        convs,
                        linear,
                        hyper,
                    } => {
                        let code = linear.forward(&run_stack(&f, convs).reshape([-1, 512]));
                        let [w1, b1, w2, b2] = hyper;
                        let h = (code.matmul(w2) + b2).reshape([batch, 512, 512]);
                        (h.matmul(w1) + b1).reshape([batch, 512, 512, 3, 3])
                    }
                    Block::Own {
                        convs,
                        output,
                        k,
                        c_in,
                        c_out,
                        to_rgb,
                    } => {
                        let y = run_stack(&f, convs);
                        if *to_rgb {
                            y.apply(output).reshape([-1, *c_out, *c_in, *k, *k])
                        } else {
                            let y = y
                                .adaptive_avg_pool2d([1, 1])
                                .apply(output)
                                .reshape([-1, *c_out, *c_in, 1, 1]);
                            y.repeat([1, 1, 1, *k, *k])
                        }
                    }
                })
            })
            .collect()
    }
}
