//! A stand-in for `libtobii_research.so`: the Tobii Pro SDK C functions et-suite uses, with the
//! SDK 1.x (136-byte) or 2.x (112-byte) gaze layout, streaming synthetic gaze from a thread of
//! its own at the set frequency, stamped with CLOCK_MONOTONIC like the real SDK on Linux.
//!
//! Layout: SDK 1.x unless built with the `sdk2` feature; `FAKE_TOBII_SDK_MAJOR=1|2` overrides
//! at load time, and `fake_tobii_configure` before first use.
//!
//! Faults on request, through extra `fake_tobii_*` functions (tests load them from the same
//! library): disconnects (with or without the subscriptions surviving), status errors on any
//! call, late or bursty callbacks, and the calibration result. Another process (the CLI) gets
//! a disconnect with `FAKE_TOBII_DISCONNECT=AT_MS:FOR_MS[:drop]`.
//!
//! Unsubscribe semantics (the real SDK documents none): callbacks run under the subscription
//! lock, so once `unsubscribe_from_gaze_data` returns no callback with that pair is running or
//! will run. All of (tracker, callback) pairs with that callback are removed.
//!
//! Nothing here panics across the C boundary: locks recover from poisoning, and every exported
//! function catches unwinding.

#![allow(clippy::missing_safety_doc)]

mod state;

pub use state::{FakeEye, FakeSentSample};

use std::ffi::{c_char, c_float, c_int, c_void, CStr, CString};

use et_drivers::tobii::abi::*;
use state::{fake, guard, Sub};

// The status codes from the adapter's own table: one list of names and numbers.
use et_drivers::tobii::status::{
    INVALID_PARAMETER, OK, SE_CALIBRATION_ALREADY_STARTED, SE_CALIBRATION_NOT_STARTED,
    SE_CONNECTION_FAILED, SE_INVALID_PARAMETER, SE_NOT_SUBSCRIBED,
};

/// Runs an exported function body: injected failures first, no unwinding into C.
fn call(name: &str, body: impl FnOnce() -> Status) -> Status {
    if let Some(code) = fake().take_injected(name) {
        return code;
    }
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(1)
}

fn tracker_ok(et: EyeTrackerPtr) -> bool {
    et == state::tracker_ptr()
}

fn out_string(s: &str, out: *mut *mut c_char) -> Status {
    if out.is_null() {
        return INVALID_PARAMETER;
    }
    match CString::new(s) {
        Ok(c) => {
            // SAFETY: out checked non-null; freed by tobii_research_free_string.
            unsafe { *out = c.into_raw() };
            OK
        }
        Err(_) => 1,
    }
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_get_sdk_version(v: *mut SdkVersion) -> Status {
    call("get_sdk_version", || {
        if v.is_null() {
            return INVALID_PARAMETER;
        }
        let major = fake().major();
        *v = if major >= 2 {
            SdkVersion {
                major: 2,
                minor: 1,
                revision: 0,
                build: 0,
            }
        } else {
            SdkVersion {
                major: 1,
                minor: 11,
                revision: 0,
                build: 0,
            }
        };
        OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_get_system_time_stamp(t: *mut i64) -> Status {
    call("get_system_time_stamp", || {
        if t.is_null() {
            return INVALID_PARAMETER;
        }
        *t = et_drivers::clock::monotonic_now_us();
        OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_find_all_eyetrackers(out: *mut *mut EyeTrackers) -> Status {
    call("find_all_eyetrackers", || {
        if out.is_null() {
            return INVALID_PARAMETER;
        }
        let ptrs: Vec<EyeTrackerPtr> = if fake().connected() {
            vec![state::tracker_ptr()]
        } else {
            Vec::new()
        };
        let mut boxed = ptrs.into_boxed_slice();
        let list = Box::new(EyeTrackers {
            eyetrackers: boxed.as_mut_ptr(),
            count: boxed.len(),
        });
        std::mem::forget(boxed);
        *out = Box::into_raw(list);
        OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_free_eyetrackers(list: *mut EyeTrackers) {
    if list.is_null() {
        return;
    }
    let l = Box::from_raw(list);
    if !l.eyetrackers.is_null() {
        drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
            l.eyetrackers,
            l.count,
        )));
    }
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_get_eyetracker(
    address: *const c_char,
    out: *mut EyeTrackerPtr,
) -> Status {
    call("get_eyetracker", || {
        if address.is_null() || out.is_null() {
            return INVALID_PARAMETER;
        }
        let a = CStr::from_ptr(address).to_string_lossy();
        if a != fake().address() || !fake().connected() {
            return SE_CONNECTION_FAILED;
        }
        *out = state::tracker_ptr();
        OK
    })
}

macro_rules! string_getter {
    ($fn_name:ident, $name:literal, $value:expr) => {
        #[no_mangle]
        pub unsafe extern "C" fn $fn_name(et: EyeTrackerPtr, out: *mut *mut c_char) -> Status {
            call($name, || {
                if tracker_ok(et) {
                    out_string(&$value, out)
                } else {
                    INVALID_PARAMETER
                }
            })
        }
    };
}

string_getter!(tobii_research_get_address, "get_address", fake().address());
string_getter!(
    tobii_research_get_serial_number,
    "get_serial_number",
    String::from(state::SERIAL)
);
string_getter!(
    tobii_research_get_model,
    "get_model",
    String::from("Tobii Pro X3-120")
);
string_getter!(
    tobii_research_get_device_name,
    "get_device_name",
    String::from("fake X3-120")
);
string_getter!(
    tobii_research_get_firmware_version,
    "get_firmware_version",
    String::from("1.0.0-fake")
);

#[no_mangle]
pub unsafe extern "C" fn tobii_research_free_string(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_get_all_gaze_output_frequencies(
    et: EyeTrackerPtr,
    out: *mut *mut GazeOutputFrequencies,
) -> Status {
    call("get_all_gaze_output_frequencies", || {
        if !tracker_ok(et) || out.is_null() {
            return INVALID_PARAMETER;
        }
        let mut f = fake().offered().into_boxed_slice();
        let list = Box::new(GazeOutputFrequencies {
            frequencies: f.as_mut_ptr(),
            frequency_count: f.len(),
        });
        std::mem::forget(f);
        *out = Box::into_raw(list);
        OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_free_gaze_output_frequencies(
    list: *mut GazeOutputFrequencies,
) {
    if list.is_null() {
        return;
    }
    let l = Box::from_raw(list);
    if !l.frequencies.is_null() {
        drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
            l.frequencies,
            l.frequency_count,
        )));
    }
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_get_gaze_output_frequency(
    et: EyeTrackerPtr,
    out: *mut c_float,
) -> Status {
    call("get_gaze_output_frequency", || {
        if !tracker_ok(et) || out.is_null() {
            return INVALID_PARAMETER;
        }
        *out = fake().frequency();
        OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_set_gaze_output_frequency(
    et: EyeTrackerPtr,
    hz: c_float,
) -> Status {
    call("set_gaze_output_frequency", || {
        if !tracker_ok(et) {
            return INVALID_PARAMETER;
        }
        if !fake().offered().iter().any(|f| (f - hz).abs() < 0.01) {
            return SE_INVALID_PARAMETER;
        }
        fake().set_frequency(hz);
        OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_get_display_area(
    et: EyeTrackerPtr,
    out: *mut DisplayArea,
) -> Status {
    call("get_display_area", || {
        if !tracker_ok(et) || out.is_null() {
            return INVALID_PARAMETER;
        }
        let (w, h, y0) = (531.0, 299.0, 20.0);
        let p = |x: f32, y: f32| Point3D { x, y, z: 0.0 };
        *out = DisplayArea {
            bottom_left: p(-w / 2.0, y0),
            bottom_right: p(w / 2.0, y0),
            height: h,
            top_left: p(-w / 2.0, y0 + h),
            top_right: p(w / 2.0, y0 + h),
            width: w,
        };
        OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_subscribe_to_gaze_data(
    et: EyeTrackerPtr,
    cb: Option<GazeCallback>,
    user: *mut c_void,
) -> Status {
    call("subscribe_to_gaze_data", || match cb {
        Some(cb) if tracker_ok(et) => fake().subscribe_gaze(Sub { cb, user }),
        _ => INVALID_PARAMETER,
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_unsubscribe_from_gaze_data(
    et: EyeTrackerPtr,
    cb: Option<GazeCallback>,
) -> Status {
    call("unsubscribe_from_gaze_data", || match cb {
        Some(cb) if tracker_ok(et) => {
            if fake().unsubscribe_gaze(cb) {
                OK
            } else {
                SE_NOT_SUBSCRIBED
            }
        }
        _ => INVALID_PARAMETER,
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_subscribe_to_notifications(
    et: EyeTrackerPtr,
    cb: Option<NotificationCallback>,
    user: *mut c_void,
) -> Status {
    call("subscribe_to_notifications", || match cb {
        Some(cb) if tracker_ok(et) => {
            guard(&fake().notify_subs).push((cb, user as usize));
            OK
        }
        _ => INVALID_PARAMETER,
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_unsubscribe_from_notifications(
    et: EyeTrackerPtr,
    cb: Option<NotificationCallback>,
) -> Status {
    call("unsubscribe_from_notifications", || match cb {
        Some(cb) if tracker_ok(et) => {
            guard(&fake().notify_subs).retain(|(c, _)| *c as usize != cb as usize);
            OK
        }
        _ => INVALID_PARAMETER,
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_subscribe_to_stream_errors(
    et: EyeTrackerPtr,
    cb: Option<StreamErrorCallback>,
    user: *mut c_void,
) -> Status {
    call("subscribe_to_stream_errors", || match cb {
        Some(cb) if tracker_ok(et) => {
            guard(&fake().error_subs).push((cb, user as usize));
            OK
        }
        _ => INVALID_PARAMETER,
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_unsubscribe_from_stream_errors(
    et: EyeTrackerPtr,
    cb: Option<StreamErrorCallback>,
) -> Status {
    call("unsubscribe_from_stream_errors", || match cb {
        Some(cb) if tracker_ok(et) => {
            guard(&fake().error_subs).retain(|(c, _)| *c as usize != cb as usize);
            OK
        }
        _ => INVALID_PARAMETER,
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_screen_based_calibration_enter_calibration_mode(
    et: EyeTrackerPtr,
) -> Status {
    call("screen_based_calibration_enter_calibration_mode", || {
        if !tracker_ok(et) {
            return INVALID_PARAMETER;
        }
        let mut c = guard(&fake().calibration);
        if c.active {
            return SE_CALIBRATION_ALREADY_STARTED;
        }
        c.active = true;
        c.points.clear();
        OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_screen_based_calibration_leave_calibration_mode(
    et: EyeTrackerPtr,
) -> Status {
    call("screen_based_calibration_leave_calibration_mode", || {
        if !tracker_ok(et) {
            return INVALID_PARAMETER;
        }
        let mut c = guard(&fake().calibration);
        if !c.active {
            return SE_CALIBRATION_NOT_STARTED;
        }
        c.active = false;
        OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_screen_based_calibration_collect_data(
    et: EyeTrackerPtr,
    x: c_float,
    y: c_float,
) -> Status {
    call("screen_based_calibration_collect_data", || {
        if !tracker_ok(et) || !(0.0..=1.0).contains(&x) || !(0.0..=1.0).contains(&y) {
            return INVALID_PARAMETER;
        }
        // The real call blocks while the tracker collects.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut c = guard(&fake().calibration);
        if !c.active {
            return SE_CALIBRATION_NOT_STARTED;
        }
        c.points.push((x, y));
        OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_screen_based_calibration_discard_data(
    et: EyeTrackerPtr,
    x: c_float,
    y: c_float,
) -> Status {
    call("screen_based_calibration_discard_data", || {
        if !tracker_ok(et) {
            return INVALID_PARAMETER;
        }
        let mut c = guard(&fake().calibration);
        if !c.active {
            return SE_CALIBRATION_NOT_STARTED;
        }
        c.points.retain(|p| *p != (x, y));
        OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_screen_based_calibration_compute_and_apply(
    et: EyeTrackerPtr,
    out: *mut *mut CalibrationResult,
) -> Status {
    call("screen_based_calibration_compute_and_apply", || {
        if !tracker_ok(et) || out.is_null() {
            return INVALID_PARAMETER;
        }
        let mut c = guard(&fake().calibration);
        if !c.active {
            return SE_CALIBRATION_NOT_STARTED;
        }
        *out = state::calibration_result(&mut c);
        OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_free_screen_based_calibration_result(
    r: *mut CalibrationResult,
) {
    state::free_calibration_result(r);
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_retrieve_calibration_data(
    et: EyeTrackerPtr,
    out: *mut *mut CalibrationData,
) -> Status {
    call("retrieve_calibration_data", || {
        if !tracker_ok(et) || out.is_null() {
            return INVALID_PARAMETER;
        }
        let mut blob = guard(&fake().calibration)
            .applied
            .clone()
            .into_boxed_slice();
        let d = Box::new(CalibrationData {
            data: blob.as_mut_ptr().cast(),
            size: blob.len(),
        });
        std::mem::forget(blob);
        *out = Box::into_raw(d);
        OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_apply_calibration_data(
    et: EyeTrackerPtr,
    d: *const CalibrationData,
) -> Status {
    call("apply_calibration_data", || {
        if !tracker_ok(et) || d.is_null() {
            return INVALID_PARAMETER;
        }
        let d = &*d;
        let blob = if d.data.is_null() {
            Vec::new()
        } else {
            std::slice::from_raw_parts(d.data.cast::<u8>(), d.size).to_vec()
        };
        if !blob.starts_with(state::CALIBRATION_MAGIC) {
            return INVALID_PARAMETER;
        }
        guard(&fake().calibration).applied = blob;
        OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn tobii_research_free_calibration_data(d: *mut CalibrationData) {
    if d.is_null() {
        return;
    }
    let d = Box::from_raw(d);
    if !d.data.is_null() {
        drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
            d.data.cast::<u8>(),
            d.size,
        )));
    }
}

// ---- Fault injection and inspection (not part of the SDK) ----

/// Sets the SDK major version (1 or 2) and the synthetic gaze seed; call before anything else.
#[no_mangle]
pub extern "C" fn fake_tobii_configure(major: c_int, seed: u64) {
    fake().configure(major, seed);
}

/// Makes the next `count` calls of `tobii_research_<name>` return `status`.
#[no_mangle]
pub unsafe extern "C" fn fake_tobii_fail_next(name: *const c_char, status: c_int, count: u32) {
    if name.is_null() {
        return;
    }
    let n = CStr::from_ptr(name).to_string_lossy().into_owned();
    fake().inject(n, status, count);
}

/// Cuts the connection for `ms`: no gaze, a CONNECTION_LOST notification and stream error,
/// then CONNECTION_RESTORED. With `drop_subscriptions`, gaze subscriptions do not survive and
/// `get_eyetracker` fails until the connection is back (the client must resubscribe).
#[no_mangle]
pub extern "C" fn fake_tobii_disconnect(ms: u32, drop_subscriptions: bool) {
    fake().disconnect(ms, drop_subscriptions);
}

/// Delivers samples in bursts of `burst` (≥ 1), each delivery `delay_us` late.
#[no_mangle]
pub extern "C" fn fake_tobii_set_delivery(burst: u32, delay_us: u32) {
    fake().set_delivery(burst, delay_us);
}

/// Keeps the delivery loop busy for `us` after each callback, so unsubscribe races with it.
#[no_mangle]
pub extern "C" fn fake_tobii_set_dispatch_gap(us: u32) {
    fake().set_dispatch_gap(us);
}

/// Also offer 600, 1200 and 10 000 Hz (for stress runs).
#[no_mangle]
pub extern "C" fn fake_tobii_allow_any_frequency(allow: bool) {
    fake().allow_any_frequency(allow);
}

/// Status the next calibration reports: 0 failure, 1 success, 2 left eye only, 3 right eye only.
#[no_mangle]
pub extern "C" fn fake_tobii_set_calibration_status(status: c_int) {
    guard(&fake().calibration).status = status;
}

/// Samples delivered to gaze callbacks so far.
#[no_mangle]
pub extern "C" fn fake_tobii_sent_count() -> u64 {
    fake().sent_count()
}

/// Copies up to `max` delivered samples starting at `from` into `out`; returns how many.
#[no_mangle]
pub unsafe extern "C" fn fake_tobii_sent_samples(
    from: u64,
    out: *mut FakeSentSample,
    max: usize,
) -> usize {
    if out.is_null() {
        return 0;
    }
    let got = fake().sent_samples(from, max);
    std::ptr::copy_nonoverlapping(got.as_ptr(), out, got.len());
    got.len()
}

/// Gaze callbacks currently running (for the unsubscribe-while-in-flight test).
#[no_mangle]
pub extern "C" fn fake_tobii_callbacks_in_flight() -> u32 {
    fake().in_flight()
}

/// Stops the pump and forgets every subscription, injected fault and sent sample.
#[no_mangle]
pub extern "C" fn fake_tobii_reset() {
    fake().reset();
}
