//! The worker's quota flags end to end over HTTP with the project's own
//! client: the excess is a retryable RESOURCE_EXHAUSTED error (a `429`
//! underneath) and the worker keeps serving.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use vgi_rpc::http::client::HttpClient;
use vgi_rpc::rpc::{CallError, ErrorCode, StreamOptions};

const WORKER: &str = env!("CARGO_BIN_EXE_vgi-rpc-conformance");
const PRIMARY: &str = "ConformanceService";

/// An HTTP worker, killed on drop.
struct Worker {
    child: Child,
    port: String,
}

impl Worker {
    fn start(flags: &[&str]) -> Self {
        let mut child = Command::new(WORKER)
            .args(["--http", "0"])
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn worker");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("discovery line");
        let port = line.trim().strip_prefix("PORT:").unwrap_or_else(|| panic!("discovery line {line:?}")).to_owned();
        Self { child, port }
    }

    fn client(&self) -> HttpClient {
        let mut c = HttpClient::new(&format!("http://127.0.0.1:{}", self.port)).expect("client");
        c.set_protocol_version(PRIMARY, "2.0.0");
        c.set_timeout(Some(Duration::from_secs(20)));
        c
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn int_param(name: &str, v: i64) -> RecordBatch {
    RecordBatch::try_from_iter([(name, Arc::new(Int64Array::from(vec![v])) as ArrayRef)]).expect("batch")
}

fn assert_quota_refusal(err: &CallError) {
    let remote = err.remote().unwrap_or_else(|| panic!("a decoded error, not {err:?}"));
    assert_eq!(remote.code(), ErrorCode::ResourceExhausted, "{remote:?}");
    assert_eq!(remote.error_kind, "quota_exceeded");
    assert!(remote.is_retryable());
}

#[test]
fn the_request_rate_flag_refuses_the_excess_with_a_retry_hint() {
    // One request per 100 s: the second, made at once, is refused however slow the machine.
    let worker = Worker::start(&["--max-requests-per-second", "0.01", "--request-burst", "1"]);
    let mut client = worker.client();
    client.call(PRIMARY, "echo_int", &int_param("value", 1)).expect("the first request");
    let err = client.call(PRIMARY, "echo_int", &int_param("value", 2)).expect_err("over the rate");
    assert_quota_refusal(&err);
    let delay = err.remote().and_then(|r| r.retry_delay_seconds()).expect("RetryInfo");
    assert!(delay > 90.0 && delay <= 100.0, "{delay}");
}

#[test]
fn the_stream_quota_flag_holds_until_a_stream_finishes() {
    let worker = Worker::start(&["--max-streams-per-principal", "1"]);
    let (mut first, mut second) = (worker.client(), worker.client());
    let mut held =
        first.producer(PRIMARY, "produce_n", &int_param("count", 2), &StreamOptions::default()).expect("open");
    let refused = second.producer(PRIMARY, "produce_n", &int_param("count", 2), &StreamOptions::default());
    assert_quota_refusal(&refused.err().expect("one stream per caller"));
    second.call(PRIMARY, "echo_int", &int_param("value", 3)).expect("unary calls are not limited");
    assert_eq!(held.collect_all().expect("batches").len(), 2);
    drop(held);
    let mut next =
        second.producer(PRIMARY, "produce_n", &int_param("count", 1), &StreamOptions::default()).expect("room");
    assert_eq!(next.collect_all().expect("batches").len(), 1);
}

#[test]
fn unservable_quota_flags_stop_the_worker_at_startup() {
    let out = Command::new(WORKER)
        .args(["--http", "0", "--max-streams-per-principal", "0"])
        .stdin(Stdio::null())
        .output()
        .expect("run worker");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing was announced");
    assert!(String::from_utf8_lossy(&out.stderr).contains("quota flags"), "{}", String::from_utf8_lossy(&out.stderr));
}
