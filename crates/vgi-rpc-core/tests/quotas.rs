//! Per-principal quotas over the lockstep byte-stream protocol: a
//! principal at its stream quota gets a RESOURCE_EXHAUSTED error batch and
//! its connection goes on, other principals keep opening streams, and the
//! slot comes back however the stream ends (finished, failed, cancelled,
//! the connection dropped, a handler panic).

mod common;

use std::io::{BufReader, BufWriter};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use common::*;
use vgi_rpc_core::quota::QUOTA_EXCEEDED_KIND;
use vgi_rpc_core::wire::EncodedSchema;
use vgi_rpc_core::{
    serve_connection, AuthContext, CallContext, CallError, Client, ConnectionInfo, ErrorCode, FakeClock, MethodDef,
    OutputCollector, ProducerState, Protocol, QuotaSettings, RpcError, Server, StreamOptions, StreamResult,
};

const BOOM: &str = "test.Boom.v1";

/// A producer whose first turn panics.
struct Boom;

impl ProducerState for Boom {
    fn produce(&mut self, _out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        panic!("handler bug");
    }
}

fn server(settings: QuotaSettings, clock: FakeClock) -> Server {
    let schema = Arc::new(EncodedSchema::new(Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]))));
    let boom = MethodDef::builder("boom").producer(move |_, _| Ok(StreamResult::producer(schema.clone(), Boom)));
    test_server_builder()
        .protocol(Protocol::new(BOOM).method(boom))
        .clock(Arc::new(clock))
        .quotas(settings)
        .expect("valid quotas")
        .build()
        .expect("server")
}

fn one_stream_each() -> QuotaSettings {
    QuotaSettings { max_open_streams_per_principal: Some(1), ..Default::default() }
}

/// A client whose connection the server serves as `principal`.
fn connect_as(server: &Server, principal: &str) -> (SocketClient, JoinHandle<()>) {
    let (a, b) = UnixStream::pair().expect("socket pair");
    let server = server.clone();
    let conn = ConnectionInfo { auth: Arc::new(AuthContext::authenticated("test", principal)), ..Default::default() };
    let handle = std::thread::spawn(move || {
        let mut r = BufReader::new(b.try_clone().expect("clone"));
        let mut w = BufWriter::new(b);
        let _ = serve_connection(&server, &mut r, &mut w, &conn);
    });
    let mut client = Client::new(BufReader::new(a.try_clone().expect("clone")), BufWriter::new(a));
    client.set_protocol_version(PROTO, VERSION);
    (client, handle)
}

fn count_params(n: i64) -> RecordBatch {
    RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![n])) as ArrayRef)]).expect("batch")
}

fn scale_params(fail_on: Option<i64>) -> RecordBatch {
    RecordBatch::try_from_iter_with_nullable([
        ("factor", Arc::new(Float64Array::from(vec![2.0])) as ArrayRef, false),
        ("fail_on", Arc::new(Int64Array::from(vec![fail_on])) as ArrayRef, true),
    ])
    .expect("batch")
}

fn values() -> RecordBatch {
    RecordBatch::try_new(value_schema(), vec![Arc::new(Float64Array::from(vec![1.0]))]).expect("batch")
}

fn with_header() -> StreamOptions {
    StreamOptions { has_header: true, ..Default::default() }
}

/// The refusal a principal at its quota gets.
fn assert_quota_refusal(err: &CallError) {
    let remote = err.remote().expect("an error batch");
    assert_eq!(remote.code(), ErrorCode::ResourceExhausted, "{remote:?}");
    assert_eq!(remote.error_kind, QUOTA_EXCEEDED_KIND);
    assert!(remote.is_retryable(), "RESOURCE_EXHAUSTED with RetryInfo is retryable");
    assert!(remote.retry_delay_seconds().is_some_and(|d| d > 0.0));
}

/// A unary round trip: the connection still works (and, lockstep, the
/// server is done with everything this connection sent before).
fn assert_usable(client: &mut SocketClient, tag: &str) {
    let resp = client.call(PROTO, "echo", &one_string("value", tag)).expect("the connection goes on");
    assert_eq!(result_string(&resp), tag);
}

#[test]
fn one_principal_at_its_stream_quota_while_another_still_opens_streams() {
    let server = server(one_stream_each(), FakeClock::default());
    let (mut alice1, _h1) = connect_as(&server, "alice");
    let (mut alice2, _h2) = connect_as(&server, "alice");
    let (mut bob, _h3) = connect_as(&server, "bob");

    let mut held = alice1.producer(PROTO, "count", &count_params(2), &with_header()).expect("alice's first stream");
    let err = alice2.producer(PROTO, "count", &count_params(2), &with_header()).err().expect("alice is at her quota");
    assert_quota_refusal(&err);
    let err = alice2.exchange(PROTO, "scale", &scale_params(None), &StreamOptions::default());
    let mut refused = err.expect("an exchange's init error arrives with its first output");
    assert_quota_refusal(&refused.exchange(&values()).expect_err("refused"));
    drop(refused);
    assert_usable(&mut alice2, "unary calls are not streams");

    // Bob is unaffected while alice is at her quota.
    let mut bobs = bob.producer(PROTO, "count", &count_params(2), &with_header()).expect("bob opens a stream");
    assert_eq!(bobs.collect_all().expect("bob's batches").len(), 2);
    drop(bobs);

    // Finishing alice's stream frees her slot by the time she sees its end.
    assert_eq!(held.collect_all().expect("batches").len(), 2);
    drop(held);
    let mut again = alice2.producer(PROTO, "count", &count_params(1), &with_header()).expect("room again");
    assert_eq!(again.collect_all().expect("batches").len(), 1);
}

#[test]
fn a_failed_or_cancelled_stream_frees_its_slot() {
    let server = server(one_stream_each(), FakeClock::default());
    let (mut first, _h1) = connect_as(&server, "alice");
    let (mut second, _h2) = connect_as(&server, "alice");

    let mut failing = first.exchange(PROTO, "scale", &scale_params(Some(1)), &StreamOptions::default()).expect("open");
    let err = failing.exchange(&values()).expect_err("fails on its first exchange");
    assert_eq!(err.remote().expect("remote").error_type, "RuntimeError");
    drop(failing);
    let cancelled = second.producer(PROTO, "count", &count_params(5), &with_header()).expect("slot freed by the error");
    cancelled.cancel().expect("cancel");
    let mut next = first.producer(PROTO, "count", &count_params(1), &with_header()).expect("slot freed by cancel");
    assert_eq!(next.collect_all().expect("batches").len(), 1);
}

#[test]
fn a_dropped_connection_or_a_panicking_handler_frees_its_slot() {
    let server = server(one_stream_each(), FakeClock::default());
    let (mut gone, handle) = connect_as(&server, "alice");
    let session = gone.producer(PROTO, "count", &count_params(5), &with_header()).expect("open");
    // Vanish mid-stream: no close, no cancel; the socket just closes.
    std::mem::forget(session);
    drop(gone);
    handle.join().expect("the connection thread ends cleanly");

    let (mut crashing, handle) = connect_as(&server, "alice");
    let mut boom = crashing.producer(BOOM, "boom", &vgi_rpc_core::client::no_params(), &StreamOptions::default());
    let boom = boom.as_mut().expect("opened after the dropped connection released its slot");
    assert!(boom.next_batch().is_err(), "the connection dies with the handler");
    assert!(handle.join().is_err(), "the handler panicked on the connection's thread");

    let (mut alice, _h) = connect_as(&server, "alice");
    let mut next = alice.producer(PROTO, "count", &count_params(1), &with_header()).expect("released by unwinding");
    assert_eq!(next.collect_all().expect("batches").len(), 1);
}

#[test]
fn request_rate_refusals_are_error_batches_and_the_bucket_refills() {
    let clock = FakeClock::default();
    let settings =
        QuotaSettings { requests_per_second_per_principal: Some(1.0), request_burst: Some(2), ..Default::default() };
    let server = server(settings, clock.clone());
    let (mut alice, _h1) = connect_as(&server, "alice");
    let (mut bob, _h2) = connect_as(&server, "bob");
    assert_usable(&mut alice, "1");
    assert_usable(&mut alice, "2");
    let err = alice.call(PROTO, "echo", &one_string("value", "3")).expect_err("over the rate");
    assert_quota_refusal(&err);
    assert_eq!(err.remote().and_then(|r| r.retry_delay_seconds()), Some(1.0));
    // A refused stream init also leaves the connection in step.
    let err = alice.producer(PROTO, "count", &count_params(1), &with_header()).err().expect("over the rate");
    assert_quota_refusal(&err);
    assert_usable(&mut bob, "bob has his own bucket");
    clock.advance(Duration::from_secs(1));
    assert_usable(&mut alice, "refilled");
}
