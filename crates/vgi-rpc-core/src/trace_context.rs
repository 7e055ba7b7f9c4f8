//! W3C trace-context seam (`traceparent` / `tracestate`), free of any
//! tracing library: the server side hands the strings a caller sent to
//! dispatch hooks through [`crate::CallInfo`], and clients ask a process-wide
//! [`TraceContextSource`] (installed by an observability crate such as
//! `vgi-rpc-otel`) for the context to inject into outgoing requests.
//!
//! Nothing here parses or validates the strings; that is the job of whoever
//! consumes them.

use std::sync::{Arc, RwLock};

use vgi_rpc_wire::{keys, Metadata};

/// The two W3C trace-context values as they travel (HTTP headers or request
/// batch custom metadata).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceHeaders {
    /// The `traceparent` value.
    pub traceparent: String,
    /// The `tracestate` value, when there is one.
    pub tracestate: Option<String>,
}

impl TraceHeaders {
    /// The trace context carried by request metadata, if it has a `traceparent`.
    pub fn from_metadata(md: &Metadata) -> Option<Self> {
        let traceparent = md.get(keys::TRACEPARENT)?.to_owned();
        Some(Self { traceparent, tracestate: md.get(keys::TRACESTATE).map(str::to_owned) })
    }

    /// Write these values into request metadata under the W3C keys.
    pub fn insert_into(&self, md: &mut Metadata) {
        md.insert(keys::TRACEPARENT, self.traceparent.as_str());
        if let Some(state) = &self.tracestate {
            md.insert(keys::TRACESTATE, state.as_str());
        }
    }
}

/// The `(traceparent, tracestate)` a call carries: the request metadata's
/// pair when it has a `traceparent` (as the reference prefers), otherwise
/// the transport's.
pub fn pick<'a>(md: &'a Metadata, transport: Option<&'a TraceHeaders>) -> (Option<&'a str>, Option<&'a str>) {
    match md.get(keys::TRACEPARENT) {
        Some(parent) => (Some(parent), md.get(keys::TRACESTATE)),
        None => match transport {
            Some(t) => (Some(t.traceparent.as_str()), t.tracestate.as_deref()),
            None => (None, None),
        },
    }
}

/// Supplies the trace context active on the calling thread, for clients to
/// propagate. Implementations must be cheap and must not panic.
pub trait TraceContextSource: Send + Sync {
    /// The active context, or `None` when no valid span is current.
    fn current(&self) -> Option<TraceHeaders>;
}

static SOURCE: RwLock<Option<Arc<dyn TraceContextSource>>> = RwLock::new(None);

/// Install the process-wide source clients consult (replacing any earlier one).
pub fn set_source(source: Arc<dyn TraceContextSource>) {
    if let Ok(mut slot) = SOURCE.write() {
        *slot = Some(source);
    }
}

/// Remove the process-wide source; clients stop injecting.
pub fn clear_source() {
    if let Ok(mut slot) = SOURCE.write() {
        *slot = None;
    }
}

/// The trace context to inject into an outgoing request, if a source is
/// installed and reports an active span.
pub fn current() -> Option<TraceHeaders> {
    let source = SOURCE.read().ok()?.clone()?;
    source.current()
}

/// Add the active trace context (if any) to outgoing request metadata,
/// unless the caller already put a `traceparent` there.
pub fn inject(md: &mut Metadata) {
    if md.get(keys::TRACEPARENT).is_some() {
        return;
    }
    if let Some(headers) = current() {
        headers.insert_into(md);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trip() {
        let headers = TraceHeaders { traceparent: "00-a-b-01".into(), tracestate: Some("k=v".into()) };
        let mut md = Metadata::new();
        headers.insert_into(&mut md);
        assert_eq!(TraceHeaders::from_metadata(&md), Some(headers));
        assert_eq!(TraceHeaders::from_metadata(&Metadata::new()), None);
    }

    #[test]
    fn metadata_wins_over_transport() {
        let http = TraceHeaders { traceparent: "http".into(), tracestate: Some("h=1".into()) };
        let mut md = Metadata::new();
        assert_eq!(pick(&md, Some(&http)), (Some("http"), Some("h=1")));
        md.insert(keys::TRACEPARENT, "batch");
        assert_eq!(pick(&md, Some(&http)), (Some("batch"), None));
        assert_eq!(pick(&Metadata::new(), None), (None, None));
    }
}
