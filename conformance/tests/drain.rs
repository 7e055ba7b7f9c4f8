//! Graceful drain of the HTTP worker, on a real process over loopback:
//! SIGTERM with a client stalled mid-request still exits within the drain
//! deadline, and SIGTERM under 64 looping keep-alive clients answers every
//! request that was sent (none is closed before its response), run after run.
//!
//! `VGI_DRAIN_RUNS` sets how many SIGTERM runs the looping case makes (default 20).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::*;
use vgi_rpc::rpc::wire::{EncodedSchema, Metadata, RequestHeader, StreamWriter};

const ECHO_PATH: &str = "/ConformanceService/echo_int";

/// A complete `echo_int(v)` request body.
fn echo_body(v: i64) -> Vec<u8> {
    let batch = echo_int_params(v);
    let md = RequestHeader {
        protocol: PRIMARY.to_owned(),
        method: "echo_int".to_owned(),
        protocol_version: Some("2.0.0".to_owned()),
        request_id: None,
    }
    .to_metadata(&Metadata::new());
    let mut out = Vec::new();
    let mut w = StreamWriter::begin(&mut out, &EncodedSchema::new(batch.schema())).expect("schema");
    w.write(&mut out, &batch, &md).expect("batch");
    w.finish(&mut out).expect("eos");
    out
}

fn request_bytes(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {ECHO_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/vnd.apache.arrow.stream\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn sigterm(worker: &Worker) {
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(worker.pid() as i32, libc::SIGTERM);
    }
}

/// How one request on a kept-alive connection ended.
enum Outcome {
    /// A complete response; `true` when it asked to close the connection.
    Answered { status: u16, close: bool },
    /// The connection ended before any response byte: the request was lost.
    Lost,
    /// The connection ended mid-response.
    Cut,
}

fn exchange(s: &mut TcpStream, request: &[u8]) -> Outcome {
    if s.write_all(request).is_err() {
        return Outcome::Lost;
    }
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return if buf.is_empty() { Outcome::Lost } else { Outcome::Cut },
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    let close = head.lines().any(|l| l.starts_with("connection:") && l.contains("close"));
    while buf.len() < head_end + length {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return Outcome::Cut,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Outcome::Answered { status, close }
}

#[derive(Default)]
struct Tally {
    answered: AtomicU64,
    lost: AtomicU64,
    cut: AtomicU64,
    not_ok: AtomicU64,
}

/// A client that sends requests back to back on a kept-alive connection,
/// reconnecting when the server says `Connection: close`, until it cannot connect.
fn looping_client(addr: String, request: Arc<Vec<u8>>, tally: Arc<Tally>, started: Arc<AtomicU64>) {
    let mut first = true;
    'connect: loop {
        let Ok(mut s) = TcpStream::connect(&addr) else { return };
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        if first {
            started.fetch_add(1, Ordering::SeqCst);
            first = false;
        }
        loop {
            match exchange(&mut s, &request) {
                Outcome::Answered { status, close } => {
                    tally.answered.fetch_add(1, Ordering::Relaxed);
                    if status != 200 {
                        tally.not_ok.fetch_add(1, Ordering::Relaxed);
                    }
                    if close {
                        continue 'connect;
                    }
                }
                Outcome::Lost => {
                    tally.lost.fetch_add(1, Ordering::Relaxed);
                    continue 'connect;
                }
                Outcome::Cut => {
                    tally.cut.fetch_add(1, Ordering::Relaxed);
                    continue 'connect;
                }
            }
        }
    }
}

#[test]
fn sigterm_with_a_client_stalled_mid_request_exits_within_the_drain_deadline() {
    let mut worker = Worker::start(&["--http", "0", "--drain-grace", "2", "--no-sticky"], "PORT:", None);
    let addr = format!("127.0.0.1:{}", worker.address);
    // Headers and part of a body, then nothing.
    let mut stalled_body = TcpStream::connect(&addr).expect("connect");
    let body = echo_body(1);
    let head = format!(
        "POST {ECHO_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.apache.arrow.stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stalled_body.write_all(head.as_bytes()).expect("head");
    stalled_body.write_all(&body[..body.len() / 2]).expect("half a body");
    // And a client that stopped halfway through its headers.
    let mut stalled_head = TcpStream::connect(&addr).expect("connect");
    stalled_head.write_all(b"POST /ConformanceService/echo_int HTTP/1.1\r\nHost: x\r\n").expect("half a head");
    std::thread::sleep(Duration::from_millis(300));

    let signalled = Instant::now();
    sigterm(&worker);
    let exited = eventually(Duration::from_secs(10), || !worker.alive());
    let took = signalled.elapsed();
    eprintln!("drain with two stalled clients: exited after {took:?} (grace 2 s)");
    assert!(exited, "worker still running 10 s after SIGTERM");
    assert!(took < Duration::from_millis(3500), "exit took {took:?}, beyond the 2 s grace plus slack");
    let status = worker.child.wait().expect("status");
    assert!(status.success(), "a drained worker exits 0: {status:?}");
}

#[test]
fn sigterm_under_64_looping_keep_alive_clients_loses_no_request() {
    let runs: usize = std::env::var("VGI_DRAIN_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let request = Arc::new(request_bytes(&echo_body(7)));
    let (mut total_answered, mut total_lost, mut total_cut) = (0, 0, 0);
    for run in 0..runs {
        let mut worker = Worker::start(&["--http", "0", "--drain-grace", "10", "--no-sticky"], "PORT:", None);
        let addr = format!("127.0.0.1:{}", worker.address);
        let tally = Arc::new(Tally::default());
        let started = Arc::new(AtomicU64::new(0));
        let clients: Vec<_> = (0..64)
            .map(|_| {
                let (addr, request, tally, started) = (addr.clone(), request.clone(), tally.clone(), started.clone());
                std::thread::spawn(move || looping_client(addr, request, tally, started))
            })
            .collect();
        assert!(eventually(Duration::from_secs(10), || started.load(Ordering::SeqCst) == 64), "clients connected");
        // Let every client get a few requests in, then signal mid-traffic.
        let warm = tally.answered.load(Ordering::SeqCst) + 64 * 3;
        assert!(eventually(Duration::from_secs(10), || tally.answered.load(Ordering::SeqCst) >= warm));
        let signalled = Instant::now();
        sigterm(&worker);
        for c in clients {
            c.join().expect("client thread");
        }
        let exited = eventually(Duration::from_secs(15), || !worker.alive());
        let took = signalled.elapsed();
        let (answered, lost, cut, not_ok) = (
            tally.answered.load(Ordering::SeqCst),
            tally.lost.load(Ordering::SeqCst),
            tally.cut.load(Ordering::SeqCst),
            tally.not_ok.load(Ordering::SeqCst),
        );
        eprintln!(
            "run {run}: answered {answered}, lost {lost}, cut {cut}, non-200 {not_ok}, clients done and worker exited \
             {took:?} after SIGTERM"
        );
        assert!(exited, "run {run}: worker still running after SIGTERM");
        assert_eq!((lost, cut, not_ok), (0, 0, 0), "run {run}: requests sent but not answered");
        total_answered += answered;
        total_lost += lost;
        total_cut += cut;
    }
    eprintln!("{runs} runs: answered {total_answered}, lost {total_lost}, cut {total_cut}");
}
