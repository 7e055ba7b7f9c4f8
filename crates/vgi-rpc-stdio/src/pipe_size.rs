//! Larger pipe buffers: with the default 64 KiB a bulk transfer costs a
//! context switch per 64 KiB; a 1 MiB pipe cuts that sixteenfold.

use std::os::fd::AsRawFd;

/// Size requested for pipes this crate reads or writes.
pub const PIPE_BYTES: libc::c_int = 1 << 20;

/// Best effort: grow the pipe behind `fd` (no-op for non-pipes, when the
/// system limit is lower, and off Linux, where pipes cannot be resized).
#[cfg(target_os = "linux")]
pub fn enlarge_pipe(fd: &impl AsRawFd) {
    // SAFETY: fcntl with F_SETPIPE_SZ takes an int argument and only affects
    // the descriptor's pipe; failure (EBADF, EINVAL for non-pipes, EPERM over
    // the limit) leaves everything as it was.
    unsafe {
        libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_BYTES);
    }
}

/// Off Linux pipe buffers have a fixed size: nothing to do.
#[cfg(not(target_os = "linux"))]
pub fn enlarge_pipe(_fd: &impl AsRawFd) {}
