//! OpenTelemetry end to end: the worker started with `--otel-endpoint`
//! exports to a real OTLP/HTTP receiver on loopback (axum, decoding the
//! protobuf `ExportTraceServiceRequest` / `ExportMetricsServiceRequest`).
//! Asserted: one server span per call with the reference's `rpc.*`
//! attributes and status, the error code on a failing call, the metrics and
//! their counts, the auth-failure counter, and trace context crossing into
//! the handler's span both from an active client span (HTTP `traceparent`
//! header and request metadata) and from request metadata alone.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, Metric};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use support::*;
use vgi_rpc::http::axum;
use vgi_rpc::http::client::HttpClient;
use vgi_rpc::otel::opentelemetry::trace::{Span as _, TraceContextExt, Tracer, TracerProvider};
use vgi_rpc::otel::opentelemetry::Context;
use vgi_rpc::rpc::StreamOptions;
use vgi_rpc::Metadata;

/// Everything the receiver was sent.
#[derive(Default)]
struct Received {
    traces: Mutex<Vec<ExportTraceServiceRequest>>,
    metrics: Mutex<Vec<ExportMetricsServiceRequest>>,
}

impl Received {
    fn spans(&self) -> Vec<Span> {
        let traces = self.traces.lock().expect("lock");
        traces
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| ss.spans.iter().cloned())
            .collect()
    }

    /// The metric `name` from the last export that has it (cumulative).
    fn metric(&self, name: &str) -> Option<Metric> {
        let metrics = self.metrics.lock().expect("lock");
        metrics
            .iter()
            .rev()
            .flat_map(|r| &r.resource_metrics)
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .find(|m| m.name == name)
            .cloned()
    }
}

/// An OTLP/HTTP receiver on loopback, serving until dropped.
struct Receiver {
    addr: SocketAddr,
    received: Arc<Received>,
    _runtime: tokio::runtime::Runtime,
}

impl Receiver {
    fn start() -> Self {
        use axum::body::Bytes;
        use axum::extract::State;
        use axum::http::StatusCode;
        use axum::routing::post;

        async fn traces(State(r): State<Arc<Received>>, body: Bytes) -> StatusCode {
            match ExportTraceServiceRequest::decode(body) {
                Ok(req) => {
                    r.traces.lock().expect("lock").push(req);
                    StatusCode::OK
                }
                Err(_) => StatusCode::BAD_REQUEST,
            }
        }
        async fn metrics(State(r): State<Arc<Received>>, body: Bytes) -> StatusCode {
            match ExportMetricsServiceRequest::decode(body) {
                Ok(req) => {
                    r.metrics.lock().expect("lock").push(req);
                    StatusCode::OK
                }
                Err(_) => StatusCode::BAD_REQUEST,
            }
        }

        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_io().build().expect("rt");
        let received = Arc::new(Received::default());
        let app = axum::Router::new()
            .route("/v1/traces", post(traces))
            .route("/v1/metrics", post(metrics))
            .with_state(received.clone());
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().expect("addr");
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, received, _runtime: runtime }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref()).and_then(|v| v.value.as_ref())
}

fn str_attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attr(attrs, key) {
        Some(any_value::Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

fn int_attr(attrs: &[KeyValue], key: &str) -> Option<i64> {
    match attr(attrs, key) {
        Some(any_value::Value::IntValue(n)) => Some(*n),
        _ => None,
    }
}

/// Sum of a counter's points whose attributes include every `(key, value)`.
fn counter_sum(metric: &Metric, filter: &[(&str, &str)]) -> i64 {
    let Some(metric::Data::Sum(sum)) = &metric.data else { panic!("{} is not a sum", metric.name) };
    sum.data_points
        .iter()
        .filter(|p| filter.iter().all(|(k, v)| str_attr(&p.attributes, k) == Some(v)))
        .map(|p| match p.value {
            Some(number_data_point::Value::AsInt(n)) => n,
            Some(number_data_point::Value::AsDouble(d)) => d as i64,
            None => 0,
        })
        .sum()
}

fn histogram_count(metric: &Metric, filter: &[(&str, &str)]) -> u64 {
    let Some(metric::Data::Histogram(h)) = &metric.data else { panic!("{} is not a histogram", metric.name) };
    h.data_points
        .iter()
        .filter(|p| filter.iter().all(|(k, v)| str_attr(&p.attributes, k) == Some(v)))
        .map(|p| p.count)
        .sum()
}

fn client(worker: &Worker) -> HttpClient {
    let mut c = HttpClient::new(&format!("http://127.0.0.1:{}", worker.address)).expect("client");
    c.set_protocol_version(PRIMARY, "2.0.0");
    c.set_timeout(Some(Duration::from_secs(20)));
    c
}

/// SIGTERM and wait: the worker flushes its exporters as it exits.
fn stop(mut worker: Worker) {
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(worker.pid() as i32, libc::SIGTERM);
    }
    assert!(eventually(Duration::from_secs(15), || !worker.alive()), "worker exits after SIGTERM");
}

fn message(text: &str) -> arrow_array::RecordBatch {
    use arrow_array::{ArrayRef, StringArray};
    arrow_array::RecordBatch::try_from_iter([("message", Arc::new(StringArray::from(vec![text])) as ArrayRef)])
        .expect("batch")
}

fn count_params(n: i64) -> arrow_array::RecordBatch {
    use arrow_array::{ArrayRef, Int64Array};
    arrow_array::RecordBatch::try_from_iter([("count", Arc::new(Int64Array::from(vec![n])) as ArrayRef)])
        .expect("batch")
}

const SPAN_KIND_SERVER: i32 = 2;
const STATUS_OK: i32 = 1;
const STATUS_ERROR: i32 = 2;
/// A caller's trace that arrives only in request batch metadata.
const METADATA_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const METADATA_PARENT: &str = "b7ad6b7169203331";

#[test]
fn worker_exports_spans_metrics_and_joins_the_callers_trace_over_otlp() {
    let receiver = Receiver::start();
    let endpoint = receiver.url();
    let log = std::env::temp_dir().join(format!("vgi-otel-access-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let worker = Worker::start(
        &[
            "--http",
            "--otel-endpoint",
            &endpoint,
            "--otel-metrics-interval",
            "600",
            "--access-log",
            log.to_str().expect("utf-8 path"),
        ],
        "PORT:",
        None,
    );
    let refusing = Worker::start(&["--http", "--http-auth", "--otel-endpoint", &endpoint], "PORT:", None);

    let mut c = client(&worker);
    let ok = c.call(PRIMARY, "echo_int", &echo_int_params(7)).expect("echo_int");
    assert_eq!(int_value(ok.batch.column(0)), 7);
    c.call(PRIMARY, "raise_value_error", &message("boom")).expect_err("raises");
    let produced = c
        .producer(PRIMARY, "produce_n", &count_params(3), &StreamOptions::default())
        .expect("init")
        .collect_all()
        .expect("stream");
    let produced_rows: usize = produced.iter().map(|(b, _)| b.num_rows()).sum();
    assert!(produced_rows >= 3, "produce_n gave {produced_rows} rows");

    // A client-side span, active while the call is made: the client sends its
    // context (header and request metadata) and the handler span joins it.
    vgi_rpc::otel::install_propagation();
    let provider = vgi_rpc::otel::opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let client_span = provider.tracer("otel-test").start("client-call");
    let client_ctx = client_span.span_context().clone();
    assert!(client_ctx.is_valid());
    {
        let _active = Context::current_with_span(client_span).attach();
        c.call(PRIMARY, "echo_int", &echo_int_params(42)).expect("traced echo_int");
    }
    // No active span, a traceparent in request metadata only.
    let mut md = Metadata::new();
    md.insert("traceparent", format!("00-{METADATA_TRACE}-{METADATA_PARENT}-01"));
    c.call_with(PRIMARY, "echo_int", &echo_int_params(5), &md).expect("echo_int with metadata trace");
    // Malformed trace context is ignored, never fatal.
    let mut bad = Metadata::new();
    bad.insert("traceparent", "00-not-a-trace-context");
    c.call_with(PRIMARY, "echo_int", &echo_int_params(6), &bad).expect("echo_int with bad traceparent");

    let mut refused = client(&refusing);
    refused.call(PRIMARY, "echo_int", &echo_int_params(1)).expect_err("401");

    stop(worker);
    stop(refusing);
    let r = &receiver.received;
    assert!(
        eventually(Duration::from_secs(10), || r.metric("rpc.server.auth_failure").is_some()
            && r.spans().iter().filter(|s| s.name == "vgi_rpc/echo_int").count() >= 4),
        "exports arrived (spans: {})",
        r.spans().len()
    );

    // --- spans ---
    let spans = r.spans();
    let echo: Vec<&Span> = spans.iter().filter(|s| s.name == "vgi_rpc/echo_int").collect();
    assert_eq!(echo.len(), 4, "one span per echo_int call");
    for s in &echo {
        assert_eq!(s.kind, SPAN_KIND_SERVER);
        assert_eq!(str_attr(&s.attributes, "rpc.system"), Some("vgi_rpc"));
        assert_eq!(str_attr(&s.attributes, "rpc.service"), Some(PRIMARY));
        assert_eq!(str_attr(&s.attributes, "rpc.method"), Some("echo_int"));
        assert_eq!(str_attr(&s.attributes, "rpc.vgi_rpc.method_type"), Some("unary"));
        assert!(str_attr(&s.attributes, "rpc.vgi_rpc.server_id").is_some_and(|id| !id.is_empty()));
        assert_eq!(str_attr(&s.attributes, "rpc.vgi_rpc.auth.authenticated"), Some("false"));
        assert!(str_attr(&s.attributes, "client.address").is_some_and(|a| a.starts_with("127.0.0.1")));
        assert_eq!(int_attr(&s.attributes, "rpc.vgi_rpc.input_rows"), Some(1));
        assert_eq!(int_attr(&s.attributes, "rpc.vgi_rpc.output_rows"), Some(1));
        assert_eq!(int_attr(&s.attributes, "rpc.vgi_rpc.output_batches"), Some(1));
        assert!(int_attr(&s.attributes, "rpc.vgi_rpc.input_bytes").is_some_and(|n| n > 0));
        assert_eq!(s.status.as_ref().map(|st| st.code), Some(STATUS_OK));
        assert!(attr(&s.attributes, "rpc.vgi_rpc.error_code").is_none());
    }

    let failed: Vec<&Span> = spans.iter().filter(|s| s.name == "vgi_rpc/raise_value_error").collect();
    assert_eq!(failed.len(), 1);
    let failed = failed[0];
    assert_eq!(str_attr(&failed.attributes, "rpc.vgi_rpc.error_code"), Some("UNKNOWN"));
    assert_eq!(str_attr(&failed.attributes, "rpc.vgi_rpc.error_type"), Some("ValueError"));
    let status = failed.status.as_ref().expect("status");
    assert_eq!(status.code, STATUS_ERROR, "UNKNOWN is a server error");
    assert!(status.message.contains("boom"), "{}", status.message);
    assert!(failed
        .events
        .iter()
        .any(|e| e.name == "exception" && str_attr(&e.attributes, "exception.type") == Some("ValueError")));

    let stream: Vec<&Span> = spans.iter().filter(|s| s.name == "vgi_rpc/produce_n").collect();
    assert!(!stream.is_empty(), "the producer's /init has a span");
    assert!(stream.iter().all(|s| str_attr(&s.attributes, "rpc.vgi_rpc.method_type") == Some("stream")));
    let stream_rows: i64 = stream.iter().filter_map(|s| int_attr(&s.attributes, "rpc.vgi_rpc.output_rows")).sum();
    assert_eq!(stream_rows, produced_rows as i64, "rows over the stream's spans");

    // The traced call: the handler span is a child of the client span.
    let traced: Vec<&&Span> =
        echo.iter().filter(|s| s.trace_id.as_slice() == client_ctx.trace_id().to_bytes().as_slice()).collect();
    assert_eq!(traced.len(), 1, "exactly the traced call joined the client's trace");
    assert_eq!(traced[0].parent_span_id.as_slice(), client_ctx.span_id().to_bytes().as_slice());
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let from_metadata: Vec<&&Span> = echo.iter().filter(|s| hex(&s.trace_id) == METADATA_TRACE).collect();
    assert_eq!(from_metadata.len(), 1, "the metadata-only trace context was honoured");
    assert_eq!(hex(&from_metadata[0].parent_span_id), METADATA_PARENT);
    // The other two echo calls (untraced, malformed) start root spans.
    assert_eq!(echo.iter().filter(|s| s.parent_span_id.is_empty()).count(), 2);

    // The access log names the span each call ran under (trace_id, span_id).
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .expect("access log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON record"))
        .collect();
    let logged: Vec<(String, String)> = records
        .iter()
        .filter(|r| r["method"] == "echo_int")
        .map(|r| {
            let id = |k: &str| r[k].as_str().unwrap_or_else(|| panic!("{k} in {r}")).to_owned();
            (id("trace_id"), id("span_id"))
        })
        .collect();
    let exported: std::collections::BTreeSet<(String, String)> =
        echo.iter().map(|s| (hex(&s.trace_id), hex(&s.span_id))).collect();
    assert_eq!(logged.len(), 4);
    assert_eq!(logged.into_iter().collect::<std::collections::BTreeSet<_>>(), exported, "log and spans join");
    let _ = std::fs::remove_file(&log);

    // --- metrics ---
    let requests = r.metric("rpc.server.requests").expect("rpc.server.requests");
    let echo_ok = [("rpc.method", "echo_int"), ("status", "ok"), ("rpc.system", "vgi_rpc"), ("rpc.service", PRIMARY)];
    assert_eq!(counter_sum(&requests, &echo_ok), 4);
    assert_eq!(counter_sum(&requests, &[("rpc.method", "raise_value_error"), ("status", "error")]), 1);
    assert!(counter_sum(&requests, &[("rpc.method", "produce_n"), ("rpc.vgi_rpc.method_type", "stream")]) >= 1);
    let duration = r.metric("rpc.server.duration").expect("rpc.server.duration");
    assert_eq!(duration.unit, "s");
    assert_eq!(histogram_count(&duration, &[("rpc.method", "echo_int")]), 4);
    assert_eq!(histogram_count(&duration, &[("rpc.method", "raise_value_error")]), 1);
    let errors = r.metric("rpc.server.errors").expect("rpc.server.errors");
    assert_eq!(counter_sum(&errors, &[("rpc.method", "raise_value_error"), ("rpc.vgi_rpc.error_code", "UNKNOWN")]), 1);
    assert_eq!(counter_sum(&errors, &[("rpc.method", "echo_int")]), 0);
    let in_rows = r.metric("rpc.server.input_rows").expect("rpc.server.input_rows");
    assert_eq!(counter_sum(&in_rows, &[("rpc.method", "echo_int")]), 4);
    let out_rows = r.metric("rpc.server.output_rows").expect("rpc.server.output_rows");
    assert_eq!(counter_sum(&out_rows, &[("rpc.method", "produce_n")]), produced_rows as i64);
    for name in ["rpc.server.input_bytes", "rpc.server.output_bytes"] {
        let m = r.metric(name).unwrap_or_else(|| panic!("{name}"));
        assert!(counter_sum(&m, &[("rpc.method", "echo_int")]) > 0, "{name}");
    }
    let auth = r.metric("rpc.server.auth_failure").expect("rpc.server.auth_failure");
    assert_eq!(counter_sum(&auth, &[("rpc.system", "vgi_rpc"), ("rpc.service", PRIMARY)]), 1);
    assert!(match &auth.data {
        Some(metric::Data::Sum(s)) => s.data_points.iter().all(|p| str_attr(&p.attributes, "error.type").is_some()),
        _ => false,
    });
    // The refused request never reached dispatch: no span from that worker.
    assert_eq!(spans.iter().filter(|s| s.name.starts_with("vgi_rpc/")).count(), echo.len() + 1 + stream.len());
}

/// Over a pipe the trace context travels in request batch metadata only:
/// the subprocess client injects the active span's context and the worker's
/// span joins it; export is flushed when the worker's stdin closes.
#[test]
fn pipe_worker_joins_the_callers_trace_from_request_metadata() {
    let receiver = Receiver::start();
    let endpoint = receiver.url();
    let mut worker = vgi_rpc::stdio::SubprocessClient::spawn(
        worker_path(),
        ["--otel-endpoint", endpoint.as_str(), "--otel-metrics-interval", "600"],
    )
    .expect("spawn worker");
    worker.set_protocol_version(PRIMARY, "2.0.0");

    vgi_rpc::otel::install_propagation();
    let provider = vgi_rpc::otel::opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let client_span = provider.tracer("otel-test").start("pipe-client-call");
    let client_ctx = client_span.span_context().clone();
    {
        let _active = Context::current_with_span(client_span).attach();
        let echoed = worker.call(PRIMARY, "echo_int", &echo_int_params(9)).expect("echo_int");
        assert_eq!(int_value(echoed.batch.column(0)), 9);
    }
    worker.call(PRIMARY, "echo_int", &echo_int_params(10)).expect("untraced echo_int");
    assert!(worker.close().expect("worker exits").success());

    let r = &receiver.received;
    assert!(
        eventually(Duration::from_secs(10), || r.spans().iter().filter(|s| s.name == "vgi_rpc/echo_int").count() >= 2
            && r.metric("rpc.server.requests").is_some()),
        "exports arrived"
    );
    let spans = r.spans();
    let echo: Vec<&Span> = spans.iter().filter(|s| s.name == "vgi_rpc/echo_int").collect();
    assert_eq!(echo.len(), 2);
    let traced: Vec<&&Span> =
        echo.iter().filter(|s| s.trace_id.as_slice() == client_ctx.trace_id().to_bytes().as_slice()).collect();
    assert_eq!(traced.len(), 1, "the traced pipe call joined the client's trace");
    assert_eq!(traced[0].parent_span_id.as_slice(), client_ctx.span_id().to_bytes().as_slice());
    assert!(str_attr(&traced[0].attributes, "client.address").is_none(), "a pipe has no peer address");
    let untraced: Vec<&&Span> = echo.iter().filter(|s| s.parent_span_id.is_empty()).collect();
    assert_eq!(untraced.len(), 1, "no context leaks into the next call");
    let requests = r.metric("rpc.server.requests").expect("rpc.server.requests");
    assert_eq!(counter_sum(&requests, &[("rpc.method", "echo_int"), ("status", "ok")]), 2);
}
