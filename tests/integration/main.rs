//! The integration tests: one test binary (linked once, with every crate and the stand-in
//! Tobii library), one module per area. Each module's doc says what it covers; `common` holds
//! the helpers they share. Run one area with `cargo test --test integration kill::`.

mod architecture;
mod cli;
mod common;
mod errors;
mod fuzz;
mod ground_truth;
mod h5py_interop;
mod kill;
mod prepare;
mod survey;
mod tobii_fake;
mod tobii_real;
mod window;
