//! The presenter: what a participant sees. One renderer (wgpu) draws every screen of a session
//! (stimulus image, fixation cross, text, calibration target) into either a window on the
//! participant's monitor (`window`) or an offscreen texture that is read back (`offscreen`, for
//! tests and for checking a set without a display). Time stamps and frame bookkeeping live with
//! the session runner; the presenter only says when each frame went out, on the tracker's clock.

mod draw;
mod gpu;
pub mod guide;
pub mod offscreen;
pub mod operator_view;
pub mod text;
pub mod timing;
pub mod validation_plot;
pub mod window;

pub use gpu::{GpuInfo, Renderer};
pub use offscreen::Offscreen;
pub use window::{
    OperatorFeed, OperatorKey, OperatorWindowConfig, PresentedFrame, Presenter, PresenterInfo,
    WindowConfig,
};

use serde::{Deserialize, Serialize};

/// One screen's content. Images are referred to by the key they were preloaded under, so a
/// stimulus onset never waits on disk or decoding.
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Blank,
    /// The fixation cross at the screen centre.
    Cross,
    /// A preloaded image drawn in `rect` = [x, y, w, h] (screen px, from the top-left).
    Image {
        key: String,
        rect: [f32; 4],
    },
    /// Centred lines of text (instructions, breaks, the end).
    Text(String),
    /// The calibration target at display-area coordinates (0..1 from the top-left); it shrinks
    /// from `target_radius_px` to `target_min_radius_px` over `target_shrink_ms` to pull the eye
    /// to its centre dot.
    Target {
        x: f32,
        y: f32,
    },
}

/// How screens look. Colours are 8-bit display values (no colour management).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Style {
    pub background: [u8; 3],
    pub foreground: [u8; 3],
    /// Arm length of the fixation cross, end to end (px).
    pub cross_size_px: f32,
    pub cross_thickness_px: f32,
    pub target_radius_px: f32,
    pub target_min_radius_px: f32,
    pub target_dot_radius_px: f32,
    pub target_shrink_ms: f32,
    pub target_color: [u8; 3],
    pub target_dot_color: [u8; 3],
    pub text_px: f32,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            background: [128, 128, 128],
            foreground: [0, 0, 0],
            cross_size_px: 40.0,
            cross_thickness_px: 4.0,
            target_radius_px: 30.0,
            target_min_radius_px: 8.0,
            target_dot_radius_px: 3.0,
            target_shrink_ms: 600.0,
            target_color: [255, 255, 255],
            target_dot_color: [0, 0, 0],
            text_px: 32.0,
        }
    }
}

impl Style {
    /// The target's disk radius `age_s` after it appeared.
    pub fn target_radius(&self, age_s: f32) -> f32 {
        let f = (1.0 - age_s * 1000.0 / self.target_shrink_ms.max(1.0)).clamp(0.0, 1.0);
        self.target_min_radius_px + (self.target_radius_px - self.target_min_radius_px) * f
    }

    pub fn validate(&self) -> std::result::Result<(), et_files::SettingError> {
        let sizes = [
            ("cross_size_px", self.cross_size_px),
            ("cross_thickness_px", self.cross_thickness_px),
            ("target_radius_px", self.target_radius_px),
            ("target_min_radius_px", self.target_min_radius_px),
            ("target_dot_radius_px", self.target_dot_radius_px),
            ("text_px", self.text_px),
        ];
        for (name, v) in sizes {
            if !(v.is_finite() && v > 0.0) {
                return Err(et_files::SettingError::new(
                    format!("style.{name}"),
                    format!("{name} must be a positive number of pixels, got {v}"),
                ));
            }
        }
        if self.target_min_radius_px > self.target_radius_px {
            return Err(et_files::SettingError::new(
                "style.target_min_radius_px",
                "target_min_radius_px must not exceed target_radius_px",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PresentError {
    #[error("no graphics adapter: {0} (without a GPU, install Mesa's lavapipe: apt install mesa-vulkan-drivers libvulkan1)")]
    NoAdapter(String),
    #[error("graphics device: {0}")]
    Device(String),
    #[error("window: {0}")]
    Window(String),
    #[error("window style: {0}")]
    Style(#[from] et_files::SettingError),
    #[error("image {key:?} was not preloaded; call preload before showing it")]
    NotPreloaded { key: String },
    #[error("image {key:?} is {w}x{h}; the graphics device allows at most {max} px a side")]
    TooLarge {
        key: String,
        w: u32,
        h: u32,
        max: u32,
    },
    #[error("text screens need a font: {0}")]
    Font(String),
    #[error("the presenter has stopped (its window was closed or its thread ended)")]
    Gone,
}

pub type Result<T> = std::result::Result<T, PresentError>;

/// Where a screen's layers are, in pixels, for a screen of `w` × `h` px.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Layout {
    pub rect: [f32; 4],
    pub cross: Option<[f32; 4]>,
    pub target: Option<[f32; 4]>,
}

impl Layout {
    pub(crate) fn of(screen: &Screen, style: &Style, w: u32, h: u32, age_s: f32) -> Layout {
        let (wf, hf) = (w as f32, h as f32);
        let mut l = Layout {
            rect: [0.0; 4],
            cross: None,
            target: None,
        };
        match screen {
            Screen::Blank | Screen::Text(_) => {}
            Screen::Image { rect, .. } => l.rect = *rect,
            Screen::Cross => {
                l.cross = Some([
                    wf / 2.0,
                    hf / 2.0,
                    style.cross_size_px / 2.0,
                    style.cross_thickness_px / 2.0,
                ])
            }
            Screen::Target { x, y } => {
                l.target = Some([
                    x * wf,
                    y * hf,
                    style.target_radius(age_s),
                    style.target_dot_radius_px,
                ])
            }
        }
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_shrinks_linearly_then_holds() {
        let s = Style::default();
        assert_eq!(s.target_radius(0.0), 30.0);
        assert!((s.target_radius(0.3) - 19.0).abs() < 1e-4);
        assert_eq!(s.target_radius(0.6), 8.0);
        assert_eq!(s.target_radius(5.0), 8.0);
    }

    #[test]
    fn bad_styles_are_refused_by_name() {
        let s = Style {
            cross_thickness_px: 0.0,
            ..Style::default()
        };
        assert!(s.validate().unwrap_err().key.contains("cross_thickness_px"));
        let s = Style {
            target_min_radius_px: 40.0,
            ..Style::default()
        };
        assert!(s.validate().is_err());
    }
}
