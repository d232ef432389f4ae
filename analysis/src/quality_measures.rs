//! Data-quality measures as the field reports them (Holmqvist et al. 2012; Niehorster et al.
//! 2020; Dunn et al. 2023), computed as ETDQualitizer 1.2.0 (PyPI, the reference
//! implementation) computes them, on gaze directions in Fick angles (azimuth, elevation in
//! degrees) seen from the eye at the viewing distance, the screen's centre straight ahead:
//! - accuracy: the angle between the target and the mean gaze direction (the mean of the
//!   samples' unit vectors), with its azimuth and elevation parts;
//! - precision: RMS of sample-to-sample distances (RMS-S2S), STD (population SD of azimuth and
//!   elevation, combined as their hypotenuse) and BCEA (the area of the ellipse holding a share
//!   P = 0.68 of a bivariate normal, sample SDs and correlation);
//! - data loss from the expected number of samples and the effective sampling frequency.
//!
//! Missing samples are NaN and left out of each measure as ETDQualitizer leaves them out (RMS-S2S
//! over the differences whose both ends hold gaze). `tests/parity/etdq.rs` holds the reference
//! values and `tests/reference/etdq_reference.py` the script that made them.

use et_drivers::geometry::ScreenGeometry;

/// A gaze position on the screen (px from the top-left) as Fick angles (degrees): azimuth to
/// the right, elevation upward, the screen's centre straight ahead at the viewing distance
/// (ETDQualitizer's `ScreenConfiguration.pix_to_deg` of the position from the centre, y up).
pub fn px_to_fick(g: &ScreenGeometry, x_px: f64, y_px: f64) -> (f64, f64) {
    let x_mm = (x_px - f64::from(g.width_px) / 2.0) / f64::from(g.width_px) * g.width_mm;
    let y_mm = (f64::from(g.height_px) / 2.0 - y_px) / f64::from(g.height_px) * g.height_mm;
    let d = g.viewing_distance_mm;
    (
        x_mm.atan2(d).to_degrees(),
        y_mm.atan2(d.hypot(x_mm)).to_degrees(),
    )
}

fn unit_vector(azi: f64, ele: f64) -> [f64; 3] {
    let (a, e) = (azi.to_radians(), ele.to_radians());
    [e.cos() * a.sin(), e.sin(), e.cos() * a.cos()]
}

fn fick_of(v: [f64; 3]) -> (f64, f64) {
    (
        v[0].atan2(v[2]).to_degrees(),
        v[1].atan2(v[0].hypot(v[2])).to_degrees(),
    )
}

fn nan_mean(v: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = v
        .filter(|x| !x.is_nan())
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

/// Accuracy: (offset, azimuth offset, elevation offset) in degrees of the mean gaze direction
/// from the target's (ETDQualitizer `accuracy` with the mean).
pub fn accuracy(azi: &[f64], ele: &[f64], target: (f64, f64)) -> (f64, f64, f64) {
    let vs: Vec<[f64; 3]> = azi
        .iter()
        .zip(ele)
        .map(|(a, e)| unit_vector(*a, *e))
        .collect();
    let mut g = [0.0; 3];
    for (k, c) in g.iter_mut().enumerate() {
        *c = nan_mean(vs.iter().map(|v| v[k]));
    }
    let n = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt();
    let g = g.map(|c| c / n);
    let (ca, sa) = (target.0.to_radians().cos(), target.0.to_radians().sin());
    let (ce, se) = (target.1.to_radians().cos(), target.1.to_radians().sin());
    let x = ca * g[0] - sa * g[2];
    let y = ce * g[1] - se * (sa * g[0] + ca * g[2]);
    let z = se * g[1] + ce * (sa * g[0] + ca * g[2]);
    let (oa, oe) = fick_of([x, y, z]);
    (x.hypot(y).atan2(z).to_degrees(), oa, oe)
}

/// RMS of sample-to-sample differences: (total, azimuth, elevation) in degrees.
pub fn rms_s2s(azi: &[f64], ele: &[f64]) -> (f64, f64, f64) {
    let da: Vec<f64> = azi.windows(2).map(|w| (w[1] - w[0]).powi(2)).collect();
    let de: Vec<f64> = ele.windows(2).map(|w| (w[1] - w[0]).powi(2)).collect();
    (
        nan_mean(da.iter().zip(&de).map(|(a, e)| a + e)).sqrt(),
        nan_mean(da.iter().copied()).sqrt(),
        nan_mean(de.iter().copied()).sqrt(),
    )
}

/// Population SD (n in the denominator) of the values that are not NaN.
fn nan_std(v: &[f64]) -> f64 {
    let m = nan_mean(v.iter().copied());
    nan_mean(v.iter().map(|x| (x - m) * (x - m))).sqrt()
}

/// STD: (hypotenuse of the two, azimuth, elevation) in degrees.
pub fn std(azi: &[f64], ele: &[f64]) -> (f64, f64, f64) {
    let (sa, se) = (nan_std(azi), nan_std(ele));
    (sa.hypot(se), sa, se)
}

/// BCEA (deg²) holding the share `p` of a bivariate normal fitted to the samples (each axis's
/// NaNs left out, as ETDQualitizer does).
pub fn bcea(azi: &[f64], ele: &[f64], p: f64) -> f64 {
    let a: Vec<f64> = azi.iter().copied().filter(|v| !v.is_nan()).collect();
    let e: Vec<f64> = ele.iter().copied().filter(|v| !v.is_nan()).collect();
    if a.len() < 2 || a.len() != e.len() {
        return f64::NAN;
    }
    let n = a.len() as f64;
    let (ma, me) = (a.iter().sum::<f64>() / n, e.iter().sum::<f64>() / n);
    let (mut saa, mut see, mut sae) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(&e) {
        saa += (x - ma) * (x - ma);
        see += (y - me) * (y - me);
        sae += (x - ma) * (y - me);
    }
    let (sd_a, sd_e) = ((saa / (n - 1.0)).sqrt(), (see / (n - 1.0)).sqrt());
    let rho = sae / (saa * see).sqrt();
    let k = (1.0 / (1.0 - p)).ln();
    2.0 * k * std::f64::consts::PI * sd_a * sd_e * (1.0 - rho * rho).sqrt()
}

/// Data loss (%) against the samples `duration_s` at `hz` should have given.
/// NaN for a span or rate that expects no sample (never an infinite loss).
pub fn data_loss_from_expected(valid: usize, duration_s: f64, hz: f64) -> f64 {
    let expected = duration_s * hz;
    if expected > 0.0 {
        (1.0 - valid as f64 / expected) * 100.0
    } else {
        f64::NAN
    }
}

/// Effective sampling frequency (Hz): valid samples per second.
/// NaN for an empty span.
pub fn effective_frequency(valid: usize, duration_s: f64) -> f64 {
    if duration_s > 0.0 {
        valid as f64 / duration_s
    } else {
        f64::NAN
    }
}

/// One participant's accepted validation (its last attempt) as the field reports it, for one
/// eye or both (`binocular`: the eyes' mean position, either eye where one is lost): each
/// measure computed over every target's collection window, then averaged over the targets.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationQuality {
    pub participant: String,
    pub attempt: i32,
    /// "left", "right" or "binocular".
    pub eye: &'static str,
    pub targets: usize,
    pub accuracy_deg: f64,
    pub rms_s2s_deg: f64,
    pub std_deg: f64,
    /// BCEA with P = 0.68 (deg²).
    pub bcea_deg2: f64,
    /// Share of the windows' samples without gaze (%).
    pub data_loss_pct: f64,
}

/// Where one eye (or both) looked in a sample, display-area units; `None` without gaze.
type EyePosition = fn(&et_drivers::GazeSample) -> Option<(f32, f32)>;

/// The eyes the measures are reported for: each, and both (their mean position, either eye
/// where one is lost).
const EYES: [(&str, EyePosition); 3] = [
    ("left", |s| {
        s.left.gaze_valid.then_some((s.left.gaze_x, s.left.gaze_y))
    }),
    ("right", |s| {
        s.right
            .gaze_valid
            .then_some((s.right.gaze_x, s.right.gaze_y))
    }),
    ("binocular", |s| s.mean_gaze()),
];

/// The `ValidationQuality` rows of a recording (none without a validation whose collection
/// windows were recorded).
pub fn validation_quality(rec: &et_recording::Recording) -> Vec<ValidationQuality> {
    let Some(last) = rec.validation.iter().map(|v| v.attempt).max() else {
        return Vec::new();
    };
    let g = &rec.header.screen;
    let (w, h) = (f64::from(g.width_px), f64::from(g.height_px));
    // One window per target: the left eye's row (both eyes' rows share it), else the right's.
    let mut windows: Vec<((f32, f32), i64, i64)> = Vec::new();
    for r in rec
        .validation
        .iter()
        .filter(|r| r.attempt == last && r.window_end_us > r.window_start_us)
    {
        if !windows.iter().any(|(t, ..)| *t == (r.target_x, r.target_y)) {
            windows.push(((r.target_x, r.target_y), r.window_start_us, r.window_end_us));
        }
    }
    if windows.is_empty() {
        return Vec::new();
    }
    EYES.iter()
        .map(|(eye, pick)| {
            let mut per_target: Vec<[f64; 5]> = Vec::new();
            for ((tx, ty), from, to) in &windows {
                let first = rec.gaze.partition_point(|s| s.system_ts_us < *from);
                let (azi, ele): (Vec<f64>, Vec<f64>) = rec.gaze[first..]
                    .iter()
                    .take_while(|s| s.system_ts_us < *to)
                    .map(|s| match pick(s) {
                        Some((x, y)) => px_to_fick(g, f64::from(x) * w, f64::from(y) * h),
                        None => (f64::NAN, f64::NAN),
                    })
                    .unzip();
                if azi.is_empty() {
                    continue;
                }
                // Targets are stored in screen px, gaze in display-area units (0..1).
                let target = px_to_fick(g, f64::from(*tx), f64::from(*ty));
                let lost = azi.iter().filter(|v| v.is_nan()).count();
                per_target.push([
                    if lost < azi.len() {
                        accuracy(&azi, &ele, target).0
                    } else {
                        f64::NAN
                    },
                    rms_s2s(&azi, &ele).0,
                    std(&azi, &ele).0,
                    bcea(&azi, &ele, 0.68),
                    100.0 * lost as f64 / azi.len() as f64,
                ]);
            }
            let mean_of = |k: usize| nan_mean(per_target.iter().map(|m| m[k]));
            ValidationQuality {
                participant: rec.header.participant.clone(),
                attempt: last,
                eye,
                targets: per_target.len(),
                accuracy_deg: mean_of(0),
                rms_s2s_deg: mean_of(1),
                std_deg: mean_of(2),
                bcea_deg2: mean_of(3),
                data_loss_pct: mean_of(4),
            }
        })
        .collect()
}

/// One trial's data quality as the field reports it, for one eye or both (`binocular`: their
/// mean position, either eye where one is lost): data loss against the samples the trial's
/// length at the tracker's rate should hold, the effective sampling frequency, and precision as
/// RMS-S2S and STD over each fixation's samples (the median over the trial's fixations:
/// saccades are movement, not noise, and would swamp a trial-wide figure).
#[derive(Debug, Clone, PartialEq)]
pub struct TrialDataQuality {
    pub participant: String,
    pub trial: i32,
    pub stimulus_id: String,
    /// "left", "right" or "binocular".
    pub eye: &'static str,
    pub data_loss_pct: f64,
    pub effective_hz: f64,
    /// Fixations wholly inside the trial that the precision is the median over.
    pub fixations: usize,
    pub fixation_rms_s2s_deg: f64,
    pub fixation_std_deg: f64,
}

/// The `TrialDataQuality` of trial `t` of `rec` for each eye and both, with the recording's
/// fixations.
pub fn trial_data_quality(
    rec: &et_recording::Recording,
    t: &et_recording::TrialRecord,
    fixations: &[crate::fixation::Fixation],
) -> Vec<TrialDataQuality> {
    let g = &rec.header.screen;
    let (w, h) = (f64::from(g.width_px), f64::from(g.height_px));
    let duration_s = t.offset_us.saturating_sub(t.onset_us).max(0) as f64 / 1e6;
    let window = crate::dwell::window(&rec.gaze, t.onset_us, t.offset_us);
    let from = fixations.partition_point(|f| f.start_us < t.onset_us);
    let inside: Vec<&crate::fixation::Fixation> = fixations[from..]
        .iter()
        .take_while(|f| f.end_us <= t.offset_us)
        .collect();
    EYES.iter()
        .map(|(eye, pick)| {
            let valid = window.iter().filter(|s| pick(s).is_some()).count();
            let (mut rms, mut sd) = (Vec::new(), Vec::new());
            for f in &inside {
                let (azi, ele): (Vec<f64>, Vec<f64>) =
                    crate::dwell::window(&rec.gaze, f.start_us, f.end_us)
                        .iter()
                        .map(|s| match pick(s) {
                            Some((x, y)) => px_to_fick(g, f64::from(x) * w, f64::from(y) * h),
                            None => (f64::NAN, f64::NAN),
                        })
                        .unzip();
                rms.push(rms_s2s(&azi, &ele).0);
                sd.push(std(&azi, &ele).0);
            }
            TrialDataQuality {
                participant: rec.header.participant.clone(),
                trial: t.trial,
                stimulus_id: t.stimulus_id.clone(),
                eye,
                data_loss_pct: data_loss_from_expected(valid, duration_s, rec.header.sampling_hz),
                effective_hz: effective_frequency(valid, duration_s),
                fixations: inside.len(),
                fixation_rms_s2s_deg: crate::descriptive::median(rms),
                fixation_std_deg: crate::descriptive::median(sd),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_span_has_no_loss_rate_rather_than_an_infinite_one() {
        assert!(data_loss_from_expected(0, 0.0, 120.0).is_nan());
        assert!(effective_frequency(3, 0.0).is_nan());
        assert!((data_loss_from_expected(90, 1.0, 100.0) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn the_screen_centre_is_straight_ahead_and_up_is_positive() {
        let g = ScreenGeometry {
            width_px: 1000,
            height_px: 500,
            width_mm: 500.0,
            height_mm: 250.0,
            viewing_distance_mm: 500.0,
        };
        assert_eq!(px_to_fick(&g, 500.0, 250.0), (0.0, 0.0));
        // 250 mm to the right at 500 mm: atan(0.5).
        let (azi, ele) = px_to_fick(&g, 1000.0, 250.0);
        assert!((azi - 0.5f64.atan().to_degrees()).abs() < 1e-12 && ele == 0.0);
        assert!(px_to_fick(&g, 500.0, 0.0).1 > 0.0);
    }

    #[test]
    fn accuracy_of_gaze_on_the_target_is_zero_and_lost_samples_are_left_out() {
        let azi = [1.0, f64::NAN, 1.0];
        let ele = [2.0, f64::NAN, 2.0];
        assert!(accuracy(&azi, &ele, (1.0, 2.0)).0.abs() < 1e-9);
        let (rms, ..) = rms_s2s(&azi, &ele);
        assert!(rms.is_nan(), "no difference with both ends valid: {rms}");
        assert_eq!(std(&azi, &ele).0, 0.0);
    }

    #[test]
    fn a_trial_s_loss_rate_and_precision_over_its_fixations() {
        use et_drivers::{EyeSample, GazeSample};
        // 100 Hz, a 1 s trial, every 10th sample lost; still gaze for its first half (one
        // fixation), then a sweep (no fixation).
        let sample = |k: i64| {
            let mut e = EyeSample::INVALID;
            if k % 10 != 3 {
                let x = if k < 50 {
                    0.5
                } else {
                    0.5 + 0.005 * (k - 50) as f32
                };
                (e.gaze_x, e.gaze_y, e.gaze_valid) = (x, 0.5, true);
            }
            GazeSample {
                system_ts_us: k * 10_000,
                device_ts_us: k * 10_000,
                left: e,
                right: e,
            }
        };
        let mut header = et_recording::RecordingHeader::new("P", "1");
        header.sampling_hz = 100.0;
        let trial = et_recording::TrialRecord {
            trial: 0,
            stimulus_id: "s".into(),
            identity: String::new(),
            condition: String::new(),
            variant: String::new(),
            expression: String::new(),
            onset_us: 0,
            offset_us: 1_000_000,
            frames: 0,
            dropped_frames: 0,
            image_rect: [0.0; 4],
            samples: Default::default(),
        };
        let rec = et_recording::Recording::in_memory(
            "t.h5",
            header,
            (0..100).map(sample).collect(),
            vec![trial.clone()],
        );
        let still = crate::fixation::Fixation {
            start_us: 0,
            end_us: 500_000,
            duration_us: 500_000,
            x: 0.5,
            y: 0.5,
            screen_x: 960.0,
            screen_y: 540.0,
            dispersion_deg: 0.0,
            samples: 50,
            eye: crate::fixation::EyeChoice::Average,
            first: 0,
            last: 49,
        };
        let rows = trial_data_quality(&rec, &trial, &[still]);
        assert_eq!(
            rows.iter().map(|q| q.eye).collect::<Vec<_>>(),
            ["left", "right", "binocular"]
        );
        for q in &rows {
            assert!((q.data_loss_pct - 10.0).abs() < 1e-9, "{q:?}");
            assert!((q.effective_hz - 90.0).abs() < 1e-9);
            assert_eq!(q.fixations, 1);
            assert_eq!((q.fixation_rms_s2s_deg, q.fixation_std_deg), (0.0, 0.0));
        }
    }
}
