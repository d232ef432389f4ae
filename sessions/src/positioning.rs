//! The positioning guide before calibration: where the participant's eyes are in the tracker's
//! head box and how far away, from the gaze origins in the samples (user coordinates, mm: every
//! tracker we drive reports them; the Tobii SDK's user-position-guide stream is not
//! subscribed). Shown in the participant's window until the operator goes on; headless, the
//! session goes on once the eyes have been inside for `hold_ms`, or after `max_wait_ms` with a
//! note that they were not.

use std::sync::atomic::Ordering;

use et_files::SettingError;
use serde::{Deserialize, Serialize};

use et_drivers::{GazeSample, ScreenGeometry};
use et_present::guide::{guide_image, GuideView};
use et_present::text::Font;
use et_present::Screen;

use crate::error::Result;
use crate::recorder::SampleTap;
use crate::session::Decision;
use crate::session::Session;
use et_recording::format::kind;

/// How often the guide is redrawn.
const REDRAW_US: i64 = 100_000;
/// The samples each reading of the head position averages.
const RECENT_US: i64 = 250_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PositioningConfig {
    /// Show the guide before each calibration (only when the session calibrates).
    pub enabled: bool,
    /// The head box's front, centred on the display's centre (mm). The defaults are typical of
    /// remote trackers at 65 cm (the X3-120's own figures are not confirmed here): set them
    /// from the tracker's manual.
    pub box_width_mm: f64,
    pub box_height_mm: f64,
    /// Allowed eye distance from the tracker (mm).
    pub min_distance_mm: f64,
    pub max_distance_mm: f64,
    /// Headless: how long the eyes must stay inside before the session goes on.
    pub hold_ms: u32,
    /// Headless: the longest wait; the session then goes on and notes where the eyes were.
    pub max_wait_ms: u32,
}

impl Default for PositioningConfig {
    fn default() -> Self {
        PositioningConfig {
            enabled: true,
            box_width_mm: 400.0,
            box_height_mm: 300.0,
            min_distance_mm: 550.0,
            max_distance_mm: 800.0,
            hold_ms: 1000,
            max_wait_ms: 30_000,
        }
    }
}

impl PositioningConfig {
    pub fn validate(&self) -> Result<(), SettingError> {
        for (name, v) in [
            ("box_width_mm", self.box_width_mm),
            ("box_height_mm", self.box_height_mm),
            ("min_distance_mm", self.min_distance_mm),
            ("max_distance_mm", self.max_distance_mm),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= 5000.0) {
                return Err(SettingError::new(
                    format!("positioning.{name}"),
                    format!("positioning.{name} must be in (0, 5000] mm, got {v}"),
                ));
            }
        }
        if self.min_distance_mm >= self.max_distance_mm {
            return Err(SettingError::new(
                "positioning.min_distance_mm",
                format!(
                    "positioning.min_distance_mm ({}) must be below max_distance_mm ({})",
                    self.min_distance_mm, self.max_distance_mm
                ),
            ));
        }
        if self.max_wait_ms > 600_000 || self.hold_ms > self.max_wait_ms {
            return Err(SettingError::new(
                "positioning.hold_ms",
                format!(
                    "positioning: hold_ms ({}) must not exceed max_wait_ms ({}), at most 600000",
                    self.hold_ms, self.max_wait_ms
                ),
            ));
        }
        Ok(())
    }
}

/// Where the eyes are: the mean gaze origin of each eye's valid samples (user coordinates, mm).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadPosition {
    pub eyes: [Option<[f64; 3]>; 2],
}

impl HeadPosition {
    pub fn from_samples(samples: &[GazeSample]) -> HeadPosition {
        let mean = |pick: fn(&GazeSample) -> &et_drivers::EyeSample| {
            let valid: Vec<[f64; 3]> = samples
                .iter()
                .map(pick)
                .filter(|e| e.origin_valid && e.origin_mm.iter().all(|v| v.is_finite()))
                .map(|e| e.origin_mm.map(f64::from))
                .collect();
            (!valid.is_empty()).then(|| {
                let n = valid.len() as f64;
                [0, 1, 2].map(|k| valid.iter().map(|p| p[k]).sum::<f64>() / n)
            })
        };
        HeadPosition {
            eyes: [mean(|s| &s.left), mean(|s| &s.right)],
        }
    }

    /// Mean distance of the eyes seen (mm).
    pub fn distance_mm(&self) -> Option<f64> {
        let z: Vec<f64> = self.eyes.iter().flatten().map(|p| p[2]).collect();
        (!z.is_empty()).then(|| z.iter().sum::<f64>() / z.len() as f64)
    }

    /// Each eye across the box's front (−1..1, x right, y up) for the guide.
    fn in_box_units(
        &self,
        cfg: &PositioningConfig,
        geo: &ScreenGeometry,
    ) -> [Option<(f64, f64)>; 2] {
        let c = geo.display_mm_to_user(geo.width_mm / 2.0, geo.height_mm / 2.0, 0.0);
        self.eyes.map(|e| {
            e.map(|p| {
                (
                    (p[0] - c[0]) / (cfg.box_width_mm / 2.0),
                    (p[1] - c[1]) / (cfg.box_height_mm / 2.0),
                )
            })
        })
    }

    /// What is wrong, if anything: `None` when at least one eye is seen and every eye seen is
    /// inside the box at an allowed distance.
    pub fn problem(&self, cfg: &PositioningConfig, geo: &ScreenGeometry) -> Option<String> {
        let Some(d) = self.distance_mm() else {
            return Some("no eyes found".into());
        };
        let units = self.in_box_units(cfg, geo);
        let (mut dx, mut dy) = (0.0f64, 0.0f64);
        for (x, y) in units.iter().flatten() {
            if x.abs() > dx.abs() {
                dx = *x;
            }
            if y.abs() > dy.abs() {
                dy = *y;
            }
        }
        if d < cfg.min_distance_mm {
            Some("too close".into())
        } else if d > cfg.max_distance_mm {
            Some("too far".into())
        } else if dx.abs() > 1.0 {
            Some(
                if dx > 0.0 {
                    "too far right"
                } else {
                    "too far left"
                }
                .into(),
            )
        } else if dy.abs() > 1.0 {
            Some(if dy > 0.0 { "too high" } else { "too low" }.into())
        } else {
            None
        }
    }

    /// One line for the operator and the recording.
    pub fn describe(&self, cfg: &PositioningConfig, geo: &ScreenGeometry) -> String {
        let seen = match self.eyes {
            [Some(_), Some(_)] => "both eyes",
            [Some(_), None] => "left eye only",
            [None, Some(_)] => "right eye only",
            [None, None] => return "no eyes found".into(),
        };
        let d = self.distance_mm().unwrap_or(f64::NAN);
        let verdict = self
            .problem(cfg, geo)
            .unwrap_or_else(|| "inside the head box".into());
        format!(
            "{seen} at {:.1} cm ({:.0}–{:.0} cm allowed): {verdict}",
            d / 10.0,
            cfg.min_distance_mm / 10.0,
            cfg.max_distance_mm / 10.0
        )
    }

    pub fn guide(&self, cfg: &PositioningConfig, geo: &ScreenGeometry) -> GuideView {
        let units = self.in_box_units(cfg, geo);
        GuideView {
            eyes: units.map(|u| u.map(|(x, y)| (x as f32, y as f32))),
            depth: self.distance_mm().map(|d| {
                ((d - cfg.min_distance_mm) / (cfg.max_distance_mm - cfg.min_distance_mm)) as f32
            }),
            inside: self.problem(cfg, geo).is_none(),
            // Two lines: where the eyes are, then the verdict.
            caption: match self.describe(cfg, geo).rsplit_once(": ") {
                Some((at, verdict)) => format!("{at}\n{verdict}"),
                None => self.describe(cfg, geo),
            },
        }
    }
}

/// Shows the guide until the operator goes on (`Decision::Operator`), or until the eyes have
/// stayed inside for `hold_ms` (`Decision::Auto`; after `max_wait_ms` it goes on and notes
/// where they were). False when the session is aborted meanwhile. `tap` comes with the
/// tracker's sample period.
pub(crate) async fn guide(
    s: &mut Session<'_>,
    (tap, period_us): (&SampleTap, i64),
    cfg: &PositioningConfig,
    geo: &ScreenGeometry,
    decision: Decision,
) -> Result<bool> {
    s.operator().view.phase("positioning");
    s.operator().cont.store(false, Ordering::SeqCst);
    let start = s.next_ts();
    s.event(start, kind::NOTE, -1, "positioning guide")?;
    let presenter = s.presenter();
    let font = presenter.and_then(|_| Font::find().ok());
    let rect = presenter.map(|p| {
        let info = p.info();
        crate::placement::operator_rect(info.width, info.height)
    });
    if decision == Decision::Operator {
        s.prompt("positioning guide on screen: when the eyes are green, space (window) or c (terminal) goes on");
    }
    let mut inside_since: Option<i64> = None;
    let mut drawn_at: Option<i64> = None;
    let hold = i64::from(cfg.hold_ms) * 1000;
    let clock = s.clock();
    let max_wait = i64::from(cfg.max_wait_ms) * 1000;
    let head = loop {
        if s.operator().abort.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let now = s.next_ts();
        let samples = tap.recent(now, RECENT_US, period_us, &*clock).await;
        let head = HeadPosition::from_samples(&samples);
        let inside = head.problem(cfg, geo).is_none();
        let redraw = drawn_at.is_none_or(|t| now.saturating_sub(t) >= REDRAW_US);
        if redraw {
            s.operator().view.detail(&head.describe(cfg, geo));
            drawn_at = Some(now);
        }
        let screen = match (presenter, rect) {
            (Some(p), Some(rect)) => {
                if redraw {
                    let img = guide_image(
                        &head.guide(cfg, geo),
                        font.as_ref(),
                        rect[2] as u32,
                        rect[3] as u32,
                    );
                    s.operator().view.picture("positioning", &img);
                    p.preload("positioning", img)
                        .map_err(|e| crate::error::SessionError::Display(e.to_string()))?;
                }
                Screen::Image {
                    key: "positioning".into(),
                    rect,
                }
            }
            _ => Screen::Blank,
        };
        s.hold_frame(&screen).await?;
        match decision {
            Decision::Operator => {
                if s.operator().cont.swap(false, Ordering::SeqCst) {
                    break head;
                }
            }
            Decision::Auto => {
                if !inside {
                    inside_since = None;
                } else if now.saturating_sub(*inside_since.get_or_insert(now)) >= hold {
                    break head;
                }
                if now.saturating_sub(start) >= max_wait {
                    break head;
                }
            }
        }
    };
    let line = head.describe(cfg, geo);
    tracing::info!("positioning: {line}");
    s.event(s.next_ts(), kind::NOTE, -1, format!("positioning: {line}"))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use et_drivers::EyeSample;

    fn at(left: Option<[f32; 3]>, right: Option<[f32; 3]>) -> GazeSample {
        let eye = |o: Option<[f32; 3]>| {
            let mut e = EyeSample::INVALID;
            if let Some(o) = o {
                (e.origin_mm, e.origin_valid) = (o, true);
            }
            e
        };
        GazeSample {
            system_ts_us: 0,
            device_ts_us: 0,
            left: eye(left),
            right: eye(right),
        }
    }

    #[test]
    fn eyes_in_the_box_at_a_good_distance_pass_and_each_fault_is_named() {
        let geo = ScreenGeometry::default();
        let cfg = PositioningConfig::default();
        let c = geo.display_mm_to_user(geo.width_mm / 2.0, geo.height_mm / 2.0, 0.0);
        let (cx, cy) = (c[0] as f32, c[1] as f32);
        let head = |dx: f32, dy: f32, z: f32| {
            HeadPosition::from_samples(&[
                at(
                    Some([cx - 32.0 + dx, cy + dy, z]),
                    Some([cx + 32.0 + dx, cy + dy, z]),
                ),
                at(Some([cx - 30.0 + dx, cy + dy, z]), None),
            ])
        };
        let good = head(0.0, 0.0, 650.0);
        assert_eq!(
            good.eyes[0],
            Some([f64::from(cx) - 31.0, f64::from(cy), 650.0])
        );
        assert_eq!(good.problem(&cfg, &geo), None);
        let line = good.describe(&cfg, &geo);
        assert!(
            line.starts_with("both eyes at 65.0 cm (55–80 cm allowed): inside"),
            "{line}"
        );
        assert!(good.guide(&cfg, &geo).inside);
        assert_eq!(
            head(0.0, 0.0, 500.0).problem(&cfg, &geo).as_deref(),
            Some("too close")
        );
        assert_eq!(
            head(0.0, 0.0, 900.0).problem(&cfg, &geo).as_deref(),
            Some("too far")
        );
        assert_eq!(
            head(200.0, 0.0, 650.0).problem(&cfg, &geo).as_deref(),
            Some("too far right")
        );
        assert_eq!(
            head(0.0, -160.0, 650.0).problem(&cfg, &geo).as_deref(),
            Some("too low")
        );
        let none = HeadPosition::from_samples(&[at(None, None)]);
        assert_eq!(none.problem(&cfg, &geo).as_deref(), Some("no eyes found"));
        assert!(!none.guide(&cfg, &geo).inside);
        assert!(PositioningConfig {
            min_distance_mm: 900.0,
            ..PositioningConfig::default()
        }
        .validate()
        .unwrap_err()
        .message
        .contains("min_distance_mm"));
    }
}
