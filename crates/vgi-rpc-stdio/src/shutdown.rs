//! Graceful shutdown for socket servers: a token that stops the accept loop
//! (waking it from `poll`) and half-closes live connections so each ends
//! after its in-flight call.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Shared stop signal for one listener.
#[derive(Clone)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

/// Half-closes one live connection's read side.
type ReadCloser = Box<dyn Fn() + Send>;

struct Inner {
    stopped: AtomicBool,
    wake_tx: Mutex<UnixStream>,
    wake_rx: UnixStream,
    live: Mutex<Vec<(u64, ReadCloser)>>,
    next_id: Mutex<u64>,
}

impl Shutdown {
    /// A fresh, untriggered token.
    pub fn new() -> io::Result<Self> {
        let (tx, rx) = UnixStream::pair()?;
        rx.set_nonblocking(true)?;
        Ok(Self {
            inner: Arc::new(Inner {
                stopped: AtomicBool::new(false),
                wake_tx: Mutex::new(tx),
                wake_rx: rx,
                live: Mutex::new(Vec::new()),
                next_id: Mutex::new(0),
            }),
        })
    }

    /// Stop accepting and end every live connection after its current call.
    pub fn trigger(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        if let Ok(mut tx) = self.inner.wake_tx.lock() {
            let _ = tx.write_all(&[1]);
        }
        if let Ok(live) = self.inner.live.lock() {
            for (_, close_read) in live.iter() {
                close_read();
            }
        }
    }

    /// Whether `trigger` was called.
    pub fn is_triggered(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// Trigger on SIGTERM or SIGINT (spawns one signal-watching thread).
    pub fn on_signals(&self) -> io::Result<()> {
        let mut signals =
            signal_hook::iterator::Signals::new([signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT])?;
        let me = self.clone();
        std::thread::Builder::new().name("vgi-signals".into()).spawn(move || {
            if signals.forever().next().is_some() {
                me.trigger();
            }
        })?;
        Ok(())
    }

    pub(crate) fn wake_fd(&self) -> RawFd {
        self.inner.wake_rx.as_raw_fd()
    }

    pub(crate) fn drain_wake(&self) {
        let mut buf = [0u8; 64];
        let _ = (&self.inner.wake_rx).read(&mut buf);
    }

    /// Register a live connection's read-side closer; returns its id.
    pub(crate) fn register(&self, close_read: ReadCloser) -> u64 {
        let id = match self.inner.next_id.lock() {
            Ok(mut n) => {
                *n += 1;
                *n
            }
            Err(_) => 0,
        };
        if self.is_triggered() {
            close_read();
        }
        if let Ok(mut live) = self.inner.live.lock() {
            live.push((id, close_read));
        }
        id
    }

    pub(crate) fn unregister(&self, id: u64) {
        if let Ok(mut live) = self.inner.live.lock() {
            live.retain(|(i, _)| *i != id);
        }
    }
}

/// What ended a wait on a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The descriptor is readable.
    Readable,
    /// The shutdown token fired.
    Shutdown,
    /// The timeout passed first.
    TimedOut,
}

/// Wait until `fd` is readable, the shutdown token fires, or `timeout`
/// (when given) passes.
pub(crate) fn wait_readable(fd: RawFd, shutdown: &Shutdown, timeout: Option<Duration>) -> io::Result<Wake> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        if shutdown.is_triggered() {
            return Ok(Wake::Shutdown);
        }
        let poll_ms = match deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(Wake::TimedOut);
                }
                // Round up so a sub-millisecond remainder does not spin.
                i32::try_from(left.as_millis().saturating_add(1)).unwrap_or(i32::MAX)
            }
        };
        let mut fds = [
            libc::pollfd { fd, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: shutdown.wake_fd(), events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: `fds` is a valid array of two pollfd structs for the call's duration.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, poll_ms) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if fds[1].revents != 0 {
            shutdown.drain_wake();
            if shutdown.is_triggered() {
                return Ok(Wake::Shutdown);
            }
        }
        if fds[0].revents != 0 {
            return Ok(Wake::Readable);
        }
    }
}
