//! The client's side of shared memory (§11) over a byte stream, with an
//! in-memory stand-in for segments: the offer goes through
//! `__transport_options__` and is used only when the server confirms; then
//! requests name the segment, large exchange inputs travel as pointers the
//! server resolves, and large outputs come back as pointers the client
//! resolves. Also: which errors leave a connection out of step.

mod common;

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Cursor};
use std::sync::{Arc, Mutex};

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::SchemaRef;
use common::*;
use vgi_rpc_core::wire::keys;
use vgi_rpc_core::{CallError, Client, RpcError, SharedMemory, SharedSegment, StreamOptions};

/// Batches of at least this many rows go "through the segment".
const LARGE: usize = 1000;

/// Segments by name: slots of stored batches, as a real segment's regions.
#[derive(Default, Clone)]
struct Store(Arc<Mutex<HashMap<String, HashMap<u64, RecordBatch>>>>);

struct FakeSegment {
    name: String,
    store: Store,
    next: u64,
}

impl SharedSegment for FakeSegment {
    fn name(&self) -> &str {
        &self.name
    }
    fn take(&mut self, _: &SchemaRef, offset: u64, _: u64) -> Result<RecordBatch, RpcError> {
        let mut all = self.store.0.lock().unwrap();
        all.get_mut(&self.name)
            .and_then(|slots| slots.remove(&offset))
            .ok_or_else(|| RpcError::runtime_error(format!("no batch at {offset}")))
    }
    fn put(&mut self, batch: &RecordBatch) -> Result<Option<(u64, u64)>, RpcError> {
        if batch.num_rows() < LARGE {
            return Ok(None);
        }
        self.next += 1;
        let offset = 65_536 + self.next;
        self.store.0.lock().unwrap().entry(self.name.clone()).or_default().insert(offset, batch.clone());
        Ok(Some((offset, batch.num_rows() as u64)))
    }
}

struct FakeProvider(Store);

impl SharedMemory for FakeProvider {
    fn attach(&self, name: &str, _: u64) -> Result<Box<dyn SharedSegment>, RpcError> {
        Ok(Box::new(FakeSegment { name: name.to_owned(), store: self.0.clone(), next: 1_000 }))
    }
}

fn values(n: usize) -> RecordBatch {
    let v: Vec<f64> = (0..n).map(|i| i as f64).collect();
    RecordBatch::try_new(value_schema(), vec![Arc::new(Float64Array::from(v)) as ArrayRef]).expect("batch")
}

fn factor(f: f64) -> RecordBatch {
    RecordBatch::try_from_iter_with_nullable([
        ("factor", Arc::new(Float64Array::from(vec![f])) as ArrayRef, false),
        ("fail_on", Arc::new(Int64Array::from(vec![None::<i64>])) as ArrayRef, true),
    ])
    .expect("params")
}

#[test]
fn a_server_without_shared_memory_declines_and_calls_stay_inline() {
    let (mut client, _server) = connect(test_server());
    let store = Store::default();
    let segment = FakeSegment { name: "client-seg".into(), store: store.clone(), next: 0 };
    assert!(!client.offer_shared_memory(Box::new(segment), 1 << 20).expect("handshake"));
    assert!(client.take_shared_memory().is_none(), "a declined segment is not kept");
    let mut session = client.exchange(PROTO, "scale", &factor(2.0), &StreamOptions::default()).expect("open");
    let (out, md) = session.exchange(&values(5_000)).expect("inline round trip");
    assert!(!md.contains(keys::SHM_SOURCE));
    assert_eq!(out.column(0).as_primitive::<Float64Type>().value(4_999), 9_998.0);
    session.close(&value_schema()).expect("close");
    assert!(client.is_in_step());
}

#[test]
fn an_accepted_segment_carries_large_inputs_and_outputs_both_ways() {
    let store = Store::default();
    let server = test_server_builder().shared_memory(Arc::new(FakeProvider(store.clone()))).build().expect("server");
    let (mut client, _server) = connect(server);
    let segment = FakeSegment { name: "client-seg".into(), store: store.clone(), next: 0 };
    assert!(client.offer_shared_memory(Box::new(segment), 1 << 20).expect("handshake"));

    let mut session = client.exchange(PROTO, "scale", &factor(3.0), &StreamOptions::default()).expect("open");
    let (out, md) = session.exchange(&values(5_000)).expect("round trip");
    assert_eq!(md.get(keys::SHM_SOURCE), Some("client-seg"), "the output was a pointer the client resolved");
    assert_eq!(out.num_rows(), 5_000);
    assert_eq!(out.column(0).as_primitive::<Float64Type>().value(4_999), 14_997.0);
    // Small batches stay inline both ways.
    let (small, md) = session.exchange(&values(3)).expect("small round trip");
    assert!(!md.contains(keys::SHM_SOURCE));
    assert_eq!(small.num_rows(), 3);
    session.close(&value_schema()).expect("close");
    // Every stored batch was taken by its reader: the input by the server,
    // the output by the client.
    assert!(store.0.lock().unwrap().values().all(HashMap::is_empty));
    assert!(client.take_shared_memory().is_some());
}

#[test]
fn only_byte_stream_failures_put_a_connection_out_of_step() {
    // A remote error leaves the connection in step.
    let (mut client, _server) = connect(test_server());
    let err = client.call(PROTO, "fail", &one_string("message", "no")).expect_err("fails");
    assert!(matches!(err, CallError::Remote(_)));
    assert!(client.is_in_step());
    assert_eq!(result_string(&client.call(PROTO, "echo", &one_string("value", "x")).expect("echo")), "x");

    // Garbage where a response should be does not.
    let mut garbled = Client::new(BufReader::new(Cursor::new(vec![7u8; 64])), BufWriter::new(Vec::new()));
    let err = garbled.call(PROTO, "echo", &one_string("value", "x")).expect_err("garbage");
    assert!(matches!(err, CallError::Wire(_)), "{err:?}");
    assert!(!garbled.is_in_step());
}
