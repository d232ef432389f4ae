//! The producing thread every streaming tracker has: start once, stop with a flag, and follow
//! the session clock sample by sample.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::clock::Clock;
use crate::tracker::TrackerError;

#[derive(Debug, Default)]
pub(crate) struct StreamThread {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl StreamThread {
    /// Starts `body` on a named thread; it gets the stop flag to pass to [`reach`].
    pub(crate) fn spawn(
        &mut self,
        name: &str,
        body: impl FnOnce(Arc<AtomicBool>) + Send + 'static,
    ) -> Result<(), TrackerError> {
        if self.handle.is_some() {
            return Err(TrackerError::AlreadyStreaming);
        }
        self.stop.store(false, Ordering::SeqCst);
        let stop = Arc::clone(&self.stop);
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(stop))
            .map_err(|e| TrackerError::Thread(e.to_string()))?;
        self.handle = Some(handle);
        Ok(())
    }

    /// Asks the thread to stop and waits for it.
    pub(crate) fn stop(&mut self) -> Result<(), TrackerError> {
        self.stop.store(true, Ordering::SeqCst);
        self.wait()
    }

    /// Waits for the thread to end by itself.
    pub(crate) fn wait(&mut self) -> Result<(), TrackerError> {
        match self.handle.take() {
            Some(h) => h
                .join()
                .map_err(|_| TrackerError::Thread("the tracker thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Drop for StreamThread {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Waits until `clock` reaches `ts`. Returns false once stopped, unless the clock has already
/// reached `ts`: a sample whose time has come is still owed to the session.
pub(crate) fn reach(clock: &dyn Clock, ts: i64, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::SeqCst) && ts > clock.now_us() {
            return false;
        }
        if clock.wait_until(ts, Duration::from_millis(20)) {
            return true;
        }
    }
}
