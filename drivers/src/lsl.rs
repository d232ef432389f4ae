//! The Lab Streaming Layer's C library (liblsl), loaded at run time as the Tobii SDK is: no LSL
//! library on the machine leaves every other command working, and `--lsl*` says how to install
//! one. Loaded rather than linked through a binding crate because the crates that bind liblsl
//! build it from source with CMake (a C++ toolchain for every user), while the library labs
//! already have (PyPI's `pylsl` wheel ships `liblsl.so`, LabRecorder and the Debian packages of
//! github.com/sccn/liblsl install it) has the stable C ABI used here.
//!
//! Everything here is a thin, checked wrapper of `lsl_c.h`: outlets (a stream's description,
//! samples pushed with their own time stamps), resolving streams by a property, inlets (string
//! samples, the stream's clock offset by `lsl_time_correction_ex`). What a session does with
//! them is `et-sessions`'.

use std::ffi::{c_char, c_double, c_void, CStr, CString};
use std::path::{Path, PathBuf};

/// Where liblsl is looked for when no path is given, after `ET_LSL_LIB`.
pub const USUAL_LOCATIONS: &[&str] = &[
    "liblsl.so",
    "liblsl.so.2",
    "/usr/local/lib/liblsl.so",
    "/usr/lib/liblsl.so",
    "/usr/lib/x86_64-linux-gnu/liblsl.so",
];

/// How to get liblsl, said wherever it is missing.
pub const INSTALL_HINT: &str = "install liblsl (e.g. `python3 -m pip install pylsl`, whose wheel ships pylsl/lib/liblsl.so, or the liblsl package from github.com/sccn/liblsl/releases) and pass --lsl-lib PATH or set ET_LSL_LIB";

#[derive(Debug, thiserror::Error)]
pub enum LslError {
    #[error("the Lab Streaming Layer library was not found (tried: {tried}); {hint}", hint = INSTALL_HINT)]
    NotFound { tried: String },
    #[error("{path}: cannot load the Lab Streaming Layer library: {message}; {hint}", hint = INSTALL_HINT)]
    Load { path: PathBuf, message: String },
    #[error("{path}: not a usable Lab Streaming Layer library: it lacks {symbol}")]
    MissingSymbol { path: PathBuf, symbol: String },
    #[error("liblsl {version} is too old: et-suite needs 1.14 or later (time stamps pushed with each sample, lsl_time_correction_ex)")]
    TooOld { version: i32 },
    #[error("LSL stream {stream:?}: {call} failed: {meaning} ({code})")]
    Call {
        stream: String,
        call: &'static str,
        code: i32,
        meaning: &'static str,
    },
    #[error("LSL stream {stream:?}: {what} holds a NUL byte")]
    Nul { stream: String, what: &'static str },
}

pub type Result<T, E = LslError> = std::result::Result<T, E>;

/// liblsl's error codes (`lsl_error_code_t`).
fn meaning(code: i32) -> &'static str {
    match code {
        -1 => "timed out",
        -2 => "the stream was lost",
        -3 => "an argument was wrong",
        -4 => "liblsl failed internally",
        _ => "unknown error",
    }
}

/// `lsl_channel_format_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelFormat {
    Float32 = 1,
    String = 3,
}

type Info = *mut c_void;
type Xml = *mut c_void;
type OutletPtr = *mut c_void;
type InletPtr = *mut c_void;

/// The functions of `lsl_c.h` used here, resolved once.
#[derive(Clone, Copy)]
struct Functions {
    library_version: unsafe extern "C" fn() -> i32,
    local_clock: unsafe extern "C" fn() -> c_double,
    create_streaminfo: unsafe extern "C" fn(
        *const c_char,
        *const c_char,
        i32,
        c_double,
        i32,
        *const c_char,
    ) -> Info,
    destroy_streaminfo: unsafe extern "C" fn(Info),
    get_desc: unsafe extern "C" fn(Info) -> Xml,
    append_child: unsafe extern "C" fn(Xml, *const c_char) -> Xml,
    append_child_value: unsafe extern "C" fn(Xml, *const c_char, *const c_char) -> Xml,
    get_name: unsafe extern "C" fn(Info) -> *const c_char,
    get_type: unsafe extern "C" fn(Info) -> *const c_char,
    get_source_id: unsafe extern "C" fn(Info) -> *const c_char,
    get_hostname: unsafe extern "C" fn(Info) -> *const c_char,
    get_channel_count: unsafe extern "C" fn(Info) -> i32,
    create_outlet: unsafe extern "C" fn(Info, i32, i32) -> OutletPtr,
    destroy_outlet: unsafe extern "C" fn(OutletPtr),
    push_sample_ftp: unsafe extern "C" fn(OutletPtr, *const f32, c_double, i32) -> i32,
    push_sample_strtp: unsafe extern "C" fn(OutletPtr, *const *const c_char, c_double, i32) -> i32,
    have_consumers: unsafe extern "C" fn(OutletPtr) -> i32,
    wait_for_consumers: unsafe extern "C" fn(OutletPtr, c_double) -> i32,
    resolve_bypred: unsafe extern "C" fn(*mut Info, u32, *const c_char, i32, c_double) -> i32,
    create_inlet: unsafe extern "C" fn(Info, i32, i32, i32) -> InletPtr,
    destroy_inlet: unsafe extern "C" fn(InletPtr),
    open_stream: unsafe extern "C" fn(InletPtr, c_double, *mut i32),
    pull_sample_str:
        unsafe extern "C" fn(InletPtr, *mut *mut c_char, i32, c_double, *mut i32) -> c_double,
    destroy_string: unsafe extern "C" fn(*mut c_char),
    time_correction_ex: unsafe extern "C" fn(
        InletPtr,
        *mut c_double,
        *mut c_double,
        c_double,
        *mut i32,
    ) -> c_double,
}

/// A loaded liblsl. Never unloaded: its threads may outlive any one stream.
pub struct LslLibrary {
    pub path: PathBuf,
    /// `lsl_library_version()`: 118 for 1.18.
    pub version: i32,
    f: Functions,
}

macro_rules! resolve {
    ($lib:expr, $path:expr, $name:literal) => {{
        // SAFETY: the symbol is declared with the signature `lsl_c.h` gives this name.
        let sym = unsafe { $lib.get(concat!("lsl_", $name, "\0").as_bytes()) };
        match sym {
            Ok(s) => *s,
            Err(_) => {
                return Err(LslError::MissingSymbol {
                    path: $path.to_path_buf(),
                    symbol: concat!("lsl_", $name).into(),
                })
            }
        }
    }};
}

impl LslLibrary {
    /// Loads liblsl from `explicit`, else `ET_LSL_LIB`, else the usual locations.
    pub fn find(explicit: Option<&Path>) -> Result<&'static LslLibrary> {
        if let Some(p) = explicit {
            return Self::load(p);
        }
        if let Some(p) = std::env::var_os("ET_LSL_LIB").filter(|v| !v.is_empty()) {
            return Self::load(Path::new(&p));
        }
        for c in USUAL_LOCATIONS {
            match Self::load(Path::new(c)) {
                Ok(l) => return Ok(l),
                Err(LslError::Load { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(LslError::NotFound {
            tried: format!("ET_LSL_LIB unset, {}", USUAL_LOCATIONS.join(", ")),
        })
    }

    /// Loads liblsl at `path` and checks its version.
    pub fn load(path: &Path) -> Result<&'static LslLibrary> {
        // SAFETY: loading runs liblsl's static initialisers, which is how it starts.
        let lib = unsafe { libloading::Library::new(path) }.map_err(|e| LslError::Load {
            path: path.to_path_buf(),
            message: crate::tobii::library::loader_reason(&e),
        })?;
        let f = Functions {
            library_version: resolve!(lib, path, "library_version"),
            local_clock: resolve!(lib, path, "local_clock"),
            create_streaminfo: resolve!(lib, path, "create_streaminfo"),
            destroy_streaminfo: resolve!(lib, path, "destroy_streaminfo"),
            get_desc: resolve!(lib, path, "get_desc"),
            append_child: resolve!(lib, path, "append_child"),
            append_child_value: resolve!(lib, path, "append_child_value"),
            get_name: resolve!(lib, path, "get_name"),
            get_type: resolve!(lib, path, "get_type"),
            get_source_id: resolve!(lib, path, "get_source_id"),
            get_hostname: resolve!(lib, path, "get_hostname"),
            get_channel_count: resolve!(lib, path, "get_channel_count"),
            create_outlet: resolve!(lib, path, "create_outlet"),
            destroy_outlet: resolve!(lib, path, "destroy_outlet"),
            push_sample_ftp: resolve!(lib, path, "push_sample_ftp"),
            push_sample_strtp: resolve!(lib, path, "push_sample_strtp"),
            have_consumers: resolve!(lib, path, "have_consumers"),
            wait_for_consumers: resolve!(lib, path, "wait_for_consumers"),
            resolve_bypred: resolve!(lib, path, "resolve_bypred"),
            create_inlet: resolve!(lib, path, "create_inlet"),
            destroy_inlet: resolve!(lib, path, "destroy_inlet"),
            open_stream: resolve!(lib, path, "open_stream"),
            pull_sample_str: resolve!(lib, path, "pull_sample_str"),
            destroy_string: resolve!(lib, path, "destroy_string"),
            time_correction_ex: resolve!(lib, path, "time_correction_ex"),
        };
        // SAFETY: no arguments; declared as in lsl_c.h.
        let version = unsafe { (f.library_version)() };
        if version < 114 {
            return Err(LslError::TooOld { version });
        }
        // Kept for the process's life: outlets and inlets hold function pointers into it.
        std::mem::forget(lib);
        Ok(Box::leak(Box::new(LslLibrary {
            path: path.to_path_buf(),
            version,
            f,
        })))
    }

    /// LSL's clock (s): `std::chrono::steady_clock`, CLOCK_MONOTONIC on Linux.
    pub fn local_clock(&self) -> f64 {
        // SAFETY: no arguments.
        unsafe { (self.f.local_clock)() }
    }

    /// Makes an outlet for `spec`; consumers find it from now on.
    pub fn outlet(&'static self, spec: &StreamSpec) -> Result<Outlet> {
        let info = self.info(spec)?;
        // SAFETY: `info` is a live stream info; chunking left to the consumer (0), 360 s
        // buffered for a consumer that falls behind (liblsl's default).
        let ptr = unsafe { (self.f.create_outlet)(info.1, 0, 360) };
        if ptr.is_null() {
            return Err(LslError::Call {
                stream: spec.name.clone(),
                call: "lsl_create_outlet",
                code: -4,
                meaning: meaning(-4),
            });
        }
        Ok(Outlet {
            lib: self,
            ptr,
            name: spec.name.clone(),
            channels: spec.channel_count(),
        })
    }

    fn info(&'static self, spec: &StreamSpec) -> Result<OwnedInfo> {
        let c = |s: &str, what: &'static str| {
            CString::new(s).map_err(|_| LslError::Nul {
                stream: spec.name.clone(),
                what,
            })
        };
        let (name, kind, source) = (
            c(&spec.name, "the name")?,
            c(&spec.kind, "the type")?,
            c(&spec.source_id, "the source id")?,
        );
        let channels = i32::try_from(spec.channel_count()).unwrap_or(i32::MAX);
        // SAFETY: NUL-terminated strings alive for the call; liblsl copies them.
        let ptr = unsafe {
            (self.f.create_streaminfo)(
                name.as_ptr(),
                kind.as_ptr(),
                channels,
                spec.rate_hz,
                spec.format as i32,
                source.as_ptr(),
            )
        };
        if ptr.is_null() {
            return Err(LslError::Call {
                stream: spec.name.clone(),
                call: "lsl_create_streaminfo",
                code: -3,
                meaning: meaning(-3),
            });
        }
        let info = OwnedInfo(self, ptr);
        // SAFETY: the description belongs to the live `info`.
        let desc = unsafe { (self.f.get_desc)(ptr) };
        let child = |parent: Xml, name: &str| -> Result<Xml> {
            let n = c(name, "a description element")?;
            // SAFETY: `parent` is an element of `info`'s description; the name is copied.
            Ok(unsafe { (self.f.append_child)(parent, n.as_ptr()) })
        };
        let value = |parent: Xml, name: &str, v: &str| -> Result<()> {
            let (n, v) = (
                c(name, "a description element")?,
                c(v, "a description value")?,
            );
            // SAFETY: as for `child`; both strings are copied.
            unsafe { (self.f.append_child_value)(parent, n.as_ptr(), v.as_ptr()) };
            Ok(())
        };
        if !spec.channels.is_empty() {
            let chans = child(desc, "channels")?;
            for ch in &spec.channels {
                let e = child(chans, "channel")?;
                for (k, v) in ch {
                    value(e, k, v)?;
                }
            }
        }
        for (group, fields) in &spec.groups {
            let g = child(desc, group)?;
            for (k, v) in fields {
                value(g, k, v)?;
            }
        }
        Ok(info)
    }

    /// Streams with any of `props` ("name", "type", "source_id") equal to `value`, found
    /// within `timeout_s`: as soon as `enough` have answered, else every one that answered.
    pub fn resolve(
        &'static self,
        props: &[&str],
        value: &str,
        enough: usize,
        timeout_s: f64,
    ) -> Result<Vec<Found>> {
        let pred = predicate(props, value).ok_or_else(|| LslError::Nul {
            stream: value.into(),
            what: "both kinds of quote (no LSL query can name it)",
        })?;
        let pred = CString::new(pred).map_err(|_| LslError::Nul {
            stream: value.into(),
            what: "the name",
        })?;
        let mut buf: Vec<Info> = vec![std::ptr::null_mut(); 64];
        // SAFETY: `buf` has room for the 64 infos liblsl may write; the query alive for the call.
        let n = unsafe {
            (self.f.resolve_bypred)(
                buf.as_mut_ptr(),
                64,
                pred.as_ptr(),
                i32::try_from(enough.min(64)).unwrap_or(64),
                timeout_s,
            )
        };
        if n < 0 {
            return Err(LslError::Call {
                stream: value.into(),
                call: "lsl_resolve_bypred",
                code: n,
                meaning: meaning(n),
            });
        }
        let found = buf
            .into_iter()
            .take(usize::try_from(n).unwrap_or(0).min(64))
            .filter(|p| !p.is_null())
            .map(|ptr| Found::new(OwnedInfo(self, ptr)))
            .collect();
        Ok(found)
    }

    fn text(&self, p: *const c_char) -> String {
        if p.is_null() {
            return String::new();
        }
        // SAFETY: liblsl returns NUL-terminated strings owned by the live info.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// The XPath query of streams with any of `props` equal to `value`; `None` when `value` holds
/// both kinds of quote (XPath 1.0 cannot write it).
fn predicate(props: &[&str], value: &str) -> Option<String> {
    let q = if !value.contains('\'') {
        '\''
    } else if !value.contains('"') {
        '"'
    } else {
        return None;
    };
    let terms: Vec<String> = props.iter().map(|p| format!("{p}={q}{value}{q}")).collect();
    Some(terms.join(" or "))
}

/// What an outlet announces: name, type, channels with their metadata, rate, source id, and
/// groups of further description (`<acquisition>`, `<screen>` …) as XDF expects them.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSpec {
    pub name: String,
    pub kind: String,
    pub format: ChannelFormat,
    /// Each channel's description (`label`, `unit`, `type`, `eye` …); empty for a marker
    /// stream of one string channel.
    pub channels: Vec<Vec<(String, String)>>,
    /// Samples per second; 0 for irregular (markers).
    pub rate_hz: f64,
    /// Stable across restarts, so a recorder reconnects to the same stream.
    pub source_id: String,
    pub groups: Vec<(String, Vec<(String, String)>)>,
}

impl StreamSpec {
    fn channel_count(&self) -> usize {
        self.channels.len().max(1)
    }
}

/// A stream info this side owns (destroyed with it).
struct OwnedInfo(&'static LslLibrary, Info);

impl Drop for OwnedInfo {
    fn drop(&mut self) {
        // SAFETY: created or resolved here, destroyed once.
        unsafe { (self.0.f.destroy_streaminfo)(self.1) }
    }
}

/// An open outlet. Pushing never blocks on consumers (liblsl buffers per consumer).
pub struct Outlet {
    lib: &'static LslLibrary,
    ptr: OutletPtr,
    name: String,
    channels: usize,
}

// SAFETY: liblsl's outlets are thread-safe (lsl_c.h: "the outlet may be used from any thread").
unsafe impl Send for Outlet {}
unsafe impl Sync for Outlet {}

impl Outlet {
    /// Pushes one sample of float channels stamped `ts` (LSL seconds).
    pub fn push_f32(&self, data: &[f32], ts: f64) -> Result<()> {
        if data.len() != self.channels {
            return Err(self.err("lsl_push_sample_ftp", -3));
        }
        // SAFETY: `data` has the outlet's channel count of floats.
        let code = unsafe { (self.lib.f.push_sample_ftp)(self.ptr, data.as_ptr(), ts, 1) };
        self.check("lsl_push_sample_ftp", code)
    }

    /// Pushes one sample of a one-channel string stream stamped `ts` (LSL seconds).
    pub fn push_str(&self, text: &str, ts: f64) -> Result<()> {
        let s = CString::new(text.replace('\0', " ")).map_err(|_| LslError::Nul {
            stream: self.name.clone(),
            what: "a marker",
        })?;
        let p = [s.as_ptr()];
        // SAFETY: one NUL-terminated string for a one-channel stream, alive for the call.
        let code = unsafe { (self.lib.f.push_sample_strtp)(self.ptr, p.as_ptr(), ts, 1) };
        self.check("lsl_push_sample_strtp", code)
    }

    /// Whether any consumer is connected now.
    pub fn has_consumers(&self) -> bool {
        // SAFETY: live outlet.
        unsafe { (self.lib.f.have_consumers)(self.ptr) != 0 }
    }

    /// Waits up to `timeout_s` for a consumer; whether one is connected.
    pub fn wait_for_consumers(&self, timeout_s: f64) -> bool {
        // SAFETY: live outlet.
        unsafe { (self.lib.f.wait_for_consumers)(self.ptr, timeout_s) != 0 }
    }

    fn check(&self, call: &'static str, code: i32) -> Result<()> {
        if code == 0 {
            Ok(())
        } else {
            Err(self.err(call, code))
        }
    }

    fn err(&self, call: &'static str, code: i32) -> LslError {
        LslError::Call {
            stream: self.name.clone(),
            call,
            code,
            meaning: meaning(code),
        }
    }
}

impl Drop for Outlet {
    fn drop(&mut self) {
        // SAFETY: created here, destroyed once.
        unsafe { (self.lib.f.destroy_outlet)(self.ptr) }
    }
}

/// A stream found on the network.
pub struct Found {
    info: OwnedInfo,
    pub name: String,
    pub kind: String,
    pub source_id: String,
    pub hostname: String,
    pub channels: usize,
}

// SAFETY: a resolved stream info is an immutable description; liblsl's objects may be used
// from any thread.
unsafe impl Send for Found {}

impl Found {
    fn new(info: OwnedInfo) -> Self {
        let (lib, p) = (info.0, info.1);
        // SAFETY: `p` is a live info for each call.
        let (name, kind, source_id, hostname, channels) = unsafe {
            (
                lib.text((lib.f.get_name)(p)),
                lib.text((lib.f.get_type)(p)),
                lib.text((lib.f.get_source_id)(p)),
                lib.text((lib.f.get_hostname)(p)),
                (lib.f.get_channel_count)(p),
            )
        };
        Found {
            info,
            name,
            kind,
            source_id,
            hostname,
            channels: usize::try_from(channels).unwrap_or(0),
        }
    }

    /// An inlet that reports the stream's loss instead of reconnecting silently, opened
    /// within `timeout_s`.
    pub fn open(&self, timeout_s: f64) -> Result<Inlet> {
        let lib = self.info.0;
        // SAFETY: live info; 360 s buffered, chunks as pushed, no silent recovery.
        let ptr = unsafe { (lib.f.create_inlet)(self.info.1, 360, 0, 0) };
        let inlet = Inlet {
            lib,
            ptr,
            name: self.name.clone(),
            channels: self.channels.max(1),
        };
        if ptr.is_null() {
            return Err(inlet.err("lsl_create_inlet", -4));
        }
        let mut ec = 0i32;
        // SAFETY: live inlet, valid out-pointer.
        unsafe { (lib.f.open_stream)(ptr, timeout_s, &mut ec) };
        if ec != 0 {
            return Err(inlet.err("lsl_open_stream", ec));
        }
        Ok(inlet)
    }
}

/// What one pull from an inlet gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Pulled {
    /// A sample (its channels joined by ", ") and its time stamp on the sender's clock (s).
    Sample { text: String, ts: f64 },
    /// Nothing within the timeout.
    Nothing,
    /// The stream has gone (its outlet closed or its machine went away).
    Lost,
}

/// The sender's clock against ours: add `offset_s` to a sender's stamp for LSL local time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Correction {
    pub offset_s: f64,
    /// The sender's clock when it was measured.
    pub remote_s: f64,
    /// Half the round trip of the best measurement (s).
    pub uncertainty_s: f64,
}

pub struct Inlet {
    lib: &'static LslLibrary,
    ptr: InletPtr,
    name: String,
    channels: usize,
}

// SAFETY: liblsl's inlets may be used from any one thread at a time; `Inlet` is not `Sync`.
unsafe impl Send for Inlet {}

impl Inlet {
    /// Pulls one sample as text, waiting at most `timeout_s`.
    pub fn pull(&mut self, timeout_s: f64) -> Result<Pulled> {
        let mut buf: Vec<*mut c_char> = vec![std::ptr::null_mut(); self.channels];
        let mut ec = 0i32;
        let n = i32::try_from(self.channels).unwrap_or(i32::MAX);
        // SAFETY: room for the stream's channel count of string pointers; liblsl allocates
        // each string, freed below with lsl_destroy_string.
        let ts = unsafe {
            (self.lib.f.pull_sample_str)(self.ptr, buf.as_mut_ptr(), n, timeout_s, &mut ec)
        };
        let parts: Vec<String> = buf
            .into_iter()
            .filter(|p| !p.is_null())
            .map(|p| {
                let s = self.lib.text(p);
                // SAFETY: allocated by liblsl for this pull, freed once.
                unsafe { (self.lib.f.destroy_string)(p) };
                s
            })
            .collect();
        match ec {
            0 if ts != 0.0 => Ok(Pulled::Sample {
                text: parts.join(", "),
                ts,
            }),
            0 | -1 => Ok(Pulled::Nothing),
            -2 => Ok(Pulled::Lost),
            code => Err(self.err("lsl_pull_sample_str", code)),
        }
    }

    /// The sender's clock offset, measured within `timeout_s`.
    pub fn time_correction(&mut self, timeout_s: f64) -> Result<Option<Correction>> {
        let (mut remote, mut uncertainty, mut ec) = (0.0f64, 0.0f64, 0i32);
        // SAFETY: live inlet, valid out-pointers.
        let offset = unsafe {
            (self.lib.f.time_correction_ex)(
                self.ptr,
                &mut remote,
                &mut uncertainty,
                timeout_s,
                &mut ec,
            )
        };
        match ec {
            0 => Ok(Some(Correction {
                offset_s: offset,
                remote_s: remote,
                uncertainty_s: uncertainty,
            })),
            -1 | -2 => Ok(None),
            code => Err(self.err("lsl_time_correction_ex", code)),
        }
    }

    fn err(&self, call: &'static str, code: i32) -> LslError {
        LslError::Call {
            stream: self.name.clone(),
            call,
            code,
            meaning: meaning(code),
        }
    }
}

impl Drop for Inlet {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: created here, destroyed once.
            unsafe { (self.lib.f.destroy_inlet)(self.ptr) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_quote_what_they_look_for() {
        assert_eq!(
            predicate(&["name", "type"], "PsychoPy Markers").as_deref(),
            Some("name='PsychoPy Markers' or type='PsychoPy Markers'")
        );
        assert_eq!(
            predicate(&["name"], "it's").as_deref(),
            Some("name=\"it's\"")
        );
        assert_eq!(predicate(&["name"], "a'b\"c"), None);
    }

    #[test]
    fn a_missing_library_names_how_to_install_one() {
        let e = LslLibrary::load(Path::new("/nonexistent/liblsl.so"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("/nonexistent/liblsl.so"), "{e}");
        assert!(
            e.contains("pip install pylsl") && e.contains("ET_LSL_LIB"),
            "{e}"
        );
    }

    #[test]
    fn a_library_without_the_lsl_functions_is_named() {
        // libc loads but is not liblsl.
        match LslLibrary::load(Path::new("libc.so.6")) {
            Err(LslError::MissingSymbol { symbol, .. }) => {
                assert_eq!(symbol, "lsl_library_version")
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("libc taken for liblsl"),
        }
    }
}
