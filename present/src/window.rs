//! The participant's window: a thread of its own owns the winit event loop, the window, the
//! surface and the renderer; the session asks it for one frame at a time and gets back the
//! time stamp of that frame on the tracker's clock.
//!
//! Which time stamp, and why: wgpu exposes no presentation feedback (neither
//! VK_GOOGLE_display_timing nor present-wait). The surface is set up double-buffered in FIFO
//! (vsync) mode, so after frame k is queued for presentation the next image can only be acquired
//! once the display has flipped to frame k and released frame k−1. The presenter therefore
//! acquires the next image right after presenting and stamps the frame when that acquire returns:
//! the flip time, late only by the time the thread takes to wake. On a display that does not pace
//! presentation at all (a virtual X server), frames would go out as soon as they are drawn; the
//! presenter tells such a display by its first frames' intervals (`timing::pacing_evidence`) and
//! then holds each drawn frame until one refresh period after the previous one before presenting
//! it, and stamps it when it hands it over (there is no flip to wait for). The session also gives each frame the time before which it must not go out (the end of the
//! screen before it), so a screen lasts its whole refresh periods on any display. Real pacing can only be measured on
//! real hardware (a photodiode on the screen corner is the reference).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use et_drivers::Clock;
use winit::application::ApplicationHandler;
use winit::event::{ElementState, WindowEvent};
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::keyboard::{Key, NamedKey};
use winit::platform::pump_events::{EventLoopExtPumpEvents, PumpStatus};
use winit::window::{Fullscreen, Window, WindowId};

use super::gpu::{request_device, GpuInfo, Renderer};
use super::{PresentError, Result, Screen, Style};
use crate::timing::{pacing_evidence, PacingEvidence};

/// Where the window goes.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowConfig {
    /// Borderless full screen on `monitor`; otherwise a window of `width` × `height`.
    pub fullscreen: bool,
    /// Index into the monitors the system lists (`None`: the primary one).
    pub monitor: Option<usize>,
    /// The screen size the study is set up for (px). In full screen the monitor must match it,
    /// or gaze (relative to the display) would map to the wrong image pixels.
    pub width: u32,
    pub height: u32,
    /// The refresh rate the study plans with; the presenter never shows frames faster.
    pub refresh_hz: f64,
    pub title: String,
    /// The operator's second window (live picture), if wanted.
    pub operator: Option<OperatorWindowConfig>,
}

/// Where the operator's live window goes.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorWindowConfig {
    /// Borderless full screen on this monitor (index as for the participant's); `None`: a
    /// window of `width` × `height` beside the participant's.
    pub monitor: Option<usize>,
    pub width: u32,
    pub height: u32,
}

/// The latest picture for the operator's window and how many went out. The session's side
/// only replaces the picture (never waits); the presenter thread shows the newest one after
/// the participant's next frame, so the operator's window can never hold up the participant's.
#[derive(Debug, Default)]
struct OperatorSlot {
    picture: std::sync::Mutex<Option<image::RgbaImage>>,
    shown: std::sync::atomic::AtomicU64,
    /// Why the operator's window stopped (closed by the operator, or it failed); it never
    /// takes the session with it.
    ended: std::sync::Mutex<Option<String>>,
}

/// A handle that feeds the operator's window (cheap to clone, usable from any thread).
#[derive(Debug, Clone)]
pub struct OperatorFeed {
    slot: Arc<OperatorSlot>,
    /// The window's size (px) as it opened.
    pub width: u32,
    pub height: u32,
}

impl OperatorFeed {
    /// Shows `picture` as soon as the presenter gets to it, replacing one not yet shown.
    pub fn show(&self, picture: image::RgbaImage) {
        *self.slot.picture.lock().unwrap_or_else(|e| e.into_inner()) = Some(picture);
    }

    /// Pictures that reached the operator's window so far.
    pub fn shown(&self) -> u64 {
        self.slot.shown.load(Ordering::Relaxed)
    }

    /// Why the operator's window is gone, once it is.
    pub fn ended(&self) -> Option<String> {
        self.slot
            .ended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// What the operator pressed in the participant's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorKey {
    /// Space, Enter or `c`.
    Continue,
    /// `p`.
    Pause,
    /// `r`.
    Recalibrate,
    /// A digit 1–9: after validation, redo that calibration point (numbered in reading order).
    Point(u8),
    /// Escape, `q`, or the window closed.
    Abort,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PresenterInfo {
    pub gpu: GpuInfo,
    pub width: u32,
    pub height: u32,
    pub monitor: String,
    /// The refresh rate the monitor reports (not measured).
    pub nominal_hz: Option<f64>,
    pub surface_format: String,
}

impl std::fmt::Display for PresenterInfo {
    /// "<gpu> on <monitor>, <w>x<h> px, <surface format>; nominal <Hz>", as recordings note it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} on {}, {}x{} px, {}; nominal ",
            self.gpu, self.monitor, self.width, self.height, self.surface_format
        )?;
        match self.nominal_hz {
            Some(h) => write!(f, "{h:.3} Hz"),
            None => write!(f, "unknown"),
        }
    }
}

/// One frame that went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresentedFrame {
    /// On the tracker's clock (µs).
    pub ts_us: i64,
}

enum Command {
    Preload {
        key: String,
        image: image::RgbaImage,
        reply: Sender<Result<()>>,
    },
    Unload(String),
    Present {
        screen: Screen,
        not_before: Option<i64>,
        reply: Sender<Result<PresentedFrame>>,
    },
}

/// What the presenter has learnt about the display's pacing, shared with its handle.
#[derive(Debug, Default)]
struct Pacing {
    /// The display does not pace frames: the presenter holds each for one period itself.
    self_paced: AtomicBool,
    evidence: std::sync::Mutex<Option<PacingEvidence>>,
}

/// The handle the session holds. Dropping it closes the window.
pub struct Presenter {
    tx: Option<Sender<Command>>,
    keys: Receiver<OperatorKey>,
    info: PresenterInfo,
    thread: Option<JoinHandle<()>>,
    pacing: Arc<Pacing>,
    operator: Option<OperatorFeed>,
}

impl Presenter {
    /// Opens the window on its own thread and waits until it can draw.
    pub fn open(cfg: WindowConfig, style: Style, clock: Arc<dyn Clock>) -> Result<Presenter> {
        style.validate()?;
        let (tx, rx) = unbounded();
        let (key_tx, keys) = unbounded();
        let (ready_tx, ready) = bounded(1);
        let pacing = Arc::new(Pacing::default());
        let shared = Arc::clone(&pacing);
        let slot = Arc::new(OperatorSlot::default());
        let op_slot = Arc::clone(&slot);
        let thread = std::thread::Builder::new()
            .name("presenter".into())
            .spawn(move || {
                let mut app = App {
                    cfg,
                    style: Some(style),
                    clock,
                    keys: key_tx,
                    gfx: None,
                    failed: None,
                    closed: false,
                    pacing: shared,
                    operator: None,
                    operator_slot: op_slot,
                };
                let mut event_loop = match new_event_loop() {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                // Pump until the window exists (or failed).
                let started = Instant::now();
                while app.gfx.is_none() && app.failed.is_none() {
                    if let PumpStatus::Exit(_) =
                        event_loop.pump_app_events(Some(Duration::from_millis(10)), &mut app)
                    {
                        break;
                    }
                    if started.elapsed() > Duration::from_secs(20) {
                        app.failed = Some(PresentError::Window(
                            "the window did not appear within 20 s".into(),
                        ));
                    }
                }
                match (&app.gfx, app.failed.take()) {
                    (Some(g), None) => {
                        let size = app
                            .operator
                            .as_ref()
                            .map(|o| (o.config.width, o.config.height));
                        let _ = ready_tx.send(Ok((g.info.clone(), size)));
                    }
                    (_, Some(e)) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                    (None, None) => {
                        let _ = ready_tx.send(Err(PresentError::Window(
                            "the event loop ended before the window opened".into(),
                        )));
                        return;
                    }
                }
                app.serve(&mut event_loop, &rx);
            })
            .map_err(|e| PresentError::Window(format!("cannot start the presenter thread: {e}")))?;
        let (info, operator_size) = ready
            .recv()
            .map_err(|_| PresentError::Window("the presenter thread ended at start-up".into()))??;
        Ok(Presenter {
            tx: Some(tx),
            keys,
            info,
            thread: Some(thread),
            pacing,
            operator: operator_size.map(|(width, height)| OperatorFeed {
                slot,
                width,
                height,
            }),
        })
    }

    /// The operator's window, when one was asked for and opened.
    pub fn operator_feed(&self) -> Option<OperatorFeed> {
        self.operator.clone()
    }

    pub fn info(&self) -> &PresenterInfo {
        &self.info
    }

    fn send(&self, c: Command) -> Result<()> {
        self.tx
            .as_ref()
            .ok_or(PresentError::Gone)?
            .send(c)
            .map_err(|_| PresentError::Gone)
    }

    /// Uploads an image to the GPU; returns once it is resident.
    pub fn preload(&self, key: &str, image: image::RgbaImage) -> Result<()> {
        let (reply, rx) = bounded(1);
        self.send(Command::Preload {
            key: key.into(),
            image,
            reply,
        })?;
        rx.recv().map_err(|_| PresentError::Gone)?
    }

    pub fn unload(&self, key: &str) -> Result<()> {
        self.send(Command::Unload(key.into()))
    }

    /// Shows `screen` for one frame, not before `not_before` on the clock (µs; the end of the
    /// screen before it, so that screen lasts its whole periods whatever the display does);
    /// returns when that frame is on the display.
    pub fn present(&self, screen: &Screen, not_before: Option<i64>) -> Result<PresentedFrame> {
        let (reply, rx) = bounded(1);
        self.send(Command::Present {
            screen: screen.clone(),
            not_before,
            reply,
        })?;
        rx.recv().map_err(|_| PresentError::Gone)?
    }

    /// Whether the display turned out not to pace frames, so the presenter holds each frame
    /// for one refresh period itself (known after 60 frames).
    pub fn self_paced(&self) -> bool {
        self.pacing.self_paced.load(Ordering::SeqCst)
    }

    /// What the pacing judgement saw (after the first 60 frames).
    pub fn pacing_evidence(&self) -> Option<PacingEvidence> {
        self.pacing.evidence.lock().ok().and_then(|e| *e)
    }

    /// Keys pressed since the last call.
    pub fn keys(&self) -> Vec<OperatorKey> {
        self.keys.try_iter().collect()
    }
}

impl Drop for Presenter {
    fn drop(&mut self) {
        // Closing the command channel ends the thread, which drops the window.
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn new_event_loop() -> Result<EventLoop<()>> {
    let mut b = EventLoop::builder();
    // The session owns the main thread; winit allows its loop elsewhere on X11 and Wayland.
    winit::platform::x11::EventLoopBuilderExtX11::with_any_thread(&mut b, true);
    winit::platform::wayland::EventLoopBuilderExtWayland::with_any_thread(&mut b, true);
    b.build().map_err(|e| {
        PresentError::Window(format!(
            "cannot reach a display ({e}); is DISPLAY or WAYLAND_DISPLAY set? (use --headless, or xvfb-run)"
        ))
    })
}

/// Fields drop in order: the acquired image must go before the surface it came from.
struct Gfx {
    /// The image acquired right after the last present (see the module comment).
    next: Option<wgpu::SurfaceTexture>,
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    /// Rendering goes through a non-sRGB view so 8-bit values reach the screen unchanged.
    view_format: wgpu::TextureFormat,
    renderer: Renderer,
    info: PresenterInfo,
    shown: Option<(Screen, Instant)>,
    last_ts: Option<i64>,
    /// Frame stamps before any holding, and how long each present kept the thread, to tell a
    /// display that does not pace.
    raw_stamps: Vec<i64>,
    raw_blocked: Vec<i64>,
    pacing: Arc<Pacing>,
}

struct App {
    cfg: WindowConfig,
    style: Option<Style>,
    clock: Arc<dyn Clock>,
    keys: Sender<OperatorKey>,
    gfx: Option<Gfx>,
    failed: Option<PresentError>,
    closed: bool,
    pacing: Arc<Pacing>,
    operator: Option<OperatorGfx>,
    operator_slot: Arc<OperatorSlot>,
}

/// The operator's window: its own surface and renderer on the participant's device.
struct OperatorGfx {
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    view_format: wgpu::TextureFormat,
    renderer: Renderer,
}

impl App {
    /// Shows the newest operator picture, if one came since the last. A failure closes the
    /// operator's window (said once in the log and through the feed), never the session.
    fn serve_operator(&mut self) {
        let Some(op) = &mut self.operator else {
            return;
        };
        // Only early in a participant's refresh period: the next participant frame is due
        // one period after the last, and the operator's picture must not eat into that.
        let period_us = 1e6 / self.cfg.refresh_hz;
        if let Some(last) = self.gfx.as_ref().and_then(|g| g.last_ts) {
            let into_period = self.clock.now_us().saturating_sub(last) as f64 % period_us;
            if into_period > period_us / 3.0 {
                return;
            }
        }
        let Some(picture) = self
            .operator_slot
            .picture
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return;
        };
        match op.show(&picture) {
            Ok(true) => {
                self.operator_slot.shown.fetch_add(1, Ordering::Relaxed);
            }
            Ok(false) => {}
            Err(e) => self.end_operator(format!("the operator's window failed: {e}")),
        }
    }

    fn end_operator(&mut self, why: String) {
        if self.operator.take().is_some() {
            tracing::warn!("{why}; the session goes on");
            *self
                .operator_slot
                .ended
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(why);
        }
    }

    fn serve(&mut self, event_loop: &mut EventLoop<()>, rx: &Receiver<Command>) {
        loop {
            if let PumpStatus::Exit(_) = event_loop.pump_app_events(Some(Duration::ZERO), self) {
                self.closed = true;
            }
            match rx.recv_timeout(Duration::from_millis(2)) {
                Ok(Command::Preload { key, image, reply }) => {
                    let r = match &mut self.gfx {
                        Some(g) => g.renderer.preload(&key, &image),
                        None => Err(PresentError::Gone),
                    };
                    let _ = reply.send(r);
                }
                Ok(Command::Unload(key)) => {
                    if let Some(g) = &mut self.gfx {
                        g.renderer.unload(&key);
                    }
                }
                Ok(Command::Present {
                    screen,
                    not_before,
                    reply,
                }) => {
                    let r = if self.closed {
                        Err(PresentError::Gone)
                    } else {
                        self.present(&screen, not_before)
                    };
                    let _ = reply.send(r);
                    // Right after the participant's frame went out: a whole period to spare.
                    self.serve_operator();
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => self.serve_operator(),
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn present(&mut self, screen: &Screen, not_before: Option<i64>) -> Result<PresentedFrame> {
        let period_us = 1e6 / self.cfg.refresh_hz;
        let clock = Arc::clone(&self.clock);
        let g = self.gfx.as_mut().ok_or(PresentError::Gone)?;
        let age = match &g.shown {
            Some((s, since)) if s == screen => since.elapsed().as_secs_f32(),
            _ => {
                g.shown = Some((screen.clone(), Instant::now()));
                0.0
            }
        };
        let frame = match g.next.take() {
            Some(f) => f,
            None => acquire(g)?,
        };
        let view = frame.texture.create_view(&wgpu::TextureViewDescriptor {
            format: Some(g.view_format),
            ..Default::default()
        });
        let enc = g
            .renderer
            .encode(&view, g.config.width, g.config.height, screen, age)?;
        g.renderer.queue().submit([enc.finish()]);
        // The frame is drawn; it goes out no earlier than it may (held before presenting, so
        // the stamp is when it really went out, not when a hold ended after it was shown).
        let self_paced = g.pacing.self_paced.load(Ordering::SeqCst);
        let hold = release_time(g.last_ts, not_before, period_us, self_paced);
        if let Some(due) = hold {
            let limit = Duration::from_micros(
                due.saturating_sub(clock.now_us()).clamp(0, 10_000_000) as u64,
            );
            clock.wait_until(due, limit + Duration::from_millis(1));
        }
        // A display that does not pace has no flip to wait for: its frame goes out when it is
        // handed over, so that is its stamp (and the grid the next frame is held to).
        let handed_over = clock.now_us();
        g.window.pre_present_notify();
        g.renderer.queue().present(frame);
        g.next = Some(acquire(g)?);
        let mut ts = if self_paced {
            handed_over
        } else {
            clock.now_us()
        };
        if !self_paced && hold.is_none() {
            g.judge_pacing(ts, ts - handed_over, period_us);
        }
        // Until pacing is judged, a frame that came clearly early is held afterwards.
        if let (Some(last), false) = (g.last_ts, self_paced) {
            if ((ts - last) as f64) <= 0.5 * period_us {
                clock.wait_until(
                    last + period_us.round() as i64,
                    Duration::from_micros(period_us as u64 * 2),
                );
                ts = clock.now_us();
            }
        }
        g.last_ts = Some(ts);
        Ok(PresentedFrame { ts_us: ts })
    }
}

impl Gfx {
    /// Takes one frame presented without any hold (its stamp, and how long the present kept the
    /// thread) towards the pacing judgement; judges once it has enough of them.
    fn judge_pacing(&mut self, ts: i64, blocked_us: i64, period_us: f64) {
        if self.raw_stamps.len() >= PACING_FRAMES {
            return;
        }
        self.raw_stamps.push(ts);
        self.raw_blocked.push(blocked_us);
        if self.raw_stamps.len() < PACING_FRAMES {
            return;
        }
        let rate_reported = self.info.nominal_hz.is_some();
        let Some(e) = pacing_evidence(
            &self.raw_stamps,
            &self.raw_blocked,
            period_us,
            rate_reported,
        ) else {
            return;
        };
        tracing::info!("{e}");
        if let Ok(mut slot) = self.pacing.evidence.lock() {
            *slot = Some(e);
        }
        if !e.paces {
            self.pacing.self_paced.store(true, Ordering::SeqCst);
            tracing::warn!("the display does not pace frames (virtual display?); the presenter holds each frame for one refresh period itself");
        }
    }
}

/// Frames the presenter watches before judging whether the display paces them (a session's
/// 60 blank frames before the first screen that matters).
const PACING_FRAMES: usize = 60;

/// When a drawn frame may be presented, if it has to wait: on a display known not to pace,
/// one refresh period after the previous frame; and never before `not_before` (the end of the
/// screen before it). A paced display flips at the vsync after the frame is queued, so there
/// the frame is queued half a period before `not_before` and the flip lands on it.
fn release_time(
    last: Option<i64>,
    not_before: Option<i64>,
    period_us: f64,
    self_paced: bool,
) -> Option<i64> {
    let paced_hold = last
        .filter(|_| self_paced)
        .map(|l| l.saturating_add(period_us.round() as i64));
    let end_hold = not_before.map(|t| {
        if self_paced {
            t
        } else {
            t.saturating_sub((period_us / 2.0).round() as i64)
        }
    });
    paced_hold.max(end_hold)
}

fn acquire(g: &mut Gfx) -> Result<wgpu::SurfaceTexture> {
    for _ in 0..5 {
        match g.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(t)
            | wgpu::CurrentSurfaceTexture::Suboptimal(t) => return Ok(t),
            wgpu::CurrentSurfaceTexture::Timeout | wgpu::CurrentSurfaceTexture::Occluded => {
                std::thread::sleep(Duration::from_millis(1));
            }
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                g.surface.configure(g.renderer.device(), &g.config);
            }
            wgpu::CurrentSurfaceTexture::Validation => {
                return Err(PresentError::Device(
                    "the window surface refused a frame (validation error)".into(),
                ))
            }
        }
    }
    Err(PresentError::Device(
        "the window surface gave no image in 5 tries (window hidden or display lost?)".into(),
    ))
}

impl OperatorGfx {
    /// Opens the operator's window on the participant's device. Its frames never wait for a
    /// vsync where the surface can avoid it (mailbox or immediate), so presenting one cannot
    /// block the participant's presenter.
    fn open(
        event_loop: &ActiveEventLoop,
        cfg: &OperatorWindowConfig,
        beside: &Window,
        instance: &wgpu::Instance,
        adapter: &wgpu::Adapter,
        participant: &Renderer,
    ) -> Result<OperatorGfx> {
        let monitors: Vec<_> = event_loop.available_monitors().collect();
        let mut attrs = Window::default_attributes()
            .with_title("et-suite: operator")
            .with_resizable(true);
        let (w, h) = match cfg.monitor {
            Some(i) => {
                let m = monitor_at(&monitors, i, "operator monitor")?;
                let size = m.size();
                attrs = attrs.with_fullscreen(Some(Fullscreen::Borderless(Some(m))));
                (size.width, size.height)
            }
            None => {
                let at = beside.outer_position().unwrap_or_default();
                let right = at.x.saturating_add(beside.outer_size().width as i32 + 8);
                attrs = attrs
                    .with_position(winit::dpi::PhysicalPosition::new(right, at.y))
                    .with_inner_size(winit::dpi::PhysicalSize::new(cfg.width, cfg.height));
                (cfg.width, cfg.height)
            }
        };
        let window = Arc::new(event_loop.create_window(attrs).map_err(|e| {
            PresentError::Window(format!("cannot open the operator's window: {e}"))
        })?);
        let surface = instance.create_surface(Arc::clone(&window)).map_err(|e| {
            PresentError::Window(format!("cannot draw into the operator's window: {e}"))
        })?;
        let mut config = surface
            .get_default_config(adapter, w.max(1), h.max(1))
            .ok_or_else(|| {
                PresentError::Window("the GPU cannot present to the operator's window".into())
            })?;
        let caps = surface.get_capabilities(adapter);
        let view_format = unorm_view(&mut config, &caps);
        config.present_mode = [wgpu::PresentMode::Mailbox, wgpu::PresentMode::Immediate]
            .into_iter()
            .find(|m| caps.present_modes.contains(m))
            .unwrap_or(wgpu::PresentMode::Fifo);
        config.desired_maximum_frame_latency = 2;
        surface.configure(participant.device(), &config);
        let renderer = participant.beside(view_format, Style::default());
        Ok(OperatorGfx {
            window,
            surface,
            config,
            view_format,
            renderer,
        })
    }

    /// Draws `picture` over the whole window; false when the window had no image to give
    /// (hidden, minimised): the picture is skipped, never waited for.
    fn show(&mut self, picture: &image::RgbaImage) -> Result<bool> {
        let frame = match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(t)
            | wgpu::CurrentSurfaceTexture::Suboptimal(t) => t,
            wgpu::CurrentSurfaceTexture::Timeout | wgpu::CurrentSurfaceTexture::Occluded => {
                return Ok(false)
            }
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                self.surface.configure(self.renderer.device(), &self.config);
                return Ok(false);
            }
            wgpu::CurrentSurfaceTexture::Validation => {
                return Err(PresentError::Device(
                    "its surface refused a frame (validation error)".into(),
                ))
            }
        };
        self.renderer.preload(OPERATOR_PICTURE, picture)?;
        let view = frame.texture.create_view(&wgpu::TextureViewDescriptor {
            format: Some(self.view_format),
            ..Default::default()
        });
        let (w, h) = (self.config.width, self.config.height);
        let screen = Screen::Image {
            key: OPERATOR_PICTURE.into(),
            rect: [0.0, 0.0, w as f32, h as f32],
        };
        let enc = self.renderer.encode(&view, w, h, &screen, 0.0)?;
        self.renderer.queue().submit([enc.finish()]);
        self.window.pre_present_notify();
        self.renderer.queue().present(frame);
        Ok(true)
    }

    fn resize(&mut self, w: u32, h: u32) {
        if w > 0 && h > 0 {
            self.config.width = w;
            self.config.height = h;
            self.surface.configure(self.renderer.device(), &self.config);
        }
    }
}

/// The monitor at index `i` (`what` names it in the error).
fn monitor_at(
    monitors: &[winit::monitor::MonitorHandle],
    i: usize,
    what: &str,
) -> Result<winit::monitor::MonitorHandle> {
    monitors.get(i).cloned().ok_or_else(|| {
        PresentError::Window(format!(
            "{what} {i} does not exist; this system has {} (0..{})",
            monitors.len(),
            monitors.len().saturating_sub(1)
        ))
    })
}

/// Sets `config` to a non-sRGB surface format where the surface has one, and returns the
/// format to render through (never sRGB), so 8-bit values reach the screen unchanged.
fn unorm_view(
    config: &mut wgpu::SurfaceConfiguration,
    caps: &wgpu::SurfaceCapabilities,
) -> wgpu::TextureFormat {
    config.format = caps
        .formats
        .iter()
        .copied()
        .find(|f| !f.is_srgb())
        .unwrap_or(config.format);
    let view_format = config.format.remove_srgb_suffix();
    if view_format != config.format {
        config.view_formats = vec![view_format];
    }
    view_format
}

/// The operator picture's texture key in the operator window's renderer.
const OPERATOR_PICTURE: &str = "operator";

impl App {
    fn open(&mut self, event_loop: &ActiveEventLoop) -> Result<Gfx> {
        let monitors: Vec<_> = event_loop.available_monitors().collect();
        let monitor = match self.cfg.monitor {
            Some(i) => Some(monitor_at(&monitors, i, "monitor")?),
            None => event_loop
                .primary_monitor()
                .or_else(|| monitors.first().cloned()),
        };
        let monitor_name = monitor
            .as_ref()
            .and_then(|m| m.name())
            .unwrap_or_else(|| "unnamed monitor".into());
        let nominal_hz = monitor
            .as_ref()
            .and_then(|m| m.refresh_rate_millihertz())
            .map(|mhz| f64::from(mhz) / 1000.0);
        let (w, h) = (self.cfg.width, self.cfg.height);
        if self.cfg.fullscreen {
            if let Some(m) = &monitor {
                let size = m.size();
                if (size.width, size.height) != (w, h) {
                    return Err(PresentError::Window(format!(
                        "{monitor_name} is {}x{} px but the study's [screen] is {w}x{h} px; \
                         set the screen size to the monitor's or choose another monitor",
                        size.width, size.height
                    )));
                }
            }
        }
        let mut attrs = Window::default_attributes()
            .with_title(self.cfg.title.clone())
            .with_inner_size(winit::dpi::PhysicalSize::new(w, h))
            .with_resizable(false);
        if self.cfg.fullscreen {
            attrs = attrs.with_fullscreen(Some(Fullscreen::Borderless(monitor.clone())));
        }
        let window = Arc::new(
            event_loop
                .create_window(attrs)
                .map_err(|e| PresentError::Window(format!("cannot open the window: {e}")))?,
        );
        if self.cfg.fullscreen {
            window.set_cursor_visible(false);
        }
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_with_display_handle(
            Box::new(event_loop.owned_display_handle()),
        ));
        let surface = instance
            .create_surface(Arc::clone(&window))
            .map_err(|e| PresentError::Window(format!("cannot draw into the window: {e}")))?;
        let (adapter, device, queue, gpu) = request_device(&instance, Some(&surface))?;
        let size = window.inner_size();
        let mut config = surface
            .get_default_config(&adapter, size.width.max(1), size.height.max(1))
            .ok_or_else(|| {
                PresentError::Window(format!("{} cannot present to this window", gpu.adapter))
            })?;
        let view_format = unorm_view(&mut config, &surface.get_capabilities(&adapter));
        config.present_mode = wgpu::PresentMode::Fifo;
        config.desired_maximum_frame_latency = 1;
        surface.configure(&device, &config);
        let style = self.style.take().unwrap_or_default();
        let renderer = Renderer::new(device, queue, view_format, style, gpu.clone());
        let info = PresenterInfo {
            gpu,
            width: config.width,
            height: config.height,
            monitor: monitor_name,
            nominal_hz,
            surface_format: format!("{:?}", config.format),
        };
        if let Some(oc) = &self.cfg.operator {
            self.operator = Some(OperatorGfx::open(
                event_loop, oc, &window, &instance, &adapter, &renderer,
            )?);
        }
        Ok(Gfx {
            window,
            surface,
            config,
            view_format,
            renderer,
            next: None,
            info,
            shown: None,
            last_ts: None,
            raw_stamps: Vec::with_capacity(PACING_FRAMES),
            raw_blocked: Vec::with_capacity(PACING_FRAMES),
            pacing: Arc::clone(&self.pacing),
        })
    }

    fn key(&self, k: OperatorKey) {
        let _ = self.keys.send(k);
    }
}

impl ApplicationHandler for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.gfx.is_some() || self.failed.is_some() {
            return;
        }
        match self.open(event_loop) {
            Ok(g) => self.gfx = Some(g),
            Err(e) => self.failed = Some(e),
        }
    }

    fn window_event(&mut self, _: &ActiveEventLoop, id: WindowId, event: WindowEvent) {
        if self.operator.as_ref().is_some_and(|o| o.window.id() == id) {
            match event {
                WindowEvent::CloseRequested => {
                    self.end_operator("the operator closed the operator's window".into())
                }
                WindowEvent::Resized(size) => {
                    if let Some(o) = &mut self.operator {
                        o.resize(size.width, size.height);
                    }
                }
                // Keys pressed in the operator's window act as in the participant's.
                WindowEvent::KeyboardInput { .. } => self.participant_event(event),
                _ => {}
            }
            return;
        }
        self.participant_event(event);
    }
}

impl App {
    fn participant_event(&mut self, event: WindowEvent) {
        match event {
            WindowEvent::CloseRequested => {
                self.closed = true;
                self.key(OperatorKey::Abort);
            }
            WindowEvent::Resized(size) => {
                if let Some(g) = &mut self.gfx {
                    if size.width > 0 && size.height > 0 {
                        g.next = None;
                        g.config.width = size.width;
                        g.config.height = size.height;
                        g.surface.configure(g.renderer.device(), &g.config);
                        g.info.width = size.width;
                        g.info.height = size.height;
                    }
                }
            }
            WindowEvent::KeyboardInput { event, .. }
                if event.state == ElementState::Pressed && !event.repeat =>
            {
                let k = match event.logical_key.as_ref() {
                    Key::Named(NamedKey::Space | NamedKey::Enter) => Some(OperatorKey::Continue),
                    Key::Named(NamedKey::Escape) => Some(OperatorKey::Abort),
                    Key::Character(c) => match c.to_ascii_lowercase().as_str() {
                        "c" => Some(OperatorKey::Continue),
                        "p" => Some(OperatorKey::Pause),
                        "r" => Some(OperatorKey::Recalibrate),
                        "q" => Some(OperatorKey::Abort),
                        d => d
                            .parse::<u8>()
                            .ok()
                            .filter(|n| (1..=9).contains(n))
                            .map(OperatorKey::Point),
                    },
                    _ => None,
                };
                if let Some(k) = k {
                    self.key(k);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::release_time;

    #[test]
    fn a_frame_is_held_for_the_period_and_for_the_end_of_the_screen_before_it() {
        let p = 16_666.667;
        // A paced display with nothing to wait for: the vsync holds the frame.
        assert_eq!(release_time(Some(1_000), None, p, false), None);
        // Queued half a period early there, so the flip lands on the end of the screen.
        assert_eq!(
            release_time(Some(1_000), Some(151_000), p, false),
            Some(142_667)
        );
        // A display that does not pace: a period after the last frame, and never before the end.
        assert_eq!(release_time(Some(1_000), None, p, true), Some(17_667));
        assert_eq!(
            release_time(Some(140_000), Some(151_000), p, true),
            Some(156_667)
        );
        assert_eq!(
            release_time(Some(120_000), Some(151_000), p, true),
            Some(151_000)
        );
        assert_eq!(release_time(None, None, p, true), None);
    }
}
