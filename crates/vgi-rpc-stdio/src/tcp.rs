//! TCP listener and connector (raw framing, no auth or TLS: trusted
//! networks only; loopback by default).

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown as NetShutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};

use vgi_rpc_core::{Client, Server, TransportKind};

use crate::shutdown::Shutdown;
use crate::socket_server::{accept_loop, Connection, Listener, SocketOptions};
use crate::{ClampedReader, ClampedWriter, IO_BUFFER_BYTES};

impl Connection for TcpStream {
    const KIND: TransportKind = TransportKind::Tcp;
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
        self.peer_addr().ok().map(|a| a.to_string())
    }
    fn set_idle_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)
    }
}

impl Listener for TcpListener {
    type Conn = TcpStream;
    fn accept_conn(&self) -> io::Result<TcpStream> {
        let (conn, _) = self.accept()?;
        conn.set_nonblocking(false)?;
        conn.set_nodelay(true)?;
        Ok(conn)
    }
}

/// Parse `[HOST:]PORT`; the host defaults to `127.0.0.1`.
pub fn parse_tcp_address(spec: &str) -> Result<(String, u16), String> {
    let (host, port) = match spec.rsplit_once(':') {
        Some((host, port)) => (if host.is_empty() { "127.0.0.1" } else { host }, port),
        None => ("127.0.0.1", spec),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().map_err(|_| format!("invalid TCP port in {spec:?}"))?;
    Ok((host.to_owned(), port))
}

/// Serve `server` on TCP `host:port` until `shutdown` fires. `on_bound`
/// receives the bound address (the real port when `port` is 0).
pub fn serve_tcp(
    server: &Server,
    host: &str,
    port: u16,
    options: SocketOptions,
    shutdown: &Shutdown,
    on_bound: impl FnOnce(SocketAddr),
) -> io::Result<()> {
    let listener = TcpListener::bind((host, port))?;
    on_bound(listener.local_addr()?);
    accept_loop(server, &listener, options, shutdown)
}

/// A client over a TCP connection.
pub type TcpClient = Client<BufReader<ClampedReader<TcpStream>>, BufWriter<ClampedWriter<TcpStream>>>;

/// Connect a client to a TCP server.
pub fn connect_tcp(addr: impl ToSocketAddrs) -> io::Result<TcpClient> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let reader = stream.try_clone()?;
    Ok(Client::new(
        BufReader::with_capacity(IO_BUFFER_BYTES, ClampedReader(reader)),
        BufWriter::with_capacity(IO_BUFFER_BYTES, ClampedWriter(stream)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_default_to_loopback() {
        assert_eq!(parse_tcp_address("8080"), Ok(("127.0.0.1".into(), 8080)));
        assert_eq!(parse_tcp_address(":0"), Ok(("127.0.0.1".into(), 0)));
        assert_eq!(parse_tcp_address("0.0.0.0:9"), Ok(("0.0.0.0".into(), 9)));
        assert_eq!(parse_tcp_address("[::1]:7"), Ok(("::1".into(), 7)));
        assert!(parse_tcp_address("host:port").is_err());
    }
}
