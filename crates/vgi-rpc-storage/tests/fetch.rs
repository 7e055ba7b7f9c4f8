//! The fetcher against a tiny loopback HTTP server: redirects followed only
//! where the URL policy allows (checked before the hop is requested), the
//! redirect bound, the encoded and decoded caps, zstd content coding, and
//! errors that never carry a signed query string.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use vgi_rpc_core::PointerResolver;
use vgi_rpc_storage::{FetchConfig, HttpFetcher, UrlPolicy};

/// A loopback server; counts requests to `/blob`.
struct Server {
    port: u16,
    blob_hits: Arc<AtomicUsize>,
}

const BLOB: &[u8] = &[7u8; 3000];

fn respond(mut stream: TcpStream, port: u16, hits: &AtomicUsize) {
    let mut line = String::new();
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    if reader.read_line(&mut line).is_err() {
        return;
    }
    // Drain the headers.
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).map(|n| n == 0).unwrap_or(true) || header == "\r\n" {
            break;
        }
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").split('?').next().unwrap_or("/").to_owned();
    let (status, headers, body): (&str, Vec<String>, Vec<u8>) = match path.as_str() {
        "/blob" => {
            hits.fetch_add(1, Ordering::SeqCst);
            ("200 OK", vec![], BLOB.to_vec())
        }
        "/zstd" => ("200 OK", vec!["Content-Encoding: zstd".into()], zstd::bulk::compress(&[1u8; 20000], 3).unwrap()),
        "/redirect" => ("302 Found", vec!["Location: /blob".into()], vec![]),
        "/loop" => ("302 Found", vec!["Location: /loop".into()], vec![]),
        "/alias" => ("302 Found", vec![format!("Location: http://localhost:{port}/blob")], vec![]),
        _ => ("404 Not Found", vec![], vec![]),
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
    let hits = blob_hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            respond(stream, port, &hits);
        }
    });
    Server { port, blob_hits }
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
