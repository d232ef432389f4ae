//! Makes the file of a killed recording normally readable.
//!
//! A process killed while writing in SWMR mode leaves the superblock marked "open for write",
//! so a normal open refuses the file. Everything flushed before the kill is intact: clearing
//! that mark (what `h5clear -s` does) is all that is needed, and no row is rewritten.

use std::ffi::CString;
use std::path::Path;

use hdf5::File;

use crate::error::{RecordingError, Result};
use crate::reader::{open_checked, Recording};

#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryReport {
    /// False when the file was already closed cleanly and needed nothing.
    pub was_open: bool,
    pub complete: bool,
    pub samples: usize,
    pub trials: usize,
    pub events: usize,
    pub frames: usize,
    /// Time span of the samples, µs.
    pub duration_us: i64,
    pub last_sample_us: Option<i64>,
}

/// Clears the superblock's "open for write" flags by opening with HDF5's
/// `clear_status_flags` file-access property, as h5clear does.
fn clear_status_flags(path: &Path) -> Result<()> {
    use hdf5_sys::{h5f, h5p};
    let c_path = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| {
        RecordingError::Invalid(format!("{}: path contains a NUL byte", path.display()))
    })?;
    let prop = c"clear_status_flags";
    let outcome = hdf5::sync::sync(|| {
        // SAFETY: plain HDF5 C calls under the crate's global lock; every id we create is closed
        // on every path, and `clear` outlives the H5Pset call that copies it.
        unsafe {
            let fapl = h5p::H5Pcreate(*h5p::H5P_CLS_FILE_ACCESS);
            if fapl < 0 {
                return Err("cannot create a file-access property list".to_string());
            }
            let mut clear: hdf5_sys::h5::hbool_t = 1;
            if h5p::H5Pset(
                fapl,
                prop.as_ptr(),
                (&mut clear as *mut hdf5_sys::h5::hbool_t).cast(),
            ) < 0
            {
                h5p::H5Pclose(fapl);
                return Err("this HDF5 library cannot clear status flags".to_string());
            }
            let fid = h5f::H5Fopen(c_path.as_ptr(), h5f::H5F_ACC_RDWR, fapl);
            h5p::H5Pclose(fapl);
            if fid < 0 {
                return Err(
                    "HDF5 cannot open the file even with its status flags cleared".to_string(),
                );
            }
            if h5f::H5Fclose(fid) < 0 {
                return Err("closing after clearing the status flags failed".to_string());
            }
            Ok(())
        }
    });
    outcome.map_err(|message| RecordingError::Corrupt {
        path: path.into(),
        message,
    })
}

/// Recovers `path` in place and reports what it holds. Safe to run on a file that needs nothing.
pub fn recover(path: &Path) -> Result<RecoveryReport> {
    let (file, was_open) = match open_checked(path) {
        Ok(f) => (f, false),
        Err(RecordingError::NotClosed { .. }) => {
            tracing::info!(path = %path.display(), "clearing the 'open for write' flags of a killed recording");
            clear_status_flags(path)?;
            (open_checked(path)?, true)
        }
        Err(e) => return Err(e),
    };
    let rec = Recording::from_file(&file, path)?;
    drop(file);
    if was_open {
        mark_recovered(path)?;
        // The space the killed writer held for closing the file is not needed any more.
        crate::writer::remove_stale_reserves(path);
    }
    Ok(RecoveryReport {
        was_open,
        complete: rec.header.complete,
        samples: rec.gaze.len(),
        trials: rec.trials.len(),
        events: rec.events.len(),
        frames: rec.frames.len(),
        duration_us: rec.duration_us(),
        last_sample_us: rec.gaze.last().map(|s| s.system_ts_us),
    })
}

/// Notes in the file when it was recovered; `complete` stays false.
fn mark_recovered(path: &Path) -> Result<()> {
    let f = File::open_rw(path).map_err(|e| RecordingError::Hdf5 {
        path: path.into(),
        what: "reopen to note the recovery".into(),
        message: e.to_string(),
    })?;
    crate::cloexec::close_on_exec(&f);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    if f.attr("recovered_utc").is_err() {
        crate::writer::str_attr(&f, "recovered_utc", &now).map_err(|e| RecordingError::Hdf5 {
            path: path.into(),
            what: "write 'recovered_utc'".into(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}
