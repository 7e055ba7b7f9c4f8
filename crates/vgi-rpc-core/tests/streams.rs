//! Producer and exchange streams over the lockstep protocol, driven by the
//! core client: headers, logs, errors at init and mid-stream, cancellation,
//! and the connection staying usable after each.

mod common;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use common::*;
use vgi_rpc_core::{CallError, LogLevel, StreamOptions};

fn count_params(n: i64) -> RecordBatch {
    RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![n])) as ArrayRef)]).unwrap()
}

fn scale_params(factor: f64, fail_on: Option<i64>) -> RecordBatch {
    RecordBatch::try_from_iter_with_nullable([
        ("factor", Arc::new(Float64Array::from(vec![factor])) as ArrayRef, false),
        ("fail_on", Arc::new(Int64Array::from(vec![fail_on])) as ArrayRef, true),
    ])
    .unwrap()
}

fn values(v: &[f64]) -> RecordBatch {
    RecordBatch::try_new(value_schema(), vec![Arc::new(Float64Array::from(v.to_vec()))]).unwrap()
}

fn with_header() -> StreamOptions {
    StreamOptions { has_header: true, ..Default::default() }
}

#[test]
fn producer_streams_header_logs_and_batches_then_finishes() {
    let (mut client, _h) = connect(test_server());
    let mut s = client.producer(PROTO, "count", &count_params(3), &with_header()).unwrap();
    let header = s.header().expect("header").0.clone();
    assert_eq!(header.column(0).as_primitive::<Int64Type>().value(0), 3);
    let batches = s.collect_all().unwrap();
    let got: Vec<i64> = batches.iter().map(|(b, _)| b.column(0).as_primitive::<Int64Type>().value(0)).collect();
    assert_eq!(got, vec![0, 1, 2]);
    let logs: Vec<_> = s.logs().iter().map(|l| (l.level, l.message.clone())).collect();
    assert_eq!(logs[0], (LogLevel::Info, "batch 0".to_owned()));
    assert_eq!(logs.len(), 3);
    assert!(matches!(s.next_batch(), Err(CallError::Closed)));
    drop(s);
    let resp = client.call(PROTO, "echo", &one_string("value", "after")).unwrap();
    assert_eq!(result_string(&resp), "after");
}

#[test]
fn producer_init_error_replaces_the_header_and_connection_survives() {
    let (mut client, _h) = connect(test_server());
    let err = client.producer(PROTO, "count", &count_params(-1), &with_header()).err().expect("init fails");
    let remote = err.remote().expect("remote error");
    assert_eq!(remote.error_type, "ValueError");
    assert!(remote.message.contains("n must be >= 0"));
    let resp = client.call(PROTO, "echo", &one_string("value", "after")).unwrap();
    assert_eq!(result_string(&resp), "after");
}

#[test]
fn exchange_is_lockstep_and_errors_mid_stream_end_it_cleanly() {
    let (mut client, _h) = connect(test_server());
    let mut s = client.exchange(PROTO, "scale", &scale_params(2.0, Some(3)), &StreamOptions::default()).unwrap();
    let (out, _) = s.exchange(&values(&[1.0, 2.5])).unwrap();
    assert_eq!(out.column(0).as_primitive::<Float64Type>().values(), &[2.0, 5.0]);
    let (out, _) = s.exchange(&values(&[4.0])).unwrap();
    assert_eq!(out.column(0).as_primitive::<Float64Type>().values(), &[8.0]);
    let err = s.exchange(&values(&[1.0])).unwrap_err();
    assert_eq!(err.remote().unwrap().error_type, "RuntimeError");
    assert!(matches!(s.exchange(&values(&[1.0])), Err(CallError::Closed)));
    drop(s);
    let resp = client.call(PROTO, "echo", &one_string("value", "after")).unwrap();
    assert_eq!(result_string(&resp), "after");
}

#[test]
fn exchange_close_and_producer_cancel_keep_the_connection() {
    let (mut client, _h) = connect(test_server());
    let mut s = client.exchange(PROTO, "scale", &scale_params(3.0, None), &StreamOptions::default()).unwrap();
    s.exchange(&values(&[1.0])).unwrap();
    s.close(&value_schema()).unwrap();
    let mut p = client.producer(PROTO, "count", &count_params(100), &with_header()).unwrap();
    p.next_batch().unwrap().expect("first batch");
    p.cancel().unwrap();
    let resp = client.call(PROTO, "noop", &vgi_rpc_core::client::no_params()).unwrap();
    assert_eq!(resp.batch.num_rows(), 0);
    assert!(resp.value().is_none());
}

#[test]
fn exchange_input_with_the_wrong_columns_is_a_type_error() {
    let (mut client, _h) = connect(test_server());
    let mut s = client.exchange(PROTO, "scale", &scale_params(1.0, None), &StreamOptions::default()).unwrap();
    let wrong = RecordBatch::try_from_iter([("other", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef)]).unwrap();
    let err = s.exchange(&wrong).unwrap_err();
    let remote = err.remote().unwrap();
    assert_eq!(remote.error_type, "TypeError");
    assert!(remote.message.contains("Input schema mismatch"));
    drop(s);
    let resp = client.call(PROTO, "echo", &one_string("value", "ok")).unwrap();
    assert_eq!(result_string(&resp), "ok");
}

#[test]
fn unary_logs_and_errors_carry_ids() {
    let (mut client, _h) = connect(test_server());
    let resp = client.call(PROTO, "echo", &one_string("value", "v")).unwrap();
    assert_eq!(resp.logs.len(), 1);
    assert_eq!(resp.logs[0].level, LogLevel::Debug);
    let err = client.call(PROTO, "fail", &one_string("message", "boom")).unwrap_err();
    let remote = err.remote().unwrap();
    assert_eq!(remote.error_type, "ValueError");
    assert_eq!(remote.message, "ValueError: boom");
    assert_eq!(remote.error_code, "UNKNOWN");
    assert_eq!(remote.request_id.len(), 16);
    assert!(!remote.traceback.is_empty());
}
