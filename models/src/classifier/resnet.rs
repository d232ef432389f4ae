//! The VGGFace2 ResNet-50 in the Caffe layout its weights were converted from. It differs from
//! torchvision's (and tch's) ResNet-50 in two places that leave names and shapes unchanged, so
//! loading the weights into the wrong one succeeds and silently gives other numbers: the stride
//! of a downsampling block sits on its first 1×1 convolution (not the 3×3), and the stem's
//! max-pool has no padding and rounds its output size up (ceil mode).

use tch::nn::{self, ModuleT};
use tch::Tensor;

use crate::layers::{bn, conv};

/// Blocks per stage and their widths (the 1×1 bottleneck; outputs are 4× wider).
const STAGES: [(i64, i64); 4] = [(3, 64), (4, 128), (6, 256), (3, 512)];
const EXPANSION: i64 = 4;

#[derive(Debug)]
struct Bottleneck {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    conv2: nn::Conv2D,
    bn2: nn::BatchNorm,
    conv3: nn::Conv2D,
    bn3: nn::BatchNorm,
    downsample: Option<(nn::Conv2D, nn::BatchNorm)>,
}

impl Bottleneck {
    fn new(p: &nn::Path, c_in: i64, width: i64, stride: i64) -> Bottleneck {
        let c_out = width * EXPANSION;
        let downsample = (stride != 1 || c_in != c_out).then(|| {
            let d = p / "downsample";
            (
                conv(&d / "0", c_in, c_out, 1, stride, 0, false),
                bn(&d / "1", c_out),
            )
        });
        Bottleneck {
            // Caffe layout: the stride is here, on the 1×1.
            conv1: conv(p / "conv1", c_in, width, 1, stride, 0, false),
            bn1: bn(p / "bn1", width),
            conv2: conv(p / "conv2", width, width, 3, 1, 1, false),
            bn2: bn(p / "bn2", width),
            conv3: conv(p / "conv3", width, c_out, 1, 1, 0, false),
            bn3: bn(p / "bn3", c_out),
            downsample,
        }
    }
}

impl ModuleT for Bottleneck {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = x
            .apply(&self.conv1)
            .apply_t(&self.bn1, train)
            .relu()
            .apply(&self.conv2)
            .apply_t(&self.bn2, train)
            .relu()
            .apply(&self.conv3)
            .apply_t(&self.bn3, train);
        let shortcut = match &self.downsample {
            Some((c, b)) => x.apply(c).apply_t(b, train),
            None => x.shallow_clone(),
        };
        (y + shortcut).relu()
    }
}

/// ResNet-50 with an `n_classes` head; parameter names as in the VGGFace2 weights
/// (`conv1`, `bn1`, `layer1.0.conv1`, …, `layer1.0.downsample.0`, `fc`).
#[derive(Debug)]
pub struct CaffeResnet50 {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    layers: Vec<Bottleneck>,
    fc: nn::Linear,
}

impl CaffeResnet50 {
    pub fn new(p: &nn::Path, n_classes: i64) -> CaffeResnet50 {
        let mut layers = Vec::new();
        let mut c_in = 64;
        for (i, (blocks, width)) in STAGES.iter().enumerate() {
            let stage = p / format!("layer{}", i + 1);
            for b in 0..*blocks {
                let stride = if b == 0 && i > 0 { 2 } else { 1 };
                layers.push(Bottleneck::new(&(&stage / b), c_in, *width, stride));
                c_in = width * EXPANSION;
            }
        }
        CaffeResnet50 {
            conv1: conv(p / "conv1", 3, 64, 7, 2, 3, false),
            bn1: bn(p / "bn1", 64),
            layers,
            // Optimiser group 1: the head trains at 10× the trunk's rate.
            fc: nn::linear(p.set_group(1) / "fc", c_in, n_classes, Default::default()),
        }
    }

    /// The 2048-d pooled features (before the head).
    pub fn features_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut y = x
            .apply(&self.conv1)
            .apply_t(&self.bn1, train)
            .relu()
            // Caffe: no padding, output size rounded up.
            .max_pool2d([3, 3], [2, 2], [0, 0], [1, 1], true);
        for l in &self.layers {
            y = l.forward_t(&y, train);
        }
        // AvgPool2d(7, stride 1) at 224 px input, i.e. 7×7 → 1×1.
        y.avg_pool2d([7, 7], [1, 1], [0, 0], false, true, None)
            .flatten(1, -1)
    }
}

impl ModuleT for CaffeResnet50 {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.features_t(x, train).apply(&self.fc)
    }
}
