//! Data-quality measures against ETDQualitizer 1.2.0 on stored cases
//! (`../reference/etdq_reference.toml`, written by `../reference/etdq_reference.py`): accuracy,
//! RMS-S2S, STD and BCEA of gaze around a target (some cases with lost samples), data loss from
//! the expected samples and the effective frequency, each to 1e-9 relative.

use et_analysis::quality_measures::{
    accuracy, bcea, data_loss_from_expected, effective_frequency, px_to_fick, rms_s2s, std,
};
use et_drivers::geometry::ScreenGeometry;

#[derive(serde::Deserialize)]
struct Case {
    screen: [f64; 5],
    target: [f64; 2],
    x: Vec<f64>,
    y: Vec<f64>,
    accuracy: [f64; 3],
    rms_s2s: [f64; 3],
    std: [f64; 3],
    bcea: f64,
    duration_s: f64,
    data_loss: f64,
    effective_frequency: f64,
}

#[derive(serde::Deserialize)]
struct Reference {
    case: Vec<Case>,
}

fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1e-12),
        "{what}: got {got:.15e}, ETDQualitizer {want:.15e}"
    );
}

#[test]
fn data_quality_measures_equal_etdqualitizer_on_the_stored_cases() {
    let r: Reference = toml::from_str(include_str!("../reference/etdq_reference.toml")).unwrap();
    assert!(r.case.len() >= 8 && r.case.iter().any(|c| c.x.iter().any(|v| v.is_nan())));
    for (k, c) in r.case.iter().enumerate() {
        let g = ScreenGeometry {
            width_px: c.screen[0] as u32,
            height_px: c.screen[1] as u32,
            width_mm: c.screen[2],
            height_mm: c.screen[3],
            viewing_distance_mm: c.screen[4],
        };
        let (azi, ele): (Vec<f64>, Vec<f64>) =
            c.x.iter()
                .zip(&c.y)
                .map(|(x, y)| px_to_fick(&g, *x, *y))
                .unzip();
        let target = px_to_fick(&g, c.target[0], c.target[1]);
        let w = |s: &str| format!("case {k}: {s}");
        let (a, ax, ay) = accuracy(&azi, &ele, target);
        for (got, want, name) in [
            (a, c.accuracy[0], "accuracy"),
            (ax, c.accuracy[1], "accuracy azimuth"),
            (ay, c.accuracy[2], "accuracy elevation"),
        ] {
            close(&w(name), got, want);
        }
        let (s, sx, sy) = rms_s2s(&azi, &ele);
        for (got, want, name) in [
            (s, c.rms_s2s[0], "RMS-S2S"),
            (sx, c.rms_s2s[1], "RMS-S2S azimuth"),
            (sy, c.rms_s2s[2], "RMS-S2S elevation"),
        ] {
            close(&w(name), got, want);
        }
        let (s, sx, sy) = std(&azi, &ele);
        for (got, want, name) in [
            (s, c.std[0], "STD"),
            (sx, c.std[1], "STD azimuth"),
            (sy, c.std[2], "STD elevation"),
        ] {
            close(&w(name), got, want);
        }
        close(&w("BCEA"), bcea(&azi, &ele, 0.68), c.bcea);
        let valid = azi.iter().filter(|v| !v.is_nan()).count();
        close(
            &w("data loss"),
            data_loss_from_expected(valid, c.duration_s, 120.0),
            c.data_loss,
        );
        close(
            &w("effective frequency"),
            effective_frequency(valid, c.duration_s),
            c.effective_frequency,
        );
    }
}
