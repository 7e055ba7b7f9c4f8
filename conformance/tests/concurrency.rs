//! Socket workers under concurrent load: one connection's abrupt close never
//! affects another, and the connection cap makes extra clients wait.

use std::io::{BufRead, BufReader};
use std::net::Shutdown;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use vgi_rpc::rpc::StreamOptions;
use vgi_rpc::stdio::connect_unix;

const WORKER: &str = env!("CARGO_BIN_EXE_vgi-rpc-conformance");
const PRIMARY: &str = "ConformanceService";

struct Worker {
    child: Child,
    path: String,
}

impl Worker {
    fn start(name: &str, extra: &[&str]) -> Self {
        let path =
            std::env::temp_dir().join(format!("vgi-{name}-{}.sock", std::process::id())).to_string_lossy().into_owned();
        let mut args = vec!["--unix", path.as_str(), "--threaded"];
        args.extend_from_slice(extra);
        let mut child = Command::new(WORKER).args(&args).stdout(Stdio::piped()).spawn().expect("spawn");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("discovery");
        assert_eq!(line.trim(), format!("UNIX:{path}"));
        Self { child, path }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

fn count_params(n: i64) -> RecordBatch {
    RecordBatch::try_from_iter([("count", Arc::new(Int64Array::from(vec![n])) as ArrayRef)]).unwrap()
}

#[test]
fn killing_half_of_32_connections_mid_stream_leaves_the_rest_correct() {
    let worker = Worker::start("conc32", &[]);
    let barrier = Arc::new(Barrier::new(32));
    let handles: Vec<_> = (0..32)
        .map(|i| {
            let path = worker.path.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut client = connect_unix(path.as_ref()).expect("connect client");
                client.set_protocol_version(PRIMARY, "2.0.0");
                let mut s =
                    client.producer(PRIMARY, "produce_n", &count_params(20), &StreamOptions::default()).expect("init");
                for _ in 0..5 {
                    s.next_batch().expect("early batch").expect("not finished");
                }
                barrier.wait(); // every stream is in flight here
                if i % 2 == 0 {
                    // Abrupt close mid-stream: skip the session's graceful
                    // close (which would send EOS) and cut the socket.
                    std::mem::forget(s);
                    let (r, w) = client.into_parts();
                    let _ = r.get_ref().0.shutdown(Shutdown::Both);
                    drop((r, w));
                    return None;
                }
                let rest: Vec<i64> = s
                    .collect_all()
                    .expect("remaining batches")
                    .iter()
                    .map(|(b, _)| b.column(0).as_primitive::<Int64Type>().value(0))
                    .collect();
                assert_eq!(rest, (5..20).collect::<Vec<_>>(), "connection {i}");
                drop(s);
                let value =
                    RecordBatch::try_from_iter([("value", Arc::new(StringArray::from(vec!["ok"])) as ArrayRef)])
                        .unwrap();
                let resp = client.call(PRIMARY, "echo_string", &value).expect("unary after stream");
                Some(resp.value().expect("value").as_string::<i32>().value(0).to_owned())
            })
        })
        .collect();
    let results: Vec<Option<String>> = handles.into_iter().map(|h| h.join().expect("thread")).collect();
    let completed = results.iter().filter(|r| r.as_deref() == Some("ok")).count();
    assert_eq!(completed, 16);
    // The worker still serves new connections.
    let mut client = connect_unix(worker.path.as_ref()).expect("connect after");
    client.set_protocol_version(PRIMARY, "2.0.0");
    let mut s = client.producer(PRIMARY, "produce_n", &count_params(2), &StreamOptions::default()).unwrap();
    assert_eq!(s.collect_all().unwrap().len(), 2);
}

#[test]
fn extra_connections_wait_for_a_slot() {
    let worker = Worker::start("cap", &["--max-connections", "1"]);
    let mut first = connect_unix(worker.path.as_ref()).expect("first");
    first.set_protocol_version(PRIMARY, "2.0.0");
    first.call(PRIMARY, "void_noop", &vgi_rpc::rpc::client::no_params()).expect("first call");
    let path = worker.path.clone();
    let started = Instant::now();
    let second = std::thread::spawn(move || {
        let mut second = connect_unix(path.as_ref()).expect("second connects (queued)");
        second.set_protocol_version(PRIMARY, "2.0.0");
        second.call(PRIMARY, "void_noop", &vgi_rpc::rpc::client::no_params()).expect("second call");
        started.elapsed()
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(!second.is_finished(), "the second connection must wait while the cap is reached");
    drop(first);
    let waited = second.join().expect("second thread");
    assert!(waited >= Duration::from_millis(300), "served only after the first closed ({waited:?})");
}
