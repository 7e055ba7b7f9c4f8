//! Our clients against a worker that externalizes (run by
//! `conformance/scripts/external-interop.sh` against the reference worker
//! wired to the reference's fake storage): results, stream batches and
//! exchange outputs arrive as pointers that our clients fetch (ranged, from
//! the fake storage), verify and decode; the data must be exactly what the
//! method computes, and the provenance key must show a pointer was resolved.
//! Large inputs leave by pointer too: over HTTP through the server's
//! upload URLs, over a pipe through our own fake-storage upload.
//!
//! ```text
//! external_interop --url http://127.0.0.1:PORT --storage http://127.0.0.1:SPORT
//! external_interop --cmd "WORKER --pipe --fake-storage URL ..." --storage http://127.0.0.1:SPORT
//! ```
//!
//! Prints one `ok`/`FAIL` line per check and exits 1 when any check failed.

use std::process::{Command, ExitCode};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, BinaryArray, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use vgi_rpc::http::client::HttpClient;
use vgi_rpc::rpc::{Metadata, StreamOptions, SystemClock, UnaryResponse};
use vgi_rpc::stdio::subprocess::SubprocessClient;
use vgi_rpc::wire::keys;
use vgi_rpc_storage::{FakeStorage, FetchConfig, HttpFetcher, UrlPolicy};

const PROTOCOL: &str = "ConformanceService";
const VERSION: &str = "2.0.0";
/// Rows per produced batch and the number of batches.
const ROWS: i64 = 20_000;
const BATCHES: i64 = 3;
/// Size of the large unary input (over the servers' request thresholds).
const INPUT_BYTES: usize = 300 * 1024;

type Check = Result<(), String>;

fn bytes_param(data: &[u8]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("data", DataType::Binary, false)]));
    RecordBatch::try_new(schema, vec![Arc::new(BinaryArray::from_vec(vec![data]))]).expect("params")
}

fn producer_params() -> RecordBatch {
    RecordBatch::try_from_iter([
        ("rows_per_batch", Arc::new(Int64Array::from(vec![ROWS])) as ArrayRef),
        ("batch_count", Arc::new(Int64Array::from(vec![BATCHES])) as ArrayRef),
    ])
    .expect("params")
}

fn scale_params() -> RecordBatch {
    RecordBatch::try_from_iter([("factor", Arc::new(Float64Array::from(vec![2.5])) as ArrayRef)]).expect("params")
}

fn scale_input(n: usize) -> RecordBatch {
    let values: Vec<f64> = (0..n).map(|i| i as f64 * 0.5).collect();
    RecordBatch::try_from_iter([("value", Arc::new(Float64Array::from(values)) as ArrayRef)]).expect("input")
}

/// Deterministic bytes (a misplaced range would show).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 253) as u8).collect()
}

fn resolved(metadata: &Metadata, what: &str) -> Check {
    match metadata.get(keys::LOCATION_SOURCE) {
        Some(source) if !source.is_empty() => Ok(()),
        _ => Err(format!("{what} carries no {} (no pointer was resolved)", keys::LOCATION_SOURCE)),
    }
}

fn check_bytes(resp: &UnaryResponse, expected: &[u8], must_resolve: bool) -> Check {
    let value = resp.value().ok_or("no result column")?;
    let got = value.as_binary_opt::<i32>().ok_or("result is not binary")?;
    if got.len() != 1 || got.value(0) != expected {
        return Err(format!("echo_bytes returned {} different bytes", got.value(0).len()));
    }
    if must_resolve {
        resolved(&resp.metadata, "the echo_bytes result")?;
    }
    Ok(())
}

fn check_produced(batches: &[(RecordBatch, Metadata)]) -> Check {
    if batches.len() != BATCHES as usize {
        return Err(format!("expected {BATCHES} batches, got {}", batches.len()));
    }
    for (n, (batch, metadata)) in batches.iter().enumerate() {
        let index = batch.column_by_name("index").and_then(|c| c.as_primitive_opt::<Int64Type>()).ok_or("no index")?;
        let value = batch.column_by_name("value").and_then(|c| c.as_primitive_opt::<Int64Type>()).ok_or("no value")?;
        let offset = n as i64 * ROWS;
        let ok = batch.num_rows() == ROWS as usize
            && (0..ROWS as usize)
                .all(|i| index.value(i) == offset + i as i64 && value.value(i) == 10 * (offset + i as i64));
        if !ok {
            return Err(format!("batch {n} does not hold rows {offset}..{}", offset + ROWS));
        }
        resolved(metadata, &format!("batch {n}"))?;
    }
    Ok(())
}

fn check_scaled(input: &RecordBatch, output: &RecordBatch, metadata: &Metadata, must_resolve: bool) -> Check {
    let inputs = input.column(0).as_primitive::<Float64Type>();
    let outputs = output.column_by_name("value").and_then(|c| c.as_primitive_opt::<Float64Type>()).ok_or("no value")?;
    if outputs.len() != inputs.len() || inputs.iter().zip(outputs.iter()).any(|(a, b)| a.map(|a| a * 2.5) != b) {
        return Err("exchange_scale output is not the input times 2.5".into());
    }
    if must_resolve {
        resolved(metadata, "the exchange output")?;
    }
    Ok(())
}

fn fetcher() -> Arc<HttpFetcher> {
    Arc::new(HttpFetcher::new(FetchConfig {
        policy: UrlPolicy::HttpsOnly { allow_loopback_http: true },
        // Small ranges, so the parallel path runs against the fake storage.
        range_chunk_bytes: 64 * 1024,
        max_parallel_requests: 4,
        ..FetchConfig::default()
    }))
}

fn report(results: &mut Vec<(String, Check)>, name: &str, check: Check) {
    results.push((name.to_owned(), check));
}

/// Objects the fake storage holds (`GET /_stats`), or 0 without one.
fn objects(storage: Option<&str>) -> i64 {
    let Some(base) = storage else { return 0 };
    let stats = HttpFetcher::new(FetchConfig { policy: UrlPolicy::AllowAll, ..FetchConfig::default() })
        .fetch_bytes(&format!("{base}/_stats"))
        .ok()
        .and_then(|body| serde_json::from_slice::<serde_json::Value>(&body).ok());
    stats.and_then(|s| s.get("object_count").and_then(serde_json::Value::as_i64)).unwrap_or(-1)
}

/// `check`, and the fake storage gained `expected` objects meanwhile.
fn stored(storage: Option<&str>, before: i64, expected: i64, check: Check) -> Check {
    check?;
    let gained = objects(storage) - before;
    match storage {
        Some(_) if gained != expected => Err(format!("the fake storage gained {gained} objects, expected {expected}")),
        _ => Ok(()),
    }
}

fn run_http(url: &str, storage: Option<&str>, results: &mut Vec<(String, Check)>) {
    let mut client = match HttpClient::new(url) {
        Ok(c) => c,
        Err(e) => return report(results, "http connect", Err(e.to_string())),
    };
    client.set_protocol_version(PROTOCOL, VERSION);
    client.set_pointer_resolver(fetcher(), Arc::new(SystemClock::new()));

    let small = pattern(1024);
    let unary = client.call(PROTOCOL, "echo_bytes", &bytes_param(&small)).map_err(|e| e.to_string());
    report(results, "http unary small, inline", unary.and_then(|r| check_bytes(&r, &small, false)));

    let producer = client
        .producer(PROTOCOL, "produce_large_batches", &producer_params(), &StreamOptions::default())
        .and_then(|mut s| s.collect_all())
        .map_err(|e| e.to_string());
    report(results, "http producer batches by pointer", producer.and_then(|b| check_produced(&b)));

    // Over the advertised request cap (the capabilities are known by now).
    let input = scale_input(50_000);
    let before = objects(storage);
    let exchanged = client
        .exchange(PROTOCOL, "exchange_scale", &scale_params(), &StreamOptions::default())
        .and_then(|mut s| s.exchange(&input))
        .map_err(|e| e.to_string());
    let check = exchanged.and_then(|(b, m)| check_scaled(&input, &b, &m, true));
    report(results, "http exchange: input by upload URL, output by pointer", stored(storage, before, 2, check));

    let big = pattern(INPUT_BYTES);
    let before = objects(storage);
    let unary = client.call(PROTOCOL, "echo_bytes", &bytes_param(&big)).map_err(|e| e.to_string());
    let uploaded = match client.upload_capabilities() {
        Some(c) if c.upload_url_support => Ok(()),
        other => Err(format!("the server advertised no upload URLs: {other:?}")),
    };
    let check = unary.and_then(|r| check_bytes(&r, &big, true)).and(uploaded);
    report(results, "http unary: input by upload URL, result by pointer", stored(storage, before, 2, check));
}

fn run_pipe(cmd: &str, storage: Option<&str>, results: &mut Vec<(String, Check)>) {
    let mut command = Command::new("sh");
    command.arg("-c").arg(format!("exec {cmd}"));
    let mut client = match SubprocessClient::from_command(command) {
        Ok(c) => c,
        Err(e) => return report(results, "pipe spawn", Err(e.to_string())),
    };
    client.set_protocol_version(PROTOCOL, VERSION);
    client.set_pointer_resolver(fetcher(), Arc::new(SystemClock::new()));

    let big = pattern(INPUT_BYTES);
    let unary = client.call(PROTOCOL, "echo_bytes", &bytes_param(&big)).map_err(|e| e.to_string());
    report(results, "pipe unary result by pointer", unary.and_then(|r| check_bytes(&r, &big, true)));

    let producer = client
        .producer(PROTOCOL, "produce_large_batches", &producer_params(), &StreamOptions::default())
        .and_then(|mut s| s.collect_all())
        .map_err(|e| e.to_string());
    report(results, "pipe producer batches by pointer", producer.and_then(|b| check_produced(&b)));

    let Some(storage) = storage else { return };
    client.set_input_externalization(Arc::new(FakeStorage::new(storage)), 64 * 1024);
    let before = objects(Some(storage));
    let unary = client.call(PROTOCOL, "echo_bytes", &bytes_param(&big)).map_err(|e| e.to_string());
    let check = unary.and_then(|r| check_bytes(&r, &big, true));
    report(results, "pipe unary: input by our upload, result by pointer", stored(Some(storage), before, 2, check));
    let input = scale_input(50_000);
    let before = objects(Some(storage));
    let exchanged = client
        .exchange(PROTOCOL, "exchange_scale", &scale_params(), &StreamOptions::default())
        .and_then(|mut s| {
            let out = s.exchange(&input)?;
            s.close(&input.schema())?;
            Ok(out)
        })
        .map_err(|e| e.to_string());
    let check = exchanged.and_then(|(b, m)| check_scaled(&input, &b, &m, true));
    report(results, "pipe exchange: input by our upload, output by pointer", stored(Some(storage), before, 2, check));
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let storage = value("--storage");
    let mut results = Vec::new();
    match (value("--url"), value("--cmd")) {
        (Some(url), None) => run_http(&url, storage.as_deref(), &mut results),
        (None, Some(cmd)) => run_pipe(&cmd, storage.as_deref(), &mut results),
        _ => {
            eprintln!("usage: external_interop (--url URL | --cmd COMMAND) [--storage FAKE_STORAGE_URL]");
            return ExitCode::from(2);
        }
    }
    let mut failed = 0;
    for (name, check) in &results {
        match check {
            Ok(()) => println!("ok   {name}"),
            Err(e) => {
                failed += 1;
                println!("FAIL {name}: {e}");
            }
        }
    }
    println!("{} passed, {failed} failed", results.len() - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
