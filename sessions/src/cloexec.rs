//! HDF5 opens files without close-on-exec, so a process started while a recording is open
//! (by this program, or by another thread of a test) inherits the descriptor: it keeps HDF5's
//! lock on the file and, after the file is deleted, its disk space. Every recording this crate
//! opens has its descriptor marked close-on-exec right after the open.

use std::ffi::c_void;

/// Marks `file`'s descriptor close-on-exec (files on HDF5's default POSIX driver; other
/// drivers are left as they are).
pub(crate) fn close_on_exec(file: &hdf5::File) {
    let id = file.id();
    hdf5::sync::sync(|| {
        let mut handle: *mut c_void = std::ptr::null_mut();
        // SAFETY: `id` is an open file of this process (the borrow of `file` keeps it open), the
        // call runs under the crate's global HDF5 lock, and with the POSIX (sec2) driver the
        // handle HDF5 returns points at the file's `int` descriptor, valid while it is open.
        unsafe {
            if hdf5_sys::h5f::H5Fget_vfd_handle(id, hdf5_sys::h5p::H5P_DEFAULT, &mut handle) < 0
                || handle.is_null()
            {
                return;
            }
            let fd = *handle.cast::<libc::c_int>();
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    /// Every descriptor this process holds on `path`, with its close-on-exec flag.
    fn descriptors_of(path: &std::path::Path) -> Vec<bool> {
        let want = std::fs::canonicalize(path).unwrap();
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| {
                let e = e.ok()?;
                let target = std::fs::read_link(e.path()).ok()?;
                (target == want).then(|| {
                    let fd: libc::c_int = e.file_name().to_str()?.parse().ok()?;
                    // SAFETY: F_GETFD on a descriptor this process holds reads a flag.
                    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
                    Some(flags >= 0 && flags & libc::FD_CLOEXEC != 0)
                })?
            })
            .collect()
    }

    #[test]
    fn recordings_opened_by_the_reader_and_writer_are_not_inherited() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.h5");
        let w =
            crate::RecordingWriter::create(&path, &crate::RecordingHeader::new("P01", "1"), None)
                .unwrap();
        let open = descriptors_of(&path);
        assert!(!open.is_empty() && open.iter().all(|c| *c), "{open:?}");
        w.finish(true).unwrap();
        let f = crate::reader::open_checked(&path).unwrap();
        let open = descriptors_of(&path);
        assert!(!open.is_empty() && open.iter().all(|c| *c), "{open:?}");
        drop(f);
    }
}
