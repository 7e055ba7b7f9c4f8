//! One-request dispatch for transports that keep no connection state
//! (HTTP, WIRE_PROTOCOL.md §10): a unary call, a stream's `/init`, or one
//! `/exchange` turn, each turning a request body into a complete response
//! body and a [`Status`] for the transport to map onto its own codes.
//!
//! A stream's state lives in two sealed tokens between turns. Sealing,
//! opening and caching them is the transport's job, through
//! [`StateTokens`]; this module decides what goes in them and when.

mod call;
mod observe;
mod route;
mod stream;
mod unary;

use std::io::Cursor;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use vgi_rpc_wire::reader::Opened;
use vgi_rpc_wire::{keys, EncodedSchema, Metadata, StreamReader};

pub use call::{CallId, StateTokens, StreamCall, TokenRejected};
pub use route::{reserved_not_implemented, resolve_route};

use crate::reply::Reply;
use crate::{ConnectionInfo, MethodDef, Protocol, RpcError, Server};

/// Which endpoint a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `{prefix}/{protocol}/{method}`.
    Unary,
    /// `{prefix}/{protocol}/{method}/init`.
    Init,
    /// `{prefix}/{protocol}/{method}/exchange`.
    Exchange,
}

/// How the transport should present an answer (§13 status mapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Success.
    Ok,
    /// The method ran and failed, or the response broke a hard cap: the body
    /// carries an EXCEPTION batch (HTTP `200` + `X-VGI-RPC-Error: true`).
    MethodError,
    /// The request never became a valid call (HTTP `400`).
    BadRequest,
    /// Unknown protocol or method (HTTP `404`).
    NotFound,
    /// The caller's principal is over a quota ([`crate::quota`]): the body
    /// carries a `RESOURCE_EXHAUSTED` error (HTTP `429` with `Retry-After`).
    TooManyRequests {
        /// When a retry may succeed.
        retry_after: std::time::Duration,
    },
}

/// A complete response body and how to present it.
#[derive(Debug)]
pub struct Answer {
    /// How the transport should present the body (HTTP status class).
    pub status: Status,
    /// The response: one or more Arrow IPC streams.
    pub body: Vec<u8>,
}

/// One request to dispatch.
#[derive(Debug)]
pub struct OneRequest<'a> {
    /// Which endpoint.
    pub route: Route,
    /// The protocol and method the path resolved to ([`resolve_route`]).
    pub protocol: &'a Arc<Protocol>,
    /// The method within that protocol.
    pub method: &'a Arc<MethodDef>,
    /// The decoded request body (one Arrow IPC stream).
    pub body: &'a [u8],
    /// Who is calling, from where.
    pub conn: &'a ConnectionInfo,
    /// The correlation id (the transport's `X-Request-ID`).
    pub request_id: &'a str,
    /// Hard cap on the response body, when one applies.
    pub response_limit: Option<u64>,
    /// The request's sticky-session binding, on a transport with sessions.
    pub session: Option<Arc<crate::session::SessionBinding>>,
}

/// Dispatch one request.
pub fn dispatch_one(server: &Server, tokens: &dyn StateTokens, req: &OneRequest<'_>) -> Answer {
    let reply = Reply { server_id: server.server_id(), request_id: req.request_id, tracebacks: server.tracebacks() };
    let kind = req.method.kind();
    let is_stream = kind != crate::MethodKind::Unary;
    let misrouted = match req.route {
        Route::Unary if is_stream => {
            Some(format!("Stream method {} requires /init and /exchange endpoints", quoted(req.method.name())))
        }
        Route::Init if !is_stream => Some(format!("Method {} is not a stream", quoted(req.method.name()))),
        Route::Exchange if !is_stream => {
            Some(format!("Method {} does not support /exchange", quoted(req.method.name())))
        }
        _ => None,
    };
    if let Some(message) = misrouted {
        return error_answer(&reply, Status::BadRequest, &RpcError::type_error(message), req);
    }
    if let Err(refused) = server.quotas().admit_request(req.conn) {
        return quota_answer(&reply, &refused, req);
    }
    match req.route {
        Route::Unary => enforce_limit(&reply, unary::serve(server, &reply, req), req, req.response_limit),
        Route::Init => enforce_limit(&reply, stream::init(server, tokens, &reply, req), req, req.response_limit),
        // A continuation also honours the cap sealed at /init, so it enforces its own.
        Route::Exchange => stream::exchange(server, tokens, &reply, req),
    }
}

fn quoted(name: &str) -> String {
    crate::dispatch::py_repr(name)
}

/// The refusal of a principal over its quota.
pub(crate) fn quota_answer(reply: &Reply<'_>, refused: &crate::QuotaExceeded, req: &OneRequest<'_>) -> Answer {
    let status = Status::TooManyRequests { retry_after: refused.retry_after };
    error_answer(reply, status, &refused.to_rpc_error(), req)
}

/// A whole-body error stream on the empty schema.
pub(crate) fn error_answer(reply: &Reply<'_>, status: Status, err: &RpcError, req: &OneRequest<'_>) -> Answer {
    error_answer_on(reply, status, err, req, EncodedSchema::empty())
}

pub(crate) fn error_answer_on(
    reply: &Reply<'_>,
    status: Status,
    err: &RpcError,
    req: &OneRequest<'_>,
    schema: &EncodedSchema,
) -> Answer {
    Answer { status, body: error_stream_bytes(reply, schema, err, req.protocol.name(), req.method.name()) }
}

/// A complete error stream in memory.
fn error_stream_bytes(
    reply: &Reply<'_>,
    schema: &EncodedSchema,
    err: &RpcError,
    protocol: &str,
    method: &str,
) -> Vec<u8> {
    let mut body = Vec::with_capacity(512);
    // Writing into a Vec cannot fail.
    let _ = reply.error_stream(&mut body, schema, err, protocol, method);
    body
}

/// Replace a successful body that overshoots the hard response cap with a
/// `ResponseTooLargeError` (strict fail; no continuation escapes it).
pub(crate) fn enforce_limit(reply: &Reply<'_>, answer: Answer, req: &OneRequest<'_>, limit: Option<u64>) -> Answer {
    let Some(limit) = limit else { return answer };
    if answer.status != Status::Ok || answer.body.len() as u64 <= limit {
        return answer;
    }
    let err = RpcError::new(
        "ResponseTooLargeError",
        format!(
            "HTTP body exceeds max_response_bytes ({} > {limit}) for method {}",
            answer.body.len(),
            quoted(req.method.name())
        ),
    )
    .with_code(vgi_rpc_wire::ErrorCode::ResourceExhausted);
    error_answer(reply, Status::MethodError, &err, req)
}

/// How a request that never reached its method is answered: `400`, except
/// that a request pointer the server could not resolve is the method's
/// failure (`200` + the error flag), as the reference answers it.
pub(crate) fn admit_status(err: &RpcError) -> Status {
    if err.error_type == crate::external::resolve::EXTERNAL_LOCATION_ERROR {
        Status::MethodError
    } else {
        Status::BadRequest
    }
}

/// The first batch of a request body: schema, batch and its metadata.
pub(crate) struct BodyBatch {
    pub batch: arrow_array::RecordBatch,
    pub metadata: Metadata,
}

/// Read the one batch a request body carries.
pub(crate) fn read_body(server: &Server, body: &[u8]) -> Result<BodyBatch, RpcError> {
    let mut cursor = Cursor::new(body);
    let mut reader = match StreamReader::open(&mut cursor, server.read_limits()).map_err(wire_failure)? {
        Opened::Stream(r) => r,
        Opened::Eof => {
            return Err(RpcError::new("ArrowInvalid", "Request body is empty: expected an Arrow IPC stream"))
        }
    };
    match reader.next(&mut cursor).map_err(wire_failure)? {
        Some(b) => {
            let (batch, metadata) = crate::external::resolve_incoming(server, b.batch, b.metadata)?;
            Ok(BodyBatch { batch, metadata })
        }
        None => Err(RpcError::protocol_error("Request stream carried no request batch (schema followed by EOS).")),
    }
}

/// A body that did not decode as Arrow IPC.
pub(crate) fn wire_failure(e: vgi_rpc_wire::WireError) -> RpcError {
    RpcError::new("ArrowInvalid", e.to_string())
}

/// Batch metadata with the transport's token and cancel keys removed.
pub(crate) fn strip_transport_keys(metadata: &Metadata) -> Metadata {
    metadata.without(&[keys::STREAM_STATE, keys::CALL_STATE, keys::CANCEL])
}

/// The empty schema as a `SchemaRef`.
pub(crate) fn empty_schema() -> SchemaRef {
    EncodedSchema::empty().schema().clone()
}

/// A complete error stream on the empty schema, for answers a transport
/// gives before dispatch (unknown routes, oversize or undecodable bodies).
pub fn error_body(server: &Server, request_id: &str, protocol: &str, method: &str, err: &RpcError) -> Vec<u8> {
    let reply = Reply { server_id: server.server_id(), request_id, tracebacks: server.tracebacks() };
    error_stream_bytes(&reply, EncodedSchema::empty(), err, protocol, method)
}
