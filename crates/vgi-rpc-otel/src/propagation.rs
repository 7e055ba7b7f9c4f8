//! W3C trace-context in and out: parsing what a caller sent into a parent
//! [`Context`], and the [`TraceContextSource`] that lets the project's
//! clients inject the active span's context into outgoing requests.

use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use vgi_rpc_core::trace_context::{TraceContextSource, TraceHeaders};

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// A carrier over the two values a call brought.
struct Received<'a> {
    traceparent: &'a str,
    tracestate: Option<&'a str>,
}

impl Extractor for Received<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => Some(self.traceparent),
            TRACESTATE => self.tracestate,
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT, TRACESTATE]
    }
}

/// The remote parent named by a W3C `traceparent` (and `tracestate`), or
/// `None` when the header is malformed, of an unsupported version, or names
/// the all-zero trace or span. Never panics on any input.
pub fn parse_trace_context(traceparent: &str, tracestate: Option<&str>) -> Option<Context> {
    // The propagator rejects malformed values; bound the work on absurd ones.
    if traceparent.len() > 512 || tracestate.is_some_and(|s| s.len() > 8192) {
        return None;
    }
    let traceparent = traceparent.trim();
    if !well_formed(traceparent) {
        return None;
    }
    let carrier = Received { traceparent, tracestate };
    let cx = TraceContextPropagator::new().extract_with_context(&Context::new(), &carrier);
    cx.span().span_context().is_valid().then_some(cx)
}

/// The W3C shape: `version-traceid-parentid-flags`, lowercase hex of 2, 32,
/// 16 and 2 digits; version `ff` is invalid and version `00` has exactly
/// four fields (later versions may append more).
fn well_formed(traceparent: &str) -> bool {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let mut parts = traceparent.split('-');
    let (Some(version), Some(trace), Some(parent), Some(flags)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let rest_ok = if version == "00" { parts.next().is_none() } else { true };
    hex(version, 2) && version != "ff" && hex(trace, 32) && hex(parent, 16) && hex(flags, 2) && rest_ok
}

/// The `traceparent` / `tracestate` for the span current in `cx`, if valid.
pub(crate) fn headers_for(cx: &Context) -> Option<TraceHeaders> {
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(cx, &mut carrier);
    let traceparent = carrier.remove(TRACEPARENT)?;
    let tracestate = carrier.remove(TRACESTATE).filter(|s| !s.is_empty());
    Some(TraceHeaders { traceparent, tracestate })
}

/// Reports the OpenTelemetry context current on the calling thread, so the
/// project's clients send it as `traceparent` / `tracestate` (HTTP headers
/// and request batch metadata).
#[derive(Debug, Clone, Copy, Default)]
pub struct OtelTraceSource;

impl TraceContextSource for OtelTraceSource {
    fn current(&self) -> Option<TraceHeaders> {
        headers_for(&Context::current())
    }
}

/// Make every vgi-rpc client in this process inject the active
/// OpenTelemetry context into its requests.
pub fn install_propagation() {
    vgi_rpc_core::trace_context::set_source(Arc::new(OtelTraceSource));
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn valid_traceparent_gives_remote_parent() {
        let cx = parse_trace_context(VALID, Some("congo=t61rcWkgMzE")).expect("valid");
        let span = cx.span();
        let sc = span.span_context();
        assert!(sc.is_remote());
        assert_eq!(sc.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(sc.span_id().to_string(), "00f067aa0ba902b7");
        assert!(sc.is_sampled());
        assert_eq!(sc.trace_state().get("congo"), Some("t61rcWkgMzE"));
    }

    #[test]
    fn malformed_traceparents_are_ignored() {
        let bad = [
            "",
            "garbage",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-zzf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00--00f067aa0ba902b7-01",
            "----",
            "\u{e9}\u{e9}-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ];
        for value in bad {
            assert!(parse_trace_context(value, None).is_none(), "accepted {value:?}");
        }
        let long = "0".repeat(100_000);
        assert!(parse_trace_context(&long, Some(&long)).is_none());
    }

    #[test]
    fn malformed_tracestate_keeps_the_parent() {
        let cx = parse_trace_context(VALID, Some("not a valid, ,=state==")).expect("parent kept");
        assert_eq!(cx.span().span_context().span_id().to_string(), "00f067aa0ba902b7");
    }

    #[test]
    fn headers_round_trip() {
        let cx = parse_trace_context(VALID, Some("k=v")).expect("valid");
        let headers = headers_for(&cx).expect("valid span");
        assert_eq!(headers.traceparent, VALID);
        assert_eq!(headers.tracestate.as_deref(), Some("k=v"));
        assert!(headers_for(&Context::new()).is_none());
    }
}
