//! Spin-then-block reads for lockstep pipes.
//!
//! A lockstep call waits for the peer's answer, which usually arrives within
//! microseconds; parking the thread in the kernel and being woken costs far
//! more than that on small machines (tens of µs per wake-up on a 2-vCPU VM).
//! This reader polls the non-blocking descriptor for a short budget before
//! falling back to a blocking `poll`, so an idle worker still sleeps.
//!
//! The budget adapts: it returns to the maximum whenever an answer arrives
//! within it, and after four blocked reads in a row it halves on every
//! further one, so a slow
//! peer (say, an interpreter taking 100 µs between calls) soon costs no
//! spinning at all; every 128 blocked reads it probes again with a small
//! budget.
//!
//! Only for descriptors whose open file description this reader owns alone
//! (a pipe's read end): `O_NONBLOCK` is set on it.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

/// Default time spent polling before blocking.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(50);

/// A reader over a pipe that spins briefly before blocking.
#[derive(Debug)]
pub struct SpinReader<R> {
    inner: R,
    fd: RawFd,
    max_spin: Duration,
    budget: Duration,
    blocked: u32,
    misses_in_row: u32,
}

/// Blocked reads in a row tolerated before the budget starts shrinking.
const TOLERATED_MISSES: u32 = 4;

const PROBE_EVERY: u32 = 128;
const PROBE_BUDGET: Duration = Duration::from_micros(8);

impl<R: Read + AsRawFd> SpinReader<R> {
    /// Wrap `inner`; returns it unwrapped (`Err`) when its descriptor is not a
    /// pipe or socket, or cannot be made non-blocking. `O_NONBLOCK` is set on
    /// the open file description, so nothing else (a `try_clone` used for
    /// writing, say) may share it.
    pub fn new(inner: R, spin: Duration) -> Result<Self, R> {
        let fd = inner.as_raw_fd();
        if !is_pipe_or_socket(fd) || set_nonblocking(fd).is_err() {
            return Err(inner);
        }
        Ok(Self { inner, fd, max_spin: spin, budget: spin, blocked: 0, misses_in_row: 0 })
    }
}

fn is_pipe_or_socket(fd: RawFd) -> bool {
    // SAFETY: fstat writes into the zeroed struct we own; fd validity is checked by the call.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return false;
    }
    let kind = st.st_mode & libc::S_IFMT;
    kind == libc::S_IFIFO || kind == libc::S_IFSOCK
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a descriptor we hold; no memory is passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn wait_readable(fd: RawFd) -> io::Result<()> {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    loop {
        // SAFETY: one valid pollfd for the duration of the call.
        let rc = unsafe { libc::poll(&mut pfd, 1, -1) };
        if rc >= 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

impl<R: Read> Read for SpinReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut started: Option<Instant> = None;
        let mut had_to_block = false;
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Ok(n) => {
                    if started.is_some() && !had_to_block {
                        // The spin paid off: allow the full budget again.
                        self.budget = self.max_spin;
                        self.misses_in_row = 0;
                    }
                    return Ok(n);
                }
                other => return other,
            }
            let t0 = *started.get_or_insert_with(Instant::now);
            if !had_to_block && t0.elapsed() < self.budget {
                std::hint::spin_loop();
                continue;
            }
            if !had_to_block {
                had_to_block = true;
                self.blocked = self.blocked.wrapping_add(1);
                self.misses_in_row = self.misses_in_row.saturating_add(1);
                if self.misses_in_row > TOLERATED_MISSES {
                    self.budget /= 2;
                }
                if self.budget < Duration::from_micros(1) {
                    self.budget = if self.blocked.is_multiple_of(PROBE_EVERY) { PROBE_BUDGET } else { Duration::ZERO };
                }
            }
            wait_readable(self.fd)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    #[test]
    fn reads_what_arrives_later_and_blocks_when_idle() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut r = SpinReader::new(a, Duration::from_micros(10)).expect("a socket qualifies");
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            b.write_all(b"late").unwrap();
        });
        let mut buf = [0u8; 4];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"late");
        writer.join().unwrap();
    }

    #[test]
    fn the_budget_shrinks_when_spinning_does_not_pay() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut r = SpinReader::new(a, Duration::from_micros(40)).unwrap();
        let mut buf = [0u8; 1];
        for _ in 0..TOLERATED_MISSES + 3 {
            let writer = std::thread::spawn({
                let mut b = b.try_clone().unwrap();
                move || {
                    std::thread::sleep(Duration::from_millis(5));
                    b.write_all(b"x").unwrap();
                }
            });
            r.read_exact(&mut buf).unwrap();
            writer.join().unwrap();
        }
        assert_eq!(r.budget, Duration::from_micros(5), "40 -> 20 -> 10 -> 5");
        b.write_all(b"y").unwrap();
        r.read_exact(&mut buf).unwrap();
        assert_eq!(r.budget, Duration::from_micros(5), "data already there: no spin, budget unchanged");
    }

    #[test]
    fn regular_files_are_left_alone() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert!(SpinReader::new(f, DEFAULT_SPIN).is_err());
    }
}
