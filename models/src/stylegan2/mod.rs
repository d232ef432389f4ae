//! StyleGAN2, the generator HyperStyle inverts into.

pub mod generator;
pub mod ops;

pub use generator::{Generator, GeneratorConfig, Noise};

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::VarStore;
    use tch::{Device, Kind, Tensor};

    fn narrow(size: i64) -> (VarStore, Generator) {
        tch::manual_seed(3);
        let vs = VarStore::new(Device::Cpu);
        let cfg = GeneratorConfig {
            size,
            style_dim: 32,
            n_mlp: 2,
            channel_multiplier: 1,
            max_channels: 16,
        };
        let g = Generator::new(&vs.root(), cfg).unwrap();
        (vs, g)
    }

    #[test]
    fn the_official_sizes_are_counted_as_hyperstyle_counts_them() {
        let c = GeneratorConfig::default();
        assert_eq!(
            (c.n_latent(), c.n_conv_layers(), c.n_noises()),
            (18, 26, 17)
        );
        assert_eq!(c.to_rgb_layers(), vec![1, 4, 7, 10, 13, 16, 19, 22, 25]);
        let c256 = GeneratorConfig { size: 256, ..c };
        assert_eq!((c256.n_latent(), c256.n_conv_layers()), (14, 20));
        assert!(GeneratorConfig { size: 48, ..c }.validate().is_err());
    }

    #[test]
    fn shapes_determinism_noise_and_offsets() {
        let (vs, g) = narrow(32);
        let codes = Tensor::randn([2, 8, 32], (Kind::Float, Device::Cpu));
        let a = tch::no_grad(|| g.synthesis(&codes, &[], Noise::Stored)).unwrap();
        assert_eq!(a.size(), vec![2, 3, 32, 32]);
        let b = tch::no_grad(|| g.synthesis(&codes, &[], Noise::Stored)).unwrap();
        assert!(a.equal(&b), "stored noise is deterministic");
        // Random noise changes the image only where noise weights are non-zero: give them one.
        tch::no_grad(|| {
            let _ = vs.variables()["convs.0.noise.weight"]
                .shallow_clone()
                .fill_(0.5);
        });
        let c = tch::no_grad(|| g.synthesis(&codes, &[], Noise::Random)).unwrap();
        let d = tch::no_grad(|| g.synthesis(&codes, &[], Noise::Stored)).unwrap();
        assert!((c - &d).abs().max().double_value(&[]) > 1e-4);
        // All-zero offsets are no offsets; one offset on one layer changes the image.
        let n = g.config().n_conv_layers();
        let zeros: Vec<Option<Tensor>> = (0..n)
            .map(|i| (i % 3 != 1).then(|| Tensor::zeros([1], (Kind::Float, Device::Cpu))))
            .collect();
        let z = tch::no_grad(|| g.synthesis(&codes, &zeros, Noise::Stored)).unwrap();
        assert!((z - &d).abs().max().double_value(&[]) < 1e-5);
        let mut one: Vec<Option<Tensor>> = (0..n).map(|_| None).collect();
        // (A uniform offset would be undone by demodulation.)
        one[3] = Some(Tensor::randn([16, 16, 3, 3], (Kind::Float, Device::Cpu)) * 0.5);
        let o = tch::no_grad(|| g.synthesis(&codes, &one, Noise::Stored)).unwrap();
        assert!((o - &d).abs().max().double_value(&[]) > 1e-4);
        // Wrong shapes are named errors, not panics.
        let e = g
            .synthesis(
                &Tensor::zeros([2, 7, 32], (Kind::Float, Device::Cpu)),
                &[],
                Noise::Stored,
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("[batch, 8, 32]"), "{e}");
        let e = g
            .synthesis(&codes, &one[..3], Noise::Stored)
            .unwrap_err()
            .to_string();
        assert!(e.contains("one per convolution (11), got 3"), "{e}");
    }

    /// The 64 px official-width generator (512-d styles, 8 mapping layers, channel multiplier
    /// 2) with formula weights (`crate::testing`), against HyperStyle's `models/stylegan2/model.py`
    /// (yuval-alaluf/hyperstyle a723c73) run with rosinality/stylegan2-pytorch's CPU op paths
    /// (`upfirdn2d_native`, `fused_leaky_relu`'s CPU branch, bef283a), torch 2.11.0+cu130 on CPU:
    /// `g([codes], input_is_latent=True, randomize_noise=False)`, with and without weight
    /// offsets on layers 0, 2 and 6. Every 1021st output value (and every 97th of the mapping
    /// output) is stored.
    #[test]
    fn images_match_hyperstyles_generator() {
        let vs = VarStore::new(Device::Cpu);
        let cfg = GeneratorConfig {
            size: 64,
            ..GeneratorConfig::default()
        };
        let g = Generator::new(&vs.root(), cfg).unwrap();
        // 27,032,600 parameters in PyTorch; its blur kernels are constants here, and the noise
        // buffers are buffers in both (99 tensors there, 8 of them kernels).
        let n: i64 = vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum();
        assert_eq!(n, 27_032_600);
        assert_eq!(vs.variables().len(), 99 - 8);
        crate::testing::fill(&vs);
        let codes = crate::testing::input(&[2, 10, 512]) / 50.0;
        let mut deltas: Vec<Option<Tensor>> = (0..cfg.n_conv_layers()).map(|_| None).collect();
        for i in [0usize, 2, 6] {
            deltas[i] =
                Some(crate::testing::formula(&format!("delta.{i}"), &[512, 512, 3, 3]) * 0.1);
        }
        let (img, img_d, w) = tch::no_grad(|| {
            (
                g.synthesis(&codes, &[], Noise::Stored).unwrap(),
                g.synthesis(&codes, &deltas, Noise::Stored).unwrap(),
                g.mapping(&(crate::testing::input(&[2, 512]) / 50.0)),
            )
        });
        let img_want = [
            -1.1365017, -1.7063059, -0.7138494, 0.3459997, -1.465552, -1.044258, 0.0839563,
            -1.2719429, -0.2121787, -0.9930871, -0.887795, 0.2077819, -0.0411027, -0.7158587,
            0.3271562, -0.8740772, -2.0744376, 0.5904396, -0.3851771, -2.7834797, -0.1217343,
            -0.3026167, -1.7178781, -0.2966597, 0.1225319,
        ];
        let img_d_want = [
            -1.1373975, -1.7108134, -0.720204, 0.3396559, -1.4667958, -1.0685211, 0.0423421,
            -1.3336751, -0.2459032, -1.0612665, -0.9530952, 0.1518366, -0.058066, -0.7221546,
            0.3204724, -0.8804012, -2.0756772, 0.5666106, -0.4248007, -2.8435955, -0.1520342,
            -0.3324958, -1.7962656, -0.3942687, 0.0889062,
        ];
        let w_want = [
            -0.0001474, 0.0008743, 0.0013428, 5.77e-05, -0.0002612, -0.0001942, 0.0009293,
            0.0013194, -2.6e-06, -0.0002663, -0.0001834,
        ];
        let worst = crate::testing::max_abs_diff_at;
        assert_eq!(img.size(), vec![2, 3, 64, 64]);
        let (a, b, c) = (
            worst(&img, 1021, &img_want),
            worst(&img_d, 1021, &img_d_want),
            worst(&w, 97, &w_want),
        );
        eprintln!(
            "StyleGAN2 vs PyTorch: max abs diff {a:.2e}, with offsets {b:.2e}, mapping {c:.2e}"
        );
        assert!(
            a < 2e-5 && b < 2e-5,
            "max |ours − PyTorch|: {a}, with offsets {b}"
        );
        assert!(c < 1e-7, "mapping: {c}");
    }
}
