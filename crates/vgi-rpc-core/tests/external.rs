//! External storage over the lockstep protocol: with a one-byte threshold
//! every data batch leaves through (in-memory) storage as a pointer, and a
//! client with a resolver sees the same results and logs as inline; the
//! external cap applies only to stateless responses.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::SchemaRef;
use common::*;
use vgi_rpc_core::external::{ExternalStorage, PointerResolver, StorageError};
use vgi_rpc_core::wire::keys;
use vgi_rpc_core::{Externalization, StreamOptions, SystemClock};

/// Storage and resolver in one: a map from `mem://N` to the uploaded bytes.
#[derive(Default)]
struct Memory(Mutex<HashMap<String, Vec<u8>>>);

impl Memory {
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

impl ExternalStorage for Memory {
    fn upload(&self, payload: &[u8], _schema: &SchemaRef) -> Result<String, StorageError> {
        let mut map = self.0.lock().map_err(|_| StorageError("poisoned".into()))?;
        let url = format!("mem://{}", map.len());
        map.insert(url.clone(), payload.to_vec());
        Ok(url)
    }
}

impl PointerResolver for Memory {
    fn fetch(&self, location: &str) -> Result<Vec<u8>, StorageError> {
        let map = self.0.lock().map_err(|_| StorageError("poisoned".into()))?;
        map.get(location).cloned().ok_or_else(|| StorageError(format!("no object at {location}")))
    }
}

fn externalizing(memory: &Arc<Memory>) -> SocketClient {
    let server = test_server_builder().externalization(Externalization::new(memory.clone(), 1)).build().unwrap();
    let (mut client, _h) = connect(server);
    client.set_pointer_resolver(memory.clone(), Arc::new(SystemClock::new()));
    client
}

#[test]
fn unary_results_round_trip_through_storage() {
    let memory = Arc::new(Memory::default());
    let mut client = externalizing(&memory);
    let resp = client.call(PROTO, "echo", &one_string("value", "far away")).unwrap();
    assert_eq!(result_string(&resp), "far away");
    assert_eq!(memory.count(), 1, "the result went through storage");
    assert!(resp.metadata.get(keys::LOCATION_SOURCE).is_some_and(|s| s.starts_with("mem://")));
    assert!(resp.metadata.get(keys::LOCATION_FETCH_MS).is_some());
    assert!(!resp.metadata.contains(keys::LOCATION));
    assert_eq!(resp.logs.len(), 1, "logs stay inline for unary results");
    client.call(PROTO, "noop", &vgi_rpc_core::client::no_params()).expect("void results stay inline");
    assert_eq!(memory.count(), 1);
}

#[test]
fn producer_and_exchange_cycles_round_trip_through_storage() {
    let memory = Arc::new(Memory::default());
    let mut client = externalizing(&memory);
    let params = RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![3])) as ArrayRef)]).unwrap();
    let options = StreamOptions { has_header: true, ..Default::default() };
    let mut s = client.producer(PROTO, "count", &params, &options).unwrap();
    let batches = s.collect_all().unwrap();
    let got: Vec<i64> = batches.iter().map(|(b, _)| b.column(0).as_primitive::<Int64Type>().value(0)).collect();
    assert_eq!(got, vec![0, 1, 2]);
    let header = s.header().expect("header").0.clone();
    assert_eq!(header.column(0).as_primitive::<Int64Type>().value(0), 3, "the header resolved too");
    drop(s);
    assert_eq!(memory.count(), 4, "the header and three batches");

    let params = RecordBatch::try_from_iter_with_nullable([
        ("factor", Arc::new(Float64Array::from(vec![2.0])) as ArrayRef, false),
        ("fail_on", Arc::new(Int64Array::from(vec![None])) as ArrayRef, true),
    ])
    .unwrap();
    let mut s = client.exchange(PROTO, "scale", &params, &StreamOptions::default()).unwrap();
    let input = RecordBatch::try_new(value_schema(), vec![Arc::new(Float64Array::from(vec![1.5, 2.0]))]).unwrap();
    let (out, _) = s.exchange(&input).unwrap();
    assert_eq!(out.column(0).as_primitive::<Float64Type>().values(), &[3.0, 4.0]);
    s.close(&value_schema()).unwrap();
    assert_eq!(memory.count(), 5);
}

#[test]
fn without_a_resolver_the_client_sees_the_pointer() {
    let memory = Arc::new(Memory::default());
    let server = test_server_builder().externalization(Externalization::new(memory.clone(), 1)).build().unwrap();
    let (mut client, _h) = connect(server);
    let resp = client.call(PROTO, "echo", &one_string("value", "x")).unwrap();
    assert_eq!(resp.batch.num_rows(), 0);
    assert!(resp.metadata.get(keys::LOCATION).is_some_and(|u| u.starts_with("mem://")));
    assert_eq!(resp.metadata.get(keys::LOCATION_SHA256).map(str::len), Some(64));
}

/// Resolves through `Memory` but fails for one location, as an expired URL
/// or a corrupted object would.
struct FailingAt(Arc<Memory>, &'static str);

impl PointerResolver for FailingAt {
    fn fetch(&self, location: &str) -> Result<Vec<u8>, StorageError> {
        if location == self.1 {
            return Err(StorageError(format!("{location} expired")));
        }
        self.0.fetch(location)
    }
}

#[test]
fn a_stream_batch_that_cannot_be_resolved_fails_the_call_and_keeps_the_connection() {
    let memory = Arc::new(Memory::default());
    let server = test_server_builder().externalization(Externalization::new(memory.clone(), 1)).build().unwrap();
    let (mut client, _h) = connect(server);
    // mem://0 is the header, mem://1.. the batches: the second batch fails.
    client.set_pointer_resolver(Arc::new(FailingAt(memory.clone(), "mem://2")), Arc::new(SystemClock::new()));
    let params = RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![5])) as ArrayRef)]).unwrap();
    let options = StreamOptions { has_header: true, ..Default::default() };
    let mut s = client.producer(PROTO, "count", &params, &options).unwrap();
    let first = s.next_batch().unwrap().expect("the first batch resolves");
    assert_eq!(first.0.column(0).as_primitive::<Int64Type>().value(0), 0);
    let err = s.next_batch().expect_err("the second batch's pointer cannot be resolved");
    assert!(err.to_string().contains("mem://2 expired"), "{err}");
    drop(s);
    let resp = client.call(PROTO, "echo", &one_string("value", "still here")).unwrap();
    assert_eq!(result_string(&resp), "still here", "the connection stayed in step");
}
