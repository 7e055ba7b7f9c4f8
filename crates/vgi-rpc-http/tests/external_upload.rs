//! The HTTP client's upload-URL flow against a served worker whose storage
//! is a loopback blob store: a request body over the advertised
//! `VGI-Max-Request-Bytes` is `PUT` to a vended URL and sent as a pointer
//! (pre-emptively once the capabilities are known, after a `413` before
//! that), the client's own threshold triggers it too, the server computes
//! on the real data, and failures are typed errors.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, SchemaRef};
use vgi_rpc_core::external::{sha256_hex, ExternalStorage, PointerResolver, StorageError, UploadUrl};
use vgi_rpc_core::wire::{keys, read_stream_bytes};
use vgi_rpc_core::{CallError, Externalization, MethodDef, Protocol, Server};
use vgi_rpc_http::client::HttpClient;
use vgi_rpc_http::HttpConfig;

/// A loopback blob store: `PUT /blob/N` stores, `GET /blob/N` returns; it
/// is also the server's storage (vending URL pairs) and resolver.
struct Blobs {
    addr: SocketAddr,
    map: Mutex<HashMap<String, Vec<u8>>>,
    next: AtomicUsize,
    puts: AtomicUsize,
    /// Answer every `PUT` with this status instead of storing.
    put_status: Mutex<Option<u16>>,
    vend: bool,
}

impl Blobs {
    fn start(vend: bool) -> Arc<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let blobs = Arc::new(Self {
            addr: listener.local_addr().expect("addr"),
            map: Mutex::new(HashMap::new()),
            next: AtomicUsize::new(0),
            puts: AtomicUsize::new(0),
            put_status: Mutex::new(None),
            vend,
        });
        let me = blobs.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let me = me.clone();
                std::thread::spawn(move || me.handle(stream));
            }
        });
        blobs
    }

    fn handle(&self, mut stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).map(|n| n == 0).unwrap_or(true) || header == "\r\n" {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
        let key = format!("http://{}{}", self.addr, path.split('?').next().unwrap_or(path));
        let (status, answer) = match method {
            "PUT" => {
                self.puts.fetch_add(1, Ordering::SeqCst);
                match *self.put_status.lock().unwrap() {
                    Some(code) => (code, Vec::new()),
                    None => {
                        self.map.lock().unwrap().insert(key, body);
                        (200, Vec::new())
                    }
                }
            }
            "GET" => match self.map.lock().unwrap().get(&key) {
                Some(bytes) => (200, bytes.clone()),
                None => (404, Vec::new()),
            },
            _ => (405, Vec::new()),
        };
        let head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", answer.len());
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&answer);
    }

    fn stored(&self) -> Vec<Vec<u8>> {
        self.map.lock().unwrap().values().cloned().collect()
    }
}

impl ExternalStorage for Blobs {
    fn upload(&self, _payload: &[u8], _schema: &SchemaRef) -> Result<String, StorageError> {
        Err(StorageError("this test's server never externalizes output".into()))
    }

    fn vends_upload_urls(&self) -> bool {
        self.vend
    }

    fn upload_url(&self) -> Result<UploadUrl, StorageError> {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let url = format!("http://{}/blob/{n}", self.addr);
        Ok(UploadUrl {
            upload_url: format!("{url}?sig=secret"),
            download_url: url,
            expires_at: SystemTime::now() + Duration::from_secs(60),
        })
    }
}

impl PointerResolver for Blobs {
    fn fetch(&self, location: &str) -> Result<Vec<u8>, StorageError> {
        self.map.lock().unwrap().get(location).cloned().ok_or_else(|| StorageError(format!("404 for {location}")))
    }
}

/// A worker with `echo(value) -> value` and a 64 KiB request cap.
fn serve(blobs: &Arc<Blobs>) -> String {
    let echo = MethodDef::builder("echo")
        .param("value", DataType::Utf8, false)
        .returns(DataType::Utf8, false)
        .unary(|p, _| Ok(Some(Arc::new(StringArray::from(vec![p.str("value")?.to_owned()])) as ArrayRef)));
    let policy = Externalization::new(blobs.clone(), u64::MAX).with_resolver(blobs.clone());
    let server = Server::builder().protocol(Protocol::new("Demo").method(echo)).externalization(policy).build();
    let server = Arc::new(server.expect("server"));
    let config = HttpConfig { max_request_bytes: Some(64 * 1024), ..HttpConfig::default() };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let addr = "127.0.0.1:0".parse().expect("addr");
        let _ = vgi_rpc_http::serve_http(server, config, addr, move |bound| {
            let _ = tx.send(bound);
        });
    });
    let bound = rx.recv_timeout(Duration::from_secs(30)).expect("the server binds");
    format!("http://{bound}")
}

fn echo(client: &mut HttpClient, value: &str) -> Result<String, CallError> {
    let params =
        RecordBatch::try_from_iter([("value", Arc::new(StringArray::from(vec![value])) as ArrayRef)]).expect("batch");
    let resp = client.call("Demo", "echo", &params)?;
    Ok(resp.value().expect("result").as_string::<i32>().value(0).to_owned())
}

#[test]
fn an_oversized_request_goes_by_pointer_after_a_413_then_pre_emptively() {
    let blobs = Blobs::start(true);
    let mut client = HttpClient::new(&serve(&blobs)).expect("client");
    let big = "b".repeat(200 * 1024);
    assert_eq!(echo(&mut client, &big).expect("call"), big, "the server saw the uploaded parameters");
    assert_eq!(client.requests_sent(), 2, "refused inline with 413, then sent as a pointer");
    assert_eq!(blobs.puts.load(Ordering::SeqCst), 1);
    let caps = client.upload_capabilities().expect("learned");
    assert!(caps.upload_url_support);
    assert_eq!(caps.max_request_bytes, Some(64 * 1024));

    let stored = blobs.stored();
    let (_, items) = read_stream_bytes(&stored[0]).expect("the upload is an IPC stream");
    assert_eq!(items[0].metadata.get(keys::METHOD), Some("echo"), "the whole request batch was uploaded");
    assert_eq!(items[0].batch.num_rows(), 1);

    let bigger = "c".repeat(300 * 1024);
    assert_eq!(echo(&mut client, &bigger).expect("call"), bigger);
    assert_eq!(client.requests_sent(), 3, "known capabilities: no refused attempt");
    assert_eq!(blobs.puts.load(Ordering::SeqCst), 2);
    assert_eq!(echo(&mut client, "small").expect("call"), "small");
    assert_eq!(blobs.puts.load(Ordering::SeqCst), 2, "small requests stay inline");
    let digests: Vec<String> = blobs.stored().iter().map(|b| sha256_hex(b)).collect();
    assert_eq!(digests.len(), 2);
}

#[test]
fn the_clients_threshold_externalizes_below_the_servers_cap() {
    let blobs = Blobs::start(true);
    let mut client = HttpClient::new(&serve(&blobs)).expect("client");
    client.set_externalize_threshold(Some(1024));
    let value = "t".repeat(4096);
    assert_eq!(echo(&mut client, &value).expect("call"), value);
    assert_eq!(blobs.puts.load(Ordering::SeqCst), 1, "capabilities discovered, then uploaded");
    assert_eq!(client.requests_sent(), 1);
}

#[test]
fn upload_failures_are_typed_and_redacted() {
    let blobs = Blobs::start(true);
    *blobs.put_status.lock().unwrap() = Some(403);
    let mut client = HttpClient::new(&serve(&blobs)).expect("client");
    client.set_externalize_threshold(Some(1024));
    let err = echo(&mut client, &"f".repeat(4096)).unwrap_err();
    match &err {
        CallError::Upload(e) => {
            assert!(e.0.contains("403"), "{e}");
            assert!(!e.0.contains("secret"), "the signed query is not shown: {e}");
        }
        other => panic!("expected an upload error, got {other:?}"),
    }
    *blobs.put_status.lock().unwrap() = None;
    assert_eq!(echo(&mut client, "ok").expect("the client still works"), "ok");
}

#[test]
fn without_upload_support_an_oversized_request_is_refused_by_the_server() {
    let blobs = Blobs::start(false);
    let mut client = HttpClient::new(&serve(&blobs)).expect("client");
    client.set_externalize_threshold(Some(1024));
    assert_eq!(echo(&mut client, &"s".repeat(4096)).expect("inline under the cap"), "s".repeat(4096));
    let err = echo(&mut client, &"s".repeat(200 * 1024)).unwrap_err();
    assert!(matches!(&err, CallError::Protocol(m) if m.contains("413")), "{err}");
    assert_eq!(blobs.puts.load(Ordering::SeqCst), 0);
    assert!(client.upload_urls(1).is_err(), "no upload URLs are vended");
}

#[test]
fn a_very_large_first_request_asks_for_the_capabilities_instead_of_risking_a_413() {
    let blobs = Blobs::start(true);
    let mut client = HttpClient::new(&serve(&blobs)).expect("client");
    let huge = "h".repeat(3 * 1024 * 1024);
    assert_eq!(echo(&mut client, &huge).expect("call"), huge);
    assert_eq!(client.requests_sent(), 1, "no refused attempt");
    assert_eq!(blobs.puts.load(Ordering::SeqCst), 1);
}
