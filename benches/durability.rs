//! Durability report (not a test): what a SIGKILL of a real-time headless session loses, on an
//! idle machine and on a loaded one. Each run is killed at a random moment of its recording,
//! recovered with `et-suite recover` and read back; two losses are reported per kill:
//! - **wall**: the kill's CLOCK_MONOTONIC time minus the newest sample in the file (what the
//!   participant's last moments cost, including a generator or recorder the machine starved);
//! - **received**: the newest sample the recorder had taken from the tracker (its
//!   `ET_RECORDER_TRACE` lines) minus the newest sample in the file (what the recorder's flush
//!   policy owes, whatever the load).
//!
//! The load: four processes spinning on the CPU and two writing 8 MiB files with fsync in the
//! recording's folder, all at the session's own priority, for the whole loaded half.
//!
//! Run: `cargo bench --bench durability` (optionally `-- <kills per half>`; default 40).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use et_drivers::clock::monotonic_now_us;
use et_recording::Recording;
use rand::{Rng, SeedableRng};

const BIN: &str = env!("CARGO_BIN_EXE_et-suite");

/// Processes that load the machine until dropped.
struct Load(Vec<Child>);

impl Load {
    fn start(dir: &Path) -> Load {
        let spin = || {
            Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .expect("sh runs")
        };
        let write = |k: usize| {
            let f = dir.join(format!("load{k}.bin"));
            let script = format!(
                "while :; do dd if=/dev/zero of='{}' bs=1M count=8 conv=fsync status=none; done",
                f.display()
            );
            Command::new("sh")
                .args(["-c", &script])
                .spawn()
                .expect("sh runs")
        };
        Load(vec![spin(), spin(), spin(), spin(), write(0), write(1)])
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The first and newest sample time stamps in the recorder's trace file.
fn received(trace: &Path) -> Option<(i64, i64)> {
    et_sessions::recorder::received_in_trace(&std::fs::read_to_string(trace).unwrap_or_default())
}

fn wait_for(what: impl Fn() -> bool) -> bool {
    let t0 = Instant::now();
    while !what() {
        if t0.elapsed() > Duration::from_secs(120) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

/// (wall loss, received loss) in µs for each kill that left samples.
fn campaign(dir: &Path, cfg: &Path, kills: usize, seed: u64) -> Vec<(i64, i64)> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for k in 0..kills {
        // Names of this campaign's own: a trace or file left by another would be read as
        // this run's.
        let file = dir.join(format!("{seed}-k{k}.h5"));
        let trace = dir.join(format!("{seed}-k{k}.trace"));
        let _ = std::fs::remove_file(&trace);
        let mut child = Command::new(BIN)
            .env("ET_LOG", "error")
            .env(et_sessions::recorder::TRACE_ENV, &trace)
            .args(["run", "--headless", "--config"])
            .arg(cfg)
            .arg("--out")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("et-suite runs");
        // Killed while recording: after the recorder has taken its first samples.
        if !wait_for(|| received(&trace).is_some()) {
            let _ = child.kill();
            eprintln!("run {k}: no samples received in 120 s; skipped");
            continue;
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(100..2_500)));
        let kill_ts = monotonic_now_us();
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        let recovered = Command::new(BIN)
            .env("ET_LOG", "error")
            .arg("recover")
            .arg(&file)
            .output()
            .expect("et-suite recover runs");
        assert!(
            recovered.status.success(),
            "run {k}: {}",
            String::from_utf8_lossy(&recovered.stderr)
        );
        let rec = Recording::open(&file).expect("readable after recover");
        let Some((first, newest)) = received(&trace) else {
            continue;
        };
        // An empty file lost everything from the first sample received on (8333 µs apart).
        let last = rec.gaze.last().map_or(first - 8_333, |s| s.system_ts_us);
        out.push((kill_ts - last, newest - last));
        let _ = std::fs::remove_file(&file);
    }
    out
}

fn summary(what: &str, mut v: Vec<i64>) {
    v.sort_unstable();
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize] as f64 / 1e3;
    if v.is_empty() {
        println!("{what}: no kills with samples");
        return;
    }
    println!(
        "{what:<38} n {:>3}  min {:>6.1}  median {:>6.1}  p99 {:>6.1}  max {:>6.1} ms",
        v.len(),
        at(0.0),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

fn main() {
    let kills: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(40);
    let dir = tempfile::tempdir().expect("a temporary folder");
    et_stimuli::default_set::generate(&dir.path().join("stimuli"), 64).expect("default set");
    let cfg = dir.path().join("study.toml");
    std::fs::write(
        &cfg,
        "participant = \"P01\"\nstimulus_set = \"stimuli/manifest.toml\"\n",
    )
    .expect("study config written");
    println!("durability: {kills} SIGKILLs per half, real-time headless sessions at 120 Hz");
    for loaded in [false, true] {
        let load = loaded.then(|| Load::start(dir.path()));
        let got = campaign(dir.path(), &cfg, kills, 20261206 + u64::from(loaded));
        drop(load);
        let label = if loaded {
            "loaded (4 spinning, 2 fsync writers)"
        } else {
            "idle"
        };
        summary(&format!("{label}: wall"), got.iter().map(|g| g.0).collect());
        summary(
            &format!("{label}: received"),
            got.iter().map(|g| g.1).collect(),
        );
    }
}
