//! The serve-start hook and the transport kind over real sockets: a hook
//! that fails once closes that first connection unserved and the listener
//! serves the next one; handlers see the transport kind and the peer
//! address in their `CallContext` (Unix and TCP).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchOptions, StringArray};
use arrow_schema::{DataType, Schema};
use vgi_rpc_core::{MethodDef, Protocol, RpcError, Server, TransportKind};
use vgi_rpc_stdio::{connect_tcp, connect_unix, serve_tcp, serve_unix, Shutdown, SocketOptions};

const PROTOCOL: &str = "serve_start.Test.v1";

/// A server whose `whoami` answers "<kind> <remote addr>", and whose
/// serve-start hook fails on its first run; `starts` counts the runs.
fn server(starts: Arc<AtomicUsize>) -> Server {
    let whoami = MethodDef::builder("whoami").returns(DataType::Utf8, false).unary(|_, ctx| {
        let kind = ctx.transport_kind().map_or("none", TransportKind::as_str);
        let answer = format!("{kind} {}", ctx.remote_addr().unwrap_or("-"));
        Ok(Some(Arc::new(StringArray::from(vec![answer])) as ArrayRef))
    });
    Server::builder()
        .protocol(Protocol::new(PROTOCOL).method(whoami))
        .on_serve_start(move |_kind| match starts.fetch_add(1, Ordering::SeqCst) {
            0 => Err(RpcError::runtime_error("first start fails")),
            _ => Ok(()),
        })
        .build()
        .expect("server")
}

fn no_params() -> RecordBatch {
    RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .expect("params")
}

fn answer(response: &vgi_rpc_core::UnaryResponse) -> String {
    let column = response.value().expect("a result");
    let strings = column.as_any().downcast_ref::<StringArray>().expect("utf8");
    assert_eq!(strings.len(), 1);
    strings.value(0).to_owned()
}

#[test]
fn unix_first_start_fails_then_the_listener_serves_and_reports_its_kind() {
    let starts = Arc::new(AtomicUsize::new(0));
    let server = server(starts.clone());
    let dir = std::env::temp_dir().join(format!("vgi-serve-start-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path: PathBuf = dir.join("s.sock");
    let shutdown = Shutdown::new().expect("shutdown");
    let (bound_tx, bound) = mpsc::channel();
    let serving = {
        let (path, shutdown) = (path.clone(), shutdown.clone());
        std::thread::spawn(move || {
            serve_unix(&server, &path, SocketOptions::default(), &shutdown, |_| {
                let _ = bound_tx.send(());
            })
        })
    };
    bound.recv_timeout(Duration::from_secs(10)).expect("bound");

    let mut first = connect_unix(&path).expect("connect");
    assert!(first.call(PROTOCOL, "whoami", &no_params()).is_err(), "the failed start must not serve");
    let mut second = connect_unix(&path).expect("connect again");
    let response = second.call(PROTOCOL, "whoami", &no_params()).expect("the retry serves");
    assert_eq!(answer(&response), "unix unix");
    // Bound now: a third connection does not run the hook again.
    drop(second);
    let mut third = connect_unix(&path).expect("connect a third time");
    assert_eq!(answer(&third.call(PROTOCOL, "whoami", &no_params()).expect("call")), "unix unix");
    assert_eq!(starts.load(Ordering::SeqCst), 2);

    drop((first, third));
    shutdown.trigger();
    serving.join().expect("server thread").expect("serve_unix");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tcp_handlers_see_the_kind_and_the_peer_address() {
    let starts = Arc::new(AtomicUsize::new(1)); // the hook succeeds from the start
    let server = server(starts);
    let shutdown = Shutdown::new().expect("shutdown");
    let (bound_tx, bound) = mpsc::channel();
    let stop = shutdown.clone();
    let options = SocketOptions { threaded: true, ..SocketOptions::default() };
    let serving = std::thread::spawn(move || {
        serve_tcp(&server, "127.0.0.1", 0, options, &stop, |addr| {
            let _ = bound_tx.send(addr);
        })
    });
    let addr = bound.recv_timeout(Duration::from_secs(10)).expect("bound");
    let mut client = connect_tcp(addr).expect("connect");
    let seen = answer(&client.call(PROTOCOL, "whoami", &no_params()).expect("call"));
    let (kind, peer) = seen.split_once(' ').expect("kind and peer");
    assert_eq!(kind, "tcp");
    let peer: std::net::SocketAddr = peer.parse().expect("an ip:port peer");
    assert!(peer.ip().is_loopback() && peer.port() != addr.port(), "{peer}");
    drop(client);
    shutdown.trigger();
    serving.join().expect("server thread").expect("serve_tcp");
}
