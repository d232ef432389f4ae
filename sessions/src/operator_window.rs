//! The operator's live window: ten times a second, the participant's screen scaled down with
//! the stimulus on it, where each eye looks and a short trail, and the live line (trial, time
//! left, tracker state, valid share, dropped frames). It runs on a thread of its own and hands
//! finished pictures to the presenter, which shows the newest after the participant's next
//! frame: the participant's screens never wait for it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use et_stimuli::present::operator_view::{caption_band, operator_image, screen_area, OperatorView};
use et_stimuli::present::text::Font;
use et_stimuli::present::{OperatorFeed, Screen};
use image::RgbaImage;

use crate::live::LiveView;
use crate::runner::SessionPlan;

/// How often the picture is redrawn.
const INTERVAL: Duration = Duration::from_millis(100);
/// Gaze drawn as "now" (the newest sample within it), and the trail behind it.
const NOW_US: i64 = 50_000;
const TRAIL_US: i64 = 500_000;

/// Draws the operator's pictures for one session.
pub struct OperatorWindow {
    feed: OperatorFeed,
    /// Each stimulus' image file, by the key the presenter shows it under.
    images: HashMap<String, PathBuf>,
    /// Stimuli scaled for the picture, made the first time each is shown.
    thumbs: HashMap<String, Option<RgbaImage>>,
    screen: (u32, u32),
    background: [u8; 3],
    font: Option<Font>,
}

impl OperatorWindow {
    pub fn new(feed: OperatorFeed, plan: &SessionPlan<'_>, background: [u8; 3]) -> Self {
        let images = plan
            .trials
            .iter()
            .map(|t| (t.stimulus.id.clone(), plan.set.image_path(&t.stimulus)))
            .collect();
        OperatorWindow {
            feed,
            images,
            thumbs: HashMap::new(),
            screen: (plan.screen_w, plan.screen_h),
            background,
            font: Font::find().ok(),
        }
    }

    /// Runs `session` with the operator's window fed alongside; returns what it returns and
    /// how many pictures reached the operator's window.
    pub fn alongside<T>(self, view: &LiveView, session: impl FnOnce() -> T) -> (T, u64) {
        let feed = self.feed.clone();
        let ended = AtomicBool::new(false);
        let out = std::thread::scope(|scope| {
            let feeder = std::thread::Builder::new()
                .name("operator-window".into())
                .spawn_scoped(scope, || self.feed_until(view, &ended));
            if let Err(e) = &feeder {
                tracing::warn!("cannot start the operator's window thread: {e}; the session goes on without it");
            }
            let out = session();
            ended.store(true, Ordering::Release);
            out
        });
        (out, feed.shown())
    }

    fn feed_until(mut self, view: &LiveView, ended: &AtomicBool) {
        let mut next = Instant::now();
        while !ended.load(Ordering::Acquire) {
            if let Some(why) = self.feed.ended() {
                tracing::info!("{why}");
                return;
            }
            let picture = self.picture(view);
            self.feed.show(picture);
            next += INTERVAL;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            } else {
                next = now;
            }
        }
    }

    /// The picture of this moment.
    pub fn picture(&mut self, view: &LiveView) -> RgbaImage {
        let (w, h) = (self.feed.width, self.feed.height);
        let snap = view.snapshot();
        let recent = view.recent_gaze(TRAIL_US);
        let newest = recent.first().map(|s| s.system_ts_us);
        let now = recent
            .iter()
            .take_while(|s| newest.is_some_and(|t| t.saturating_sub(s.system_ts_us) <= NOW_US))
            .find(|s| s.left.gaze_valid || s.right.gaze_valid);
        let eye = |e: &et_drivers::EyeSample| e.gaze_valid.then_some((e.gaze_x, e.gaze_y));
        let gaze = now.map_or([None, None], |s| [eye(&s.left), eye(&s.right)]);
        // Oldest first, every third sample.
        let trail = recent
            .iter()
            .rev()
            .step_by(3)
            .filter_map(|s| s.mean_gaze())
            .collect();
        let screen = view.current_screen();
        if let Some(Screen::Image { key, rect }) = &screen {
            self.make_thumb(key, *rect, w, h);
        }
        let (image, target) = match &screen {
            Some(Screen::Image { key, rect }) => (
                self.thumbs
                    .get(key)
                    .and_then(Option::as_ref)
                    .map(|t| (t, *rect)),
                None,
            ),
            Some(Screen::Cross) => (None, Some((0.5, 0.5))),
            Some(Screen::Target { x, y }) => (None, Some((*x, *y))),
            _ => (None, None),
        };
        let v = OperatorView {
            screen: self.screen,
            background: self.background,
            image,
            target,
            gaze,
            trail,
            caption: snap.line(),
            alarm: snap.alarm(),
        };
        operator_image(&v, self.font.as_ref(), w, h)
    }

    /// Caches `key`'s image at the size it takes in a `w` × `h` picture (`None` for screens
    /// that are not stimuli, such as the positioning guide, or an image that cannot be read).
    fn make_thumb(&mut self, key: &str, rect: [f32; 4], w: u32, h: u32) {
        if !self.thumbs.contains_key(key) {
            let area = screen_area(self.screen, w, h, caption_band(h));
            let scale = area[2] / self.screen.0.max(1) as f32;
            let (tw, th) = (
                ((rect[2] * scale).round() as u32).max(1),
                ((rect[3] * scale).round() as u32).max(1),
            );
            let thumb = self.images.get(key).and_then(|p| match image::open(p) {
                Ok(img) => Some(image::imageops::thumbnail(&img.to_rgba8(), tw, th)),
                Err(e) => {
                    tracing::warn!("operator's window: {}: {e}", p.display());
                    None
                }
            });
            self.thumbs.insert(key.to_string(), thumb);
        }
    }
}
