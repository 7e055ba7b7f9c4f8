//! External storage over HTTP: capability headers and `__upload_url__/init`
//! (router in process), the per-response external cap, and the client
//! resolving pointers transparently against a served worker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, SchemaRef};
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vgi_rpc_core::external::{ExternalStorage, PointerResolver, StorageError, UploadUrl};
use vgi_rpc_core::wire::{keys, read_stream_bytes, EncodedSchema, Metadata, RequestHeader, StreamWriter};
use vgi_rpc_core::{CallError, Externalization, MethodDef, Protocol, Server, SystemClock};
use vgi_rpc_http::client::HttpClient;
use vgi_rpc_http::{HttpApp, HttpConfig};

const ARROW: &str = "application/vnd.apache.arrow.stream";

/// Storage and resolver in one, vending upload URLs too.
#[derive(Default)]
struct Memory(Mutex<HashMap<String, Vec<u8>>>);

impl ExternalStorage for Memory {
    fn upload(&self, payload: &[u8], _schema: &SchemaRef) -> Result<String, StorageError> {
        let mut map = self.0.lock().map_err(|_| StorageError("poisoned".into()))?;
        let url = format!("mem://{}", map.len());
        map.insert(url.clone(), payload.to_vec());
        Ok(url)
    }

    fn vends_upload_urls(&self) -> bool {
        true
    }

    fn upload_url(&self) -> Result<UploadUrl, StorageError> {
        Ok(UploadUrl {
            upload_url: "mem://up".into(),
            download_url: "mem://down".into(),
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1),
        })
    }
}

impl PointerResolver for Memory {
    fn fetch(&self, location: &str) -> Result<Vec<u8>, StorageError> {
        let map = self.0.lock().map_err(|_| StorageError("poisoned".into()))?;
        map.get(location).cloned().ok_or_else(|| StorageError(format!("no object at {location}")))
    }
}

fn server(memory: &Arc<Memory>, external_cap: Option<u64>) -> Arc<Server> {
    let echo = MethodDef::builder("echo")
        .param("value", DataType::Utf8, false)
        .returns(DataType::Utf8, false)
        .unary(|p, _| Ok(Some(Arc::new(StringArray::from(vec![p.str("value")?.to_owned()])) as ArrayRef)));
    let policy = Externalization::new(memory.clone(), 1).with_max_response_bytes(external_cap);
    let server = Server::builder().protocol(Protocol::new("Demo").method(echo)).externalization(policy).build();
    Arc::new(server.expect("server"))
}

fn echo_params(value: &str) -> RecordBatch {
    RecordBatch::try_from_iter([("value", Arc::new(StringArray::from(vec![value])) as ArrayRef)]).expect("batch")
}

fn request_body(method: &str, batch: &RecordBatch) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = StreamWriter::begin(&mut out, &EncodedSchema::new(batch.schema())).expect("begin");
    w.write(&mut out, batch, &RequestHeader::new("Demo", method).to_metadata(&Metadata::new())).expect("write");
    w.finish(&mut out).expect("finish");
    out
}

async fn send(app: HttpApp, path: &str, body: Vec<u8>) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let req = Request::post(path).header("content-type", ARROW).body(Body::from(body)).expect("request");
    let resp = app.router().oneshot(req).await.expect("infallible");
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, body.collect().await.expect("body").to_bytes().to_vec())
}

#[tokio::test]
async fn storage_is_advertised_and_upload_urls_are_vended() {
    let memory = Arc::new(Memory::default());
    let config = HttpConfig { max_upload_bytes: Some(1 << 20), ..HttpConfig::default() };
    let app = HttpApp::new(server(&memory, Some(4096)), config).expect("app");
    let count = RecordBatch::try_from_iter([("count", Arc::new(Int64Array::from(vec![3])) as ArrayRef)]).unwrap();
    let (status, headers, body) = send(app, "/__upload_url__/init", request_body("__upload_url__", &count)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["vgi-externalization-enabled"], "true");
    assert_eq!(headers["vgi-upload-url-support"], "true");
    assert_eq!(headers["vgi-max-upload-bytes"], "1048576");
    assert_eq!(headers["vgi-max-externalized-response-bytes"], "4096", "the policy's cap is advertised");
    let (_, batches) = read_stream_bytes(&body).expect("an IPC answer");
    assert_eq!(batches[0].batch.num_rows(), 3);
    assert_eq!(batches[0].batch.column(1).as_string::<i32>().value(0), "mem://down");

    let app = HttpApp::new(server(&memory, None), HttpConfig::default()).expect("app");
    let zero = RecordBatch::try_from_iter([("count", Arc::new(Int64Array::from(vec![0])) as ArrayRef)]).unwrap();
    let (status, _, _) = send(app, "/__upload_url__/init", request_body("__upload_url__", &zero)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "count must be 1..=100");
}

#[tokio::test]
async fn the_external_cap_fails_the_call_before_uploading() {
    let memory = Arc::new(Memory::default());
    let app = HttpApp::new(server(&memory, Some(8)), HttpConfig::default()).expect("app");
    let (status, headers, body) = send(app, "/Demo/echo", request_body("echo", &echo_params("too big"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-vgi-rpc-error"], "true");
    let (_, batches) = read_stream_bytes(&body).expect("an IPC answer");
    let message = batches[0].metadata.get(keys::LOG_MESSAGE).unwrap_or_default();
    assert!(message.contains("max_externalized_response_bytes"), "{message}");
    assert!(memory.0.lock().unwrap().is_empty(), "nothing was uploaded");
}

#[test]
fn the_client_resolves_pointers_transparently() {
    let memory = Arc::new(Memory::default());
    let srv = server(&memory, None);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let addr = "127.0.0.1:0".parse().expect("addr");
        let _ = vgi_rpc_http::serve_http(srv, HttpConfig::default(), addr, move |bound| {
            let _ = tx.send(bound);
        });
    });
    let bound = rx.recv_timeout(Duration::from_secs(30)).expect("the server binds");
    let mut client = HttpClient::new(&format!("http://{bound}")).expect("client");
    match client.call("Demo", "echo", &echo_params("x")) {
        Err(CallError::Protocol(m)) => assert!(m.contains("pointer"), "{m}"),
        other => panic!("without a resolver a pointer fails the call, got {other:?}"),
    }
    client.set_pointer_resolver(memory.clone(), Arc::new(SystemClock::new()));
    let resp = client.call("Demo", "echo", &echo_params("resolved")).expect("call");
    assert_eq!(resp.value().expect("result").as_string::<i32>().value(0), "resolved");
    assert!(resp.metadata.get(keys::LOCATION_SOURCE).is_some_and(|s| s.starts_with("mem://")));
}

#[test]
fn an_external_cap_that_would_not_be_enforced_is_refused() {
    let memory = Arc::new(Memory::default());
    let config = HttpConfig { max_externalized_response_bytes: Some(100), ..HttpConfig::default() };
    let refused = HttpApp::new(server(&memory, None), config.clone());
    assert!(matches!(refused, Err(vgi_rpc_http::app::AppError::ExternalCap { .. })));
    assert!(HttpApp::new(server(&memory, Some(100)), config).is_ok(), "the same cap on both is served");
}
