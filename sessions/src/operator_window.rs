//! The operator's live window: ten times a second, the participant's screen scaled down with
//! the stimulus on it, where each eye looks and a short trail, and the live line (trial, time
//! left, tracker state, valid share, dropped frames). It runs on a thread of its own and hands
//! finished pictures to the presenter, which shows the newest after the participant's next
//! frame: the participant's screens never wait for it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use et_present::operator_view::{caption_band, operator_image, screen_area, OperatorView};
use et_present::text::Font;
use et_present::{OperatorFeed, Screen};
use image::RgbaImage;

use crate::live::LiveView;
use crate::runner::SessionPlan;

/// How often the picture is redrawn.
const INTERVAL: Duration = Duration::from_millis(100);
/// Gaze drawn as "now" (the newest sample within it), and the trail behind it.
const NOW_US: i64 = 50_000;
const TRAIL_US: i64 = 500_000;

/// The operator's window for one session: its feed, and what draws its pictures.
pub struct OperatorWindow {
    feed: OperatorFeed,
    pictures: OperatorPictures,
}

/// Draws the operator's pictures.
pub struct OperatorPictures {
    /// The picture's size (px).
    size: (u32, u32),
    /// Each stimulus' image file, by the key the presenter shows it under.
    images: HashMap<String, PathBuf>,
    /// Stimuli scaled for the picture, made the first time each is shown.
    thumbs: HashMap<String, Option<RgbaImage>>,
    /// The newest non-stimulus picture (validation plot, positioning guide) scaled, by its key
    /// and count (`LiveView::current_picture`).
    drawn: Option<(String, u64, RgbaImage)>,
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
        let pictures = OperatorPictures::new(
            (feed.width, feed.height),
            images,
            (plan.screen_w, plan.screen_h),
            background,
        );
        OperatorWindow { feed, pictures }
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
            let picture = self.pictures.picture(view);
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
}

impl OperatorPictures {
    /// Pictures of `size` px of a participant's `screen` (px) showing `images` (each
    /// stimulus' file by its key) on `background`.
    pub fn new(
        size: (u32, u32),
        images: HashMap<String, PathBuf>,
        screen: (u32, u32),
        background: [u8; 3],
    ) -> Self {
        OperatorPictures {
            size,
            images,
            thumbs: HashMap::new(),
            drawn: None,
            screen,
            background,
            font: Font::find().ok(),
        }
    }

    /// The picture of this moment.
    pub fn picture(&mut self, view: &LiveView) -> RgbaImage {
        let (w, h) = self.size;
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
            if self.images.contains_key(key) {
                self.make_thumb(key, *rect, w, h);
            } else {
                self.draw_picture(view, key, *rect, w, h);
            }
        }
        let (image, target) = match &screen {
            Some(Screen::Image { key, rect }) => (
                self.thumbs
                    .get(key)
                    .and_then(Option::as_ref)
                    .or(self
                        .drawn
                        .as_ref()
                        .filter(|(k, _, _)| k == key)
                        .map(|(_, _, img)| img))
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

    /// Scales the picture the participant's screen shows under `key` (the validation plot, the
    /// positioning guide), again whenever a new one is drawn.
    fn draw_picture(&mut self, view: &LiveView, key: &str, rect: [f32; 4], w: u32, h: u32) {
        let Some((n, img)) = view.current_picture(key) else {
            return;
        };
        if self
            .drawn
            .as_ref()
            .is_some_and(|(k, m, _)| k == key && *m == n)
        {
            return;
        }
        let (tw, th) = self.thumb_size(rect, w, h);
        let thumb = image::imageops::thumbnail(img.as_ref(), tw, th);
        self.drawn = Some((key.to_string(), n, thumb));
    }

    /// The size an image drawn at `rect` on the participant's screen takes in a `w` × `h`
    /// picture.
    fn thumb_size(&self, rect: [f32; 4], w: u32, h: u32) -> (u32, u32) {
        let area = screen_area(self.screen, w, h, caption_band(h));
        let scale = area[2] / self.screen.0.max(1) as f32;
        (
            ((rect[2] * scale).round() as u32).max(1),
            ((rect[3] * scale).round() as u32).max(1),
        )
    }

    /// Caches stimulus `key`'s image at the size it takes in a `w` × `h` picture (`None` for
    /// an image that cannot be read).
    fn make_thumb(&mut self, key: &str, rect: [f32; 4], w: u32, h: u32) {
        if !self.thumbs.contains_key(key) {
            let (tw, th) = self.thumb_size(rect, w, h);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pixels_of(img: &RgbaImage, rgb: [u8; 3]) -> usize {
        img.pixels().filter(|p| p.0[..3] == rgb).count()
    }

    /// The validation plot (and the positioning guide) drawn for the participant's screen is
    /// in the operator's picture too, and a new one replaces the old.
    #[test]
    fn the_operator_sees_the_validation_plot_the_participant_sees() {
        let view = LiveView::default();
        let rect = [320.0, 140.0, 1280.0, 800.0];
        let mut pictures =
            OperatorPictures::new((640, 430), HashMap::new(), (1920, 1080), [128, 128, 128]);
        view.screen(&Screen::Image {
            key: "validation".into(),
            rect,
        });
        let before = pictures.picture(&view);
        assert_eq!(pixels_of(&before, [255, 0, 0]), 0);
        let red = RgbaImage::from_pixel(1280, 800, image::Rgba([255, 0, 0, 255]));
        view.picture("validation", &red);
        let shown = pictures.picture(&view);
        // The plot at the operator's scale: 1280 × 800 of 1920 px into a 640 px wide picture.
        assert!(
            pixels_of(&shown, [255, 0, 0]) > 300 * 200,
            "{}",
            pixels_of(&shown, [255, 0, 0])
        );
        let blue = RgbaImage::from_pixel(1280, 800, image::Rgba([0, 0, 255, 255]));
        view.picture("validation", &blue);
        let again = pictures.picture(&view);
        assert_eq!(pixels_of(&again, [255, 0, 0]), 0);
        assert!(pixels_of(&again, [0, 0, 255]) > 300 * 200);
    }
}
