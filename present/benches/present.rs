//! Presenter throughput on whatever adapter wgpu finds (lavapipe on a machine without a GPU):
//! frames drawn per second offscreen at 1920×1080 with a 1024² stimulus, with and without
//! read-back, and — when a display is reachable (e.g. under `xvfb-run`) — frames per second
//! through the window path and the cost of stamping a frame on the session clock.
//!
//! `xvfb-run -a -s "-screen 0 1920x1080x24" cargo bench -p et-present --bench present`

use std::sync::Arc;
use std::time::Instant;

use et_drivers::{Clock, MonotonicClock};
use et_present::{Offscreen, Presenter, Screen, Style, WindowConfig};

fn face() -> image::RgbaImage {
    image::RgbaImage::from_fn(1024, 1024, |x, y| {
        image::Rgba([(x % 256) as u8, (y % 256) as u8, ((x ^ y) % 256) as u8, 255])
    })
}

fn rate(n: usize, t: Instant) -> f64 {
    n as f64 / t.elapsed().as_secs_f64()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (w, h) = (1920u32, 1080u32);
    let rect = [448.0, 28.0, 1024.0, 1024.0];
    let image = Screen::Image {
        key: "face".into(),
        rect,
    };
    let mut o = Offscreen::new(w, h, Style::default())?;
    println!("adapter: {}", o.renderer.info);
    o.renderer.preload("face", &face())?;
    for _ in 0..10 {
        o.draw(&image, 0.0)?;
    }
    let n = 300;
    let t = Instant::now();
    for _ in 0..n {
        o.draw(&image, 0.0)?;
    }
    println!("offscreen draw {w}x{h} image: {:.0} frames/s", rate(n, t));
    let t = Instant::now();
    for k in 0..n {
        o.draw(&Screen::Target { x: 0.5, y: 0.5 }, k as f32 / 60.0)?;
    }
    println!("offscreen draw {w}x{h} target: {:.0} frames/s", rate(n, t));
    let n = 60;
    let t = Instant::now();
    for _ in 0..n {
        o.render(&image, 0.0)?;
    }
    println!(
        "offscreen draw + read-back {w}x{h}: {:.0} frames/s",
        rate(n, t)
    );

    // Stamping: what the session adds per frame on the clock side.
    let clock = MonotonicClock;
    let t = Instant::now();
    let mut timing = et_present::timing::FrameTiming::new(60.0);
    let m = 1_000_000;
    for _ in 0..m {
        timing.observe(clock.now_us());
    }
    println!(
        "stamp + dropped-frame check: {:.0} ns per frame",
        t.elapsed().as_nanos() as f64 / m as f64
    );

    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        println!("no display: window path skipped (run under xvfb-run)");
        return Ok(());
    }
    // Planned at 1000 Hz so the presenter never holds a frame: raw window throughput.
    let cfg = WindowConfig {
        fullscreen: false,
        monitor: None,
        width: w,
        height: h,
        refresh_hz: 1000.0,
        title: "et-suite bench".into(),
        operator: None,
    };
    let p = Presenter::open(cfg, Style::default(), Arc::new(MonotonicClock))?;
    println!(
        "window: {} on {}, {}",
        p.info().gpu,
        p.info().monitor,
        p.info().surface_format
    );
    p.preload("face", face())?;
    for _ in 0..10 {
        p.present(&image, None)?;
    }
    let n = 300;
    let t = Instant::now();
    let mut stamps = Vec::with_capacity(n);
    for _ in 0..n {
        let call = clock.now_us();
        let f = p.present(&image, None)?;
        stamps.push(f.ts_us - call);
    }
    println!("window present {w}x{h} image: {:.0} frames/s", rate(n, t));
    stamps.sort_unstable();
    println!(
        "window: call to stamp p50 {} µs, p99 {} µs (render + present + acquire)",
        stamps[n / 2],
        stamps[n * 99 / 100]
    );
    Ok(())
}
