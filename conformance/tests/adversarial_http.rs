//! Hostile peers against the HTTP worker with its default settings (no
//! `--max-request-bytes`): each case bounds the worker's memory and
//! descriptors and checks that other callers are still served.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::*;
use vgi_rpc::http::client::HttpClient;

const ECHO_PATH: &str = "/ConformanceService/echo_int";

fn client(worker: &Worker) -> HttpClient {
    let mut c = HttpClient::new(&format!("http://127.0.0.1:{}", worker.address)).expect("client");
    c.set_protocol_version(PRIMARY, "2.0.0");
    c.set_timeout(Some(Duration::from_secs(20)));
    c
}

fn echo(worker: &Worker, v: i64) -> i64 {
    int_value(client(worker).call(PRIMARY, "echo_int", &echo_int_params(v)).expect("echo_int").value().expect("value"))
}

/// The worker's peak resident memory so far.
fn peak_rss(worker: &Worker) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", worker.pid())).expect("status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()).expect("value") * 1024
}

fn connect(worker: &Worker) -> TcpStream {
    let s = TcpStream::connect(format!("127.0.0.1:{}", worker.address)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    s
}

/// POST `body` with `headers` on a fresh connection; the response status,
/// or `None` when the server closed the connection without one.
fn post(worker: &Worker, headers: &[(&str, String)], body: &[u8]) -> Option<u16> {
    let mut s = connect(worker);
    let mut head = format!(
        "POST {ECHO_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/vnd.apache.arrow.stream\r\nConnection: close\r\n"
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).ok()?;
    let _ = s.write_all(body);
    status_of(&mut s)
}

fn status_of(s: &mut TcpStream) -> Option<u16> {
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < 12 {
        match s.read(&mut buf[got..]) {
            Ok(0) | Err(_) => return None,
            Ok(n) => got += n,
        }
    }
    std::str::from_utf8(&buf[9..12]).ok()?.parse().ok()
}

/// Whether the worker closes `c` within 5 s (end of stream or reset),
/// skipping anything it sends first.
fn closed_by_peer(c: &mut TcpStream) -> bool {
    c.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// A well-formed 32-byte zstd frame whose header declares a 1 TiB payload.
fn terabyte_frame() -> Vec<u8> {
    let mut frame = vec![0x28, 0xB5, 0x2F, 0xFD, 0xE0];
    frame.extend_from_slice(&(1u64 << 40).to_le_bytes());
    // One last raw block of 16 bytes: the frame is complete and well formed.
    frame.extend_from_slice(&[0x81, 0x00, 0x00]);
    frame.extend_from_slice(&[0u8; 16]);
    frame
}

#[test]
fn a_32_byte_zstd_body_declaring_a_terabyte_is_refused_and_the_worker_lives() {
    let mut worker = Worker::start(&["--http", "0"], "PORT:", None);
    assert_eq!(echo(&worker, 1), 1);
    let frame = terabyte_frame();
    assert_eq!(frame.len(), 32);
    let status =
        post(&worker, &[("Content-Encoding", "zstd".into()), ("Content-Length", frame.len().to_string())], &frame);
    assert!(matches!(status, Some(400) | Some(413)), "status {status:?}");
    assert!(worker.alive(), "the worker survived");
    assert_eq!(echo(&worker, 2), 2, "and serves the next caller");
}

/// 1 GiB of zeros packs into ~33 KiB of zstd. With no advertised cap it
/// once inflated in full; the hosting cap (256 MiB) stops it.
#[test]
fn a_zstd_bomb_stops_at_the_hosting_cap() {
    let mut worker = Worker::start(&["--http", "0"], "PORT:", None);
    assert_eq!(echo(&worker, 1), 1);
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).expect("encoder");
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        enc.write_all(&zeros).expect("write");
    }
    let bomb = enc.finish().expect("finish");
    assert!(bomb.len() < 64 * 1024);
    let status =
        post(&worker, &[("Content-Encoding", "zstd".into()), ("Content-Length", bomb.len().to_string())], &bomb);
    assert_eq!(status, Some(413));
    let peak = peak_rss(&worker);
    assert!(peak < 400 * MIB, "peak RSS {} MiB while refusing a 1 GiB expansion", peak / MIB);
    assert!(worker.alive());
    assert_eq!(echo(&worker, 3), 3);
}

/// A declared length over the cap is refused before any body byte is read.
#[test]
fn a_declared_oversize_body_is_refused_unread() {
    let worker = Worker::start(&["--http", "0"], "PORT:", None);
    let mut s = connect(&worker);
    let head = format!(
        "POST {ECHO_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.apache.arrow.stream\r\nContent-Length: {}\r\n\r\n",
        2u64 << 30
    );
    s.write_all(head.as_bytes()).expect("head");
    assert_eq!(status_of(&mut s), Some(413));
    assert_eq!(echo(&worker, 4), 4);
}

/// A 1.2 GiB chunked body was once buffered whole. Now reading stops one
/// byte past the hosting cap: the sender is answered 413 or cut off, and the
/// worker's peak memory stays near the cap.
#[test]
fn a_chunked_body_past_the_cap_is_cut_off() {
    let mut worker = Worker::start(&["--http", "0"], "PORT:", None);
    assert_eq!(echo(&worker, 1), 1);
    let mut s = connect(&worker);
    s.set_write_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let head = "POST /ConformanceService/echo_int HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.apache.arrow.stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    s.write_all(head.as_bytes()).expect("head");
    let chunk = vec![b'x'; 1 << 20];
    let chunk_head = format!("{:x}\r\n", chunk.len());
    let started = Instant::now();
    let mut sent: u64 = 0;
    while sent < 1_200 * MIB && started.elapsed() < Duration::from_secs(60) {
        let ok =
            s.write_all(chunk_head.as_bytes()).is_ok() && s.write_all(&chunk).is_ok() && s.write_all(b"\r\n").is_ok();
        if !ok {
            break;
        }
        sent += chunk.len() as u64;
    }
    assert!(sent < 1_200 * MIB, "the worker stopped reading before 1.2 GiB (it took {} MiB)", sent / MIB);
    let status = status_of(&mut s);
    assert!(matches!(status, Some(413) | None), "status {status:?}");
    let peak = peak_rss(&worker);
    assert!(peak < 400 * MIB, "peak RSS {} MiB", peak / MIB);
    assert!(worker.alive());
    assert_eq!(echo(&worker, 5), 5);
}

/// Idle keep-alive connections and header dribblers are closed after the
/// idle timeout, giving their descriptors back.
#[test]
fn idle_and_dribbling_connections_are_closed() {
    let worker = Worker::start(&["--http", "0", "--connection-idle-timeout", "1"], "PORT:", None);
    assert_eq!(echo(&worker, 1), 1);
    let baseline = worker.fds();
    let mut idle: Vec<TcpStream> = (0..20).map(|_| connect(&worker)).collect();
    // One that finished a request and keeps the connection open.
    let mut kept = connect(&worker);
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").expect("health");
    assert_eq!(status_of(&mut kept), Some(200));
    // One that sends its headers a byte at a time, never finishing.
    let mut dribbler = connect(&worker);
    dribbler.write_all(b"POST /ConformanceService/echo_int HTTP/1.1\r\n").expect("start");
    let stop = Instant::now() + Duration::from_secs(3);
    let mut dribble_cut = false;
    while Instant::now() < stop {
        if dribbler.write_all(b"X").is_err() {
            dribble_cut = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for (i, c) in idle.iter_mut().enumerate() {
        assert!(closed_by_peer(c), "idle connection {i} was closed");
    }
    assert!(closed_by_peer(&mut kept), "the idle keep-alive connection was closed");
    assert!(dribble_cut || closed_by_peer(&mut dribbler), "the header dribbler was cut off");
    drop((idle, kept, dribbler));
    assert!(eventually(Duration::from_secs(5), || worker.fds() <= baseline + 1), "descriptors returned");
    assert_eq!(echo(&worker, 6), 6);
}

/// At `--max-connections`, another client waits in the backlog until a
/// slot frees, and the worker never holds more than the cap.
#[test]
fn the_connection_cap_holds_and_frees() {
    let worker = Worker::start(&["--http", "0", "--max-connections", "4"], "PORT:", None);
    assert_eq!(echo(&worker, 1), 1);
    std::thread::sleep(Duration::from_millis(100));
    let baseline = worker.fds();
    let idle: Vec<TcpStream> = (0..4).map(|_| connect(&worker)).collect();
    let port = worker.address.clone();
    let waiting = std::thread::spawn(move || {
        let mut c = HttpClient::new(&format!("http://127.0.0.1:{port}")).expect("client");
        c.set_protocol_version(PRIMARY, "2.0.0");
        c.set_timeout(Some(Duration::from_secs(20)));
        int_value(c.call(PRIMARY, "echo_int", &echo_int_params(8)).expect("served later").value().expect("value"))
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(!waiting.is_finished(), "a fifth connection waits while four are held");
    assert!(worker.fds() <= baseline + 4, "the worker holds no more than its cap");
    drop(idle);
    assert_eq!(waiting.join().expect("client thread"), 8);
}

/// Under a 128-descriptor limit, 180 idle connections never exhaust the
/// worker: its default cap is clamped below the limit (the rest wait in the
/// listen backlog).
#[test]
fn the_default_cap_respects_the_descriptor_limit() {
    let mut worker = Worker::start(&["--http", "0"], "PORT:", Some(128));
    assert_eq!(echo(&worker, 1), 1);
    let idle: Vec<TcpStream> = (0..180).map(|_| connect(&worker)).collect();
    std::thread::sleep(Duration::from_millis(500));
    let held = worker.fds();
    assert!(held < 128, "the worker holds {held} descriptors under a limit of 128");
    drop(idle);
    assert!(worker.alive());
    assert_eq!(echo(&worker, 9), 9);
}
