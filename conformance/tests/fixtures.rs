//! One table of fixtures — method, arguments, expected result / error /
//! logs — run with the project's own client over every byte-stream
//! transport the worker has: pipe (subprocess), Unix socket and TCP.

use std::io::{BufRead, BufReader as StdBufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use vgi_rpc::core::client::no_params;
use vgi_rpc::core::{Client, LogLevel, StreamOptions};
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

fn run_unary_table<R: Read, W: Write>(client: &mut Client<R, W>) {
    for fx in table() {
        let got = client.call(fx.protocol, fx.method, &fx.params);
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

fn run_stream_fixtures<R: Read, W: Write>(client: &mut Client<R, W>) {
    let count = params(vec![("count", Arc::new(Int64Array::from(vec![3])) as ArrayRef)]);
    let mut p = client.producer(PRIMARY, "produce_n", &count, &StreamOptions::default()).expect("produce_n");
    let batches = p.collect_all().expect("batches");
    let values: Vec<i64> = batches.iter().map(|(b, _)| b.column(1).as_primitive::<Int64Type>().value(0)).collect();
    assert_eq!(values, vec![0, 10, 20]);
    drop(p);

    let factor = params(vec![("factor", Arc::new(Float64Array::from(vec![2.0])) as ArrayRef)]);
    let mut x = client.exchange(PRIMARY, "exchange_scale", &factor, &StreamOptions::default()).expect("exchange");
    let schema = Arc::new(Schema::new(vec![Field::new("value", DataType::Float64, false)]));
    let input = RecordBatch::try_new(schema.clone(), vec![Arc::new(Float64Array::from(vec![1.0, 2.5]))]).unwrap();
    let (out, _) = x.exchange(&input).expect("one exchange");
    assert_eq!(out.column(0).as_primitive::<Float64Type>().values(), &[2.0, 5.0]);
    x.close(&schema).expect("close");

    let mut e = client
        .producer(
            PRIMARY,
            "produce_error_mid_stream",
            &params(vec![("emit_before_error", Arc::new(Int64Array::from(vec![1])) as ArrayRef)]),
            &StreamOptions::default(),
        )
        .expect("init ok");
    assert!(e.next_batch().expect("first batch").is_some());
    let err = e.next_batch().expect_err("second turn fails");
    assert_eq!(err.remote().expect("remote").error_type, "RuntimeError");
    drop(e);

    // The connection is still usable after all of the above.
    let resp = client.call(PRIMARY, "echo_string", &params(vec![("value", strings(&["end"]))])).expect("still serving");
    assert_eq!(resp.value().expect("value").len(), 1);
}

fn run_all<R: Read, W: Write>(client: &mut Client<R, W>) {
    client.set_protocol_version(PRIMARY, "2.0.0");
    run_unary_table(client);
    run_stream_fixtures(client);
}

#[test]
fn fixtures_over_pipe() {
    let mut client = SubprocessClient::spawn(WORKER, ["--pipe"]).expect("spawn worker");
    run_all(&mut client);
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
