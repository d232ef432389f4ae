//! The display a session draws on: the presenter's window, or a simulated display (frame k at
//! t0 + k/refresh on the session clock) for headless and accelerated runs. Both report each
//! frame's time stamp on the tracker's clock and count the refreshes that were missed.

use std::collections::BTreeSet;
use std::sync::Arc;

use et_drivers::Clock;
use et_present::timing::FrameTiming;
use et_present::{OperatorKey, Presenter, Screen};

use crate::error::{Result, SessionError};

enum Kind<'a> {
    Simulated {
        t0: i64,
        /// Index of the next vsync.
        k: u64,
        /// Vsyncs the simulated display misses (the frame waits for the next one).
        missed: BTreeSet<u64>,
    },
    Window {
        presenter: &'a Presenter,
        last: Option<i64>,
        /// The latest frame intervals (µs), newest last: how long frames take to draw.
        intervals: std::collections::VecDeque<i64>,
        /// The end of the last screen that had its periods: its successor's first frame must
        /// not go out before it (a display that does not pace would show it at once).
        release: Option<i64>,
    },
}

pub(crate) struct Display<'a> {
    clock: Arc<dyn Clock>,
    period_us: f64,
    pub(crate) timing: FrameTiming,
    kind: Kind<'a>,
}

/// One screen's span: it lasts `n` refresh periods from its first frame.
pub(crate) struct Span {
    n: u32,
    end_k: u64,
    pub(crate) onset: Option<i64>,
}

impl<'a> Display<'a> {
    pub(crate) fn simulated(
        clock: Arc<dyn Clock>,
        refresh_hz: f64,
        missed: impl IntoIterator<Item = u64>,
    ) -> Display<'a> {
        let t0 = clock.now_us();
        Display {
            clock,
            period_us: 1e6 / refresh_hz,
            timing: FrameTiming::new(refresh_hz),
            kind: Kind::Simulated {
                t0,
                k: 0,
                missed: missed.into_iter().collect(),
            },
        }
    }

    pub(crate) fn window(
        clock: Arc<dyn Clock>,
        refresh_hz: f64,
        presenter: &'a Presenter,
    ) -> Display<'a> {
        Display {
            clock,
            period_us: 1e6 / refresh_hz,
            timing: FrameTiming::new(refresh_hz),
            kind: Kind::Window {
                presenter,
                last: None,
                intervals: std::collections::VecDeque::with_capacity(DRAW_HISTORY),
                release: None,
            },
        }
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) fn refresh_hz(&self) -> f64 {
        1e6 / self.period_us
    }

    /// Plans with a measured refresh rate from now on.
    pub(crate) fn set_refresh_hz(&mut self, hz: f64) {
        self.period_us = 1e6 / hz;
        self.timing = FrameTiming::new(hz);
    }

    /// When the next frame is expected.
    pub(crate) fn next_ts(&self) -> i64 {
        match &self.kind {
            Kind::Simulated { t0, k, .. } => {
                let k = next_vsync(self.clock.as_ref(), self.period_us, *t0, *k);
                t0 + (k as f64 * self.period_us).round() as i64
            }
            Kind::Window { last, .. } => match last {
                Some(l) => l + self.period_us.round() as i64,
                None => self.clock.now_us(),
            },
        }
    }

    pub(crate) fn begin(&mut self, n: u32) -> Span {
        self.timing.reset_counts();
        let end_k = match &self.kind {
            Kind::Simulated { k, .. } => k + u64::from(n),
            Kind::Window { .. } => 0,
        };
        Span {
            n,
            end_k,
            onset: None,
        }
    }

    /// Whether the screen has had its refresh periods. Frames the display misses shorten what
    /// is shown, not how long: once a window's screen is done, the next frame is held until
    /// the screen's onset + n periods.
    pub(crate) fn done(&mut self, span: &Span) -> bool {
        let period_us = self.period_us;
        let now = self.clock.now_us();
        match (&mut self.kind, span.onset) {
            (Kind::Simulated { k, .. }, _) => *k >= span.end_k,
            (
                Kind::Window {
                    presenter,
                    last,
                    intervals,
                    release,
                },
                Some(onset),
            ) => {
                let Some(last) = *last else { return false };
                // A display that does not pace shows a frame when it is drawn, which may take
                // as long as the slowest recent frame did.
                let draw = intervals
                    .iter()
                    .max()
                    .filter(|_| presenter.self_paced())
                    .map(|i| (*i as f64).max(period_us));
                let done = stamped_span_done(onset, last, now, span.n, period_us, draw);
                if done {
                    *release = Some(span_end(onset, span.n, period_us));
                }
                done
            }
            (Kind::Window { .. }, None) => false,
        }
    }

    /// Shows `screen` on the next refresh and returns that frame's time stamp, or `None` when
    /// the (simulated) display misses this vsync and the previous frame stays up.
    pub(crate) async fn frame(&mut self, screen: &Screen) -> Result<Option<i64>> {
        let ts = match &mut self.kind {
            Kind::Simulated { t0, k, missed } => {
                *k = next_vsync(self.clock.as_ref(), self.period_us, *t0, *k);
                if missed.contains(k) {
                    *k += 1;
                    return Ok(None);
                }
                let ts = *t0 + (*k as f64 * self.period_us).round() as i64;
                let pace = self.clock.pace_delay(ts);
                if !pace.is_zero() {
                    tokio::time::sleep(pace).await;
                }
                match self.clock.real_delay_until(ts) {
                    Some(d) if !d.is_zero() => tokio::time::sleep(d).await,
                    Some(_) => {}
                    None => self.clock.advance_to(ts),
                }
                *k += 1;
                ts
            }
            Kind::Window {
                presenter,
                last,
                intervals,
                release,
            } => {
                let held = release.take();
                let f = presenter
                    .present(screen, held)
                    .map_err(|e| SessionError::Display(e.to_string()))?;
                // A frame held for the end of a screen says nothing about drawing times, nor
                // does a long pause of the runner's between frames.
                let interval = last.map(|l| f.ts_us.saturating_sub(l));
                if let (Some(i), None) = (interval, held) {
                    if (i as f64) <= 4.0 * self.period_us {
                        if intervals.len() == DRAW_HISTORY {
                            intervals.pop_front();
                        }
                        intervals.push_back(i);
                    }
                }
                *last = Some(f.ts_us);
                // The presenter call blocks for up to a refresh period: let the signal and
                // key tasks run between frames.
                tokio::task::yield_now().await;
                f.ts_us
            }
        };
        self.timing.observe(ts);
        Ok(Some(ts))
    }

    /// The participant's window, when there is one.
    pub(crate) fn presenter(&self) -> Option<&'a Presenter> {
        match &self.kind {
            Kind::Window { presenter, .. } => Some(presenter),
            Kind::Simulated { .. } => None,
        }
    }

    /// Keys pressed in the participant's window since the last call.
    pub(crate) fn keys(&self) -> Vec<OperatorKey> {
        match &self.kind {
            Kind::Window { presenter, .. } => presenter.keys(),
            Kind::Simulated { .. } => Vec::new(),
        }
    }
}

/// The simulated display's next vsync index. A display on a clock that runs by itself does not
/// wait for a late program: the vsyncs that went by while the runner was busy are missed, and
/// the next frame goes out at the first vsync from now (on a driven clock the runner is never
/// late).
fn next_vsync(clock: &dyn Clock, period_us: f64, t0: i64, k: u64) -> u64 {
    let planned = t0 + (k as f64 * period_us).round() as i64;
    if clock.real_delay_until(planned).is_none() {
        return k;
    }
    let now = clock.now_us();
    if (now - planned) as f64 > period_us / 4.0 {
        ((now - t0) as f64 / period_us).ceil() as u64
    } else {
        k
    }
}

/// Frame intervals a window remembers to judge how long drawing takes.
const DRAW_HISTORY: usize = 8;

/// Whole refresh periods lasting `ms` at `refresh_hz` (at least one).
pub(crate) fn whole_frames(ms: u32, refresh_hz: f64) -> u32 {
    ((f64::from(ms) * refresh_hz / 1000.0).round() as u32).max(1)
}

/// A screen shown from `onset` for `n` refresh periods, whose latest frame went out at `last`,
/// is done when its next frame could go out no earlier than half a period before the screen's
/// end (half a period of slack for jitter): a period after `last` on a paced display (the frame
/// that would start period n + 1), or `now` when the runner is later than that. On a display
/// that does not pace, frames take `draw` µs (at least a period) to draw: the screen is done
/// when there is no time left to draw another of its frames and then the next screen's first.
fn stamped_span_done(
    onset: i64,
    last: i64,
    now: i64,
    n: u32,
    period_us: f64,
    draw: Option<f64>,
) -> bool {
    let next = (last as f64 + draw.unwrap_or(period_us)).max(now as f64);
    let from_onset = next - onset as f64;
    match draw {
        None => from_onset > (f64::from(n) - 0.5) * period_us,
        // 5 % of a period for stamps rounded to whole µs.
        Some(d) => from_onset + d > (f64::from(n) + 0.05) * period_us,
    }
}

/// When a screen shown from `onset` for `n` refresh periods ends.
fn span_end(onset: i64, n: u32, period_us: f64) -> i64 {
    onset.saturating_add((f64::from(n) * period_us).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use et_drivers::ManualClock;

    fn run(d: &mut Display<'_>, n: u32) -> (Option<i64>, u32, u32) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut span = d.begin(n);
            while !d.done(&span) {
                if let Some(ts) = d.frame(&Screen::Blank).await.unwrap() {
                    span.onset.get_or_insert(ts);
                }
            }
            (span.onset, d.timing.frames, d.timing.dropped)
        })
    }

    #[test]
    fn a_stimulus_spans_420_frames_at_60_hz_and_504_at_72() {
        for (hz, frames) in [(60.0, 420u32), (72.0, 504)] {
            let clock = Arc::new(ManualClock::new(1_000_000));
            let mut d = Display::simulated(clock, hz, []);
            // The onset is the first frame's stamp; the next screen starts 7 s later.
            let (onset, n, dropped) = run(&mut d, (7.0 * hz) as u32);
            assert_eq!((onset, n, dropped), (Some(1_000_000), frames, 0));
            assert_eq!(d.next_ts(), 8_000_000);
        }
    }

    #[test]
    fn a_missed_vsync_is_a_dropped_frame_and_the_span_keeps_its_length() {
        let clock = Arc::new(ManualClock::new(0));
        let mut d = Display::simulated(clock, 60.0, [5, 6, 100]);
        let (onset, n, dropped) = run(&mut d, 120);
        assert_eq!((onset, n, dropped), (Some(0), 117, 3));
        assert_eq!(d.next_ts(), 2_000_000);
    }

    /// A clock that runs by itself (like the monotonic or a scaled clock), set by the test.
    #[derive(Debug)]
    struct FreeClock(std::sync::atomic::AtomicI64);

    impl Clock for FreeClock {
        fn now_us(&self) -> i64 {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
        fn wait_until(&self, t_us: i64, _limit: std::time::Duration) -> bool {
            self.now_us() >= t_us
        }
        fn real_delay_until(&self, _t_us: i64) -> Option<std::time::Duration> {
            Some(std::time::Duration::ZERO)
        }
        fn is_virtual(&self) -> bool {
            true
        }
    }

    #[test]
    fn a_runner_late_on_a_free_running_clock_misses_vsyncs_instead_of_showing_the_past() {
        let clock = Arc::new(FreeClock(std::sync::atomic::AtomicI64::new(0)));
        let mut d = Display::simulated(clock.clone(), 60.0, []);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            assert_eq!(d.frame(&Screen::Blank).await.unwrap(), Some(0));
            // The runner is busy for 100 ms: six vsyncs go by. A scene published now starts at
            // the next vsync from now, not at the one that has passed.
            clock.0.store(100_000, std::sync::atomic::Ordering::SeqCst);
            assert_eq!(d.next_ts(), 100_000);
            assert_eq!(d.frame(&Screen::Blank).await.unwrap(), Some(100_000));
            assert_eq!(d.timing.dropped, 5);
            // A quarter period late is still on time (sleep overshoot).
            clock.0.store(
                100_000 + 16_667 + 3_000,
                std::sync::atomic::Ordering::SeqCst,
            );
            assert_eq!(d.frame(&Screen::Blank).await.unwrap(), Some(116_667));
        });
    }

    /// The window's rule, fed with flip stamps as a real display would give them (`paced`), or
    /// as one that shows each frame when it is drawn does.
    fn stamped(stamps: impl Iterator<Item = i64>, n: u32, hz: f64) -> (u32, u32, i64) {
        stamped_on(stamps, n, hz, true)
    }

    fn stamped_on(
        stamps: impl Iterator<Item = i64>,
        n: u32,
        hz: f64,
        paced: bool,
    ) -> (u32, u32, i64) {
        let p = 1e6 / hz;
        let mut timing = FrameTiming::new(hz);
        let mut onset = None;
        let mut last = 0;
        let mut interval = None;
        for ts in stamps {
            if let Some(o) = onset {
                let draw = interval.filter(|_| !paced).map(|i| p.max(i as f64));
                if stamped_span_done(o, last, last, n, p, draw) {
                    // `ts` is the next screen's first frame, held until the screen's end.
                    let next = ts.max(span_end(o, n, 1e6 / hz));
                    return (timing.frames, timing.dropped, next - o);
                }
            }
            if onset.is_some() {
                interval = Some(ts - last);
            }
            onset.get_or_insert(ts);
            timing.observe(ts);
            last = ts;
        }
        (timing.frames, timing.dropped, 0)
    }

    #[test]
    fn on_a_real_display_a_stimulus_lasts_its_periods_even_when_a_flip_is_late() {
        let p = 1e6 / 60.0;
        let at = |k: u64| (k as f64 * p).round() as i64;
        // Jittered but on time: 420 frames, none dropped, 7 s from onset to the next screen.
        let jitter = |k: u64| at(k) + if k.is_multiple_of(2) { 300 } else { -300 };
        let (frames, dropped, dur) = stamped((0..).map(jitter), 420, 60.0);
        assert_eq!((frames, dropped), (420, 0));
        assert!((dur - 7_000_000).abs() <= 600, "{dur}");
        // Flip 100 is late by a whole period (vsync 100 missed): 419 frames, 1 dropped, 7 s.
        let late = (0..).filter(|&k| k != 100).map(at);
        let (frames, dropped, dur) = stamped(late, 420, 60.0);
        assert_eq!((frames, dropped), (419, 1));
        assert!((dur - 7_000_000).abs() <= 1, "{dur}");
        // 72 Hz: 504 frames.
        let p72 = 1e6 / 72.0;
        let (frames, _, dur) = stamped((0..).map(|k| (k as f64 * p72).round() as i64), 504, 72.0);
        assert_eq!(frames, 504);
        assert!((dur - 7_000_000).abs() <= 1, "{dur}");
    }

    #[test]
    fn on_a_display_that_does_not_pace_a_stimulus_still_lasts_its_periods() {
        // Frames drawn every 10 ms and shown at once (a virtual display, CPU renderer): the
        // screen ends after its 9th period, not at the first frame past 7.5 periods.
        let (_, _, dur) = stamped_on((0..).map(|k| k * 10_000), 9, 60.0, false);
        assert_eq!(dur, 150_000);
        // Frames drawn in 24 ms (a loaded machine): no frame of this screen is drawn that would
        // leave no time to draw the next screen's first by the end; that goes out at the end.
        let (frames, _, dur) = stamped_on((0..).map(|k| k * 24_000), 9, 60.0, false);
        assert_eq!((frames, dur), (6, 150_000));
        // Drawn within a period: as many frames as the display's periods.
        let (frames, _, dur) = stamped_on((0..).map(|k| k * 16_667), 9, 60.0, false);
        assert_eq!(frames, 9);
        assert!((dur - 150_000).abs() <= 5, "{dur}");
        // Read as a paced display's flips, the same stamps would have had one more frame.
        let (frames, _, _) = stamped((0..).map(|k| k * 24_000), 9, 60.0);
        assert_eq!(frames, 7);
        // A runner that comes back late does not draw one more frame past the end.
        let p = 1e6 / 60.0;
        assert!(!stamped_span_done(0, 116_667, 116_667, 9, p, None));
        assert!(stamped_span_done(0, 116_667, 142_000, 9, p, None));
    }
}
