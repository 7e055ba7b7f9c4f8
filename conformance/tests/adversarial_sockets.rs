//! Hostile peers against the byte-stream workers (Unix, TCP, pipe) with
//! their default settings: each case bounds the worker's memory and
//! descriptors and checks that other callers are still served.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;
use vgi_rpc::stdio::{connect_tcp, connect_unix};

/// A length prefix announcing a 63 MiB message header, and nothing more.
fn huge_header_prefix() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFF, 0xFF, 0xFF];
    bytes.extend_from_slice(&(63i32 * 1024 * 1024).to_le_bytes());
    bytes
}

enum Family {
    Unix(String),
    Tcp(String),
}

impl Family {
    fn start(name: &str, extra: &[&str], nofile: Option<u64>) -> (Worker, Family) {
        if name.ends_with("tcp") {
            let mut args = vec!["--tcp", "127.0.0.1:0", "--threaded"];
            args.extend_from_slice(extra);
            let w = Worker::start(&args, "TCP:", nofile);
            let addr = w.address.clone();
            (w, Family::Tcp(addr))
        } else {
            let path = std::env::temp_dir()
                .join(format!("vgi-adv-{name}-{}.sock", std::process::id()))
                .to_string_lossy()
                .into_owned();
            let mut args = vec!["--unix", path.as_str(), "--threaded"];
            args.extend_from_slice(extra);
            let w = Worker::start(&args, "UNIX:", nofile);
            (w, Family::Unix(path))
        }
    }

    fn raw(&self) -> Box<dyn RawConn> {
        match self {
            Family::Unix(p) => Box::new(UnixStream::connect(p).expect("unix connect")),
            Family::Tcp(a) => Box::new(TcpStream::connect(a).expect("tcp connect")),
        }
    }

    /// An ordinary client's `echo_int` round trip.
    fn echo(&self, v: i64) -> i64 {
        let resp = match self {
            Family::Unix(p) => {
                let mut c = connect_unix(p.as_ref()).expect("client");
                c.set_protocol_version(PRIMARY, "2.0.0");
                c.call(PRIMARY, "echo_int", &echo_int_params(v)).expect("echo_int")
            }
            Family::Tcp(a) => {
                let mut c = connect_tcp(a.as_str()).expect("client");
                c.set_protocol_version(PRIMARY, "2.0.0");
                c.call(PRIMARY, "echo_int", &echo_int_params(v)).expect("echo_int")
            }
        };
        int_value(resp.value().expect("value"))
    }
}

trait RawConn: Read + Write + Send {
    fn set_timeout(&self, t: Duration);
}
impl RawConn for UnixStream {
    fn set_timeout(&self, t: Duration) {
        self.set_read_timeout(Some(t)).expect("timeout");
    }
}
impl RawConn for TcpStream {
    fn set_timeout(&self, t: Duration) {
        self.set_read_timeout(Some(t)).expect("timeout");
    }
}

/// 16 connections each declaring a 63 MiB header and going silent once
/// pinned about 1 GiB (the reader zero-filled each declared length).
fn declared_headers_do_not_pin_memory(name: &str) {
    let (worker, family) = Family::start(name, &[], None);
    assert_eq!(family.echo(1), 1);
    let baseline = worker.rss();
    let mut idle = Vec::new();
    for _ in 0..16 {
        let mut c = family.raw();
        c.write_all(&huge_header_prefix()).expect("prefix");
        idle.push(c);
    }
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(family.echo(7), 7, "other callers are served while 16 peers stall");
    let grown = worker.rss().saturating_sub(baseline);
    assert!(grown < 64 * MIB, "16 stalled 63 MiB headers grew RSS by {} MiB", grown / MIB);
    drop(idle);
}

#[test]
fn unix_declared_headers_do_not_pin_memory() {
    declared_headers_do_not_pin_memory("hdr-unix");
}

#[test]
fn tcp_declared_headers_do_not_pin_memory() {
    declared_headers_do_not_pin_memory("hdr-tcp");
}

/// Each connection used to hold three descriptors (two clones of the
/// socket besides the socket itself).
fn one_descriptor_per_connection(name: &str) {
    let (worker, family) = Family::start(name, &[], None);
    assert_eq!(family.echo(1), 1);
    std::thread::sleep(Duration::from_millis(300));
    let baseline = worker.fds();
    let idle: Vec<_> = (0..50).map(|_| family.raw()).collect();
    assert!(eventually(Duration::from_secs(5), || worker.fds() >= baseline + 50), "all 50 accepted");
    std::thread::sleep(Duration::from_millis(200));
    let per_50 = worker.fds() - baseline;
    assert!(per_50 <= 52, "50 idle connections hold {per_50} descriptors");
    drop(idle);
    assert!(eventually(Duration::from_secs(5), || worker.fds() <= baseline + 2), "descriptors released on close");
}

#[test]
fn unix_one_descriptor_per_connection() {
    one_descriptor_per_connection("fd-unix");
}

#[test]
fn tcp_one_descriptor_per_connection() {
    one_descriptor_per_connection("fd-tcp");
}

/// Under a 128-descriptor limit and no `--max-connections`, 180 idle
/// connections once exhausted the worker's descriptors; the default cap is
/// clamped below the limit, so the worker never runs out and serves a new
/// caller as soon as the idle ones leave.
fn the_default_cap_respects_the_descriptor_limit(name: &str) {
    let (mut worker, family) = Family::start(name, &[], Some(128));
    assert_eq!(family.echo(1), 1);
    let idle: Vec<_> = (0..180).map(|_| family.raw()).collect();
    std::thread::sleep(Duration::from_millis(500));
    let held = worker.fds();
    assert!(held < 128, "the worker holds {held} descriptors under a limit of 128");
    assert!(held >= 60, "it still serves up to its cap ({held} descriptors)");
    drop(idle);
    assert!(worker.alive());
    let served = std::thread::spawn({
        let family = match &family {
            Family::Unix(p) => Family::Unix(p.clone()),
            Family::Tcp(a) => Family::Tcp(a.clone()),
        };
        move || family.echo(9)
    });
    assert!(eventually(Duration::from_secs(15), || served.is_finished()), "a new caller is served");
    assert_eq!(served.join().expect("client thread"), 9);
}

#[test]
fn unix_the_default_cap_respects_the_descriptor_limit() {
    the_default_cap_respects_the_descriptor_limit("cap-unix");
}

#[test]
fn tcp_the_default_cap_respects_the_descriptor_limit() {
    the_default_cap_respects_the_descriptor_limit("cap-tcp");
}

/// A silent connection is closed after the idle timeout, freeing its slot.
fn idle_connections_are_closed(name: &str) {
    let (worker, family) = Family::start(name, &["--connection-idle-timeout", "1", "--max-connections", "2"], None);
    let baseline = worker.fds();
    let mut a = family.raw();
    let mut b = family.raw();
    // A third caller waits for a slot until the idle ones time out.
    assert_eq!(family.echo(3), 3);
    for c in [&mut a, &mut b] {
        c.set_timeout(Duration::from_secs(5));
        let mut buf = [0u8; 1];
        assert_eq!(c.read(&mut buf).unwrap_or(0), 0, "the worker closed the idle connection");
    }
    assert!(eventually(Duration::from_secs(5), || worker.fds() <= baseline + 1));
}

#[test]
fn unix_idle_connections_are_closed() {
    idle_connections_are_closed("idle-unix");
}

#[test]
fn tcp_idle_connections_are_closed() {
    idle_connections_are_closed("idle-tcp");
}

/// Over the pipe, a stalled 63 MiB header costs no more than the bounded
/// preallocation, and closing stdin ends the worker promptly.
#[test]
fn pipe_declared_header_does_not_pin_memory() {
    let mut child = Command::new(worker_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    std::thread::sleep(Duration::from_millis(200));
    let baseline = rss_of(pid);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&huge_header_prefix()).expect("prefix");
    stdin.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(400));
    let grown = rss_of(pid).saturating_sub(baseline);
    assert!(grown < 16 * MIB, "a stalled 63 MiB header grew RSS by {} MiB", grown / MIB);
    drop(stdin);
    assert!(
        eventually(Duration::from_secs(5), || matches!(child.try_wait(), Ok(Some(_)))),
        "the worker ends when its peer goes away"
    );
}
