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

#[cfg(test)]
mod tests {
    use super::*;

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
}
