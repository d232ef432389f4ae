//! This crate's test and bench binaries, and the networks' binary `et-suite-prepare`
//! (models/cli, which uses this script too), find libtorch through an rpath (tch's own build
//! script only sets it for tch's targets).
fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Ok(dir) = std::env::var("LIBTORCH") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}/lib");
    }
}
