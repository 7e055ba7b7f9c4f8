//! The worker's S3 backend (`--storage s3://…`) against a real S3 server:
//! `s3s-fs` on a loopback port over a temporary directory, with known
//! credentials. A 256 MiB result round-trips through presigned URLs over
//! HTTP and over a pipe, with the worker's peak RSS measured; a wrong
//! credential, a missing bucket, an expired URL and a corrupted object
//! each reach the caller as a clear error; vended upload URL pairs work.
//!
//! Without an `s3s-fs` binary (on PATH or in ~/.cargo/bin) the tests skip
//! with a loud message, unless `VGI_REQUIRE_S3=1` (CI), where they fail.
//! Install it with `cargo install s3s-fs --version 0.14.1 --features binary --locked`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, BinaryArray, Int64Array, RecordBatch};
use vgi_rpc::http::client::HttpClient;
use vgi_rpc::rpc::external::StorageError;
use vgi_rpc::rpc::{CallError, ExternalStorage, PointerResolver, StreamOptions, SystemClock};
use vgi_rpc::stdio::SubprocessClient;
use vgi_rpc_storage::{FetchConfig, HttpFetcher, ObjectConfig, ObjectStorage, UrlPolicy};

const WORKER: &str = env!("CARGO_BIN_EXE_vgi-rpc-conformance");
const PRIMARY: &str = "ConformanceService";
const MIB: u64 = 1024 * 1024;
const ACCESS_KEY: &str = "vgi-test-access";
const SECRET_KEY: &str = "vgi-test-secret-0123456789";
const BUCKET: &str = "vgi-results";

/// The `s3s-fs` binary, or `None` after a loud skip notice (a panic when
/// `VGI_REQUIRE_S3=1`).
fn s3s_fs() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("s3s-fs")).collect::<Vec<_>>())
        .unwrap_or_default();
    let cargo_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/s3s-fs"));
    let found = on_path.into_iter().chain(cargo_bin).find(|p| p.is_file());
    if found.is_none() {
        let message = "s3s-fs is not installed (cargo install s3s-fs --version 0.14.1 --features binary --locked)";
        if std::env::var("VGI_REQUIRE_S3").as_deref() == Ok("1") {
            panic!("VGI_REQUIRE_S3=1 but {message}");
        }
        eprintln!("\n!!!!!!!! SKIPPED: the S3 integration tests did not run: {message} !!!!!!!!\n");
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A running `s3s-fs` over a scratch directory, with `BUCKET` created.
struct S3Server {
    child: Child,
    port: u16,
    root: PathBuf,
}

impl S3Server {
    fn start(binary: &Path, name: &str) -> Self {
        let root = std::env::temp_dir().join(format!("vgi-s3-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        // s3s-fs keeps a bucket as a directory under its root.
        std::fs::create_dir_all(root.join(BUCKET)).expect("bucket directory");
        let port = free_port();
        let child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn s3s-fs");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port, root }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An ObjectStorage on this server's bucket (for client-side uploads).
    fn storage(&self, prefix: &str) -> Arc<ObjectStorage> {
        let options: Vec<(String, String)> =
            self.env(SECRET_KEY).into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        let url = format!("s3://{BUCKET}/{prefix}");
        Arc::new(ObjectStorage::from_url_with_options(&url, ObjectConfig::default(), &options).expect("storage"))
    }

    /// The S3 environment a worker gets.
    /// `VGI_S3_UNSIGNED_PAYLOAD=1` (the bench's comparison run) adds
    /// `AWS_UNSIGNED_PAYLOAD=true`: no SHA-256 of each part for SigV4.
    fn env(&self, secret: &str) -> Vec<(&'static str, String)> {
        let unsigned = std::env::var("VGI_S3_UNSIGNED_PAYLOAD").is_ok_and(|v| v == "1");
        let mut env = vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", secret.to_owned()),
            ("AWS_ENDPOINT", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
        ];
        if unsigned {
            env.push(("AWS_UNSIGNED_PAYLOAD", "true".to_owned()));
        }
        env
    }
}

/// The file s3s-fs (serving `root`) keeps an object's bytes in, from the
/// object's presigned URL.
fn object_file(root: &Path, url: &str) -> PathBuf {
    let path = url.split("://").nth(1).and_then(|rest| rest.split_once('/')).map(|(_, p)| p).unwrap_or("");
    root.join(path.split('?').next().unwrap_or(""))
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The worker command: `--storage` on `url`, the S3 environment (and no
/// other AWS_* variables), plus `extra` flags.
fn worker_command(server: &S3Server, url: &str, secret: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(WORKER);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(server.env(secret))
        .args(["--storage", url, "--allow-loopback-http", "--externalize-threshold", "1048576"])
        .args(extra);
    // VGI_S3_TEST_STDERR=1 shows the workers' logs.
    if std::env::var_os("VGI_S3_TEST_STDERR").is_none() {
        cmd.stderr(Stdio::null());
    }
    cmd
}

/// A worker serving HTTP; killed on drop.
struct HttpWorker {
    child: Child,
    port: u16,
}

impl HttpWorker {
    fn start(mut cmd: Command) -> Self {
        let mut child = cmd.arg("--http").stdout(Stdio::piped()).spawn().expect("spawn worker");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("discovery line");
        let port = line.trim().strip_prefix("PORT:").and_then(|p| p.parse().ok()).expect("PORT line");
        Self { child, port }
    }

    fn client(&self, resolver: Arc<dyn PointerResolver>) -> HttpClient {
        let mut client = HttpClient::new(&format!("http://127.0.0.1:{}", self.port)).expect("client");
        client.set_timeout(Some(Duration::from_secs(300)));
        client.set_pointer_resolver(resolver, Arc::new(SystemClock::new()));
        client.set_protocol_version(PRIMARY, "2.0.0");
        client
    }
}

impl Drop for HttpWorker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pipe_client(cmd: Command, resolver: Arc<dyn PointerResolver>) -> SubprocessClient {
    let mut client = SubprocessClient::from_command(cmd).expect("spawn worker");
    client.set_pointer_resolver(resolver, Arc::new(SystemClock::new()));
    client.set_protocol_version(PRIMARY, "2.0.0");
    client
}

/// What the clients fetch presigned URLs with: loopback http allowed.
fn fetcher() -> Arc<HttpFetcher> {
    Arc::new(HttpFetcher::new(FetchConfig {
        max_fetch_bytes: 1024 * MIB,
        policy: UrlPolicy::HttpsOnly { allow_loopback_http: true },
        timeout: Duration::from_secs(300),
        ..FetchConfig::default()
    }))
}

fn large_params(rows: i64) -> RecordBatch {
    RecordBatch::try_from_iter([
        ("rows_per_batch", Arc::new(Int64Array::from(vec![rows])) as ArrayRef),
        ("batch_count", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
    ])
    .expect("params")
}

/// Check `produce_large_batches`' single batch of `rows` `{index, value}` rows.
fn check_counter_batches(batches: &[RecordBatch], rows: i64) {
    assert_eq!(batches.len(), 1, "one data batch");
    let batch = &batches[0];
    assert_eq!(batch.num_rows() as i64, rows);
    let index = batch.column(0).as_primitive::<Int64Type>();
    let value = batch.column(1).as_primitive::<Int64Type>();
    for i in [0, rows / 3, rows - 1] {
        assert_eq!(index.value(i as usize), i);
        assert_eq!(value.value(i as usize), i * 10);
    }
}

/// CPU seconds (user + system) `pid` has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesized command: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz.max(1.0)
}

/// Peak resident memory (VmHWM) of `pid`, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()).expect("VmHWM value") * 1024
}

fn produce_over_pipe(client: &mut SubprocessClient, rows: i64) -> Result<Vec<RecordBatch>, CallError> {
    let mut stream =
        client.producer(PRIMARY, "produce_large_batches", &large_params(rows), &StreamOptions::default())?;
    Ok(stream.collect_all()?.into_iter().map(|(b, _)| b).collect())
}

/// `oversized_unary`: a unary result of `bytes` zero bytes, over a pipe.
fn unary_over_pipe(client: &mut SubprocessClient, bytes: i64) -> Result<Vec<RecordBatch>, CallError> {
    let params = RecordBatch::try_from_iter([("target_bytes", Arc::new(Int64Array::from(vec![bytes])) as ArrayRef)])
        .expect("params");
    let response = client.call(PRIMARY, "oversized_unary", &params)?;
    let value = response.value().expect("a result value");
    assert_eq!(value.as_binary::<i32>().value(0).len() as i64, bytes);
    Ok(Vec::new())
}

fn produce_over_http(client: &mut HttpClient, rows: i64) -> Result<Vec<RecordBatch>, CallError> {
    let mut stream =
        client.producer(PRIMARY, "produce_large_batches", &large_params(rows), &StreamOptions::default())?;
    Ok(stream.collect_all()?.into_iter().map(|(b, _)| b).collect())
}

/// 16 Mi rows of two Int64 columns: one 256 MiB batch.
const BIG_ROWS: i64 = 16 * 1024 * 1024;
/// 256 Ki rows: a 4 MiB batch, over the 1 MiB threshold.
const SMALL_ROWS: i64 = 256 * 1024;
/// A 4 MiB unary result.
const SMALL_BYTES: i64 = 4 * 1024 * 1024;

#[test]
fn a_256_mib_result_round_trips_over_http_and_pipe_within_twice_the_batch() {
    let Some(binary) = s3s_fs() else { return };
    let server = S3Server::start(&binary, "big");
    let url = format!("s3://{BUCKET}/results");
    let batch_bytes = (BIG_ROWS * 16) as u64;

    let worker = HttpWorker::start(worker_command(&server, &url, SECRET_KEY, &[]));
    let mut client = worker.client(fetcher());
    let batches = produce_over_http(&mut client, BIG_ROWS).expect("256 MiB over HTTP");
    check_counter_batches(&batches, BIG_ROWS);
    drop(batches);
    let http_peak = peak_rss(worker.child.id());
    eprintln!("worker peak RSS serving 256 MiB over HTTP: {:.1} MiB", http_peak as f64 / MIB as f64);
    assert!(http_peak < 2 * batch_bytes, "HTTP worker peak RSS {http_peak} >= 2 x {batch_bytes}");
    drop(worker);

    let mut client = pipe_client(worker_command(&server, &url, SECRET_KEY, &[]), fetcher());
    let batches = produce_over_pipe(&mut client, BIG_ROWS).expect("256 MiB over a pipe");
    check_counter_batches(&batches, BIG_ROWS);
    drop(batches);
    let pipe_peak = peak_rss(client.pid());
    eprintln!("worker peak RSS serving 256 MiB over a pipe: {:.1} MiB", pipe_peak as f64 / MIB as f64);
    assert!(pipe_peak < 2 * batch_bytes, "pipe worker peak RSS {pipe_peak} >= 2 x {batch_bytes}");
    client.close().expect("worker exits");
}

/// Every JSON line of an access-log file.
fn log_records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("access log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("access-log line is JSON"))
        .collect()
}

#[test]
fn access_log_records_count_externalized_and_state_token_bytes() {
    let Some(binary) = s3s_fs() else { return };
    let server = S3Server::start(&binary, "logged");
    let url = format!("s3://{BUCKET}/logged");
    let dir = std::env::temp_dir().join(format!("vgi-s3-access-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let batch_bytes = (SMALL_ROWS * 16) as u64;

    // HTTP: /init opens the stream and mints both tokens; the one
    // continuation carries them back and finds the stream finished.
    let http_log = dir.join("http.jsonl");
    let worker = HttpWorker::start(worker_command(
        &server,
        &url,
        SECRET_KEY,
        &["--access-log", http_log.to_str().expect("utf-8")],
    ));
    let mut client = worker.client(fetcher());
    check_counter_batches(&produce_over_http(&mut client, SMALL_ROWS).expect("4 MiB over HTTP"), SMALL_ROWS);
    assert!(client.call(PRIMARY, "echo_string", &echo_string("x")).is_ok());
    drop(worker);
    let records = log_records(&http_log);
    let stream: Vec<&serde_json::Value> = records.iter().filter(|r| r["method"] == "produce_large_batches").collect();
    assert!(stream.len() >= 2, "an /init record and a continuation: {stream:?}");
    let externalized: u64 = stream.iter().filter_map(|r| r["externalized_bytes"].as_u64()).sum();
    assert!(
        externalized >= batch_bytes && externalized < batch_bytes + MIB,
        "the 4 MiB batch went to S3 once: {externalized} bytes logged"
    );
    assert!(stream[0]["response_state_bytes"].as_u64().is_some_and(|n| n > 32), "init mints tokens: {}", stream[0]);
    assert!(stream[0].get("request_state_bytes").is_none(), "init carries no token: {}", stream[0]);
    for turn in &stream[1..] {
        assert!(turn["request_state_bytes"].as_u64().is_some_and(|n| n > 32), "a continuation carries tokens: {turn}");
    }
    let unary = records.iter().find(|r| r["method"] == "echo_string").expect("the unary record");
    for field in ["request_state_bytes", "response_state_bytes", "externalized_bytes"] {
        assert!(unary.get(field).is_none(), "a small unary call moves no {field}: {unary}");
    }

    // A pipe: one record for the whole stream, no tokens, the same upload.
    let pipe_log = dir.join("pipe.jsonl");
    let mut client = pipe_client(
        worker_command(&server, &url, SECRET_KEY, &["--access-log", pipe_log.to_str().expect("utf-8")]),
        fetcher(),
    );
    check_counter_batches(&produce_over_pipe(&mut client, SMALL_ROWS).expect("4 MiB over a pipe"), SMALL_ROWS);
    client.close().expect("worker exits");
    let records = log_records(&pipe_log);
    let stream = records.iter().find(|r| r["method"] == "produce_large_batches").expect("the stream's record");
    let externalized = stream["externalized_bytes"].as_u64().expect("externalized_bytes on the pipe record");
    assert!(externalized >= batch_bytes && externalized < batch_bytes + MIB, "{externalized}");
    assert!(stream.get("request_state_bytes").is_none() && stream.get("response_state_bytes").is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

fn echo_string(text: &str) -> RecordBatch {
    RecordBatch::try_from_iter([("value", Arc::new(arrow_array::StringArray::from(vec![text])) as ArrayRef)])
        .expect("params")
}

#[test]
fn zstd_objects_carry_their_content_encoding_through_s3() {
    let Some(binary) = s3s_fs() else { return };
    let server = S3Server::start(&binary, "zstd");
    let cmd = worker_command(&server, &format!("s3://{BUCKET}/z"), SECRET_KEY, &["--compression", "zstd"]);
    let mut client = pipe_client(cmd, fetcher());
    // 20 MiB: a multipart upload of compressed parts.
    let rows = 20 * 1024 * 1024 / 16;
    check_counter_batches(&produce_over_pipe(&mut client, rows).expect("zstd round trip"), rows);
    client.close().expect("worker exits");
}

fn expect_error(result: Result<Vec<RecordBatch>, CallError>, needles: &[&str]) -> String {
    let err = result.expect_err("the call must fail").to_string();
    for needle in needles {
        assert!(err.contains(needle), "error {err:?} lacks {needle:?}");
    }
    err
}

#[test]
fn a_wrong_credential_fails_the_upload_with_a_clear_error() {
    let Some(binary) = s3s_fs() else { return };
    let server = S3Server::start(&binary, "cred");
    let url = format!("s3://{BUCKET}/r");
    let mut client = pipe_client(worker_command(&server, &url, "not-the-secret", &[]), fetcher());
    let err = expect_error(produce_over_pipe(&mut client, SMALL_ROWS), &["external storage upload failed"]);
    eprintln!("wrong credential (pipe): {err}");
    drop(client);

    let worker = HttpWorker::start(worker_command(&server, &url, "not-the-secret", &[]));
    let mut client = worker.client(fetcher());
    let err = expect_error(produce_over_http(&mut client, SMALL_ROWS), &["external storage upload failed"]);
    eprintln!("wrong credential (HTTP): {err}");
}

#[test]
fn a_missing_bucket_fails_the_upload_with_a_clear_error() {
    let Some(binary) = s3s_fs() else { return };
    let server = S3Server::start(&binary, "bucket");
    let mut client = pipe_client(worker_command(&server, "s3://no-such-bucket/r", SECRET_KEY, &[]), fetcher());
    let err = expect_error(
        produce_over_pipe(&mut client, SMALL_ROWS),
        &["external storage upload failed", "no-such-bucket", "does not exist"],
    );
    eprintln!("missing bucket: {err}");
}

/// Runs `before` on each location, then fetches it.
struct Intercept<F: Fn(&str) + Send + Sync> {
    before: F,
    inner: Arc<HttpFetcher>,
}

impl<F: Fn(&str) + Send + Sync> PointerResolver for Intercept<F> {
    fn fetch(&self, location: &str) -> Result<Vec<u8>, StorageError> {
        (self.before)(location);
        self.inner.fetch(location)
    }
}

#[test]
fn an_expired_url_fails_the_fetch_with_a_clear_error() {
    let Some(binary) = s3s_fs() else { return };
    let server = S3Server::start(&binary, "expiry");
    let cmd = worker_command(&server, &format!("s3://{BUCKET}/r"), SECRET_KEY, &["--presign-expiry", "1"]);
    let late = Intercept { before: |_: &str| std::thread::sleep(Duration::from_millis(2500)), inner: fetcher() };
    let mut client = pipe_client(cmd, Arc::new(late));
    // A unary result: a producer stream over a pipe cannot be drained after
    // a client-side fetch failure (the worker waits for the next tick).
    let err = expect_error(unary_over_pipe(&mut client, SMALL_BYTES), &["HTTP 403"]);
    eprintln!("expired URL: {err}");
    assert!(!err.contains("X-Amz-Signature="), "the signature is redacted: {err}");
}

#[test]
fn a_corrupted_object_fails_the_digest_check() {
    let Some(binary) = s3s_fs() else { return };
    let server = S3Server::start(&binary, "corrupt");
    let cmd = worker_command(&server, &format!("s3://{BUCKET}/r"), SECRET_KEY, &[]);
    let root = server.root.clone();
    let corrupt = move |location: &str| {
        let file = object_file(&root, location);
        let mut bytes = std::fs::read(&file).expect("object file in s3s-fs's directory");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xFF;
        std::fs::write(&file, bytes).expect("overwrite the object");
    };
    let mut client = pipe_client(cmd, Arc::new(Intercept { before: corrupt, inner: fetcher() }));
    let err = expect_error(unary_over_pipe(&mut client, SMALL_BYTES), &["SHA-256 checksum mismatch"]);
    eprintln!("corrupted object: {}", err.chars().take(200).collect::<String>());
}

/// `PUT` `body` to an http URL (plain HTTP/1.1), returning the status code.
fn http_put(url: &str, body: &[u8]) -> u16 {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (authority, path) = rest.split_once('/').expect("path");
    let mut stream = TcpStream::connect(authority).expect("connect");
    write!(
        stream,
        "PUT /{path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("request head");
    stream.write_all(body).expect("request body");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status code")
}

#[test]
fn vended_upload_url_pairs_put_and_get_through_s3() {
    let Some(binary) = s3s_fs() else { return };
    let server = S3Server::start(&binary, "vend");
    let storage = server.storage("uploads");
    assert!(storage.vends_upload_urls());
    let pair = storage.upload_url().expect("vended pair");
    assert!(pair.upload_url.contains("X-Amz-Signature="), "presigned PUT");
    let body = vec![42u8; 3 * MIB as usize];
    assert_eq!(http_put(&pair.upload_url, &body), 200);
    assert_eq!(fetcher().fetch(&pair.download_url).expect("presigned GET"), body);
}

/// A resolver that times its fetches (the client's share of the bench).
struct Timed {
    inner: Arc<HttpFetcher>,
    spent: std::sync::Mutex<(Duration, u64)>,
}

impl PointerResolver for Timed {
    fn fetch(&self, location: &str) -> Result<Vec<u8>, StorageError> {
        let start = Instant::now();
        let bytes = self.inner.fetch(location)?;
        if let Ok(mut spent) = self.spent.lock() {
            spent.0 += start.elapsed();
            spent.1 += bytes.len() as u64;
        }
        Ok(bytes)
    }
}

/// The 1 GiB bench (`conformance/scripts/s3-bench.sh`): four 256 MiB
/// batches externalized to s3s-fs over HTTP and fetched back, MB/s end to
/// end, with the time split between the client's fetches and the rest
/// (the worker producing, encoding and uploading).
#[test]
#[ignore = "a benchmark: run with conformance/scripts/s3-bench.sh"]
fn bench_1_gib_externalized_over_http() {
    let Some(binary) = s3s_fs() else { return };
    let server = S3Server::start(&binary, "bench");
    let mut command = worker_command(&server, &format!("s3://{BUCKET}/bench"), SECRET_KEY, &[]);
    // VGI_S3_BENCH_WORKER_ENV="AWS_UNSIGNED_PAYLOAD=true,…" compares store settings.
    for pair in std::env::var("VGI_S3_BENCH_WORKER_ENV").unwrap_or_default().split(',').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').expect("VGI_S3_BENCH_WORKER_ENV holds KEY=VALUE pairs");
        command.env(key, value);
    }
    let worker = HttpWorker::start(command);
    let timed = Arc::new(Timed { inner: fetcher(), spent: std::sync::Mutex::new((Duration::ZERO, 0)) });
    let mut client = worker.client(timed.clone());
    let params = RecordBatch::try_from_iter([
        ("rows_per_batch", Arc::new(Int64Array::from(vec![BIG_ROWS])) as ArrayRef),
        ("batch_count", Arc::new(Int64Array::from(vec![4])) as ArrayRef),
    ])
    .expect("params");
    let cpu_before = [cpu_seconds(worker.child.id()), cpu_seconds(server.child.id()), cpu_seconds(std::process::id())];
    let start = Instant::now();
    let mut stream =
        client.producer(PRIMARY, "produce_large_batches", &params, &StreamOptions::default()).expect("producer");
    let mut rows = 0usize;
    let mut bytes = 0usize;
    while let Some((batch, _)) = stream.next_batch().expect("batch") {
        rows += batch.num_rows();
        bytes += vgi_rpc::rpc::external::batch_size(&batch) as usize;
    }
    let total = start.elapsed();
    let cpu_after = [cpu_seconds(worker.child.id()), cpu_seconds(server.child.id()), cpu_seconds(std::process::id())];
    let cpu: Vec<f64> = cpu_after.iter().zip(cpu_before).map(|(a, b)| a - b).collect();
    assert_eq!(rows as i64, 4 * BIG_ROWS);
    let (fetching, fetched) = *timed.spent.lock().expect("timings");
    let mb = bytes as f64 / 1e6;
    println!(
        "1 GiB externalized over HTTP via s3s-fs: {mb:.0} MB in {:.2} s = {:.0} MB/s end to end; \
         client fetches {:.2} s ({:.0} MB/s over {} MB), worker + client decode {:.2} s; worker peak RSS {:.0} MiB; \
         CPU seconds: worker {:.2}, s3s-fs {:.2}, client {:.2}; load average {}",
        total.as_secs_f64(),
        mb / total.as_secs_f64(),
        fetching.as_secs_f64(),
        fetched as f64 / 1e6 / fetching.as_secs_f64().max(1e-9),
        fetched / 1_000_000,
        (total - fetching).as_secs_f64(),
        peak_rss(worker.child.id()) as f64 / MIB as f64,
        cpu[0],
        cpu[1],
        cpu[2],
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
    );
}

/// A one-row `echo_bytes` request carrying `len` bytes.
fn echo_bytes_params(len: usize) -> RecordBatch {
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    RecordBatch::try_from_iter([("data", Arc::new(BinaryArray::from_iter_values([data])) as ArrayRef)]).expect("params")
}

fn check_echo(response: &vgi_rpc::rpc::UnaryResponse, len: usize) {
    let value = response.value().expect("a result value");
    let bytes = value.as_binary::<i32>().value(0);
    assert_eq!(bytes.len(), len);
    assert!(bytes.iter().enumerate().step_by(4099).all(|(i, b)| *b == (i % 251) as u8), "echoed bytes differ");
}

/// 64 MiB requests leave the client by pointer: over HTTP through the
/// worker's vended presigned PUT URLs (`__upload_url__/init`), over a pipe
/// through the client's own ObjectStorage on the same bucket; the worker
/// fetches them through presigned GETs and echoes them back (by pointer).
#[test]
fn a_64_mib_request_round_trips_over_http_and_pipe() {
    let Some(binary) = s3s_fs() else { return };
    let server = S3Server::start(&binary, "request");
    let url = format!("s3://{BUCKET}/requests");
    let len = 64 * MIB as usize;
    let params = echo_bytes_params(len);

    let worker = HttpWorker::start(worker_command(&server, &url, SECRET_KEY, &[]));
    let mut client = worker.client(fetcher());
    client.set_externalize_threshold(Some(MIB));
    let response = client.call(PRIMARY, "echo_bytes", &params).expect("64 MiB request over HTTP");
    check_echo(&response, len);
    assert!(client.upload_capabilities().is_some_and(|caps| caps.upload_url_support), "the worker vends upload URLs");
    let objects =
        |prefix: &str| std::fs::read_dir(server.root.join(BUCKET).join(prefix)).map(|d| d.count()).unwrap_or(0);
    assert_eq!(objects("requests"), 2, "the request (a vended PUT) and the echoed result are objects");
    drop(worker);

    let mut client = pipe_client(worker_command(&server, &url, SECRET_KEY, &[]), fetcher());
    client.set_input_externalization(server.storage("client-inputs"), MIB);
    let response = client.call(PRIMARY, "echo_bytes", &params).expect("64 MiB request over a pipe");
    check_echo(&response, len);
    client.close().expect("worker exits");
    assert_eq!(objects("client-inputs"), 1, "the pipe client uploaded its request to the bucket");
}
