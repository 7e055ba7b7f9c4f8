//! The accept loop shared by the Unix and TCP listeners: sequential or one
//! thread per connection, a connection cap (extra clients wait in the
//! backlog), an idle timeout, and graceful shutdown.
//!
//! Safe defaults: a threaded listener serves at most
//! [`DEFAULT_MAX_CONNECTIONS`] connections at once, never more than the
//! descriptor limit allows; each connection costs one descriptor (its reader,
//! writer and shutdown handle share the socket); and a connection on which no
//! byte arrives for [`DEFAULT_IDLE_TIMEOUT`] is closed.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use vgi_rpc_core::{serve_connection, ConnectionInfo, Server, TransportKind};

use crate::idle::{IdleCheck, IdleWatch};
use crate::shutdown::{wait_readable, Shutdown, Wake};
use crate::{ClampedReader, ClampedWriter, IO_BUFFER_BYTES};

/// Default most connections a threaded listener serves at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default time a connection may go without sending a byte (5 minutes).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Descriptors kept free for the listener, logs and files when the cap is
/// clamped to the process's descriptor limit.
const RESERVED_DESCRIPTORS: usize = 64;

/// How a socket listener serves its connections.
#[derive(Debug, Clone, Copy)]
pub struct SocketOptions {
    /// Serve connections concurrently, one thread each.
    pub threaded: bool,
    /// With `threaded`, the most connections served at once
    /// (`None`: [`DEFAULT_MAX_CONNECTIONS`]); clamped to the descriptor limit.
    pub max_connections: Option<usize>,
    /// Close a connection on which no byte arrives for this long, between
    /// requests or inside one; `None` never.
    pub idle_timeout: Option<Duration>,
    /// Stop the listener (and so the worker) after this long with no live
    /// connection (`--idle-timeout`; the launcher's self-shutdown). Before the
    /// first connection the wait is at least [`STARTUP_GRACE_FLOOR`]. `None`: never.
    ///
    /// [`STARTUP_GRACE_FLOOR`]: crate::idle::STARTUP_GRACE_FLOOR
    pub exit_when_idle: Option<Duration>,
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self { threaded: false, max_connections: None, idle_timeout: Some(DEFAULT_IDLE_TIMEOUT), exit_when_idle: None }
    }
}

impl SocketOptions {
    /// The connection cap in force for a threaded listener.
    pub fn effective_max_connections(&self) -> usize {
        let budget = open_file_limit().map_or(usize::MAX, |n| n.saturating_sub(RESERVED_DESCRIPTORS));
        self.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS).min(budget).max(1)
    }
}

/// The soft `RLIMIT_NOFILE`, when there is one.
fn open_file_limit() -> Option<usize> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit fills the struct we pass and reads nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    usize::try_from(limit.rlim_cur).ok()
}

/// One accepted connection, whatever the socket family. Reads and writes go
/// through a shared reference so one descriptor serves both directions.
pub(crate) trait Connection: Send + Sync + Sized + 'static {
    /// The transport kind handlers see for calls on this connection.
    const KIND: TransportKind;
    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize>;
    fn write_shared(&self, buf: &[u8]) -> io::Result<usize>;
    fn shutdown_read(&self);
    fn peer_name(&self) -> Option<String>;
    fn set_idle_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

/// A listener the loop can accept from.
pub(crate) trait Listener: AsRawFd {
    type Conn: Connection;
    fn accept_conn(&self) -> io::Result<Self::Conn>;
}

/// One half of a connection: the reader and the writer each hold one of
/// these over the same socket.
pub(crate) struct Shared<C>(pub(crate) Arc<C>);

impl<C: Connection> Read for Shared<C> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read_shared(buf)
    }
}

impl<C: Connection> Write for Shared<C> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_shared(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Counting semaphore for the connection cap.
struct Slots {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Slots {
    fn acquire(&self, shutdown: &Shutdown) -> bool {
        let Ok(mut free) = self.free.lock() else { return false };
        while *free == 0 {
            if shutdown.is_triggered() {
                return false;
            }
            free = match self.cv.wait_timeout(free, std::time::Duration::from_millis(100)) {
                Ok((guard, _)) => guard,
                Err(_) => return false,
            };
        }
        *free -= 1;
        true
    }

    fn release(&self) {
        if let Ok(mut free) = self.free.lock() {
            *free += 1;
            self.cv.notify_one();
        }
    }
}

fn serve_one_connection<C: Connection>(server: &Server, conn: C, options: SocketOptions, shutdown: &Shutdown) {
    if let Err(e) = conn.set_idle_timeout(options.idle_timeout) {
        eprintln!("vgi-rpc: cannot set the connection idle timeout: {e}");
    }
    // Serve-start hooks (once per process when they succeed): a failure
    // closes this connection unserved; the next connection retries.
    if let Err(e) = server.notify_transport(C::KIND) {
        eprintln!("vgi-rpc: serve-start hook failed, connection closed: {e}");
        return;
    }
    let conn = Arc::new(conn);
    let info = ConnectionInfo { remote_addr: conn.peer_name(), kind: Some(C::KIND), ..Default::default() };
    let closer = conn.clone();
    let id = shutdown.register(Box::new(move || closer.shutdown_read()));
    let mut r = BufReader::with_capacity(IO_BUFFER_BYTES, ClampedReader(Shared(conn.clone())));
    let mut w = BufWriter::with_capacity(IO_BUFFER_BYTES, ClampedWriter(Shared(conn)));
    // A connection's failure is its own: log and let the listener go on.
    if let Err(e) = serve_connection(server, &mut r, &mut w, &info) {
        eprintln!("vgi-rpc: connection ended: {e}");
    }
    let _ = w.flush();
    shutdown.unregister(id);
}

/// Accept and serve until `shutdown` fires (or the listener has been idle
/// for `options.exit_when_idle`); then wait for live connections.
pub(crate) fn accept_loop<L: Listener>(
    server: &Server,
    listener: &L,
    options: SocketOptions,
    shutdown: &Shutdown,
) -> io::Result<()> {
    let slots = options
        .threaded
        .then(|| Arc::new(Slots { free: Mutex::new(options.effective_max_connections()), cv: Condvar::new() }));
    let idle = Arc::new(IdleWatch::new(options.exit_when_idle));
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    loop {
        if let Some(slots) = &slots {
            if !slots.acquire(shutdown) {
                break;
            }
        }
        let release = || {
            if let Some(slots) = &slots {
                slots.release();
            }
        };
        let wait = match idle.check() {
            IdleCheck::Expired => {
                release();
                break;
            }
            IdleCheck::Wait(wait) => wait,
        };
        match wait_readable(listener.as_raw_fd(), shutdown, wait)? {
            Wake::Readable => {}
            // Not necessarily idle yet (a connection may have ended meanwhile): check again.
            Wake::TimedOut => {
                release();
                continue;
            }
            Wake::Shutdown => {
                release();
                break;
            }
        }
        let conn = match listener.accept_conn() {
            Ok(c) => c,
            Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock) => {
                release();
                continue;
            }
            Err(e) => {
                release();
                // Out of descriptors and similar: back off briefly, keep serving.
                eprintln!("vgi-rpc: accept failed: {e}");
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
        };
        idle.opened();
        if options.threaded {
            workers.retain(|h| !h.is_finished());
            let server = server.clone();
            let shutdown = shutdown.clone();
            let slots = slots.clone();
            let idle_for_thread = idle.clone();
            let spawned = std::thread::Builder::new().name("vgi-conn".into()).spawn(move || {
                serve_one_connection(&server, conn, options, &shutdown);
                idle_for_thread.closed();
                if let Some(slots) = slots {
                    slots.release();
                }
            });
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(e) => {
                    idle.closed();
                    return Err(e);
                }
            }
        } else {
            serve_one_connection(server, conn, options, shutdown);
            idle.closed();
            if let Some(slots) = &slots {
                slots.release();
            }
        }
    }
    for handle in workers {
        let _ = handle.join();
    }
    Ok(())
}
