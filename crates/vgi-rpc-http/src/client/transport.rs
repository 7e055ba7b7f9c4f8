//! The blocking HTTP/1.1 transport under [`super::HttpClient`]: one
//! current-thread tokio runtime driving one keep-alive hyper connection
//! (calls are lockstep, so a pool would only add hand-offs), plain or over
//! TLS ([`super::tls`]), reconnecting when the server closed it, with an
//! optional per-request timeout and a cap on response bodies. One-off requests elsewhere (the `PUT` of the
//! upload-URL flow, to the storage host) use a connection of their own and
//! leave the kept one alone.

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

use super::idle_probe::{self, Idle};
use super::spin_io::{SpinStream, REQUEST_PENDING};
use super::tls::TlsSettings;
use vgi_rpc_core::wire::pointer::redact_url;
use vgi_rpc_core::wire::WireError;
use vgi_rpc_core::CallError;

/// One HTTP response, body fully read and still content-coded.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// One HTTP/1.1 connection: its request sender, its spin state, and a
/// duplicate of its socket to look at while it is idle.
struct Link {
    sender: SendRequest<Full<Bytes>>,
    spin: Arc<AtomicU8>,
    probe: Option<std::net::TcpStream>,
}

/// The kept-alive connection and where it goes.
type Connection = (Target, Link);

/// Where a request goes: the host, the port, and whether over TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    tls: bool,
    /// As the URI writes it (an IPv6 literal keeps its brackets).
    host: String,
    port: u16,
    /// Whether the URI wrote the port (the `Host` header then carries it).
    explicit_port: bool,
}

impl Target {
    /// The target of an `http://` or `https://` URI (ports 80 and 443 when absent).
    fn of(uri: &Uri) -> Result<Self, CallError> {
        let tls = match uri.scheme_str() {
            Some("http") | None => false,
            Some("https") => true,
            Some(other) => {
                return Err(CallError::Protocol(format!("this transport speaks http and https, not {other}://")))
            }
        };
        let host = uri.host().ok_or_else(|| CallError::Protocol(format!("{uri} names no host")))?.to_owned();
        let port = uri.port_u16();
        Ok(Self { tls, port: port.unwrap_or(if tls { 443 } else { 80 }), explicit_port: port.is_some(), host })
    }

    /// The `Host` header: as the URI wrote it, for signed (presigned) URLs.
    fn host_header(&self) -> String {
        if self.explicit_port {
            self.authority()
        } else {
            self.host.clone()
        }
    }

    /// `host:port`, to connect to and for the `Host` header.
    fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Whether a connection made for `other` serves this target too.
    fn same_endpoint(&self, other: &Target) -> bool {
        self.tls == other.tls && self.port == other.port && self.host == other.host
    }
}

/// A blocking POST-only HTTP client.
pub(crate) struct Transport {
    runtime: tokio::runtime::Runtime,
    connection: Mutex<Option<Connection>>,
    timeout: Option<Duration>,
    /// Boxed: rarely used, and clients are often held by value in enums.
    tls: Box<TlsSettings>,
}

impl Transport {
    /// A transport with its own runtime and no connection yet.
    pub(crate) fn new() -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(Self { runtime, connection: Mutex::new(None), timeout: None, tls: Box::default() })
    }

    /// The TLS settings of `https://` connections; changing them drops the kept connection.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn tls_mut(&mut self) -> &mut TlsSettings {
        match self.connection.get_mut() {
            Ok(slot) => *slot = None,
            Err(poisoned) => *poisoned.into_inner() = None,
        }
        &mut self.tls
    }

    /// The kept-alive connection to `target` if it is still usable, else a new one.
    async fn connection(&self, uri: &Uri, target: &Target) -> Result<Link, CallError> {
        let kept = match self.connection.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        let reusable = match kept {
            Some((to, link)) if to.same_endpoint(target) => still_open(link).await,
            _ => None,
        };
        match reusable {
            Some(link) => Ok(link),
            None => self.connect(uri, target).await,
        }
    }

    /// A new connection to `target`.
    async fn connect(&self, uri: &Uri, target: &Target) -> Result<Link, CallError> {
        let stream = tokio::net::TcpStream::connect(target.authority()).await.map_err(|e| io_failure(uri, e))?;
        stream.set_nodelay(true).map_err(|e| io_failure(uri, e))?;
        let probe = idle_probe::probe_of(&stream);
        let spin = Arc::new(AtomicU8::new(0));
        let stream = SpinStream::new(stream, spin.clone());
        let sender = if target.tls {
            self.handshake_tls(uri, target, stream).await?
        } else {
            self.handshake(uri, stream).await?
        };
        Ok(Link { sender, spin, probe })
    }

    /// HTTP/1.1 over `io`; the connection runs whenever this runtime does (during each call).
    async fn handshake<I>(&self, uri: &Uri, io: I) -> Result<SendRequest<Full<Bytes>>, CallError>
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) = http1::handshake(TokioIo::new(io)).await.map_err(|e| io_failure(uri, e))?;
        self.runtime.spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    #[cfg(feature = "tls")]
    async fn handshake_tls(
        &self,
        uri: &Uri,
        target: &Target,
        stream: SpinStream,
    ) -> Result<SendRequest<Full<Bytes>>, CallError> {
        let stream = self.tls.connect(&target.host, stream).await?;
        self.handshake(uri, stream).await
    }

    #[cfg(not(feature = "tls"))]
    async fn handshake_tls(
        &self,
        uri: &Uri,
        _target: &Target,
        _stream: SpinStream,
    ) -> Result<SendRequest<Full<Bytes>>, CallError> {
        Err(super::tls::https_unsupported(&redact_url(&uri.to_string())))
    }

    /// Keep `sender` for the next call.
    fn keep(&self, kept: Connection) {
        match self.connection.lock() {
            Ok(mut slot) => *slot = Some(kept),
            Err(poisoned) => *poisoned.into_inner() = Some(kept),
        }
    }

    /// Fail requests that take longer than `timeout` (`None`: wait forever).
    pub(crate) fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// POST `body` to `uri` with exactly `headers` on the kept-alive
    /// connection, reading at most `max_body` response bytes.
    pub(crate) fn post(
        &self,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
        max_body: Option<usize>,
    ) -> Result<RawResponse, CallError> {
        self.send(Method::POST, uri, headers, body, max_body, true)
    }

    /// One request with `method` on a connection of its own (closed after
    /// it), reading at most `max_body` response bytes.
    pub(crate) fn request(
        &self,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
        max_body: Option<usize>,
    ) -> Result<RawResponse, CallError> {
        self.send(method, uri, headers, body, max_body, false)
    }

    fn send(
        &self,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
        max_body: Option<usize>,
        reuse: bool,
    ) -> Result<RawResponse, CallError> {
        let mut request = Request::builder()
            .method(method)
            .uri(uri.clone())
            .body(Full::new(body))
            .map_err(|e| CallError::Protocol(format!("cannot build a request to {uri}: {e}")))?;
        *request.headers_mut() = headers;
        let target = Target::of(&uri)?;
        if let Ok(host) = http::HeaderValue::from_str(&target.host_header()) {
            request.headers_mut().entry(http::header::HOST).or_insert(host);
        }
        // A connection-level client sends the target as given: use origin form.
        if let Some(path) = uri.path_and_query() {
            if let Ok(origin_form) = Uri::try_from(path.as_str()) {
                *request.uri_mut() = origin_form;
            }
        }
        let exchange = async {
            let mut link =
                if reuse { self.connection(&uri, &target).await? } else { self.connect(&uri, &target).await? };
            link.spin.store(REQUEST_PENDING, Ordering::Relaxed);
            let response = link.sender.send_request(request).await.map_err(|e| io_failure(&uri, e))?;
            let (parts, body) = response.into_parts();
            let bytes = match max_body {
                Some(limit) => Limited::new(body, limit).collect().await.map_err(|e| body_failure(&uri, e))?.to_bytes(),
                None => body.collect().await.map_err(|e| io_failure(&uri, e))?.to_bytes(),
            };
            // A refused body (413) may not have been read to its end, so the
            // server closes that connection: never reuse it, nor one the
            // server said it closes.
            let closing = parts.status == StatusCode::PAYLOAD_TOO_LARGE
                || parts
                    .headers
                    .get(http::header::CONNECTION)
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
            if reuse && !closing {
                self.keep((target, link));
            }
            Ok::<_, CallError>(RawResponse { status: parts.status, headers: parts.headers, body: bytes })
        };
        self.run(async {
            match self.timeout {
                None => exchange.await,
                Some(limit) => tokio::time::timeout(limit, exchange).await.unwrap_or_else(|_| {
                    let shown = redact_url(&uri.to_string());
                    Err(CallError::Wire(WireError::Io(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("HTTP request to {shown} timed out after {limit:?}"),
                    ))))
                }),
            }
        })
    }

    /// Drive `future` on this transport's runtime. Called from inside another
    /// runtime (where `block_on` would panic), it runs on a scoped helper thread.
    fn run<F>(&self, future: F) -> Result<RawResponse, CallError>
    where
        F: Future<Output = Result<RawResponse, CallError>> + Send,
    {
        if tokio::runtime::Handle::try_current().is_err() {
            return self.runtime.block_on(future);
        }
        std::thread::scope(|scope| match scope.spawn(|| self.runtime.block_on(future)).join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        })
    }
}

/// `link` if it can carry the next request. Nothing drove the runtime
/// between calls, so a close the server sent meanwhile (its keep-alive
/// timeout) is still unread: a quiet socket is reused at once, a closed one
/// dropped. Otherwise the connection task reads what waits first, or the
/// request could go out on a dead connection and fail with no answer: the
/// first yield polls the socket and wakes the connection task; the second
/// lets it run (block_on polls this future before queued tasks).
async fn still_open(mut link: Link) -> Option<Link> {
    if link.sender.is_closed() {
        return None;
    }
    match link.probe.as_ref().map_or(Idle::Unknown, idle_probe::look) {
        Idle::Quiet => {}
        Idle::Closed => return None,
        Idle::Unknown => {
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
        }
    }
    (!link.sender.is_closed() && link.sender.ready().await.is_ok()).then_some(link)
}

fn io_failure(uri: &Uri, e: impl std::fmt::Display) -> CallError {
    let shown = redact_url(&uri.to_string());
    CallError::Wire(WireError::Io(io::Error::other(format!("HTTP request to {shown} failed: {e}"))))
}

fn body_failure(uri: &Uri, e: Box<dyn std::error::Error + Send + Sync>) -> CallError {
    if e.is::<http_body_util::LengthLimitError>() {
        let shown = redact_url(&uri.to_string());
        CallError::Protocol(format!("the response from {shown} exceeds the client's response size limit"))
    } else {
        io_failure(uri, e)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use super::*;

    /// Answer one request per connection with `200 ok`, then close the
    /// connection, as a server whose keep-alive timeout expired does.
    fn one_answer_per_connection(listener: TcpListener, connections: usize) -> std::thread::JoinHandle<usize> {
        std::thread::spawn(move || {
            let mut served = 0;
            for stream in listener.incoming().take(connections) {
                let Ok(stream) = stream else { break };
                let mut reader = BufReader::new(stream);
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        let mut body = vec![0; length];
                        let _ = reader.read_exact(&mut body);
                        let _ = reader.get_mut().write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
                        served += 1;
                        break;
                    }
                }
                // Close the kept-alive connection a little later, while the
                // client is between calls and nothing drives its runtime.
                std::thread::sleep(Duration::from_millis(100));
            }
            served
        })
    }

    #[test]
    fn a_kept_connection_the_server_closed_while_idle_is_replaced_not_used() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let uri: Uri = format!("http://{}/svc/noop", listener.local_addr().unwrap()).parse().unwrap();
        let server = one_answer_per_connection(listener, 3);
        let transport = Transport::new().unwrap();
        for call in 0..3 {
            let answer = transport
                .post(uri.clone(), HeaderMap::new(), Bytes::from_static(b"request"), Some(1024))
                .unwrap_or_else(|e| panic!("call {call} on a connection the server had closed: {e}"));
            assert_eq!(answer.body.as_ref(), b"ok");
            // Give the server's close time to arrive before the next call.
            std::thread::sleep(Duration::from_millis(300));
        }
        drop(transport);
        assert_eq!(server.join().unwrap(), 3, "each call had a connection of its own");
    }
}
