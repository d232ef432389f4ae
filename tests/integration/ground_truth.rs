//! Synthetic ground truth: gaze from the synthetic tracker with a known attention model,
//! analysed like a real recording, gives mouth dwell proportions within 2 percentage points of
//! the truth — the share of time the simulated eye's true point of regard (before noise,
//! vergence, blinks and track loss) was inside the mouth AOI.

use et_analysis::dwell::trial_dwell;
use et_analysis::geometry::{display_to_screen, screen_to_image};
use et_drivers::synthetic::{GazeGenerator, SyntheticConfig};
use et_drivers::ScreenGeometry;
use et_recording::{Recording, RecordingHeader, TrialRecord};
use et_sessions::attention::{image_scene, AttentionConfig};
use et_sessions::placement::fit_rect;
use et_stimuli::Expression;

#[test]
fn dwell_proportions_match_the_simulated_truth_within_two_points() {
    let screen = ScreenGeometry::default();
    let set = et_stimuli::default_set::manifest(1024);
    let mouth = set.aois.iter().find(|a| a.name == "mouth").unwrap().clone();
    let rect = fit_rect(1024, 1024, screen.width_px, screen.height_px);
    let attention = AttentionConfig::default();
    let mut g = GazeGenerator::new(SyntheticConfig {
        seed: 42,
        ..SyntheticConfig::default()
    });
    let period = 1e6 / 120.0;
    let mut gaze = Vec::new();
    let mut trials = Vec::new();
    let mut truth: Vec<(Expression, f64)> = Vec::new();
    let mut k: i64 = 0;
    for trial in 0..120 {
        let st = &set.stimuli[trial % set.stimuli.len()];
        let scene = image_scene(
            &set,
            attention.for_expression(st.expression),
            rect,
            screen.width_px,
            screen.height_px,
        );
        let onset = (k as f64 * period).round() as i64;
        let mut inside = 0usize;
        let mut n = 0usize;
        loop {
            let ts = (k as f64 * period).round() as i64;
            if ts >= onset + 7_000_000 {
                break;
            }
            gaze.push(g.sample(ts, trial + 1, &scene));
            let (px, py) = g.point_of_regard_now();
            let (sx, sy) = display_to_screen(px, py, screen.width_px, screen.height_px);
            let (ix, iy) = screen_to_image(sx, sy, rect, 1024, 1024);
            inside += usize::from(mouth.contains(ix, iy));
            n += 1;
            k += 1;
        }
        let offset = (k as f64 * period).round() as i64;
        truth.push((st.expression, inside as f64 / n as f64));
        trials.push(TrialRecord {
            onset_us: onset,
            offset_us: offset,
            frames: 420,
            ..TrialRecord::showing(trial as i32, st, rect)
        });
    }
    let mut header = RecordingHeader::new("GT", "1");
    header.sampling_hz = 120.0;
    header.screen = screen;
    let rec = Recording::in_memory("ground-truth", header, gaze, trials.clone());
    for e in [Expression::Smile, Expression::NoSmile] {
        let measured: Vec<f64> = trials
            .iter()
            .filter(|t| t.expression == e.as_str())
            .map(|t| {
                trial_dwell(&rec, &set, t)
                    .into_iter()
                    .find(|r| r.aoi == "mouth")
                    .unwrap()
                    .proportion()
            })
            .collect();
        let want: Vec<f64> = truth
            .iter()
            .filter(|(x, _)| *x == e)
            .map(|(_, p)| *p)
            .collect();
        let (m, w) = (
            measured.iter().sum::<f64>() / measured.len() as f64,
            want.iter().sum::<f64>() / want.len() as f64,
        );
        eprintln!(
            "{e:?}: measured {m:.4}, truth {w:.4} over {} trials",
            measured.len()
        );
        assert!(
            (m - w).abs() <= 0.02,
            "{e:?}: measured {m:.4} vs truth {w:.4}"
        );
        assert!(w > 0.1, "the mouth should get real attention ({w})");
    }
}
