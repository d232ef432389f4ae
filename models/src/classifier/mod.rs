//! The syndrome classifier: VGGFace2's ResNet-50 (Caffe layout) with a 12-class head.

pub mod cv;
pub mod folds;
pub mod metrics;
pub mod preprocess;
pub mod resnet;
pub mod train;

pub use resnet::CaffeResnet50;

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, ModuleT};
    use tch::Device;

    fn model() -> (nn::VarStore, CaffeResnet50) {
        let vs = nn::VarStore::new(Device::Cpu);
        let m = CaffeResnet50::new(&vs.root(), 12);
        (vs, m)
    }

    #[test]
    fn names_and_shapes_are_those_of_the_vggface2_weights() {
        let (vs, _) = model();
        let vars = vs.variables();
        let trainable = vs.trainable_variables();
        // PyTorch: 161 parameters, 23,532,620 values (cydonia999/VGGFace2-pytorch resnet50,
        // num_classes=12, counted with torch 2.11.0); 53 BatchNorms × 2 running statistics.
        assert_eq!(trainable.len(), 161);
        let n: i64 = trainable.iter().map(|t| t.numel() as i64).sum();
        assert_eq!(n, 23_532_620);
        assert_eq!(vars.len(), 161 + 2 * 53);
        let shape = |k: &str| vars.get(k).map(|t| t.size());
        assert_eq!(shape("conv1.weight"), Some(vec![64, 3, 7, 7]));
        assert_eq!(
            shape("layer1.0.downsample.0.weight"),
            Some(vec![256, 64, 1, 1])
        );
        assert_eq!(shape("layer2.0.conv1.weight"), Some(vec![128, 256, 1, 1]));
        assert_eq!(shape("layer3.5.conv2.weight"), Some(vec![256, 256, 3, 3]));
        assert_eq!(shape("layer4.2.bn3.running_var"), Some(vec![2048]));
        assert_eq!(shape("fc.weight"), Some(vec![12, 2048]));
        assert!(!vars.contains_key("layer1.1.downsample.0.weight"));
    }

    /// Logits for a fixed input with formula weights (`crate::testing`), against the same
    /// network in PyTorch: cydonia999/VGGFace2-pytorch `models/resnet.py` resnet50(num_classes=12)
    /// at c6e10f2, torch 2.11.0+cu130 on CPU, eval mode. The torchvision layout (stride on the
    /// 3×3, padded max-pool) gives 4.2991 and -2.0374 for logits 0 and 2 of image 0: the test
    /// tells the layouts apart.
    #[test]
    fn logits_match_the_pytorch_caffe_resnet() {
        let (vs, m) = model();
        crate::testing::fill(&vs);
        let x = crate::testing::input(&[2, 3, 224, 224]);
        let y = tch::no_grad(|| m.forward_t(&x, false));
        assert_eq!(y.size(), vec![2, 12]);
        let want: [[f64; 12]; 2] = [
            [
                4.126586437225342,
                2.2084407806396484,
                -1.8672212362289429,
                -4.086595058441162,
                -2.2643282413482666,
                1.8136091232299805,
                4.1372761726379395,
                2.4021825790405273,
                -1.7233513593673706,
                -4.215333938598633,
                -2.6219959259033203,
                1.5330429077148438,
            ],
            [
                4.121347427368164,
                2.1967155933380127,
                -1.873979926109314,
                -4.081784725189209,
                -2.252647876739502,
                1.8207510709762573,
                4.132903099060059,
                2.390566825866699,
                -1.7308632135391235,
                -4.211403846740723,
                -2.610464096069336,
                1.5409135818481445,
            ],
        ];
        let mut worst = 0f64;
        for (b, row) in want.iter().enumerate() {
            for (k, w) in row.iter().enumerate() {
                let got = y.double_value(&[b as i64, k as i64]);
                worst = worst.max((got - w).abs());
            }
        }
        eprintln!("ResNet-50 vs PyTorch: max abs diff {worst:.2e}");
        assert!(worst < 1e-3, "max |ours − PyTorch| = {worst}");
    }
}
