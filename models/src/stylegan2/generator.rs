//! The StyleGAN2 generator in the layout HyperStyle decodes with (rosinality's PyTorch port,
//! whose parameter names the converted checkpoints keep): a mapping network z → w, then a
//! synthesis network from a learned 4×4 constant through modulated/demodulated convolutions
//! with per-layer noise, summing upsampled RGB outputs (skips). Every convolution accepts a
//! per-layer weight offset, HyperStyle's refinement: W' = W · (1 + Δ).

use tch::nn::{self, Init};
use tch::{Device, Kind, Tensor};

use super::ops::{make_kernel, upfirdn2d};
use crate::error::{ModelError, Result};
use crate::layers::fused_leaky_relu;
use crate::layers::EqualLinear;

/// The sizes of one generator. The official FFHQ network (and the study's) is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// Output width and height, a power of two ≥ 8.
    pub size: i64,
    pub style_dim: i64,
    /// Layers of the mapping network.
    pub n_mlp: i64,
    pub channel_multiplier: i64,
    /// A cap on every layer's width (512 in the official networks), for narrow test networks.
    pub max_channels: i64,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            size: 1024,
            style_dim: 512,
            n_mlp: 8,
            channel_multiplier: 2,
            max_channels: 512,
        }
    }
}

impl GeneratorConfig {
    pub fn validate(&self) -> Result<()> {
        let s = self.size;
        if !(8..=4096).contains(&s) || s & (s - 1) != 0 {
            return Err(ModelError::Invalid(format!(
                "generator size must be a power of two from 8 to 4096, got {s}"
            )));
        }
        if self.style_dim < 1
            || self.n_mlp < 0
            || self.channel_multiplier < 1
            || self.max_channels < 1
        {
            return Err(ModelError::Invalid(format!(
                "generator sizes must be positive: {self:?}"
            )));
        }
        Ok(())
    }

    fn log_size(&self) -> i64 {
        63 - i64::from(self.size.leading_zeros())
    }

    /// Channels at resolution `res` (rosinality's table).
    pub fn channels(&self, res: i64) -> i64 {
        let cm = self.channel_multiplier;
        let c = match res {
            0..=32 => 512,
            64 => 256 * cm,
            128 => 128 * cm,
            256 => 64 * cm,
            512 => 32 * cm,
            1024 => 16 * cm,
            _ => 8 * cm,
        };
        c.min(self.max_channels)
    }

    /// W+ codes per image: 18 at 1024 px.
    pub fn n_latent(&self) -> i64 {
        self.log_size() * 2 - 2
    }

    /// Convolutions that take a weight offset, in HyperStyle's order (conv1, to_rgb1, then
    /// conv-up, conv, to-RGB per resolution): 26 at 1024 px.
    pub fn n_conv_layers(&self) -> usize {
        (3 * (self.log_size() - 2) + 2) as usize
    }

    /// Noise inputs (stored as buffers `noises.noise_i`).
    pub fn n_noises(&self) -> i64 {
        (self.log_size() - 2) * 2 + 1
    }

    /// (kernel size, input channels, output channels) of convolution `i` in HyperStyle's order.
    pub fn conv_shape(&self, i: usize) -> (i64, i64, i64) {
        let c4 = self.channels(4);
        match i {
            0 => (3, c4, c4),
            1 => (1, c4, 3),
            _ => {
                let j = (i as i64 - 2) / 3;
                let c = self.channels(1 << (j + 3));
                let prev = if j == 0 {
                    c4
                } else {
                    self.channels(1 << (j + 2))
                };
                match (i - 2) % 3 {
                    0 => (3, prev, c),
                    1 => (3, c, c),
                    _ => (1, c, 3),
                }
            }
        }
    }

    /// Indices of the to-RGB layers among the convolutions (HyperStyle never offsets them).
    pub fn to_rgb_layers(&self) -> Vec<usize> {
        (0..self.n_conv_layers()).filter(|i| i % 3 == 1).collect()
    }
}

#[derive(Debug)]
struct ModulatedConv {
    weight: Tensor,
    modulation: EqualLinear,
    scale: f64,
    k: i64,
    c_out: i64,
    demodulate: bool,
    /// Upsampling convolutions blur after a stride-2 transposed convolution with these pads.
    up: Option<(i64, i64)>,
}

impl ModulatedConv {
    fn new(
        p: &nn::Path,
        c_in: i64,
        c_out: i64,
        k: i64,
        style_dim: i64,
        demodulate: bool,
        upsample: bool,
    ) -> Self {
        // rosinality's pads for the blur after a stride-2 transposed convolution.
        let up = upsample.then(|| {
            let p = (4 - 2) - (k - 1);
            ((p + 1).div_euclid(2) + 1, p.div_euclid(2) + 1)
        });
        ModulatedConv {
            weight: p.var(
                "weight",
                &[1, c_out, c_in, k, k],
                Init::Randn {
                    mean: 0.0,
                    stdev: 1.0,
                },
            ),
            modulation: EqualLinear::new(p / "modulation", style_dim, c_in, 1.0, 1.0, false),
            scale: 1.0 / ((c_in * k * k) as f64).sqrt(),
            k,
            c_out,
            demodulate,
            up,
        }
    }

    fn forward(&self, x: &Tensor, style: &Tensor, delta: Option<&Tensor>, blur: &Tensor) -> Tensor {
        let (b, c_in, h, w) = x.size4().unwrap_or_default();
        let (k, c_out) = (self.k, self.c_out);
        let s = self.modulation.forward(style).reshape([b, 1, c_in, 1, 1]);
        let mut weight = match delta {
            None => &self.weight * self.scale * s,
            Some(d) => (&self.weight * (d + 1.0) * s) * self.scale,
        };
        if self.demodulate {
            let d = (weight.pow_tensor_scalar(2).sum_dim_intlist(
                [2, 3, 4].as_slice(),
                false,
                Kind::Float,
            ) + 1e-8)
                .rsqrt();
            weight *= d.reshape([b, c_out, 1, 1, 1]);
        }
        let x = x.reshape([1, b * c_in, h, w]);
        match self.up {
            Some(pad) => {
                let weight = weight.transpose(1, 2).reshape([b * c_in, c_out, k, k]);
                let y =
                    x.conv_transpose2d(&weight, None::<Tensor>, [2, 2], [0, 0], [0, 0], b, [1, 1]);
                let (ho, wo) = (y.size()[2], y.size()[3]);
                upfirdn2d(&y.reshape([b, c_out, ho, wo]), blur, 1, 1, pad)
            }
            None => {
                let weight = weight.reshape([b * c_out, c_in, k, k]);
                x.conv2d(&weight, None::<Tensor>, [1, 1], [k / 2, k / 2], [1, 1], b)
                    .reshape([b, c_out, h, w])
            }
        }
    }
}

#[derive(Debug)]
struct StyledConv {
    conv: ModulatedConv,
    noise_weight: Tensor,
    bias: Tensor,
}

impl StyledConv {
    fn new(p: &nn::Path, c_in: i64, c_out: i64, style_dim: i64, upsample: bool) -> Self {
        StyledConv {
            conv: ModulatedConv::new(&(p / "conv"), c_in, c_out, 3, style_dim, true, upsample),
            noise_weight: (p / "noise").var("weight", &[1], Init::Const(0.0)),
            bias: (p / "activate").var("bias", &[c_out], Init::Const(0.0)),
        }
    }

    fn forward(
        &self,
        x: &Tensor,
        style: &Tensor,
        noise: &Tensor,
        delta: Option<&Tensor>,
        blur: &Tensor,
    ) -> Tensor {
        let y = self.conv.forward(x, style, delta, blur);
        let y = y + &self.noise_weight * noise;
        fused_leaky_relu(&y, &self.bias)
    }
}

#[derive(Debug)]
struct ToRgb {
    conv: ModulatedConv,
    bias: Tensor,
}

impl ToRgb {
    fn new(p: &nn::Path, c_in: i64, style_dim: i64) -> Self {
        ToRgb {
            conv: ModulatedConv::new(&(p / "conv"), c_in, 3, 1, style_dim, false, false),
            bias: p.var("bias", &[1, 3, 1, 1], Init::Const(0.0)),
        }
    }
}

/// Which noise the synthesis adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noise {
    /// The stored buffers (HyperStyle inverts and edits with these: deterministic).
    Stored,
    /// Fresh Gaussian noise per call.
    Random,
}

#[derive(Debug)]
pub struct Generator {
    cfg: GeneratorConfig,
    style: Vec<EqualLinear>,
    input: Tensor,
    conv1: StyledConv,
    to_rgb1: ToRgb,
    convs: Vec<StyledConv>,
    to_rgbs: Vec<ToRgb>,
    noises: Vec<Tensor>,
    /// The blur after an upsampling convolution ([1,3,3,1] × 4).
    blur: Tensor,
}

impl Generator {
    pub fn new(p: &nn::Path, cfg: GeneratorConfig) -> Result<Generator> {
        cfg.validate()?;
        let d = cfg.style_dim;
        let style = (1..=cfg.n_mlp)
            .map(|i| EqualLinear::new(p / "style" / i, d, d, 0.0, 0.01, true))
            .collect();
        let c4 = cfg.channels(4);
        let mut convs = Vec::new();
        let mut to_rgbs = Vec::new();
        let mut c_in = c4;
        for (j, i) in (3..=cfg.log_size()).enumerate() {
            let c_out = cfg.channels(1 << i);
            let j = j as i64;
            convs.push(StyledConv::new(
                &(p / "convs" / (2 * j)),
                c_in,
                c_out,
                d,
                true,
            ));
            convs.push(StyledConv::new(
                &(p / "convs" / (2 * j + 1)),
                c_out,
                c_out,
                d,
                false,
            ));
            to_rgbs.push(ToRgb::new(&(p / "to_rgbs" / j), c_out, d));
            c_in = c_out;
        }
        let noises = (0..cfg.n_noises())
            .map(|i| {
                let res = 1i64 << ((i + 5) / 2);
                // A buffer, not a parameter (as in PyTorch); drawn until weights are loaded.
                let t = (p / "noises").zeros_no_train(&format!("noise_{i}"), &[1, 1, res, res]);
                let _ = tch::no_grad(|| t.shallow_clone().normal_(0.0, 1.0));
                t
            })
            .collect();
        Ok(Generator {
            cfg,
            style,
            input: (p / "input").var(
                "input",
                &[1, c4, 4, 4],
                Init::Randn {
                    mean: 0.0,
                    stdev: 1.0,
                },
            ),
            conv1: StyledConv::new(&(p / "conv1"), c4, c4, d, false),
            to_rgb1: ToRgb::new(&(p / "to_rgb1"), c4, d),
            convs,
            to_rgbs,
            noises,
            blur: (make_kernel(&[1.0, 3.0, 3.0, 1.0]) * 4.0).to_device(p.device()),
        })
    }

    pub fn config(&self) -> &GeneratorConfig {
        &self.cfg
    }

    /// z [B, style_dim] → w [B, style_dim] (pixel norm, then the mapping MLP).
    pub fn mapping(&self, z: &Tensor) -> Tensor {
        let mut w = z
            * (z.pow_tensor_scalar(2)
                .mean_dim([1].as_slice(), true, Kind::Float)
                + 1e-8)
                .rsqrt();
        for l in &self.style {
            w = l.forward(&w);
        }
        w
    }

    /// The mean w of `n` mapped Gaussian samples (for truncation and initial codes).
    pub fn mean_latent(&self, n: i64, device: Device) -> Tensor {
        let z = Tensor::randn([n, self.cfg.style_dim], (Kind::Float, device));
        self.mapping(&z).mean_dim([0].as_slice(), true, Kind::Float)
    }

    /// Decodes W+ codes [B, n_latent, style_dim] into images [B, 3, size, size] in about
    /// [-1, 1]. `deltas` is empty or has one optional weight offset per convolution
    /// (`n_conv_layers`, HyperStyle's order), each broadcastable to [B, out, in, k, k].
    pub fn synthesis(
        &self,
        codes: &Tensor,
        deltas: &[Option<Tensor>],
        noise: Noise,
    ) -> Result<Tensor> {
        let cfg = &self.cfg;
        let size = codes.size();
        if size.len() != 3 || size[1] != cfg.n_latent() || size[2] != cfg.style_dim {
            return Err(ModelError::Invalid(format!(
                "latent codes must be [batch, {}, {}], got {size:?}",
                cfg.n_latent(),
                cfg.style_dim
            )));
        }
        if !deltas.is_empty() && deltas.len() != cfg.n_conv_layers() {
            return Err(ModelError::Invalid(format!(
                "weight offsets: expected one per convolution ({}), got {}",
                cfg.n_conv_layers(),
                deltas.len()
            )));
        }
        let b = size[0];
        let delta = |i: usize| deltas.get(i).and_then(Option::as_ref);
        let noise_at = |i: usize| -> Tensor {
            match noise {
                Noise::Stored => self.noises[i].shallow_clone(),
                Noise::Random => self.noises[i].randn_like(),
            }
        };
        let style = |i: i64| codes.select(1, i);
        let mut x = self.input.repeat([b, 1, 1, 1]);
        x = self
            .conv1
            .forward(&x, &style(0), &noise_at(0), delta(0), &self.blur);
        let mut skip = self
            .to_rgb1
            .conv
            .forward(&x, &style(1), delta(1), &self.blur)
            + &self.to_rgb1.bias;
        for (j, rgb) in self.to_rgbs.iter().enumerate() {
            let (i, w) = (2 * j as i64 + 1, 3 * j + 2);
            x = self.convs[2 * j].forward(
                &x,
                &style(i),
                &noise_at(2 * j + 1),
                delta(w),
                &self.blur,
            );
            x = self.convs[2 * j + 1].forward(
                &x,
                &style(i + 1),
                &noise_at(2 * j + 2),
                delta(w + 1),
                &self.blur,
            );
            let up = upfirdn2d(&skip, &self.blur, 2, 1, (2, 1));
            skip = rgb
                .conv
                .forward(&x, &style(i + 2), delta(w + 2), &self.blur)
                + &rgb.bias
                + up;
        }
        Ok(skip)
    }
}
