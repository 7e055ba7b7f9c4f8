//! Server-side CPU per call, without any pipe: a batch of pre-encoded
//! requests is served from memory into memory. This isolates what the
//! framework costs from the transport's wake-up latency.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vgi_rpc::rpc::client::no_params;
use vgi_rpc::rpc::{serve_connection, Client, ConnectionInfo};
use vgi_rpc::Server;
use vgi_rpc_benches::add_params;
use vgi_rpc_benches::service::{benchmark_protocol, BENCHMARK_PROTOCOL};

fn encoded_requests(method: &str, params: &arrow_array::RecordBatch, n: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut client = Client::new(std::io::empty(), &mut bytes);
        let md = vgi_rpc::wire::RequestHeader::new(BENCHMARK_PROTOCOL, method).to_metadata(&vgi_rpc::Metadata::new());
        for _ in 0..n {
            client.send_request(params, &md).expect("encode request");
        }
    }
    bytes
}

fn dispatch(c: &mut Criterion) {
    let server = Server::builder().protocol(benchmark_protocol()).build().expect("server");
    const N: usize = 1000;
    let mut g = c.benchmark_group("dispatch_in_memory");
    g.throughput(Throughput::Elements(N as u64));
    for (method, params) in [("noop", no_params()), ("add", add_params())] {
        let requests = encoded_requests(method, &params, N);
        let mut out = Vec::with_capacity(N * 1024);
        g.bench_function(method, |b| {
            b.iter(|| {
                out.clear();
                serve_connection(&server, &mut requests.as_slice(), &mut out, &ConnectionInfo::default())
                    .expect("serve");
            })
        });
    }
    g.finish();
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
