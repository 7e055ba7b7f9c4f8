//! Admitting a request body (framing, routing agreement, version gate,
//! parameters — all `400`s) and serving a unary call.

use std::sync::Arc;

use vgi_rpc_wire::Request;

use super::observe::{call_info, Observed};
use super::{error_answer, read_body, Answer, OneRequest, Status};
use crate::dispatch::{check_request_header, gate_version, py_repr, validate_params};
use crate::external::Externalizer;
use crate::hook::CallStats;
use crate::reply::Reply;
use crate::serve_loop::serve_unary;
use crate::{CallContext, Params, RpcError, Server};

/// Read and validate the request batch of a unary call or stream `/init`.
pub(super) fn admit(server: &Server, req: &OneRequest<'_>) -> Result<Request, RpcError> {
    let body = read_body(server, req.body)?;
    let request = Request { batch: body.batch, metadata: body.metadata };
    let method = check_request_header(&request)?;
    if method != req.method.name() {
        return Err(RpcError::type_error(format!(
            "Method name mismatch: URL path has {} but Arrow IPC custom_metadata 'vgi_rpc.method' has {}. These \
             must match.",
            py_repr(req.method.name()),
            py_repr(method)
        )));
    }
    // The metadata is canonical and the path its projection: they must agree.
    if let Some(declared) = request.protocol().filter(|p| !p.is_empty()) {
        if declared != req.protocol.name() {
            return Err(RpcError::protocol_not_supported(format!(
                "Protocol mismatch: the request path resolved to {} but the Arrow IPC custom_metadata \
                 'vgi_rpc.protocol' says {}. These must agree.",
                py_repr(req.protocol.name()),
                py_repr(declared)
            )));
        }
    }
    gate_version(req.protocol, &request)?;
    validate_params(req.method, &request.batch)?;
    Ok(request)
}

/// The context handlers see for this request.
pub(super) fn context(server: &Server, req: &OneRequest<'_>, metadata: vgi_rpc_wire::Metadata) -> CallContext {
    CallContext::new(
        Arc::from(req.request_id),
        server.server_id().clone(),
        req.protocol.shared_name().clone(),
        req.method.shared_name().clone(),
        req.conn.auth.clone(),
        metadata,
    )
    .with_externalization(server.externalization().cloned())
    .with_transport(req.conn.kind, req.conn.remote_addr.as_deref())
    .with_session(req.session.clone())
}

/// Serve a unary call.
pub(super) fn serve(server: &Server, reply: &Reply<'_>, req: &OneRequest<'_>) -> Answer {
    let request = match admit(server, req) {
        Ok(r) => r,
        Err(err) => return error_answer(reply, super::admit_status(&err), &err, req),
    };
    let crate::method::Handler::Unary(handler) = req.method.handler() else {
        return error_answer(reply, Status::BadRequest, &RpcError::type_error("not a unary method"), req);
    };
    let info =
        call_info(server, req, request.batch.schema_ref(), request.batch.num_rows(), None, true, &request.metadata);
    let observed = Observed::start(server, &info, req);
    let span = observed.span();
    let _entered = span.enter();
    let mut stats = CallStats::default();
    stats.record_input(&request.batch);
    let ctx = context(server, req, request.metadata.clone());
    let result = handler(&Params::new(&request.batch), &ctx);
    let mut body = Vec::with_capacity(1024);
    let mut ext = Externalizer::for_call(server, req.method.name(), req.response_limit, true);
    let done = serve_unary(&mut body, reply, req.protocol, req.method, result, &ctx, &mut stats, ext.as_mut());
    let (error, status) = match done {
        Ok(done) => {
            let status = if done.error.is_some() { Status::MethodError } else { Status::Ok };
            (done.error, status)
        }
        // Writing into a Vec only fails on encoding errors.
        Err(e) => {
            let err = RpcError::new("ArrowInvalid", e.to_string());
            let answer = error_answer(reply, Status::MethodError, &err, req);
            observed.finish(Some(&err), stats, false);
            return answer;
        }
    };
    observed.finish(error.as_ref(), stats, false);
    Answer { status, body }
}
