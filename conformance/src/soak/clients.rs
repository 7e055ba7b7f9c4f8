//! One interface over the project's clients — the byte-stream `Client`
//! (pipe, Unix, TCP) and `HttpClient` — for the operations the soak mixes,
//! and a client thread's persistent connection to the sampled worker.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow_array::RecordBatch;
use vgi_rpc::http::client::HttpClient;
use vgi_rpc::rpc::{CallError, Client, StreamOptions, UnaryResponse};
use vgi_rpc::stdio::{connect_tcp, connect_unix, SubprocessClient, TcpClient, UnixClient};

use super::worker::Endpoint;

/// The protocol every soak call goes to.
pub const PROTOCOL: &str = "ConformanceService";
/// Its version.
pub const VERSION: &str = "2.0.0";
/// No call may block longer than this on a socket.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A producer's batches, and the error that ended it early, if any.
pub struct Drained {
    /// Data batches received.
    pub batches: Vec<RecordBatch>,
    /// The error that ended the stream, if it did not finish.
    pub error: Option<CallError>,
}

/// What the traffic mix needs from a client, on any transport.
pub trait SoakClient {
    /// A unary call.
    fn unary(&mut self, method: &str, params: &RecordBatch) -> Result<UnaryResponse, CallError>;
    /// Run a producer to its end, or cancel it after `cancel_after` batches.
    fn produce(&mut self, method: &str, params: &RecordBatch, cancel_after: Option<usize>) -> Drained;
    /// Open an exchange, send each input, close; the outputs.
    fn exchange(
        &mut self,
        method: &str,
        params: &RecordBatch,
        inputs: &[RecordBatch],
    ) -> Result<Vec<RecordBatch>, CallError>;
}

/// Pull batches until the end, an error, or `cancel_after` of them.
fn pull(
    mut next: impl FnMut() -> Result<Option<(RecordBatch, vgi_rpc::Metadata)>, CallError>,
    cancel_after: Option<usize>,
) -> (Vec<RecordBatch>, Option<CallError>) {
    let mut batches = Vec::new();
    while cancel_after.is_none_or(|n| batches.len() < n) {
        match next() {
            Ok(Some((batch, _))) => batches.push(batch),
            Ok(None) => break,
            Err(e) => return (batches, Some(e)),
        }
    }
    (batches, None)
}

impl<R: Read, W: Write> SoakClient for Client<R, W> {
    fn unary(&mut self, method: &str, params: &RecordBatch) -> Result<UnaryResponse, CallError> {
        self.call(PROTOCOL, method, params)
    }

    fn produce(&mut self, method: &str, params: &RecordBatch, cancel_after: Option<usize>) -> Drained {
        let mut session = match self.producer(PROTOCOL, method, params, &StreamOptions::default()) {
            Ok(s) => s,
            Err(error) => return Drained { batches: Vec::new(), error: Some(error) },
        };
        let (batches, mut error) = pull(|| session.next_batch(), cancel_after);
        if error.is_none() && cancel_after.is_some() {
            error = session.cancel().err();
        }
        Drained { batches, error }
    }

    fn exchange(
        &mut self,
        method: &str,
        params: &RecordBatch,
        inputs: &[RecordBatch],
    ) -> Result<Vec<RecordBatch>, CallError> {
        let mut session = Client::exchange(self, PROTOCOL, method, params, &StreamOptions::default())?;
        let outputs = inputs.iter().map(|input| session.exchange(input).map(|(out, _)| out)).collect();
        let schema = inputs.first().map(RecordBatch::schema).unwrap_or_else(|| arrow_schema::Schema::empty().into());
        session.close(&schema)?;
        outputs
    }
}

impl SoakClient for HttpClient {
    fn unary(&mut self, method: &str, params: &RecordBatch) -> Result<UnaryResponse, CallError> {
        self.call(PROTOCOL, method, params)
    }

    fn produce(&mut self, method: &str, params: &RecordBatch, cancel_after: Option<usize>) -> Drained {
        let mut session = match self.producer(PROTOCOL, method, params, &StreamOptions::default()) {
            Ok(s) => s,
            Err(error) => return Drained { batches: Vec::new(), error: Some(error) },
        };
        let (batches, mut error) = pull(|| session.next_batch(), cancel_after);
        if error.is_none() && cancel_after.is_some() {
            error = session.cancel().err();
        }
        Drained { batches, error }
    }

    fn exchange(
        &mut self,
        method: &str,
        params: &RecordBatch,
        inputs: &[RecordBatch],
    ) -> Result<Vec<RecordBatch>, CallError> {
        let mut session = HttpClient::exchange(self, PROTOCOL, method, params, &StreamOptions::default())?;
        let outputs = inputs.iter().map(|input| session.exchange(input).map(|(out, _)| out)).collect();
        session.close()?;
        outputs
    }
}

/// A connection to the sampled worker.
pub enum Conn {
    /// The pipe worker's only connection, taken in turns.
    Pipe(Arc<Mutex<SubprocessClient>>),
    /// A Unix socket connection.
    Unix(UnixClient),
    /// A TCP connection.
    Tcp(TcpClient),
    /// An HTTP client (its own keep-alive pool).
    Http(HttpClient),
}

fn io_setup(e: std::io::Error) -> String {
    format!("connect: {e}")
}

impl Conn {
    /// A new connection (for the pipe: a handle on the shared one).
    pub fn open(endpoint: &Endpoint) -> Result<Self, String> {
        let conn = match endpoint {
            Endpoint::Pipe { shared, .. } => return Ok(Conn::Pipe(shared.clone())),
            Endpoint::Unix(path) => {
                let mut c = connect_unix(path).map_err(io_setup)?;
                let s = &c.reader_mut().get_ref().0;
                s.set_read_timeout(Some(IO_TIMEOUT))
                    .and_then(|()| s.set_write_timeout(Some(IO_TIMEOUT)))
                    .map_err(io_setup)?;
                c.set_protocol_version(PROTOCOL, VERSION);
                Conn::Unix(c)
            }
            Endpoint::Tcp(addr) => {
                let mut c = connect_tcp(addr).map_err(io_setup)?;
                let s = &c.reader_mut().get_ref().0;
                s.set_read_timeout(Some(IO_TIMEOUT))
                    .and_then(|()| s.set_write_timeout(Some(IO_TIMEOUT)))
                    .map_err(io_setup)?;
                c.set_protocol_version(PROTOCOL, VERSION);
                Conn::Tcp(c)
            }
            Endpoint::Http(addr) => {
                let mut c = HttpClient::new(&format!("http://{addr}")).map_err(|e| format!("HTTP client: {e}"))?;
                c.set_timeout(Some(IO_TIMEOUT));
                c.set_protocol_version(PROTOCOL, VERSION);
                Conn::Http(c)
            }
        };
        Ok(conn)
    }

    /// Run `f` with this connection's client.
    pub fn with<T>(&mut self, f: impl FnOnce(&mut dyn SoakClient) -> T) -> T {
        match self {
            Conn::Pipe(shared) => {
                let mut guard = shared.lock().unwrap_or_else(|p| p.into_inner());
                f(&mut **guard)
            }
            Conn::Unix(c) => f(c),
            Conn::Tcp(c) => f(c),
            Conn::Http(c) => f(c),
        }
    }
}
