//! Which device the networks run on. A binary linked against libtorch's CPU library sees no
//! GPU until `libtorch_cuda.so` is loaded, so `auto` and `cuda:N` load it first (from the
//! libtorch folder the binary was built with, or from `LD_LIBRARY_PATH`, where a PyTorch
//! install's `torch/lib` is named on GPU machines).

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::OnceLock;

use tch::Device;

use crate::error::{ModelError, Result};

/// What the user asked for with `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The first GPU when there is one, else the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda(usize),
}

impl FromStr for DeviceChoice {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| {
                    ModelError::Invalid(format!(
                        "--device: expected auto, cpu or cuda:N, got {s:?}"
                    ))
                }),
        }
    }
}

impl DeviceChoice {
    /// The tch device, after loading CUDA support when a GPU is wanted.
    pub fn resolve(self) -> Result<Device> {
        match self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Auto => {
                load_cuda();
                Ok(if tch::Cuda::is_available() {
                    Device::Cuda(0)
                } else {
                    Device::Cpu
                })
            }
            DeviceChoice::Cuda(n) => {
                let loaded = load_cuda();
                let count = if tch::Cuda::is_available() {
                    tch::Cuda::device_count() as usize
                } else {
                    0
                };
                if n < count {
                    Ok(Device::Cuda(n))
                } else {
                    Err(ModelError::Invalid(format!(
                        "--device cuda:{n}: {} (libtorch_cuda.so: {})",
                        if count == 0 {
                            "no CUDA device is usable".to_string()
                        } else {
                            format!("only {count} CUDA device(s)")
                        },
                        loaded.as_deref().unwrap_or("not found")
                    )))
                }
            }
        }
    }
}

/// Loads `libtorch_cuda.so` once (RTLD_GLOBAL, so libtorch's registries see its kernels);
/// returns where it came from, or `None` when no such library is present.
pub fn load_cuda() -> Option<String> {
    static LOADED: OnceLock<Option<String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            for dir in candidate_dirs() {
                let path = dir.join("libtorch_cuda.so");
                if !path.exists() {
                    continue;
                }
                // SAFETY: loading a shared library runs its initialisers; libtorch_cuda's only
                // register CUDA kernels with the libtorch already loaded in this process.
                let lib = unsafe {
                    libloading::os::unix::Library::open(
                        Some(&path),
                        libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_GLOBAL,
                    )
                };
                match lib {
                    Ok(l) => {
                        // Kept for the life of the process: its kernels stay registered.
                        std::mem::forget(l);
                        return Some(path.display().to_string());
                    }
                    Err(e) => tracing::warn!("{}: cannot load: {e}", path.display()),
                }
            }
            None
        })
        .clone()
}

fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    if let Some(d) = option_env!("LIBTORCH") {
        dirs.push(PathBuf::from(d).join("lib"));
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse_and_bad_ones_are_named() {
        assert_eq!("auto".parse::<DeviceChoice>().unwrap(), DeviceChoice::Auto);
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!(
            "cuda:1".parse::<DeviceChoice>().unwrap(),
            DeviceChoice::Cuda(1)
        );
        let e = "gpu".parse::<DeviceChoice>().unwrap_err().to_string();
        assert!(
            e.contains("auto, cpu or cuda:N") && e.contains("gpu"),
            "{e}"
        );
        // No GPU here: auto falls back to the CPU, an explicit GPU is a clear error.
        assert_eq!(DeviceChoice::Cpu.resolve().unwrap(), Device::Cpu);
        if !tch::Cuda::is_available() {
            assert_eq!(DeviceChoice::Auto.resolve().unwrap(), Device::Cpu);
            let e = DeviceChoice::Cuda(0).resolve().unwrap_err().to_string();
            assert!(e.contains("no CUDA device"), "{e}");
        }
    }
}
