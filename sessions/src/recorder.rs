//! The recorder thread: drains the tracker channel and the session's own records into the
//! writer. Rows are appended in batches; the file is flushed at least every 80 ms of wall
//! time and fsynced at least every second. In real time the file is also flushed whenever the
//! samples taken from the tracker but not yet flushed span 80 ms of tracker time, so whatever
//! the machine's load, a SIGKILL loses at most the last 100 ms of the samples the recorder had
//! received: a recorder starved of the CPU and then handed a backlog writes it out in 80 ms
//! slices instead of holding all of it in memory until the next flush.
//!
//! `ET_RECORDER_TRACE=FILE` (diagnostics) appends one line per batch taken from the tracker,
//! `received <CLOCK_MONOTONIC µs> <first> <newest>` (the batch's first and newest sample time
//! stamps), and one per flush, `flushed <µs> <newest sample's time stamp in the file>`, each a
//! single write(2), so the lines survive a SIGKILL of the process: the kill test and the
//! durability benchmark measure loss with it.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use et_drivers::{GazeSample, SampleReceiver, TrackerMessage};

use crate::error::{Result, SessionError};
use et_recording::format::{
    kind, EventRecord, FrameRecord, LslClockRecord, TrialRecord, ValidationRecord,
};
use et_recording::writer::{Counts, RecordingWriter};

/// The most recent samples, as the recorder writes them (a bounded window for live checks such
/// as validation).
#[derive(Debug, Clone)]
pub struct SampleTap {
    inner: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<GazeSample>>>,
    /// When samples last came in (wall time: the recorder's pace, at any session speed).
    filled: std::sync::Arc<std::sync::Mutex<Option<Instant>>>,
    /// The session's silence watch, once the recorder has one: while the tracker is silent
    /// or its data has ended, a window is as complete as it gets.
    silence: std::sync::Arc<std::sync::OnceLock<std::sync::Arc<crate::silence::SilenceState>>>,
    capacity: usize,
}

impl SampleTap {
    pub fn new(capacity: usize) -> Self {
        SampleTap {
            inner: Default::default(),
            filled: Default::default(),
            silence: Default::default(),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn extend(&self, s: &[GazeSample]) {
        if s.is_empty() {
            return;
        }
        let mut q = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        q.extend(s.iter().copied());
        let excess = q.len().saturating_sub(self.capacity);
        q.drain(..excess);
        *self.filled.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// No more samples are coming for now (the data ended, or the tracker is silent).
    fn starved(&self) -> bool {
        self.silence.get().is_some_and(|s| s.ended() || s.silent())
    }

    /// Real time since samples last came in; `None` before the first.
    pub fn since_filled(&self) -> Option<Duration> {
        self.filled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|t| t.elapsed())
    }

    /// The samples of the last `span_us` up to the newest one (the recorder hands samples on
    /// in batches, so "the last 2 s" is counted from the newest sample, not from the clock).
    pub fn latest(&self, span_us: i64) -> Vec<GazeSample> {
        let q = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(newest) = q.back().map(|s| s.system_ts_us) else {
            return Vec::new();
        };
        let from = newest.saturating_sub(span_us);
        q.iter()
            .rev()
            .take_while(|s| s.system_ts_us > from)
            .copied()
            .collect()
    }

    /// Time stamp of the newest sample in the tap.
    pub fn newest(&self) -> Option<i64> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .back()
            .map(|s| s.system_ts_us)
    }

    /// Samples with `from ≤ ts < to`, and whether the window is complete (the tap holds a
    /// sample from `to` on).
    pub fn window(&self, from: i64, to: i64) -> (Vec<GazeSample>, bool) {
        let q = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let got = q
            .iter()
            .filter(|s| s.system_ts_us >= from && s.system_ts_us < to)
            .copied()
            .collect();
        (got, q.back().is_some_and(|s| s.system_ts_us >= to))
    }

    /// The samples of [from, to) once the recorder has them (at once when the tracker's data
    /// has ended or the tracker is silent; after 5 s of real time at most).
    pub(crate) async fn settled_window(
        &self,
        from: i64,
        to: i64,
        period_us: i64,
        clock: &dyn et_drivers::Clock,
    ) -> Vec<GazeSample> {
        // A driven (accelerated) clock must pass the window by a sample (with its jitter) for
        // the window to complete.
        clock.advance_to(to.saturating_add(period_us.saturating_mul(2)));
        let t0 = Instant::now();
        loop {
            let (got, done) = self.window(from, to);
            if done || self.starved() || t0.elapsed() > Duration::from_secs(5) {
                tracing::debug!(
                    from,
                    to,
                    done,
                    newest = self.newest(),
                    now = clock.now_us(),
                    n = got.len(),
                    waited_ms = t0.elapsed().as_millis() as u64,
                    "sample window"
                );
                return got;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The samples of the last `span_us` before `now_us`, for a live check. On a virtual clock
    /// they are the samples of exactly that span, once the tracker has made them, so a
    /// simulated session decides the same way however its threads run; in real time, whatever
    /// the tracker has delivered (never waiting on it, which would hold up the frames).
    pub(crate) async fn recent(
        &self,
        now_us: i64,
        span_us: i64,
        period_us: i64,
        clock: &dyn et_drivers::Clock,
    ) -> Vec<GazeSample> {
        if clock.is_virtual() {
            self.settled_window(now_us.saturating_sub(span_us), now_us, period_us, clock)
                .await
        } else {
            self.latest(span_us)
        }
    }
}

/// (CLOCK_MONOTONIC µs when a flush finished, gaze rows in the file by then), one per flush.
pub type FlushLog = std::sync::Arc<std::sync::Mutex<Vec<(i64, usize)>>>;

#[derive(Debug, Clone)]
pub struct FlushPolicy {
    /// Flush at least this often (wall time) while anything is waiting.
    pub flush_every: Duration,
    /// Also flush once the unflushed samples span this much tracker time (µs): `None` for
    /// virtual clocks, where a flush per 80 ms of simulated time would only slow the run.
    pub flush_span_us: Option<i64>,
    pub fsync_every: Duration,
    /// Append (without flushing) once this many samples are buffered, to bound memory.
    pub max_batch: usize,
    /// When set, every flush is logged: for measuring callback-to-disk latency.
    pub flush_log: Option<FlushLog>,
    /// When set, receives every batch of samples as it is written.
    pub tap: Option<SampleTap>,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        FlushPolicy {
            // 80, not 100: a sample waits for the next flush, and the flush itself takes time;
            // 50 SIGKILLs at 100 ms lost up to 108.6 ms, over the 100 ms promised.
            flush_every: Duration::from_millis(80),
            flush_span_us: Some(FLUSH_SPAN_US),
            fsync_every: Duration::from_secs(1),
            max_batch: 8192,
            flush_log: None,
            tap: None,
        }
    }
}

/// Tracker time the unflushed samples may span in real time (see the module doc).
pub const FLUSH_SPAN_US: i64 = 80_000;

impl FlushPolicy {
    /// The policy for a session on `clock`: the tracker-time flush only in real time.
    pub fn for_clock(clock: &dyn et_drivers::Clock) -> Self {
        FlushPolicy {
            flush_span_us: (!clock.is_virtual()).then_some(FLUSH_SPAN_US),
            ..FlushPolicy::default()
        }
    }
}

/// The environment variable naming the diagnostics trace file (module doc).
pub const TRACE_ENV: &str = "ET_RECORDER_TRACE";

/// The diagnostics trace: one unbuffered append per line, so a kill cannot take written lines.
struct Trace(Option<std::fs::File>);

impl Trace {
    fn from_env() -> Self {
        let file = std::env::var_os(TRACE_ENV).and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p)
                .map_err(|e| tracing::warn!(path = ?p, error = %e, "recorder trace not opened"))
                .ok()
        });
        Trace(file)
    }

    /// A `received` line for samples just taken from the tracker (none for no samples).
    fn received(&mut self, new: &[GazeSample]) {
        if let (Some(first), Some(last)) = (new.first(), new.last()) {
            self.line("received", &[first.system_ts_us, last.system_ts_us]);
        }
    }

    /// One line: `what`, the time now and the stamps of `samples` (nothing without samples).
    fn line(&mut self, what: &str, samples: &[i64]) {
        if let (Some(f), false) = (self.0.as_mut(), samples.is_empty()) {
            let mut line = format!("{what} {}", et_drivers::clock::monotonic_now_us());
            for ts in samples {
                line.push_str(&format!(" {ts}"));
            }
            line.push('\n');
            // Diagnostics only: a failed trace write must never touch the recording.
            let _ = std::io::Write::write_all(f, line.as_bytes());
        }
    }
}

/// From a trace's text (`TRACE_ENV`): the first and the newest sample time stamps the recorder
/// had taken from the tracker, `None` before any. Lines cut short by a kill are skipped.
pub fn received_in_trace(text: &str) -> Option<(i64, i64)> {
    let batches: Vec<(i64, i64)> = text
        .lines()
        .filter_map(|l| match l.split(' ').collect::<Vec<_>>().as_slice() {
            ["received", _wall, first, newest] => Some((first.parse().ok()?, newest.parse().ok()?)),
            _ => None,
        })
        .collect();
    let first = batches.iter().map(|b| b.0).min()?;
    let newest = batches.iter().map(|b| b.1).max()?;
    Some((first, newest))
}

/// What the session sends the recorder besides gaze.
#[derive(Debug, Clone)]
pub enum Record {
    Event(EventRecord),
    Frame(FrameRecord),
    Trial(TrialRecord),
    Validation(ValidationRecord),
    /// A clock pair of an LSL session (`/lsl_clock`).
    LslClock(LslClockRecord),
    /// The session stops streaming at this tracker time: silence is judged up to it and no
    /// further, however long the tracker and the rest take to shut down.
    StreamEnd {
        at_us: i64,
    },
    /// Write the rest and close; `complete` only for a session that ended normally.
    Finish {
        complete: bool,
    },
    /// The process is exiting under the session (`exit_guard`): note it, write the rest and
    /// close as incomplete.
    ProcessExiting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecorderStats {
    pub counts: Counts,
    pub samples_dropped: u64,
    pub flushes: u64,
    /// What the session watch found (all zero for a recorder without one).
    pub watch: WatchSummary,
}

/// The silence and the trials without gaze a session's recording holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchSummary {
    /// Stretches of tracker silence (`tracker_lost` to `tracker_back` or the end).
    pub silences: u32,
    /// Their total length (µs of tracker time).
    pub silent_us: i64,
    /// Trials during whose stimulus the tracker delivered no sample.
    pub trials_without_gaze: u32,
    /// The tracker's data ended before the session did (a replay: `replay_end`).
    pub tracker_data_ended: bool,
}

/// What the recorder watches in a session: silence, and each trial's samples.
pub struct SessionWatch {
    pub silence: crate::silence::SilenceWatch,
    pub trials: crate::trial_samples::TrialCounter,
}

impl SessionWatch {
    /// The session clock's time in real time; `None` on a virtual clock (stamps decide).
    fn real_now(&self) -> Option<i64> {
        let c = self.silence.clock();
        (!c.is_virtual()).then(|| c.now_us())
    }
}

pub struct RecorderHandle {
    tx: Sender<Record>,
    thread: JoinHandle<Result<RecorderStats>>,
    /// Closes the file should the process exit under the session.
    _exit_guard: crate::exit_guard::Guard,
}

impl RecorderHandle {
    /// Queues a record; fails only if the recorder has stopped (its error comes from `finish`).
    pub fn send(&self, r: Record) -> Result<()> {
        self.tx
            .send(r)
            .map_err(|_| SessionError::Recorder("the recorder thread has stopped".into()))
    }

    /// A sender for another thread's records (an LSL marker inlet).
    pub fn sender(&self) -> Sender<Record> {
        self.tx.clone()
    }

    pub fn event(&self, e: EventRecord) -> Result<()> {
        self.send(Record::Event(e))
    }

    /// The session stops streaming at `at_us` (before the tracker is stopped).
    pub fn stream_ends(&self, at_us: i64) -> Result<()> {
        self.send(Record::StreamEnd { at_us })
    }

    /// Closes the recording and returns what was written. Call after the tracker has stopped.
    pub fn finish(self, complete: bool) -> Result<RecorderStats> {
        let _ = self.tx.send(Record::Finish { complete });
        self.thread
            .join()
            .map_err(|_| SessionError::Recorder("the recorder thread panicked".into()))?
    }

    #[cfg(test)]
    pub(crate) fn exit_guard(&self) -> &crate::exit_guard::Guard {
        &self._exit_guard
    }

    /// True when the recorder thread has ended (normally only after a write error).
    pub fn has_stopped(&self) -> bool {
        self.thread.is_finished()
    }
}

struct Buffers {
    gaze: Vec<GazeSample>,
    events: Vec<EventRecord>,
    frames: Vec<FrameRecord>,
    trials: Vec<TrialRecord>,
    validation: Vec<ValidationRecord>,
    lsl_clock: Vec<LslClockRecord>,
    /// Where samples and events are streamed as they come (`run --lsl`).
    lsl: Option<crate::lsl::Outlets>,
    /// Trials open now and those closed, for placing outside markers in their trial.
    trial_spans: TrialSpans,
    /// The newest sample written, for stamping a note when none is pending.
    last_ts: Option<i64>,
    /// Set by `Record::Finish`, or to incomplete when the session side went away.
    finish: Option<bool>,
    /// Tracker samples refused for a time stamp no reader accepts (beyond ±2^53 µs): one
    /// garbled stamp must not make the whole recording unreadable.
    out_of_range: u64,
    watch: Option<SessionWatch>,
    /// Where the session's streaming ended (`Record::StreamEnd`), else the session clock when
    /// the session asked to finish.
    finish_at: Option<i64>,
}

/// Whether a tracker's time stamp is one a recording may hold (`format::MAX_ABS_TIME_US`).
fn in_range(ts_us: i64) -> bool {
    ts_us.unsigned_abs() <= et_recording::format::MAX_ABS_TIME_US.unsigned_abs()
}

impl Buffers {
    fn tracker(&mut self, m: TrackerMessage) {
        match m {
            TrackerMessage::Sample(s) if in_range(s.system_ts_us) => {
                if let Some(o) = &mut self.lsl {
                    o.samples(std::slice::from_ref(&s));
                }
                if let Some(w) = &mut self.watch {
                    w.silence.sample(s.system_ts_us, &mut self.events);
                    w.trials.sample(&s);
                }
                self.gaze.push(s);
            }
            TrackerMessage::Sample(_) => self.out_of_range += 1,
            TrackerMessage::Event(e) if in_range(e.ts_us) => {
                if e.kind == kind::REPLAY_END {
                    self.data_ended();
                }
                self.events
                    .push(EventRecord::new(e.ts_us, &e.kind, -1, e.text))
            }
            // Kept, at the newest good time, saying what time it came with.
            TrackerMessage::Event(e) => {
                let ts = self.newest_ts();
                let text = format!(
                    "{} (tracker time stamp {} µs out of range)",
                    e.text, e.ts_us
                );
                self.events.push(EventRecord::new(ts, &e.kind, -1, text));
            }
        }
    }

    /// The streams' last event: how many samples went out, so a consumer can check it has them
    /// all (it is in the file and on the marker stream).
    fn lsl_end(&mut self) {
        if let Some(o) = &self.lsl {
            let ts = self.newest_ts();
            self.events.push(EventRecord::new(
                ts,
                kind::LSL_END,
                -1,
                format!("{} gaze samples streamed", o.samples_pushed()),
            ));
        }
    }

    /// The tracker will send no more samples.
    fn data_ended(&mut self) {
        if let Some(w) = &mut self.watch {
            w.silence.end_of_data();
            w.trials.no_more_samples();
        }
    }

    /// Between batches: silence noticed on the session clock, trial rows whose samples are
    /// in. Whether it added anything to write.
    fn watch(&mut self) -> bool {
        let Some(w) = &mut self.watch else {
            return false;
        };
        let before = (self.events.len(), self.trials.len());
        w.silence.check(&mut self.events);
        let now = w.real_now();
        self.trials.extend(w.trials.ready(now));
        before != (self.events.len(), self.trials.len())
    }

    /// At the end: the last trial rows and the silence up to the session's end.
    fn watch_end(&mut self, w: &mut RecordingWriter) -> WatchSummary {
        let Some(watch) = &mut self.watch else {
            return WatchSummary::default();
        };
        watch.trials.no_more_samples();
        self.trials.extend(watch.trials.ready(None));
        let end = self
            .finish_at
            .unwrap_or_else(|| watch.silence.clock().now_us());
        let silent_ms = watch.silence.finish(end, &mut self.events);
        w.set_tracker_silent_ms(silent_ms);
        let state = watch.silence.state();
        WatchSummary {
            silences: state.stretches(),
            silent_us: (silent_ms * 1000.0).round() as i64,
            trials_without_gaze: watch.trials.without_gaze(),
            tracker_data_ended: state.ended(),
        }
    }

    /// The newest sample's time, buffered or written (0 before any).
    fn newest_ts(&self) -> i64 {
        self.gaze
            .last()
            .map(|s| s.system_ts_us)
            .or(self.last_ts)
            .unwrap_or(0)
    }

    /// Takes one message from the session side; `None` means that side has gone away.
    fn session(&mut self, r: Option<Record>) {
        match r {
            Some(Record::Event(mut e)) => {
                self.trial_spans.place(&mut e);
                self.events.push(e)
            }
            Some(Record::LslClock(c)) => self.lsl_clock.push(c),
            Some(Record::Frame(f)) => self.frames.push(f),
            Some(Record::Trial(t)) => match &mut self.watch {
                Some(w) => w.trials.trial(t),
                None => self.trials.push(t),
            },
            Some(Record::Validation(v)) => self.validation.push(v),
            Some(Record::StreamEnd { at_us }) => {
                self.finish_at = Some(at_us);
                if let Some(w) = &mut self.watch {
                    w.silence.stream_ends(at_us);
                }
            }
            Some(Record::Finish { complete }) => {
                self.finish = Some(complete);
                if let (Some(w), None) = (&self.watch, self.finish_at) {
                    self.finish_at = Some(w.silence.clock().now_us());
                }
            }
            Some(Record::ProcessExiting) => {
                let ts = self.newest_ts();
                self.events.push(EventRecord::new(
                    ts,
                    kind::NOTE,
                    -1,
                    "the process exited during the session (a library ended it, e.g. the X server went away): closed as incomplete",
                ));
                self.finish = Some(false);
            }
            None => {
                self.finish.get_or_insert(false);
            }
        }
    }

    fn write(&mut self, w: &mut RecordingWriter, tap: Option<&SampleTap>) -> Result<()> {
        if let Some(s) = self.gaze.last() {
            self.last_ts = Some(s.system_ts_us);
        }
        w.append_gaze(&self.gaze)?;
        if let Some(t) = tap {
            t.extend(&self.gaze);
        }
        self.gaze.clear();
        if let Some(o) = &mut self.lsl {
            let now = self.last_ts.unwrap_or(0);
            o.events(&mut self.events, now);
            self.lsl_clock.extend(o.take_pairs());
        }
        w.append_events(&self.events)?;
        self.events.clear();
        w.append_lsl_clock(&self.lsl_clock)?;
        self.lsl_clock.clear();
        w.append_frames(&self.frames)?;
        self.frames.clear();
        w.append_trials(&self.trials)?;
        self.trials.clear();
        w.append_validation(&self.validation)?;
        self.validation.clear();
        Ok(())
    }
}

/// Where each trial began and ended, from the session's events: an outside marker (`lsl_marker`,
/// which comes without a trial) is placed in the trial whose span holds its time.
#[derive(Debug, Default)]
struct TrialSpans {
    /// (trial, start, end when known), in order of start.
    spans: Vec<(i32, i64, Option<i64>)>,
}

impl TrialSpans {
    /// Learns from a session event; gives an outside marker its trial.
    fn place(&mut self, e: &mut EventRecord) {
        match e.kind.as_str() {
            kind::TRIAL_START if e.trial >= 0 => self.spans.push((e.trial, e.ts_us, None)),
            kind::STIMULUS_OFFSET | kind::TRIAL_ABORTED if e.trial >= 0 => {
                if let Some(s) = self.spans.iter_mut().rev().find(|s| s.0 == e.trial) {
                    s.2 = Some(e.ts_us);
                }
            }
            kind::LSL_MARKER if e.trial < 0 => {
                let ts = e.ts_us;
                if let Some(s) = self
                    .spans
                    .iter()
                    .rev()
                    .find(|s| s.1 <= ts && s.2.is_none_or(|end| ts < end))
                {
                    e.trial = s.0;
                }
            }
            _ => {}
        }
    }
}

/// The tracker time spanned by the samples taken since the last flush.
#[derive(Debug, Default, Clone, Copy)]
struct UnflushedSpan {
    first: Option<i64>,
    newest: Option<i64>,
}

impl UnflushedSpan {
    fn took(&mut self, samples: &[GazeSample]) {
        if let (Some(f), Some(l)) = (samples.first(), samples.last()) {
            self.first.get_or_insert(f.system_ts_us);
            self.newest = Some(l.system_ts_us);
        }
    }

    /// Whether the span has reached `limit_us` (never, without a limit).
    fn due(&self, limit_us: Option<i64>) -> bool {
        match (limit_us, self.first, self.newest) {
            (Some(limit), Some(first), Some(newest)) => newest.saturating_sub(first) >= limit,
            _ => false,
        }
    }
}

pub fn spawn_recorder(
    writer: RecordingWriter,
    gaze: SampleReceiver,
    policy: FlushPolicy,
) -> Result<RecorderHandle> {
    spawn_session_recorder(writer, gaze, policy, None, None)
}

/// A recorder that also watches the session: silence, and each trial's samples.
pub fn spawn_session_recorder(
    writer: RecordingWriter,
    gaze: SampleReceiver,
    policy: FlushPolicy,
    watch: Option<SessionWatch>,
    lsl: Option<crate::lsl::Outlets>,
) -> Result<RecorderHandle> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let exiting = tx.clone();
    let (guard, closed) = crate::exit_guard::register(move || {
        let _ = exiting.send(Record::ProcessExiting);
    });
    let thread = std::thread::Builder::new()
        .name("recorder".into())
        .spawn(move || {
            let r = run(writer, gaze, rx, policy, watch, lsl);
            closed.set();
            r
        })
        .map_err(|e| SessionError::Recorder(e.to_string()))?;
    Ok(RecorderHandle {
        tx,
        thread,
        _exit_guard: guard,
    })
}

fn run(
    mut w: RecordingWriter,
    gaze: SampleReceiver,
    ctl: Receiver<Record>,
    policy: FlushPolicy,
    watch: Option<SessionWatch>,
    lsl: Option<crate::lsl::Outlets>,
) -> Result<RecorderStats> {
    let mut b = Buffers {
        gaze: Vec::with_capacity(policy.max_batch),
        events: Vec::new(),
        frames: Vec::new(),
        trials: Vec::new(),
        validation: Vec::new(),
        lsl_clock: Vec::new(),
        lsl,
        trial_spans: TrialSpans::default(),
        last_ts: None,
        finish: None,
        out_of_range: 0,
        watch,
        finish_at: None,
    };
    if let (Some(w), Some(tap)) = (&b.watch, &policy.tap) {
        let _ = tap.silence.set(w.silence.state());
    }
    let mut out_of_range_reported = 0u64;
    let mut last_flush = Instant::now();
    let mut last_sync = Instant::now();
    let mut dropped_reported = 0u64;
    let mut flushes = 0u64;
    let mut dirty = false;
    let mut finish_since: Option<Instant> = None;
    let mut span = UnflushedSpan::default();
    let mut trace = Trace::from_env();
    let rx = gaze.inner();
    loop {
        let mut got = 0usize;
        let mut gaze_closed = false;
        let before = b.gaze.len();
        // A backlog is taken in slices of the flush span, each flushed before the next.
        while b.gaze.len() < policy.max_batch && !span.due(policy.flush_span_us) {
            match rx.try_recv() {
                Ok(m) => b.tracker(m),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    gaze_closed = true;
                    break;
                }
            }
            span.took(&b.gaze[before..]);
            got += 1;
        }
        trace.received(&b.gaze[before..]);
        loop {
            match ctl.try_recv() {
                Ok(r) => b.session(Some(r)),
                Err(TryRecvError::Disconnected) => {
                    b.session(None);
                    break;
                }
                Err(TryRecvError::Empty) => break,
            }
            got += 1;
        }
        dirty |= got > 0;
        let dropped = gaze.dropped();
        if dropped > dropped_reported {
            let ts = b.gaze.last().map_or(0, |s| s.system_ts_us);
            b.events.push(EventRecord::new(
                ts,
                kind::SAMPLES_DROPPED,
                -1,
                format!(
                    "{} samples dropped: the recorder fell behind the tracker",
                    dropped - dropped_reported
                ),
            ));
            dropped_reported = dropped;
        }
        if b.out_of_range > out_of_range_reported {
            b.events.push(EventRecord::new(
                b.newest_ts(),
                kind::SAMPLES_DROPPED,
                -1,
                format!(
                    "{} samples refused: their tracker time stamps are beyond ±2^53 µs",
                    b.out_of_range - out_of_range_reported
                ),
            ));
            out_of_range_reported = b.out_of_range;
        }
        dirty |= b.watch();
        if b.gaze.len() >= policy.max_batch {
            b.write(&mut w, policy.tap.as_ref())?;
        }
        if let Some(complete) = b.finish {
            // Drain what the stopped tracker left; a tracker that was never stopped cannot
            // hold the file open for more than a moment.
            let since = *finish_since.get_or_insert_with(Instant::now);
            if gaze_closed || rx.is_empty() || since.elapsed() > Duration::from_secs(2) {
                let watch = b.watch_end(&mut w);
                b.lsl_end();
                b.write(&mut w, policy.tap.as_ref())?;
                let counts = w.finish(complete)?;
                if let Some(o) = b.lsl.take() {
                    o.close();
                }
                return Ok(RecorderStats {
                    counts,
                    samples_dropped: dropped_reported,
                    flushes: flushes + 1,
                    watch,
                });
            }
            continue;
        }
        if dirty && (last_flush.elapsed() >= policy.flush_every || span.due(policy.flush_span_us)) {
            b.write(&mut w, policy.tap.as_ref())?;
            if last_sync.elapsed() >= policy.fsync_every {
                w.sync()?;
                last_sync = Instant::now();
            } else {
                w.flush()?;
            }
            flushes += 1;
            last_flush = Instant::now();
            dirty = false;
            span = UnflushedSpan::default();
            trace.line("flushed", b.last_ts.as_slice());
            if let Some(log) = &policy.flush_log {
                let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
                l.push((et_drivers::clock::monotonic_now_us(), w.counts().gaze));
            }
        }
        if got == 0 {
            // Nothing waiting: sleep until something arrives or the next flush is due.
            let wait = policy
                .flush_every
                .saturating_sub(last_flush.elapsed())
                .max(Duration::from_millis(1));
            crossbeam_channel::select! {
                recv(rx) -> m => match m {
                    Ok(m) => {
                        let before = b.gaze.len();
                        b.tracker(m);
                        span.took(&b.gaze[before..]);
                        trace.received(&b.gaze[before..]);
                        dirty = true;
                    }
                    // The tracker side is gone; wait for the session to finish.
                    Err(_) => std::thread::sleep(wait.min(Duration::from_millis(5))),
                },
                recv(ctl) -> r => { b.session(r.ok()); dirty = true; },
                default(wait) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use et_drivers::{sample_channel, EyeSample};
    use et_recording::format::RecordingHeader;
    use et_recording::reader::Recording;

    #[test]
    fn overflow_is_recorded_as_a_samples_dropped_event() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.h5");
        let w = RecordingWriter::create(&p, &RecordingHeader::new("P", "1"), None).unwrap();
        let (tx, rx) = sample_channel(4);
        // Fill the channel before the recorder drains it: a real-time producer drops the rest.
        for k in 0..10 {
            let s = GazeSample {
                system_ts_us: k,
                device_ts_us: k,
                left: EyeSample::INVALID,
                right: EyeSample::INVALID,
            };
            tx.try_push(s).unwrap();
        }
        let rec = spawn_recorder(w, rx, FlushPolicy::default()).unwrap();
        drop(tx);
        let stats = rec.finish(true).unwrap();
        assert_eq!(stats.samples_dropped, 6);
        let r = Recording::open(&p).unwrap();
        assert_eq!(r.gaze.len(), 4);
        let e = r
            .events
            .iter()
            .find(|e| e.kind == "samples_dropped")
            .unwrap();
        assert!(e.text.starts_with("6 samples dropped"), "{}", e.text);
    }

    /// A recorder starved of the CPU finds seconds of samples waiting: it must flush them in
    /// slices of the flush span (tracker time), not hold them all until its wall-clock flush.
    #[test]
    fn a_backlog_is_flushed_in_slices_of_the_flush_span() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.h5");
        let w = RecordingWriter::create(&p, &RecordingHeader::new("P", "1"), None).unwrap();
        let (tx, rx) = sample_channel(1024);
        let period = 8_333;
        for k in 0..240 {
            let s = GazeSample {
                system_ts_us: k * period,
                device_ts_us: k * period,
                left: EyeSample::INVALID,
                right: EyeSample::INVALID,
            };
            tx.try_push(s).unwrap();
        }
        let log = FlushLog::default();
        let policy = FlushPolicy {
            // The wall-clock flush never comes due in this test: only the span can flush.
            flush_every: Duration::from_secs(3600),
            fsync_every: Duration::from_secs(3600),
            flush_log: Some(log.clone()),
            ..FlushPolicy::default()
        };
        let rec = spawn_recorder(w, rx, policy).unwrap();
        let flushed = |l: &FlushLog| l.lock().unwrap().last().map_or(0, |e| e.1);
        // Each flush adds samples spanning at most the flush span plus one period; all but
        // the last, unfinished slice are flushed.
        let most = (FLUSH_SPAN_US / period + 2) as usize;
        let enough = 240 - most;
        // Not a time bound: a hang guard only a recorder that never flushes reaches.
        let t0 = Instant::now();
        while flushed(&log) < enough && t0.elapsed() < Duration::from_secs(120) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let rows: Vec<usize> = log.lock().unwrap().iter().map(|e| e.1).collect();
        drop(tx);
        rec.finish(true).unwrap();
        assert!(
            rows.last().is_some_and(|&n| n >= enough),
            "the backlog was not flushed by tracker time: {rows:?}"
        );
        let mut prev = 0;
        for &n in &rows {
            assert!(
                n - prev <= most,
                "a flush of {} samples: {rows:?}",
                n - prev
            );
            prev = n;
        }
    }

    #[test]
    fn samples_with_impossible_time_stamps_are_refused_and_the_file_stays_readable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.h5");
        let w = RecordingWriter::create(&p, &RecordingHeader::new("P", "1"), None).unwrap();
        let (tx, rx) = sample_channel(64);
        let rec = spawn_recorder(w, rx, FlushPolicy::default()).unwrap();
        for ts in [8_333, i64::MAX - 5, 16_667, i64::MIN, 25_000] {
            let s = GazeSample {
                system_ts_us: ts,
                device_ts_us: 0,
                left: EyeSample::INVALID,
                right: EyeSample::INVALID,
            };
            tx.try_push(s).unwrap();
        }
        drop(tx);
        rec.finish(true).unwrap();
        let r = Recording::open(&p).unwrap();
        let ts: Vec<i64> = r.gaze.iter().map(|s| s.system_ts_us).collect();
        assert_eq!(ts, [8_333, 16_667, 25_000]);
        let e = r
            .events
            .iter()
            .find(|e| e.kind == "samples_dropped")
            .unwrap();
        assert!(e.text.starts_with("2 samples refused"), "{}", e.text);
    }

    #[test]
    fn records_sent_after_samples_are_all_written_on_finish() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.h5");
        let w = RecordingWriter::create(&p, &RecordingHeader::new("P", "1"), None).unwrap();
        let (tx, rx) = sample_channel(100_000);
        let rec = spawn_recorder(w, rx, FlushPolicy::default()).unwrap();
        for k in 0..50_000 {
            let s = GazeSample {
                system_ts_us: k,
                device_ts_us: k,
                left: EyeSample::INVALID,
                right: EyeSample::INVALID,
            };
            tx.push_wait(s).unwrap();
        }
        for k in 0..100 {
            rec.send(Record::Frame(FrameRecord { ts_us: k, trial: 0 }))
                .unwrap();
        }
        drop(tx);
        let stats = rec.finish(false).unwrap();
        assert_eq!(stats.counts.gaze, 50_000);
        assert_eq!(stats.counts.frames, 100);
        let r = Recording::open(&p).unwrap();
        assert!(!r.header.complete);
        assert!(r
            .gaze
            .iter()
            .enumerate()
            .all(|(i, s)| s.system_ts_us == i as i64));
    }
}
