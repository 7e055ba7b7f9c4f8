//! The hello example's generated `HelloClient` against its server, over an
//! in-process pipe, TCP, a Unix socket and loopback HTTP (the same client
//! code on all of them).

mod support;

#[path = "../examples/hello.rs"]
mod hello;

use std::io::{BufReader, BufWriter};
use std::sync::Arc;
use std::time::Duration;

use hello::{Count, HelloClient, Sample};
use vgi_rpc::rpc::{serve_connection, ConnectionInfo};
use vgi_rpc::typed::RpcClient;

/// Every method, through any transport.
fn exercise<C: RpcClient>(client: C) {
    let mut hello = HelloClient::new(client);
    assert_eq!(hello.greet("Ada".to_owned()).unwrap(), "Hello, Ada!");

    let mut counting = hello.count(3).unwrap();
    let counts = counting.collect_rows().unwrap();
    assert_eq!(counts, vec![Count { i: 0 }, Count { i: 1 }, Count { i: 2 }]);
    drop(counting);

    let mut scaling = hello.scale(1.5).unwrap();
    assert_eq!(
        scaling.exchange(vec![Sample { x: 2.0 }, Sample { x: -1.0 }]).unwrap(),
        vec![Sample { x: 3.0 }, Sample { x: -1.5 }]
    );
    assert_eq!(scaling.exchange(vec![Sample { x: 4.0 }]).unwrap(), vec![Sample { x: 6.0 }]);
    scaling.close().unwrap();

    // An empty stream finishes at once, and the connection stays usable.
    let none = hello.count(-1).and_then(|mut c| c.collect_rows()).map(|rows| rows.len());
    assert_eq!(none.unwrap(), 0);
    assert_eq!(hello.greet(String::new()).unwrap(), "Hello, !");
}

#[test]
fn generated_client_over_a_pipe() {
    let (client, worker) = support::serve_on_pipe(hello::server());
    exercise(client);
    worker.join().expect("the worker thread").expect("the worker ends cleanly at EOF");
}

#[test]
fn generated_client_over_tcp_and_unix() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = Arc::new(hello::server());
    let tcp_server = server.clone();
    std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            let reader = stream.try_clone().expect("clone");
            let _ = serve_connection(
                &tcp_server,
                &mut BufReader::new(reader),
                &mut BufWriter::new(stream),
                &ConnectionInfo::default(),
            );
        }
    });
    exercise(vgi_rpc::stdio::connect_tcp(addr).expect("connect"));

    let dir = std::env::temp_dir().join(format!("vgi-hello-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("hello.sock");
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            let reader = stream.try_clone().expect("clone");
            let _ = serve_connection(
                &server,
                &mut BufReader::new(reader),
                &mut BufWriter::new(stream),
                &ConnectionInfo::default(),
            );
        }
    });
    // Any `RpcClient` works, also behind a `&mut` or a `Box<dyn RpcClient>`.
    let mut unix = vgi_rpc::stdio::connect_unix(&path).expect("connect");
    exercise(&mut unix);
    let boxed: Box<dyn RpcClient> = Box::new(unix);
    let mut hello = HelloClient::new(boxed);
    assert_eq!(hello.greet("box".to_owned()).unwrap(), "Hello, box!");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generated_client_over_http() {
    let server = Arc::new(hello::server());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let addr = "127.0.0.1:0".parse().expect("addr");
        let _ = vgi_rpc_http::serve_http(server, vgi_rpc_http::HttpConfig::default(), addr, move |bound| {
            let _ = tx.send(bound);
        });
    });
    let bound = rx.recv_timeout(Duration::from_secs(30)).expect("the server binds");
    exercise(vgi_rpc_http::client::HttpClient::new(&format!("http://{bound}")).expect("client"));
}

#[test]
fn reflection_sees_names_types_defaults_and_docs() {
    let server = hello::server();
    let protocol = server.protocol("hello.v1").expect("hosted");
    assert_eq!(protocol.declared_version(), Some("1.0.0"));
    let greet = protocol.get("greet").expect("greet");
    assert_eq!(greet.doc(), "Say hello.");
    let field = greet.params_schema().schema().field(0).clone();
    assert_eq!((field.name().as_str(), field.data_type().to_string().as_str()), ("name", "Utf8"));
    let scale = protocol.get("scale").expect("scale");
    let defaults: Vec<(&str, Option<f64>)> = scale.defaults().iter().map(|(n, v)| (n.as_str(), v.as_f64())).collect();
    assert_eq!(defaults, vec![("factor", Some(2.0))]);
    let count = protocol.get("count").expect("count");
    assert_eq!(count.param_docs(), &[("n".to_owned(), "How many numbers.".to_owned())]);
}
