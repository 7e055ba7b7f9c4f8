//! W3C trace-context injection for outgoing requests: when a trace-context
//! source is installed (`vgi_rpc_core::trace_context::set_source`) and a
//! span is active, every RPC POST carries `traceparent` / `tracestate`
//! headers (and the request batch carries the same keys in its metadata).

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// Add the active trace context to `headers`; values that are not valid
/// header text are left out.
pub(crate) fn inject_headers(headers: &mut HeaderMap) {
    let Some(ctx) = vgi_rpc_core::trace_context::current() else { return };
    let Ok(parent) = HeaderValue::from_str(&ctx.traceparent) else { return };
    headers.insert(TRACEPARENT, parent);
    if let Some(state) = ctx.tracestate.as_deref().and_then(|s| HeaderValue::from_str(s).ok()) {
        headers.insert(TRACESTATE, state);
    }
}
