//! Calibration and validation: an animated target at 5 or 9 points in random order, collected
//! through the tracker's calibration hooks, computed and applied; then validation at other
//! points: accuracy (mean angular offset), precision (RMS sample-to-sample and SD, degrees) and
//! data loss, per eye, judged against the config's thresholds. Every attempt is recorded
//! (`calibration` and `validation` events, `/validation` rows) with what was decided after it.
//! In the window the operator decides (accept, redo one point, recalibrate every point);
//! headless, a failed validation recalibrates up to `max_attempts` times, then the session goes
//! on with the note recorded.

use et_drivers::synthetic::Scene;
use et_drivers::{CalibrationPoint, GazeSample, ScreenGeometry, Tracker, TrackerError};
use et_files::SettingError;
use et_present::validation_plot::{validation_image, PlotPoint};
use et_present::Screen;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::placement::operator_rect;
use crate::recorder::{Record, SampleTap};
use crate::session::{Choice, Session};
pub use crate::session::{Decision, Verdict};
use et_recording::format::{kind, ValidationRecord};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalibrationConfig {
    /// Calibrate and validate before the first trial, as the published study did; `false`
    /// records with the tracker's stored calibration (the session notes it).
    pub enabled: bool,
    /// 5 or 9 calibration points.
    pub points: u8,
    /// Validation targets (display area); Titta's four by default.
    pub validation_points: Vec<[f32; 2]>,
    /// How long each calibration target is shown (shrinking) before collecting.
    pub target_ms: u32,
    /// Validation: time to settle on a target, then the window whose samples are judged.
    pub settle_ms: u32,
    pub collect_ms: u32,
    pub max_accuracy_deg: f64,
    pub max_precision_rms_deg: f64,
    pub max_data_loss: f64,
    pub max_attempts: u32,
    pub seed: u64,
    /// The positioning guide shown before each calibration (`[calibration.positioning]`).
    pub positioning: crate::positioning::PositioningConfig,
    /// Who decides after each validation: `operator` (accept, redo one point, recalibrate;
    /// the default in the participant's window) or `auto` (the thresholds; the default
    /// headless, where `max_attempts` caps the recalibrations).
    pub decision: Option<Decision>,
    /// Headless (`decision = auto`): a validation that failed every attempt is accepted as it
    /// is (`run --accept-failed-validation`); otherwise the session's exit status says it.
    #[serde(skip)]
    pub accept_failed: bool,
}

impl Default for CalibrationConfig {
    fn default() -> Self {
        CalibrationConfig {
            enabled: true,
            points: 5,
            validation_points: vec![[0.5, 0.2], [0.2, 0.5], [0.8, 0.5], [0.5, 0.8]],
            target_ms: 1500,
            settle_ms: 800,
            collect_ms: 500,
            max_accuracy_deg: 1.0,
            max_precision_rms_deg: 0.6,
            max_data_loss: 0.25,
            max_attempts: 3,
            seed: 1,
            decision: None,
            accept_failed: false,
            positioning: crate::positioning::PositioningConfig::default(),
        }
    }
}

impl CalibrationConfig {
    pub fn validate(&self) -> std::result::Result<(), SettingError> {
        if self.points != 5 && self.points != 9 {
            return Err(SettingError::new(
                "calibration.points",
                format!("calibration.points must be 5 or 9, got {}", self.points),
            ));
        }
        self.positioning.validate()?;
        if self.validation_points.is_empty() || self.max_attempts == 0 {
            return Err(SettingError::new(
                "calibration.validation_points",
                "calibration needs validation points and at least one attempt",
            ));
        }
        // Targets are drawn on the display area (0..1 from the top-left).
        if let Some(p) = self
            .validation_points
            .iter()
            .find(|p| !p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)))
        {
            return Err(SettingError::new("calibration.validation_points", format!(
                "calibration.validation_points: {p:?} is not on the screen (each coordinate in 0..1)"
            )));
        }
        Ok(())
    }

    fn calibration_points(&self) -> Vec<(f32, f32)> {
        let (a, b, c) = (0.1, 0.5, 0.9);
        if self.points == 9 {
            vec![
                (a, a),
                (b, a),
                (c, a),
                (a, b),
                (b, b),
                (c, b),
                (a, c),
                (b, c),
                (c, c),
            ]
        } else {
            vec![(a, a), (c, a), (b, b), (a, c), (c, c)]
        }
    }
}

/// Accuracy, precision (RMS s2s, SD) and data loss of one eye at one target.
fn eye_quality(
    screen: &ScreenGeometry,
    target: (f64, f64),
    pts: &[Option<(f64, f64)>],
) -> EyeQuality {
    let valid: Vec<(f64, f64)> = pts.iter().flatten().copied().collect();
    let loss = if pts.is_empty() {
        1.0
    } else {
        1.0 - valid.len() as f64 / pts.len() as f64
    };
    if valid.is_empty() {
        return EyeQuality {
            accuracy_deg: f64::NAN,
            rms_deg: f64::NAN,
            sd_deg: f64::NAN,
            loss,
            mean: (f64::NAN, f64::NAN),
        };
    }
    let acc = valid
        .iter()
        .map(|p| screen.angle_between(*p, target))
        .sum::<f64>()
        / valid.len() as f64;
    let rms = if valid.len() > 1 {
        (valid
            .windows(2)
            .map(|w| screen.angle_between(w[0], w[1]).powi(2))
            .sum::<f64>()
            / (valid.len() - 1) as f64)
            .sqrt()
    } else {
        f64::NAN
    };
    let m = (
        valid.iter().map(|p| p.0).sum::<f64>() / valid.len() as f64,
        valid.iter().map(|p| p.1).sum::<f64>() / valid.len() as f64,
    );
    let sd = (valid
        .iter()
        .map(|p| screen.angle_between(*p, m).powi(2))
        .sum::<f64>()
        / valid.len() as f64)
        .sqrt();
    EyeQuality {
        accuracy_deg: acc,
        rms_deg: rms,
        sd_deg: sd,
        loss,
        mean: m,
    }
}

/// One eye's validation at one target: accuracy and precision (°), the share of samples
/// lost, and where the gaze was on average (display area, 0..1).
#[derive(Debug, Clone, Copy)]
struct EyeQuality {
    accuracy_deg: f64,
    rms_deg: f64,
    sd_deg: f64,
    loss: f64,
    mean: (f64, f64),
}

fn mean(v: &[f64]) -> f64 {
    let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if f.is_empty() {
        f64::NAN
    } else {
        f.iter().sum::<f64>() / f.len() as f64
    }
}

/// Calibration points in reading order, as the operator numbers them.
fn point_names(n: usize) -> &'static str {
    if n == 9 {
        "1-9 in reading order (1 top-left, 5 centre, 9 bottom-right)"
    } else {
        "1 top-left, 2 top-right, 3 centre, 4 bottom-left, 5 bottom-right"
    }
}

/// Calibrates and validates until the result is accepted: by the config's thresholds
/// (`Decision::Auto`) or by the operator. The tracker stays in calibration mode throughout, so
/// one point can be discarded and collected again without losing the others (as the SDK
/// allows). Returns the validation's verdict; a tracker that cannot be calibrated (a replay)
/// is noted and skipped (`None`).
pub(crate) async fn calibrate(
    s: &mut Session<'_>,
    tracker: &mut dyn Tracker,
    tap: &SampleTap,
    cfg: &CalibrationConfig,
    screen: &ScreenGeometry,
    decision: Decision,
) -> Result<Option<Verdict>> {
    let sample_period_us = (1e6 / tracker.info().sampling_hz.max(1.0)) as i64;
    if cfg.positioning.enabled
        && !crate::positioning::guide(
            s,
            (tap, sample_period_us),
            &cfg.positioning,
            screen,
            decision,
        )
        .await?
    {
        return Ok(Some(Verdict::Aborted));
    }
    s.operator().view.phase("calibration");
    match tracker.calibration_enter() {
        Err(TrackerError::Unsupported { tracker, .. }) => {
            s.event(
                s.next_ts(),
                kind::NOTE,
                -1,
                format!("{tracker} cannot be calibrated; calibration skipped"),
            )?;
            return Ok(None);
        }
        r => r?,
    }
    let verdict = attempts(s, tracker, tap, cfg, screen, decision).await;
    let left = tracker.calibration_leave();
    let verdict = verdict?;
    left?;
    Ok(Some(verdict))
}

async fn attempts(
    s: &mut Session<'_>,
    tracker: &mut dyn Tracker,
    tap: &SampleTap,
    cfg: &CalibrationConfig,
    screen: &ScreenGeometry,
    decision: Decision,
) -> Result<Verdict> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed);
    let hz = tracker.info().sampling_hz.max(1.0);
    let all = cfg.calibration_points();
    let mut collected = vec![false; all.len()];
    // `None`: every point; `Some(i)`: only point i again.
    let mut redo: Option<usize> = None;
    let mut attempt = 0i32;
    loop {
        attempt += 1;
        let todo: Vec<usize> = match redo {
            Some(i) => vec![i],
            None => {
                let mut v: Vec<usize> = (0..all.len()).collect();
                v.shuffle(&mut rng);
                v
            }
        };
        for i in todo {
            let (x, y) = all[i];
            let point = CalibrationPoint { x, y };
            if collected[i] {
                tracker.calibration_discard(point)?;
                collected[i] = false;
            }
            let text = format!("attempt {attempt}: point {} target ({x:.2}, {y:.2})", i + 1);
            if s.show(
                s.frames_for(cfg.target_ms),
                Scene::Target {
                    x: f64::from(x),
                    y: f64::from(y),
                },
                &Screen::Target { x, y },
                -1,
                (kind::CALIBRATION, -1, &text),
            )
            .await?
            .whole()
            .is_none()
            {
                return Ok(Verdict::Aborted);
            }
            tracker.calibration_collect(point)?;
            collected[i] = true;
        }
        let result = tracker.calibration_compute_apply()?;
        s.event(
            s.next_ts(),
            kind::CALIBRATION,
            -1,
            format!(
                "attempt {attempt}: {} ({} points{})",
                if result.applied { "applied" } else { "FAILED" },
                result.points.len(),
                redo.map_or(String::new(), |i| format!(", point {} redone", i + 1)),
            ),
        )?;
        s.operator().view.phase("validation");
        let Some(v) = validate(s, tap, cfg, screen, attempt, &mut rng, hz).await? else {
            return Ok(Verdict::Aborted);
        };
        let pass = v.pass && result.applied;
        s.event(
            s.next_ts(),
            kind::VALIDATION,
            -1,
            format!(
                "attempt {attempt}: {}; {}",
                v.summary.join("; "),
                if pass { "PASS" } else { "FAIL" }
            ),
        )?;
        let over = v.over_limit(cfg.max_accuracy_deg, &all);
        s.operator().view.detail(&format!(
            "attempt {attempt} {}{}",
            if pass { "PASS" } else { "FAIL" },
            if over.is_empty() {
                String::new()
            } else {
                format!("; {over}")
            }
        ));
        let limits = format!(
            "limits: accuracy {:.2}°, precision RMS {:.2}°, data loss {:.0}%",
            cfg.max_accuracy_deg,
            cfg.max_precision_rms_deg,
            100.0 * cfg.max_data_loss,
        );
        // Said in every mode: the operator's question below says it in the window.
        if decision == Decision::Auto {
            s.prompt(&format!(
                "validation attempt {attempt} {}: {} ({limits})",
                if pass { "PASS" } else { "FAIL" },
                v.summary.join("; "),
            ));
        }
        let choice = match decision {
            Decision::Auto if pass => Choice::Continue,
            Decision::Auto if attempt < cfg.max_attempts as i32 => Choice::Recalibrate,
            Decision::Auto => {
                let (verdict, what) = if cfg.accept_failed {
                    (
                        Verdict::AcceptedFailing,
                        "accepted as it is (--accept-failed-validation)",
                    )
                } else {
                    (
                        Verdict::Failed,
                        "not accepted: the session exits with the status for data with a problem",
                    )
                };
                let text = format!(
                    "validation failed after {} attempts; the session continues; {what}",
                    cfg.max_attempts
                );
                s.prompt(&text);
                s.event(s.next_ts(), kind::NOTE, -1, text)?;
                return Ok(verdict);
            }
            Decision::Operator => {
                let text = format!(
                    "Validation, attempt {attempt}: {}\n{}\n{limits}\nworst target {}\n{over}\n\nSpace: accept    R: positioning, then recalibrate all\n1-{}: redo that calibration point ({})",
                    if pass { "PASS" } else { "FAIL" },
                    v.summary.join("\n"),
                    v.worst(),
                    all.len(),
                    point_names(all.len()),
                );
                let prompt = format!(
                    "validation attempt {attempt} {}: {} ({limits}); worst target {}{}. c accept, r positioning then recalibrate, 1-{} redo that calibration point ({})",
                    if pass { "PASS" } else { "FAIL" },
                    v.summary.join("; "),
                    v.worst(),
                    if over.is_empty() { String::new() } else { format!("; {over}") },
                    all.len(),
                    point_names(all.len()),
                );
                // In the window: the plot with the same words under it.
                let screen = match s.presenter() {
                    Some(p) => {
                        let info = p.info();
                        let rect = operator_rect(info.width, info.height);
                        let font = et_present::text::Font::find().ok();
                        let img = validation_image(
                            &v.points,
                            &text,
                            font.as_ref(),
                            (rect[2] as u32, rect[3] as u32),
                            info.width as f32 / info.height.max(1) as f32,
                        );
                        s.operator().view.picture("validation", &img);
                        p.preload("validation", img)
                            .map_err(|e| crate::error::SessionError::Display(e.to_string()))?;
                        Screen::Image {
                            key: "validation".into(),
                            rect,
                        }
                    }
                    None => Screen::Text(text.clone()),
                };
                loop {
                    match s.ask_on(&screen, &prompt).await? {
                        None => return Ok(Verdict::Aborted),
                        Some(Choice::Point(n)) if usize::from(n) > all.len() => {
                            tracing::warn!(n, "there are only {} calibration points", all.len());
                        }
                        Some(c) => break c,
                    }
                }
            }
        };
        let who = match decision {
            Decision::Auto => "by the thresholds",
            Decision::Operator => "by the operator",
        };
        let what = match choice {
            Choice::Continue if !pass => "accepted although it FAILED".to_string(),
            Choice::Continue => "accepted".to_string(),
            Choice::Recalibrate => "recalibrate every point".to_string(),
            Choice::Point(n) => format!("redo point {n}"),
        };
        s.event(
            s.next_ts(),
            kind::CALIBRATION,
            -1,
            format!("attempt {attempt}: {what} ({who})"),
        )?;
        match choice {
            Choice::Continue if pass => return Ok(Verdict::Passed),
            Choice::Continue => return Ok(Verdict::AcceptedFailing),
            Choice::Recalibrate => {
                redo = None;
                // The operator's recalibration starts over, with the positioning guide first
                // (the participant may have moved); the thresholds' own retries do not.
                if decision == Decision::Operator && cfg.positioning.enabled {
                    let period = (1e6 / hz) as i64;
                    if !crate::positioning::guide(
                        s,
                        (tap, period),
                        &cfg.positioning,
                        screen,
                        decision,
                    )
                    .await?
                    {
                        return Ok(Verdict::Aborted);
                    }
                }
            }
            Choice::Point(n) => redo = Some(usize::from(n) - 1),
        }
        s.operator().view.phase("calibration");
    }
}

/// One validation's outcome.
struct Validation {
    pass: bool,
    /// Each target and each eye's mean gaze there, for the operator's plot.
    points: Vec<PlotPoint>,
    /// Per eye: accuracy, precision and data loss.
    summary: Vec<String>,
    /// Each target (display area) and its mean offset over both eyes (degrees; infinite
    /// without valid gaze), in the order shown.
    offsets: Vec<((f32, f32), f64)>,
}

/// Where a target is on the screen in the operator's words ("top centre", "middle left"),
/// with its position in % of the screen (x from the left, y from the top) where a third of
/// the screen would not tell two targets apart. Normalised coordinates matched no key and no
/// word the operator sees.
fn place_name(x: f32, y: f32) -> String {
    let third = |v: f32| {
        if v < 1.0 / 3.0 {
            0
        } else if v <= 2.0 / 3.0 {
            1
        } else {
            2
        }
    };
    let row = ["top", "middle", "bottom"][third(y)];
    let col = ["left", "centre", "right"][third(x)];
    let name = if (row, col) == ("middle", "centre") {
        "centre".to_string()
    } else {
        format!("{row} {col}")
    };
    format!("{name} ({:.0} %, {:.0} %)", x * 100.0, y * 100.0)
}

impl Validation {
    /// The target with the largest offset, for the operator.
    fn worst(&self) -> String {
        self.offsets
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or("none".into(), |((x, y), off)| {
                format!("{}: {off:.2}°", place_name(*x, *y))
            })
    }

    /// The targets over the accuracy limit, each with the key that redoes the calibration
    /// point nearest to it (`points` in the operator's numbering); empty when none is over.
    fn over_limit(&self, limit_deg: f64, points: &[(f32, f32)]) -> String {
        let over: Vec<String> = self
            .offsets
            .iter()
            .filter(|(_, off)| *off > limit_deg)
            .map(|((x, y), off)| {
                let nearest = points
                    .iter()
                    .enumerate()
                    .min_by(|a, b| {
                        let d = |p: &(f32, f32)| (p.0 - x).powi(2) + (p.1 - y).powi(2);
                        d(a.1).total_cmp(&d(b.1))
                    })
                    .map_or(0, |(i, _)| i + 1);
                format!("{} {off:.2}° → key {nearest}", place_name(*x, *y))
            })
            .collect();
        if over.is_empty() {
            String::new()
        } else {
            format!("over {limit_deg:.2}°: {}", over.join(", "))
        }
    }
}

/// Shows the validation targets and judges the samples; `None` when aborted.
async fn validate(
    s: &mut Session<'_>,
    tap: &SampleTap,
    cfg: &CalibrationConfig,
    screen: &ScreenGeometry,
    attempt: i32,
    rng: &mut rand_chacha::ChaCha8Rng,
    hz: f64,
) -> Result<Option<Validation>> {
    let mut vpoints = cfg.validation_points.clone();
    vpoints.shuffle(rng);
    let mut per_eye: [Vec<EyeQuality>; 2] = [Vec::new(), Vec::new()];
    let mut points = Vec::with_capacity(vpoints.len());
    let mut offsets_by_target = Vec::with_capacity(vpoints.len());
    for [x, y] in &vpoints {
        let target = (f64::from(*x), f64::from(*y));
        let text = format!("attempt {attempt}: target ({x:.2}, {y:.2})");
        let Some(shown) = s
            .show(
                s.frames_for(cfg.settle_ms + cfg.collect_ms),
                Scene::Target {
                    x: target.0,
                    y: target.1,
                },
                &Screen::Target { x: *x, y: *y },
                -1,
                (kind::VALIDATION, -1, &text),
            )
            .await?
            .whole()
        else {
            return Ok(None);
        };
        let from = shown.onset + i64::from(cfg.settle_ms) * 1000;
        let to = from + i64::from(cfg.collect_ms) * 1000;
        let samples = tap
            .settled_window(from, to, (1e6 / hz) as i64, &*s.clock())
            .await;
        let expected = (f64::from(cfg.collect_ms) / 1000.0 * hz).round().max(1.0) as usize;
        let mut offsets = Vec::new();
        let mut plotted = PlotPoint {
            target: (target.0 as f32, target.1 as f32),
            eyes: [None, None],
        };
        for (e, which) in [(0usize, "left"), (1, "right")] {
            let mut pts: Vec<Option<(f64, f64)>> = samples
                .iter()
                .map(|g: &GazeSample| {
                    let eye = if e == 0 { &g.left } else { &g.right };
                    eye.gaze_valid
                        .then(|| (f64::from(eye.gaze_x), f64::from(eye.gaze_y)))
                })
                .collect();
            // Samples that never arrived count as lost.
            pts.resize(pts.len().max(expected), None);
            let q = eye_quality(screen, target, &pts);
            per_eye[e].push(q);
            plotted.eyes[e] = (q.mean.0.is_finite() && q.mean.1.is_finite())
                .then_some((q.mean.0 as f32, q.mean.1 as f32));
            offsets.push(q.accuracy_deg);
            s.record(Record::Validation(ValidationRecord {
                attempt,
                eye: which.into(),
                target_x: (target.0 * f64::from(screen.width_px)) as f32,
                target_y: (target.1 * f64::from(screen.height_px)) as f32,
                accuracy_deg: q.accuracy_deg as f32,
                precision_rms_deg: q.rms_deg as f32,
                precision_sd_deg: q.sd_deg as f32,
                data_loss: q.loss as f32,
                mean_gaze_x: (q.mean.0 * f64::from(screen.width_px)) as f32,
                mean_gaze_y: (q.mean.1 * f64::from(screen.height_px)) as f32,
                window_start_us: from,
                window_end_us: to,
            }))?;
        }
        points.push(plotted);
        // A target with no valid gaze at all is the worst there is.
        let off = mean(&offsets);
        let off = if off.is_finite() { off } else { f64::INFINITY };
        offsets_by_target.push(((*x, *y), off));
    }
    let mut pass = true;
    let mut summary = Vec::new();
    for (e, which) in [(0usize, "left"), (1, "right")] {
        let acc = mean(
            &per_eye[e]
                .iter()
                .map(|q| q.accuracy_deg)
                .collect::<Vec<_>>(),
        );
        let rms = mean(&per_eye[e].iter().map(|q| q.rms_deg).collect::<Vec<_>>());
        let loss = mean(&per_eye[e].iter().map(|q| q.loss).collect::<Vec<_>>());
        pass &= acc <= cfg.max_accuracy_deg
            && rms <= cfg.max_precision_rms_deg
            && loss <= cfg.max_data_loss;
        let mark = |ok: bool| if ok { "" } else { " (over)" };
        summary.push(format!(
            "{which}: accuracy {acc:.2}°{}, precision RMS {rms:.2}°{}, data loss {:.0}%{}",
            mark(acc <= cfg.max_accuracy_deg),
            mark(rms <= cfg.max_precision_rms_deg),
            100.0 * loss,
            mark(loss <= cfg.max_data_loss),
        ));
    }
    Ok(Some(Validation {
        pass,
        points,
        summary,
        offsets: offsets_by_target,
    }))
}
