//! Helpers shared by the integration tests: the binary, a small stimulus set, a study config.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A process to start from a test. Other tests of this binary may hold recordings open
/// (HDF5 opens without close-on-exec): the child inherits only its standard streams, so it
/// can never keep another test's file, and its lock, open.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(program);
    et_recording::cloexec::inherit_only_stdio(&mut c);
    c
}

/// A hang guard, never a timing bound (the busy-machine rule, `main.rs`): what a test waits
/// for happens within seconds on an idle machine.
pub const HANG: std::time::Duration = std::time::Duration::from_secs(120);

/// Waits until `path` exists (a recording its session has created), at most `HANG`.
pub fn wait_for_file(path: &Path) {
    let t0 = std::time::Instant::now();
    while !path.exists() && t0.elapsed() < HANG {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Turns between the tests that load every core on purpose (window timing) and the one that
/// measures a real-time bound (SIGKILL durability): each is a claim about one load, and in
/// one test binary they would otherwise overlap. Everything else runs beside either.
pub fn real_time_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

/// The et-suite binary: cargo's for the root package's tests, else the one beside this test's
/// own folder (the networks' tests; `cargo build --workspace --bins` builds it).
pub fn et_suite_exe() -> PathBuf {
    if let Some(p) = option_env!("CARGO_BIN_EXE_et-suite") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the test's own path");
    let beside = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("et-suite"))
        .expect("a target folder");
    assert!(
        beside.exists(),
        "{}: missing; build both binaries first (cargo build --workspace --bins)",
        beside.display()
    );
    beside
}

pub fn bin() -> Command {
    let mut c = command(et_suite_exe());
    c.env("ET_LOG", "warn");
    c
}

/// A path as the command-line argument it is in these tests (temporary folders are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the et-suite binary runs")
}

/// A headless session of the study config `cfg` at full speed into `out`, which must succeed.
pub fn record_at_full_speed(cfg: &Path, out: &Path) {
    let o = run_at_full_speed(cfg, out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `run --headless --speed max` with `cfg` into `out`, `extra` arguments added; whatever it
/// exits with.
pub fn run_at_full_speed(cfg: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["run", "--config", s(cfg), "--headless", "--speed", "max"];
    args.extend_from_slice(extra);
    args.extend(["--out", s(out)]);
    run(&args)
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

/// Runs `cmd` with a pseudo-terminal as its stdin (so it takes operator keys) and answers its
/// prompts (stderr lines starting with ▶): each prompt is matched against the next expected
/// fragment and answered with its key. Returns the output once the process exits; stderr
/// holds every line read.
pub fn run_answering(mut cmd: Command, answers: &[(&str, &str)]) -> Output {
    use std::io::{BufRead, Write};
    use std::process::Stdio;
    let (mut master, slave) = serialport::TTYPort::pair().expect("a pseudo-terminal pair");
    let name = serialport::SerialPort::name(&slave).expect("pty name");
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&name)
        .expect("open the pty");
    let mut child = cmd
        .stdin(Stdio::from(tty))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the et-suite binary runs");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut seen = String::new();
    let mut next = answers.iter();
    let mut want = next.next();
    for line in std::io::BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        eprintln!("[child] {line}");
        seen.push_str(&line);
        seen.push('\n');
        if let (Some(p), Some((fragment, key))) = (line.strip_prefix("▶ "), want) {
            assert!(
                p.contains(fragment),
                "prompt {p:?} is not the expected {fragment:?}"
            );
            master.write_all(format!("{key}\n").as_bytes()).unwrap();
            want = next.next();
        }
    }
    assert!(
        want.is_none(),
        "never prompted for {want:?}; stderr: {seen}"
    );
    let mut out = child.wait_with_output().expect("wait for et-suite");
    out.stderr = seen.into_bytes();
    drop(slave);
    out
}

/// Every file under `dir` with its contents.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p.clone());
                files.insert(p, Vec::new());
            } else {
                let bytes = std::fs::read(&p).unwrap();
                files.insert(p, bytes);
            }
        }
    }
    files
}

/// Makes a row's inputs in `dir` and returns the command's arguments; the command must fail
/// with one error line naming `needle` and change nothing in `dir`.
pub fn refused(make: impl Fn(&Path) -> Vec<String>, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let args = make(dir.path());
    let before = contents(dir.path());
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_clean_error(&out, needle);
    let after = contents(dir.path());
    let changed: Vec<&PathBuf> = before
        .keys()
        .chain(after.keys())
        .filter(|p| before.get(*p) != after.get(*p))
        .collect();
    assert!(
        changed.is_empty(),
        "the refused command changed {changed:?}"
    );
}

/// Error cases as table rows, each its own test: `name: |dir| -> args => "needle";`, where the
/// closure makes the row's inputs in a fresh folder and returns the command's arguments.
macro_rules! error_rows {
    ($($name:ident: $make:expr => $needle:expr;)+) => {$(
        #[test]
        fn $name() {
            $crate::common::refused($make, $needle)
        }
    )+};
}
pub(crate) use error_rows;

/// A row's arguments.
pub fn argv<const N: usize>(a: [&str; N]) -> Vec<String> {
    a.map(String::from).to_vec()
}

/// `name` in `dir` as an argument.
pub fn path_in(dir: &Path, name: &str) -> String {
    s(&dir.join(name)).to_string()
}
