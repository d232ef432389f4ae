//! Command-line wiring shared by `run`, `demo` and `display-check`: the default stimulus
//! folder, the operator's window as the flags ask for it, signals and terminal keys for the
//! operator. The session itself is assembled by `et_sessions::launch`.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::{Context, Result};
use et_sessions::session::Operator;

/// Where `run` keeps the generated default stimulus set when no config names one.
pub const DEFAULT_STIMULI_DIR: &str = "et-default-stimuli";

/// Said before the default stimulus set is generated (it takes a while).
pub fn announce_generation(dir: &Path) {
    eprintln!(
        "generating the default stimulus set in {} ...",
        dir.display()
    );
}

/// The operator's window as the command line asks for it: full screen on `monitor`, or a
/// 640 × 430 window beside the participant's (`beside`), or none.
pub fn operator_window(
    beside: bool,
    monitor: Option<usize>,
) -> Option<et_present::OperatorWindowConfig> {
    (beside || monitor.is_some()).then_some(et_present::OperatorWindowConfig {
        monitor,
        width: 640,
        height: 430,
    })
}

/// Operator keys typed on the terminal (one per line) go to the session, when stdin is a
/// terminal. A plain thread, not a runtime task: a read blocked on the terminal would hold the
/// runtime's shutdown (and the process) until the next key. It dies with the process.
pub fn terminal_keys(op: &Arc<Operator>) {
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let op = Arc::clone(op);
        std::thread::spawn(move || operator_keys(&op));
    }
}

/// While it lives, Ctrl-C, SIGTERM (shutdown, `kill`) and SIGHUP (terminal closed) only raise
/// the operator's abort flag, which the session checks at every frame at any speed: the file is
/// closed readable and marked incomplete. Installed before anything is created, so no signal
/// can leave a half-made file; dropping it restores the default actions.
pub struct AbortOnSignals(Vec<signal_hook::SigId>);

pub fn abort_on_signals(op: &Arc<et_sessions::session::Operator>) -> Result<AbortOnSignals> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut ids = Vec::with_capacity(3);
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        let op = Arc::clone(op);
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        let id = unsafe {
            signal_hook::low_level::register(sig, move || op.abort.store(true, Ordering::SeqCst))
        }
        .with_context(|| format!("cannot handle signal {sig}"))?;
        ids.push(id);
    }
    Ok(AbortOnSignals(ids))
}

impl Drop for AbortOnSignals {
    fn drop(&mut self) {
        for id in self.0.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Operator keys, one per line on the terminal.
fn operator_keys(op: &Operator) {
    use std::io::BufRead;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { return };
        match line.trim() {
            "p" => op.pause.store(true, Ordering::SeqCst),
            "c" | "a" => op.press_continue(),
            "r" => op.recalibrate.store(true, Ordering::SeqCst),
            "q" => op.abort.store(true, Ordering::SeqCst),
            d => match d.parse::<u8>() {
                Ok(n @ 1..=9) => op.point.store(n, Ordering::SeqCst),
                _ => eprintln!(
                    "keys: p pause, c continue/accept, r recalibrate, 1-9 redo that calibration point, q abort (got {d:?})"
                ),
            },
        }
    }
}

/// The Lab Streaming Layer flags `run` and `replay` share (README "Recording with EEG").
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LslArgs {
    /// Stream gaze (`et-suite-gaze`) and every event (`et-suite-markers`) over the Lab
    /// Streaming Layer, each sample stamped with its tracker time on LSL's clock. Needs real
    /// time (--speed 1) and liblsl.
    #[arg(long)]
    pub lsl: bool,
    /// With --lsl: start only once a consumer (e.g. LabRecorder) has connected to the gaze
    /// stream, so nothing is pushed before anyone records it.
    #[arg(long)]
    pub lsl_wait: bool,
    /// liblsl (else ET_LSL_LIB, then liblsl.so on the library path).
    #[arg(long, value_name = "PATH")]
    pub lsl_lib: Option<std::path::PathBuf>,
}

impl LslArgs {
    /// The session's LSL options, with the outside marker stream `run` may name.
    pub fn options(&self, markers: Option<String>) -> et_sessions::lsl::LslOptions {
        et_sessions::lsl::LslOptions {
            outlets: self.lsl || self.lsl_wait,
            wait_for_consumer: self.lsl_wait,
            markers,
            library: self.lsl_lib.clone(),
        }
    }
}
