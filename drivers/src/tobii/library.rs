//! Loading `libtobii_research.so` at run time and calling it safely. Every call's status is
//! checked and turned into a [`TobiiError`] that names the call, the code and what it means.

use std::ffi::{c_char, c_float, c_void, CStr, CString};
use std::path::{Path, PathBuf};

use super::abi::*;
use super::status;

#[derive(Debug, thiserror::Error)]
pub enum TobiiError {
    #[error("the Tobii Pro SDK library was not found (tried: {tried}); install the SDK and pass --tobii-lib PATH or set ET_TOBII_LIB")]
    NotFound { tried: String },
    #[error("{path}: cannot load the Tobii Pro SDK library: {message}")]
    Load { path: PathBuf, message: String },
    #[error("{path}: not a usable Tobii Pro SDK library: it lacks {symbol}")]
    MissingSymbol { path: PathBuf, symbol: String },
    #[error("Tobii Pro SDK {major}.x is not supported (expected 1.x or 2.x)")]
    UnsupportedSdk { major: i32 },
    #[error("tobii_research_{call} failed: {name} ({code}): {meaning}")]
    Status {
        call: &'static str,
        code: i32,
        name: &'static str,
        meaning: &'static str,
    },
    #[error("no Tobii eye tracker was found ({hint})")]
    NoTracker { hint: &'static str },
    #[error("no Tobii eye tracker matches {wanted:?}; found: {found}")]
    NoMatch { wanted: String, found: String },
    /// Connecting by address failed: SDK 1.x says SE_CONNECTION_FAILED, 2.x SE_INTERNAL for
    /// an address where nothing answers; either way the user's question is the same.
    #[error("no Tobii eye tracker answered at {address} (the SDK says {name} ({code}): {meaning}); check the address, and that the tracker is powered and on this network")]
    NoAnswer {
        address: String,
        code: i32,
        name: &'static str,
        meaning: &'static str,
    },
    #[error(
        "gaze output frequency {wanted} Hz is not offered by this tracker (it offers {offered})"
    )]
    Frequency { wanted: f32, offered: String },
}

pub type Result<T, E = TobiiError> = std::result::Result<T, E>;

/// Turns a status into `Ok` or an error naming the call.
pub fn check(call: &'static str, code: Status) -> Result<()> {
    if code == status::OK {
        return Ok(());
    }
    let (name, meaning) = status::describe(code);
    Err(TobiiError::Status {
        call,
        code,
        name,
        meaning,
    })
}

type StrGetter = unsafe extern "C" fn(EyeTrackerPtr, *mut *mut c_char) -> Status;

/// The SDK functions et-suite uses, resolved once.
#[derive(Clone, Copy)]
struct Functions {
    get_sdk_version: unsafe extern "C" fn(*mut SdkVersion) -> Status,
    get_system_time_stamp: unsafe extern "C" fn(*mut i64) -> Status,
    find_all_eyetrackers: unsafe extern "C" fn(*mut *mut EyeTrackers) -> Status,
    free_eyetrackers: unsafe extern "C" fn(*mut EyeTrackers),
    get_eyetracker: unsafe extern "C" fn(*const c_char, *mut EyeTrackerPtr) -> Status,
    get_address: StrGetter,
    get_serial_number: StrGetter,
    get_model: StrGetter,
    get_device_name: StrGetter,
    get_firmware_version: StrGetter,
    free_string: unsafe extern "C" fn(*mut c_char),
    get_all_gaze_output_frequencies:
        unsafe extern "C" fn(EyeTrackerPtr, *mut *mut GazeOutputFrequencies) -> Status,
    free_gaze_output_frequencies: unsafe extern "C" fn(*mut GazeOutputFrequencies),
    get_gaze_output_frequency: unsafe extern "C" fn(EyeTrackerPtr, *mut c_float) -> Status,
    set_gaze_output_frequency: unsafe extern "C" fn(EyeTrackerPtr, c_float) -> Status,
    get_display_area: unsafe extern "C" fn(EyeTrackerPtr, *mut DisplayArea) -> Status,
    subscribe_to_gaze_data:
        unsafe extern "C" fn(EyeTrackerPtr, GazeCallback, *mut c_void) -> Status,
    unsubscribe_from_gaze_data: unsafe extern "C" fn(EyeTrackerPtr, GazeCallback) -> Status,
    subscribe_to_notifications:
        unsafe extern "C" fn(EyeTrackerPtr, NotificationCallback, *mut c_void) -> Status,
    unsubscribe_from_notifications:
        unsafe extern "C" fn(EyeTrackerPtr, NotificationCallback) -> Status,
    subscribe_to_stream_errors:
        unsafe extern "C" fn(EyeTrackerPtr, StreamErrorCallback, *mut c_void) -> Status,
    unsubscribe_from_stream_errors:
        unsafe extern "C" fn(EyeTrackerPtr, StreamErrorCallback) -> Status,
    calibration_enter: unsafe extern "C" fn(EyeTrackerPtr) -> Status,
    calibration_leave: unsafe extern "C" fn(EyeTrackerPtr) -> Status,
    calibration_collect: unsafe extern "C" fn(EyeTrackerPtr, c_float, c_float) -> Status,
    calibration_discard: unsafe extern "C" fn(EyeTrackerPtr, c_float, c_float) -> Status,
    calibration_compute_and_apply:
        unsafe extern "C" fn(EyeTrackerPtr, *mut *mut CalibrationResult) -> Status,
    free_calibration_result: unsafe extern "C" fn(*mut CalibrationResult),
    retrieve_calibration_data:
        unsafe extern "C" fn(EyeTrackerPtr, *mut *mut CalibrationData) -> Status,
    apply_calibration_data: unsafe extern "C" fn(EyeTrackerPtr, *const CalibrationData) -> Status,
    free_calibration_data: unsafe extern "C" fn(*mut CalibrationData),
}

/// A loaded SDK. It is never unloaded: SDK threads may outlive any one tracker.
pub struct TobiiLibrary {
    pub path: PathBuf,
    pub version: SdkVersion,
    f: Functions,
}

/// Where the SDK is looked for when no path is given, after `ET_TOBII_LIB`.
pub const USUAL_LOCATIONS: &[&str] = &[
    "libtobii_research.so",
    "libtobii_research.so.1",
    "libtobii_research.so.2",
    "/usr/local/lib/libtobii_research.so",
    "/usr/lib/libtobii_research.so",
    "/usr/lib/x86_64-linux-gnu/libtobii_research.so",
    "/opt/TobiiProEyeTrackerManager/resources/stage/sdk/libraries/lib/libtobii_research.so",
];

/// A tracker as discovery reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerDescription {
    pub address: String,
    pub model: String,
    pub serial: String,
    pub name: String,
    pub firmware: String,
    pub frequencies: Vec<f32>,
    pub frequency: f32,
}

/// A connected tracker's handle. The SDK documents no thread affinity for it; the adapter
/// still serialises calls through one lock.
#[derive(Debug, Clone, Copy)]
pub struct Handle(pub EyeTrackerPtr);
// SAFETY: the handle is an opaque token the SDK accepts from any thread; every use goes
// through the adapter's lock.
unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

macro_rules! resolve {
    ($lib:expr, $path:expr, $name:literal) => {{
        // SAFETY: the symbol is declared with the signature of Tobii's header for this name.
        let sym = unsafe { $lib.get(concat!("tobii_research_", $name, "\0").as_bytes()) };
        match sym {
            Ok(s) => *s,
            Err(_) => {
                return Err(TobiiError::MissingSymbol {
                    path: $path.to_path_buf(),
                    symbol: concat!("tobii_research_", $name).into(),
                })
            }
        }
    }};
}

impl TobiiLibrary {
    /// Loads the SDK from `explicit`, else `ET_TOBII_LIB`, else the usual locations.
    pub fn find(explicit: Option<&Path>) -> Result<&'static TobiiLibrary> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(p) = explicit {
            return Self::load(p);
        }
        if let Some(p) = std::env::var_os("ET_TOBII_LIB").filter(|v| !v.is_empty()) {
            return Self::load(Path::new(&p));
        }
        candidates.extend(USUAL_LOCATIONS.iter().map(PathBuf::from));
        for c in &candidates {
            match Self::load(c) {
                Ok(l) => return Ok(l),
                Err(TobiiError::Load { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(TobiiError::NotFound {
            tried: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// What to check when no tracker is found: SDK 1.x finds network trackers through avahi
    /// (mDNS), 2.x does not use it.
    pub fn no_tracker_hint(&self) -> &'static str {
        if self.version.major < 2 {
            "is it connected and powered, and is avahi-daemon running?"
        } else {
            "is it connected and powered, and on this machine's network?"
        }
    }

    /// Loads the SDK at `path` and reads its version.
    pub fn load(path: &Path) -> Result<&'static TobiiLibrary> {
        // SAFETY: loading runs the SDK's static initialisers, which is how the SDK starts.
        let lib = unsafe { libloading::Library::new(path) }.map_err(|e| TobiiError::Load {
            path: path.to_path_buf(),
            message: loader_reason(&e),
        })?;
        let f = Functions {
            get_sdk_version: resolve!(lib, path, "get_sdk_version"),
            get_system_time_stamp: resolve!(lib, path, "get_system_time_stamp"),
            find_all_eyetrackers: resolve!(lib, path, "find_all_eyetrackers"),
            free_eyetrackers: resolve!(lib, path, "free_eyetrackers"),
            get_eyetracker: resolve!(lib, path, "get_eyetracker"),
            get_address: resolve!(lib, path, "get_address"),
            get_serial_number: resolve!(lib, path, "get_serial_number"),
            get_model: resolve!(lib, path, "get_model"),
            get_device_name: resolve!(lib, path, "get_device_name"),
            get_firmware_version: resolve!(lib, path, "get_firmware_version"),
            free_string: resolve!(lib, path, "free_string"),
            get_all_gaze_output_frequencies: resolve!(lib, path, "get_all_gaze_output_frequencies"),
            free_gaze_output_frequencies: resolve!(lib, path, "free_gaze_output_frequencies"),
            get_gaze_output_frequency: resolve!(lib, path, "get_gaze_output_frequency"),
            set_gaze_output_frequency: resolve!(lib, path, "set_gaze_output_frequency"),
            get_display_area: resolve!(lib, path, "get_display_area"),
            subscribe_to_gaze_data: resolve!(lib, path, "subscribe_to_gaze_data"),
            unsubscribe_from_gaze_data: resolve!(lib, path, "unsubscribe_from_gaze_data"),
            subscribe_to_notifications: resolve!(lib, path, "subscribe_to_notifications"),
            unsubscribe_from_notifications: resolve!(lib, path, "unsubscribe_from_notifications"),
            subscribe_to_stream_errors: resolve!(lib, path, "subscribe_to_stream_errors"),
            unsubscribe_from_stream_errors: resolve!(lib, path, "unsubscribe_from_stream_errors"),
            calibration_enter: resolve!(
                lib,
                path,
                "screen_based_calibration_enter_calibration_mode"
            ),
            calibration_leave: resolve!(
                lib,
                path,
                "screen_based_calibration_leave_calibration_mode"
            ),
            calibration_collect: resolve!(lib, path, "screen_based_calibration_collect_data"),
            calibration_discard: resolve!(lib, path, "screen_based_calibration_discard_data"),
            calibration_compute_and_apply: resolve!(
                lib,
                path,
                "screen_based_calibration_compute_and_apply"
            ),
            free_calibration_result: resolve!(lib, path, "free_screen_based_calibration_result"),
            retrieve_calibration_data: resolve!(lib, path, "retrieve_calibration_data"),
            apply_calibration_data: resolve!(lib, path, "apply_calibration_data"),
            free_calibration_data: resolve!(lib, path, "free_calibration_data"),
        };
        let mut version = SdkVersion::default();
        // SAFETY: valid out-pointer to a struct of the header's layout.
        check("get_sdk_version", unsafe {
            (f.get_sdk_version)(&mut version)
        })?;
        if !(1..=2).contains(&version.major) {
            return Err(TobiiError::UnsupportedSdk {
                major: version.major,
            });
        }
        std::mem::forget(lib);
        Ok(Box::leak(Box::new(TobiiLibrary {
            path: path.to_path_buf(),
            version,
            f,
        })))
    }

    pub fn version_string(&self) -> String {
        let v = self.version;
        format!("{}.{}.{}.{}", v.major, v.minor, v.revision, v.build)
    }

    /// The SDK's system clock (CLOCK_MONOTONIC µs on Linux).
    pub fn system_time_us(&self) -> Result<i64> {
        let mut t = 0i64;
        // SAFETY: valid out-pointer.
        check("get_system_time_stamp", unsafe {
            (self.f.get_system_time_stamp)(&mut t)
        })?;
        Ok(t)
    }

    fn string(&self, call: &'static str, getter: StrGetter, h: Handle) -> Result<String> {
        let mut p: *mut c_char = std::ptr::null_mut();
        // SAFETY: valid handle and out-pointer; the SDK allocates the string we free below.
        check(call, unsafe { getter(h.0, &mut p) })?;
        if p.is_null() {
            return Ok(String::new());
        }
        // SAFETY: the SDK returned a NUL-terminated string, freed with its own free_string.
        let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
        unsafe { (self.f.free_string)(p) };
        Ok(s)
    }

    pub fn address(&self, h: Handle) -> Result<String> {
        self.string("get_address", self.f.get_address, h)
    }

    /// Describes one tracker: identity and frequencies.
    pub fn describe(&self, h: Handle) -> Result<TrackerDescription> {
        Ok(TrackerDescription {
            address: self.address(h)?,
            model: self.string("get_model", self.f.get_model, h)?,
            serial: self.string("get_serial_number", self.f.get_serial_number, h)?,
            name: self.string("get_device_name", self.f.get_device_name, h)?,
            firmware: self.string("get_firmware_version", self.f.get_firmware_version, h)?,
            frequencies: self.frequencies(h)?,
            frequency: self.frequency(h)?,
        })
    }

    /// Every tracker discovery finds, described. The list the SDK allocates is freed here.
    pub fn find_all(&self) -> Result<Vec<TrackerDescription>> {
        let mut list: *mut EyeTrackers = std::ptr::null_mut();
        // SAFETY: valid out-pointer; the list is freed with free_eyetrackers below.
        check("find_all_eyetrackers", unsafe {
            (self.f.find_all_eyetrackers)(&mut list)
        })?;
        if list.is_null() {
            return Ok(Vec::new());
        }
        // SAFETY: the SDK filled `count` valid pointers.
        let handles: Vec<Handle> = unsafe {
            let l = &*list;
            if l.eyetrackers.is_null() {
                Vec::new()
            } else {
                std::slice::from_raw_parts(l.eyetrackers, l.count)
                    .iter()
                    .map(|p| Handle(*p))
                    .collect()
            }
        };
        let described: Result<Vec<_>> = handles.iter().map(|h| self.describe(*h)).collect();
        unsafe { (self.f.free_eyetrackers)(list) };
        described
    }

    /// Connects by address, bypassing discovery.
    pub fn connect(&self, address: &str) -> Result<Handle> {
        let c = CString::new(address).map_err(|_| TobiiError::NoMatch {
            wanted: address.into(),
            found: "an address with a NUL byte".into(),
        })?;
        let mut h: EyeTrackerPtr = std::ptr::null_mut();
        // SAFETY: valid C string and out-pointer.
        let code = unsafe { (self.f.get_eyetracker)(c.as_ptr(), &mut h) };
        if code != 0 {
            let (name, meaning) = status::describe(code);
            return Err(TobiiError::NoAnswer {
                address: address.into(),
                code,
                name,
                meaning,
            });
        }
        Ok(Handle(h))
    }

    pub fn frequencies(&self, h: Handle) -> Result<Vec<f32>> {
        let mut p: *mut GazeOutputFrequencies = std::ptr::null_mut();
        // SAFETY: valid out-pointer; freed below with the SDK's own function.
        check("get_all_gaze_output_frequencies", unsafe {
            (self.f.get_all_gaze_output_frequencies)(h.0, &mut p)
        })?;
        if p.is_null() {
            return Ok(Vec::new());
        }
        let v = unsafe {
            let l = &*p;
            if l.frequencies.is_null() {
                Vec::new()
            } else {
                std::slice::from_raw_parts(l.frequencies, l.frequency_count).to_vec()
            }
        };
        unsafe { (self.f.free_gaze_output_frequencies)(p) };
        Ok(v)
    }

    pub fn frequency(&self, h: Handle) -> Result<f32> {
        let mut f = 0f32;
        check("get_gaze_output_frequency", unsafe {
            (self.f.get_gaze_output_frequency)(h.0, &mut f)
        })?;
        Ok(f)
    }

    pub fn set_frequency(&self, h: Handle, hz: f32) -> Result<()> {
        check("set_gaze_output_frequency", unsafe {
            (self.f.set_gaze_output_frequency)(h.0, hz)
        })
    }

    pub fn display_area(&self, h: Handle) -> Result<DisplayArea> {
        let mut d = DisplayArea::default();
        check("get_display_area", unsafe {
            (self.f.get_display_area)(h.0, &mut d)
        })?;
        Ok(d)
    }

    /// # Safety
    /// `user` must stay valid for as long as the SDK may call `cb` with it.
    pub unsafe fn subscribe_gaze(
        &self,
        h: Handle,
        cb: GazeCallback,
        user: *mut c_void,
    ) -> Result<()> {
        check(
            "subscribe_to_gaze_data",
            (self.f.subscribe_to_gaze_data)(h.0, cb, user),
        )
    }
    pub fn unsubscribe_gaze(&self, h: Handle, cb: GazeCallback) -> Result<()> {
        check("unsubscribe_from_gaze_data", unsafe {
            (self.f.unsubscribe_from_gaze_data)(h.0, cb)
        })
    }
    /// # Safety
    /// As [`Self::subscribe_gaze`].
    pub unsafe fn subscribe_notifications(
        &self,
        h: Handle,
        cb: NotificationCallback,
        user: *mut c_void,
    ) -> Result<()> {
        check(
            "subscribe_to_notifications",
            (self.f.subscribe_to_notifications)(h.0, cb, user),
        )
    }
    pub fn unsubscribe_notifications(&self, h: Handle, cb: NotificationCallback) -> Result<()> {
        check("unsubscribe_from_notifications", unsafe {
            (self.f.unsubscribe_from_notifications)(h.0, cb)
        })
    }
    /// # Safety
    /// As [`Self::subscribe_gaze`].
    pub unsafe fn subscribe_stream_errors(
        &self,
        h: Handle,
        cb: StreamErrorCallback,
        user: *mut c_void,
    ) -> Result<()> {
        check(
            "subscribe_to_stream_errors",
            (self.f.subscribe_to_stream_errors)(h.0, cb, user),
        )
    }
    pub fn unsubscribe_stream_errors(&self, h: Handle, cb: StreamErrorCallback) -> Result<()> {
        check("unsubscribe_from_stream_errors", unsafe {
            (self.f.unsubscribe_from_stream_errors)(h.0, cb)
        })
    }

    pub fn calibration_enter(&self, h: Handle) -> Result<()> {
        check("screen_based_calibration_enter_calibration_mode", unsafe {
            (self.f.calibration_enter)(h.0)
        })
    }
    pub fn calibration_leave(&self, h: Handle) -> Result<()> {
        check("screen_based_calibration_leave_calibration_mode", unsafe {
            (self.f.calibration_leave)(h.0)
        })
    }
    /// Blocks while the tracker collects (up to 10 s on real hardware).
    pub fn calibration_collect(&self, h: Handle, x: f32, y: f32) -> Result<()> {
        check("screen_based_calibration_collect_data", unsafe {
            (self.f.calibration_collect)(h.0, x, y)
        })
    }
    pub fn calibration_discard(&self, h: Handle, x: f32, y: f32) -> Result<()> {
        check("screen_based_calibration_discard_data", unsafe {
            (self.f.calibration_discard)(h.0, x, y)
        })
    }

    /// Computes and applies; returns whether it was applied and, per point, the mean gaze per
    /// eye over the samples the tracker used.
    pub fn calibration_compute_and_apply(
        &self,
        h: Handle,
    ) -> Result<crate::tracker::CalibrationResult> {
        let mut r: *mut CalibrationResult = std::ptr::null_mut();
        check("screen_based_calibration_compute_and_apply", unsafe {
            (self.f.calibration_compute_and_apply)(h.0, &mut r)
        })?;
        if r.is_null() {
            return Ok(crate::tracker::CalibrationResult {
                applied: false,
                points: Vec::new(),
            });
        }
        // SAFETY: the SDK filled the result; we read it, then free it with its own function.
        let out = unsafe {
            let res = &*r;
            let points = if res.calibration_points.is_null() {
                &[][..]
            } else {
                std::slice::from_raw_parts(res.calibration_points, res.calibration_point_count)
            };
            let points = points
                .iter()
                .map(|p| {
                    let samples = if p.calibration_samples.is_null() {
                        &[][..]
                    } else {
                        std::slice::from_raw_parts(
                            p.calibration_samples,
                            p.calibration_sample_count,
                        )
                    };
                    let mean = |eye: fn(&CalibrationSample) -> &CalibrationEyeData| {
                        let used: Vec<&NormalizedPoint2D> = samples
                            .iter()
                            .map(eye)
                            .filter(|e| e.validity == CALIBRATION_EYE_VALID_AND_USED)
                            .map(|e| &e.position_on_display_area)
                            .collect();
                        (!used.is_empty()).then(|| {
                            let n = used.len() as f32;
                            (
                                used.iter().map(|q| q.x).sum::<f32>() / n,
                                used.iter().map(|q| q.y).sum::<f32>() / n,
                            )
                        })
                    };
                    let target = crate::tracker::CalibrationPoint {
                        x: p.position_on_display_area.x,
                        y: p.position_on_display_area.y,
                    };
                    (target, mean(|s| &s.left_eye), mean(|s| &s.right_eye))
                })
                .collect();
            crate::tracker::CalibrationResult {
                applied: res.status != CALIBRATION_FAILURE,
                points,
            }
        };
        unsafe { (self.f.free_calibration_result)(r) };
        Ok(out)
    }

    /// The applied calibration as an opaque blob, to save with the session.
    pub fn retrieve_calibration(&self, h: Handle) -> Result<Vec<u8>> {
        let mut d: *mut CalibrationData = std::ptr::null_mut();
        check("retrieve_calibration_data", unsafe {
            (self.f.retrieve_calibration_data)(h.0, &mut d)
        })?;
        if d.is_null() {
            return Ok(Vec::new());
        }
        let v = unsafe {
            let c = &*d;
            if c.data.is_null() {
                Vec::new()
            } else {
                std::slice::from_raw_parts(c.data.cast::<u8>(), c.size).to_vec()
            }
        };
        unsafe { (self.f.free_calibration_data)(d) };
        Ok(v)
    }

    pub fn apply_calibration(&self, h: Handle, blob: &[u8]) -> Result<()> {
        let d = CalibrationData {
            data: blob.as_ptr() as *mut c_void,
            size: blob.len(),
        };
        check("apply_calibration_data", unsafe {
            (self.f.apply_calibration_data)(h.0, &d)
        })
    }
}

/// The loader's own reason with libloading's words: its `Display` says only "dlopen failed",
/// the reason (a missing file, a dependency missing by name, a wrong architecture, not a
/// library) is in its `source()`.
pub(crate) fn loader_reason(e: &libloading::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod loader_tests {
    use super::*;

    #[test]
    fn a_library_that_cannot_load_says_why_in_the_loaders_words() {
        let dir = std::env::temp_dir().join(format!("et-loader-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("libtobii_research.so");
        let e = TobiiLibrary::load(&missing).err().unwrap().to_string();
        assert!(e.contains("No such file or directory"), "{e}");
        let text = dir.join("not_a_library.so");
        std::fs::write(&text, "not an ELF file ".repeat(16)).unwrap();
        let e = TobiiLibrary::load(&text).err().unwrap().to_string();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(e.contains("invalid ELF header"), "{e}");
    }
}
