//! The fake tracker's state and its streaming thread.

use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use et_drivers::clock::monotonic_now_us;
use et_drivers::synthetic::{GazeGenerator, Scene, SyntheticConfig};
use et_drivers::tobii::abi::*;
use et_drivers::{EyeSample, GazeSample};

pub const SERIAL: &str = "X3120-FAKE-0001";
/// Made-up list; the X3-120's real list is read from the device (tobii_sdk.md §6).
pub const FREQUENCIES: [f32; 3] = [40.0, 60.0, 120.0];
/// Offered as well once `fake_tobii_allow_any_frequency` is on (Spectrum rates, stress runs).
pub const STRESS_FREQUENCIES: [f32; 3] = [600.0, 1200.0, 10_000.0];
pub const CALIBRATION_MAGIC: &[u8] = b"FAKECAL1";

static TRACKER_TOKEN: u8 = 0;

/// The one fake tracker's opaque handle.
pub fn tracker_ptr() -> EyeTrackerPtr {
    &TRACKER_TOKEN as *const u8 as *mut c_void
}

/// Locks, recovering from poisoning: a panic elsewhere must not take the fake down.
pub fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct Sub {
    pub cb: GazeCallback,
    pub user: *mut c_void,
}
// SAFETY: `user` is an opaque token handed back to the callback, never dereferenced here.
unsafe impl Send for Sub {}

/// One delivered sample as the fake meant it (NaN where invalid), for bit-exact comparison.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeEye {
    pub gaze: [f32; 2],
    pub pupil: f32,
    pub origin: [f32; 3],
    pub gaze3d: [f32; 3],
    pub gaze_valid: u8,
    pub pupil_valid: u8,
    pub origin_valid: u8,
    pub _pad: u8,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeSentSample {
    pub system_ts_us: i64,
    pub device_ts_us: i64,
    pub left: FakeEye,
    pub right: FakeEye,
}

fn fake_eye(e: &EyeSample) -> FakeEye {
    FakeEye {
        gaze: [e.gaze_x, e.gaze_y],
        pupil: e.pupil_mm,
        origin: e.origin_mm,
        gaze3d: e.gaze3d_mm,
        gaze_valid: e.gaze_valid.into(),
        pupil_valid: e.pupil_valid.into(),
        origin_valid: e.origin_valid.into(),
        _pad: 0,
    }
}

/// The C struct for one eye. Invalid fields carry junk (0.0), not NaN: the real SDK does not
/// promise NaN for invalid data, so the adapter must mask by validity.
fn gaze_point(e: &EyeSample) -> GazePoint {
    let v = |ok: bool, x: f32| if ok { x } else { 0.0 };
    GazePoint {
        position_on_display_area: NormalizedPoint2D {
            x: v(e.gaze_valid, e.gaze_x),
            y: v(e.gaze_valid, e.gaze_y),
        },
        position_in_user_coordinates: Point3D {
            x: v(e.gaze_valid, e.gaze3d_mm[0]),
            y: v(e.gaze_valid, e.gaze3d_mm[1]),
            z: v(e.gaze_valid, e.gaze3d_mm[2]),
        },
        validity: c_int::from(e.gaze_valid),
    }
}

fn pupil(e: &EyeSample) -> PupilData {
    PupilData {
        diameter: if e.pupil_valid { e.pupil_mm } else { 0.0 },
        validity: c_int::from(e.pupil_valid),
    }
}

fn origin(e: &EyeSample) -> Point3D {
    let v = |x: f32| if e.origin_valid { x } else { 0.0 };
    Point3D {
        x: v(e.origin_mm[0]),
        y: v(e.origin_mm[1]),
        z: v(e.origin_mm[2]),
    }
}

pub fn to_v1(s: &GazeSample) -> GazeDataV1 {
    let eye = |e: &EyeSample| EyeDataV1 {
        gaze_point: gaze_point(e),
        pupil_data: pupil(e),
        gaze_origin: GazeOriginV1 {
            position_in_user_coordinates: origin(e),
            position_in_track_box_coordinates: Point3D {
                x: 0.5,
                y: 0.5,
                z: 0.5,
            },
            validity: c_int::from(e.origin_valid),
        },
    };
    GazeDataV1 {
        left_eye: eye(&s.left),
        right_eye: eye(&s.right),
        device_time_stamp: s.device_ts_us,
        system_time_stamp: s.system_ts_us,
    }
}

pub fn to_v2(s: &GazeSample) -> GazeDataV2 {
    let eye = |e: &EyeSample| EyeDataV2 {
        gaze_point: gaze_point(e),
        pupil_data: pupil(e),
        gaze_origin: GazeOriginV2 {
            position_in_user_coordinates: origin(e),
            validity: c_int::from(e.origin_valid),
        },
    };
    GazeDataV2 {
        left_eye: eye(&s.left),
        right_eye: eye(&s.right),
        device_time_stamp: s.device_ts_us,
        system_time_stamp: s.system_ts_us,
    }
}

#[derive(Debug, Clone)]
struct Config {
    major: i32,
    seed: u64,
    frequency: f32,
    any_frequency: bool,
    burst: u32,
    delay_us: u32,
    /// Time spent inside the delivery loop after each callback (a slow dispatcher).
    dispatch_gap_us: u32,
}

fn default_config() -> Config {
    let built = if cfg!(feature = "sdk2") { 2 } else { 1 };
    let major = std::env::var("FAKE_TOBII_SDK_MAJOR")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|m| *m == 1 || *m == 2)
        .unwrap_or(built);
    Config {
        major,
        seed: 7,
        frequency: 120.0,
        any_frequency: false,
        burst: 1,
        delay_us: 0,
        dispatch_gap_us: 0,
    }
}

#[derive(Debug, Default)]
pub struct Calibration {
    pub active: bool,
    pub points: Vec<(f32, f32)>,
    /// Status of the next result (1 = success).
    pub status: c_int,
    pub applied: Vec<u8>,
}

#[derive(Debug, Default)]
struct Connection {
    /// Disconnected until this CLOCK_MONOTONIC time (µs).
    down_until: i64,
    /// LOST notified, RESTORED still owed.
    restore_owed: bool,
    lost_owed: bool,
}

pub struct Fake {
    cfg: Mutex<Config>,
    subs: Mutex<Vec<Sub>>,
    pub notify_subs: Mutex<Vec<(NotificationCallback, usize)>>,
    pub error_subs: Mutex<Vec<(StreamErrorCallback, usize)>>,
    pub calibration: Mutex<Calibration>,
    conn: Mutex<Connection>,
    injected: Mutex<HashMap<String, (c_int, u32)>>,
    sent: Mutex<Vec<FakeSentSample>>,
    sent_count: AtomicU64,
    in_flight: AtomicU32,
    pump: Mutex<Option<(Arc<AtomicBool>, JoinHandle<()>)>>,
}

static FAKE: LazyLock<Fake> = LazyLock::new(|| Fake {
    cfg: Mutex::new(default_config()),
    subs: Mutex::new(Vec::new()),
    notify_subs: Mutex::new(Vec::new()),
    error_subs: Mutex::new(Vec::new()),
    calibration: Mutex::new(Calibration {
        status: 1,
        ..Default::default()
    }),
    conn: Mutex::new(Connection::default()),
    injected: Mutex::new(HashMap::new()),
    sent: Mutex::new(Vec::new()),
    sent_count: AtomicU64::new(0),
    in_flight: AtomicU32::new(0),
    pump: Mutex::new(None),
});

pub fn fake() -> &'static Fake {
    &FAKE
}

/// Keep at most this many delivered samples for inspection (10 000 Hz for 60 s).
const SENT_LOG_MAX: usize = 700_000;

impl Fake {
    pub fn major(&self) -> i32 {
        guard(&self.cfg).major
    }
    pub fn configure(&self, major: c_int, seed: u64) {
        let mut c = guard(&self.cfg);
        if major == 1 || major == 2 {
            c.major = major;
        }
        c.seed = seed;
    }
    pub fn address(&self) -> String {
        if self.major() >= 2 {
            "tobii-prp://X3120-FAKE-0001".into()
        } else {
            "tet-tcp://169.254.10.20".into()
        }
    }
    pub fn frequency(&self) -> f32 {
        guard(&self.cfg).frequency
    }
    pub fn set_frequency(&self, hz: f32) {
        guard(&self.cfg).frequency = hz;
    }
    pub fn any_frequency(&self) -> bool {
        guard(&self.cfg).any_frequency
    }
    /// The frequencies the tracker offers.
    pub fn offered(&self) -> Vec<f32> {
        let mut v = FREQUENCIES.to_vec();
        if self.any_frequency() {
            v.extend(STRESS_FREQUENCIES);
        }
        v
    }
    pub fn allow_any_frequency(&self, allow: bool) {
        guard(&self.cfg).any_frequency = allow;
    }
    pub fn set_delivery(&self, burst: u32, delay_us: u32) {
        let mut c = guard(&self.cfg);
        c.burst = burst.max(1);
        c.delay_us = delay_us;
    }
    pub fn set_dispatch_gap(&self, us: u32) {
        guard(&self.cfg).dispatch_gap_us = us;
    }
    pub fn connected(&self) -> bool {
        monotonic_now_us() >= guard(&self.conn).down_until
    }

    pub fn take_injected(&self, name: &str) -> Option<c_int> {
        let mut m = guard(&self.injected);
        let e = m.get_mut(name)?;
        let code = e.0;
        e.1 -= 1;
        if e.1 == 0 {
            m.remove(name);
        }
        Some(code)
    }
    pub fn inject(&self, name: String, status: c_int, count: u32) {
        if count > 0 {
            guard(&self.injected).insert(name, (status, count));
        }
    }

    pub fn subscribe_gaze(&'static self, sub: Sub) -> Status {
        guard(&self.subs).push(sub);
        self.ensure_pump();
        0
    }
    /// Removes every subscription with `cb`; waits for a delivery in progress to finish.
    pub fn unsubscribe_gaze(&self, cb: GazeCallback) -> bool {
        let mut s = guard(&self.subs);
        let before = s.len();
        s.retain(|x| x.cb as usize != cb as usize);
        s.len() != before
    }

    pub fn disconnect(&self, ms: u32, drop_subscriptions: bool) {
        self.cut_off(ms, drop_subscriptions, true);
    }

    /// Stops delivering for `ms`; `announced`: with the SDK's connection-lost and -restored
    /// notifications and stream error (without: a tracker that just falls silent).
    fn cut_off(&self, ms: u32, drop_subscriptions: bool, announced: bool) {
        {
            let mut c = guard(&self.conn);
            c.down_until = monotonic_now_us() + i64::from(ms) * 1000;
            c.lost_owed = announced;
            c.restore_owed = announced;
        }
        if drop_subscriptions {
            guard(&self.subs).clear();
        }
    }

    pub fn sent_count(&self) -> u64 {
        self.sent_count.load(Ordering::Acquire)
    }
    pub fn sent_samples(&self, from: u64, max: usize) -> Vec<FakeSentSample> {
        let s = guard(&self.sent);
        let from = usize::try_from(from).unwrap_or(usize::MAX).min(s.len());
        s[from..(from + max).min(s.len())].to_vec()
    }
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }

    pub fn reset(&self) {
        if let Some((stop, h)) = guard(&self.pump).take() {
            stop.store(true, Ordering::Release);
            let _ = h.join();
        }
        guard(&self.subs).clear();
        guard(&self.notify_subs).clear();
        guard(&self.error_subs).clear();
        *guard(&self.calibration) = Calibration {
            status: 1,
            ..Default::default()
        };
        *guard(&self.conn) = Connection::default();
        guard(&self.injected).clear();
        guard(&self.sent).clear();
        self.sent_count.store(0, Ordering::Release);
        let major = guard(&self.cfg).major;
        *guard(&self.cfg) = Config {
            major,
            ..default_config()
        };
    }

    fn ensure_pump(&'static self) {
        let mut p = guard(&self.pump);
        if p.is_some() {
            return;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = Arc::clone(&stop);
        if let Ok(h) = std::thread::Builder::new()
            .name("fake-tobii-pump".into())
            .spawn(move || self.pump(&s2))
        {
            *p = Some((stop, h));
        }
    }

    fn notify(&self, ts: i64, kind: c_int) {
        let mut n = Notification {
            system_time_stamp: ts,
            notification_type: kind,
            value: NotificationValue { text: [0; 512] },
        };
        for (cb, user) in guard(&self.notify_subs).iter() {
            // SAFETY: calling back the subscriber with its own token and a notification that
            // lives for the call.
            unsafe { cb(&mut n, *user as *mut c_void) };
        }
    }

    fn stream_error(&self, ts: i64) {
        let msg = c"connection to the eye tracker lost (fake)";
        let mut e = StreamErrorData {
            system_time_stamp: ts,
            error: 0,
            source: 1,
            message: msg.as_ptr(),
        };
        for (cb, user) in guard(&self.error_subs).iter() {
            // SAFETY: as in `notify`.
            unsafe { cb(&mut e, *user as *mut c_void) };
        }
    }

    /// The streaming thread: samples on an absolute CLOCK_MONOTONIC grid at the current
    /// frequency, delivered to every subscriber while connected.
    fn pump(&self, stop: &AtomicBool) {
        // FAKE_TOBII_DISCONNECT=AT_MS:FOR_MS[:drop|:quiet] cuts the connection once, AT_MS
        // after streaming starts (`drop`: subscriptions lost too; `quiet`: no notification or
        // stream error, the tracker just stops sending): how a test injects a fault into
        // another process (the CLI).
        let mut scheduled = std::env::var("FAKE_TOBII_DISCONNECT").ok().and_then(|v| {
            let mut it = v.split(':');
            let at: i64 = it.next()?.parse().ok()?;
            let dur: u32 = it.next()?.parse().ok()?;
            let mode = it.next();
            Some((
                monotonic_now_us() + at * 1000,
                dur,
                mode == Some("drop"),
                mode != Some("quiet"),
            ))
        });
        let cfg = guard(&self.cfg).clone();
        let mut freq = cfg.frequency;
        let mut gen = GazeGenerator::new(SyntheticConfig {
            seed: cfg.seed,
            sampling_hz: f64::from(freq),
            ..SyntheticConfig::default()
        });
        let targets = [(0.5, 0.5), (0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8)];
        let mut origin = monotonic_now_us();
        let mut k: i64 = 0;
        let mut pending: Vec<GazeSample> = Vec::new();
        while !stop.load(Ordering::Acquire) {
            let c = guard(&self.cfg).clone();
            if (c.frequency - freq).abs() > f32::EPSILON {
                freq = c.frequency;
                origin = monotonic_now_us();
                k = 0;
            }
            let ts = origin + (k as f64 * 1e6 / f64::from(freq)).round() as i64;
            k += 1;
            let now = monotonic_now_us();
            if ts > now {
                std::thread::sleep(Duration::from_micros((ts - now) as u64));
            }
            if let Some((at, dur, drop_subs, announced)) = scheduled {
                if ts >= at {
                    self.cut_off(dur, drop_subs, announced);
                    scheduled = None;
                }
            }
            let (lost, restored) = {
                let mut cn = guard(&self.conn);
                let up = ts >= cn.down_until;
                let lost = std::mem::take(&mut cn.lost_owed);
                let restored = up && cn.restore_owed;
                if restored {
                    cn.restore_owed = false;
                }
                (if lost { Some(up) } else { None }, restored)
            };
            if lost.is_some() {
                self.notify(ts, NOTIFICATION_CONNECTION_LOST);
                self.stream_error(ts);
            }
            if restored {
                self.notify(ts, NOTIFICATION_CONNECTION_RESTORED);
            }
            if !self.connected() {
                pending.clear();
                continue;
            }
            let t = (ts - origin).max(0) / 1_000_000;
            let (x, y) = targets[(t as usize) % targets.len()];
            let scene = Scene::Target { x, y };
            pending.push(gen.sample(ts, t as usize, &scene));
            if pending.len() < c.burst as usize {
                continue;
            }
            if c.delay_us > 0 {
                std::thread::sleep(Duration::from_micros(u64::from(c.delay_us)));
            }
            self.deliver(&pending, c.dispatch_gap_us);
            pending.clear();
        }
    }

    fn deliver(&self, samples: &[GazeSample], gap_us: u32) {
        let subs = guard(&self.subs);
        if subs.is_empty() {
            return;
        }
        let major = self.major();
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        for s in samples {
            let (mut v1, mut v2) = (to_v1(s), to_v2(s));
            for sub in subs.iter() {
                let data: *mut c_void = if major >= 2 {
                    (&mut v2 as *mut GazeDataV2).cast()
                } else {
                    (&mut v1 as *mut GazeDataV1).cast()
                };
                // SAFETY: the subscriber's callback with its token; `data` lives for the call.
                unsafe { (sub.cb)(data, sub.user) };
                if gap_us > 0 {
                    std::thread::sleep(Duration::from_micros(u64::from(gap_us)));
                }
            }
            let mut log = guard(&self.sent);
            if log.len() < SENT_LOG_MAX {
                log.push(FakeSentSample {
                    system_ts_us: s.system_ts_us,
                    device_ts_us: s.device_ts_us,
                    left: fake_eye(&s.left),
                    right: fake_eye(&s.right),
                });
            }
            self.sent_count.fetch_add(1, Ordering::AcqRel);
        }
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A result for the collected points: five samples per point around the target.
/// A successful result also becomes the applied calibration, as on the real tracker.
pub fn calibration_result(c: &mut Calibration) -> *mut CalibrationResult {
    let points: Vec<CalibrationPoint> = c
        .points
        .iter()
        .map(|&(x, y)| {
            let eye = |dx: f32| CalibrationEyeData {
                position_on_display_area: NormalizedPoint2D {
                    x: x + dx,
                    y: y - dx,
                },
                validity: CALIBRATION_EYE_VALID_AND_USED,
            };
            let mut samples = vec![
                CalibrationSample {
                    left_eye: eye(0.01),
                    right_eye: eye(-0.01)
                };
                5
            ]
            .into_boxed_slice();
            let p = CalibrationPoint {
                position_on_display_area: NormalizedPoint2D { x, y },
                calibration_samples: samples.as_mut_ptr(),
                calibration_sample_count: samples.len(),
            };
            std::mem::forget(samples);
            p
        })
        .collect();
    let status = if c.points.is_empty() {
        CALIBRATION_FAILURE
    } else {
        c.status
    };
    if status != CALIBRATION_FAILURE {
        let mut blob = CALIBRATION_MAGIC.to_vec();
        for (x, y) in &c.points {
            blob.extend_from_slice(&x.to_le_bytes());
            blob.extend_from_slice(&y.to_le_bytes());
        }
        c.applied = blob;
    }
    let mut boxed = points.into_boxed_slice();
    let r = Box::new(CalibrationResult {
        calibration_points: boxed.as_mut_ptr(),
        calibration_point_count: boxed.len(),
        status,
    });
    std::mem::forget(boxed);
    Box::into_raw(r)
}

/// # Safety
/// `r` must come from [`calibration_result`] and be freed once.
pub unsafe fn free_calibration_result(r: *mut CalibrationResult) {
    if r.is_null() {
        return;
    }
    let r = Box::from_raw(r);
    if r.calibration_points.is_null() {
        return;
    }
    let points = Box::from_raw(std::ptr::slice_from_raw_parts_mut(
        r.calibration_points,
        r.calibration_point_count,
    ));
    for p in points.iter() {
        if !p.calibration_samples.is_null() {
            drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                p.calibration_samples,
                p.calibration_sample_count,
            )));
        }
    }
}
