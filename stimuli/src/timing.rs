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
        measured_hz: if median > 0.0 {
            1000.0 / median
        } else {
            f64::INFINITY
        },
        dropped: timing.dropped,
        unpaced,
    })
}

/// Whether a display paces presentation (holds each frame until a vsync), judged from the
/// intervals (µs) between frames presented back to back without the program holding any.
///
/// A paced display puts every frame on its refresh grid: intervals are whole periods (one, or
/// more when the GPU is late), give or take the time the program takes to wake. A display that
/// does not pace (a virtual X server) shows a frame as soon as it is drawn: intervals are the
/// drawing time, far shorter than a period on a fast GPU and anywhere between grid lines on a
/// slow one, and loaded machines make that worse, not better. So: the display does not pace when
/// the median interval is under half a period, or when the median distance from the nearest
/// whole number of periods exceeds 15 % of a period (a uniform spread has 25 %; wake-up jitter
/// of a few ms on a paced 60 Hz display stays under 10 %). `None` with fewer than 10 intervals.
pub fn display_paces(intervals_us: &[f64], period_us: f64) -> Option<bool> {
    if intervals_us.len() < 10 || !(period_us.is_finite() && period_us > 0.0) {
        return None;
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    if median(intervals_us.to_vec()) < 0.5 * period_us {
        return Some(false);
    }
    let off_grid: Vec<f64> = intervals_us
        .iter()
        .map(|d| {
            let periods = d / period_us;
            (periods - periods.round().max(1.0)).abs()
        })
        .collect();
    Some(median(off_grid) <= 0.15)
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

    #[test]
    fn pacing_is_told_from_the_grid_not_from_the_speed() {
        let p = 16_667.0;
        // A paced display: whole periods with wake-up jitter, some late frames of 2 periods.
        let paced: Vec<f64> = (0..30)
            .map(|k| {
                let jitter = [0.0, 900.0, -700.0, 1500.0, -300.0][k % 5];
                if k % 7 == 3 {
                    2.0 * p + jitter
                } else {
                    p + jitter
                }
            })
            .collect();
        assert_eq!(display_paces(&paced, p), Some(true));
        // Unpaced and fast: 2 ms per frame.
        assert_eq!(display_paces(&[2_000.0; 30], p), Some(false));
        // Unpaced and slow (a CPU renderer on a loaded machine): 9-31 ms, off the grid.
        let slow: Vec<f64> = (0..30)
            .map(|k| 9_000.0 + (k * 7_919 % 22_000) as f64)
            .collect();
        assert_eq!(display_paces(&slow, p), Some(false));
        assert_eq!(display_paces(&paced[..5], p), None);
    }
}
