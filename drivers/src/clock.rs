//! Session clocks. Every time stamp is i64 µs on the tracker's system clock (DESIGN.md "Time").
//!
//! Trackers *follow* a clock: they emit a sample once the clock has reached its time stamp.
//! Who moves the clock depends on the kind: the kernel (real time), a scaled copy of it
//! (N× replay), the session runner frame by frame (accelerated simulation), or the producer
//! itself (as-fast-as-possible replay with nobody else to wait for).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

pub trait Clock: Send + Sync {
    /// Current time in µs.
    fn now_us(&self) -> i64;

    /// Blocks until `now_us() >= t_us`, for at most `max_wait` of real time. Returns whether
    /// the time was reached, so a caller can check a stop flag between waits.
    fn wait_until(&self, t_us: i64, max_wait: Duration) -> bool;

    /// Real time left until `t_us`, or `None` for a clock that does not run on its own and has
    /// to be moved with [`Clock::advance_to`].
    fn real_delay_until(&self, t_us: i64) -> Option<Duration>;

    /// Moves a driven clock forward (never backward). No effect on clocks that run by themselves.
    fn advance_to(&self, _t_us: i64) {}

    /// Real time the driver of a paced clock ([`PacedClock`]) waits before moving it to `t_us`,
    /// so the simulation runs at its speed; zero for every other clock.
    fn pace_delay(&self, _t_us: i64) -> Duration {
        Duration::ZERO
    }

    /// True for virtual clocks, where a sample is never late and so must never be dropped.
    fn is_virtual(&self) -> bool;
}

/// `CLOCK_MONOTONIC` in µs: the clock the Tobii Pro SDK stamps `system_time_stamp` with on Linux.
pub fn monotonic_now_us() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_MONOTONIC always exists on Linux.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    ts.tv_sec * 1_000_000 + ts.tv_nsec / 1_000
}

fn sleep_up_to(left_us: i64, max_wait: Duration) -> bool {
    if left_us <= 0 {
        return true;
    }
    let left = Duration::from_micros(left_us as u64);
    std::thread::sleep(left.min(max_wait));
    left <= max_wait
}

/// Real time on `CLOCK_MONOTONIC`.
#[derive(Debug, Default, Clone, Copy)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    fn now_us(&self) -> i64 {
        monotonic_now_us()
    }
    fn wait_until(&self, t_us: i64, max_wait: Duration) -> bool {
        sleep_up_to(t_us - self.now_us(), max_wait) || self.now_us() >= t_us
    }
    fn real_delay_until(&self, t_us: i64) -> Option<Duration> {
        Some(Duration::from_micros((t_us - self.now_us()).max(0) as u64))
    }
    fn is_virtual(&self) -> bool {
        false
    }
}

/// Virtual time running `speed` times faster than `CLOCK_MONOTONIC`, starting at `origin_us`.
#[derive(Debug, Clone, Copy)]
pub struct ScaledClock {
    origin_us: i64,
    real_origin_us: i64,
    speed: f64,
}

impl ScaledClock {
    /// `speed` must be positive and finite; callers validate user input before this.
    pub fn new(origin_us: i64, speed: f64) -> Self {
        ScaledClock {
            origin_us,
            real_origin_us: monotonic_now_us(),
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
        }
    }
}

impl Clock for ScaledClock {
    fn now_us(&self) -> i64 {
        self.origin_us + ((monotonic_now_us() - self.real_origin_us) as f64 * self.speed) as i64
    }
    fn wait_until(&self, t_us: i64, max_wait: Duration) -> bool {
        let left_real = ((t_us - self.now_us()) as f64 / self.speed).ceil() as i64;
        sleep_up_to(left_real, max_wait) || self.now_us() >= t_us
    }
    fn real_delay_until(&self, t_us: i64) -> Option<Duration> {
        let left_real = ((t_us - self.now_us()) as f64 / self.speed).ceil() as i64;
        Some(Duration::from_micros(left_real.max(0) as u64))
    }
    fn is_virtual(&self) -> bool {
        true
    }
}

/// Virtual time moved by someone else (the session runner's frame clock when simulating
/// faster than real time). Followers block until it reaches their time.
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicI64,
    lock: Mutex<()>,
    moved: Condvar,
}

impl ManualClock {
    pub fn new(start_us: i64) -> Self {
        ManualClock {
            now: AtomicI64::new(start_us),
            lock: Mutex::new(()),
            moved: Condvar::new(),
        }
    }
}

impl Clock for ManualClock {
    fn now_us(&self) -> i64 {
        self.now.load(Ordering::Acquire)
    }
    fn wait_until(&self, t_us: i64, max_wait: Duration) -> bool {
        if self.now_us() >= t_us {
            return true;
        }
        // A poisoned lock only means another waiter panicked; the guarded data is `()`.
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let (_guard, _) = self
            .moved
            .wait_timeout_while(guard, max_wait, |_| self.now_us() < t_us)
            .unwrap_or_else(|e| e.into_inner());
        self.now_us() >= t_us
    }
    fn real_delay_until(&self, _t_us: i64) -> Option<Duration> {
        None
    }
    fn advance_to(&self, t_us: i64) {
        self.now.fetch_max(t_us, Ordering::AcqRel);
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.moved.notify_all();
    }
    fn is_virtual(&self) -> bool {
        true
    }
}

/// Virtual time moved by the session (like [`ManualClock`]) and paced to run `speed` times
/// faster than real time: the session waits [`Clock::pace_delay`] before each move. The
/// simulation is exactly what it is at `max` (the clock never runs ahead of it, whatever the
/// speed or the machine's load), only spread over real time.
#[derive(Debug)]
pub struct PacedClock {
    driven: ManualClock,
    /// Where the session should be by now at its speed (real time scaled).
    pace: ScaledClock,
}

impl PacedClock {
    /// `speed` must be positive and finite; callers validate user input before this.
    pub fn new(origin_us: i64, speed: f64) -> Self {
        PacedClock {
            driven: ManualClock::new(origin_us),
            pace: ScaledClock::new(origin_us, speed),
        }
    }
}

impl Clock for PacedClock {
    fn now_us(&self) -> i64 {
        self.driven.now_us()
    }
    fn wait_until(&self, t_us: i64, max_wait: Duration) -> bool {
        self.driven.wait_until(t_us, max_wait)
    }
    fn real_delay_until(&self, _t_us: i64) -> Option<Duration> {
        None
    }
    fn advance_to(&self, t_us: i64) {
        self.driven.advance_to(t_us);
    }
    fn pace_delay(&self, t_us: i64) -> Duration {
        self.pace.real_delay_until(t_us).unwrap_or(Duration::ZERO)
    }
    fn is_virtual(&self) -> bool {
        true
    }
}

/// Virtual time moved by its only follower: waiting for a time *is* reaching it. This is the
/// clock of an as-fast-as-possible replay.
#[derive(Debug)]
pub struct FreeRunningClock {
    now: AtomicI64,
}

impl FreeRunningClock {
    pub fn new(start_us: i64) -> Self {
        FreeRunningClock {
            now: AtomicI64::new(start_us),
        }
    }
}

impl Clock for FreeRunningClock {
    fn now_us(&self) -> i64 {
        self.now.load(Ordering::Acquire)
    }
    fn wait_until(&self, t_us: i64, _max_wait: Duration) -> bool {
        self.now.fetch_max(t_us, Ordering::AcqRel);
        true
    }
    fn real_delay_until(&self, t_us: i64) -> Option<Duration> {
        self.now.fetch_max(t_us, Ordering::AcqRel);
        Some(Duration::ZERO)
    }
    fn advance_to(&self, t_us: i64) {
        self.now.fetch_max(t_us, Ordering::AcqRel);
    }
    fn is_virtual(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn monotonic_is_monotonic_and_in_microseconds() {
        // The same clock as std's Instant (CLOCK_MONOTONIC): bounded by it on both sides, so
        // however long a busy machine sleeps, µs are told from ns and ms.
        let outer = std::time::Instant::now();
        let a = monotonic_now_us();
        std::thread::sleep(Duration::from_millis(5));
        let b = monotonic_now_us();
        let outer_us = outer.elapsed().as_micros() as i64;
        assert!(
            b - a >= 5_000 && b - a <= outer_us + 1,
            "{} vs {outer_us}",
            b - a
        );
    }

    #[test]
    fn manual_clock_wakes_followers_and_never_goes_back() {
        let c = Arc::new(ManualClock::new(0));
        let c2 = Arc::clone(&c);
        let t = std::thread::spawn(move || c2.wait_until(1_000, Duration::from_secs(5)));
        std::thread::sleep(Duration::from_millis(10));
        c.advance_to(1_000);
        assert!(t.join().unwrap());
        c.advance_to(500);
        assert_eq!(c.now_us(), 1_000);
        assert!(!c.wait_until(2_000, Duration::from_millis(1)));
    }

    #[test]
    fn scaled_clock_runs_faster() {
        let c = ScaledClock::new(1_000_000, 100.0);
        std::thread::sleep(Duration::from_millis(10));
        let elapsed = c.now_us() - 1_000_000;
        assert!(elapsed >= 1_000_000, "{elapsed}");
    }

    #[test]
    fn a_paced_clock_moves_only_when_driven_and_says_how_long_to_wait() {
        let c = PacedClock::new(1_000_000, 10.0);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.now_us(), 1_000_000, "it never runs by itself");
        assert_eq!(c.real_delay_until(2_000_000), None, "driven");
        // 1 s of virtual time at 10x is 100 ms of real time from the start.
        let d = c.pace_delay(2_000_000);
        assert!(
            d <= Duration::from_millis(100) && d > Duration::ZERO,
            "{d:?}"
        );
        c.advance_to(2_000_000);
        assert_eq!(c.now_us(), 2_000_000);
        assert_eq!(c.pace_delay(1_000_000), Duration::ZERO);
    }

    #[test]
    fn free_running_clock_reaches_what_it_waits_for() {
        let c = FreeRunningClock::new(0);
        assert!(c.wait_until(42, Duration::ZERO));
        assert_eq!(c.now_us(), 42);
    }
}
