//! One table of fixtures — method, arguments, expected result / error /
//! logs — run with the project's own clients over every transport the
//! worker has: pipe (subprocess), Unix socket, TCP and HTTP.

use std::io::{BufRead, BufReader as StdBufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use vgi_rpc::http::client::HttpClient;
use vgi_rpc::rpc::client::no_params;
use vgi_rpc::rpc::{CallError, Client, LogLevel, StreamOptions, UnaryResponse};
use vgi_rpc::stdio::{connect_tcp, connect_unix, SubprocessClient};

const PRIMARY: &str = "ConformanceService";
const SECONDARY: &str = "conformance.Secondary.v1";
const WORKER: &str = env!("CARGO_BIN_EXE_vgi-rpc-conformance");

enum Expect {
    Value(ArrayRef),
    Void,
    Error { error_type: &'static str, contains: &'static str, kind: &'static str },
    ValueWithLogs(ArrayRef, &'static [(LogLevel, &'static str)]),
}

struct Fixture {
    name: &'static str,
    protocol: &'static str,
    method: &'static str,
    params: RecordBatch,
    expect: Expect,
}

fn strings(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn params(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter_with_nullable(cols.into_iter().map(|(n, a)| (n, a, false))).expect("params")
}

fn table() -> Vec<Fixture> {
    let s = |v: &str| strings(&[v]);
    let i = |v: i64| Arc::new(Int64Array::from(vec![v])) as ArrayRef;
    let f = |v: f64| Arc::new(Float64Array::from(vec![v])) as ArrayRef;
    vec![
        Fixture {
            name: "echo_string",
            protocol: PRIMARY,
            method: "echo_string",
            params: params(vec![("value", s("héllo"))]),
            expect: Expect::Value(s("héllo")),
        },
        Fixture {
            name: "echo_int",
            protocol: PRIMARY,
            method: "echo_int",
            params: params(vec![("value", i(-42))]),
            expect: Expect::Value(i(-42)),
        },
        Fixture {
            name: "add_floats",
            protocol: PRIMARY,
            method: "add_floats",
            params: params(vec![("a", f(1.5)), ("b", f(2.25))]),
            expect: Expect::Value(f(3.75)),
        },
        Fixture {
            name: "concatenate",
            protocol: PRIMARY,
            method: "concatenate",
            params: params(vec![("prefix", s("a")), ("suffix", s("b")), ("separator", s("+"))]),
            expect: Expect::Value(s("a+b")),
        },
        Fixture {
            name: "with_defaults",
            protocol: PRIMARY,
            method: "with_defaults",
            params: params(vec![("required", i(7)), ("optional_str", s("default")), ("optional_int", i(42))]),
            expect: Expect::Value(s("required=7, optional_str=default, optional_int=42")),
        },
        Fixture {
            name: "void_noop",
            protocol: PRIMARY,
            method: "void_noop",
            params: no_params(),
            expect: Expect::Void,
        },
        Fixture {
            name: "raise_value_error",
            protocol: PRIMARY,
            method: "raise_value_error",
            params: params(vec![("message", s("bad value"))]),
            expect: Expect::Error { error_type: "ValueError", contains: "bad value", kind: "" },
        },
        Fixture {
            name: "echo_with_multi_logs",
            protocol: PRIMARY,
            method: "echo_with_multi_logs",
            params: params(vec![("value", s("x"))]),
            expect: Expect::ValueWithLogs(
                s("x"),
                &[(LogLevel::Debug, "debug: x"), (LogLevel::Info, "info: x"), (LogLevel::Warn, "warn: x")],
            ),
        },
        Fixture {
            name: "unknown method",
            protocol: PRIMARY,
            method: "no_such_method",
            params: no_params(),
            expect: Expect::Error {
                error_type: "MethodNotImplementedError",
                contains: "no method 'no_such_method'",
                kind: "method_not_implemented",
            },
        },
        Fixture {
            name: "secondary routes by protocol",
            protocol: SECONDARY,
            method: "echo_string",
            params: params(vec![("value", s("v"))]),
            expect: Expect::Value(s("secondary:v")),
        },
    ]
}

/// What the fixtures need from a client, over any transport.
trait FixtureClient {
    fn set_version(&mut self, protocol: &str, version: &str);
    fn unary(&mut self, protocol: &str, method: &str, params: &RecordBatch) -> Result<UnaryResponse, CallError>;
    /// A primary-protocol producer's batches, and the error that ended it early, if any.
    fn produce(&mut self, method: &str, params: &RecordBatch) -> (Vec<RecordBatch>, Option<CallError>);
    /// Open a primary-protocol exchange, send one batch, close.
    fn exchange_once(
        &mut self,
        method: &str,
        params: &RecordBatch,
        input: &RecordBatch,
    ) -> Result<RecordBatch, CallError>;
}

/// Drain `next` until the stream ends or fails.
fn drain(
    mut next: impl FnMut() -> Result<Option<(RecordBatch, vgi_rpc::Metadata)>, CallError>,
) -> (Vec<RecordBatch>, Option<CallError>) {
    let mut batches = Vec::new();
    loop {
        match next() {
            Ok(Some((batch, _))) => batches.push(batch),
            Ok(None) => return (batches, None),
            Err(e) => return (batches, Some(e)),
        }
    }
}

impl<R: Read, W: Write> FixtureClient for Client<R, W> {
    fn set_version(&mut self, protocol: &str, version: &str) {
        self.set_protocol_version(protocol, version);
    }
    fn unary(&mut self, protocol: &str, method: &str, params: &RecordBatch) -> Result<UnaryResponse, CallError> {
        self.call(protocol, method, params)
    }
    fn produce(&mut self, method: &str, params: &RecordBatch) -> (Vec<RecordBatch>, Option<CallError>) {
        match self.producer(PRIMARY, method, params, &StreamOptions::default()) {
            Ok(mut session) => drain(|| session.next_batch()),
            Err(e) => (Vec::new(), Some(e)),
        }
    }
    fn exchange_once(
        &mut self,
        method: &str,
        params: &RecordBatch,
        input: &RecordBatch,
    ) -> Result<RecordBatch, CallError> {
        let mut session = self.exchange(PRIMARY, method, params, &StreamOptions::default())?;
        let (out, _) = session.exchange(input)?;
        session.close(&input.schema())?;
        Ok(out)
    }
}

impl FixtureClient for HttpClient {
    fn set_version(&mut self, protocol: &str, version: &str) {
        self.set_protocol_version(protocol, version);
    }
    fn unary(&mut self, protocol: &str, method: &str, params: &RecordBatch) -> Result<UnaryResponse, CallError> {
        self.call(protocol, method, params)
    }
    fn produce(&mut self, method: &str, params: &RecordBatch) -> (Vec<RecordBatch>, Option<CallError>) {
        match self.producer(PRIMARY, method, params, &StreamOptions::default()) {
            Ok(mut session) => drain(|| session.next_batch()),
            Err(e) => (Vec::new(), Some(e)),
        }
    }
    fn exchange_once(
        &mut self,
        method: &str,
        params: &RecordBatch,
        input: &RecordBatch,
    ) -> Result<RecordBatch, CallError> {
        let mut session = self.exchange(PRIMARY, method, params, &StreamOptions::default())?;
        let (out, _) = session.exchange(input)?;
        session.close()?;
        Ok(out)
    }
}

fn run_unary_table(client: &mut impl FixtureClient) {
    for fx in table() {
        let got = client.unary(fx.protocol, fx.method, &fx.params);
        match (&fx.expect, got) {
            (Expect::Value(want), Ok(resp)) => {
                assert_eq!(resp.value().expect("a result").as_ref(), want.as_ref(), "{}", fx.name)
            }
            (Expect::ValueWithLogs(want, logs), Ok(resp)) => {
                assert_eq!(resp.value().expect("a result").as_ref(), want.as_ref(), "{}", fx.name);
                let got: Vec<(LogLevel, &str)> = resp.logs.iter().map(|l| (l.level, l.message.as_str())).collect();
                assert_eq!(got, logs.to_vec(), "{}", fx.name);
            }
            (Expect::Void, Ok(resp)) => {
                assert!(resp.value().is_none() && resp.batch.num_rows() == 0, "{}", fx.name)
            }
            (Expect::Error { error_type, contains, kind }, Err(err)) => {
                let remote = err.remote().unwrap_or_else(|| panic!("{}: not a remote error: {err}", fx.name));
                assert_eq!(remote.error_type, *error_type, "{}", fx.name);
                assert!(remote.message.contains(contains), "{}: {}", fx.name, remote.message);
                assert_eq!(remote.error_kind, *kind, "{}", fx.name);
                assert!(!remote.error_code.is_empty(), "{}: error_code is always sent", fx.name);
            }
            (_, Ok(resp)) => panic!("{}: expected an error, got {:?}", fx.name, resp.value()),
            (_, Err(err)) => panic!("{}: unexpected error {err}", fx.name),
        }
    }
}

fn run_stream_fixtures(client: &mut impl FixtureClient) {
    let count = params(vec![("count", Arc::new(Int64Array::from(vec![3])) as ArrayRef)]);
    let (batches, error) = client.produce("produce_n", &count);
    assert!(error.is_none(), "produce_n: {error:?}");
    let values: Vec<i64> = batches.iter().map(|b| b.column(1).as_primitive::<Int64Type>().value(0)).collect();
    assert_eq!(values, vec![0, 10, 20]);

    let factor = params(vec![("factor", Arc::new(Float64Array::from(vec![2.0])) as ArrayRef)]);
    let schema = Arc::new(Schema::new(vec![Field::new("value", DataType::Float64, false)]));
    let input = RecordBatch::try_new(schema, vec![Arc::new(Float64Array::from(vec![1.0, 2.5]))]).unwrap();
    let out = client.exchange_once("exchange_scale", &factor, &input).expect("one exchange");
    assert_eq!(out.column(0).as_primitive::<Float64Type>().values(), &[2.0, 5.0]);

    let one = params(vec![("emit_before_error", Arc::new(Int64Array::from(vec![1])) as ArrayRef)]);
    let (batches, error) = client.produce("produce_error_mid_stream", &one);
    assert_eq!(batches.len(), 1, "one batch before the error");
    assert_eq!(error.expect("the second turn fails").remote().expect("remote").error_type, "RuntimeError");

    // The client is still usable after all of the above.
    let resp =
        client.unary(PRIMARY, "echo_string", &params(vec![("value", strings(&["end"]))])).expect("still serving");
    assert_eq!(resp.value().expect("value").len(), 1);
}

fn run_all(client: &mut impl FixtureClient) {
    client.set_version(PRIMARY, "2.0.0");
    run_unary_table(client);
    run_stream_fixtures(client);
}

#[test]
fn fixtures_over_pipe() {
    let mut client = SubprocessClient::spawn(WORKER, ["--pipe"]).expect("spawn worker");
    run_all(&mut *client);
    assert!(client.close().expect("worker exits").success());
}

/// A worker started with socket flags, stopped (SIGTERM) when dropped.
struct SocketWorker {
    child: Child,
    address: String,
}

impl SocketWorker {
    fn start(args: &[&str], prefix: &str) -> Self {
        let mut child = Command::new(WORKER).args(args).stdout(Stdio::piped()).spawn().expect("spawn worker");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        StdBufReader::new(stdout).read_line(&mut line).expect("discovery line");
        let address = line.trim().strip_prefix(prefix).expect("discovery prefix").to_owned();
        Self { child, address }
    }
}

impl Drop for SocketWorker {
    fn drop(&mut self) {
        // Ask the worker to stop through its own SIGTERM handling.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

#[test]
fn fixtures_over_unix_socket() {
    let path: PathBuf = std::env::temp_dir().join(format!("vgi-fixtures-{}.sock", std::process::id()));
    let path_str = path.to_string_lossy().into_owned();
    let worker = SocketWorker::start(&["--unix", &path_str, "--threaded"], "UNIX:");
    let mut client = connect_unix(worker.address.as_ref()).expect("connect");
    run_all(&mut client);
    drop(client);
    drop(worker);
    assert!(!path.exists(), "the socket file is removed on shutdown");
}

#[test]
fn fixtures_over_tcp() {
    let worker = SocketWorker::start(&["--tcp", "127.0.0.1:0"], "TCP:");
    let mut client = connect_tcp(worker.address.as_str()).expect("connect");
    run_all(&mut client);
}

#[test]
fn fixtures_over_http() {
    let worker = SocketWorker::start(&["--http", "0"], "PORT:");
    let mut client = HttpClient::new(&format!("http://127.0.0.1:{}", worker.address)).expect("client");
    run_all(&mut client);
}

#[test]
fn fixtures_over_http_with_a_cold_call_cache_and_compressed_requests() {
    let worker = SocketWorker::start(&["--http", "0", "--no-call-state-cache"], "PORT:");
    let mut client = HttpClient::new(&format!("http://127.0.0.1:{}", worker.address)).expect("client");
    client.set_request_compression(true);
    run_all(&mut client);
}
