//! Stimulus preparation on tch: the syndrome classifier, the StyleGAN2 generator, HyperStyle
//! inversion, InterfaceGAN (a linear SVM of our own finds the smile direction in latent space;
//! codes are moved along it), `.npy` files (the format latent codes and boundaries travel in),
//! and the `prepare` pipeline that turns aligned faces into a stimulus set.

pub mod classifier;
pub mod device;
pub mod error;
pub mod hyperstyle;
pub mod interfacegan;
mod layers;
pub mod npy;
pub mod prepare;
pub mod stylegan2;
#[cfg(test)]
pub(crate) mod testing;
pub mod weights;

pub use error::ModelError;
