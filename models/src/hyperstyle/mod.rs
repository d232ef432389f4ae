//! HyperStyle inversion (Alaluf et al. 2022, as the study used it): the W encoder gives initial
//! codes (plus the generator's average latent); then, `n_iters` times, the hypernetwork sees the
//! image beside the current reconstruction and adds weight offsets for the generator, so the
//! reconstruction keeps the person's identity while the codes stay in the editable W+ space.
//! Edits move the codes and decode them with the same offsets.

pub mod encoder;
pub mod hypernet;

pub use encoder::WEncoder;
pub use hypernet::{Hypernet, HypernetConfig};

use tch::nn::{self, Init};
use tch::{Kind, Tensor};

use crate::error::{ModelError, Result};
use crate::stylegan2::{Generator, GeneratorConfig, Noise};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HyperStyleConfig {
    pub generator: GeneratorConfig,
    pub hypernet: HypernetConfig,
    /// The networks' input size (HyperStyle: 256); reconstructions are pooled to it.
    pub input_size: i64,
}

impl Default for HyperStyleConfig {
    fn default() -> Self {
        let generator = GeneratorConfig::default();
        HyperStyleConfig {
            hypernet: HypernetConfig::for_generator(&generator),
            generator,
            input_size: 256,
        }
    }
}

/// One batch's inversion: codes [B, n_latent, 512], per-layer offsets, and the full-size
/// reconstruction [B, 3, size, size] in about [-1, 1].
#[derive(Debug)]
pub struct Inversion {
    pub codes: Tensor,
    pub deltas: Vec<Option<Tensor>>,
    pub image: Tensor,
}

/// The three networks and the average latent, under the names the conversion script writes:
/// `encoder.*`, `hypernet.*`, `decoder.*`, `latent_avg`.
#[derive(Debug)]
pub struct HyperStyle {
    pub cfg: HyperStyleConfig,
    pub encoder: WEncoder,
    pub hypernet: Hypernet,
    pub decoder: Generator,
    latent_avg: Tensor,
}

impl HyperStyle {
    pub fn new(p: &nn::Path, cfg: HyperStyleConfig) -> Result<HyperStyle> {
        let g = cfg.generator;
        Ok(HyperStyle {
            encoder: WEncoder::new(&(p / "encoder"), g.n_latent()),
            hypernet: Hypernet::new(&(p / "hypernet"), &g, &cfg.hypernet)?,
            decoder: Generator::new(&(p / "decoder"), g)?,
            latent_avg: p.var("latent_avg", &[g.n_latent(), g.style_dim], Init::Const(0.0)),
            cfg,
        })
    }

    /// Pools a reconstruction to the networks' input size (HyperStyle's `face_pool`).
    pub fn pool(&self, image: &Tensor) -> Tensor {
        image.adaptive_avg_pool2d([self.cfg.input_size, self.cfg.input_size])
    }

    /// Inverts images [B, 3, input_size, input_size] in [-1, 1] (HyperStyle's `run_inversion`
    /// with stored noise). Call inside `tch::no_grad`.
    pub fn invert(&self, x: &Tensor, n_iters: usize) -> Result<Inversion> {
        let s = x.size();
        let n = self.cfg.input_size;
        if s.len() != 4 || s[1] != 3 || s[2] != n || s[3] != n {
            return Err(ModelError::Invalid(format!(
                "images must be [batch, 3, {n}, {n}], got {s:?}"
            )));
        }
        let codes = self.encoder.forward(x) + self.latent_avg.unsqueeze(0);
        let mut image = self.decoder.synthesis(&codes, &[], Noise::Stored)?;
        let mut deltas: Vec<Option<Tensor>> = Vec::new();
        for _ in 0..n_iters {
            let y_hat = self.pool(&image);
            let out = self.hypernet.forward(&Tensor::cat(&[x, &y_hat], 1));
            deltas = if deltas.is_empty() {
                out
            } else {
                deltas
                    .iter()
                    .zip(out)
                    .map(|(d, o)| match (d, o) {
                        (Some(d), Some(o)) => Some(d + o),
                        _ => None,
                    })
                    .collect()
            };
            image = self.decoder.synthesis(&codes, &deltas, Noise::Stored)?;
        }
        Ok(Inversion {
            codes,
            deltas,
            image,
        })
    }

    /// Decodes (edited) codes with an inversion's offsets.
    pub fn decode(&self, codes: &Tensor, deltas: &[Option<Tensor>]) -> Result<Tensor> {
        self.decoder.synthesis(codes, deltas, Noise::Stored)
    }
}

/// [-1, 1] float images → 8-bit RGB (HyperStyle's `tensor2im`: clamp, shift, scale, truncate).
pub fn to_u8(image: &Tensor) -> Tensor {
    ((image.clamp(-1.0, 1.0) + 1.0) / 2.0 * 255.0).to_kind(Kind::Uint8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::VarStore;
    use tch::Device;

    fn config(size: i64, tune: Vec<usize>, input_size: i64) -> HyperStyleConfig {
        HyperStyleConfig {
            generator: GeneratorConfig {
                size,
                ..GeneratorConfig::default()
            },
            hypernet: HypernetConfig {
                layers_to_tune: tune,
                input_nc: 6,
            },
            input_size,
        }
    }

    #[test]
    fn the_default_tunes_every_non_rgb_layer_and_bad_inputs_are_named() {
        let c = HyperStyleConfig::default();
        assert_eq!(
            c.hypernet.layers_to_tune,
            vec![0, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 23, 24]
        );
        let vs = VarStore::new(Device::Cpu);
        let e = HyperStyle::new(&vs.root(), config(64, vec![0, 20], 64)).unwrap_err();
        assert!(e.to_string().contains("no layer 20"), "{e}");
        let vs = VarStore::new(Device::Cpu);
        let h = HyperStyle::new(&vs.root(), config(64, vec![0], 64)).unwrap();
        let e = tch::no_grad(|| {
            h.invert(
                &Tensor::zeros([1, 3, 32, 32], (Kind::Float, Device::Cpu)),
                1,
            )
        })
        .unwrap_err();
        assert!(e.to_string().contains("[batch, 3, 64, 64]"), "{e}");
    }

    /// HyperStyle with a 128 px generator (official widths), input pooled to 64 px, two
    /// refinement iterations, layers 0–15 tuned as by default plus to-RGB layer 16 (so shared,
    /// per-channel and to-RGB refinement blocks all run), formula weights
    /// (`crate::testing`), against HyperStyle's own modules (yuval-alaluf/hyperstyle a723c73:
    /// `WEncoder(50, 'ir_se')`, `SharedWeightsHyperNetResNet` with its `.cuda()` calls removed
    /// and torchvision 0.26.0's resnet34, rosinality's CPU ops) run with torch 2.11.0+cu130 on
    /// CPU, iterating as `run_inversion` does with `randomize_noise=False`.
    #[test]
    fn inversion_matches_hyperstyles_networks() {
        let vs = VarStore::new(Device::Cpu);
        let tune = vec![0, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 16];
        let h = HyperStyle::new(&vs.root(), config(128, tune, 64)).unwrap();
        crate::testing::fill(&vs);
        let x = crate::testing::input(&[1, 3, 64, 64]) / 60.0;
        let inv = tch::no_grad(|| h.invert(&x, 2)).unwrap();
        assert_eq!(inv.image.size(), vec![1, 3, 128, 128]);
        let worst = crate::testing::max_abs_diff_at;
        let d = |i: usize| inv.deltas[i].as_ref().unwrap().shallow_clone();
        assert_eq!(d(14).size(), vec![1, 256, 512, 3, 3]);
        assert_eq!(d(16).size(), vec![1, 3, 256, 1, 1]);
        assert!(inv.deltas[1].is_none());
        let diffs = [
            worst(
                &inv.codes,
                331,
                &[
                    -0.2313185, 0.5582661, 1.0965385, 0.8864771, 0.2441255, -0.6040217, -1.0413411,
                    -0.8433925, -0.2262456, 0.585068, 0.9296985, 0.8382909, 0.2203441, -0.4795638,
                    -0.862509, -0.8407431, -0.2551988, 0.3732201, 0.8540289,
                ],
            ),
            worst(
                &inv.image,
                2039,
                &[
                    0.0668948, -0.3680552, 0.0360295, -0.2731544, 0.5347012, 1.5374401, -0.2065024,
                    1.0575879, -0.2484469, -0.7223661, 0.3728445, -0.0223672, -0.7875158, -0.0307,
                    -1.0186962, 1.4530884, -0.4607571, -0.0930298, -1.2565254, 0.9649893, 0.675127,
                    2.6799102, -0.0434184, 0.7853014, -0.860332,
                ],
            ),
            worst(
                &d(0),
                100003,
                &[
                    -0.0454468, 0.0250757, 0.0346094, 0.0418755, -0.0199784, -0.0294316,
                    -0.0373036, 0.012782, 0.0230502, 0.0326692, 0.0408657, -0.0173135, -0.0278638,
                    -0.0364471, 0.0119619, 0.0220854, 0.0311479, -0.0038227, -0.0147925,
                    -0.0255037, -0.0350339, 0.0092595, 0.0204823, 0.030099,
                ],
            ),
            worst(
                &d(14),
                100003,
                &[
                    0.3215483, 0.1739151, 0.0609857, 0.1065348, 0.1475811, 0.185986, 0.3462946,
                    0.3499998, 0.4618682, 0.3995897, 0.3361015, 0.1585013,
                ],
            ),
            worst(
                &d(16),
                97,
                &[
                    0.1166167, -0.0483861, 0.0455753, 0.2517503, 0.2764199, 0.0618329, -0.1384158,
                    -0.0898121,
                ],
            ),
        ];
        eprintln!("HyperStyle vs PyTorch: max abs diff codes, image, deltas 0/14/16: {diffs:?}");
        assert!(diffs.iter().all(|d| *d < 1e-4), "{diffs:?}");
    }
}
