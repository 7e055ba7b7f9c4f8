//! Is a worker listening on a socket path?
//!
//! A non-blocking `connect(2)`: accepted, or `EAGAIN` (a live listener
//! whose backlog is full: busy, not dead), means alive. `ECONNREFUSED` is
//! retried after short pauses before it is believed, since unlinking a live
//! worker's socket and spawning a duplicate is the costly mistake. Anything
//! else (no such file, not a socket, permission) means nothing listens.
//! This asks "is anything listening", not "does it answer".

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

/// Pauses before re-probing a refused socket.
const REFUSED_BACKOFF: [Duration; 3] =
    [Duration::from_millis(50), Duration::from_millis(100), Duration::from_millis(200)];

/// Whether something listens on the Unix socket at `path`.
pub fn is_listening(path: &Path) -> bool {
    for attempt in 0..=REFUSED_BACKOFF.len() {
        if attempt > 0 {
            std::thread::sleep(REFUSED_BACKOFF[attempt - 1]);
        }
        match connect_nonblocking(path) {
            Ok(()) => return true,
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) || e.raw_os_error() == Some(libc::EINPROGRESS) => {
                return true
            }
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => continue,
            Err(_) => return false,
        }
    }
    false
}

/// One non-blocking connect attempt; the socket is closed again at once.
fn connect_nonblocking(path: &Path) -> io::Result<()> {
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: sockaddr_un is plain data; all-zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "socket path too long"));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let socket = nonblocking_unix_socket()?;
    let fd = socket.as_raw_fd();
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: `addr` is a valid sockaddr_un of `len` bytes for the call's duration.
    let rc = unsafe { libc::connect(fd, (&addr as *const libc::sockaddr_un).cast(), len) };
    let result = if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) };
    drop(socket);
    result
}

/// A non-blocking, close-on-exec Unix stream socket: one call on Linux.
#[cfg(target_os = "linux")]
fn nonblocking_unix_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket() has no memory preconditions; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor we own; OwnedFd closes it on drop.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A non-blocking, close-on-exec Unix stream socket where `socket(2)` takes
/// no flags (macOS): the flags are set after creation.
#[cfg(not(target_os = "linux"))]
fn nonblocking_unix_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket() has no memory preconditions; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor we own; OwnedFd closes it on drop.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: fcntl on a descriptor we own, with int arguments.
    let ok = unsafe {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) == 0
            && libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK) == 0
    };
    if ok {
        Ok(socket)
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixListener;

    use super::*;

    #[test]
    fn listening_stale_and_missing_sockets() {
        let dir = std::env::temp_dir().join(format!("vgi-probe-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.sock");
        let listener = UnixListener::bind(&path).unwrap();
        assert!(is_listening(&path));
        drop(listener); // the file stays: a stale socket
        assert!(path.exists());
        assert!(!is_listening(&path));
        std::fs::remove_file(&path).unwrap();
        assert!(!is_listening(&path));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
