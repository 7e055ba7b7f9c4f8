//! The accept loop shared by the Unix and TCP listeners: sequential or one
//! thread per connection, an optional connection cap (extra clients wait in
//! the backlog), and graceful shutdown.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use vgi_rpc_core::{serve_connection, ConnectionInfo, Server};

use crate::shutdown::{wait_readable, Shutdown};
use crate::{ClampedReader, ClampedWriter, IO_BUFFER_BYTES};

/// How a socket listener serves its connections.
#[derive(Debug, Clone, Copy, Default)]
pub struct SocketOptions {
    /// Serve connections concurrently, one thread each.
    pub threaded: bool,
    /// With `threaded`, the most connections served at once.
    pub max_connections: Option<usize>,
}

/// One accepted connection, whatever the socket family.
pub(crate) trait Connection: Read + Write + Send + Sized + 'static {
    fn try_clone_conn(&self) -> io::Result<Self>;
    fn shutdown_read(&self);
    fn peer_name(&self) -> Option<String>;
}

/// A listener the loop can accept from.
pub(crate) trait Listener: AsRawFd {
    type Conn: Connection;
    fn accept_conn(&self) -> io::Result<Self::Conn>;
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

fn serve_one_connection<C: Connection>(server: &Server, conn: C, shutdown: &Shutdown) {
    let Ok(reader_half) = conn.try_clone_conn() else { return };
    let Ok(closer) = conn.try_clone_conn() else { return };
    let info = ConnectionInfo { remote_addr: conn.peer_name(), ..Default::default() };
    let id = shutdown.register(Box::new(move || closer.shutdown_read()));
    let mut r = BufReader::with_capacity(IO_BUFFER_BYTES, ClampedReader(reader_half));
    let mut w = BufWriter::with_capacity(IO_BUFFER_BYTES, ClampedWriter(conn));
    // A connection's failure is its own: log and let the listener go on.
    if let Err(e) = serve_connection(server, &mut r, &mut w, &info) {
        eprintln!("vgi-rpc: connection ended: {e}");
    }
    let _ = w.flush();
    shutdown.unregister(id);
}

/// Accept and serve until `shutdown` fires; then wait for live connections.
pub(crate) fn accept_loop<L: Listener>(
    server: &Server,
    listener: &L,
    options: SocketOptions,
    shutdown: &Shutdown,
) -> io::Result<()> {
    let slots = options.max_connections.map(|n| Arc::new(Slots { free: Mutex::new(n.max(1)), cv: Condvar::new() }));
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    loop {
        if let Some(slots) = &slots {
            if !slots.acquire(shutdown) {
                break;
            }
        }
        if !wait_readable(listener.as_raw_fd(), shutdown)? {
            if let Some(slots) = &slots {
                slots.release();
            }
            break;
        }
        let conn = match listener.accept_conn() {
            Ok(c) => c,
            Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock) => {
                if let Some(slots) = &slots {
                    slots.release();
                }
                continue;
            }
            Err(e) => {
                if let Some(slots) = &slots {
                    slots.release();
                }
                // Out of descriptors and similar: back off briefly, keep serving.
                eprintln!("vgi-rpc: accept failed: {e}");
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
        };
        if options.threaded {
            workers.retain(|h| !h.is_finished());
            let server = server.clone();
            let shutdown = shutdown.clone();
            let slots = slots.clone();
            let handle = std::thread::Builder::new().name("vgi-conn".into()).spawn(move || {
                serve_one_connection(&server, conn, &shutdown);
                if let Some(slots) = slots {
                    slots.release();
                }
            })?;
            workers.push(handle);
        } else {
            serve_one_connection(server, conn, shutdown);
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
