//! A look at a kept-alive connection's socket between calls, without
//! driving the runtime: the transport's runtime only runs during a call, so
//! a close the server sent while the client was idle is still unread when
//! the next call starts. Peeking a duplicate of the socket tells a quiet
//! connection (reuse it at once) from one the server closed (connect anew)
//! with one `recv`; anything else is left to the connection task to read.

use std::io;
use std::net::TcpStream;
use std::os::fd::AsFd;

/// What the socket of an idle kept-alive connection shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idle {
    /// Nothing to read: the connection is open and idle.
    Quiet,
    /// The server closed it (end of stream).
    Closed,
    /// Bytes or an error are waiting: let the connection task read them.
    Unknown,
}

/// A duplicate of `socket`'s descriptor to peek at (`None` if it cannot be
/// duplicated; the transport then lets the connection task look instead).
pub(crate) fn probe_of(socket: &impl AsFd) -> Option<TcpStream> {
    let probe = TcpStream::from(socket.as_fd().try_clone_to_owned().ok()?);
    // The duplicate shares the file status flags, already non-blocking under
    // tokio; setting it again keeps a peek from ever blocking a call.
    probe.set_nonblocking(true).ok()?;
    Some(probe)
}

/// Peek one byte of `probe` without consuming it.
pub(crate) fn look(probe: &TcpStream) -> Idle {
    let mut byte = [0u8; 1];
    loop {
        return match probe.peek(&mut byte) {
            Ok(0) => Idle::Closed,
            Ok(_) => Idle::Unknown,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Idle::Quiet,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => Idle::Unknown,
        };
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    use super::*;

    /// A connected pair: (client side, server side).
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    /// `look` until it stops answering `Quiet` (what the peer did takes a
    /// moment to arrive), at most a second.
    fn settled(probe: &TcpStream) -> Idle {
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            let seen = look(probe);
            if seen != Idle::Quiet || Instant::now() > deadline {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn an_idle_open_connection_is_quiet() {
        let (client, _server) = pair();
        let probe = probe_of(&client).expect("probe");
        assert_eq!(look(&probe), Idle::Quiet);
    }

    #[test]
    fn a_connection_the_server_closed_reads_as_closed() {
        let (client, server) = pair();
        let probe = probe_of(&client).expect("probe");
        drop(server);
        assert_eq!(settled(&probe), Idle::Closed);
    }

    #[test]
    fn bytes_waiting_are_left_unread_for_the_connection() {
        let (mut client, mut server) = pair();
        let probe = probe_of(&client).expect("probe");
        server.write_all(b"HTTP/1.1 408 Request Timeout\r\n\r\n").unwrap();
        assert_eq!(settled(&probe), Idle::Unknown);
        assert_eq!(look(&probe), Idle::Unknown, "peeking consumed nothing");
        let mut first = [0u8; 4];
        std::io::Read::read_exact(&mut client, &mut first).unwrap();
        assert_eq!(&first, b"HTTP", "the original socket still reads every byte");
    }
}
