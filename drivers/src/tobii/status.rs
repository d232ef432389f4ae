//! `TobiiResearchStatus` codes, by name and in words a researcher can act on.

/// The codes code names itself (the adapter reacts to them, the stand-in library returns
/// them); every other code is only described.
pub const OK: i32 = 0;
pub const INVALID_PARAMETER: i32 = 10;
pub const SE_CONNECTION_FAILED: i32 = 204;
pub const SE_INVALID_PARAMETER: i32 = 209;
pub const SE_CALIBRATION_ALREADY_STARTED: i32 = 210;
pub const SE_CALIBRATION_NOT_STARTED: i32 = 211;
pub const SE_NOT_SUBSCRIBED: i32 = 213;

/// Name (without the `TOBII_RESEARCH_STATUS_` prefix) and meaning of a status code.
pub fn describe(code: i32) -> (&'static str, &'static str) {
    match code {
        OK => ("OK", "no error"),
        1 => ("FATAL_ERROR", "fatal error in the SDK"),
        2 => ("INITIALIZE_FAILED", "the SDK failed to initialise"),
        3 => ("TERMINATE_FAILED", "the SDK failed to shut down"),
        4 => (
            "LOCALBROWSER_CREATE_FAILED",
            "cannot search for locally connected trackers",
        ),
        5 => (
            "LOCALBROWSER_POLL_FAILED",
            "searching for locally connected trackers failed",
        ),
        6 => (
            "ZEROCONFBROWSER_CREATE_FAILED",
            "cannot start network discovery (is avahi-daemon running?)",
        ),
        7 => (
            "ZEROCONFBROWSER_POLL_FAILED",
            "network discovery failed (is avahi-daemon running?)",
        ),
        8 => (
            "FILEBROWSER_CREATE_FAILED",
            "cannot search for file-based trackers",
        ),
        9 => (
            "FILEBROWSER_POLL_FAILED",
            "searching for file-based trackers failed",
        ),
        INVALID_PARAMETER => ("INVALID_PARAMETER", "an argument was not valid"),
        11 => (
            "INVALID_OPERATION",
            "the operation is not valid in the current state",
        ),
        12 => ("UNINITIALIZED", "internal SDK state not initialised"),
        13 => ("OUT_OF_BOUNDS", "a value was out of bounds"),
        14 => (
            "DISPLAY_AREA_NOT_VALID",
            "the display area is not valid; set it up in Tobii Pro Eye Tracker Manager",
        ),
        15 => ("BUFFER_TOO_SMALL", "a buffer was too small"),
        16 => ("NOT_INITIALIZED", "the SDK is not initialised"),
        17 => ("ALREADY_INITIALIZED", "the SDK is already initialised"),
        18 => (
            "SAVED_LICENSE_FAILED_TO_APPLY",
            "the licence saved on the device could not be applied",
        ),
        200 => (
            "SE_INTERNAL",
            "internal error in the tracker's stream engine",
        ),
        201 => (
            "SE_INSUFFICIENT_LICENSE",
            "the tracker's licence does not allow this (a Pro licence is needed)",
        ),
        202 => ("SE_NOT_SUPPORTED", "the tracker does not support this"),
        203 => ("SE_NOT_AVAILABLE", "the feature is not available"),
        SE_CONNECTION_FAILED => (
            "SE_CONNECTION_FAILED",
            "the connection to the tracker failed; check the cable and power",
        ),
        205 => ("SE_TIMED_OUT", "the tracker did not answer in time"),
        206 => ("SE_ALLOCATION_FAILED", "out of memory in the stream engine"),
        207 => (
            "SE_ALREADY_INITIALIZED",
            "the stream engine is already initialised",
        ),
        208 => ("SE_NOT_INITIALIZED", "the stream engine is not initialised"),
        SE_INVALID_PARAMETER => (
            "SE_INVALID_PARAMETER",
            "the tracker rejected a value (an unsupported frequency?)",
        ),
        SE_CALIBRATION_ALREADY_STARTED => (
            "SE_CALIBRATION_ALREADY_STARTED",
            "calibration mode is already active (left over from a crash?)",
        ),
        SE_CALIBRATION_NOT_STARTED => (
            "SE_CALIBRATION_NOT_STARTED",
            "calibration mode has not been entered",
        ),
        212 => ("SE_ALREADY_SUBSCRIBED", "already subscribed to this stream"),
        SE_NOT_SUBSCRIBED => ("SE_NOT_SUBSCRIBED", "not subscribed to this stream"),
        214 => (
            "SE_OPERATION_FAILED",
            "the tracker could not carry out the operation",
        ),
        215 => (
            "SE_CONFLICTING_API_INSTANCES",
            "another program is using the tracker in a conflicting way",
        ),
        216 => (
            "SE_CALIBRATION_BUSY",
            "the tracker is busy with calibration",
        ),
        217 => (
            "SE_CALLBACK_IN_PROGRESS",
            "called from inside an SDK callback",
        ),
        218 => (
            "SE_TOO_MANY_SUBSCRIBERS",
            "too many subscribers to this stream",
        ),
        219 => (
            "SE_BUFFER_TOO_SMALL",
            "a stream-engine buffer was too small",
        ),
        220 => (
            "SE_FIRMWARE_NO_RESPONSE",
            "the tracker firmware does not respond",
        ),
        400 => ("FWUPGRADE_INTERNAL", "firmware upgrade: internal error"),
        401 => ("FWUPGRADE_NOT_SUPPORTED", "firmware upgrade not supported"),
        402 => (
            "FWUPGRADE_UNKNOWN_FIRMWARE_VERSION",
            "firmware upgrade: unknown firmware version",
        ),
        403 => (
            "FWUPGRADE_CONNECTION_FAILED",
            "firmware upgrade: connection failed",
        ),
        404 => (
            "FWUPGRADE_INVALID_PARAMETER",
            "firmware upgrade: invalid parameter",
        ),
        405 => (
            "FWUPGRADE_PACKAGE_DEVICE_MISMATCH",
            "firmware upgrade: package does not match the device",
        ),
        406 => (
            "FWUPGRADE_PARSE_RESPONSE",
            "firmware upgrade: unreadable response",
        ),
        407 => ("FWUPGRADE_OPERATION_FAILED", "firmware upgrade failed"),
        408 => (
            "FWUPGRADE_ALLOCATION_FAILED",
            "firmware upgrade: out of memory",
        ),
        409 => (
            "FWUPGRADE_FIRMWARE_NO_RESPONSE",
            "firmware upgrade: firmware does not respond",
        ),
        410 => (
            "FWUPGRADE_DOWNGRADE_NOT_SUPPORTED",
            "firmware downgrade not supported",
        ),
        1000 => ("UNKNOWN", "unknown error"),
        1001 => ("DEPRECATED", "the function is deprecated in this SDK"),
        _ => (
            "UNLISTED",
            "a status code this build of et-suite does not know",
        ),
    }
}

/// Every code the SDK headers define, for tests that check each reaches the user readably.
pub const ALL_CODES: &[i32] = &[
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 200, 201, 202, 203, 204, 205,
    206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 400, 401, 402, 403,
    404, 405, 406, 407, 408, 409, 410, 1000, 1001,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_name_and_a_meaning() {
        let mut names: Vec<&str> = ALL_CODES.iter().map(|c| describe(*c).0).collect();
        assert!(ALL_CODES
            .iter()
            .all(|c| describe(*c).0 != "UNLISTED" && !describe(*c).1.is_empty()));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL_CODES.len());
        assert_eq!(describe(77).0, "UNLISTED");
    }
}
