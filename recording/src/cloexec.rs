//! HDF5 opens files without close-on-exec, so a process started while a recording is open
//! (by this program, or by another thread of a test) inherits the descriptor: it keeps HDF5's
//! lock on the file and, after the file is deleted, its disk space. Two halves close that:
//! every recording this crate opens has its descriptor marked close-on-exec right after the
//! open, and a process started through [`inherit_only_stdio`] inherits no descriptor but its
//! standard streams, so even one started between HDF5's open and that mark gets nothing.

use std::ffi::c_void;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes `cmd`'s process inherit only stdin, stdout and stderr: every other descriptor of
/// this process (whoever opened it, with or without close-on-exec) is closed at its exec.
/// Use it for every process this program or its tests start.
pub fn inherit_only_stdio(cmd: &mut Command) -> &mut Command {
    // SAFETY: the closure runs in the forked child between fork and exec, where only
    // async-signal-safe calls are allowed: it makes system calls (sysconf is getrlimit in
    // glibc), no allocation, no lock.
    // Descriptors are marked close-on-exec rather than closed, so std's own error pipe to the
    // parent still reports a failed exec.
    unsafe {
        cmd.pre_exec(|| {
            let range = libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            if range != 0 {
                // Kernels before 5.11 lack the flag: mark each descriptor one by one.
                let max = match libc::sysconf(libc::_SC_OPEN_MAX) {
                    n if n > 3 => n.min(1 << 20) as libc::c_int,
                    _ => 1024,
                };
                for fd in 3..max {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
            Ok(())
        })
    }
}

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
    use std::os::fd::AsRawFd;

    #[test]
    fn a_started_process_inherits_no_descriptor_but_its_standard_streams() {
        // An open like HDF5's: no O_CLOEXEC (std opens with it, so clear the flag).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("held.h5");
        let held = std::fs::File::create(&path).unwrap();
        // SAFETY: F_SETFD on a descriptor `held` owns.
        unsafe { libc::fcntl(held.as_raw_fd(), libc::F_SETFD, 0) };
        let listing = |cmd: &mut std::process::Command| {
            let out = cmd.args(["-c", "ls -l /proc/self/fd/"]).output().unwrap();
            String::from_utf8(out.stdout).unwrap()
        };
        let plain = listing(&mut std::process::Command::new("sh"));
        assert!(plain.contains("held.h5"), "{plain}");
        let guarded = listing(super::inherit_only_stdio(&mut std::process::Command::new(
            "sh",
        )));
        assert!(!guarded.contains("held.h5"), "{guarded}");
        drop(held);
    }

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
