//! The blocking HTTP/1.1 transport under [`super::HttpClient`]: one
//! current-thread tokio runtime driving a keep-alive hyper connection pool,
//! with an optional per-request timeout and a cap on response bodies.

use std::future::Future;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use vgi_rpc_core::wire::WireError;
use vgi_rpc_core::CallError;

/// How long an idle pooled connection is kept before it is dropped.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// One HTTP response, body fully read and still content-coded.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A blocking POST-only HTTP client.
pub(crate) struct Transport {
    runtime: tokio::runtime::Runtime,
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Option<Duration>,
}

impl Transport {
    /// A transport with its own runtime and an empty connection pool.
    pub fn new() -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let client = {
            let _entered = runtime.enter();
            let mut connector = HttpConnector::new();
            connector.set_nodelay(true);
            Client::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .pool_idle_timeout(POOL_IDLE_TIMEOUT)
                .build(connector)
        };
        Ok(Self { runtime, client, timeout: None })
    }

    /// Fail requests that take longer than `timeout` (`None`: wait forever).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// POST `body` to `uri` with exactly `headers`, reading at most
    /// `max_body` response bytes.
    pub fn post(
        &self,
        uri: Uri,
        headers: HeaderMap,
        body: Vec<u8>,
        max_body: Option<usize>,
    ) -> Result<RawResponse, CallError> {
        let mut request = Request::post(uri.clone())
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| CallError::Protocol(format!("cannot build a request to {uri}: {e}")))?;
        *request.headers_mut() = headers;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| io_failure(&uri, e))?;
            let (parts, body) = response.into_parts();
            let bytes = match max_body {
                Some(limit) => Limited::new(body, limit).collect().await.map_err(|e| body_failure(&uri, e))?.to_bytes(),
                None => body.collect().await.map_err(|e| io_failure(&uri, e))?.to_bytes(),
            };
            Ok::<_, CallError>(RawResponse { status: parts.status, headers: parts.headers, body: bytes })
        };
        let uri_text = uri.to_string();
        self.run(async move {
            match self.timeout {
                None => exchange.await,
                Some(limit) => tokio::time::timeout(limit, exchange).await.unwrap_or_else(|_| {
                    Err(CallError::Wire(WireError::Io(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("HTTP request to {uri_text} timed out after {limit:?}"),
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

fn io_failure(uri: &Uri, e: impl std::fmt::Display) -> CallError {
    CallError::Wire(WireError::Io(io::Error::other(format!("HTTP request to {uri} failed: {e}"))))
}

fn body_failure(uri: &Uri, e: Box<dyn std::error::Error + Send + Sync>) -> CallError {
    if e.is::<http_body_util::LengthLimitError>() {
        CallError::Protocol(format!("the response from {uri} exceeds the client's response size limit"))
    } else {
        io_failure(uri, e)
    }
}
