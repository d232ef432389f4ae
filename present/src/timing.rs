//! Frame timing: which presented frames came late. A frame presented more than 1.5 refresh
//! periods after the previous one means the display missed at least one vsync: the previous
//! image stayed up longer than planned. Fed with time stamps from any source (the real
//! presenter's flip times, or a simulated display), so it is tested without a display.

#[derive(Debug, Clone, PartialEq)]
pub struct FrameTiming {
    period_us: f64,
    last: Option<i64>,
    /// Missed refreshes so far.
    pub dropped: u32,
    pub frames: u32,
}

impl FrameTiming {
    pub fn new(refresh_hz: f64) -> Self {
        FrameTiming {
            period_us: 1e6 / refresh_hz,
            last: None,
            dropped: 0,
            frames: 0,
        }
    }

    /// Records a presented frame; returns how many refreshes were missed just before it.
    pub fn observe(&mut self, ts_us: i64) -> u32 {
        self.frames += 1;
        let missed = match self.last {
            Some(prev) => {
                let gap = (ts_us - prev) as f64;
                if gap > 1.5 * self.period_us {
                    ((gap / self.period_us).round() as u32)
                        .saturating_sub(1)
                        .max(1)
                } else {
                    0
                }
            }
            None => 0,
        };
        self.last = Some(ts_us);
        self.dropped += missed;
        missed
    }

    /// Starts counting afresh (per trial) but keeps the last frame time, so a frame missed
    /// right at the onset is still seen.
    pub fn reset_counts(&mut self) {
        self.dropped = 0;
        self.frames = 0;
    }
}

/// A summary of a run of presented frames, for checking a display before a session
/// (`et-suite display-check`).
#[derive(Debug, Clone, PartialEq)]
pub struct FrameStats {
    pub frames: usize,
    /// Intervals between consecutive frames (ms).
    pub median_ms: f64,
    pub mean_ms: f64,
    pub sd_ms: f64,
    pub min_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// 1000 / median interval.
    pub measured_hz: f64,
    /// Refreshes missed against `planned_hz` (the dropped-frame rule of `FrameTiming`).
    pub dropped: u32,
    /// Intervals shorter than half a planned period: frames the display did not wait for
    /// (no vsync pacing).
    pub unpaced: usize,
}

/// The refresh rate frames `stamps` (µs, increasing) show: 1 / the median interval, so a late
/// frame does not move it; `None` without two frames or outside 20–500 Hz (no display refreshes
/// so: frames that were not paced). The one estimate the session and `display-check` use.
pub fn refresh_hz(stamps: &[i64]) -> Option<f64> {
    let mut d: Vec<i64> = stamps.windows(2).map(|w| w[1] - w[0]).collect();
    if d.is_empty() {
        return None;
    }
    d.sort_unstable();
    let hz = 1e6 / d[d.len() / 2] as f64;
    (20.0..=500.0).contains(&hz).then_some(hz)
}

/// Frame statistics of `stamps` (µs, increasing) against a display planned at `planned_hz`;
/// `None` with fewer than two frames.
pub fn frame_stats(stamps: &[i64], planned_hz: f64) -> Option<FrameStats> {
    if stamps.len() < 2 || planned_hz.is_nan() || planned_hz <= 0.0 {
        return None;
    }
    let mut d: Vec<f64> = stamps
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / 1000.0)
        .collect();
    let n = d.len() as f64;
    let mean = d.iter().sum::<f64>() / n;
    let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    let period_ms = 1000.0 / planned_hz;
    let unpaced = d.iter().filter(|x| **x < 0.5 * period_ms).count();
    let mut timing = FrameTiming::new(planned_hz);
    for t in stamps {
        timing.observe(*t);
    }
    d.sort_by(f64::total_cmp);
    let at = |q: f64| d[((q * (d.len() - 1) as f64).round() as usize).min(d.len() - 1)];
    let median = at(0.5);
    Some(FrameStats {
        frames: stamps.len(),
        median_ms: median,
        mean_ms: mean,
        sd_ms: sd,
        min_ms: d[0],
        p99_ms: at(0.99),
        max_ms: d[d.len() - 1],
        // What the display refreshes at, by the session's own estimate (infinite when the
        // frames came faster than any display refreshes).
        measured_hz: refresh_hz(stamps).unwrap_or(if median > 0.0 {
            1000.0 / median
        } else {
            f64::INFINITY
        }),
        dropped: timing.dropped,
        unpaced,
    })
}

/// The widest phase spread (periods) a paced display shows: its frames sit on the grid, late
/// only by the program's wake-up (a few ms under load: under 0.1 at 60 Hz); frames that drift
/// across the grid spread to about 0.25.
const MAX_PACED_PHASE_SPREAD: f64 = 0.12;

/// What the pacing judgement saw, for the operator (`display-check` prints it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PacingEvidence {
    pub frames: usize,
    pub median_interval_us: f64,
    /// Median distance of the frames from their mean phase on the refresh grid (periods).
    pub phase_spread: f64,
    /// Median time a present kept the program (µs); NaN when not measured.
    pub median_blocked_us: f64,
    pub paces: bool,
}

impl std::fmt::Display for PacingEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pacing judged on {} frames: median interval {:.3} ms, phase spread {:.2} of a period, present waited {:.3} ms (median)",
            self.frames,
            self.median_interval_us / 1000.0,
            self.phase_spread,
            self.median_blocked_us / 1000.0
        )
    }
}

/// Whether a display paces presentation (holds each frame until a vsync), judged from the time
/// stamps (µs) of frames presented back to back without the program holding any, and how long
/// each present took until the next image could be drawn (`blocked_us`).
///
/// A paced display puts every frame on its refresh grid: a frame comes one period after the last
/// or, when the GPU was late, several, but always on the grid, give or take the time the program
/// takes to wake. A display that does not pace (a virtual X server) shows a frame as soon as it
/// is drawn: on a fast GPU far sooner than a period, on a slow or busy one after however long
/// drawing took, so the frames drift across the grid. Intervals alone cannot tell a busy CPU
/// renderer that takes about a period per frame from a paced display; the drift can. So: the
/// display does not pace when the median interval is under half a period, or when the frames'
/// phases on the grid (time since the first frame, modulo the period) spread: their median
/// distance from the mean phase exceeds 12 % of a period (a uniform spread gives 25 %; a paced
/// display's wake-up jitter of a few ms at 60 Hz stays well under). And a paced display makes
/// the program wait for the refresh in every present: when the median present returned within a
/// quarter of a period, nothing waited for a refresh. `None` with fewer than 10 intervals.
///
/// A display that reports no refresh rate of its own
/// (`rate_reported` false: a virtual X server reports none) must show its grid twice as
/// clearly to be taken as pacing frames.
pub fn pacing_evidence(
    stamps_us: &[i64],
    blocked_us: &[i64],
    period_us: f64,
    rate_reported: bool,
) -> Option<PacingEvidence> {
    if stamps_us.len() < 11 || !(period_us.is_finite() && period_us > 0.0) {
        return None;
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let median_interval_us = median(
        stamps_us
            .windows(2)
            .map(|w| w[1].saturating_sub(w[0]) as f64)
            .collect(),
    );
    let median_blocked_us = if blocked_us.is_empty() {
        f64::NAN
    } else {
        median(blocked_us.iter().map(|b| *b as f64).collect())
    };
    let tau = std::f64::consts::TAU;
    let phases: Vec<f64> = stamps_us
        .iter()
        .map(|t| (t.saturating_sub(stamps_us[0]) as f64 / period_us).rem_euclid(1.0))
        .collect();
    let (s, c) = phases.iter().fold((0.0, 0.0), |(s, c), p| {
        (s + (tau * p).sin(), c + (tau * p).cos())
    });
    let mean = s.atan2(c) / tau;
    let phase_spread = median(
        phases
            .iter()
            .map(|p| {
                let d = (p - mean).rem_euclid(1.0);
                d.min(1.0 - d)
            })
            .collect(),
    );
    let paces = median_interval_us >= 0.5 * period_us
        && phase_spread
            <= if rate_reported {
                MAX_PACED_PHASE_SPREAD
            } else {
                MAX_PACED_PHASE_SPREAD / 2.0
            }
        // NaN (not measured) does not count against pacing.
        && (median_blocked_us.is_nan() || median_blocked_us >= 0.25 * period_us);
    Some(PacingEvidence {
        frames: stamps_us.len(),
        median_interval_us,
        phase_spread,
        median_blocked_us,
        paces,
    })
}

/// What a display check concludes from its frames (`et-suite display-check`): the first of
/// these that holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DisplayVerdict {
    /// The display does not pace frames (the presenter found it so, or more than a tenth of
    /// the frames came off the refresh grid): onsets are not tied to the monitor.
    NotPaced,
    /// More than one frame in twenty missed its refresh.
    DropsFrames { measured_hz: f64, dropped: u32 },
    /// The rate differs from the planned one by more than 1 %.
    OtherRate { measured_hz: f64 },
    /// Frames come paced at the planned rate.
    Good,
}

impl DisplayVerdict {
    /// Judges `s`, measured while planning `planned_hz`; `self_paced` when the presenter held
    /// frames on the CPU clock itself.
    pub fn judge(s: &FrameStats, planned_hz: f64, self_paced: bool) -> Self {
        if self_paced || s.unpaced > s.frames / 10 {
            DisplayVerdict::NotPaced
        } else if s.dropped as usize > s.frames / 20 {
            DisplayVerdict::DropsFrames {
                measured_hz: s.measured_hz,
                dropped: s.dropped,
            }
        } else if (s.measured_hz - planned_hz).abs() / planned_hz > 0.01 {
            DisplayVerdict::OtherRate {
                measured_hz: s.measured_hz,
            }
        } else {
            DisplayVerdict::Good
        }
    }

    /// The verdict as the operator reads it.
    pub fn text(&self, planned_hz: f64) -> String {
        match *self {
            DisplayVerdict::NotPaced => "WARNING: the display does not pace frames (no vsync, e.g. a virtual X server); the presenter holds frames on the CPU clock, so onsets are not tied to the monitor. Do not record participants on it.".into(),
            DisplayVerdict::DropsFrames { measured_hz, dropped } => format!(
                "WARNING: frames come at {measured_hz:.3} Hz with {dropped} refreshes missed: the GPU does not draw a frame within a {planned_hz} Hz refresh at this size, or the display runs slower. Sessions would drop frames."
            ),
            DisplayVerdict::OtherRate { measured_hz } => format!(
                "WARNING: the display refreshes at {measured_hz:.3} Hz, not the study's {planned_hz} Hz; set [timing] refresh_hz (sessions plan with the measured rate and say so in the recording)."
            ),
            DisplayVerdict::Good => "the display paces frames at the study's rate".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_a_60_hz_run_with_one_missed_vsync_and_no_pacing() {
        // 601 frames at 60 Hz (16 667 µs), the frame after #300 one refresh late.
        let mut stamps: Vec<i64> = (0..601).map(|k| k * 16_667).collect();
        for s in stamps.iter_mut().skip(301) {
            *s += 16_667;
        }
        let f = frame_stats(&stamps, 60.0).unwrap();
        assert_eq!((f.frames, f.dropped, f.unpaced), (601, 1, 0));
        assert!((f.median_ms - 16.667).abs() < 1e-9 && (f.max_ms - 33.334).abs() < 1e-9);
        assert!((f.measured_hz - 59.9988).abs() < 1e-3);
        // A display that does not wait for vsync: 2 ms intervals.
        let fast: Vec<i64> = (0..100).map(|k| k * 2_000).collect();
        let f = frame_stats(&fast, 60.0).unwrap();
        assert_eq!((f.unpaced, f.dropped), (99, 0));
        assert!(frame_stats(&[5], 60.0).is_none());
    }

    #[test]
    fn late_frames_count_the_refreshes_they_missed() {
        let mut t = FrameTiming::new(60.0);
        let p = 16_667i64;
        assert_eq!(t.observe(0), 0);
        assert_eq!(t.observe(p), 0);
        // Jitter of 40 % of a period is not a drop; 1.6 periods is one; 3 periods is two.
        assert_eq!(t.observe(2 * p + p * 4 / 10), 0);
        let base = 2 * p + p * 4 / 10;
        assert_eq!(t.observe(base + p * 16 / 10), 1);
        let base = base + p * 16 / 10;
        assert_eq!(t.observe(base + 3 * p), 2);
        assert_eq!((t.dropped, t.frames), (3, 5));
        t.reset_counts();
        assert_eq!(t.observe(base + 4 * p), 0);
        assert_eq!((t.dropped, t.frames), (0, 1));
    }

    /// The judgement on a display that reports its refresh rate.
    fn display_paces(stamps_us: &[i64], blocked_us: &[i64], period_us: f64) -> Option<bool> {
        pacing_evidence(stamps_us, blocked_us, period_us, true).map(|e| e.paces)
    }

    #[test]
    fn pacing_is_told_from_the_grid_not_from_the_speed() {
        let p = 16_667.0;
        let stamps = |intervals: &[f64]| -> Vec<i64> {
            let mut t = 1_000_000.0;
            let mut v = vec![t as i64];
            for d in intervals {
                t += d;
                v.push(t as i64);
            }
            v
        };
        // A paced display: flips on the grid, late by up to 2 ms of wake-up, some frames a
        // refresh late.
        let paced: Vec<i64> = (0..31u32)
            .filter(|k| k % 7 != 3)
            .map(|k| {
                let late = [0.0, 900.0, 300.0, 2000.0, 100.0][k as usize % 5];
                (1_000_000.0 + f64::from(k) * p + late) as i64
            })
            .collect();
        assert_eq!(display_paces(&paced, &[], p), Some(true));
        // ... and it kept the program waiting for the refresh in each present.
        let waited = vec![9_000; paced.len()];
        assert_eq!(display_paces(&paced, &waited, p), Some(true));
        // Frames on the grid whose presents never waited did not wait for a refresh.
        let quick = vec![1_500; paced.len()];
        assert_eq!(display_paces(&paced, &quick, p), Some(false));
        // Unpaced and fast: 2 ms per frame.
        assert_eq!(display_paces(&stamps(&[2_000.0; 30]), &[], p), Some(false));
        // Unpaced and busy (a CPU renderer on a loaded machine): 14-18 ms per frame, each
        // interval within 15 % of a period, but the frames drift across the grid.
        let busy: Vec<f64> = (0..30)
            .map(|k| 14_000.0 + f64::from((k * 7_919) % 4_000))
            .collect();
        assert_eq!(display_paces(&stamps(&busy), &[], p), Some(false));
        // Unpaced and slow: 9-31 ms.
        let slow: Vec<f64> = (0..30)
            .map(|k| 9_000.0 + f64::from((k * 7_919) % 22_000))
            .collect();
        assert_eq!(display_paces(&stamps(&slow), &[], p), Some(false));
        assert_eq!(display_paces(&paced[..5], &[], p), None);
        // A spread of 0.08 periods passes on a display that reports its rate, not on one that
        // reports none.
        let loose: Vec<i64> = (0..31)
            .map(|k| (1_000_000.0 + f64::from(k) * p + [0.0, 2_700.0][k as usize % 2]) as i64)
            .collect();
        let e = pacing_evidence(&loose, &[], p, true).unwrap();
        assert!(e.paces && (e.phase_spread - 0.08).abs() < 0.01, "{e:?}");
        assert!(!pacing_evidence(&loose, &[], p, false).unwrap().paces);
    }

    #[test]
    fn refresh_rates_use_the_median_and_refuse_unpaced_frames() {
        let p = 16_667;
        let mut s: Vec<i64> = (0..30).map(|k| k * p).collect();
        s[10] += 9000; // one late frame does not move the median
        let hz = refresh_hz(&s).unwrap();
        assert!((hz - 60.0).abs() < 0.01, "{hz}");
        assert_eq!(frame_stats(&s, 60.0).unwrap().measured_hz, hz);
        let fast: Vec<i64> = (0..30).map(|k| k * 1500).collect();
        assert_eq!(refresh_hz(&fast), None);
        assert_eq!(refresh_hz(&[5]), None);
    }

    #[test]
    fn display_verdicts_take_their_thresholds_in_order() {
        let hz = 60.0;
        let stamps: Vec<i64> = (0..600).map(|k| k * 16_667).collect();
        let s = frame_stats(&stamps, hz).unwrap();
        assert_eq!(DisplayVerdict::judge(&s, hz, false), DisplayVerdict::Good);
        assert_eq!(
            DisplayVerdict::judge(&s, hz, true),
            DisplayVerdict::NotPaced
        );
        assert!(matches!(
            DisplayVerdict::judge(&s, 75.0, false),
            DisplayVerdict::OtherRate { .. }
        ));
        // One frame in ten twice as long: refreshes missed, beyond one in twenty.
        let mut t = 0;
        let late: Vec<i64> = (0..600)
            .map(|k| {
                t += if k % 10 == 9 { 33_333 } else { 16_667 };
                t
            })
            .collect();
        let s = frame_stats(&late, hz).unwrap();
        assert!(
            matches!(
                DisplayVerdict::judge(&s, hz, false),
                DisplayVerdict::DropsFrames { .. }
            ),
            "{s:?}"
        );
        assert!(DisplayVerdict::NotPaced.text(hz).starts_with("WARNING"));
    }
}
