//! The access log writes one JSON line per call with the always-present
//! keys, and no request parameter value ever appears in a record.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use common::*;
use serde_json::Value;
use vgi_rpc_core::{AccessLog, StreamOptions};

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const SECRET: &str = "hunter2-SECRET-VALUE";
const ALWAYS: [&str; 16] = [
    "timestamp",
    "level",
    "logger",
    "message",
    "server_id",
    "protocol",
    "protocol_hash",
    "method",
    "method_type",
    "principal",
    "auth_domain",
    "authenticated",
    "remote_addr",
    "duration_ms",
    "status",
    "error_type",
];

#[test]
fn records_carry_shape_not_values() {
    let sink = Shared::default();
    let log = Arc::new(AccessLog::new(Box::new(sink.clone()), "test"));
    let server = test_server_with_hook(log);
    let (mut client, handle) = connect(server);
    client.call(PROTO, "echo", &one_string("value", SECRET)).unwrap();
    client.call(PROTO, "fail", &one_string("message", "plain failure")).unwrap_err();
    let n = RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![2])) as ArrayRef)]).unwrap();
    let mut p = client.producer(PROTO, "count", &n, &StreamOptions { has_header: true, ..Default::default() }).unwrap();
    p.collect_all().unwrap();
    drop(p);
    drop(client);
    handle.join().unwrap();

    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(!text.contains(SECRET), "a parameter value leaked into the access log:\n{text}");
    let records: Vec<Value> =
        text.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    assert_eq!(records.len(), 3, "{text}");
    for r in &records {
        for key in ALWAYS {
            assert!(r.get(key).is_some(), "record lacks {key}: {r}");
        }
        assert_eq!(r["logger"], "vgi_rpc.access");
        assert_eq!(r["protocol_hash"].as_str().unwrap().len(), 64);
        for forbidden in ["request_data", "request_state", "response_state"] {
            assert!(r.get(forbidden).is_none());
        }
    }
    assert_eq!(records[0]["status"], "ok");
    assert_eq!(records[0]["request_fields"], serde_json::json!([{"name": "value", "type": "Utf8"}]));
    assert_eq!(records[0]["request_rows"], 1);
    assert_eq!(records[1]["status"], "error");
    assert_eq!(records[1]["error_type"], "ValueError");
    assert_eq!(records[1]["error_code"], "UNKNOWN");
    assert_eq!(records[2]["method_type"], "stream");
    assert_eq!(records[2]["stream_id"].as_str().unwrap().len(), 32);
    assert_eq!(records[2]["output_batches"], 3, "header + two data batches");
}
