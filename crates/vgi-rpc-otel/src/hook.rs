//! The dispatch hook: a server span per call (child of the caller's
//! trace context when one arrived, otherwise of the context current on the
//! serving thread), made current while the handler runs so calls it makes
//! propagate; and the call metrics at its end.
//!
//! Core calls `on_start` and `on_end` of one call on the same thread, in
//! nesting order, so the open spans live on a thread-local stack.

use std::cell::RefCell;

use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::metrics::{Meter, MeterProvider};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, ContextGuard, InstrumentationScope, KeyValue};
use vgi_rpc_core::{CallInfo, CallOutcome, DispatchHook, ErrorCode, RpcError};

use crate::attributes as attr;
use crate::instruments::Instruments;
use crate::propagation::parse_trace_context;
use crate::OtelConfig;

/// A span opened by `on_start`, waiting for its `on_end`.
struct Open {
    hook: usize,
    request_id: String,
    stream_id: Option<String>,
    cx: Context,
    _guard: ContextGuard,
}

thread_local! {
    static OPEN: RefCell<Vec<Open>> = const { RefCell::new(Vec::new()) };
}

/// Codes OpenTelemetry's gRPC server conventions count as server errors;
/// every other code leaves the span status unset.
fn is_server_error(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::Unknown
            | ErrorCode::DeadlineExceeded
            | ErrorCode::Unimplemented
            | ErrorCode::Internal
            | ErrorCode::Unavailable
            | ErrorCode::DataLoss
    )
}

fn method_type(info: &CallInfo<'_>) -> &'static str {
    info.kind.map(|k| k.method_type()).unwrap_or("unary")
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(crate::SCOPE_NAME).with_version(env!("CARGO_PKG_VERSION")).build()
}

/// OpenTelemetry spans and metrics for every dispatched call; install with
/// `ServerBuilder::hook(Arc::new(OtelHook::new(config)))`.
pub struct OtelHook {
    config: OtelConfig,
    tracer: BoxedTracer,
    instruments: Option<Instruments>,
}

impl std::fmt::Debug for OtelHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtelHook").field("config", &self.config).finish_non_exhaustive()
    }
}

impl OtelHook {
    /// A hook recording as `config` says.
    pub fn new(config: OtelConfig) -> Self {
        let tracer = match &config.tracer_provider {
            Some(provider) => BoxedTracer::new(Box::new(provider.tracer_with_scope(scope()))),
            None => global::tracer_provider().tracer_with_scope(scope()),
        };
        let meter: Meter = match &config.meter_provider {
            Some(provider) => provider.meter_with_scope(scope()),
            None => global::meter_provider().meter_with_scope(scope()),
        };
        let instruments = config.enable_metrics.then(|| Instruments::new(&meter));
        Self { config, tracer, instruments }
    }

    fn id(&self) -> usize {
        self as *const Self as usize
    }

    fn span_attributes(&self, info: &CallInfo<'_>) -> Vec<KeyValue> {
        let mut attrs = vec![
            KeyValue::new(attr::RPC_SYSTEM, attr::RPC_SYSTEM_VALUE),
            KeyValue::new(attr::RPC_SERVICE, info.protocol.to_owned()),
            KeyValue::new(attr::RPC_METHOD, info.method.to_owned()),
            KeyValue::new(attr::METHOD_TYPE, method_type(info)),
            KeyValue::new(attr::SERVER_ID, info.server_id.to_owned()),
        ];
        let auth = info.auth;
        if !auth.principal.is_empty() {
            attrs.push(KeyValue::new(attr::AUTH_PRINCIPAL, auth.principal.clone()));
        }
        if !auth.domain.is_empty() {
            attrs.push(KeyValue::new(attr::AUTH_DOMAIN, auth.domain.clone()));
        }
        attrs.push(KeyValue::new(attr::AUTH_AUTHENTICATED, if auth.authenticated { "true" } else { "false" }));
        for (claim, name) in &self.config.claim_attributes {
            if let Some(value) = auth.claims.get(claim) {
                attrs.push(KeyValue::new(name.clone(), value.clone()));
            }
        }
        if let Some(addr) = info.remote_addr.filter(|a| !a.is_empty()) {
            attrs.push(KeyValue::new(attr::CLIENT_ADDRESS, addr.to_owned()));
        }
        for (key, value) in &self.config.custom_attributes {
            attrs.push(KeyValue::new(key.clone(), value.clone()));
        }
        attrs
    }

    fn finish_span(&self, cx: &Context, outcome: &CallOutcome<'_>) {
        let span = cx.span();
        match outcome.error {
            Some(error) => self.mark_failed(cx, error),
            None => span.set_status(Status::Ok),
        }
        let s = &outcome.stats;
        span.set_attributes([
            KeyValue::new(attr::INPUT_BATCHES, clamp(s.input_batches)),
            KeyValue::new(attr::OUTPUT_BATCHES, clamp(s.output_batches)),
            KeyValue::new(attr::INPUT_ROWS, clamp(s.input_rows)),
            KeyValue::new(attr::OUTPUT_ROWS, clamp(s.output_rows)),
            KeyValue::new(attr::INPUT_BYTES, clamp(s.input_bytes)),
            KeyValue::new(attr::OUTPUT_BYTES, clamp(s.output_bytes)),
        ]);
        span.end();
    }

    fn mark_failed(&self, cx: &Context, error: &RpcError) {
        let span = cx.span();
        if is_server_error(error.code) {
            span.set_status(Status::error(error.message.clone()));
        }
        span.set_attribute(KeyValue::new(attr::ERROR_TYPE, error.error_type.clone()));
        span.set_attribute(KeyValue::new(attr::ERROR_CODE, error.code.as_str()));
        if self.config.record_exceptions {
            span.add_event(
                "exception",
                vec![
                    KeyValue::new("exception.type", error.error_type.clone()),
                    KeyValue::new("exception.message", error.message.clone()),
                ],
            );
        }
    }

    fn record_metrics(&self, info: &CallInfo<'_>, outcome: &CallOutcome<'_>) {
        let Some(m) = &self.instruments else { return };
        let mut attrs = vec![
            KeyValue::new(attr::RPC_SYSTEM, attr::RPC_SYSTEM_VALUE),
            KeyValue::new(attr::RPC_SERVICE, info.protocol.to_owned()),
            KeyValue::new(attr::RPC_METHOD, info.method.to_owned()),
            KeyValue::new(attr::METHOD_TYPE, method_type(info)),
            KeyValue::new(attr::STATUS, if outcome.error.is_some() { "error" } else { "ok" }),
        ];
        if !info.auth.domain.is_empty() {
            attrs.push(KeyValue::new(attr::AUTH_DOMAIN, info.auth.domain.clone()));
        }
        m.requests.add(1, &attrs);
        m.duration.record(outcome.duration.as_secs_f64(), &attrs);
        let s = &outcome.stats;
        m.input_rows.add(s.input_rows, &attrs);
        m.output_rows.add(s.output_rows, &attrs);
        m.input_bytes.add(s.input_bytes, &attrs);
        m.output_bytes.add(s.output_bytes, &attrs);
        if let Some(error) = outcome.error {
            attrs.push(KeyValue::new(attr::ERROR_CODE, error.code.as_str()));
            m.errors.add(1, &attrs);
        }
    }
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl DispatchHook for OtelHook {
    fn on_start(&self, info: &CallInfo<'_>) {
        if !self.config.enable_tracing {
            return;
        }
        let parent =
            info.traceparent.and_then(|tp| parse_trace_context(tp, info.tracestate)).unwrap_or_else(Context::current);
        let span = self
            .tracer
            .span_builder(format!("vgi_rpc/{}", info.method))
            .with_kind(SpanKind::Server)
            .with_attributes(self.span_attributes(info))
            .start_with_context(&self.tracer, &parent);
        let cx = parent.with_span(span);
        let guard = cx.clone().attach();
        let open = Open {
            hook: self.id(),
            request_id: info.request_id.to_owned(),
            stream_id: info.stream_id.map(str::to_owned),
            cx,
            _guard: guard,
        };
        OPEN.with(|stack| stack.borrow_mut().push(open));
    }

    fn on_end(&self, info: &CallInfo<'_>, outcome: &CallOutcome<'_>) {
        if self.config.enable_tracing {
            let id = self.id();
            let open = OPEN.with(|stack| {
                let mut stack = stack.borrow_mut();
                let at = stack.iter().rposition(|o| {
                    o.hook == id && o.request_id == info.request_id && o.stream_id.as_deref() == info.stream_id
                })?;
                Some(stack.remove(at))
            });
            if let Some(open) = open {
                self.finish_span(&open.cx, outcome);
                // Dropping `open` detaches the call's context from this thread.
            }
        }
        self.record_metrics(info, outcome);
    }

    fn on_auth_failure(&self, _remote_addr: Option<&str>, reason: &str) {
        let Some(m) = &self.instruments else { return };
        let mut attrs = vec![
            KeyValue::new(attr::RPC_SYSTEM, attr::RPC_SYSTEM_VALUE),
            KeyValue::new(attr::AUTH_ERROR_TYPE, reason.to_owned()),
        ];
        if let Some(service) = &self.config.auth_failure_service {
            attrs.push(KeyValue::new(attr::RPC_SERVICE, service.clone()));
        }
        for (key, value) in &self.config.custom_attributes {
            attrs.push(KeyValue::new(key.clone(), value.clone()));
        }
        m.auth_failures.add(1, &attrs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_server_fault_codes_mark_the_span_as_error() {
        let errors: Vec<&str> =
            ErrorCode::ALL.iter().copied().filter(|c| is_server_error(*c)).map(|c| c.as_str()).collect();
        assert_eq!(errors, ["UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"]);
    }

    #[test]
    fn unmatched_end_and_disabled_tracing_do_not_panic() {
        let hook = OtelHook::new(OtelConfig { enable_tracing: false, ..OtelConfig::default() });
        let auth = vgi_rpc_core::AuthContext::anonymous();
        let info = CallInfo {
            protocol: "P",
            protocol_hash: "h",
            method: "m",
            kind: None,
            request_id: "r",
            server_id: "s",
            auth: &auth,
            remote_addr: None,
            request_schema: None,
            request_rows: 0,
            stream_id: None,
            is_init: true,
            traceparent: Some("junk"),
            tracestate: None,
        };
        let outcome = CallOutcome {
            error: None,
            duration: std::time::Duration::ZERO,
            stats: Default::default(),
            cancelled: false,
            finished_at: std::time::SystemTime::UNIX_EPOCH,
            session: None,
        };
        hook.on_end(&info, &outcome);
        let tracing = OtelHook::new(OtelConfig::default());
        tracing.on_end(&info, &outcome);
        tracing.on_start(&info);
        tracing.on_end(&info, &outcome);
        assert!(OPEN.with(|s| s.borrow().is_empty()), "the span was closed");
        tracing.on_auth_failure(Some("127.0.0.1:1"), "invalid_credential");
    }
}
