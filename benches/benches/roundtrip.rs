//! Round trips through the benchmark worker with the project's own clients,
//! per transport (pipe, a pooled pipe worker with a shared-memory segment,
//! unix, tcp, http): unary noop and add latency,
//! per-batch producer cost, exchange round trip, and bulk producer
//! throughput (1 MiB and 8 MiB batches). `http_floor` is what the HTTP
//! numbers stand on: a bare hyper client posting 512 B to
//! `vgi-rpc-http-floor` (hyper echoing it) over one kept-alive connection.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vgi_rpc::http::client::HttpClient;
use vgi_rpc::rpc::client::no_params;
use vgi_rpc::stdio::{connect_tcp, connect_unix, SubprocessClient, WorkerPool};
use vgi_rpc_benches::add_params;
use vgi_rpc_benches::clients::BenchClient;

const WORKER: &str = env!("CARGO_BIN_EXE_vgi-rpc-bench-worker");
const HTTP_FLOOR: &str = env!("CARGO_BIN_EXE_vgi-rpc-http-floor");

fn int_params(cols: &[(&str, i64)]) -> RecordBatch {
    RecordBatch::try_from_iter(cols.iter().map(|(n, v)| (*n, Arc::new(Int64Array::from(vec![*v])) as ArrayRef)))
        .expect("params")
}

fn bench_client(c: &mut Criterion, transport: &str, client: &mut impl BenchClient) {
    let mut g = c.benchmark_group(format!("{transport}/unary"));
    g.bench_function("noop", |b| b.iter(|| client.unary("noop", &no_params()).expect("noop")));
    let add = add_params();
    g.bench_function("add", |b| b.iter(|| client.unary("add", &add).expect("add")));
    g.finish();

    let mut g = c.benchmark_group(format!("{transport}/stream"));
    const N: i64 = 100;
    g.throughput(Throughput::Elements(N as u64));
    let gen = int_params(&[("count", N)]);
    g.bench_function("generate_per_batch", |b| {
        b.iter(|| assert_eq!(client.produce("generate", &gen).expect("generate").0, N as usize))
    });
    g.throughput(Throughput::Elements(1));
    let factor =
        RecordBatch::try_from_iter([("factor", Arc::new(Float64Array::from(vec![2.0])) as ArrayRef)]).expect("p");
    let schema = Arc::new(Schema::new(vec![Field::new("value", DataType::Float64, false)]));
    let input = RecordBatch::try_new(schema, vec![Arc::new(Float64Array::from(vec![1.0, 2.0]))]).expect("in");
    client
        .with_exchange("transform", &factor, &mut |step| {
            g.bench_function("transform_round_trip", |b| b.iter(|| step(&input).expect("exchange")));
        })
        .expect("transform");
    g.finish();

    let mut g = c.benchmark_group(format!("{transport}/generate_bulk"));
    g.sample_size(10);
    for (label, rows) in [("1MiB", 131_072i64), ("8MiB", 1_048_576i64)] {
        const BATCHES: i64 = 16;
        g.throughput(Throughput::Bytes((rows * 8 * BATCHES) as u64));
        let params = int_params(&[("rows_per_batch", rows), ("batch_count", BATCHES)]);
        g.bench_with_input(BenchmarkId::from_parameter(label), &params, |b, params| {
            b.iter(|| assert_eq!(client.produce("generate_bulk", params).expect("bulk").1 as i64, rows * BATCHES))
        });
    }
    g.finish();
}

struct SocketWorker(Child, String);

impl SocketWorker {
    fn start(args: &[&str], prefix: &str) -> Self {
        Self::spawn(WORKER, args, prefix)
    }

    /// Start `program` and read the address it prints after `prefix`.
    fn spawn(program: &str, args: &[&str], prefix: &str) -> Self {
        let mut child = Command::new(program).args(args).stdout(Stdio::piped()).spawn().expect("spawn worker");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("discovery line");
        let addr = line.trim().strip_prefix(prefix).expect("discovery prefix").to_owned();
        Self(child, addr)
    }
}

impl Drop for SocketWorker {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

fn pipe(c: &mut Criterion) {
    let mut client = SubprocessClient::spawn(WORKER, ["--pipe"]).expect("spawn");
    bench_client(c, "pipe", &mut *client);
}

fn pipe_shm(c: &mut Criterion) {
    // 8 MiB batches are read (and their regions freed) one at a time.
    let pool = WorkerPool::new().shared_memory(64 * 1024 * 1024);
    let mut worker = pool.borrow(WORKER, ["--pipe"]).expect("borrow");
    assert!(worker.uses_shared_memory(), "the bench worker accepts the segment");
    bench_client(c, "pipe_shm", &mut *worker);
}

fn unix(c: &mut Criterion) {
    let path = std::env::temp_dir().join(format!("vgi-bench-{}.sock", std::process::id()));
    let worker = SocketWorker::start(&["--unix", &path.to_string_lossy()], "UNIX:");
    let mut client = connect_unix(worker.1.as_ref()).expect("connect");
    bench_client(c, "unix", &mut client);
}

fn tcp(c: &mut Criterion) {
    let worker = SocketWorker::start(&["--tcp", "127.0.0.1:0"], "TCP:");
    let mut client = connect_tcp(worker.1.as_str()).expect("connect");
    bench_client(c, "tcp", &mut client);
}

fn http(c: &mut Criterion) {
    // Identity responses: the bulk numbers measure the transport, not a codec.
    let worker = SocketWorker::start(&["--http", "0", "--no-compression"], "PORT:");
    let mut client = HttpClient::new(&format!("http://127.0.0.1:{}", worker.1)).expect("client");
    client.set_accept_encoding(None);
    bench_client(c, "http", &mut client);
}

/// The floor under `http/unary`: hyper's client, on a current-thread runtime
/// as the project's client runs it, posting 512 B (about a `noop` request)
/// to hyper echoing it, with `TCP_NODELAY` on both ends.
fn http_floor(c: &mut Criterion) {
    use http_body_util::{BodyExt, Full};

    let server = SocketWorker::spawn(HTTP_FLOOR, &[], "PORT:");

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut sender = runtime.block_on(async {
        let stream = tokio::net::TcpStream::connect(format!("127.0.0.1:{}", server.1)).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.expect("handshake");
        tokio::spawn(connection);
        sender
    });
    let body = bytes::Bytes::from(vec![7u8; 512]);
    let mut g = c.benchmark_group("http_floor");
    g.bench_function("hyper_echo_512B", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let request = hyper::Request::post("/echo")
                    .header(hyper::header::HOST, "127.0.0.1")
                    .body(Full::new(body.clone()))
                    .expect("request");
                let answer = sender.send_request(request).await.expect("echo");
                let echoed = answer.into_body().collect().await.expect("body").to_bytes();
                assert_eq!(echoed.len(), 512);
            })
        })
    });
    g.finish();
}

criterion_group!(benches, pipe, pipe_shm, unix, tcp, http, http_floor);
criterion_main!(benches);
