//! The integration tests that run the networks in-process (tests/integration/prepare.rs) find libtorch
//! through an rpath (tch's own build script only sets it for tch's targets); the et-suite
//! binary itself never links it.
fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Ok(dir) = std::env::var("LIBTORCH") {
        println!("cargo:rustc-link-arg-tests=-Wl,-rpath,{dir}/lib");
    }
}
