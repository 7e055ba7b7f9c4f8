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
//! Waiting for the peer's turn (the first read after this side wrote) and
//! waiting for the rest of a message the peer is still writing are two
//! different waits, with a budget each. The reference Python client writes
//! a request in about ten small writes; with one budget, the quick pieces
//! kept resetting it, so the long wait for the next call spun its whole
//! budget every time (≈ 50 µs of CPU per call). A [`MarkTurn`] writer tells
//! the reader when this side has written; without one, every wait counts
//! as a turn.
//!
//! Within a message the reader first tries a nap: `MessagePace` knows how
//! long the peer usually takes to finish a message it has started, and one
//! sleep until then replaces spinning across (or waking for) every piece.
//!
//! Only for descriptors whose open file description this reader owns alone
//! (a pipe's read end): `O_NONBLOCK` is set on it.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::message_pace::MessagePace;

/// Default time spent polling before blocking.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(50);

/// A reader over a pipe that spins briefly before blocking.
#[derive(Debug)]
pub struct SpinReader<R> {
    inner: R,
    fd: RawFd,
    /// For the first read after this side wrote: the peer's turn.
    turn: Budget,
    /// For the rest of a message the peer is still writing.
    within: Budget,
    /// Set by a [`MarkTurn`] writer on every write; `None`: every wait is a turn.
    wrote: Option<Arc<AtomicBool>>,
    /// How long the peer takes to finish a message (only with turns).
    pace: MessagePace,
    /// This thread's timer slack is fine enough for short naps.
    fine_timers: bool,
}

/// Blocked reads in a row tolerated before the budget starts shrinking.
const TOLERATED_MISSES: u32 = 4;

const PROBE_EVERY: u32 = 128;
const PROBE_BUDGET: Duration = Duration::from_micros(8);

/// One adaptive spin budget.
#[derive(Debug)]
struct Budget {
    max: Duration,
    now: Duration,
    blocked: u32,
    misses_in_row: u32,
}

impl Budget {
    fn new(max: Duration) -> Self {
        Self { max, now: max, blocked: 0, misses_in_row: 0 }
    }

    /// The data came within the budget: allow the full budget again.
    fn hit(&mut self) {
        self.now = self.max;
        self.misses_in_row = 0;
    }

    /// The budget ran out and the read blocked.
    fn miss(&mut self) {
        self.blocked = self.blocked.wrapping_add(1);
        self.misses_in_row = self.misses_in_row.saturating_add(1);
        if self.misses_in_row > TOLERATED_MISSES {
            self.now /= 2;
        }
        if self.now < Duration::from_micros(1) {
            self.now = if self.blocked.is_multiple_of(PROBE_EVERY) { PROBE_BUDGET } else { Duration::ZERO };
        }
    }
}

/// A writer that marks, on every write, that the peer's turn comes next,
/// for the [`SpinReader`] given the same flag ([`SpinReader::with_turns`]).
#[derive(Debug)]
pub struct MarkTurn<W> {
    inner: W,
    wrote: Arc<AtomicBool>,
}

impl<W> MarkTurn<W> {
    /// Wrap `inner`, setting `wrote` on every write.
    pub fn new(inner: W, wrote: Arc<AtomicBool>) -> Self {
        Self { inner, wrote }
    }
}

impl<W: Write> Write for MarkTurn<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.wrote.store(true, Ordering::Relaxed);
        self.inner.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.wrote.store(true, Ordering::Relaxed);
        self.inner.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

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
        Ok(Self {
            inner,
            fd,
            turn: Budget::new(spin),
            within: Budget::new(spin),
            wrote: None,
            pace: MessagePace::default(),
            fine_timers: false,
        })
    }

    /// Tell turns from the rest of a message by `wrote`, which a
    /// [`MarkTurn`] around this side's writer sets.
    pub fn with_turns(mut self, wrote: Arc<AtomicBool>) -> Self {
        self.wrote = Some(wrote);
        self
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

impl<R> SpinReader<R> {
    /// Sleep `nap`, with this thread's timer slack first made fine enough
    /// (Linux's default slack, 50 µs, would outlast the naps themselves).
    fn nap(&mut self, nap: Duration) {
        if !self.fine_timers {
            self.fine_timers = true;
            fine_timer_slack();
        }
        std::thread::sleep(nap);
    }
}

#[cfg(target_os = "linux")]
fn fine_timer_slack() {
    const SLACK_NS: libc::c_ulong = 1_000;
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer and touches no memory.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, SLACK_NS, 0, 0, 0) };
}

#[cfg(not(target_os = "linux"))]
fn fine_timer_slack() {}

impl<R: Read> Read for SpinReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // The first read since this side wrote waits for the peer's turn;
        // any later one, for the rest of what the peer is writing.
        let is_turn = self.wrote.as_ref().is_none_or(|wrote| wrote.swap(false, Ordering::Relaxed));
        let paced = self.wrote.is_some();
        if paced && is_turn {
            self.pace.next_message();
        }
        let mut started: Option<Instant> = None;
        let mut had_to_block = false;
        let mut tried_nap = false;
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Ok(n) => {
                    let budget = if is_turn { &mut self.turn } else { &mut self.within };
                    if started.is_some() && !had_to_block {
                        budget.hit();
                    }
                    if paced && n > 0 {
                        self.pace.arrived(is_turn, started.is_some(), Instant::now());
                    }
                    return Ok(n);
                }
                other => return other,
            }
            if paced && !is_turn && !tried_nap {
                tried_nap = true;
                if let Some(nap) = self.pace.nap(Instant::now()) {
                    self.nap(nap);
                    continue;
                }
            }
            let budget = if is_turn { &mut self.turn } else { &mut self.within };
            let t0 = *started.get_or_insert_with(Instant::now);
            if !had_to_block && t0.elapsed() < budget.now {
                std::hint::spin_loop();
                continue;
            }
            if !had_to_block {
                had_to_block = true;
                budget.miss();
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
        assert_eq!(r.turn.now, Duration::from_micros(5), "40 -> 20 -> 10 -> 5");
        b.write_all(b"y").unwrap();
        r.read_exact(&mut buf).unwrap();
        assert_eq!(r.turn.now, Duration::from_micros(5), "data already there: no spin, budget unchanged");
    }

    /// The peer answers each call slowly, in two pieces a moment apart (as
    /// the Python client writes a request in several small writes): the
    /// quick second pieces must not restore the budget of the slow wait.
    #[test]
    fn quick_pieces_of_a_message_do_not_restore_the_turn_budget() {
        const ROUNDS: usize = 10;
        let (a, mut b) = UnixStream::pair().unwrap();
        let calls = a.try_clone().unwrap();
        let wrote = Arc::new(AtomicBool::new(false));
        let mut r = SpinReader::new(a, Duration::from_micros(40)).unwrap().with_turns(wrote.clone());
        let mut calls = MarkTurn::new(calls, wrote);
        let peer = std::thread::spawn(move || {
            let mut call = [0u8; 4];
            for _ in 0..ROUNDS {
                b.read_exact(&mut call).unwrap();
                std::thread::sleep(Duration::from_millis(5));
                b.write_all(b"a").unwrap();
                // The rest of the message follows a few µs later.
                let t = Instant::now();
                while t.elapsed() < Duration::from_micros(20) {
                    std::hint::spin_loop();
                }
                b.write_all(b"b").unwrap();
            }
        });
        let mut buf = [0u8; 1];
        for _ in 0..ROUNDS {
            calls.write_all(b"call").unwrap();
            r.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"a");
            r.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"b");
        }
        peer.join().unwrap();
        // Ten 5 ms turns: at least seven missed (40 -> 20 -> 10 -> 5 µs after the fourth).
        assert!(r.turn.now <= Duration::from_micros(10), "turn budget {:?}", r.turn.now);
    }

    #[test]
    fn without_a_turn_marker_every_wait_is_a_turn() {
        let (a, _b) = UnixStream::pair().unwrap();
        let r = SpinReader::new(a, Duration::from_micros(40)).unwrap();
        assert!(r.wrote.is_none());
        let mut marked = MarkTurn::new(Vec::new(), Arc::new(AtomicBool::new(false)));
        marked.write_all(b"x").unwrap();
        assert!(marked.wrote.load(Ordering::Relaxed));
        assert_eq!(marked.inner, b"x");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn regular_files_are_left_alone() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert!(SpinReader::new(f, DEFAULT_SPIN).is_err());
    }
}
