//! Tobii Pro eye trackers through the Pro SDK C library, loaded at run time. SDK 1.x (the
//! X3-120's) and 2.x are both supported; the gaze layout follows the loaded library's version.

pub mod abi;
mod callbacks;
pub mod library;
pub mod status;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use callbacks::{GazeContext, Signal, SignalContext};
pub use library::{Handle, TobiiError, TobiiLibrary, TrackerDescription};

use crate::channel::{SampleSender, TrackerEvent};
use crate::clock::{monotonic_now_us, Clock};
use crate::tracker::{
    CalibrationPoint, CalibrationResult, Tracker, TrackerError, TrackerInfo, FIRST_SAMPLE_WITHIN_US,
};

impl From<TobiiError> for TrackerError {
    fn from(e: TobiiError) -> Self {
        TrackerError::Device(e.to_string())
    }
}

/// How to find and run the tracker.
#[derive(Debug, Clone)]
pub struct TobiiConfig {
    /// The SDK library; else `ET_TOBII_LIB`, else the usual locations.
    pub library: Option<PathBuf>,
    /// A serial number or an address (`tet-tcp://…`); else the first tracker found.
    pub select: Option<String>,
    /// Gaze output frequency to set; `None` keeps the tracker's.
    pub frequency_hz: Option<f32>,
    /// A stream silent this long counts as lost (must stay under 100 ms).
    pub lost_after: Duration,
    /// First and longest wait between reconnection attempts.
    pub backoff: (Duration, Duration),
}

impl Default for TobiiConfig {
    fn default() -> Self {
        TobiiConfig {
            library: None,
            select: None,
            frequency_hz: Some(120.0),
            lost_after: Duration::from_millis(80),
            backoff: (Duration::from_millis(50), Duration::from_secs(2)),
        }
    }
}

/// The SDK's system clock, the session clock for Tobii sessions.
pub struct SdkClock {
    lib: &'static TobiiLibrary,
}

impl Clock for SdkClock {
    fn now_us(&self) -> i64 {
        // On Linux the SDK reads CLOCK_MONOTONIC; fall back to it if the call fails.
        self.lib
            .system_time_us()
            .unwrap_or_else(|_| monotonic_now_us())
    }
    fn wait_until(&self, t_us: i64, max_wait: Duration) -> bool {
        let left = t_us - self.now_us();
        if left > 0 {
            std::thread::sleep(Duration::from_micros(left as u64).min(max_wait));
        }
        self.now_us() >= t_us
    }
    fn real_delay_until(&self, t_us: i64) -> Option<Duration> {
        Some(Duration::from_micros((t_us - self.now_us()).max(0) as u64))
    }
    fn is_virtual(&self) -> bool {
        false
    }
}

/// Discovery with retries: network trackers may need more than one search to appear.
pub fn discover(lib: &TobiiLibrary) -> Result<Vec<TrackerDescription>, TobiiError> {
    let mut last = Ok(Vec::new());
    for attempt in 0..3 {
        last = lib.find_all();
        if matches!(&last, Ok(v) if !v.is_empty()) {
            break;
        }
        if attempt < 2 {
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    last
}

struct Streaming {
    gaze: &'static GazeContext,
    signals: &'static SignalContext,
    stop: Arc<AtomicBool>,
    watchdog: Option<JoinHandle<()>>,
}

pub struct TobiiTracker {
    lib: &'static TobiiLibrary,
    cfg: TobiiConfig,
    address: String,
    handle: Arc<Mutex<Handle>>,
    desc: TrackerDescription,
    streaming: Option<Streaming>,
    /// Reconnections done by the watchdog (for reports and tests).
    reconnects: Arc<AtomicU64>,
}

fn lock(h: &Mutex<Handle>) -> Handle {
    *h.lock().unwrap_or_else(|e| e.into_inner())
}

impl TobiiTracker {
    /// Loads the SDK, finds the tracker, connects, and sets the frequency.
    pub fn open(cfg: TobiiConfig) -> Result<Self, TobiiError> {
        let lib = TobiiLibrary::find(cfg.library.as_deref())?;
        let address = match &cfg.select {
            Some(sel) if sel.contains("://") => sel.clone(),
            sel => {
                let all = discover(lib)?;
                let found = all
                    .iter()
                    .map(|d| format!("{} ({})", d.serial, d.address))
                    .collect::<Vec<_>>()
                    .join(", ");
                let pick = match sel {
                    Some(s) => all.iter().find(|d| &d.serial == s),
                    None => all.first(),
                };
                match (pick, sel) {
                    (Some(d), _) => d.address.clone(),
                    (None, Some(s)) => {
                        return Err(TobiiError::NoMatch {
                            wanted: s.clone(),
                            found: if found.is_empty() {
                                "none".into()
                            } else {
                                found
                            },
                        })
                    }
                    (None, None) => {
                        return Err(TobiiError::NoTracker {
                            hint: lib.no_tracker_hint(),
                        })
                    }
                }
            }
        };
        let handle = lib.connect(&address)?;
        if let Some(hz) = cfg.frequency_hz {
            let offered = lib.frequencies(handle)?;
            if !offered.iter().any(|f| (f - hz).abs() < 0.01) {
                return Err(TobiiError::Frequency {
                    wanted: hz,
                    offered: offered
                        .iter()
                        .map(|f| format!("{f}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            lib.set_frequency(handle, hz)?;
        }
        let desc = lib.describe(handle)?;
        Ok(TobiiTracker {
            lib,
            cfg,
            address,
            handle: Arc::new(Mutex::new(handle)),
            desc,
            streaming: None,
            reconnects: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn library(&self) -> &'static TobiiLibrary {
        self.lib
    }

    pub fn description(&self) -> &TrackerDescription {
        &self.desc
    }

    pub fn display_area(&self) -> Result<abi::DisplayArea, TobiiError> {
        self.lib.display_area(lock(&self.handle))
    }

    /// Reconnections the watchdog has made since the tracker was opened.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Acquire)
    }

    /// The applied calibration, to store and re-apply later.
    pub fn save_calibration(&self) -> Result<Vec<u8>, TobiiError> {
        self.lib.retrieve_calibration(lock(&self.handle))
    }

    pub fn apply_calibration(&self, blob: &[u8]) -> Result<(), TobiiError> {
        self.lib.apply_calibration(lock(&self.handle), blob)
    }
}

/// Records notifications and stream errors, notices a silent stream, and reconnects.
struct Watchdog {
    lib: &'static TobiiLibrary,
    address: String,
    handle: Arc<Mutex<Handle>>,
    gaze: &'static GazeContext,
    signals_rx: crossbeam_channel::Receiver<Signal>,
    sink: SampleSender,
    stop: Arc<AtomicBool>,
    lost_after_us: i64,
    backoff: (Duration, Duration),
    reconnects: Arc<AtomicU64>,
}

impl Watchdog {
    fn event(&self, ts_us: i64, kind: &str, text: String) {
        let _ = self.sink.event(TrackerEvent {
            ts_us,
            kind: kind.into(),
            text,
        });
    }

    fn record_signals(&self) {
        for s in self.signals_rx.try_iter() {
            match s {
                Signal::Notification {
                    ts,
                    kind,
                    frequency,
                } => {
                    let name = abi::notification_name(self.lib.version.major, kind);
                    let text = if name == "gaze_output_frequency_changed" {
                        format!("tobii notification: {name} ({frequency} Hz)")
                    } else {
                        format!("tobii notification: {name}")
                    };
                    self.event(ts, "note", text);
                }
                Signal::StreamError {
                    ts,
                    error,
                    source,
                    message,
                    len,
                } => {
                    let msg = String::from_utf8_lossy(&message[..len]).into_owned();
                    self.event(
                        ts,
                        "note",
                        format!(
                            "tobii stream error: {} (source {source}): {msg}",
                            abi::stream_error_name(error)
                        ),
                    );
                }
            }
        }
    }

    /// Drops the old subscription and subscribes on a fresh connection (tried again on the
    /// back-off schedule until one succeeds).
    fn reconnect(&self) -> Result<(), TobiiError> {
        let mut h = self.handle.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self.lib.unsubscribe_gaze(*h, callbacks::on_gaze);
        let fresh = self.lib.connect(&self.address)?;
        // SAFETY: the context is leaked ('static), so it outlives every callback.
        unsafe {
            self.lib.subscribe_gaze(
                fresh,
                callbacks::on_gaze,
                self.gaze as *const GazeContext as *mut _,
            )?
        };
        *h = fresh;
        Ok(())
    }

    fn run(self) {
        let mut lost_since: Option<i64> = None;
        let mut attempts = 0u32;
        let mut next_try = 0i64;
        let mut backoff = self.backoff.0;
        // A tracker silent from the start is reconnected like one that fell silent: the first
        // sample is due within the first-sample allowance of subscribing.
        let started = monotonic_now_us().saturating_add(FIRST_SAMPLE_WITHIN_US);
        while !self.stop.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(5));
            self.record_signals();
            let arrival = match self.gaze.last_arrival_us.load(Ordering::Acquire) {
                0 => started,
                a => a,
            };
            let now = monotonic_now_us();
            let last_ts = self.gaze.last_sample_ts.load(Ordering::Acquire);
            match lost_since {
                None if now - arrival > self.lost_after_us => {
                    lost_since = Some(arrival);
                    attempts = 0;
                    backoff = self.backoff.0;
                    next_try = now;
                    self.event(
                        now,
                        "note",
                        format!(
                            "tobii: no gaze for {} ms (last sample at {last_ts} µs): reconnecting",
                            (now - arrival) / 1000
                        ),
                    );
                }
                Some(since) if arrival > since => {
                    self.event(
                        last_ts,
                        "note",
                        format!(
                            "tobii: gaze resumed after {} ms, {attempts} reconnection attempt(s)",
                            (arrival - since) / 1000
                        ),
                    );
                    lost_since = None;
                }
                Some(_) if now >= next_try => {
                    attempts += 1;
                    match self.reconnect() {
                        Ok(()) => {
                            self.reconnects.fetch_add(1, Ordering::AcqRel);
                            tracing::info!(attempts, "tobii: resubscribed after connection loss");
                        }
                        Err(e) => tracing::warn!(attempts, "tobii: reconnection failed: {e}"),
                    }
                    next_try = now + backoff.as_micros() as i64;
                    backoff = (backoff * 2).min(self.backoff.1);
                }
                _ => {}
            }
        }
        self.record_signals();
    }
}

impl Tracker for TobiiTracker {
    fn info(&self) -> TrackerInfo {
        TrackerInfo {
            model: self.desc.model.clone(),
            serial: self.desc.serial.clone(),
            address: self.address.clone(),
            firmware: self.desc.firmware.clone(),
            sdk_version: self.lib.version_string(),
            sampling_hz: f64::from(self.desc.frequency),
        }
    }

    fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(SdkClock { lib: self.lib })
    }

    fn start(&mut self, sink: SampleSender) -> Result<(), TrackerError> {
        if self.streaming.is_some() {
            return Err(TrackerError::AlreadyStreaming);
        }
        let gaze: &'static GazeContext = Box::leak(Box::new(GazeContext {
            sink: sink.clone(),
            major: self.lib.version.major,
            active: AtomicBool::new(true),
            last_arrival_us: AtomicI64::new(0),
            last_sample_ts: AtomicI64::new(0),
            received: AtomicU64::new(0),
        }));
        let (tx, signals_rx) = crossbeam_channel::bounded(256);
        let signals: &'static SignalContext = Box::leak(Box::new(SignalContext {
            tx,
            active: AtomicBool::new(true),
        }));
        let h = lock(&self.handle);
        // The display area the tracker maps gaze onto, for the record.
        if let Ok(d) = self.lib.display_area(h) {
            let ts = self
                .lib
                .system_time_us()
                .unwrap_or_else(|_| monotonic_now_us());
            let text = format!(
                "tobii display area {:.1} x {:.1} mm, top-left ({:.1}, {:.1}, {:.1}) mm",
                d.width, d.height, d.top_left.x, d.top_left.y, d.top_left.z
            );
            let _ = sink.event(TrackerEvent {
                ts_us: ts,
                kind: "note".into(),
                text,
            });
        }
        // SAFETY: both contexts are leaked, so they outlive every callback.
        unsafe {
            self.lib.subscribe_notifications(
                h,
                callbacks::on_notification,
                signals as *const SignalContext as *mut _,
            )?;
            self.lib.subscribe_stream_errors(
                h,
                callbacks::on_stream_error,
                signals as *const SignalContext as *mut _,
            )?;
            self.lib
                .subscribe_gaze(h, callbacks::on_gaze, gaze as *const GazeContext as *mut _)?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let dog = Watchdog {
            lib: self.lib,
            address: self.address.clone(),
            handle: Arc::clone(&self.handle),
            gaze,
            signals_rx,
            sink,
            stop: Arc::clone(&stop),
            lost_after_us: self.cfg.lost_after.as_micros() as i64,
            backoff: self.cfg.backoff,
            reconnects: Arc::clone(&self.reconnects),
        };
        let watchdog = std::thread::Builder::new()
            .name("tobii-watchdog".into())
            .spawn(move || dog.run())
            .map_err(|e| TrackerError::Thread(e.to_string()))?;
        self.streaming = Some(Streaming {
            gaze,
            signals,
            stop,
            watchdog: Some(watchdog),
        });
        Ok(())
    }

    fn stop(&mut self) -> Result<(), TrackerError> {
        let Some(mut s) = self.streaming.take() else {
            return Ok(());
        };
        // Samples up to now are still in transit (tracker latency): wait briefly for one
        // stamped after this moment before unsubscribing.
        let stop_ts = self
            .lib
            .system_time_us()
            .unwrap_or_else(|_| monotonic_now_us());
        let t0 = monotonic_now_us();
        while s.gaze.last_sample_ts.load(Ordering::Acquire) < stop_ts
            && monotonic_now_us() - t0 < 100_000
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        s.stop.store(true, Ordering::Release);
        if let Some(w) = s.watchdog.take() {
            let _ = w.join();
        }
        let h = lock(&self.handle);
        // Not subscribed (a reconnection to a tracker that never came back dropped the old
        // subscription and got no new one): there is nothing to end.
        let r1 = match self.lib.unsubscribe_gaze(h, callbacks::on_gaze) {
            Err(TobiiError::Status {
                code: status::SE_NOT_SUBSCRIBED,
                ..
            }) => Ok(()),
            r => r,
        };
        s.gaze.active.store(false, Ordering::Release);
        let r2 = self
            .lib
            .unsubscribe_notifications(h, callbacks::on_notification);
        let r3 = self
            .lib
            .unsubscribe_stream_errors(h, callbacks::on_stream_error);
        s.signals.active.store(false, Ordering::Release);
        r1.and(r2).and(r3).map_err(TrackerError::from)
    }

    fn calibration_enter(&mut self) -> Result<(), TrackerError> {
        let h = lock(&self.handle);
        match self.lib.calibration_enter(h) {
            // Left over from a crashed session: leave and enter again, as Titta does.
            Err(TobiiError::Status {
                code: status::SE_CALIBRATION_ALREADY_STARTED,
                ..
            }) => {
                self.lib.calibration_leave(h)?;
                Ok(self.lib.calibration_enter(h)?)
            }
            r => Ok(r?),
        }
    }
    fn calibration_collect(&mut self, p: CalibrationPoint) -> Result<(), TrackerError> {
        Ok(self.lib.calibration_collect(lock(&self.handle), p.x, p.y)?)
    }
    fn calibration_discard(&mut self, p: CalibrationPoint) -> Result<(), TrackerError> {
        Ok(self.lib.calibration_discard(lock(&self.handle), p.x, p.y)?)
    }
    fn calibration_compute_apply(&mut self) -> Result<CalibrationResult, TrackerError> {
        Ok(self.lib.calibration_compute_and_apply(lock(&self.handle))?)
    }
    fn calibration_leave(&mut self) -> Result<(), TrackerError> {
        Ok(self.lib.calibration_leave(lock(&self.handle))?)
    }
}

impl Drop for TobiiTracker {
    fn drop(&mut self) {
        let _ = Tracker::stop(self);
    }
}
