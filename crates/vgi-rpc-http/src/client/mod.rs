//! A blocking vgi-rpc client over HTTP (WIRE_PROTOCOL.md §10).
//!
//! [`HttpClient`] speaks the same calls as the pipe
//! [`Client`](vgi_rpc_core::Client) and returns the same shapes
//! ([`UnaryResponse`], [`CallError`]), mapped onto HTTP:
//!
//! * unary: `POST {prefix}/{protocol}/{method}`;
//! * streams: `POST .../{method}/init`, then one `POST .../{method}/exchange`
//!   per turn, echoing the cursor (`vgi_rpc.stream_state#b64`) and the call
//!   token (`vgi_rpc.call_state#b64`) on every continuation and cancel;
//! * content coding: optional zstd request bodies, zstd or gzip responses;
//! * external storage: pointer batches in responses resolved through a
//!   [`PointerResolver`]; request bodies over the server's request cap (or
//!   the client's threshold) uploaded through the server's upload URLs and
//!   sent as pointers (see [`externalize`]);
//! * status mapping (§13): errors in `200`, `400`, `404`, `413` and `429` bodies
//!   become [`CallError::Remote`]; other statuses and non-Arrow bodies
//!   become [`CallError::Protocol`] (`"HTTP {status}: {body excerpt}"`).
//!
//! Internally one current-thread tokio runtime drives a keep-alive hyper
//! connection pool, so a client is cheap to call repeatedly. Called from
//! inside another tokio runtime, each request runs on a scoped helper thread
//! instead (the calling thread still blocks until the answer arrives).

mod coding;
mod exchange;
pub mod externalize;
mod idle_probe;
mod init;
mod producer;
mod request;
mod response;
mod rpc_client;
mod session;
mod spin_io;
mod sticky;
mod tls;
mod trace;
mod transport;
mod unary;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use http::{HeaderMap, Uri};
use vgi_rpc_core::external::{resolve_batches, PointerResolver, UploadPutter};
use vgi_rpc_core::wire::{Metadata, ReadLimits, RequestHeader};
use vgi_rpc_core::Clock;

pub use exchange::HttpExchange;
pub use externalize::UploadCapabilities;
pub use producer::HttpProducer;
pub use vgi_rpc_core::client::no_params;
pub use vgi_rpc_core::{CallError, StreamOptions, UnaryResponse};

use crate::encoding::Codec;
use crate::headers::{ARROW_CONTENT_TYPE, REQUEST_ID, VGI_ACCEPT_ENCODING};
use externalize::UploadSettings;
use response::IpcStream;
use session::Session;
use transport::Transport;

/// The default URL prefix: none, as [`crate::HttpConfig`] and the reference
/// worker serve (WIRE_PROTOCOL.md names `/vgi` as a conventional choice).
pub const DEFAULT_PREFIX: &str = "";

/// A blocking HTTP client for one server.
pub struct HttpClient {
    transport: Transport,
    /// `http(s)://host:port` plus any path of the base URL, without a trailing `/`.
    origin: String,
    prefix: String,
    versions: HashMap<String, String>,
    compress_requests: bool,
    accept_encoding: Option<String>,
    limits: ReadLimits,
    max_response_bytes: Option<usize>,
    last_request_id: Option<String>,
    requests_sent: u64,
    /// Resolves external pointer batches in responses (none: they are refused).
    resolver: Option<(Arc<dyn PointerResolver>, Arc<dyn Clock>)>,
    /// Client-side externalization: what the server allows, the client's
    /// own threshold, how uploads are put (boxed: rarely used, and the
    /// client is often held by value in enums).
    uploads: Box<UploadSettings>,
    /// The sticky-session scope, when one is active (boxed: rarely used).
    sticky: Option<Box<sticky::SessionView>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").field("origin", &self.origin).field("prefix", &self.prefix).finish()
    }
}

impl HttpClient {
    /// A client for the server at `base_url` (`http://host:port` or, with
    /// the `tls` feature, `https://host:port`, optionally with a path), using
    /// the [`DEFAULT_PREFIX`].
    pub fn new(base_url: &str) -> Result<Self, CallError> {
        let uri: Uri =
            base_url.trim().parse().map_err(|e| CallError::Protocol(format!("invalid base URL {base_url:?}: {e}")))?;
        let scheme = match uri.scheme_str() {
            Some("http") => "http",
            #[cfg(feature = "tls")]
            Some("https") => "https",
            #[cfg(not(feature = "tls"))]
            Some("https") => return Err(tls::https_unsupported(base_url)),
            _ => {
                return Err(CallError::Protocol(format!("only http:// and https:// base URLs work, got {base_url:?}")))
            }
        };
        let authority =
            uri.authority().ok_or_else(|| CallError::Protocol(format!("base URL {base_url:?} names no host")))?;
        if uri.query().is_some() {
            return Err(CallError::Protocol(format!("base URL {base_url:?} must not have a query")));
        }
        let origin = format!("{scheme}://{authority}{}", uri.path().trim_end_matches('/'));
        Ok(Self {
            transport: Transport::new()?,
            origin,
            prefix: DEFAULT_PREFIX.to_owned(),
            versions: HashMap::new(),
            compress_requests: false,
            accept_encoding: Some(Codec::Zstd.token().to_owned()),
            limits: ReadLimits::default(),
            max_response_bytes: None,
            last_request_id: None,
            requests_sent: 0,
            resolver: None,
            uploads: Box::default(),
            sticky: None,
        })
    }

    /// Use `prefix` (e.g. `"/vgi"`, or `""` for none) instead of the default.
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        let trimmed = prefix.trim().trim_end_matches('/');
        self.prefix = match trimmed {
            "" => String::new(),
            p if p.starts_with('/') => p.to_owned(),
            p => format!("/{p}"),
        };
        self
    }

    /// The URL prefix in use.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Send `version` as `vgi_rpc.protocol_version` on every request to `protocol`.
    pub fn set_protocol_version(&mut self, protocol: impl Into<String>, version: impl Into<String>) {
        self.versions.insert(protocol.into(), version.into());
    }

    /// zstd-compress request bodies (`Content-Encoding: zstd`).
    pub fn set_request_compression(&mut self, zstd: bool) {
        self.compress_requests = zstd;
    }

    /// The `X-VGI-Accept-Encoding` value sent on RPC requests (default
    /// `zstd`; `None` sends none). zstd and gzip responses are decoded
    /// whichever header names them.
    pub fn set_accept_encoding(&mut self, value: Option<String>) {
        self.accept_encoding = value;
    }

    /// Over `https://`, trust the certificates in `pem` (one or more
    /// `CERTIFICATE` blocks) besides the system's roots; returns how many.
    #[cfg(feature = "tls")]
    pub fn add_root_certificates_pem(&mut self, pem: &[u8]) -> Result<usize, CallError> {
        self.transport.tls_mut().add_roots_pem(pem)
    }

    /// Over `https://`, trust the system's root certificates (the default) or only the added ones.
    #[cfg(feature = "tls")]
    pub fn use_system_root_certificates(&mut self, yes: bool) {
        self.transport.tls_mut().use_system_roots(yes);
    }

    /// Over `https://`, present this certificate chain (leaf first) and key
    /// when the server asks for a client certificate (mutual TLS).
    #[cfg(feature = "tls")]
    pub fn set_client_certificate_pem(&mut self, chain_pem: &[u8], key_pem: &[u8]) -> Result<(), CallError> {
        self.transport.tls_mut().set_identity_pem(chain_pem, key_pem)
    }

    /// Over `https://`, use this rustls configuration as given (its ALPN
    /// becomes `http/1.1`), in place of the one built from the settings above.
    #[cfg(feature = "tls")]
    pub fn set_tls_config(&mut self, config: Arc<rustls::ClientConfig>) {
        self.transport.tls_mut().set_config(config);
    }

    /// Fail a request that takes longer than `timeout` (default: no limit).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.transport.set_timeout(timeout);
    }

    /// Caps for decoding response IPC streams.
    pub fn set_read_limits(&mut self, limits: ReadLimits) {
        self.limits = limits;
    }

    /// Refuse response bodies larger than `limit` bytes, before and after
    /// content decoding (default: no limit).
    pub fn set_max_response_bytes(&mut self, limit: Option<usize>) {
        self.max_response_bytes = limit;
    }

    /// The `X-Request-ID` of the last RPC response, when the server sent one.
    pub fn last_request_id(&self) -> Option<&str> {
        self.last_request_id.as_deref()
    }

    /// How many RPC requests (unary, `/init`, `/exchange`) this client has sent.
    pub fn requests_sent(&self) -> u64 {
        self.requests_sent
    }

    /// The path of an RPC route: `{prefix}/{protocol}/{method}{suffix}`.
    pub fn rpc_path(&self, protocol: &str, method: &str, suffix: &str) -> String {
        format!("{}/{protocol}/{method}{suffix}", self.prefix)
    }

    fn url(&self, path: &str) -> Result<Uri, CallError> {
        let text = format!("{}{path}", self.origin);
        text.parse().map_err(|e| CallError::Protocol(format!("invalid request URL {text:?}: {e}")))
    }

    fn rpc_url(&self, protocol: &str, method: &str, suffix: &str) -> Result<Uri, CallError> {
        self.url(&self.rpc_path(protocol, method, suffix))
    }

    fn request_metadata(&self, protocol: &str, method: &str, extra: &Metadata) -> Metadata {
        let mut md = RequestHeader {
            protocol: protocol.to_owned(),
            method: method.to_owned(),
            protocol_version: self.versions.get(protocol).cloned(),
            request_id: None,
        }
        .to_metadata(extra);
        vgi_rpc_core::trace_context::inject(&mut md);
        md
    }

    /// POST `batch` with `metadata` (one IPC stream) to an RPC route and read
    /// the response streams. A body the server would refuse as too large (or
    /// over the client's threshold) goes through the upload-URL flow and a
    /// pointer is sent instead; an inline body refused with `413` is retried
    /// once that way when the server vends upload URLs.
    pub(crate) fn post_batch(
        &mut self,
        uri: &Uri,
        batch: &RecordBatch,
        metadata: &Metadata,
    ) -> Result<Vec<IpcStream>, CallError> {
        let body = Bytes::from(request::single_batch_stream(batch, metadata)?);
        let externalize = self.wants_upload(batch, body.len())?;
        let sent = if externalize { self.upload_request(batch, metadata, &body)? } else { body.clone() };
        let mut response = self.post_body(uri, sent)?;
        if response.status == http::StatusCode::PAYLOAD_TOO_LARGE
            && !externalize
            && batch.num_rows() > 0
            && self.upload_after_refusal(&response.headers)?
        {
            let pointer = self.upload_request(batch, metadata, &body)?;
            response = self.post_body(uri, pointer)?;
        }
        self.read_rpc(response)
    }

    /// POST a request body to an RPC route as it is.
    fn post_body(&mut self, uri: &Uri, body: Bytes) -> Result<transport::RawResponse, CallError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(ARROW_CONTENT_TYPE));
        if let Some(accept) = &self.accept_encoding {
            let value = HeaderValue::from_str(accept)
                .map_err(|_| CallError::Protocol(format!("invalid accept-encoding value {accept:?}")))?;
            headers.insert(VGI_ACCEPT_ENCODING, value);
        }
        let body = if self.compress_requests {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(Codec::Zstd.token()));
            Bytes::from(coding::encode_request(Codec::Zstd, &body)?)
        } else {
            body
        };
        if let Some(view) = &self.sticky {
            view.apply(&mut headers);
        }
        trace::inject_headers(&mut headers);
        self.requests_sent += 1;
        let response = self.transport.post(uri.clone(), headers, body, self.max_response_bytes)?;
        if let Some(view) = &mut self.sticky {
            view.capture(&response.headers);
        }
        self.last_request_id = response.headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
        if let Some(caps) = UploadCapabilities::from_headers(&response.headers) {
            self.uploads.caps = Some(caps);
        }
        Ok(response)
    }

    /// The IPC streams of an RPC response, pointers resolved.
    fn read_rpc(&self, response: transport::RawResponse) -> Result<Vec<IpcStream>, CallError> {
        let decoded = coding::decode_response(&response.headers, &response.body, self.max_response_bytes)?;
        let streams = response::interpret(response.status, &response.headers, &decoded, self.limits)?;
        let Some((resolver, clock)) = &self.resolver else { return Ok(streams) };
        streams
            .into_iter()
            .map(|s| {
                let batches = resolve_batches(resolver.as_ref(), clock.as_ref(), self.limits, s.batches)?;
                Ok(IpcStream { batches })
            })
            .collect()
    }

    /// Resolve external pointer batches in responses through `resolver`
    /// (fetch time measured on `clock`): the payload's logs and data batch
    /// take the pointer's place, so calls see the same results as inline.
    /// Without one, a pointer in a response fails the call.
    pub fn set_pointer_resolver(&mut self, resolver: Arc<dyn PointerResolver>, clock: Arc<dyn Clock>) {
        self.resolver = Some((resolver, clock));
    }

    /// Externalize request bodies of at least `threshold` bytes through the
    /// server's upload URLs (`None`: only bodies over the server's
    /// advertised `VGI-Max-Request-Bytes`, which always are when the server
    /// advertises `VGI-Upload-URL-Support`). Applies to unary requests,
    /// stream `/init` requests and exchange inputs with rows.
    pub fn set_externalize_threshold(&mut self, threshold: Option<u64>) {
        self.uploads.threshold = threshold;
    }

    /// `PUT` uploads through `putter` (e.g. one that speaks https, as
    /// presigned object-store URLs need); without one, uploads go over this
    /// client's own transport (http, and https with the `tls` feature).
    pub fn set_upload_putter(&mut self, putter: Arc<dyn UploadPutter>) {
        self.uploads.putter = Some(putter);
    }

    /// The server's upload capabilities, as its last answer advertised them.
    pub fn upload_capabilities(&self) -> Option<UploadCapabilities> {
        self.uploads.caps
    }

    /// Call a unary method with `params` (one row; zero columns for no parameters).
    pub fn call(&mut self, protocol: &str, method: &str, params: &RecordBatch) -> Result<UnaryResponse, CallError> {
        self.call_with(protocol, method, params, &Metadata::new())
    }

    /// Call a unary method with extra request metadata.
    pub fn call_with(
        &mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        extra_metadata: &Metadata,
    ) -> Result<UnaryResponse, CallError> {
        let md = self.request_metadata(protocol, method, extra_metadata);
        let uri = self.rpc_url(protocol, method, "")?;
        unary::read_unary(self.post_batch(&uri, params, &md)?)
    }

    /// POST `/init` and set up the session state it establishes.
    fn open_stream(
        &mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<(Session, init::StreamStart), CallError> {
        let md = self.request_metadata(protocol, method, &options.extra_metadata);
        let init_uri = self.rpc_url(protocol, method, "/init")?;
        let exchange_uri = self.rpc_url(protocol, method, "/exchange")?;
        let mut start = init::read_init(self.post_batch(&init_uri, params, &md)?, options.has_header)?;
        Ok((Session::new(exchange_uri, &mut start), start))
    }

    /// Start a producer stream. The `/init` response may already hold the
    /// first batch; [`HttpProducer::next_batch`] returns it before ticking.
    pub fn producer(
        &mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<HttpProducer<'_>, CallError> {
        let (session, start) = self.open_stream(protocol, method, params, options)?;
        Ok(HttpProducer::new(self, session, start.first))
    }

    /// Start an exchange stream.
    pub fn exchange(
        &mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<HttpExchange<'_>, CallError> {
        let (session, start) = self.open_stream(protocol, method, params, options)?;
        if start.first.is_some() {
            return Err(CallError::Protocol("an exchange /init response carried a data batch".into()));
        }
        if session.cursor.is_none() {
            return Err(CallError::Protocol("an exchange /init response carried no cursor token".into()));
        }
        Ok(HttpExchange::new(self, session))
    }

    /// GET `path` (relative to the base URL, prefix not added) on a
    /// connection of its own and return the status, headers and body as
    /// received (at most `max_body` bytes). For probes such as
    /// `{prefix}/health` that sit outside the RPC routes.
    pub fn get_raw(&mut self, path: &str, max_body: usize) -> Result<(u16, HeaderMap, Vec<u8>), CallError> {
        let response = self.transport.request(
            http::Method::GET,
            self.url(path)?,
            HeaderMap::new(),
            Bytes::new(),
            Some(max_body),
        )?;
        Ok((response.status.as_u16(), response.headers, response.body.to_vec()))
    }

    /// POST `body` to `path` (relative to the base URL, prefix not added)
    /// with exactly `headers`, and return the status, headers and body as
    /// received (still content-coded). For tests of malformed requests.
    pub fn post_raw(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(u16, HeaderMap, Vec<u8>), CallError> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| CallError::Protocol(format!("invalid header name {name:?}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| CallError::Protocol(format!("invalid value for header {name}")))?;
            map.append(name, value);
        }
        let response = self.transport.post(self.url(path)?, map, Bytes::from(body), self.max_response_bytes)?;
        Ok((response.status.as_u16(), response.headers, response.body.to_vec()))
    }
}
