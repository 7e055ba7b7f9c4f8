//! The RPC endpoints: request caps (`413`), content codings (`415`/`400`),
//! the response budget header, path resolution (`404`), content type
//! (`415`), then dispatch (inline for a method quick of late, else off the
//! reactor) and the §13 status mapping.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use vgi_rpc_core::access_log::{self, DeferredRecords, TransportFacts};
use vgi_rpc_core::session::{SessionBinding, SessionEntry};
use vgi_rpc_core::stateless::{
    dispatch_one, error_body, reserved_not_implemented, resolve_route, Answer, OneRequest, Route, Status,
};
use vgi_rpc_core::{AuthContext, ConnectionInfo, MethodDef, Protocol, RpcError, TransportKind};

use crate::app::{json_error, peer, response, HttpApp};
use crate::encoding::{
    decode_body, encode_body_with, pick_response_coding, request_codec, DecodeError, ResponseCoding,
};
use crate::headers::{
    ACCEPT_MAX_RESPONSE_BYTES, ARROW_CONTENT_TYPE, RPC_ERROR, VGI_ACCEPT_ENCODING, VGI_CONTENT_ENCODING,
};

const MIN_BUDGET: u64 = 65_536;
const MAX_BUDGET: u64 = (1 << 53) - 1;

/// An Arrow IPC error answer given before dispatch.
pub(crate) fn arrow_error(
    app: &HttpApp,
    status: StatusCode,
    request_id: &str,
    method: &str,
    err: &RpcError,
) -> Response {
    let primary = app.server.primary().map(|p| p.name()).unwrap_or("");
    response(status, ARROW_CONTENT_TYPE, error_body(&app.server, request_id, primary, method, err))
}

/// `POST {prefix}/__name__`: no reserved method is served over HTTP.
pub(crate) fn reserved(app: &HttpApp, name: &str, request_id: &str) -> Response {
    arrow_error(app, StatusCode::NOT_FOUND, request_id, name, &reserved_not_implemented(name))
}

fn too_large(size: usize, limit: usize) -> Response {
    json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request body exceeds max_request_bytes",
        &format!(
            "Request body of at least {size} bytes exceeds the server's advertised max_request_bytes={limit}. Use \
             the upload-URL flow (__upload_url__/init) to externalize large inputs."
        ),
    )
}

/// Read a request body of at most `limit` bytes (`413` beyond, `400` when
/// it cannot be read). Reads at most one byte past the cap, however the
/// body is framed.
pub(crate) async fn capped_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Response> {
    let declared_len = header_str(headers, CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok());
    if let Some(len) = declared_len.filter(|len| *len > limit) {
        return Err(too_large(len, limit));
    }
    let raw = match axum::body::to_bytes(body, limit.saturating_add(1)).await {
        Ok(b) => b,
        Err(e) => {
            let e = e.into_inner();
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                return Err(too_large(limit.saturating_add(1), limit));
            }
            return Err(json_error(StatusCode::BAD_REQUEST, "Bad Request", &format!("cannot read body: {e}")));
        }
    };
    if raw.len() > limit {
        return Err(too_large(raw.len(), limit));
    }
    Ok(raw)
}

/// The client's strict response limit (`VGI-Accept-Max-Response-Bytes`).
fn accepted_response_bytes(headers: &HeaderMap) -> Result<Option<u64>, RpcError> {
    let mut values = headers.get_all(ACCEPT_MAX_RESPONSE_BYTES).iter();
    let Some(raw) = values.next() else { return Ok(None) };
    let canonical =
        RpcError::value_error("VGI-Accept-Max-Response-Bytes must be one canonical positive decimal integer");
    if values.next().is_some() {
        return Err(canonical);
    }
    let text = raw.to_str().map_err(|_| canonical.clone())?;
    if text.is_empty() || text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(canonical);
    }
    let value: u64 = text
        .parse()
        .map_err(|_| RpcError::value_error(format!("VGI-Accept-Max-Response-Bytes exceeds {MAX_BUDGET}")))?;
    if value < MIN_BUDGET {
        return Err(RpcError::value_error(format!("VGI-Accept-Max-Response-Bytes must be at least {MIN_BUDGET}")));
    }
    if value > MAX_BUDGET {
        return Err(RpcError::value_error(format!("VGI-Accept-Max-Response-Bytes exceeds {MAX_BUDGET}")));
    }
    Ok(Some(value))
}

fn header_str(headers: &HeaderMap, name: impl http::header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The W3C `traceparent` / `tracestate` request headers, passed to hooks as
/// received (a header that is not visible ASCII is ignored).
fn trace_headers(headers: &HeaderMap) -> Option<vgi_rpc_core::trace_context::TraceHeaders> {
    let traceparent = header_str(headers, "traceparent")?.to_owned();
    let tracestate = header_str(headers, "tracestate").map(str::to_owned);
    Some(vgi_rpc_core::trace_context::TraceHeaders { traceparent, tracestate })
}

/// Serve one RPC request.
pub(crate) async fn serve(
    app: &Arc<HttpApp>,
    req: Request,
    protocol: &str,
    method: &str,
    route: Route,
    request_id: &str,
    auth: Arc<AuthContext>,
) -> Response {
    let remote = peer(&req).map(|a| a.to_string());
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let limit = app.config.effective_max_request_bytes();
    let read = capped_body(headers, body, limit);
    let read = match app.config.body_read_timeout {
        Some(t) => match tokio::time::timeout(t, read).await {
            Ok(read) => read,
            Err(_) => {
                let message = format!("request body not received within {} s", t.as_secs_f64());
                return json_error(StatusCode::REQUEST_TIMEOUT, "Request Timeout", &message);
            }
        },
        None => read.await,
    };
    let raw = match read {
        Ok(raw) => raw,
        Err(refused) => return refused,
    };
    let request_bytes = raw.len() as u64;
    let body = match request_codec(header_str(headers, CONTENT_ENCODING)) {
        Ok(None) => raw,
        Ok(Some(codec)) => match decode_body(codec, &raw, limit) {
            Ok(decoded) => Bytes::from(decoded),
            Err(e @ DecodeError::TooLarge { .. }) => {
                return json_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Request body exceeds max_request_bytes after decompression",
                    &e.to_string(),
                )
            }
            Err(e) => return json_error(StatusCode::BAD_REQUEST, "Decompression Error", &e.to_string()),
        },
        Err(e) => {
            return json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Content-Encoding", &e.to_string())
        }
    };
    // Serve-start hooks run on the first request a process handles (once
    // they succeed); a failure answers 500 and the next request retries.
    if let Err(err) = serve_start(app) {
        return arrow_error(app, StatusCode::INTERNAL_SERVER_ERROR, request_id, method, &err);
    }
    let coding = pick_response_coding(
        header_str(headers, ACCEPT_ENCODING),
        header_str(headers, VGI_ACCEPT_ENCODING),
        &app.config.response_codecs,
    );
    let client_limit = match accepted_response_bytes(headers) {
        Ok(v) => v,
        Err(err) => return arrow_error(app, StatusCode::BAD_REQUEST, request_id, method, &err),
    };
    let response_limit = match (app.config.max_response_bytes, client_limit) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let (protocol_def, method_def) = match resolve_route(&app.server, protocol, method) {
        Ok((p, m)) => (p.clone(), m.clone()),
        Err(err) => return arrow_error(app, StatusCode::NOT_FOUND, request_id, method, &err),
    };
    let content_type = header_str(headers, CONTENT_TYPE).unwrap_or("");
    if content_type != ARROW_CONTENT_TYPE {
        let message = format!(
            "Expected Content-Type: '{ARROW_CONTENT_TYPE}', got '{content_type}'. All vgi-rpc HTTP requests must use \
             Content-Type: {ARROW_CONTENT_TYPE}"
        );
        return json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type", &message);
    }
    let (session, session_entry) = match app.sticky.as_ref().map(|s| s.bind(headers, &auth)) {
        None => (None, None),
        Some(Ok((binding, entry))) => (Some(binding), entry),
        Some(Err(lost)) => {
            let mut resp = arrow_error(app, StatusCode::OK, request_id, method, &lost);
            resp.headers_mut().insert(RPC_ERROR, HeaderValue::from_static("true"));
            return resp;
        }
    };
    let call = Call {
        route,
        protocol: protocol_def,
        method: method_def,
        body,
        conn: ConnectionInfo {
            auth: auth.clone(),
            remote_addr: remote,
            kind: Some(TransportKind::Http),
            trace: trace_headers(headers),
        },
        session: session.clone(),
        session_entry,
    };
    let (answer, records) = match run_handler(app, call, request_id, response_limit).await {
        Ok(done) => done,
        Err(err) => return arrow_error(app, StatusCode::INTERNAL_SERVER_ERROR, request_id, method, &err),
    };
    let status = match answer.status {
        Status::Ok | Status::MethodError => StatusCode::OK,
        Status::BadRequest => StatusCode::BAD_REQUEST,
        Status::NotFound => StatusCode::NOT_FOUND,
        Status::TooManyRequests { .. } => crate::quota::QUOTA_STATUS,
    };
    let (mut resp, response_bytes) = encoded_response(status, answer.body, coding, app.config.compression);
    records.emit(&TransportFacts::http(status.as_u16(), request_bytes, response_bytes as u64));
    if let Status::TooManyRequests { retry_after } = answer.status {
        crate::quota::stamp_retry_after(&mut resp, retry_after);
    }
    if answer.status == Status::MethodError {
        resp.headers_mut().insert(RPC_ERROR, HeaderValue::from_static("true"));
    }
    if let (Some(sticky), Some(binding)) = (app.sticky.as_ref(), session.as_ref()) {
        sticky.stamp(binding, &auth, resp.headers_mut());
    }
    resp
}

/// Run the serve-start hooks unless the server is already bound to HTTP.
/// Hooks may block (worker setup), so on a multi-threaded runtime they run
/// with `block_in_place`, off the reactor; once bound this is one atomic load.
fn serve_start(app: &HttpApp) -> Result<(), RpcError> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    if app.server.transport_kind() == Some(TransportKind::Http) {
        return Ok(());
    }
    let notify = || app.server.notify_transport(TransportKind::Http);
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(notify),
        _ => notify(),
    }
}

/// What one dispatch needs, owned, so it can move to the blocking pool.
struct Call {
    route: Route,
    protocol: Arc<Protocol>,
    method: Arc<MethodDef>,
    body: Bytes,
    conn: ConnectionInfo,
    session: Option<Arc<SessionBinding>>,
    /// The session the request's token resolved to: calls on it run one at a time.
    session_entry: Option<Arc<SessionEntry>>,
}

impl Call {
    /// Dispatch, holding back the access-log records until the response
    /// body (compressed) exists: they gain the status and both body sizes.
    fn dispatch(&self, app: &HttpApp, request_id: &str, response_limit: Option<u64>) -> (Answer, DeferredRecords) {
        let _serialized = self.session_entry.as_ref().map(|e| e.lock_calls());
        let one = OneRequest {
            route: self.route,
            protocol: &self.protocol,
            method: &self.method,
            body: &self.body,
            conn: &self.conn,
            request_id,
            response_limit,
            session: self.session.clone(),
        };
        access_log::defer(|| dispatch_one(&app.server, &app.tokens, &one))
    }
}

/// Dispatch: inline when the method has been quick lately and the call is
/// not bound to a sticky session (see `inline`); otherwise off the reactor:
/// on the blocking pool when inline tracking is on (or the runtime is
/// current-thread, where `block_in_place` is not allowed), else under
/// `block_in_place`, which runs the handler on this worker thread and
/// moves the reactor's other work elsewhere.
async fn run_handler(
    app: &Arc<HttpApp>,
    call: Call,
    request_id: &str,
    response_limit: Option<u64>,
) -> Result<(Answer, DeferredRecords), RpcError> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    if call.session_entry.is_none() && app.inline.is_quick(&call.method) {
        return Ok(timed_dispatch(app, &call, request_id, response_limit));
    }
    if !app.inline.enabled() && Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        return Ok(tokio::task::block_in_place(|| timed_dispatch(app, &call, request_id, response_limit)));
    }
    let (app, request_id) = (app.clone(), request_id.to_owned());
    tokio::task::spawn_blocking(move || timed_dispatch(&app, &call, &request_id, response_limit))
        .await
        .map_err(|e| RpcError::runtime_error(format!("dispatch failed: {e}")))
}

/// Dispatch `call` and tell the inline tracker how long it took.
fn timed_dispatch(
    app: &HttpApp,
    call: &Call,
    request_id: &str,
    response_limit: Option<u64>,
) -> (Answer, DeferredRecords) {
    let started = Instant::now();
    let done = call.dispatch(app, request_id, response_limit);
    app.inline.record(&call.method, started.elapsed());
    done
}

/// An Arrow body, compressed with the negotiated coding when it has one,
/// and the size of the body as sent.
fn encoded_response(
    status: StatusCode,
    body: Vec<u8>,
    coding: ResponseCoding,
    levels: crate::encoding::CompressionLevels,
) -> (Response, usize) {
    let Some(codec) = coding.codec.filter(|_| !body.is_empty()) else {
        let len = body.len();
        return (response(status, ARROW_CONTENT_TYPE, Body::from(body)), len);
    };
    match encode_body_with(codec, &body, levels) {
        Ok(packed) => {
            let len = packed.len();
            let mut resp = response(status, ARROW_CONTENT_TYPE, Body::from(packed));
            let name = if coding.custom_header { VGI_CONTENT_ENCODING } else { CONTENT_ENCODING.as_str() };
            resp.headers_mut().insert(name, HeaderValue::from_static(codec.token()));
            (resp, len)
        }
        Err(_) => {
            let len = body.len();
            (response(status, ARROW_CONTENT_TYPE, Body::from(body)), len)
        }
    }
}
