//! Abrupt disconnects, one shape per call in rotation: a connection closed
//! before, during or right after a request, or cut in the middle of a
//! producer or exchange stream. On sockets the cut is `shutdown(2)`; over
//! HTTP it is a raw TCP connection closed mid-headers, mid-body or with the
//! response unread, or a stream abandoned without cancel; on pipes (one
//! connection per worker process) it is a side worker whose stdin is closed
//! mid-request or mid-stream, which must then exit by itself.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use vgi_rpc::rpc::{Client, StreamOptions};
use vgi_rpc::stdio::{ClampedReader, ClampedWriter};
use vgi_rpc::wire::{Metadata, RequestHeader};

use super::clients::{IO_TIMEOUT, PROTOCOL, VERSION};
use super::traffic::{count_params, echo, echo_int_params, float_input, scale_params};
use super::worker::{wait_or_kill, Endpoint, Watchdog, EXIT_TIMEOUT};

/// Shapes per transport family; the `n`th disconnect uses `n % SHAPES`.
const SHAPES: u64 = 5;

/// The bytes of a complete request stream for `method` with `params`.
fn request_bytes(method: &str, params: &RecordBatch) -> Result<Vec<u8>, String> {
    let header = RequestHeader {
        protocol: PROTOCOL.to_owned(),
        method: method.to_owned(),
        protocol_version: Some(VERSION.to_owned()),
        request_id: None,
    };
    let mut client = Client::new(io::empty(), Vec::new());
    client.send_request(params, &header.to_metadata(&Metadata::new())).map_err(|e| format!("encode request: {e}"))?;
    Ok(client.into_parts().1)
}

/// The `n`th disconnect against `endpoint`. `Err` only when something other
/// than the deliberately cut connection misbehaved.
pub fn run(endpoint: &Endpoint, n: u64) -> Result<(), String> {
    let shape = n % SHAPES;
    match endpoint {
        Endpoint::Unix(path) => socket_shape(shape, || UnixStream::connect(path)),
        Endpoint::Tcp(addr) => socket_shape(shape, || TcpStream::connect(addr)),
        Endpoint::Http(addr) => http_shape(shape, *addr),
        Endpoint::Pipe { program, .. } => pipe_shape(shape, program),
    }
}

// ---------------------------------------------------------------------------
// Unix and TCP sockets
// ---------------------------------------------------------------------------

/// A connected stream socket that can be cut from another handle.
trait Socket: Read + Write + Sized {
    fn dup(&self) -> io::Result<Self>;
    fn cut(&self);
    fn timeouts(&self) -> io::Result<()>;
}

macro_rules! socket {
    ($t:ty) => {
        impl Socket for $t {
            fn dup(&self) -> io::Result<Self> {
                self.try_clone()
            }
            fn cut(&self) {
                let _ = self.shutdown(Shutdown::Both);
            }
            fn timeouts(&self) -> io::Result<()> {
                self.set_read_timeout(Some(IO_TIMEOUT))?;
                self.set_write_timeout(Some(IO_TIMEOUT))
            }
        }
    };
}
socket!(UnixStream);
socket!(TcpStream);

type SocketClient<S> = Client<BufReader<ClampedReader<S>>, BufWriter<ClampedWriter<S>>>;

fn socket_client<S: Socket>(stream: S) -> io::Result<SocketClient<S>> {
    stream.timeouts()?;
    let reader = stream.dup()?;
    let mut client = Client::new(BufReader::new(ClampedReader(reader)), BufWriter::new(ClampedWriter(stream)));
    client.set_protocol_version(PROTOCOL, VERSION);
    Ok(client)
}

fn socket_shape<S: Socket>(shape: u64, connect: impl Fn() -> io::Result<S>) -> Result<(), String> {
    let stream = connect().map_err(|e| format!("disconnect: connect: {e}"))?;
    match shape {
        // Connect, send nothing, close.
        0 => drop(stream),
        // Half a request, then close.
        1 | 2 => {
            let mut stream = stream;
            stream.timeouts().map_err(|e| format!("disconnect: {e}"))?;
            let bytes = request_bytes("echo_int", &echo_int_params(1))?;
            let cut = if shape == 1 { bytes.len() / 2 } else { bytes.len() };
            // The server may already be gone from a cut it noticed: ignore.
            let _ = stream.write_all(&bytes[..cut]);
            // Shape 2: a whole request, closed before the answer is read.
            stream.cut();
        }
        // Cut in the middle of a producer or an exchange.
        _ => {
            let cutter = stream.dup().map_err(|e| format!("disconnect: {e}"))?;
            let mut client = socket_client(stream).map_err(|e| format!("disconnect: {e}"))?;
            mid_stream(&mut client, shape == 3, || cutter.cut())?;
        }
    }
    Ok(())
}

/// Start a producer (read two batches) or an exchange (one turn), `cut()`,
/// then let the session's drop find the connection gone.
fn mid_stream<R: Read, W: Write>(client: &mut Client<R, W>, producer: bool, cut: impl FnOnce()) -> Result<(), String> {
    if producer {
        let mut session = client
            .producer(PROTOCOL, "produce_n", &count_params(1000), &StreamOptions::default())
            .map_err(|e| format!("disconnect: produce_n: {e}"))?;
        for _ in 0..2 {
            session.next_batch().map_err(|e| format!("disconnect: produce_n batch: {e}"))?;
        }
        cut();
        drop(session);
    } else {
        let mut session = client
            .exchange(PROTOCOL, "exchange_scale", &scale_params(3.0), &StreamOptions::default())
            .map_err(|e| format!("disconnect: exchange_scale: {e}"))?;
        session.exchange(&float_input(vec![1.0])).map_err(|e| format!("disconnect: exchange_scale turn: {e}"))?;
        cut();
        drop(session);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

fn http_request_head(addr: SocketAddr, path: &str, body_len: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/vnd.apache.arrow.stream\r\n\
         Content-Length: {body_len}\r\n\r\n"
    )
}

fn http_shape(shape: u64, addr: SocketAddr) -> Result<(), String> {
    if shape == 4 {
        return http_abandoned_stream(addr);
    }
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("disconnect: connect: {e}"))?;
    stream.timeouts().map_err(|e| format!("disconnect: {e}"))?;
    match shape {
        // Connect, send nothing, close.
        0 => {}
        // Half the request head.
        1 => {
            let head = http_request_head(addr, &format!("/{PROTOCOL}/echo_int"), 64);
            let _ = stream.write_all(&head.as_bytes()[..head.len() / 2]);
        }
        // The whole head, half the body.
        2 => {
            let body = request_bytes("echo_int", &echo_int_params(2))?;
            let head = http_request_head(addr, &format!("/{PROTOCOL}/echo_int"), body.len());
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body[..body.len() / 2]));
        }
        // A whole stream-init request; close after at most 16 bytes of the answer.
        _ => {
            let body = request_bytes("produce_n", &count_params(100))?;
            let head = http_request_head(addr, &format!("/{PROTOCOL}/produce_n/init"), body.len());
            if stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body)).is_ok() {
                let _ = stream.read(&mut [0u8; 16]);
            }
        }
    }
    stream.cut();
    Ok(())
}

/// A producer opened and ticked once, then dropped without a cancel (HTTP
/// streams hold no server state between turns; nothing should remain).
fn http_abandoned_stream(addr: SocketAddr) -> Result<(), String> {
    let mut client = vgi_rpc::http::client::HttpClient::new(&format!("http://{addr}"))
        .map_err(|e| format!("disconnect: HTTP client: {e}"))?;
    client.set_timeout(Some(IO_TIMEOUT));
    client.set_protocol_version(PROTOCOL, VERSION);
    let mut session = client
        .producer(PROTOCOL, "produce_n", &count_params(100), &StreamOptions::default())
        .map_err(|e| format!("disconnect: produce_n init: {e}"))?;
    for _ in 0..2 {
        session.next_batch().map_err(|e| format!("disconnect: produce_n batch: {e}"))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Pipes: side workers
// ---------------------------------------------------------------------------

/// A child's stdin that another handle can close (the cut) while a client
/// still writes through it; writes after the cut fail with `BrokenPipe`.
#[derive(Clone)]
struct CutStdin(Arc<Mutex<Option<ChildStdin>>>);

impl CutStdin {
    fn cut(&self) {
        drop(self.0.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

impl Write for CutStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            Some(w) => w.write(buf),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self.0.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            Some(w) => w.flush(),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }
}

type SidePipe = Client<BufReader<ChildStdout>, BufWriter<CutStdin>>;

/// A side worker on pipes (stderr discarded: it would only say how each
/// deliberate cut ended the connection).
fn spawn_side(program: &Path) -> Result<(Child, SidePipe, CutStdin), String> {
    let mut child = Command::new(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("side worker: spawn: {e}"))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = wait_or_kill(&mut child, EXIT_TIMEOUT);
        return Err("side worker: no pipes".into());
    };
    let stdin = CutStdin(Arc::new(Mutex::new(Some(stdin))));
    let mut client = Client::new(BufReader::new(stdout), BufWriter::new(stdin.clone()));
    client.set_protocol_version(PROTOCOL, VERSION);
    Ok((child, client, stdin))
}

/// Run `body` against a side worker under a watchdog, then require the
/// worker to exit by itself (no crash) within [`EXIT_TIMEOUT`].
fn with_side_worker(
    program: &Path,
    what: &str,
    body: impl FnOnce(SidePipe, &CutStdin) -> Result<(), String>,
) -> Result<(), String> {
    let (mut child, client, stdin) = spawn_side(program)?;
    let watchdog = Watchdog::arm(child.id(), EXIT_TIMEOUT);
    let outcome = body(client, &stdin);
    stdin.cut();
    let killed = watchdog.disarm();
    let exit = wait_or_kill(&mut child, EXIT_TIMEOUT);
    outcome?;
    if killed || !exit.graceful {
        return Err(format!("pipe worker did not exit after {what} (killed; {})", exit.status));
    }
    // A signal it did not get from us, or Rust's panic exit code, is a crash.
    if exit.signal.is_some() || exit.code == Some(101) {
        return Err(format!("pipe worker ended badly after {what}: {}", exit.status));
    }
    Ok(())
}

fn pipe_shape(shape: u64, program: &Path) -> Result<(), String> {
    match shape % 4 {
        0 => with_side_worker(program, "half a request", |mut client, stdin| {
            let bytes = request_bytes("echo_int", &echo_int_params(3))?;
            let _ = client.writer_mut().write_all(&bytes[..bytes.len() / 2]).and_then(|()| client.writer_mut().flush());
            stdin.cut();
            Ok(())
        }),
        1 => with_side_worker(program, "a cut mid-producer", |mut client, stdin| {
            mid_stream(&mut client, true, || stdin.cut())
        }),
        2 => with_side_worker(program, "a cut mid-exchange", |mut client, stdin| {
            mid_stream(&mut client, false, || stdin.cut())
        }),
        _ => with_side_worker(program, "a request whose answer was never read", |client, stdin| {
            let bytes = request_bytes("produce_n", &count_params(1000))?;
            let (stdout, mut writer) = client.into_parts();
            drop(stdout);
            let _ = writer.write_all(&bytes).and_then(|()| writer.flush());
            stdin.cut();
            Ok(())
        }),
    }
}

/// Pipe connection churn: a side worker, one `echo_int(v)`, stdin closed;
/// the worker must exit by itself.
pub fn pipe_churn(program: &Path, v: i64) -> Result<(), String> {
    with_side_worker(program, "a graceful close", |mut client, _| echo(&mut client, v).map_err(|f| f.message))
}
