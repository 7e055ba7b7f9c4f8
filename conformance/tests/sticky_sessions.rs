//! Sticky sessions end to end: the project's HTTP client against the
//! conformance worker (sticky by default): a session opened, resumed by unary
//! and stream calls, closed; typed `session_lost` and `server_draining`
//! errors; `DELETE /__session__`; the access log's session fields.

mod support;

use std::time::Duration;

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use support::*;
use vgi_rpc::http::client::{HttpClient, StreamOptions};

fn client(worker: &Worker) -> HttpClient {
    let mut c = HttpClient::new(&format!("http://127.0.0.1:{}", worker.address)).expect("client");
    c.set_protocol_version(PRIMARY, "2.0.0");
    c.set_timeout(Some(Duration::from_secs(20)));
    c
}

fn int_params(name: &str, v: i64) -> RecordBatch {
    let schema = Schema::new(vec![Field::new(name, DataType::Int64, false)]);
    RecordBatch::try_new(std::sync::Arc::new(schema), vec![std::sync::Arc::new(Int64Array::from(vec![v]))])
        .expect("params")
}

fn no_params() -> RecordBatch {
    vgi_rpc::http::client::no_params()
}

fn call_i64(c: &mut HttpClient, method: &str, params: &RecordBatch) -> Result<i64, vgi_rpc::rpc::CallError> {
    Ok(int_value(c.call(PRIMARY, method, params)?.value().expect("a value")))
}

#[test]
fn a_session_is_opened_resumed_by_unary_and_stream_calls_and_closed() {
    let dir = std::env::temp_dir().join(format!("vgi-sticky-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let log = dir.join("access.jsonl");
    let worker = Worker::start(&["--http", "0", "--access-log", log.to_str().expect("utf-8")], "PORT:", None);
    let mut c = client(&worker);

    // Outside a session scope an open is refused, naming the header.
    let refused = call_i64(&mut c, "open_counter", &int_params("initial", 1)).expect_err("no accept header");
    assert!(refused.to_string().contains("VGI-Session-Accept"), "{refused}");

    c.begin_session(None);
    assert_eq!(call_i64(&mut c, "open_counter", &int_params("initial", 10)).expect("open"), 10);
    let token = c.session_token().expect("a minted token").to_owned();
    assert_eq!(
        c.session_echo_headers(),
        vec![("x-vgi-conformance-echo".to_owned(), "conformance-fixed-marker".to_owned())]
    );
    assert_eq!(call_i64(&mut c, "increment_counter", &int_params("by", 5)).expect("resume"), 15);
    let mut producer = c
        .producer(PRIMARY, "stream_session_counter", &int_params("count", 3), &StreamOptions::default())
        .expect("init");
    let mut seen = Vec::new();
    while let Some(batch) = producer.next_batch().expect("turn") {
        seen.push(int_value(batch.0.column(0)));
    }
    drop(producer);
    assert_eq!(seen, [16, 17, 18], "every producer turn sees the session");
    assert_eq!(call_i64(&mut c, "close_counter", &no_params()).expect("close"), 18);
    assert!(c.session_token().is_none(), "VGI-Session-Close drops the token");

    // The closed session's token is lost, as a typed error.
    c.begin_session(Some(token));
    let lost = call_i64(&mut c, "increment_counter", &int_params("by", 1)).expect_err("closed");
    assert!(lost.is_session_lost(), "{lost}");
    c.end_session();
    let garbage = {
        c.begin_session(Some("not-a-token".to_owned()));
        call_i64(&mut c, "increment_counter", &int_params("by", 1)).expect_err("garbage")
    };
    assert!(garbage.is_session_lost(), "{garbage}");
    c.end_session();

    // The access log names each step with the session's id.
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .expect("access log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let actions: Vec<&str> = records.iter().filter_map(|r| r["session_action"].as_str()).collect();
    assert!(actions.starts_with(&["none", "open", "resume"]), "{actions:?}");
    assert_eq!(actions.last(), Some(&"close"));
    let ids: std::collections::HashSet<&str> = records.iter().filter_map(|r| r["session_id"].as_str()).collect();
    assert_eq!(ids.len(), 1, "one session id across open/resume/close: {ids:?}");
    assert!(ids.iter().all(|id| id.len() == 24));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn drain_refuses_new_sessions_and_delete_closes_a_live_one() {
    let worker = Worker::start(&["--http", "0"], "PORT:", None);
    let mut c = client(&worker);
    c.begin_session(None);
    call_i64(&mut c, "open_counter", &int_params("initial", 1)).expect("open");

    // DELETE closes it (204); the token is then lost.
    let token = c.session_token().expect("token").to_owned();
    assert!(c.close_session().expect("delete"), "a live session is closed");
    c.begin_session(Some(token.clone()));
    assert!(call_i64(&mut c, "increment_counter", &int_params("by", 1)).expect_err("gone").is_session_lost());
    assert!(!c.close_session().expect("idempotent"), "a second DELETE finds nothing");

    // While draining, opens are refused as server_draining; live sessions serve.
    c.begin_session(None);
    call_i64(&mut c, "open_counter", &int_params("initial", 5)).expect("open before drain");
    let (status, _, _) = c.post_raw("/__test_drain__", &[], Vec::new()).expect("drain");
    assert_eq!(status, 204);
    assert_eq!(call_i64(&mut c, "increment_counter", &int_params("by", 1)).expect("still served"), 6);
    let mut other = client(&worker);
    other.begin_session(None);
    let refused = call_i64(&mut other, "open_counter", &int_params("initial", 1)).expect_err("draining");
    assert!(refused.is_server_draining(), "{refused}");
}
