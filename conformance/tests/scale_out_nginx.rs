//! Scale-out behind a stock load balancer: three HTTP conformance workers
//! sharing one `--token-key` behind Debian's nginx (round robin), started on
//! loopback with a generated configuration and stopped after.
//!
//! What it shows, from each worker's own access log:
//! - unary calls spread over all three workers;
//! - producer and exchange streams opened on one worker continue on others
//!   (their state travels in the sealed tokens the workers share);
//! - sticky sessions reach the worker that holds them through the proxy: each
//!   worker echoes `x-vgi-worker: wN` on session-opening responses
//!   (`--sticky-echo`), the client replays it, and an nginx `map` routes on it
//!   (the client-driven routing of the sticky-sessions spec), with the other
//!   workers as `backup` servers of that route;
//! - after one worker is killed (SIGKILL) no stream is lost — every stream
//!   paused mid-way finishes on the survivors — and the sessions that lived in
//!   the killed worker surface the typed `session_lost`, while the others
//!   carry on.
//!
//! Without nginx it skips loudly, unless `VGI_REQUIRE_NGINX=1` (CI).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use support::nginx::{free_port, nginx_binary, scratch_dir, Nginx};
use support::*;
use vgi_rpc::http::client::{HttpClient, StreamOptions};

const WORKERS: usize = 3;
const TOKEN_KEY: &str = "5a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff0";
const ROUTE_HEADER: &str = "x-vgi-worker";

/// Three workers, their access logs, and nginx in front of them.
struct Fleet {
    workers: Vec<Worker>,
    logs: Vec<PathBuf>,
    proxy_port: u16,
    _nginx: Nginx,
}

impl Fleet {
    fn start(dir: &Path) -> Option<Self> {
        let nginx = nginx_binary()?;
        let mut workers = Vec::new();
        let mut logs = Vec::new();
        for n in 1..=WORKERS {
            let log = dir.join(format!("w{n}.jsonl"));
            let echo = format!("{ROUTE_HEADER}=w{n}");
            let server_id = format!("scaleout-w{n}");
            workers.push(Worker::start(
                &[
                    "--http",
                    "0",
                    "--token-key",
                    TOKEN_KEY,
                    "--server-id",
                    &server_id,
                    "--access-log",
                    log.to_str().expect("utf-8 path"),
                    "--sticky-echo",
                    &echo,
                ],
                "PORT:",
                None,
            ));
            logs.push(log);
        }
        let ports: Vec<u16> = workers.iter().map(|w| w.address.parse().expect("port")).collect();
        let proxy_port = free_port();
        let nginx = Nginx::start(&nginx, dir, &proxy_config(&ports, proxy_port), &[proxy_port]);
        Some(Self { workers, logs, proxy_port, _nginx: nginx })
    }

    fn client(&self) -> HttpClient {
        let mut c = HttpClient::new(&format!("http://127.0.0.1:{}", self.proxy_port)).expect("client");
        c.set_protocol_version(PRIMARY, "2.0.0");
        c.set_timeout(Some(Duration::from_secs(20)));
        c
    }

    /// Every worker's access-log records so far.
    fn records(&self) -> Vec<Vec<serde_json::Value>> {
        self.logs
            .iter()
            .map(|path| {
                std::fs::read_to_string(path)
                    .unwrap_or_default()
                    .lines()
                    .map(|l| serde_json::from_str(l).expect("access-log line is JSON"))
                    .collect()
            })
            .collect()
    }

    /// For each value of `field` (e.g. `stream_id`), the workers that logged it.
    fn workers_by(&self, field: &str) -> BTreeMap<String, BTreeSet<usize>> {
        let mut seen: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        for (worker, records) in self.records().iter().enumerate() {
            for id in records.iter().filter_map(|r| r[field].as_str()) {
                seen.entry(id.to_owned()).or_default().insert(worker);
            }
        }
        seen
    }
}

/// Round robin over the three by default; a request carrying
/// `x-vgi-worker: wN` goes to worker N, or to the others while N is down.
fn proxy_config(ports: &[u16], proxy_port: u16) -> String {
    let mut config = format!("  map $http_{} $vgi_route {{\n    default vgi_pool;\n", ROUTE_HEADER.replace('-', "_"));
    for n in 1..=ports.len() {
        config += &format!("    w{n} vgi_w{n};\n");
    }
    config += "  }\n  upstream vgi_pool {\n";
    for port in ports {
        config += &format!("    server 127.0.0.1:{port};\n");
    }
    config += "  }\n";
    for (i, own) in ports.iter().enumerate() {
        config += &format!("  upstream vgi_w{} {{\n    server 127.0.0.1:{own};\n", i + 1);
        for (j, other) in ports.iter().enumerate() {
            if j != i {
                config += &format!("    server 127.0.0.1:{other} backup;\n");
            }
        }
        config += "  }\n";
    }
    config += &format!(
        "  server {{\n    listen 127.0.0.1:{proxy_port};\n    location / {{\n      proxy_pass http://$vgi_route;\n\
         \x20     proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n\
         \x20     proxy_read_timeout 30s;\n    }}\n  }}\n"
    );
    config
}

fn one(name: &str, array: ArrayRef) -> RecordBatch {
    RecordBatch::try_from_iter([(name, array)]).expect("batch")
}

fn int(name: &str, v: i64) -> RecordBatch {
    one(name, Arc::new(Int64Array::from(vec![v])))
}

fn counter_values(batch: &RecordBatch) -> Vec<i64> {
    batch.column(0).as_primitive::<Int64Type>().values().to_vec()
}

/// `produce_n(count)` on each client, one turn per stream each round for
/// `rounds` rounds (interleaved, so a stream's consecutive turns take
/// different proxy slots); what each stream produced.
fn produce_rounds(clients: &mut [HttpClient], count: i64, rounds: usize) -> Vec<Vec<i64>> {
    let mut streams: Vec<_> = clients
        .iter_mut()
        .map(|c| c.producer(PRIMARY, "produce_n", &int("count", count), &StreamOptions::default()).expect("init"))
        .collect();
    let mut seen = vec![Vec::new(); streams.len()];
    for _ in 0..rounds {
        for (stream, seen) in streams.iter_mut().zip(&mut seen) {
            if let Some((batch, _)) = stream.next_batch().expect("producer turn") {
                seen.extend(counter_values(&batch));
            }
        }
    }
    seen
}

#[test]
fn three_workers_behind_nginx_share_streams_pin_sessions_and_survive_a_kill() {
    let dir = scratch_dir("scale-out");
    let Some(mut fleet) = Fleet::start(&dir) else { return };

    // 1. Unary calls spread round robin.
    let mut c = fleet.client();
    let unary_calls = 90;
    for i in 0..unary_calls {
        let text = format!("call {i}");
        let got = c.call(PRIMARY, "echo_string", &one("value", Arc::new(StringArray::from(vec![text.as_str()]))));
        assert_eq!(got.expect("unary through nginx").value().expect("value").as_string::<i32>().value(0), text);
    }
    assert!(eventually(Duration::from_secs(5), || {
        fleet.records().iter().map(|r| r.iter().filter(|r| r["method"] == "echo_string").count()).sum::<usize>()
            == unary_calls
    }));
    let per_worker: Vec<usize> =
        fleet.records().iter().map(|r| r.iter().filter(|r| r["method"] == "echo_string").count()).collect();
    assert!(per_worker.iter().all(|&n| n >= unary_calls / WORKERS / 2), "unary spread {per_worker:?}");

    // 2. Streams: 8 producers and 8 exchanges, turns interleaved (16 per
    //    round, so a stream's next turn lands one proxy slot further on).
    let mut producer_clients: Vec<HttpClient> = (0..8).map(|_| fleet.client()).collect();
    let produced = produce_rounds(&mut producer_clients, 6, 8);
    for values in &produced {
        assert_eq!(values, &(0..6).collect::<Vec<i64>>(), "every producer saw its whole sequence");
    }
    let mut exchange_clients: Vec<HttpClient> = (0..8).map(|_| fleet.client()).collect();
    let mut exchanges: Vec<_> = exchange_clients
        .iter_mut()
        .map(|c| {
            c.exchange(PRIMARY, "exchange_accumulate", &vgi_rpc::http::client::no_params(), &StreamOptions::default())
                .expect("exchange init")
        })
        .collect();
    for round in 1..=6 {
        for (k, exchange) in exchanges.iter_mut().enumerate() {
            let input = one("value", Arc::new(Float64Array::from(vec![(k + 1) as f64])));
            let (out, _) = exchange.exchange(&input).expect("exchange turn");
            let sum = out.column(0).as_primitive::<Float64Type>().value(0);
            let turns = out.column(1).as_primitive::<Int64Type>().value(0);
            assert_eq!((sum, turns), ((k + 1) as f64 * round as f64, round), "exchange {k} round {round}");
        }
    }
    for exchange in exchanges {
        exchange.close().expect("close exchange");
    }
    drop(exchange_clients);
    let streams = fleet.workers_by("stream_id");
    let moved = streams.values().filter(|w| w.len() > 1).count();
    assert_eq!(streams.len(), 16, "16 streams logged: {streams:?}");
    assert!(moved >= 8, "only {moved} of 16 streams continued on another worker: {streams:?}");

    // 3. Sessions: opened round robin, then pinned through the proxy.
    let mut sessions: Vec<(HttpClient, i64, usize)> = Vec::new();
    for i in 0..6 {
        let mut s = fleet.client();
        s.begin_session(None);
        let initial = 100 * (i + 1);
        let opened = s.call(PRIMARY, "open_counter", &int("initial", initial)).expect("open a session");
        assert_eq!(int_value(opened.value().expect("value")), initial);
        let route = s
            .session_echo_headers()
            .into_iter()
            .find(|(name, _)| name == ROUTE_HEADER)
            .map(|(_, value)| value)
            .expect("the worker's route echo");
        let owner: usize = route.trim_start_matches('w').parse::<usize>().expect("wN") - 1;
        for step in 1..=4 {
            let got = s.call(PRIMARY, "increment_counter", &int("by", 1)).expect("a pinned session call");
            assert_eq!(int_value(got.value().expect("value")), initial + step, "session {i} step {step}");
        }
        sessions.push((s, initial + 4, owner));
    }
    let by_session = fleet.workers_by("session_id");
    assert_eq!(by_session.len(), 6, "{by_session:?}");
    assert!(by_session.values().all(|w| w.len() == 1), "a session's calls reached one worker: {by_session:?}");
    let mut pinned = [0usize; WORKERS];
    for (_, _, owner) in &sessions {
        pinned[*owner] += 1;
    }
    assert!(pinned.iter().all(|&n| n >= 1), "sessions opened on every worker: {pinned:?}");

    // 4. Streams paused mid-way, then worker 3 is killed.
    let mut paused_clients: Vec<HttpClient> = (0..7).map(|_| fleet.client()).collect();
    let mut paused: Vec<_> = paused_clients
        .iter_mut()
        .map(|c| c.producer(PRIMARY, "produce_n", &int("count", 6), &StreamOptions::default()).expect("init"))
        .collect();
    let mut paused_seen = vec![Vec::new(); paused.len()];
    for _ in 0..2 {
        for (stream, seen) in paused.iter_mut().zip(&mut paused_seen) {
            let (batch, _) = stream.next_batch().expect("turn before the kill").expect("a batch");
            seen.extend(counter_values(&batch));
        }
    }
    let killed = WORKERS - 1;
    fleet.workers[killed].child.kill().expect("SIGKILL worker 3");
    fleet.workers[killed].child.wait().expect("reap worker 3");

    let mut lost_streams = 0;
    for (stream, seen) in paused.iter_mut().zip(&mut paused_seen) {
        loop {
            match stream.next_batch() {
                Ok(Some((batch, _))) => seen.extend(counter_values(&batch)),
                Ok(None) => break,
                Err(e) => {
                    eprintln!("stream lost after the kill: {e}");
                    lost_streams += 1;
                    break;
                }
            }
        }
    }
    drop(paused);
    assert_eq!(lost_streams, 0, "streams lost after the kill");
    for seen in &paused_seen {
        assert_eq!(seen, &(0..6).collect::<Vec<i64>>(), "a paused stream finished on the survivors");
    }
    for i in 0..30 {
        let got = c.call(PRIMARY, "echo_string", &one("value", Arc::new(StringArray::from(vec!["after"]))));
        assert!(got.is_ok(), "unary call {i} after the kill: {:?}", got.err());
    }

    let mut sessions_lost = 0;
    for (s, value, owner) in &mut sessions {
        match s.call(PRIMARY, "increment_counter", &int("by", 1)) {
            Ok(got) => {
                assert_ne!(*owner, killed, "a session of the killed worker answered");
                assert_eq!(int_value(got.value().expect("value")), *value + 1);
            }
            Err(e) => {
                assert_eq!(*owner, killed, "a session on a live worker failed: {e}");
                assert!(e.is_session_lost(), "the killed worker's session surfaces session_lost: {e}");
                sessions_lost += 1;
            }
        }
    }
    assert_eq!(sessions_lost, pinned[killed]);

    eprintln!(
        "scale-out: {} unary calls spread {per_worker:?}; {moved} of {} streams moved between workers; \
         sessions pinned {pinned:?}; after SIGKILL of worker 3: {} paused streams finished, lost {lost_streams}; \
         {sessions_lost} sessions of worker 3 surfaced session_lost, {} others carried on",
        unary_calls + 30,
        streams.len(),
        paused_seen.len(),
        sessions.len() - sessions_lost
    );
    drop(fleet);
    let _ = std::fs::remove_dir_all(&dir);
}
