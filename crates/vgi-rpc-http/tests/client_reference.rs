//! The HTTP client against the reference Python worker
//! (`vgi-rpc-conformance --http 0`): unary calls, remote errors, producers
//! over several continuation requests, headers, exchanges, cancellation,
//! request compression and the HTTP status mapping.
//!
//! Skipped (with a notice) when `../shared/reference/run` is absent.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use vgi_rpc_core::wire::{keys, EncodedSchema, Metadata, RequestHeader, StreamWriter};
use vgi_rpc_http::client::{no_params, CallError, HttpClient, StreamOptions};

const PROTOCOL: &str = "ConformanceService";
const PROTOCOL_VERSION: &str = "2.0.0";

/// The reference worker; killed when dropped, also when a test panics.
struct Worker {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    port: u16,
}

impl Worker {
    /// Start the worker, or `None` when the reference toolchain is absent.
    fn start() -> Option<Worker> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let run = root.join("../shared/reference/run");
        if !run.exists() {
            return None;
        }
        let mut child = Command::new(&run)
            .args(["vgi-rpc-conformance", "--http", "0", "--describe"])
            .current_dir(&root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the reference worker");
        let stdout = child.stdout.take().expect("piped stdout");
        // The guard owns the child from here on, so a failed read still kills it.
        let mut worker = Worker { child, _stdout: BufReader::new(stdout), port: 0 };
        let mut line = String::new();
        loop {
            line.clear();
            let n = worker._stdout.read_line(&mut line).expect("read the worker's stdout");
            assert!(n > 0, "the reference worker exited before printing PORT:");
            if let Some(port) = line.trim().strip_prefix("PORT:") {
                worker.port = port.parse().expect("a numeric port");
                return Some(worker);
            }
        }
    }

    fn client(&self) -> HttpClient {
        // The reference conformance worker serves without a URL prefix.
        let mut client = HttpClient::new(&format!("http://127.0.0.1:{}", self.port)).expect("client").with_prefix("");
        client.set_protocol_version(PROTOCOL, PROTOCOL_VERSION);
        client
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn params(fields: Vec<(&str, ArrayRef)>) -> RecordBatch {
    if fields.is_empty() {
        return no_params();
    }
    let schema =
        Schema::new(fields.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), false)).collect::<Vec<_>>());
    RecordBatch::try_new(Arc::new(schema), fields.into_iter().map(|(_, a)| a).collect()).expect("params batch")
}

fn string(v: &str) -> ArrayRef {
    Arc::new(StringArray::from(vec![v]))
}

fn int(v: i64) -> ArrayRef {
    Arc::new(Int64Array::from(vec![v]))
}

fn float(v: f64) -> ArrayRef {
    Arc::new(Float64Array::from(vec![v]))
}

fn floats(batch: &RecordBatch, column: &str) -> Vec<f64> {
    batch.column_by_name(column).expect("column").as_primitive::<Float64Type>().values().to_vec()
}

fn ints(batch: &RecordBatch, column: &str) -> Vec<i64> {
    batch.column_by_name(column).expect("column").as_primitive::<Int64Type>().values().to_vec()
}

fn no_tokens(md: &Metadata) {
    assert!(!md.contains(keys::STREAM_STATE), "cursor token leaked to the caller: {md:?}");
    assert!(!md.contains(keys::CALL_STATE), "call token leaked to the caller: {md:?}");
}

fn unary_echo_and_floats(client: &mut HttpClient) {
    let r = client.call(PROTOCOL, "echo_string", &params(vec![("value", string("héllo"))])).expect("echo_string");
    assert_eq!(r.value().expect("result").as_string::<i32>().value(0), "héllo");
    let r = client.call(PROTOCOL, "add_floats", &params(vec![("a", float(1.5)), ("b", float(2.25))])).expect("add");
    assert_eq!(r.value().expect("result").as_primitive::<Float64Type>().value(0), 3.75);
    assert!(client.last_request_id().is_some_and(|id| !id.is_empty()), "the server echoes an X-Request-ID");
}

fn remote_value_error(client: &mut HttpClient) {
    let err = client
        .call(PROTOCOL, "raise_value_error", &params(vec![("message", string("bad input 42"))]))
        .expect_err("raise_value_error must fail");
    let remote = err.remote().unwrap_or_else(|| panic!("expected a remote error, got {err:?}"));
    assert_eq!(remote.error_type, "ValueError");
    assert!(remote.message.contains("bad input 42"), "message: {:?}", remote.message);
    // The client stays usable after an error.
    let r = client.call(PROTOCOL, "echo_string", &params(vec![("value", string("after"))])).expect("echo after");
    assert_eq!(r.value().expect("result").as_string::<i32>().value(0), "after");
}

fn producer_over_continuations(client: &mut HttpClient) {
    let before = client.requests_sent();
    let mut producer = client
        .producer(PROTOCOL, "produce_n", &params(vec![("count", int(5))]), &StreamOptions::default())
        .expect("produce_n init");
    assert!(producer.header().is_none());
    let batches = producer.collect_all().expect("produce_n batches");
    assert!(producer.is_finished());
    assert!(producer.next_batch().expect("after the end").is_none(), "a finished producer stays finished");
    drop(producer);
    let mut values = Vec::new();
    let mut indexes = Vec::new();
    for (batch, md) in &batches {
        no_tokens(md);
        assert_eq!(batch.num_rows(), 1);
        indexes.extend(ints(batch, "index"));
        values.extend(ints(batch, "value"));
    }
    assert_eq!(indexes, vec![0, 1, 2, 3, 4]);
    assert_eq!(values, vec![0, 10, 20, 30, 40]);
    // One /init (which carries the first batch), then one /exchange per
    // further batch, then one that finishes the producer.
    assert_eq!(client.requests_sent() - before, 6, "one request per producer turn");
}

fn producer_with_header(client: &mut HttpClient) {
    let opts = StreamOptions { has_header: true, ..Default::default() };
    let mut producer =
        client.producer(PROTOCOL, "produce_with_header", &params(vec![("count", int(3))]), &opts).expect("init");
    let (header, header_md) = producer.header().expect("a header").clone();
    no_tokens(&header_md);
    assert_eq!(header.num_rows(), 1);
    assert_eq!(ints(&header, "total_expected"), vec![3]);
    let description = header.column_by_name("description").expect("description").as_string::<i32>().value(0);
    assert_eq!(description, "producing 3 batches");
    let batches = producer.collect_all().expect("batches");
    let values: Vec<i64> = batches.iter().flat_map(|(b, _)| ints(b, "value")).collect();
    assert_eq!(values, vec![0, 10, 20]);
}

fn producer_error_mid_stream(client: &mut HttpClient) {
    let mut producer = client
        .producer(
            PROTOCOL,
            "produce_error_mid_stream",
            &params(vec![("emit_before_error", int(2))]),
            &StreamOptions::default(),
        )
        .expect("init");
    assert!(producer.next_batch().expect("first").is_some());
    assert!(producer.next_batch().expect("second").is_some());
    let err = producer.next_batch().expect_err("the third turn raises");
    let remote = err.remote().unwrap_or_else(|| panic!("expected a remote error, got {err:?}"));
    assert_eq!(remote.error_type, "RuntimeError");
    assert!(remote.message.contains("intentional error after 2 batches"), "{:?}", remote.message);
    assert!(matches!(producer.next_batch(), Err(CallError::Closed)), "an error ends the session");
}

fn scale_input(values: &[f64]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("value", DataType::Float64, true)]));
    RecordBatch::try_new(schema, vec![Arc::new(Float64Array::from(values.to_vec()))]).expect("input batch")
}

fn exchange_three_turns(client: &mut HttpClient) {
    let before = client.requests_sent();
    let mut exchange = client
        .exchange(PROTOCOL, "exchange_scale", &params(vec![("factor", float(2.0))]), &StreamOptions::default())
        .expect("exchange init");
    assert!(exchange.is_open());
    let turns: [&[f64]; 3] = [&[1.0, 2.0], &[3.0], &[0.5, -4.0, 10.0]];
    for input in turns {
        let (out, md) = exchange.exchange(&scale_input(input)).expect("exchange turn");
        no_tokens(&md);
        let expected: Vec<f64> = input.iter().map(|v| v * 2.0).collect();
        assert_eq!(floats(&out, "value"), expected);
    }
    exchange.close().expect("close");
    assert_eq!(client.requests_sent() - before, 4, "one /init and one /exchange per turn");
}

fn exchange_cancel(client: &mut HttpClient) {
    client.call(PROTOCOL, "reset_cancel_probe", &no_params()).expect("reset probe");
    let mut exchange = client
        .exchange(PROTOCOL, "cancellable_exchange", &no_params(), &StreamOptions::default())
        .expect("cancellable_exchange init");
    let (out, _) = exchange.exchange(&scale_input(&[7.0])).expect("echo turn");
    assert_eq!(floats(&out, "value"), vec![7.0]);
    exchange.cancel().expect("cancel");
    assert_eq!(cancel_counters(client), vec![0, 1, 1], "[produce, exchange, on_cancel]: one turn, then on_cancel");
}

const ARROW: &str = "application/vnd.apache.arrow.stream";

/// A request IPC stream built by hand, for raw posts.
fn request_body(method: &str, batch: &RecordBatch, extra: &Metadata) -> Vec<u8> {
    let md = RequestHeader::new(PROTOCOL, method).to_metadata(extra);
    let mut body = Vec::new();
    let mut writer = StreamWriter::begin(&mut body, &EncodedSchema::new(batch.schema())).expect("begin");
    writer.write(&mut body, batch, &md).expect("write");
    writer.finish(&mut body).expect("finish");
    body
}

fn producer_cancel(client: &mut HttpClient) {
    client.call(PROTOCOL, "reset_cancel_probe", &no_params()).expect("reset probe");
    let mut producer = client
        .producer(PROTOCOL, "cancellable_producer", &no_params(), &StreamOptions::default())
        .expect("cancellable_producer init");
    assert!(producer.next_batch().expect("buffered first batch").is_some());
    assert!(producer.next_batch().expect("second batch").is_some());
    producer.cancel().expect("cancel");
    assert_eq!(cancel_counters(client), vec![2, 0, 1], "[produce, exchange, on_cancel] after two turns and a cancel");
}

fn cancel_counters(client: &mut HttpClient) -> Vec<i64> {
    let counters = client.call(PROTOCOL, "cancel_probe_counters", &no_params()).expect("counters");
    let list = counters.value().expect("result").as_list::<i32>().value(0);
    list.as_primitive::<Int64Type>().values().to_vec()
}

fn inside_a_runtime(client: &mut HttpClient) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().expect("runtime");
    let echoed = runtime.block_on(async {
        let r = client.call(PROTOCOL, "echo_string", &params(vec![("value", string("nested"))])).expect("echo");
        r.value().expect("result").as_string::<i32>().value(0).to_owned()
    });
    assert_eq!(echoed, "nested");
}

fn zstd_requests(worker: &Worker) {
    let mut client = worker.client();
    client.set_request_compression(true);
    let long = "compress me ".repeat(500);
    let r = client.call(PROTOCOL, "echo_string", &params(vec![("value", string(&long))])).expect("zstd echo");
    assert_eq!(r.value().expect("result").as_string::<i32>().value(0), long);
    let mut producer = client
        .producer(PROTOCOL, "produce_n", &params(vec![("count", int(3))]), &StreamOptions::default())
        .expect("zstd producer");
    assert_eq!(producer.collect_all().expect("batches").len(), 3);
    drop(producer);

    // The same request by hand: the server accepts the zstd body and, asked
    // through X-VGI-Accept-Encoding, answers in zstd named by X-VGI-Content-Encoding.
    let md = Metadata::new().with(keys::PROTOCOL_VERSION, PROTOCOL_VERSION);
    let body = request_body("echo_string", &params(vec![("value", string(&long))]), &md);
    let packed = zstd::bulk::compress(&body, 3).expect("compress");
    assert!(packed.len() < body.len());
    let path = client.rpc_path(PROTOCOL, "echo_string", "");
    let headers = [("content-type", ARROW), ("content-encoding", "zstd"), ("x-vgi-accept-encoding", "zstd")];
    let (status, headers, response) = client.post_raw(&path, &headers, packed).expect("raw zstd post");
    assert_eq!(status, 200);
    assert_eq!(headers.get("x-vgi-content-encoding").and_then(|v| v.to_str().ok()), Some("zstd"));
    let decoded = zstd::stream::decode_all(&response[..]).expect("a zstd response body");
    let (_, batches) = vgi_rpc_core::wire::reader::read_stream_bytes(&decoded).expect("an IPC response");
    let result = batches.iter().find(|b| b.batch.num_rows() == 1).expect("result batch");
    assert_eq!(result.batch.column(0).as_string::<i32>().value(0), long);
}

fn gzip_responses(worker: &Worker) {
    let mut client = worker.client();
    client.set_accept_encoding(Some("gzip".into()));
    let long = "gzip me ".repeat(400);
    let r = client.call(PROTOCOL, "echo_string", &params(vec![("value", string(&long))])).expect("gzip echo");
    assert_eq!(r.value().expect("result").as_string::<i32>().value(0), long);
}

fn status_mapping(worker: &Worker, client: &mut HttpClient) {
    let nullable_value =
        RecordBatch::try_new(Arc::new(Schema::new(vec![Field::new("value", DataType::Utf8, true)])), vec![string("x")])
            .expect("batch");
    // 404 with an Arrow error body: a remote error.
    let err = client.call(PROTOCOL, "no_such_method", &no_params()).expect_err("unknown method");
    assert!(err.remote().is_some(), "an unknown method is an Arrow 404: {err:?}");
    // 415 is not Arrow: a protocol error naming the status.
    let path = client.rpc_path(PROTOCOL, "echo_string", "");
    let (status, _, _) = client.post_raw(&path, &[("content-type", "text/plain")], b"x".to_vec()).expect("post");
    assert_eq!(status, 415);
    // A wrong prefix reaches an HTML 404 page: a protocol error, not a wire error.
    let mut wrong = HttpClient::new(&format!("http://127.0.0.1:{}", worker.port)).expect("client").with_prefix("/vgi");
    let err = wrong.call(PROTOCOL, "echo_string", &params(vec![("value", string("x"))])).expect_err("wrong prefix");
    match err {
        CallError::Protocol(m) => assert!(m.starts_with("HTTP 404"), "{m}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
    // A missing protocol version is refused before dispatch: an Arrow 400.
    let mut unversioned =
        HttpClient::new(&format!("http://127.0.0.1:{}", worker.port)).expect("client").with_prefix("");
    let err = unversioned.call(PROTOCOL, "echo_string", &params(vec![("value", string("x"))])).expect_err("no version");
    let remote = err.remote().unwrap_or_else(|| panic!("a version refusal carries an Arrow error body: {err:?}"));
    assert_eq!(remote.error_type, "ProtocolVersionError");
    let body = request_body("echo_string", &params(vec![("value", string("x"))]), &Metadata::new());
    let (status, _, _) = unversioned.post_raw(&path, &[("content-type", ARROW)], body).expect("post");
    assert_eq!(status, 400);
    // Parameter validation (here a nullability mismatch) is an Arrow 400 too.
    let versioned = Metadata::new().with(keys::PROTOCOL_VERSION, PROTOCOL_VERSION);
    let (status, _, _) = client
        .post_raw(&path, &[("content-type", ARROW)], request_body("echo_string", &nullable_value, &versioned))
        .expect("post");
    assert_eq!(status, 400);
    let err = client.call(PROTOCOL, "echo_string", &nullable_value).expect_err("nullable parameter");
    let remote = err.remote().unwrap_or_else(|| panic!("expected a remote error, got {err:?}"));
    assert_eq!(remote.error_type, "TypeError");
    assert!(remote.message.contains("nullable"), "{:?}", remote.message);
}

#[test]
fn http_client_against_the_reference_worker() {
    let Some(worker) = Worker::start() else {
        eprintln!("SKIPPED: ../shared/reference/run is absent; the reference HTTP worker cannot be started");
        return;
    };
    let mut client = worker.client();
    unary_echo_and_floats(&mut client);
    remote_value_error(&mut client);
    producer_over_continuations(&mut client);
    producer_with_header(&mut client);
    producer_error_mid_stream(&mut client);
    exchange_three_turns(&mut client);
    exchange_cancel(&mut client);
    producer_cancel(&mut client);
    inside_a_runtime(&mut client);
    zstd_requests(&worker);
    gzip_responses(&worker);
    status_mapping(&worker, &mut client);
}
