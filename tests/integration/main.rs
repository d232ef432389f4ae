//! The integration tests: one test binary (linked once, with every crate and the stand-in
//! Tobii library), one module per area. Each module's doc says what it covers; `common` holds
//! the helpers they share. Run one area with `cargo test --test integration kill::`.
//!
//! **The busy-machine rule** (ARCHITECTURE.md): a test asserts what the code guarantees
//! whatever the load. Counts and rates come from the samples' own time stamps (samples per
//! second of tracker time), never from how long a `sleep` lasted; loss is measured against what
//! the recorder had received, ordering and completeness instead of latency. A wall-clock wait
//! is only ever a hang guard (120 s or more, many times what a loaded machine needs) or a lower
//! bound that a `sleep` guarantees; latencies are measured in benchmarks (`benches/`), never
//! asserted. Tests that need the cores busy load them themselves (`window`).

mod architecture;
mod cli;
mod common;
mod config_docs;
mod errors;
mod fuzz;
mod ground_truth;
mod h5py_interop;
mod kill;
mod lsl;
mod survey;
mod tobii_fake;
mod tobii_real;
mod window;
