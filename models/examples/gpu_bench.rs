//! GPU timing for the device machine (scripts/gpu_check.sh runs it): the Caffe ResNet-50 at
//! batch 64 (fp32 and bf16, eval, no grad) and one HyperStyle inversion (3 refinement
//! iterations) plus one edit at 1024 px, per image, with random weights. Prints one line per
//! measurement.
//!
//!     cargo build --release -p et-models --example gpu_bench
//!     target/release/examples/gpu_bench [--device cuda:0] [--iters 30]

use std::time::Instant;

use et_models::classifier::CaffeResnet50;
use et_models::device::DeviceChoice;
use et_models::hyperstyle::{HyperStyle, HyperStyleConfig};
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

fn sync(d: Device) {
    if let Device::Cuda(i) = d {
        tch::Cuda::synchronize(i as i64);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let device = arg("--device")
        .unwrap_or_else(|| "auto".into())
        .parse::<DeviceChoice>()?
        .resolve()?;
    let iters: usize = arg("--iters").map_or(Ok(30), |s| s.parse())?;
    println!(
        "device {device:?}; libtorch_cuda: {}; cudnn: {}",
        et_models::device::load_cuda().unwrap_or_else(|| "not loaded".into()),
        tch::Cuda::cudnn_is_available()
    );
    let _g = tch::no_grad_guard();
    let batch = if device == Device::Cpu { 4 } else { 64 };
    for kind in [Kind::Float, Kind::BFloat16] {
        let mut vs = VarStore::new(device);
        let m = CaffeResnet50::new(&vs.root(), 12);
        vs.set_kind(kind);
        let x = Tensor::randn([batch, 3, 224, 224], (kind, device));
        for _ in 0..5 {
            let _ = m.forward_t(&x, false);
        }
        sync(device);
        let t = Instant::now();
        for _ in 0..iters {
            let _ = m.forward_t(&x, false);
        }
        sync(device);
        let s = t.elapsed().as_secs_f64();
        println!(
            "resnet50-caffe {kind:?} batch {batch}: {:.0} images/s ({iters} iterations, {:.2} ms each)",
            (batch as usize * iters) as f64 / s,
            1000.0 * s / iters as f64
        );
    }
    let vs = VarStore::new(device);
    let cfg = HyperStyleConfig::default();
    let n_latent = cfg.generator.n_latent();
    let h = HyperStyle::new(&vs.root(), cfg)?;
    let x = Tensor::rand([1, 3, 256, 256], (Kind::Float, device)) * 2.0 - 1.0;
    let direction = Tensor::randn([1, n_latent, 512], (Kind::Float, device));
    let direction = &direction / direction.norm();
    let mut times = Vec::new();
    for i in 0..4 {
        sync(device);
        let t = Instant::now();
        let inv = h.invert(&x, 3)?;
        let edited = h.decode(&(&inv.codes + &direction * 8.0), &inv.deltas)?;
        let _ = edited.sum(Kind::Float).double_value(&[]);
        sync(device);
        if i > 0 {
            times.push(t.elapsed().as_secs_f64());
        }
    }
    println!(
        "hyperstyle 1024 px: inversion (3 iterations) + one edit: {:.3} s per image (mean of {})",
        times.iter().sum::<f64>() / times.len() as f64,
        times.len()
    );
    Ok(())
}
