//! The sampling rate of an export that does not state it: the mean interval over gap-free
//! stretches, snapped to the rates Tobii's trackers run at. The median interval alone fails on
//! exports with time stamps in whole milliseconds: a 300 Hz recording has intervals of 3, 3 and
//! 4 ms, whose median (3 ms) says 333 Hz.

/// Rates Tobii sells trackers at (Hz).
pub const TRACKER_RATES: [f64; 11] = [
    30.0, 40.0, 50.0, 60.0, 90.0, 120.0, 150.0, 250.0, 300.0, 600.0, 1200.0,
];

/// How far an estimate may be from a tracker rate and still be taken as that rate.
const SNAP_TOLERANCE: f64 = 0.05;

/// The estimate from sorted time stamps (µs): `None` with fewer than two distinct stamps.
pub fn estimate_hz(ts_us: &[i64]) -> Option<f64> {
    let mut steps: Vec<i64> = ts_us
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .filter(|d| *d > 0)
        .collect();
    if steps.is_empty() {
        return None;
    }
    steps.sort_unstable();
    let median = steps[steps.len() / 2] as f64;
    // Gap-free: an interval of more than 1.5 typical ones means samples are missing; whole-ms
    // rounding stays well inside that (4 ms against 3 at 300 Hz).
    let kept: Vec<f64> = steps
        .iter()
        .map(|d| *d as f64)
        .filter(|d| *d <= 1.5 * median)
        .collect();
    let mean = kept.iter().sum::<f64>() / kept.len() as f64;
    let raw = 1e6 / mean;
    Some(snap(raw).unwrap_or(raw))
}

/// The tracker rate within 5 % of `hz`, if any.
pub fn snap(hz: f64) -> Option<f64> {
    TRACKER_RATES
        .into_iter()
        .find(|r| (hz - r).abs() <= SNAP_TOLERANCE * r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamps(hz: f64, n: usize, round_to_ms: bool) -> Vec<i64> {
        (0..n)
            .map(|k| {
                let t = k as f64 * 1e6 / hz;
                if round_to_ms {
                    (t / 1000.0).round() as i64 * 1000
                } else {
                    t.round() as i64
                }
            })
            .collect()
    }

    #[test]
    fn whole_ms_stamps_of_a_300_hz_recording_give_300() {
        assert_eq!(estimate_hz(&stamps(300.0, 3000, true)), Some(300.0));
        for hz in TRACKER_RATES {
            assert_eq!(estimate_hz(&stamps(hz, 2000, false)), Some(hz), "{hz}");
            if hz <= 300.0 {
                assert_eq!(estimate_hz(&stamps(hz, 2000, true)), Some(hz), "{hz} ms");
            }
        }
    }

    #[test]
    fn lost_samples_do_not_lower_the_rate() {
        let mut t = stamps(120.0, 1200, false);
        // A 2 s loss and every 10th sample missing.
        for x in t.iter_mut().skip(600) {
            *x += 2_000_000;
        }
        let t: Vec<i64> = t
            .into_iter()
            .enumerate()
            .filter(|(k, _)| k % 10 != 5)
            .map(|(_, x)| x)
            .collect();
        assert_eq!(estimate_hz(&t), Some(120.0));
        // A rate no Tobii tracker has is kept as measured.
        let odd = estimate_hz(&stamps(500.0, 100, false)).unwrap();
        assert!((odd - 500.0).abs() < 0.01, "{odd}");
        assert_eq!(estimate_hz(&[5, 5]), None);
    }
}
