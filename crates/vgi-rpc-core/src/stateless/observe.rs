//! Hooks and the tracing span around one stateless request, the same
//! observability the pipe loop gives a call.

use crate::hook::{CallInfo, CallOutcome, CallStats};
use crate::{RpcError, Server};

/// What hooks learn about this request: the resolved method, the caller,
/// the request batch's shape (never its values) and the stream it belongs to.
pub(super) fn call_info<'a>(
    server: &'a Server,
    req: &'a super::OneRequest<'a>,
    request_schema: &'a arrow_schema::SchemaRef,
    request_rows: usize,
    stream_id: Option<&'a str>,
    is_init: bool,
    metadata: &'a vgi_rpc_wire::Metadata,
) -> CallInfo<'a> {
    let (traceparent, tracestate) = crate::trace_context::pick(metadata, req.conn.trace.as_ref());
    CallInfo {
        protocol: req.protocol.name(),
        protocol_hash: req.protocol.hash(),
        method: req.method.name(),
        kind: Some(req.method.kind()),
        request_id: req.request_id,
        server_id: server.server_id(),
        auth: &req.conn.auth,
        remote_addr: req.conn.remote_addr.as_deref(),
        request_schema: Some(request_schema),
        request_rows,
        stream_id,
        is_init,
        traceparent,
        tracestate,
    }
}

/// A request being observed: hooks were told it started.
pub(super) struct Observed<'a> {
    server: &'a Server,
    info: &'a CallInfo<'a>,
    started: std::time::Duration,
    span: tracing::Span,
    session: Option<std::sync::Arc<crate::session::SessionBinding>>,
}

impl<'a> Observed<'a> {
    pub(super) fn start(server: &'a Server, info: &'a CallInfo<'a>, req: &super::OneRequest<'_>) -> Self {
        crate::transfer::begin();
        for hook in server.hooks() {
            hook.on_start(info);
        }
        let span = tracing::info_span!(
            "vgi_rpc.call",
            protocol = info.protocol,
            method = info.method,
            method_type = info.kind.map(|k| k.method_type()).unwrap_or(""),
            request_id = info.request_id,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        Self { server, info, started: server.clock().monotonic(), span, session: req.session.clone() }
    }

    /// The call's span, to enter while the handler runs.
    pub(super) fn span(&self) -> tracing::Span {
        self.span.clone()
    }

    pub(super) fn finish(self, error: Option<&RpcError>, stats: CallStats, cancelled: bool) {
        let duration = self.server.clock().monotonic().saturating_sub(self.started);
        self.span.record("status", if error.is_some() { "error" } else { "ok" });
        self.span.record("duration_ms", duration.as_secs_f64() * 1000.0);
        let session = self.session.as_ref().map(|s| s.record());
        let outcome =
            CallOutcome { error, duration, stats, cancelled, finished_at: self.server.clock().now(), session };
        for hook in self.server.hooks() {
            hook.on_end(self.info, &outcome);
        }
    }
}
