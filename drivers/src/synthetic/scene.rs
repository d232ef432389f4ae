//! What a simulated participant sees, over time. The session runner publishes each change
//! *before* the clock reaches it, and the generator looks scenes up by sample time, so the
//! simulated gaze is the same whatever the threads' timing.

use std::sync::{Arc, RwLock};

/// A place a simulated participant may look, in display-area units (0..1).
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionRegion {
    pub name: String,
    pub cx: f64,
    pub cy: f64,
    /// Half-extents of the ellipse that fixations land in.
    pub rx: f64,
    pub ry: f64,
    /// Relative probability of choosing this region for the next visit.
    pub weight: f64,
    /// Mean time (ms) gaze stays in the region per visit, over one or more fixations.
    pub mean_dwell_ms: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Scene {
    /// Nothing to look at: gaze wanders near where it was.
    Blank,
    /// A single target (fixation cross, calibration point) at display-area coordinates.
    Target { x: f64, y: f64 },
    /// An image whose parts attract gaze as the regions say.
    Image { regions: Vec<AttentionRegion> },
}

/// Scenes with the time each starts, in order.
type Changes = Vec<(i64, Arc<Scene>)>;

/// Append-only list of (start time, scene), shared between the runner and the generator.
#[derive(Debug, Clone, Default)]
pub struct SceneTimeline {
    inner: Arc<RwLock<Changes>>,
}

impl SceneTimeline {
    pub fn new() -> Self {
        Self::default()
    }

    /// Shows `scene` from `from_us` on. Times must not go backwards; an earlier time is moved
    /// up to the last change so the timeline stays sorted.
    pub fn publish(&self, from_us: i64, scene: Scene) {
        let mut v = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let t = v.last().map_or(from_us, |(last, _)| from_us.max(*last));
        v.push((t, Arc::new(scene)));
    }

    /// The scene shown at `ts_us` and its index (which changes whenever the scene does).
    pub fn at(&self, ts_us: i64) -> (usize, Arc<Scene>) {
        let v = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let n = v.partition_point(|(t, _)| *t <= ts_us);
        if n == 0 {
            (0, Arc::new(Scene::Blank))
        } else {
            (n, Arc::clone(&v[n - 1].1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_by_time() {
        let tl = SceneTimeline::new();
        assert_eq!(*tl.at(5).1, Scene::Blank);
        tl.publish(10, Scene::Target { x: 0.5, y: 0.5 });
        tl.publish(20, Scene::Blank);
        assert_eq!(tl.at(9).0, 0);
        assert_eq!(tl.at(10).0, 1);
        assert_eq!(*tl.at(15).1, Scene::Target { x: 0.5, y: 0.5 });
        assert_eq!(tl.at(25).0, 2);
    }
}
