//! The Tobii Pro SDK C ABI: structs, enums and function signatures (reference/tobii_sdk.md §2–§4).
//! Sizes and offsets are checked at compile time against the values compiled from Tobii's own
//! headers on x86-64 Linux, so a wrong field can never silently misread data.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_float, c_int, c_void};
use std::mem::{offset_of, size_of};

pub type Status = c_int;
pub type Validity = c_int;
/// Opaque `TobiiResearchEyeTracker`.
pub type EyeTrackerPtr = *mut c_void;

pub const VALIDITY_VALID: Validity = 1;

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NormalizedPoint2D {
    pub x: c_float,
    pub y: c_float,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Point3D {
    pub x: c_float,
    pub y: c_float,
    pub z: c_float,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GazePoint {
    pub position_on_display_area: NormalizedPoint2D,
    pub position_in_user_coordinates: Point3D,
    pub validity: Validity,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PupilData {
    pub diameter: c_float,
    pub validity: Validity,
}

/// SDK 1.x: has the track-box position the 2.x struct dropped.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GazeOriginV1 {
    pub position_in_user_coordinates: Point3D,
    pub position_in_track_box_coordinates: Point3D,
    pub validity: Validity,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GazeOriginV2 {
    pub position_in_user_coordinates: Point3D,
    pub validity: Validity,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EyeDataV1 {
    pub gaze_point: GazePoint,
    pub pupil_data: PupilData,
    pub gaze_origin: GazeOriginV1,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EyeDataV2 {
    pub gaze_point: GazePoint,
    pub pupil_data: PupilData,
    pub gaze_origin: GazeOriginV2,
}

/// `TobiiResearchGazeData` as SDK 1.x lays it out (the X3-120's SDK).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GazeDataV1 {
    pub left_eye: EyeDataV1,
    pub right_eye: EyeDataV1,
    pub device_time_stamp: i64,
    pub system_time_stamp: i64,
}

/// `TobiiResearchGazeData` as SDK 2.x lays it out.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GazeDataV2 {
    pub left_eye: EyeDataV2,
    pub right_eye: EyeDataV2,
    pub device_time_stamp: i64,
    pub system_time_stamp: i64,
}

// Layouts from tobii_sdk.md §3 (compiled from the vendored 1.x and 2.x headers).
const _: () = {
    assert!(size_of::<NormalizedPoint2D>() == 8);
    assert!(size_of::<Point3D>() == 12);
    assert!(size_of::<GazePoint>() == 24);
    assert!(offset_of!(GazePoint, position_in_user_coordinates) == 8);
    assert!(offset_of!(GazePoint, validity) == 20);
    assert!(size_of::<PupilData>() == 8);
    assert!(size_of::<GazeOriginV1>() == 28);
    assert!(offset_of!(GazeOriginV1, position_in_track_box_coordinates) == 12);
    assert!(offset_of!(GazeOriginV1, validity) == 24);
    assert!(size_of::<EyeDataV1>() == 60);
    assert!(offset_of!(EyeDataV1, pupil_data) == 24);
    assert!(offset_of!(EyeDataV1, gaze_origin) == 32);
    assert!(size_of::<GazeDataV1>() == 136);
    assert!(offset_of!(GazeDataV1, right_eye) == 60);
    assert!(offset_of!(GazeDataV1, device_time_stamp) == 120);
    assert!(offset_of!(GazeDataV1, system_time_stamp) == 128);
    assert!(size_of::<GazeOriginV2>() == 16);
    assert!(offset_of!(GazeOriginV2, validity) == 12);
    assert!(size_of::<EyeDataV2>() == 48);
    assert!(offset_of!(EyeDataV2, gaze_origin) == 32);
    assert!(size_of::<GazeDataV2>() == 112);
    assert!(offset_of!(GazeDataV2, right_eye) == 48);
    assert!(offset_of!(GazeDataV2, device_time_stamp) == 96);
    assert!(offset_of!(GazeDataV2, system_time_stamp) == 104);
};

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SdkVersion {
    pub major: c_int,
    pub minor: c_int,
    pub revision: c_int,
    pub build: c_int,
}

#[repr(C)]
#[derive(Debug)]
pub struct EyeTrackers {
    pub eyetrackers: *mut EyeTrackerPtr,
    pub count: usize,
}

#[repr(C)]
#[derive(Debug)]
pub struct GazeOutputFrequencies {
    pub frequencies: *mut c_float,
    pub frequency_count: usize,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DisplayArea {
    pub bottom_left: Point3D,
    pub bottom_right: Point3D,
    pub height: c_float,
    pub top_left: Point3D,
    pub top_right: Point3D,
    pub width: c_float,
}

#[repr(C)]
#[derive(Debug)]
pub struct CalibrationData {
    pub data: *mut c_void,
    pub size: usize,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CalibrationEyeData {
    pub position_on_display_area: NormalizedPoint2D,
    pub validity: c_int,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CalibrationSample {
    pub left_eye: CalibrationEyeData,
    pub right_eye: CalibrationEyeData,
}

#[repr(C)]
#[derive(Debug)]
pub struct CalibrationPoint {
    pub position_on_display_area: NormalizedPoint2D,
    pub calibration_samples: *mut CalibrationSample,
    pub calibration_sample_count: usize,
}

#[repr(C)]
#[derive(Debug)]
pub struct CalibrationResult {
    pub calibration_points: *mut CalibrationPoint,
    pub calibration_point_count: usize,
    pub status: c_int,
}

pub const CALIBRATION_FAILURE: c_int = 0;
pub const CALIBRATION_EYE_VALID_AND_USED: c_int = 1;

#[repr(C)]
#[derive(Clone, Copy)]
pub union NotificationValue {
    pub output_frequency: c_float,
    pub display_area: DisplayArea,
    pub text: [c_char; 512],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Notification {
    pub system_time_stamp: i64,
    pub notification_type: c_int,
    pub value: NotificationValue,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct StreamErrorData {
    pub system_time_stamp: i64,
    pub error: c_int,
    pub source: c_int,
    pub message: *const c_char,
}

const _: () = {
    assert!(size_of::<SdkVersion>() == 16);
    assert!(size_of::<EyeTrackers>() == 16);
    assert!(size_of::<DisplayArea>() == 56);
    assert!(offset_of!(DisplayArea, top_left) == 28);
    assert!(offset_of!(DisplayArea, width) == 52);
    assert!(size_of::<CalibrationEyeData>() == 12);
    assert!(size_of::<CalibrationSample>() == 24);
    assert!(size_of::<CalibrationPoint>() == 24);
    assert!(offset_of!(CalibrationPoint, calibration_sample_count) == 16);
    assert!(size_of::<CalibrationResult>() == 24);
    assert!(offset_of!(CalibrationResult, status) == 16);
    assert!(size_of::<Notification>() == 528);
    assert!(offset_of!(Notification, value) == 12);
    assert!(size_of::<StreamErrorData>() == 24);
    assert!(offset_of!(StreamErrorData, message) == 16);
};

/// Notification types; 1.x and 2.x agree up to CALIBRATION_CHANGED (4) and differ after.
pub const NOTIFICATION_CONNECTION_LOST: c_int = 0;
pub const NOTIFICATION_CONNECTION_RESTORED: c_int = 1;

/// The name of a notification type in the given SDK major version.
pub fn notification_name(major: i32, kind: c_int) -> &'static str {
    const V1: [&str; 12] = [
        "connection_lost",
        "connection_restored",
        "calibration_mode_entered",
        "calibration_mode_left",
        "calibration_changed",
        "track_box_changed",
        "display_area_changed",
        "gaze_output_frequency_changed",
        "eye_tracking_mode_changed",
        "device_faults",
        "device_warnings",
        "unknown",
    ];
    const V2: [&str; 12] = [
        "connection_lost",
        "connection_restored",
        "calibration_mode_entered",
        "calibration_mode_left",
        "calibration_changed",
        "display_area_changed",
        "gaze_output_frequency_changed",
        "eye_tracking_mode_changed",
        "device_faults",
        "device_warnings",
        "stream_buffer_overflow",
        "unknown",
    ];
    let table = if major >= 2 { &V2 } else { &V1 };
    usize::try_from(kind)
        .ok()
        .and_then(|k| table.get(k))
        .copied()
        .unwrap_or("unknown")
}

pub fn stream_error_name(error: c_int) -> &'static str {
    match error {
        0 => "connection_lost",
        1 => "insufficient_license",
        2 => "not_supported",
        3 => "too_many_subscribers",
        4 => "internal_error",
        5 => "user_error",
        _ => "unknown",
    }
}

pub type GazeCallback = unsafe extern "C" fn(gaze_data: *mut c_void, user_data: *mut c_void);
pub type NotificationCallback = unsafe extern "C" fn(n: *mut Notification, user_data: *mut c_void);
pub type StreamErrorCallback =
    unsafe extern "C" fn(e: *mut StreamErrorData, user_data: *mut c_void);
