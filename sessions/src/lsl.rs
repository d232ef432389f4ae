//! A session on the Lab Streaming Layer (`run --lsl`, `--lsl-wait`, `--lsl-markers`; `replay
//! --lsl`): where gaze and events go out, and outside markers come in.
//!
//! - **Outlets** (`Outlets`, owned by the recorder thread): every sample the recorder receives
//!   is pushed the moment it arrives, in order, exactly once, to `et-suite-gaze`; every event it
//!   writes goes to `et-suite-markers` (the same rows as `/events`, except markers that came in
//!   from LSL). Each carries the LSL time of its own tracker stamp, never the time it was
//!   pushed: `lsl = ts_us / 10⁶ + offset`, the offset from the latest clock pair.
//! - **Clock pairs**: the tracker's clock read between two reads of LSL's clock (the best of
//!   three brackets; half the bracket is the uncertainty), at the start and every second, each
//!   stored in `/lsl_clock`. On Linux both are CLOCK_MONOTONIC in real time, so the offset only
//!   changes for a clock of its own (a replay's); LSL needs real time, so accelerated sessions
//!   are refused (`check_speed`).
//! - **Marker inlet** (`MarkerInlet`, a thread of its own): one outside stream found by name
//!   or type before the recording exists; each marker becomes an `lsl_marker` event at its
//!   sender's stamp moved onto the tracker's clock (LSL's `time_correction`, measured at the
//!   start and every 5 s and stored in `/lsl_clock` with the stream's name). The stream's loss
//!   and return are `lsl_stream_lost` / `lsl_stream_back` events; a marker longer than an
//!   event's text field is split into numbered parts, never cut.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use et_drivers::lsl::{ChannelFormat, Found, Inlet, LslLibrary, Outlet, Pulled, StreamSpec};
use et_drivers::replay::ReplaySpeed;
use et_drivers::{Clock, GazeSample, ScreenGeometry, TrackerInfo};

use crate::error::{Result, SessionError};
use crate::recorder::Record;
use et_recording::format::{kind, EventRecord, LslClockRecord};

/// The gaze outlet's name and type.
pub const GAZE_STREAM: (&str, &str) = ("et-suite-gaze", "Gaze");
/// The marker outlet's name and type.
pub const MARKER_STREAM: (&str, &str) = ("et-suite-markers", "Markers");
/// How long `--lsl-markers` looks for its stream before the recording exists.
pub const RESOLVE_WAIT_S: f64 = 5.0;
/// How long the marker outlet may take to get its consumer once the gaze outlet has one.
const MARKERS_JOIN_S: f64 = 2.0;
/// How long closing outlets waits for liblsl to send what was pushed (`Outlets::close`).
const CLOSE_LINGER: Duration = Duration::from_secs(1);
/// The bytes of an `/events` text (`format::Text`).
const TEXT_BYTES: usize = 256;

/// What a session asks of LSL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LslOptions {
    /// Gaze and marker outlets.
    pub outlets: bool,
    /// Hold the start until a consumer has connected to the gaze outlet.
    pub wait_for_consumer: bool,
    /// An outside marker stream to record, by name or type.
    pub markers: Option<String>,
    /// liblsl, when not found by `ET_LSL_LIB` or the usual locations.
    pub library: Option<PathBuf>,
}

impl LslOptions {
    pub fn any(&self) -> bool {
        self.outlets || self.wait_for_consumer || self.markers.is_some()
    }
}

/// Refuses LSL at a speed other than real time: LSL stamps are seconds of this machine's
/// clock, and consumers pace by them.
pub fn check_speed(opts: &LslOptions, speed: ReplaySpeed) -> Result<()> {
    if opts.any() && !speed.is_real_time() {
        return Err(SessionError::Invalid(
            "--lsl, --lsl-wait and --lsl-markers need real time (LSL stamps are this machine's clock): drop --speed or use --speed 1".into(),
        ));
    }
    Ok(())
}

fn lsl_err(e: et_drivers::lsl::LslError) -> SessionError {
    SessionError::Invalid(format!("LSL: {e}"))
}

/// Loads liblsl for a session that asked for it.
pub fn library(opts: &LslOptions) -> Result<&'static LslLibrary> {
    LslLibrary::find(opts.library.as_deref()).map_err(lsl_err)
}

/// The tracker's clock read between two reads of LSL's clock: the tightest of three brackets.
pub fn clock_pair(lib: &LslLibrary, clock: &dyn Clock) -> LslClockRecord {
    let mut best: Option<(f64, i64, f64)> = None;
    for _ in 0..3 {
        let a = lib.local_clock();
        let t = clock.now_us();
        let b = lib.local_clock();
        if best.is_none_or(|(w, _, _)| b - a < w) {
            best = Some((b - a, t, (a + b) / 2.0));
        }
    }
    let (width, ts_us, lsl_s) = best.unwrap_or((f64::NAN, clock.now_us(), lib.local_clock()));
    LslClockRecord {
        stream: String::new(),
        ts_us,
        lsl_s,
        offset_s: lsl_s - ts_us as f64 / 1e6,
        uncertainty_s: width / 2.0,
    }
}

/// The gaze stream's description: channels with XDF's gaze metadata, the tracker, the screen.
pub fn gaze_spec(info: &TrackerInfo, participant: &str, screen: &ScreenGeometry) -> StreamSpec {
    let mut channels = Vec::new();
    for eye in ["left", "right"] {
        for (what, kind, unit) in [
            ("x", "ScreenX", "normalized"),
            ("y", "ScreenY", "normalized"),
            ("valid", "Validity", "boolean"),
            ("pupil", "Diameter", "mm"),
        ] {
            channels.push(vec![
                ("label".into(), format!("{eye}_{what}")),
                ("eye".into(), eye.into()),
                ("type".into(), kind.into()),
                ("unit".into(), unit.into()),
            ]);
        }
    }
    let serial = if info.serial.is_empty() {
        "no-serial"
    } else {
        &info.serial
    };
    StreamSpec {
        name: GAZE_STREAM.0.into(),
        kind: GAZE_STREAM.1.into(),
        format: ChannelFormat::Float32,
        channels,
        rate_hz: info.sampling_hz,
        source_id: format!("et-suite:{serial}:{participant}:gaze"),
        groups: vec![
            (
                "acquisition".into(),
                vec![
                    ("manufacturer".into(), "Tobii".into()),
                    ("model".into(), info.model.clone()),
                    ("serial_number".into(), info.serial.clone()),
                    (
                        "software".into(),
                        format!("et-suite {}", env!("CARGO_PKG_VERSION")),
                    ),
                    (
                        "coordinates".into(),
                        "display area, 0..1 from the top-left corner".into(),
                    ),
                ],
            ),
            (
                "screen".into(),
                vec![
                    ("width_px".into(), screen.width_px.to_string()),
                    ("height_px".into(), screen.height_px.to_string()),
                    ("width_mm".into(), screen.width_mm.to_string()),
                    ("height_mm".into(), screen.height_mm.to_string()),
                    (
                        "viewing_distance_mm".into(),
                        screen.viewing_distance_mm.to_string(),
                    ),
                ],
            ),
        ],
    }
}

/// The marker stream's description.
pub fn marker_spec(info: &TrackerInfo, participant: &str) -> StreamSpec {
    let serial = if info.serial.is_empty() {
        "no-serial"
    } else {
        &info.serial
    };
    StreamSpec {
        name: MARKER_STREAM.0.into(),
        kind: MARKER_STREAM.1.into(),
        format: ChannelFormat::String,
        channels: Vec::new(),
        rate_hz: 0.0,
        source_id: format!("et-suite:{serial}:{participant}:markers"),
        groups: vec![(
            "format".into(),
            vec![(
                "marker".into(),
                "kind; trial N (when in a trial); text, as the recording's /events".into(),
            )],
        )],
    }
}

/// One gaze sample as the stream's 8 channels.
fn channels(s: &GazeSample) -> [f32; 8] {
    let eye = |e: &et_drivers::EyeSample| {
        [
            e.gaze_x,
            e.gaze_y,
            if e.gaze_valid { 1.0 } else { 0.0 },
            if e.pupil_valid { e.pupil_mm } else { f32::NAN },
        ]
    };
    let (l, r) = (eye(&s.left), eye(&s.right));
    [l[0], l[1], l[2], l[3], r[0], r[1], r[2], r[3]]
}

/// What the outlets carry: whose gaze, from which tracker, on which screen and clock.
pub struct Source<'a> {
    pub info: &'a TrackerInfo,
    pub participant: &'a str,
    pub screen: &'a ScreenGeometry,
    /// The tracker's clock, which the samples are stamped on.
    pub clock: Arc<dyn Clock>,
}

/// The gaze and marker outlets, owned by the recorder thread.
pub struct Outlets {
    lib: &'static LslLibrary,
    gaze: Outlet,
    markers: Outlet,
    clock: Arc<dyn Clock>,
    offset_s: f64,
    measured: Instant,
    pairs: Vec<LslClockRecord>,
    consumer_noted: bool,
    /// Pushes liblsl refused, and how many of them a note has told of.
    failures: u64,
    failures_noted: u64,
    /// Samples pushed to the gaze outlet.
    pushed: u64,
    /// When set, each sample's push latency (µs from its stamp to its push) is logged: for
    /// the benchmark (`benches/lsl.rs`), on a tracker that stamps CLOCK_MONOTONIC.
    push_log: Option<PushLog>,
}

/// Push latencies in µs, one per sample (`Outlets::log_pushes`).
pub type PushLog = Arc<std::sync::Mutex<Vec<i64>>>;

impl Outlets {
    /// Opens both outlets; consumers can find them from now on.
    pub fn open(lib: &'static LslLibrary, src: &Source<'_>) -> Result<Self> {
        let gaze = lib
            .outlet(&gaze_spec(src.info, src.participant, src.screen))
            .map_err(lsl_err)?;
        let markers = lib
            .outlet(&marker_spec(src.info, src.participant))
            .map_err(lsl_err)?;
        let clock = Arc::clone(&src.clock);
        let pair = clock_pair(lib, clock.as_ref());
        Ok(Outlets {
            lib,
            gaze,
            markers,
            clock,
            offset_s: pair.offset_s,
            measured: Instant::now(),
            pairs: vec![pair],
            consumer_noted: false,
            failures: 0,
            failures_noted: 0,
            pushed: 0,
            push_log: None,
        })
    }

    /// Waits until a consumer is connected to the gaze outlet, then gives the marker outlet a
    /// moment to get one too (LabRecorder connects the streams it records together); false
    /// when `give_up` says so first.
    pub fn wait_for_consumer(&self, give_up: &dyn Fn() -> bool) -> bool {
        while !self.gaze.wait_for_consumers(0.25) {
            if give_up() {
                return false;
            }
        }
        self.markers.wait_for_consumers(MARKERS_JOIN_S);
        true
    }

    /// The LSL time of a tracker time stamp.
    fn lsl_time(&self, ts_us: i64) -> f64 {
        ts_us as f64 / 1e6 + self.offset_s
    }

    /// A new clock pair once a second.
    fn measure(&mut self) {
        if self.measured.elapsed() >= Duration::from_secs(1) {
            let pair = clock_pair(self.lib, self.clock.as_ref());
            self.offset_s = pair.offset_s;
            self.pairs.push(pair);
            self.measured = Instant::now();
        }
    }

    /// Pushes samples as the recorder receives them.
    pub fn samples(&mut self, samples: &[GazeSample]) {
        if samples.is_empty() {
            return;
        }
        self.measure();
        for s in samples {
            match self
                .gaze
                .push_f32(&channels(s), self.lsl_time(s.system_ts_us))
            {
                Ok(()) => self.pushed += 1,
                Err(_) => self.failures += 1,
            }
        }
        if let Some(log) = &self.push_log {
            let now = et_drivers::clock::monotonic_now_us();
            let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
            l.extend(samples.iter().map(|s| now - s.system_ts_us));
        }
    }

    /// Logs every sample's push latency into `log` from now on.
    pub fn log_pushes(&mut self, log: PushLog) {
        self.push_log = Some(log);
    }

    /// Samples pushed to the gaze outlet so far.
    pub fn samples_pushed(&self) -> u64 {
        self.pushed
    }

    /// Notes the gaze stream's first consumer, then pushes the events as the recorder writes
    /// them (all but the markers that came in from LSL).
    pub fn events(&mut self, events: &mut Vec<EventRecord>, now_ts: i64) {
        if !self.consumer_noted && self.gaze.has_consumers() {
            self.consumer_noted = true;
            events.push(EventRecord::new(
                now_ts,
                kind::LSL_CONSUMER,
                -1,
                format!("a consumer connected to {}", GAZE_STREAM.0),
            ));
        }
        if self.failures > self.failures_noted {
            events.push(EventRecord::new(
                now_ts,
                kind::NOTE,
                -1,
                format!(
                    "LSL: liblsl refused {} pushes: those samples or events are in this file but not in the LSL streams",
                    self.failures - self.failures_noted
                ),
            ));
            self.failures_noted = self.failures;
        }
        for e in events.iter().filter(|e| e.kind != kind::LSL_MARKER) {
            if self
                .markers
                .push_str(&e.as_marker(), self.lsl_time(e.ts_us))
                .is_err()
            {
                self.failures += 1;
            }
        }
    }

    /// Closes the outlets once their consumers have had what was pushed: liblsl sends on
    /// threads of its own and drops what is still unsent when an outlet is destroyed, so a
    /// connected consumer gets a moment first (without one, nothing is waited for).
    pub fn close(self) {
        if self.gaze.has_consumers() || self.markers.has_consumers() {
            std::thread::sleep(CLOSE_LINGER);
        }
    }

    /// Clock pairs measured since the last call, for `/lsl_clock`.
    pub fn take_pairs(&mut self) -> Vec<LslClockRecord> {
        std::mem::take(&mut self.pairs)
    }
}

/// The one outside stream `what` names (a name, else a type), looked for within `wait_s`.
/// None or several: refused, naming what was found.
pub fn find_marker_stream(lib: &'static LslLibrary, what: &str, wait_s: f64) -> Result<Found> {
    // Everything that answers within the wait, by name or type alike.
    let mut found = lib
        .resolve(&["name", "type"], what, 64, wait_s)
        .map_err(lsl_err)?;
    match found.len() {
        0 => Err(SessionError::Invalid(format!(
            "--lsl-markers {what}: no LSL stream of that name or type answered within {wait_s} s; start its sender first (and check that both machines are on one network)"
        ))),
        1 => Ok(found.remove(0)),
        n => Err(SessionError::Invalid(format!(
            "--lsl-markers {what}: {n} LSL streams answer to it ({}); give one stream's name",
            found
                .iter()
                .map(|f| format!("{} (type {}, source {}, on {})", f.name, f.kind, f.source_id, f.hostname))
                .collect::<Vec<_>>()
                .join("; ")
        ))),
    }
}

/// `text` in pieces of at most `TEXT_BYTES`, each numbered when there are several, cut at
/// character boundaries.
pub fn split_marker(text: &str) -> Vec<String> {
    if text.len() <= TEXT_BYTES {
        return vec![text.to_string()];
    }
    // Room for "[part 99/99] ".
    let room = TEXT_BYTES - 16;
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(room);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        pieces.push(&rest[..end]);
        rest = &rest[end..];
    }
    let n = pieces.len();
    pieces
        .iter()
        .enumerate()
        .map(|(i, p)| format!("[part {}/{n}] {p}", i + 1))
        .collect()
}

/// What a session prepared before its recording existed, for the runner to start.
pub struct Prepared {
    lib: &'static LslLibrary,
    outlets: std::sync::Mutex<Option<Outlets>>,
    markers: std::sync::Mutex<Option<Found>>,
}

impl Prepared {
    /// Loads liblsl, finds the marker stream and opens the outlets, as `opts` asks, and holds
    /// the start until a consumer connects (`--lsl-wait`). Refused at a speed other than 1×.
    pub fn new(
        opts: &LslOptions,
        speed: ReplaySpeed,
        src: &Source<'_>,
        prompt: &dyn Fn(&str),
        aborted: &dyn Fn() -> bool,
    ) -> Result<Option<Self>> {
        check_speed(opts, speed)?;
        if !opts.any() {
            return Ok(None);
        }
        let lib = library(opts)?;
        let markers = match &opts.markers {
            Some(what) => {
                prompt(&format!(
                    "looking for the LSL marker stream {what} (up to {RESOLVE_WAIT_S} s)"
                ));
                Some(find_marker_stream(lib, what, RESOLVE_WAIT_S)?)
            }
            None => None,
        };
        let outlets = if opts.outlets || opts.wait_for_consumer {
            let o = Outlets::open(lib, src)?;
            if opts.wait_for_consumer {
                let waiting = || {
                    prompt(&format!(
                        "waiting for an LSL consumer of {} (start LabRecorder and select it; the session starts once it is connected)",
                        GAZE_STREAM.0
                    ))
                };
                waiting();
                if !o.wait_for_consumer(aborted) {
                    return Err(SessionError::Invalid(
                        "aborted while waiting for an LSL consumer: nothing was recorded".into(),
                    ));
                }
                prompt("an LSL consumer is connected: the session starts");
            }
            Some(o)
        } else {
            None
        };
        Ok(Some(Prepared {
            lib,
            outlets: std::sync::Mutex::new(outlets),
            markers: std::sync::Mutex::new(markers),
        }))
    }

    /// The outlets, for the recorder (once).
    pub fn take_outlets(&self) -> Option<Outlets> {
        self.outlets.lock().ok().and_then(|mut o| o.take())
    }

    /// Starts recording the marker stream, if one was asked for (once).
    pub fn start_inlet(
        &self,
        clock: Arc<dyn Clock>,
        tx: crossbeam_channel::Sender<Record>,
    ) -> Result<Option<MarkerInlet>> {
        let found = self.markers.lock().ok().and_then(|mut m| m.take());
        found
            .map(|f| MarkerInlet::start(self.lib, f, clock, tx))
            .transpose()
    }
}

/// The thread that records an outside marker stream.
pub struct MarkerInlet {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MarkerInlet {
    /// Opens `found` and records its markers through `tx` until `stop`.
    pub fn start(
        lib: &'static LslLibrary,
        found: Found,
        clock: Arc<dyn Clock>,
        tx: crossbeam_channel::Sender<Record>,
    ) -> Result<Self> {
        let inlet = found.open(5.0).map_err(lsl_err)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let mut w = InletWork {
            lib,
            name: found.name.clone(),
            source_id: found.source_id.clone(),
            clock,
            tx,
            correction: None,
            corrected: None,
            local: None,
        };
        let thread = std::thread::Builder::new()
            .name("lsl-markers".into())
            .spawn(move || w.run(inlet, &flag))
            .map_err(|e| {
                SessionError::Invalid(format!("LSL: cannot start the marker thread: {e}"))
            })?;
        Ok(MarkerInlet {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops after the markers already received are recorded.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MarkerInlet {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

struct InletWork {
    lib: &'static LslLibrary,
    name: String,
    source_id: String,
    clock: Arc<dyn Clock>,
    tx: crossbeam_channel::Sender<Record>,
    /// The sender's offset (s) to LSL local time.
    correction: Option<f64>,
    corrected: Option<Instant>,
    /// The latest pair of LSL local time and the tracker's clock.
    local: Option<LslClockRecord>,
}

impl InletWork {
    fn run(&mut self, mut inlet: Inlet, stop: &AtomicBool) {
        self.measure(&mut inlet);
        let mut current = Some(inlet);
        while !stop.load(Ordering::SeqCst) {
            let Some(inlet) = current.as_mut() else {
                current = self.find_again(stop);
                continue;
            };
            match inlet.pull(0.1) {
                Ok(Pulled::Sample { text, ts }) => {
                    if self.correction.is_none() {
                        self.measure(inlet);
                    }
                    self.marker(&text, ts);
                }
                Ok(Pulled::Nothing) => {
                    if self
                        .corrected
                        .is_none_or(|t| t.elapsed() >= Duration::from_secs(5))
                    {
                        self.measure(inlet);
                    }
                }
                Ok(Pulled::Lost) | Err(_) => {
                    let now = self.clock.now_us();
                    self.event(
                        now,
                        kind::LSL_STREAM_LOST,
                        format!(
                            "LSL stream {} (source {}) went away",
                            self.name, self.source_id
                        ),
                    );
                    current = None;
                }
            }
        }
        // What came in while stopping is still recorded.
        if let Some(inlet) = current.as_mut() {
            while let Ok(Pulled::Sample { text, ts }) = inlet.pull(0.0) {
                self.marker(&text, ts);
            }
        }
    }

    /// Looks for the lost stream (its source id, else its name) until it answers or `stop`.
    fn find_again(&mut self, stop: &AtomicBool) -> Option<Inlet> {
        while !stop.load(Ordering::SeqCst) {
            let found = if self.source_id.is_empty() {
                self.lib.resolve(&["name"], &self.name, 1, 0.5)
            } else {
                self.lib.resolve(&["source_id"], &self.source_id, 1, 0.5)
            };
            if let Some(f) = found
                .ok()
                .and_then(|mut v| (!v.is_empty()).then(|| v.remove(0)))
            {
                if let Ok(mut inlet) = f.open(2.0) {
                    let now = self.clock.now_us();
                    self.event(
                        now,
                        kind::LSL_STREAM_BACK,
                        format!(
                            "LSL stream {} (source {}) is back",
                            self.name, self.source_id
                        ),
                    );
                    self.correction = None;
                    self.measure(&mut inlet);
                    return Some(inlet);
                }
            }
        }
        None
    }

    /// The sender's clock offset and the local clock pair, both stored.
    fn measure(&mut self, inlet: &mut Inlet) {
        let local = clock_pair(self.lib, self.clock.as_ref());
        if let Ok(Some(c)) = inlet.time_correction(2.0) {
            self.correction = Some(c.offset_s);
            let _ = self.tx.send(Record::LslClock(LslClockRecord {
                stream: self.name.clone(),
                ts_us: local.ts_us,
                lsl_s: local.lsl_s,
                offset_s: c.offset_s,
                uncertainty_s: c.uncertainty_s,
            }));
        }
        self.corrected = Some(Instant::now());
        self.local = Some(local);
    }

    /// A marker stamped `ts` on its sender's clock, as events on the tracker's clock.
    fn marker(&mut self, text: &str, ts: f64) {
        let local_lsl = ts + self.correction.unwrap_or(0.0);
        let offset = self.local.as_ref().map_or(0.0, |p| p.offset_s);
        let ts_us = ((local_lsl - offset) * 1e6).round();
        let ts_us =
            if ts_us.is_finite() && ts_us.abs() < et_recording::format::MAX_ABS_TIME_US as f64 {
                ts_us as i64
            } else {
                self.clock.now_us()
            };
        for piece in split_marker(text) {
            self.event(ts_us, kind::LSL_MARKER, piece);
        }
    }

    fn event(&self, ts_us: i64, kind: &str, text: String) {
        let _ = self
            .tx
            .send(Record::Event(EventRecord::new(ts_us, kind, -1, text)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_marker_is_split_into_numbered_parts_never_cut() {
        let text = "é".repeat(300); // 600 bytes
        let parts = split_marker(&text);
        assert!(parts.len() > 2);
        assert!(parts.iter().all(|p| p.len() <= TEXT_BYTES), "{parts:?}");
        let joined: String = parts
            .iter()
            .map(|p| p.split_once("] ").map_or("", |(_, t)| t))
            .collect();
        assert_eq!(joined, text);
        assert!(parts[0].starts_with(&format!("[part 1/{}]", parts.len())));
        assert_eq!(split_marker("short"), vec!["short".to_string()]);
    }

    #[test]
    fn lsl_on_a_virtual_clock_is_refused_with_the_reason() {
        let opts = LslOptions {
            outlets: true,
            ..LslOptions::default()
        };
        let e = check_speed(&opts, ReplaySpeed::Max)
            .unwrap_err()
            .to_string();
        assert!(e.contains("real time") && e.contains("--speed"), "{e}");
        let e = check_speed(&opts, ReplaySpeed::Factor(2.0)).unwrap_err();
        assert!(e.to_string().contains("real time"));
        assert!(check_speed(&opts, ReplaySpeed::Factor(1.0)).is_ok());
        assert!(check_speed(&LslOptions::default(), ReplaySpeed::Max).is_ok());
    }

    #[test]
    fn events_read_as_markers_with_their_trial() {
        let e = EventRecord::new(5, kind::STIMULUS_ONSET, 3, "face_07");
        assert_eq!(e.as_marker(), "stimulus_onset; trial 3; face_07");
        let e = EventRecord::new(5, kind::NOTE, -1, "session end");
        assert_eq!(e.as_marker(), "note; session end");
    }
}
