//! The C callbacks the SDK calls from its own thread. Each copies the data it is handed and
//! returns: no blocking, no allocation (the channels are bounded arrays), no unwinding across
//! the C boundary. Their contexts are leaked on purpose: the SDK documents no guarantee that a
//! callback in flight has finished when unsubscribe returns, so a context must outlive every
//! possible call; `active` turns a late call into a no-op.

use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use crossbeam_channel::Sender;

use super::abi::*;
use crate::channel::SampleSender;
use crate::clock::monotonic_now_us;
use crate::sample::{EyeSample, GazeSample};

pub(crate) struct GazeContext {
    pub sink: SampleSender,
    pub major: i32,
    pub active: AtomicBool,
    /// CLOCK_MONOTONIC µs when the last sample arrived (0: none yet).
    pub last_arrival_us: AtomicI64,
    /// `system_time_stamp` of the last sample.
    pub last_sample_ts: AtomicI64,
    pub received: AtomicU64,
}

fn nan_unless(valid: bool, v: f32) -> f32 {
    if valid {
        v
    } else {
        f32::NAN
    }
}

/// One eye from the SDK's fields. Values of invalid parts become NaN: the SDK does not promise
/// NaN for invalid data, the recording format does.
fn eye(gp: &GazePoint, pupil: &PupilData, origin: Point3D, origin_validity: Validity) -> EyeSample {
    let gv = gp.validity == VALIDITY_VALID;
    let pv = pupil.validity == VALIDITY_VALID;
    let ov = origin_validity == VALIDITY_VALID;
    let p3 = |p: Point3D, ok: bool| {
        [
            nan_unless(ok, p.x),
            nan_unless(ok, p.y),
            nan_unless(ok, p.z),
        ]
    };
    EyeSample {
        gaze_x: nan_unless(gv, gp.position_on_display_area.x),
        gaze_y: nan_unless(gv, gp.position_on_display_area.y),
        gaze_valid: gv,
        pupil_mm: nan_unless(pv, pupil.diameter),
        pupil_valid: pv,
        origin_mm: p3(origin, ov),
        origin_valid: ov,
        gaze3d_mm: p3(gp.position_in_user_coordinates, gv),
    }
}

pub(crate) fn from_v1(d: &GazeDataV1) -> GazeSample {
    let e = |x: &EyeDataV1| {
        eye(
            &x.gaze_point,
            &x.pupil_data,
            x.gaze_origin.position_in_user_coordinates,
            x.gaze_origin.validity,
        )
    };
    GazeSample {
        system_ts_us: d.system_time_stamp,
        device_ts_us: d.device_time_stamp,
        left: e(&d.left_eye),
        right: e(&d.right_eye),
    }
}

pub(crate) fn from_v2(d: &GazeDataV2) -> GazeSample {
    let e = |x: &EyeDataV2| {
        eye(
            &x.gaze_point,
            &x.pupil_data,
            x.gaze_origin.position_in_user_coordinates,
            x.gaze_origin.validity,
        )
    };
    GazeSample {
        system_ts_us: d.system_time_stamp,
        device_ts_us: d.device_time_stamp,
        left: e(&d.left_eye),
        right: e(&d.right_eye),
    }
}

pub(crate) unsafe extern "C" fn on_gaze(data: *mut c_void, user: *mut c_void) {
    if data.is_null() || user.is_null() {
        return;
    }
    // Nothing below can panic; catch_unwind is the guarantee that nothing unwinds into C.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: `user` is the leaked GazeContext we subscribed with; `data` points to a
        // TobiiResearchGazeData of the layout of the loaded SDK's major version, valid during
        // this call, which we copy at once.
        let ctx = unsafe { &*(user as *const GazeContext) };
        if !ctx.active.load(Ordering::Acquire) {
            return;
        }
        let sample = unsafe {
            if ctx.major >= 2 {
                from_v2(&std::ptr::read_unaligned(data as *const GazeDataV2))
            } else {
                from_v1(&std::ptr::read_unaligned(data as *const GazeDataV1))
            }
        };
        ctx.last_sample_ts
            .store(sample.system_ts_us, Ordering::Release);
        ctx.last_arrival_us
            .store(monotonic_now_us(), Ordering::Release);
        ctx.received.fetch_add(1, Ordering::AcqRel);
        let _ = ctx.sink.try_push(sample);
    });
}

/// A notification or stream error, copied out of the callback for the watchdog to record.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Signal {
    Notification {
        ts: i64,
        kind: i32,
        frequency: f32,
    },
    StreamError {
        ts: i64,
        error: i32,
        source: i32,
        message: [u8; 120],
        len: usize,
    },
}

pub(crate) struct SignalContext {
    pub tx: Sender<Signal>,
    pub active: AtomicBool,
}

pub(crate) unsafe extern "C" fn on_notification(n: *mut Notification, user: *mut c_void) {
    if n.is_null() || user.is_null() {
        return;
    }
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: leaked SignalContext; `n` valid during the call, copied at once.
        let ctx = unsafe { &*(user as *const SignalContext) };
        if !ctx.active.load(Ordering::Acquire) {
            return;
        }
        let n = unsafe { std::ptr::read_unaligned(n) };
        // The union's float is meaningful only for frequency changes; reading it is always
        // defined (any bit pattern is a float).
        let frequency = unsafe { n.value.output_frequency };
        let _ = ctx.tx.try_send(Signal::Notification {
            ts: n.system_time_stamp,
            kind: n.notification_type,
            frequency,
        });
    });
}

pub(crate) unsafe extern "C" fn on_stream_error(e: *mut StreamErrorData, user: *mut c_void) {
    if e.is_null() || user.is_null() {
        return;
    }
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: leaked SignalContext; `e` and its message valid during the call.
        let ctx = unsafe { &*(user as *const SignalContext) };
        if !ctx.active.load(Ordering::Acquire) {
            return;
        }
        let d = unsafe { std::ptr::read_unaligned(e) };
        let mut message = [0u8; 120];
        let mut len = 0;
        if !d.message.is_null() {
            let mut p: *const c_char = d.message;
            while len < message.len() {
                let c = unsafe { *p } as u8;
                if c == 0 {
                    break;
                }
                message[len] = c;
                len += 1;
                p = unsafe { p.add(1) };
            }
        }
        let _ = ctx.tx.try_send(Signal::StreamError {
            ts: d.system_time_stamp,
            error: d.error,
            source: d.source,
            message,
            len,
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_parts_become_nan_and_valid_parts_are_copied() {
        let mut d = GazeDataV1 {
            system_time_stamp: 42,
            ..GazeDataV1::default()
        };
        d.left_eye.gaze_point.position_on_display_area = NormalizedPoint2D { x: 0.25, y: 0.75 };
        d.left_eye.gaze_point.validity = VALIDITY_VALID;
        d.left_eye.pupil_data = PupilData {
            diameter: 3.5,
            validity: 0,
        };
        d.right_eye.gaze_point.position_on_display_area = NormalizedPoint2D { x: 0.9, y: 0.9 };
        let s = from_v1(&d);
        assert_eq!(
            (s.left.gaze_x, s.left.gaze_y, s.left.gaze_valid),
            (0.25, 0.75, true)
        );
        assert!(s.left.pupil_mm.is_nan() && !s.left.pupil_valid);
        assert!(s.right.gaze_x.is_nan() && !s.right.gaze_valid);
        assert_eq!(s.system_ts_us, 42);
    }
}
