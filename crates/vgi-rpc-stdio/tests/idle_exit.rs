//! `--idle-timeout` on a TCP listener: once its only client has gone, the
//! listener stops by itself after the idle timeout (the launcher contract's
//! self-shutdown, which Unix workers share; see tests/launcher.rs). Without
//! an idle timeout it keeps serving until shut down.

use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

use vgi_rpc_core::{Protocol, Server};
use vgi_rpc_stdio::{serve_tcp, Shutdown, SocketOptions};

fn server() -> Server {
    Server::builder().protocol(Protocol::new("idle.Test.v1")).build().expect("server")
}

/// Serve on an ephemeral port in a thread; returns the port, a receiver that
/// gets the serve result when the listener stops, and its shutdown token.
fn start(exit_when_idle: Option<Duration>) -> (u16, mpsc::Receiver<std::io::Result<()>>, Shutdown) {
    let (bound_tx, bound) = mpsc::channel();
    let (done_tx, done) = mpsc::channel();
    let shutdown = Shutdown::new().expect("shutdown");
    let stop = shutdown.clone();
    let options = SocketOptions { threaded: true, exit_when_idle, ..SocketOptions::default() };
    std::thread::spawn(move || {
        let server = server();
        let result = serve_tcp(&server, "127.0.0.1", 0, options, &stop, |addr| {
            let _ = bound_tx.send(addr.port());
        });
        let _ = done_tx.send(result);
    });
    let port = bound.recv_timeout(Duration::from_secs(10)).expect("bound");
    (port, done, shutdown)
}

#[test]
fn a_tcp_listener_exits_once_idle_after_its_last_client() {
    let (port, done, _shutdown) = start(Some(Duration::from_millis(200)));
    let client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    // Still connected: nothing may expire.
    assert!(done.recv_timeout(Duration::from_millis(600)).is_err(), "stopped with a client connected");
    drop(client);
    let result = done.recv_timeout(Duration::from_secs(20)).expect("the idle listener stops by itself");
    assert!(result.is_ok(), "{result:?}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "nothing listens any more");
}

#[test]
fn without_an_idle_timeout_the_listener_waits_for_shutdown() {
    let (port, done, shutdown) = start(None);
    drop(TcpStream::connect(("127.0.0.1", port)).expect("connect"));
    assert!(done.recv_timeout(Duration::from_millis(500)).is_err(), "stopped without an idle timeout");
    shutdown.trigger();
    let result = done.recv_timeout(Duration::from_secs(20)).expect("stops on shutdown");
    assert!(result.is_ok(), "{result:?}");
}
