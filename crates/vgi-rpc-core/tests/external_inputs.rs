//! Client-side input externalization over a byte stream: request and
//! exchange input batches at or above the client's threshold go to
//! (in-memory) storage and travel as pointers; the server resolves them
//! and computes on the real data; an upload failure is a typed error.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::SchemaRef;
use common::*;
use vgi_rpc_core::external::{sha256_hex, ExternalStorage, PointerResolver, StorageError};
use vgi_rpc_core::wire::{keys, read_stream_bytes};
use vgi_rpc_core::{CallError, Externalization, StreamOptions};

/// Storage and resolver in one: a map from `mem://N` to the uploaded bytes.
#[derive(Default)]
struct Memory(Mutex<HashMap<String, Vec<u8>>>);

impl Memory {
    fn blobs(&self) -> HashMap<String, Vec<u8>> {
        self.0.lock().unwrap().clone()
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

/// A server that resolves request pointers (and never externalizes its own
/// output), and a client externalizing inputs from `threshold` bytes.
fn setup(threshold: u64) -> (Arc<Memory>, SocketClient) {
    let memory = Arc::new(Memory::default());
    let policy = Externalization::new(memory.clone(), u64::MAX).with_resolver(memory.clone());
    let server = test_server_builder().externalization(policy).build().unwrap();
    let (mut client, _h) = connect(server);
    client.set_input_externalization(memory.clone(), threshold);
    (memory, client)
}

#[test]
fn a_large_request_batch_travels_by_pointer_and_the_server_sees_its_data() {
    let (memory, mut client) = setup(64);
    let value = "x".repeat(1000);
    let resp = client.call(PROTO, "echo", &one_string("value", &value)).unwrap();
    assert_eq!(result_string(&resp), value, "the server echoed the uploaded parameters");
    let blobs = memory.blobs();
    assert_eq!(blobs.len(), 1, "the request went through storage");
    let (_, items) = read_stream_bytes(&blobs["mem://0"]).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].metadata.get(keys::METHOD), Some("echo"), "the payload is the whole request batch");

    let resp = client.call(PROTO, "echo", &one_string("value", "small")).unwrap();
    assert_eq!(result_string(&resp), "small");
    assert_eq!(memory.blobs().len(), 1, "below the threshold the request stays inline");
}

#[test]
fn exchange_inputs_travel_by_pointer_with_their_digest() {
    let (memory, mut client) = setup(64);
    let params = RecordBatch::try_from_iter_with_nullable([
        ("factor", Arc::new(Float64Array::from(vec![2.0])) as ArrayRef, false),
        ("fail_on", Arc::new(Int64Array::from(vec![None])) as ArrayRef, true),
    ])
    .unwrap();
    let mut s = client.exchange(PROTO, "scale", &params, &StreamOptions::default()).unwrap();
    let values: Vec<f64> = (0..100).map(f64::from).collect();
    let input = RecordBatch::try_new(value_schema(), vec![Arc::new(Float64Array::from(values.clone()))]).unwrap();
    let (out, _) = s.exchange(&input).unwrap();
    let doubled: Vec<f64> = values.iter().map(|v| v * 2.0).collect();
    assert_eq!(out.column(0).as_primitive::<Float64Type>().values(), doubled.as_slice());
    let small = RecordBatch::try_new(value_schema(), vec![Arc::new(Float64Array::from(vec![1.0]))]).unwrap();
    let (out, _) = s.exchange(&small).unwrap();
    assert_eq!(out.column(0).as_primitive::<Float64Type>().values(), &[2.0]);
    s.close(&value_schema()).unwrap();
    let blobs = memory.blobs();
    assert_eq!(blobs.len(), 1, "only the 800-byte input was uploaded");
    let (_, items) = read_stream_bytes(&blobs["mem://0"]).unwrap();
    assert_eq!(items[0].batch, input);
    assert_eq!(sha256_hex(&blobs["mem://0"]).len(), 64);
}

#[test]
fn an_upload_failure_is_typed_and_the_connection_stays_usable() {
    struct Refusing;
    impl ExternalStorage for Refusing {
        fn upload(&self, _: &[u8], _: &SchemaRef) -> Result<String, StorageError> {
            Err(StorageError("AccessDenied: bad credentials".into()))
        }
    }
    let (_, mut client) = setup(1);
    client.set_input_externalization(Arc::new(Refusing), 64);
    let err = client.call(PROTO, "echo", &one_string("value", &"y".repeat(500))).unwrap_err();
    assert!(matches!(&err, CallError::Upload(e) if e.0.contains("AccessDenied")), "{err}");
    client.clear_input_externalization();
    let resp = client.call(PROTO, "echo", &one_string("value", "after")).unwrap();
    assert_eq!(result_string(&resp), "after", "nothing half-sent broke the lockstep");
}

#[test]
fn a_server_without_a_resolver_refuses_the_pointer() {
    let memory = Arc::new(Memory::default());
    let (mut client, _h) = connect(test_server());
    client.set_input_externalization(memory.clone(), 1);
    let err = client.call(PROTO, "echo", &one_string("value", "v")).unwrap_err();
    assert!(err.remote().is_some(), "the server answered with an error: {err}");
}
