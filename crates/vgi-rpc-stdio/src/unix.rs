//! Unix domain socket listener and connector.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::Shutdown as NetShutdown;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use vgi_rpc_core::{Client, Server, TransportKind};

use crate::shutdown::Shutdown;
use crate::socket_server::{accept_loop, Connection, Listener, SocketOptions};
use crate::{ClampedReader, ClampedWriter, IO_BUFFER_BYTES};

impl Connection for UnixStream {
    const KIND: TransportKind = TransportKind::Unix;
    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
    fn write_shared(&self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }
    fn shutdown_read(&self) {
        let _ = self.shutdown(NetShutdown::Read);
    }
    fn peer_name(&self) -> Option<String> {
        Some("unix".to_owned())
    }
    fn set_idle_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)
    }
}

impl Listener for UnixListener {
    type Conn = UnixStream;
    fn accept_conn(&self) -> io::Result<UnixStream> {
        let (conn, _) = self.accept()?;
        conn.set_nonblocking(false)?;
        Ok(conn)
    }
}

/// Bind a listening socket at `path`, refusing a path another process is
/// listening on and replacing a stale socket file. The socket is owner-only.
pub fn bind_unix(path: &Path) -> io::Result<UnixListener> {
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("another process is already listening on {}", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serve `server` on a Unix socket at `path` until `shutdown` fires (or the
/// listener has been idle for `options.exit_when_idle`), then remove the
/// socket file. `on_bound` runs once the socket is listening.
///
/// The file is removed only while it is still the socket this call bound: a
/// launcher may already have replaced it with a newer worker's socket.
pub fn serve_unix(
    server: &Server,
    path: &Path,
    options: SocketOptions,
    shutdown: &Shutdown,
    on_bound: impl FnOnce(&Path),
) -> io::Result<()> {
    let listener = bind_unix(path)?;
    let bound = std::fs::symlink_metadata(path).map(|m| (m.dev(), m.ino())).ok();
    on_bound(path);
    let result = accept_loop(server, &listener, options, shutdown);
    let still_ours = std::fs::symlink_metadata(path).map(|m| (m.dev(), m.ino())).ok() == bound && bound.is_some();
    if still_ours {
        let _ = std::fs::remove_file(path);
    }
    drop(listener);
    result
}

/// A client over a Unix socket connection.
pub type UnixClient = Client<BufReader<ClampedReader<UnixStream>>, BufWriter<ClampedWriter<UnixStream>>>;

/// Connect a client to a Unix socket server.
pub fn connect_unix(path: &Path) -> io::Result<UnixClient> {
    let stream = UnixStream::connect(path)?;
    let reader = stream.try_clone()?;
    Ok(Client::new(
        BufReader::with_capacity(IO_BUFFER_BYTES, ClampedReader(reader)),
        BufWriter::with_capacity(IO_BUFFER_BYTES, ClampedWriter(stream)),
    ))
}
