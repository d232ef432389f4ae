//! The silence watch: for every tracker alike, a stretch without gaze samples longer than the
//! threshold is recorded as `tracker_lost` at the stamp of the last sample before it (or the
//! start of streaming) and `tracker_back` at the stamp of the first sample after it.
//!
//! Silence is judged against the samples' own time stamps, so an accelerated run can neither
//! fake it (a simulated tracker's thread running late) nor hide it (a clock running ahead): a
//! gap between two stamps, or between the last stamp and the end of the session, is silence
//! whatever the threads did. The end is where the session stopped streaming, not when the
//! recorder hears of it: shutting the tracker and the rest down may take any time on a busy
//! machine. In real time the watch also looks at the session clock while the tracker is
//! silent, so `tracker_lost` is written (and the session sees it) as soon as the gap passes
//! the threshold, not only once samples come back. A tracker that says its data has ended (a
//! replay at the end of its recording, `replay_end`) is not silent afterwards.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::Arc;

/// What a session does when its tracker falls silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnSilence {
    /// Hold before the next trial on a "tracker silent" screen until gaze comes back (the
    /// session then goes on by itself) or the operator goes on without it or aborts.
    Pause,
    /// Go on presenting and recording; the silence is reported at the end.
    Continue,
    /// End the session at once, closed as incomplete.
    Abort,
}

use et_drivers::tracker::FIRST_SAMPLE_WITHIN_US;
use et_drivers::Clock;

use et_recording::format::{kind, EventRecord, SAMPLES_CAME_LATE};

/// The smallest threshold a study may set (ms): below it, ordinary delivery jitter of a real
/// tracker (bursts of samples 50 ms apart) would pass for silence.
pub const MIN_SILENCE_MS: u32 = 80;

/// What the watch knows, read by the session side from any thread; the watch alone writes it.
#[derive(Debug)]
pub struct SilenceState {
    threshold_us: i64,
    /// Where streaming started: the time the first sample is expected from.
    start_us: i64,
    /// The newest sample's stamp (`i64::MIN`: none yet).
    newest: AtomicI64,
    silent: AtomicBool,
    ended: AtomicBool,
    stretches: AtomicU32,
    silent_us: AtomicI64,
}

impl SilenceState {
    /// The tracker is silent now (real time: noticed live; otherwise a gap the stamps proved
    /// and samples have not yet ended).
    pub fn silent(&self) -> bool {
        self.silent.load(Ordering::Acquire)
    }

    /// Stretches of silence recorded so far.
    pub fn stretches(&self) -> u32 {
        self.stretches.load(Ordering::Acquire)
    }

    /// Total silence recorded so far (ms).
    pub fn silent_ms(&self) -> f64 {
        self.silent_us.load(Ordering::Acquire) as f64 / 1000.0
    }

    /// The newest sample's stamp; `None` before any.
    pub fn newest(&self) -> Option<i64> {
        Some(self.newest.load(Ordering::Acquire)).filter(|&ts| ts != i64::MIN)
    }

    /// The tracker said its data has ended (a replay at its recording's end).
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Whether the samples the watch has seen leave a gap up to `now_us` longer than allowed:
    /// silence, once `now_us` is the time no later sample can precede.
    pub fn overdue(&self, now_us: i64) -> bool {
        let (from, allowed) = self.since();
        now_us.saturating_sub(from) > allowed
    }

    /// The stamp silence is counted from, and how long it may last before it is silence.
    fn since(&self) -> (i64, i64) {
        match self.newest.load(Ordering::Acquire) {
            i64::MIN => (self.start_us, self.threshold_us.max(FIRST_SAMPLE_WITHIN_US)),
            ts => (ts, self.threshold_us),
        }
    }
}

/// The watch, owned by the recorder thread.
pub struct SilenceWatch {
    clock: Arc<dyn Clock>,
    /// `tracker_lost` written live, at this stamp, and no sample since.
    lost_at: Option<i64>,
    /// Where the session stopped streaming: no silence is judged past it.
    stream_end: Option<i64>,
    state: Arc<SilenceState>,
}

impl SilenceWatch {
    /// A watch from `start_us` on `clock` (the session's), with `threshold_ms` (at least
    /// [`MIN_SILENCE_MS`]).
    pub fn new(threshold_ms: u32, clock: Arc<dyn Clock>, start_us: i64) -> Self {
        SilenceWatch {
            clock,
            lost_at: None,
            stream_end: None,
            state: Arc::new(SilenceState {
                threshold_us: i64::from(threshold_ms.max(MIN_SILENCE_MS)) * 1000,
                start_us,
                newest: AtomicI64::new(i64::MIN),
                silent: AtomicBool::new(false),
                ended: AtomicBool::new(false),
                stretches: AtomicU32::new(0),
                silent_us: AtomicI64::new(0),
            }),
        }
    }

    /// The session clock the watch judges on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn state(&self) -> Arc<SilenceState> {
        Arc::clone(&self.state)
    }

    /// A sample stamped `ts` arrived: a gap before it longer than allowed is recorded.
    pub fn sample(&mut self, ts: i64, out: &mut Vec<EventRecord>) {
        let (from, allowed) = self.state.since();
        let gap = ts.saturating_sub(from);
        if gap > allowed {
            if self.lost_at.is_none() {
                out.push(lost(from, gap));
            }
            out.push(EventRecord::new(
                ts,
                kind::TRACKER_BACK,
                -1,
                format!("gaze resumed after {:.1} ms without samples", ms(gap)),
            ));
            self.count(gap);
        } else if self.lost_at.is_some() {
            // Noticed live, but the stamps show no gap: the samples came late, not missing.
            out.push(EventRecord::new(
                ts,
                kind::TRACKER_BACK,
                -1,
                format!(
                    "gaze resumed: {SAMPLES_CAME_LATE}; their stamps leave no gap over {} ms",
                    self.state.threshold_us / 1000
                ),
            ));
        }
        self.lost_at = None;
        self.state.silent.store(false, Ordering::Release);
        self.state.newest.fetch_max(ts, Ordering::AcqRel);
    }

    /// In real time: writes `tracker_lost` once the session clock has gone past the threshold
    /// without a sample. Nothing on a virtual clock (its stamps decide, in `sample`/`finish`).
    pub fn check(&mut self, out: &mut Vec<EventRecord>) {
        if self.state.ended() || self.lost_at.is_some() || self.clock.is_virtual() {
            return;
        }
        let now = self.clock.now_us();
        let now = self.stream_end.map_or(now, |end| now.min(end));
        if self.state.overdue(now) {
            let from = self.state.since().0;
            out.push(lost(from, now.saturating_sub(from)));
            self.lost_at = Some(from);
            self.state.silent.store(true, Ordering::Release);
        }
    }

    /// The session stops streaming at `end_us`: the time after it, while the tracker and the
    /// rest shut down, is not silence.
    pub fn stream_ends(&mut self, end_us: i64) {
        self.stream_end = Some(end_us);
    }

    /// The tracker says no more samples will come (`replay_end`).
    pub fn end_of_data(&mut self) {
        self.state.ended.store(true, Ordering::Release);
        self.state.silent.store(false, Ordering::Release);
    }

    /// The session ends at `end_us`: silence up to it is recorded (a `tracker_lost` with no
    /// `tracker_back` lasts to the end). Returns the total silence (ms).
    pub fn finish(&mut self, end_us: i64, out: &mut Vec<EventRecord>) -> f64 {
        let (from, allowed) = self.state.since();
        let gap = end_us.saturating_sub(from);
        if !self.state.ended() && gap > allowed {
            if self.lost_at.is_none() {
                out.push(lost(from, gap));
            }
            self.count(gap);
        }
        self.state.silent_ms()
    }

    fn count(&self, gap_us: i64) {
        self.state.stretches.fetch_add(1, Ordering::AcqRel);
        self.state.silent_us.fetch_add(gap_us, Ordering::AcqRel);
    }
}

fn ms(us: i64) -> f64 {
    us as f64 / 1000.0
}

fn lost(from: i64, gap: i64) -> EventRecord {
    EventRecord::new(
        from,
        kind::TRACKER_LOST,
        -1,
        format!("no gaze samples for {:.1} ms from here", ms(gap)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use et_drivers::ManualClock;

    fn watch(clock: Arc<dyn Clock>) -> SilenceWatch {
        SilenceWatch::new(80, clock, 0)
    }

    fn kinds(ev: &[EventRecord]) -> Vec<(i64, &str)> {
        ev.iter().map(|e| (e.ts_us, e.kind.as_str())).collect()
    }

    #[test]
    fn a_gap_in_the_stamps_is_recorded_at_the_samples_around_it() {
        let mut w = watch(Arc::new(ManualClock::new(0)));
        let mut ev = Vec::new();
        for ts in (0..1_000_000).step_by(8_333).chain([3_000_000, 3_008_333]) {
            w.sample(ts, &mut ev);
        }
        let last_before = (0..1_000_000).step_by(8_333).last().unwrap();
        assert_eq!(
            kinds(&ev),
            [(last_before, "tracker_lost"), (3_000_000, "tracker_back")]
        );
        assert_eq!(w.state().stretches(), 1);
        assert_eq!(
            w.finish(3_010_000, &mut ev),
            (3_000_000 - last_before) as f64 / 1000.0
        );
    }

    #[test]
    fn gaps_within_the_threshold_are_not_silence() {
        let mut w = watch(Arc::new(ManualClock::new(0)));
        let mut ev = Vec::new();
        for ts in (0..2_000_000).step_by(50_000) {
            w.sample(ts, &mut ev);
        }
        assert_eq!(w.finish(2_000_000, &mut ev), 0.0);
        assert!(ev.is_empty(), "{ev:?}");
    }

    #[test]
    fn a_tracker_silent_from_the_start_is_silent_to_the_end() {
        let clock = Arc::new(ManualClock::new(0));
        let mut w = watch(clock.clone());
        let mut ev = Vec::new();
        clock.advance_to(60_000_000);
        w.check(&mut ev);
        assert!(ev.is_empty(), "a virtual clock is judged by stamps only");
        assert_eq!(w.finish(60_000_000, &mut ev), 60_000.0);
        assert_eq!(kinds(&ev), [(0, "tracker_lost")]);
    }

    #[test]
    fn the_first_sample_may_take_a_moment() {
        let mut w = watch(Arc::new(ManualClock::new(0)));
        let mut ev = Vec::new();
        w.sample(400_000, &mut ev);
        w.sample(408_333, &mut ev);
        assert!(ev.is_empty(), "{ev:?}");
    }

    /// In real time, a sample at `t0` and then none for ≥ 100 ms (however long the machine
    /// takes, the check comes after that), checked once.
    fn noticed_live() -> (Arc<dyn Clock>, i64, SilenceWatch, Vec<EventRecord>) {
        let clock: Arc<dyn Clock> = Arc::new(et_drivers::MonotonicClock);
        let t0 = clock.now_us();
        let mut w = SilenceWatch::new(80, Arc::clone(&clock), t0);
        let mut ev = Vec::new();
        w.sample(t0, &mut ev);
        std::thread::sleep(std::time::Duration::from_millis(100));
        w.check(&mut ev);
        (clock, t0, w, ev)
    }

    #[test]
    fn real_time_silence_is_written_when_noticed_and_ends_with_the_next_sample() {
        let (clock, t0, mut w, mut ev) = noticed_live();
        assert_eq!(kinds(&ev), [(t0, "tracker_lost")]);
        assert!(w.state().silent());
        w.check(&mut ev);
        assert_eq!(ev.len(), 1, "written once");
        let back = clock.now_us();
        w.sample(back, &mut ev);
        assert_eq!(kinds(&ev)[1], (back, "tracker_back"));
        assert!(!w.state().silent());
        assert_eq!(w.state().stretches(), 1);
    }

    #[test]
    fn late_samples_noticed_live_are_not_counted_as_silence() {
        let (_, t0, mut w, mut ev) = noticed_live();
        // The sample that follows was taken 8 ms after the last: it came late.
        w.sample(t0 + 8_333, &mut ev);
        assert_eq!(ev[1].kind, "tracker_back");
        assert!(ev[1].text.contains("came late"), "{}", ev[1].text);
        assert_eq!(w.state().stretches(), 0);
    }

    #[test]
    fn after_the_end_of_a_replay_nothing_is_silence() {
        let mut w = watch(Arc::new(ManualClock::new(0)));
        let mut ev = Vec::new();
        w.sample(0, &mut ev);
        w.end_of_data();
        assert_eq!(w.finish(10_000_000, &mut ev), 0.0);
        assert!(ev.is_empty());
    }
}
