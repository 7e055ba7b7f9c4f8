//! A client socket that polls for the answer briefly before parking.
//!
//! A lockstep call's answer usually arrives within tens of µs, and on a
//! small VM parking the thread in `epoll_wait` and being woken costs about
//! as much again. The transport marks a request as pending just before
//! sending it; the first successful write of it arms the socket, and the
//! first read that would block then polls the non-blocking socket with
//! `recv` for up to the spin budget before parking. The first read (or
//! spin) disarms it, so hyper's speculative reads on an idle connection,
//! and its read before writing a request, never spin.

use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Longest the first read of an answer polls before parking.
pub(crate) const SPIN_BUDGET: Duration = Duration::from_micros(60);

/// Nothing to wait for.
const IDLE: u8 = 0;
/// The transport is about to send a request.
pub(crate) const REQUEST_PENDING: u8 = 1;
/// The request went out: the next blocked read spins.
const ARMED: u8 = 2;

/// A TCP stream whose first blocked read after a request spins.
#[derive(Debug)]
pub(crate) struct SpinStream {
    inner: TcpStream,
    state: Arc<AtomicU8>,
}

impl SpinStream {
    /// Wrap `inner`; the transport stores [`REQUEST_PENDING`] in `state` before each request.
    pub(crate) fn new(inner: TcpStream, state: Arc<AtomicU8>) -> Self {
        Self { inner, state }
    }

    /// Poll with non-blocking `recv` until data, EOF, an error, or the budget.
    fn spin_read(&self, buf: &mut ReadBuf<'_>) -> Option<io::Result<()>> {
        let fd = self.inner.as_raw_fd();
        let started = Instant::now();
        loop {
            let unfilled = buf.initialize_unfilled();
            // SAFETY: `unfilled` is a valid, initialised, writable buffer of the given length and
            // `fd` is this stream's open socket for the duration of the call.
            let n = unsafe { libc::recv(fd, unfilled.as_mut_ptr().cast(), unfilled.len(), libc::MSG_DONTWAIT) };
            if n >= 0 {
                buf.advance(n as usize);
                return Some(Ok(()));
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::WouldBlock => {}
                io::ErrorKind::Interrupted => continue,
                _ => return Some(Err(err)),
            }
            if started.elapsed() >= SPIN_BUDGET {
                return None;
            }
            std::hint::spin_loop();
        }
    }
}

impl SpinStream {
    /// A pending request's bytes started going out: arm the next blocked read.
    fn arm_after(&self, written: &Poll<io::Result<usize>>) {
        if matches!(written, Poll::Ready(Ok(n)) if *n > 0) {
            let _ = self.state.compare_exchange(REQUEST_PENDING, ARMED, Ordering::Relaxed, Ordering::Relaxed);
        }
    }
}

impl AsyncRead for SpinStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        let armed = this.state.compare_exchange(ARMED, IDLE, Ordering::Relaxed, Ordering::Relaxed).is_ok();
        match result {
            // Interest is registered, so anything arriving after the spin still wakes us.
            Poll::Pending if armed && buf.remaining() > 0 => match this.spin_read(buf) {
                Some(r) => Poll::Ready(r),
                None => Poll::Pending,
            },
            other => other,
        }
    }
}

impl AsyncWrite for SpinStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.arm_after(&written);
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.arm_after(&written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
