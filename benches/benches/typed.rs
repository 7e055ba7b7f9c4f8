//! The typed unary path against the dynamic one, on the same methods:
//! `greet(name: str) -> str` and `add(a: float64, b: float64) -> float64`,
//! registered both ways in one protocol.
//!
//! * `typed_vs_dynamic/server_*`: server-side CPU only, 1000 pre-encoded
//!   requests served from memory into memory (the request bytes of the
//!   two variants differ only in the method name).
//! * `typed_vs_dynamic/client_*`: client-side CPU only, 1000 calls whose
//!   requests go to a sink and whose answers are read from memory (the
//!   server's pre-recorded responses).
//! * `typed_vs_dynamic/call_*`: a whole call through an in-process pipe,
//!   client included: the generated typed client against a hand-built
//!   request batch and a hand-read result column.

use std::io::{BufReader, BufWriter, PipeReader, PipeWriter};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vgi_rpc::rpc::{serve_connection, Client, ConnectionInfo};
use vgi_rpc::typed::RpcResult;
use vgi_rpc::{MethodDef, Protocol, Server};

const P: &str = "bench.Typed.v1";

#[vgi_rpc::service(protocol = "bench.Typed.v1")]
pub trait Typed {
    /// Say hello.
    fn greet(&self, name: String) -> RpcResult<String>;
    /// Add two numbers.
    fn add(&self, a: f64, b: f64) -> RpcResult<f64>;
}

struct Impl;

impl Typed for Impl {
    fn greet(&self, name: String) -> RpcResult<String> {
        Ok(format!("Hello, {name}!"))
    }
    fn add(&self, a: f64, b: f64) -> RpcResult<f64> {
        Ok(a + b)
    }
}

/// The typed protocol plus the same two methods on the dynamic builder.
fn protocol() -> Protocol {
    let dyn_greet = MethodDef::builder("dyn_greet")
        .param("name", DataType::Utf8, false)
        .returns(DataType::Utf8, false)
        .unary(|p, _| Ok(Some(Arc::new(StringArray::from(vec![format!("Hello, {}!", p.str("name")?)])) as ArrayRef)));
    let dyn_add = MethodDef::builder("dyn_add")
        .param("a", DataType::Float64, false)
        .param("b", DataType::Float64, false)
        .returns(DataType::Float64, false)
        .unary(|p, _| Ok(Some(Arc::new(Float64Array::from(vec![p.f64("a")? + p.f64("b")?])) as ArrayRef)));
    typed_protocol(Impl).method(dyn_greet).method(dyn_add)
}

fn greet_params(name: &str) -> RecordBatch {
    RecordBatch::try_from_iter([("name", Arc::new(StringArray::from(vec![name])) as ArrayRef)]).expect("params")
}

fn add_params(a: f64, b: f64) -> RecordBatch {
    RecordBatch::try_from_iter([
        ("a", Arc::new(Float64Array::from(vec![a])) as ArrayRef),
        ("b", Arc::new(Float64Array::from(vec![b])) as ArrayRef),
    ])
    .expect("params")
}

fn encoded_requests(method: &str, params: &RecordBatch, n: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut client = Client::new(std::io::empty(), &mut bytes);
        let md = vgi_rpc::wire::RequestHeader::new(P, method).to_metadata(&vgi_rpc::Metadata::new());
        for _ in 0..n {
            client.send_request(params, &md).expect("encode request");
        }
    }
    bytes
}

fn server_side(c: &mut Criterion) {
    let server = Server::builder().protocol(protocol()).build().expect("server");
    const N: usize = 1000;
    let mut g = c.benchmark_group("typed_vs_dynamic");
    g.throughput(Throughput::Elements(N as u64));
    let cases = [
        ("server_greet/dynamic", "dyn_greet", greet_params("Ada")),
        ("server_greet/typed", "greet", greet_params("Ada")),
        ("server_add/dynamic", "dyn_add", add_params(1.5, 2.5)),
        ("server_add/typed", "add", add_params(1.5, 2.5)),
    ];
    for (label, method, params) in cases {
        let requests = encoded_requests(method, &params, N);
        let mut out = Vec::with_capacity(N * 1024);
        g.bench_function(label, |b| {
            b.iter(|| {
                out.clear();
                serve_connection(&server, &mut requests.as_slice(), &mut out, &ConnectionInfo::default())
                    .expect("serve");
            })
        });
    }
    g.finish();
}

/// The server's answers to `n` calls of `method` with `params`.
fn recorded_responses(server: &Server, method: &str, params: &RecordBatch, n: usize) -> Vec<u8> {
    let requests = encoded_requests(method, params, n);
    let mut out = Vec::new();
    serve_connection(server, &mut requests.as_slice(), &mut out, &ConnectionInfo::default()).expect("serve");
    out
}

fn client_side(c: &mut Criterion) {
    let server = Server::builder().protocol(protocol()).build().expect("server");
    const N: usize = 1000;
    let mut g = c.benchmark_group("typed_vs_dynamic");
    g.throughput(Throughput::Elements(N as u64));
    let greets = recorded_responses(&server, "greet", &greet_params("Ada"), N);
    let adds = recorded_responses(&server, "add", &add_params(1.5, 2.5), N);
    g.bench_function("client_greet/dynamic", |b| {
        b.iter(|| {
            let mut client = Client::new(greets.as_slice(), std::io::sink());
            for _ in 0..N {
                let response = client.call(P, "dyn_greet", &greet_params("Ada")).expect("call");
                assert_eq!(response.value().expect("result").as_string::<i32>().value(0).len(), 11);
            }
        })
    });
    g.bench_function("client_greet/typed", |b| {
        b.iter(|| {
            let mut client = TypedClient::new(Client::new(greets.as_slice(), std::io::sink()));
            for _ in 0..N {
                assert_eq!(client.greet("Ada".to_owned()).expect("call").len(), 11);
            }
        })
    });
    g.bench_function("client_add/dynamic", |b| {
        b.iter(|| {
            let mut client = Client::new(adds.as_slice(), std::io::sink());
            for _ in 0..N {
                let response = client.call(P, "dyn_add", &add_params(1.5, 2.5)).expect("call");
                assert_eq!(response.value().expect("result").as_primitive::<Float64Type>().value(0), 4.0);
            }
        })
    });
    g.bench_function("client_add/typed", |b| {
        b.iter(|| {
            let mut client = TypedClient::new(Client::new(adds.as_slice(), std::io::sink()));
            for _ in 0..N {
                assert_eq!(client.add(1.5, 2.5).expect("call"), 4.0);
            }
        })
    });
    g.finish();
}

type PipeClient = Client<BufReader<PipeReader>, BufWriter<PipeWriter>>;

/// A client connected by OS pipes to a server thread.
fn connect() -> PipeClient {
    let (server_in, client_out) = std::io::pipe().expect("pipe");
    let (client_in, server_out) = std::io::pipe().expect("pipe");
    let server = Server::builder().protocol(protocol()).build().expect("server");
    std::thread::spawn(move || {
        let _ = serve_connection(
            &server,
            &mut BufReader::new(server_in),
            &mut BufWriter::new(server_out),
            &ConnectionInfo::default(),
        );
    });
    Client::new(BufReader::new(client_in), BufWriter::new(client_out))
}

/// Both variants over one connection (one server thread), so the pipe's
/// wake-ups cost the same: the dynamic calls go through the typed client's
/// inner client.
fn whole_call(c: &mut Criterion) {
    let mut g = c.benchmark_group("typed_vs_dynamic");
    let mut typed = TypedClient::new(connect());
    g.bench_function("call_greet/dynamic", |b| {
        b.iter(|| {
            let response = typed.inner_mut().call(P, "dyn_greet", &greet_params("Ada")).expect("call");
            let value = response.value().expect("result").as_string::<i32>().value(0).to_owned();
            assert_eq!(value.len(), 11);
        })
    });
    g.bench_function("call_greet/typed", |b| {
        b.iter(|| assert_eq!(typed.greet("Ada".to_owned()).expect("call").len(), 11))
    });
    g.bench_function("call_add/dynamic", |b| {
        b.iter(|| {
            let response = typed.inner_mut().call(P, "dyn_add", &add_params(1.5, 2.5)).expect("call");
            let value = response.value().expect("result").as_primitive::<Float64Type>().value(0);
            assert_eq!(value, 4.0);
        })
    });
    g.bench_function("call_add/typed", |b| b.iter(|| assert_eq!(typed.add(1.5, 2.5).expect("call"), 4.0)));
    g.finish();
}

criterion_group!(benches, server_side, client_side, whole_call);
criterion_main!(benches);
