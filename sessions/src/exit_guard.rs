//! A recording still open when the process exits under the session is closed as incomplete
//! first. Libraries may end the process from any thread: Xlib calls `exit()` when the X server
//! goes away ("X connection … broken"). Exit runs the `atexit` hook registered here, which asks
//! every open recorder to note why, write what it holds and close, and waits for them (at most
//! 3 s in all), so the file reads without `recover`. (A kill or power cut still needs
//! `recover`: nothing runs then.)

use std::sync::{Arc, Condvar, Mutex, Once};
use std::time::{Duration, Instant};

/// What asks one recorder to note the exit and close (the recorder says how: `recorder.rs`).
type AskToClose = Arc<dyn Fn() + Send + Sync>;

/// The longest the exiting process waits for its recordings to close.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

struct Open {
    id: u64,
    ask: AskToClose,
    closed: Closed,
}

static OPEN: Mutex<Vec<Open>> = Mutex::new(Vec::new());
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static HOOK: Once = Once::new();

/// Set by the recorder thread when it has ended (file closed, or its error returned).
#[derive(Clone, Default)]
pub(crate) struct Closed(Arc<(Mutex<bool>, Condvar)>);

impl Closed {
    pub(crate) fn set(&self) {
        let (m, c) = &*self.0;
        *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
        c.notify_all();
    }

    /// Waits until set or `deadline`; whether it was set.
    fn wait(&self, deadline: Instant) -> bool {
        let (m, c) = &*self.0;
        let mut done = m.lock().unwrap_or_else(|e| e.into_inner());
        while !*done {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            done = c
                .wait_timeout(done, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

/// Keeps a recorder on the list while its handle lives.
pub(crate) struct Guard(u64);

impl Drop for Guard {
    fn drop(&mut self) {
        OPEN.lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|o| o.id != self.0);
    }
}

/// Puts a recorder on the list the exit hook closes: `ask` asks it to close.
pub(crate) fn register(ask: impl Fn() + Send + Sync + 'static) -> (Guard, Closed) {
    HOOK.call_once(|| {
        // SAFETY: registers a plain `extern "C" fn` that never unwinds (it catches panics).
        let rc = unsafe { libc::atexit(at_exit) };
        if rc != 0 {
            tracing::warn!("cannot register the exit hook: a library exiting the process would leave the recording to `recover`");
        }
    });
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let closed = Closed::default();
    OPEN.lock().unwrap_or_else(|e| e.into_inner()).push(Open {
        id,
        ask: Arc::new(ask),
        closed: closed.clone(),
    });
    (Guard(id), closed)
}

extern "C" fn at_exit() {
    let _ = std::panic::catch_unwind(|| {
        if close(|_| true) > 0 {
            eprintln!("error: the process is ending during a session (see the message above); the recording was closed and marked incomplete");
        }
    });
}

impl Guard {
    #[cfg(test)]
    pub(crate) fn id(&self) -> u64 {
        self.0
    }
}

/// Asks the open recorders `which` picks to close as incomplete and waits for them; how many
/// closed in time.
fn close(which: impl Fn(u64) -> bool) -> usize {
    let open: Vec<(AskToClose, Closed)> = OPEN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|o| which(o.id))
        .map(|o| (Arc::clone(&o.ask), o.closed.clone()))
        .collect();
    for (ask, _) in &open {
        ask();
    }
    let deadline = Instant::now() + CLOSE_WAIT;
    open.iter().filter(|(_, c)| c.wait(deadline)).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::{spawn_recorder, FlushPolicy};
    use et_drivers::sample_channel;
    use et_recording::format::RecordingHeader;
    use et_recording::reader::Recording;
    use et_recording::writer::RecordingWriter;

    /// What the exit hook does, called directly: the file is closed, incomplete, readable
    /// without `recover`, and says why it ended.
    #[test]
    fn an_exit_under_the_session_closes_the_recording_as_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exit.h5");
        let writer =
            RecordingWriter::create(&path, &RecordingHeader::new("P01", "1"), None).unwrap();
        let (tx, rx) = sample_channel(64);
        let rec = spawn_recorder(writer, rx, FlushPolicy::default()).unwrap();
        // Only this test's recorder: the others belong to tests running beside it.
        let id = rec.exit_guard().id();
        assert_eq!(close(|i| i == id), 1);
        drop(tx);
        assert!(rec.finish(true).is_ok());
        let r = Recording::open(&path).unwrap();
        assert!(!r.header.complete);
        assert!(r
            .events
            .iter()
            .any(|e| e.text.starts_with("the process exited during the session")));
    }
}
