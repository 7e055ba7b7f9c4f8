//! The DuckDB-style example worker through its typed clients, over a pipe
//! and over HTTP, and a table scan resumed over HTTP by a second worker
//! that never saw it start.

mod support;

#[path = "../examples/table_worker.rs"]
mod table_worker;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use table_worker::{Number, ScalarsClient, Square, SquaresArgs, TableInfo, Text, FILTER_MIN_KEY, PROTOCOL};
use vgi_rpc::typed::{open_producer_with_header, RpcClient};
use vgi_rpc::Metadata;
use vgi_rpc_http::axum::extract::Request;
use vgi_rpc_http::axum::Router;
use vgi_rpc_http::{HttpApp, HttpConfig};

fn scan_args(count: i64, batch_rows: i64) -> SquaresArgs {
    SquaresArgs { count, batch_rows, bind: b"bind-data".to_vec() }
}

fn square(n: i64) -> Square {
    Square { n, square: n * n }
}

/// Scalar functions, then a table scan with a filter pushed down mid-scan.
fn exercise<C: RpcClient>(client: C) {
    let mut scalars = ScalarsClient::new(client);
    let mut upper = scalars.upper().unwrap();
    let chunk = vec![Text { value: Some("duck".into()) }, Text { value: None }];
    assert_eq!(upper.exchange(chunk).unwrap(), vec![Text { value: Some("DUCK".into()) }, Text { value: None }]);
    assert_eq!(
        upper.exchange(vec![Text { value: Some("db".into()) }]).unwrap(),
        vec![Text { value: Some("DB".into()) }]
    );
    upper.close().unwrap();
    let mut scale = scalars.scale(0.5).unwrap();
    assert_eq!(scale.exchange(vec![Number { value: 3.0 }]).unwrap(), vec![Number { value: 1.5 }]);
    scale.close().unwrap();

    let client = scalars.inner_mut();
    let mut scan = open_producer_with_header::<_, _, Square>(client, PROTOCOL, "squares", scan_args(10, 3)).unwrap();
    let header = scan.header_rows::<TableInfo>().unwrap();
    assert_eq!(header, Some(vec![TableInfo { estimated_rows: 10, bind_bytes: 9 }]));
    assert_eq!(scan.next_rows().unwrap(), Some(vec![square(0), square(1), square(2)]));
    // The engine learns a bound on n and pushes it down on the next tick.
    let filter = Metadata::new().with(FILTER_MIN_KEY, "7");
    assert_eq!(scan.next_rows_with(&filter).unwrap(), Some(vec![square(7), square(8), square(9)]));
    assert_eq!(scan.next_rows().unwrap(), None);
    drop(scan);

    // A malformed filter is the caller's error, and the connection goes on.
    let mut scan = open_producer_with_header::<_, _, Square>(client, PROTOCOL, "squares", scan_args(4, 2)).unwrap();
    assert_eq!(scan.next_rows().unwrap(), Some(vec![square(0), square(1)]));
    let bad = scan.next_rows_with(&Metadata::new().with(FILTER_MIN_KEY, "seven"));
    assert!(bad.unwrap_err().to_string().contains("must be an integer"));
    drop(scan);
    let mut scan = open_producer_with_header::<_, _, Square>(client, PROTOCOL, "squares", scan_args(2, 8)).unwrap();
    assert_eq!(scan.collect_rows().unwrap(), vec![square(0), square(1)]);
}

#[test]
fn over_a_pipe() {
    let (client, worker) = support::serve_on_pipe(table_worker::server());
    exercise(client);
    worker.join().expect("the worker thread").expect("the worker ends cleanly at EOF");
}

#[test]
fn over_http() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let addr = "127.0.0.1:0".parse().expect("addr");
        let _ = vgi_rpc_http::serve_http(Arc::new(table_worker::server()), HttpConfig::default(), addr, move |bound| {
            let _ = tx.send(bound);
        });
    });
    let bound = rx.recv_timeout(Duration::from_secs(30)).expect("the server binds");
    exercise(vgi_rpc_http::client::HttpClient::new(&format!("http://{bound}")).expect("client"));
}

/// Two workers with the same token key behind one address, taking turns
/// request by request: every tick of the scan lands on the other worker
/// from the one that answered the tick before, so each resumes the scan
/// from the sealed state alone.
#[test]
fn a_scan_resumes_on_another_worker_over_http() {
    let keyring = vgi_rpc_token::Keyring::new(vgi_rpc_token::Key::random().expect("key"));
    let config = HttpConfig { keyring: Some(keyring), ..HttpConfig::default() };
    let served = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
    let workers: Vec<Router> =
        (0..2).map(|_| HttpApp::new(Arc::new(table_worker::server()), config.clone()).expect("app").router()).collect();
    let turn = Arc::new(AtomicUsize::new(0));
    let counts = served.clone();
    let front = Router::new().fallback(move |req: Request| {
        let i = turn.fetch_add(1, Ordering::Relaxed) % 2;
        counts[i].fetch_add(1, Ordering::Relaxed);
        let worker = workers[i].clone();
        async move {
            use tower::ServiceExt;
            match worker.oneshot(req).await {
                Ok(resp) => resp,
                Err(never) => match never {},
            }
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let _ = tx.send(listener.local_addr().expect("addr"));
            let _ = vgi_rpc_http::serve_router(listener, front, std::future::pending()).await;
        });
    });
    let bound = rx.recv_timeout(Duration::from_secs(30)).expect("the front binds");
    let mut client = vgi_rpc_http::client::HttpClient::new(&format!("http://{bound}")).expect("client");

    let mut scan =
        open_producer_with_header::<_, _, Square>(&mut client, PROTOCOL, "squares", scan_args(9, 2)).unwrap();
    // Over HTTP the first batch comes back with the stream's start, so a
    // filter can ride on the ticks after it.
    let mut rows = scan.next_rows().unwrap().expect("a first batch");
    let mut ticks = 1;
    while let Some(batch) = scan.next_rows_with(&Metadata::new().with(FILTER_MIN_KEY, "3")).unwrap() {
        rows.extend(batch);
        ticks += 1;
    }
    let expected: Vec<Square> = [0, 1, 3, 4, 5, 6, 7, 8].into_iter().map(square).collect();
    assert_eq!(rows, expected);
    assert!(ticks >= 4, "the scan took {ticks} ticks");
    let (a, b) = (served[0].load(Ordering::Relaxed), served[1].load(Ordering::Relaxed));
    assert!(a >= 2 && b >= 2, "both workers served the scan: {a} and {b} requests");
}
