//! Helpers shared by the CLI tests: the binary, a small stimulus set, a study config.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_et-suite"));
    c.env("ET_LOG", "warn");
    c
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the et-suite binary runs")
}

/// Writes the default set at 64 px (fast to draw) and a study config using it; returns the
/// config's path.
pub fn small_study(dir: &Path, extra: &str) -> PathBuf {
    let set_dir = dir.join("stimuli");
    if !set_dir.join("manifest.toml").exists() {
        et_stimuli::default_set::generate(&set_dir, 64).expect("default set");
    }
    let cfg = dir.join("study.toml");
    std::fs::write(
        &cfg,
        format!("participant = \"P01\"\nstimulus_set = \"stimuli/manifest.toml\"\n{extra}"),
    )
    .unwrap();
    cfg
}

/// A one-line error on stderr that names `needle`, a failing exit, and no panic.
pub fn assert_clean_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected failure, got success; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {stderr}");
    assert!(
        lines[0].contains(needle),
        "error line {:?} does not mention {needle:?}",
        lines[0]
    );
}
