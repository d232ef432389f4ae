//! `et-suite display-check`: opens the participant's window as `run` would and presents frames
//! for a while, then reports the frame intervals, the refresh rate they imply, refreshes missed,
//! and whether the display paces frames at all — the check a lab runs on its own monitor and
//! GPU before the first participant (PsychoPy's timeByFrames, in spirit).

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use et_drivers::MonotonicClock;
use et_present::timing::{frame_stats, DisplayVerdict};
use et_present::{OperatorKey, Presenter, Screen, WindowConfig};
use et_sessions::StudyConfig;

#[derive(clap::Args)]
pub struct Args {
    /// Study config (screen size, refresh rate, [display]); default: the default study.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A window of the study's screen size instead of full screen.
    #[arg(long)]
    windowed: bool,
    /// Monitor index (default: the config's, else the primary).
    #[arg(long)]
    monitor: Option<usize>,
    /// How long to present frames (Esc or q stops early).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// With the operator's live window open beside it (fed 10 pictures a second, as in a
    /// session), to measure what it costs the participant's frames.
    #[arg(long)]
    operator_window: bool,
    /// Write every frame's time stamp (µs) to this CSV (never overwritten).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn main(a: Args) -> Result<()> {
    let cfg = match &a.config {
        Some(p) => StudyConfig::load(p)?,
        None => StudyConfig::default(),
    };
    if !(a.seconds > 0.0 && a.seconds <= 600.0) {
        bail!("--seconds must be in (0, 600], got {}", a.seconds);
    }
    if let Some(o) = &a.out {
        if o.exists() {
            bail!("{}: already exists; choose another --out", o.display());
        }
    }
    let hz = cfg.timing.refresh_hz;
    let wc = WindowConfig {
        fullscreen: cfg.display.fullscreen && !a.windowed,
        monitor: a.monitor.or(cfg.display.monitor),
        width: cfg.screen.width_px,
        height: cfg.screen.height_px,
        refresh_hz: hz,
        title: "et-suite: display check".into(),
        operator: crate::setup::operator_window(a.operator_window, None),
    };
    let p = Presenter::open(wc, cfg.display.style.clone(), Arc::new(MonotonicClock))
        .context("cannot open the participant's window")?;
    let n = (a.seconds * hz).round().max(2.0) as usize;
    let mut stamps = Vec::with_capacity(n);
    let feeding = std::sync::atomic::AtomicBool::new(true);
    let feed = p.operator_feed();
    std::thread::scope(|scope| -> Result<()> {
        if let Some(feed) = &feed {
            scope.spawn(|| feed_test_pictures(feed, &feeding));
        }
        let r = present_frames(&p, n, &mut stamps);
        feeding.store(false, std::sync::atomic::Ordering::Release);
        r
    })?;
    let operator_pictures = feed.as_ref().map(|f| f.shown());
    let info = p.info().clone();
    let self_paced = p.self_paced();
    let evidence = p.pacing_evidence();
    drop(p);
    let s = frame_stats(&stamps, hz).context("too few frames to judge the display")?;
    let mut r = format!("{info}\n");
    if let Some(n) = operator_pictures {
        r.push_str(&format!(
            "operator's window open: {n} pictures shown during the check\n"
        ));
    }
    r.push_str(&format!(
        "{} frames: interval median {:.3} ms, mean {:.3}, SD {:.3}, min {:.3}, 99th percentile {:.3}, max {:.3} → {:.3} Hz (study config: {hz} Hz)\n",
        s.frames, s.median_ms, s.mean_ms, s.sd_ms, s.min_ms, s.p99_ms, s.max_ms, s.measured_hz
    ));
    r.push_str(&format!(
        "refreshes missed: {} ({:.2} % of frames)\n",
        s.dropped,
        100.0 * f64::from(s.dropped) / s.frames as f64
    ));
    if let Some(e) = evidence {
        r.push_str(&format!("{e}\n"));
    }
    r.push_str(&DisplayVerdict::judge(&s, hz, self_paced).text(hz));
    r.push('\n');
    crate::output::emit(&r)?;
    if let Some(o) = &a.out {
        let mut f = std::fs::File::create_new(o)
            .with_context(|| format!("{}: cannot create", o.display()))?;
        let mut text = String::from("frame,ts_us\n");
        for (k, t) in stamps.iter().enumerate() {
            text.push_str(&format!("{k},{t}\n"));
        }
        f.write_all(text.as_bytes())
            .with_context(|| format!("{}: cannot write", o.display()))?;
    }
    Ok(())
}

/// Frames alternating two screens, so every frame is a real change on the display.
fn present_frames(p: &Presenter, n: usize, stamps: &mut Vec<i64>) -> Result<()> {
    for k in 0..n {
        let screen = if k % 2 == 0 {
            Screen::Blank
        } else {
            Screen::Cross
        };
        stamps.push(p.present(&screen, None)?.ts_us);
        if p.keys().contains(&OperatorKey::Abort) {
            break;
        }
    }
    Ok(())
}

/// Ten operator pictures a second, each a new image (as a session's are), until `feeding` ends.
fn feed_test_pictures(feed: &et_present::OperatorFeed, feeding: &std::sync::atomic::AtomicBool) {
    let mut k = 0u8;
    while feeding.load(std::sync::atomic::Ordering::Acquire) {
        k = k.wrapping_add(25);
        feed.show(image::RgbaImage::from_pixel(
            feed.width,
            feed.height,
            image::Rgba([k, 128, 255 - k, 255]),
        ));
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
