//! The fetcher against a tiny loopback HTTP server: redirects followed only
//! where the URL policy allows (checked before the hop is requested), the
//! redirect bound, the encoded and decoded caps, zstd content coding,
//! errors that never carry a signed query string, parallel ranged fetching
//! (and its fallbacks), and bounded retries on transient failures only.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vgi_rpc_core::external::UploadPutter;
use vgi_rpc_core::PointerResolver;
use vgi_rpc_storage::{FetchConfig, FetchError, HttpFetcher, HttpPut, UrlPolicy};

/// A loopback server; counts requests per path.
struct Server {
    port: u16,
    blob_hits: Arc<AtomicUsize>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Server {
    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

const BLOB: &[u8] = &[7u8; 3000];

/// 300 000 bytes that differ from offset to offset (a misplaced range shows).
fn big() -> Vec<u8> {
    (0..300_000u32).map(|i| (i % 251) as u8).collect()
}

/// The answer to a `Range: bytes=a-b` request for `body`, when honoured.
fn ranged(body: &[u8], range: Option<&str>) -> (String, Vec<String>, Vec<u8>) {
    let whole = ("200 OK".to_owned(), vec!["Accept-Ranges: bytes".to_owned()], body.to_vec());
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else { return whole };
    let Some((a, b)) = spec.split_once('-') else { return whole };
    let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) else { return whole };
    let b = b.min(body.len() - 1);
    let headers = vec![format!("Content-Range: bytes {a}-{b}/{}", body.len()), "ETag: \"v1\"".to_owned()];
    ("206 Partial Content".to_owned(), headers, body[a..=b].to_vec())
}

fn respond(mut stream: TcpStream, port: u16, blob_hits: &AtomicUsize, hits: &Mutex<HashMap<String, usize>>) {
    let mut line = String::new();
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut range = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).map(|n| n == 0).unwrap_or(true) || header == "\r\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("range") {
                range = Some(value.trim().to_owned());
            }
        }
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").split('?').next().unwrap_or("/").to_owned();
    let count = {
        let mut map = hits.lock().unwrap();
        let n = map.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let (status, headers, body): (String, Vec<String>, Vec<u8>) = match path.as_str() {
        "/blob" => {
            blob_hits.fetch_add(1, Ordering::SeqCst);
            ("200 OK".into(), vec![], BLOB.to_vec())
        }
        "/zstd" => {
            ("200 OK".into(), vec!["Content-Encoding: zstd".into()], zstd::bulk::compress(&[1u8; 20000], 3).unwrap())
        }
        "/redirect" => ("302 Found".into(), vec!["Location: /blob".into()], vec![]),
        "/loop" => ("302 Found".into(), vec!["Location: /loop".into()], vec![]),
        "/alias" => ("302 Found".into(), vec![format!("Location: http://localhost:{port}/blob")], vec![]),
        "/big" => ranged(&big(), range.as_deref()),
        "/big-redirect" => ("302 Found".into(), vec!["Location: /big".into()], vec![]),
        "/big-norange" => ranged(&big(), None),
        // Refuses a range reaching past the end (as the reference's fake storage).
        "/strict" if range.as_deref().is_some_and(|r| r.ends_with(&format!("-{}", 64 * 1024 - 1))) => {
            ("416 Range Not Satisfiable".into(), vec![format!("Content-Range: bytes */{}", BLOB.len())], vec![])
        }
        "/strict" => ranged(BLOB, range.as_deref()),
        "/big-zstd" => {
            let (status, mut headers, body) = ranged(&zstd::bulk::compress(&big(), 1).unwrap(), range.as_deref());
            headers.push("Content-Encoding: zstd".into());
            (status, headers, body)
        }
        // The second range request (and every later one) fails once: 503.
        "/big-flaky" if count == 3 => ("503 Service Unavailable".into(), vec![], vec![]),
        "/big-flaky" => ranged(&big(), range.as_deref()),
        // The first request's connection is dropped without an answer.
        "/reset" if count == 1 => return,
        "/reset" => ("200 OK".into(), vec![], BLOB.to_vec()),
        "/unavailable" => ("503 Service Unavailable".into(), vec![], vec![]),
        "/forbidden" => ("403 Forbidden".into(), vec![], vec![]),
        _ => ("404 Not Found".into(), vec![], vec![]),
    };
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for h in headers {
        out.push_str(&h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(&body);
}

fn serve() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let blob_hits = Arc::new(AtomicUsize::new(0));
    let hits = Arc::new(Mutex::new(HashMap::new()));
    let (blob_hits2, hits2) = (blob_hits.clone(), hits.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (b, h) = (blob_hits2.clone(), hits2.clone());
            std::thread::spawn(move || respond(stream, port, &b, &h));
        }
    });
    Server { port, blob_hits, hits }
}

fn fetcher(config: FetchConfig) -> HttpFetcher {
    HttpFetcher::new(config)
}

fn allow_all() -> FetchConfig {
    FetchConfig { policy: UrlPolicy::AllowAll, ..FetchConfig::default() }
}

#[test]
fn fetches_and_follows_an_allowed_redirect() {
    let server = serve();
    let f = fetcher(FetchConfig { policy: UrlPolicy::HostOnly("127.0.0.1".into()), ..FetchConfig::default() });
    assert_eq!(f.fetch(&format!("http://127.0.0.1:{}/blob", server.port)).unwrap(), BLOB);
    assert_eq!(f.fetch(&format!("http://127.0.0.1:{}/redirect", server.port)).unwrap(), BLOB);
    assert_eq!(server.blob_hits.load(Ordering::SeqCst), 2);
}

#[test]
fn a_disallowed_hop_is_never_requested() {
    let server = serve();
    let f = fetcher(FetchConfig { policy: UrlPolicy::HostOnly("127.0.0.1".into()), ..FetchConfig::default() });
    let err = f.fetch(&format!("http://127.0.0.1:{}/alias?X-Sig=secret", server.port)).unwrap_err();
    assert!(err.0.contains("URL rejected"), "{err}");
    assert!(!err.0.contains("secret"), "{err}");
    assert_eq!(server.blob_hits.load(Ordering::SeqCst), 0, "the localhost target was not fetched");
}

#[test]
fn redirect_loops_are_bounded() {
    let server = serve();
    let f = fetcher(FetchConfig { max_redirects: 3, ..allow_all() });
    let err = f.fetch(&format!("http://127.0.0.1:{}/loop", server.port)).unwrap_err();
    assert!(err.0.contains("redirect limit"), "{err}");
}

#[test]
fn encoded_and_decoded_caps_are_independent() {
    let server = serve();
    let small = fetcher(FetchConfig { max_fetch_bytes: 1000, ..allow_all() });
    let err = small.fetch(&format!("http://127.0.0.1:{}/blob", server.port)).unwrap_err();
    assert!(err.0.contains("max_fetch_bytes"), "{err}");

    let zstd_url = format!("http://127.0.0.1:{}/zstd", server.port);
    let roomy = fetcher(allow_all());
    assert_eq!(roomy.fetch(&zstd_url).unwrap(), vec![1u8; 20000], "zstd is undone");
    let tight = fetcher(FetchConfig { max_fetch_bytes: 4096, max_decompressed_bytes: Some(8192), ..allow_all() });
    let err = tight.fetch(&zstd_url).unwrap_err();
    assert!(err.0.contains("max_decompressed_bytes"), "{err}");
}

#[test]
fn http_status_failures_are_redacted() {
    let server = serve();
    let err = fetcher(allow_all()).fetch(&format!("http://127.0.0.1:{}/gone?sig=secret", server.port)).unwrap_err();
    assert!(err.0.contains("404"), "{err}");
    assert!(!err.0.contains("secret"), "{err}");
}

/// Ranges of 64 KiB, four at a time, retries 1 ms apart.
fn ranged_config() -> FetchConfig {
    FetchConfig {
        range_chunk_bytes: 64 * 1024,
        max_parallel_requests: 4,
        retry_backoff: Duration::from_millis(1),
        ..allow_all()
    }
}

#[test]
fn a_large_object_comes_in_parallel_ranges() {
    let server = serve();
    let f = fetcher(ranged_config());
    assert_eq!(f.fetch(&server.url("/big")).unwrap(), big());
    assert_eq!(server.hits("/big"), 5, "300 000 bytes in 64 KiB ranges: the first and four more");
    let f = fetcher(FetchConfig { max_parallel_requests: 1, ..ranged_config() });
    assert_eq!(f.fetch(&server.url("/big")).unwrap(), big(), "one worker gets the same bytes");
}

#[test]
fn ranges_follow_the_first_answers_redirect() {
    let server = serve();
    let f = fetcher(ranged_config());
    assert_eq!(f.fetch(&server.url("/big-redirect")).unwrap(), big());
    assert_eq!(server.hits("/big-redirect"), 1, "later ranges go straight to where the first landed");
    assert_eq!(server.hits("/big"), 5);
}

#[test]
fn a_server_ignoring_ranges_is_read_in_one_answer() {
    let server = serve();
    let f = fetcher(ranged_config());
    assert_eq!(f.fetch(&server.url("/big-norange")).unwrap(), big());
    assert_eq!(server.hits("/big-norange"), 1);
}

#[test]
fn a_content_coded_object_falls_back_to_one_plain_get() {
    let server = serve();
    let coded_len = zstd::bulk::compress(&big(), 1).unwrap().len();
    let f = fetcher(FetchConfig { range_chunk_bytes: (coded_len / 3) as u64, ..ranged_config() });
    assert_eq!(f.fetch(&server.url("/big-zstd")).unwrap(), big(), "decoded after one whole GET");
    assert_eq!(server.hits("/big-zstd"), 2, "the ranged probe, then the plain GET");
}

#[test]
fn the_size_from_the_first_range_is_checked_against_the_cap() {
    let server = serve();
    let f = fetcher(FetchConfig { max_fetch_bytes: 100_000, ..ranged_config() });
    let err = f.fetch_bytes(&server.url("/big")).unwrap_err();
    assert_eq!(err, FetchError::TooLarge { cap_name: "max_fetch_bytes", cap: 100_000 });
    assert_eq!(server.hits("/big"), 1, "nothing fetched past the first range");
}

#[test]
fn a_failed_range_is_retried() {
    let server = serve();
    let f = fetcher(FetchConfig { max_parallel_requests: 1, ..ranged_config() });
    assert_eq!(f.fetch(&server.url("/big-flaky")).unwrap(), big());
    assert_eq!(server.hits("/big-flaky"), 6, "five ranges and one retry");
}

#[test]
fn a_dropped_connection_is_retried() {
    let server = serve();
    let f = fetcher(FetchConfig { retry_backoff: Duration::from_millis(1), ..allow_all() });
    assert_eq!(f.fetch(&server.url("/reset")).unwrap(), BLOB);
    assert_eq!(server.hits("/reset"), 2);
}

#[test]
fn server_errors_are_retried_a_bounded_number_of_times() {
    let server = serve();
    let f = fetcher(FetchConfig { max_attempts: 3, retry_backoff: Duration::from_millis(1), ..allow_all() });
    let err = f.fetch_bytes(&server.url("/unavailable?sig=secret")).unwrap_err();
    assert!(matches!(err, FetchError::Status { status: 503, .. }), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
    assert_eq!(server.hits("/unavailable"), 3);
}

#[test]
fn client_errors_are_never_retried() {
    let server = serve();
    let f = fetcher(FetchConfig { max_attempts: 5, retry_backoff: Duration::from_millis(1), ..allow_all() });
    let err = f.fetch_bytes(&server.url("/forbidden")).unwrap_err();
    assert!(matches!(err, FetchError::Status { status: 403, .. }), "{err}");
    assert_eq!(server.hits("/forbidden"), 1);
    let err = f.fetch_bytes(&server.url("/missing")).unwrap_err();
    assert!(matches!(err, FetchError::Status { status: 404, .. }), "{err}");
    assert_eq!(server.hits("/missing"), 1);
}

#[test]
fn uploads_are_put_and_refusals_are_redacted() {
    let server = serve();
    let put = HttpPut::default();
    put.put(&server.url("/blob"), b"payload").expect("a 200 answer is success");
    let err = put.put(&server.url("/forbidden?X-Amz-Signature=secret"), b"payload").unwrap_err();
    assert!(err.0.contains("403") && !err.0.contains("secret"), "{err}");
}

#[test]
fn a_refused_first_range_falls_back_to_one_plain_get() {
    let server = serve();
    let f = fetcher(ranged_config());
    assert_eq!(f.fetch(&server.url("/strict")).unwrap(), BLOB);
    assert_eq!(server.hits("/strict"), 2, "the refused range, then the plain GET");
}
