//! The worker's access-log flags end to end over HTTP: records carry what
//! only the transport knows (status, body sizes on the wire), files rotate
//! by size under a `{server_id}` path, sampling keeps every error and about
//! the rate of the rest, and the background writer loses nothing when it
//! has room (records are written out when the worker drains and exits).

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use serde_json::Value;
use support::*;
use vgi_rpc::http::client::HttpClient;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vgi-access-log-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn client(worker: &Worker) -> HttpClient {
    let mut c = HttpClient::new(&format!("http://127.0.0.1:{}", worker.address)).expect("client");
    c.set_protocol_version(PRIMARY, "2.0.0");
    c.set_timeout(Some(Duration::from_secs(20)));
    c
}

/// Every record in every file under `dir`.
fn records(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
        for line in text.lines() {
            out.push(serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")));
        }
    }
    out
}

/// SIGTERM and wait, so a background writer has written everything out.
fn stop(mut worker: Worker) {
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(worker.pid() as i32, libc::SIGTERM);
    }
    assert!(eventually(Duration::from_secs(10), || !worker.alive()), "worker exits after SIGTERM");
}

fn message(text: &str) -> RecordBatch {
    RecordBatch::try_from_iter([("message", Arc::new(StringArray::from(vec![text])) as ArrayRef)]).expect("batch")
}

#[test]
fn http_records_carry_status_and_wire_sizes_and_files_rotate_under_the_server_id() {
    let dir = scratch("rotate");
    let path = format!("{}/access-{{server_id}}.jsonl", dir.display());
    let worker = Worker::start(
        &[
            "--http",
            "0",
            "--server-id",
            "srv42",
            "--access-log",
            &path,
            "--access-log-max-bytes",
            "4000",
            "--access-log-backup-count",
            "50",
        ],
        "PORT:",
        None,
    );
    let mut c = client(&worker);
    for i in 0..40 {
        c.call(PRIMARY, "echo_int", &echo_int_params(i)).expect("echo_int");
    }
    stop(worker);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    assert!(names.contains(&"access-srv42.jsonl".to_owned()), "{{server_id}} expanded: {names:?}");
    assert!(names.iter().any(|n| n == "access-srv42.jsonl.1"), "rotated at 4000 bytes: {names:?}");
    for name in &names {
        let len = std::fs::metadata(dir.join(name)).expect("meta").len();
        assert!(len < 4000, "{name} is {len} bytes");
    }
    let all = records(&dir);
    let echoes: Vec<&Value> = all.iter().filter(|r| r["method"] == "echo_int").collect();
    assert_eq!(echoes.len(), 40, "one record per call, none lost to rotation");
    for r in echoes {
        assert_eq!(r["server_id"], "srv42");
        assert_eq!(r["http_status"], 200);
        let (req, resp) = (r["request_bytes"].as_u64().unwrap_or(0), r["response_bytes"].as_u64().unwrap_or(0));
        assert!(req > 100 && resp > 100, "wire sizes of an Arrow request and response: {req}, {resp}");
        assert!(r.get("sample_rate").is_none() && r.get("dropped_records").is_none() && r.get("truncated").is_none());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sampling_keeps_every_error_and_marks_the_rate_on_what_it_keeps() {
    let dir = scratch("sample");
    let path = format!("{}/a.jsonl", dir.display());
    let worker = Worker::start(&["--http", "0", "--access-log", &path, "--access-log-sample", "0.3"], "PORT:", None);
    let mut c = client(&worker);
    for i in 0..300 {
        c.call(PRIMARY, "echo_int", &echo_int_params(i)).expect("echo_int");
    }
    for _ in 0..10 {
        c.call(PRIMARY, "raise_value_error", &message("boom")).expect_err("raises");
    }
    stop(worker);
    let all = records(&dir);
    let ok: Vec<&Value> = all.iter().filter(|r| r["method"] == "echo_int").collect();
    let errors: Vec<&Value> = all.iter().filter(|r| r["method"] == "raise_value_error").collect();
    assert_eq!(errors.len(), 10, "errors are never sampled out");
    assert!((45..=135).contains(&ok.len()), "about 30% of 300 successes kept, got {}", ok.len());
    assert!(ok.iter().all(|r| r["sample_rate"] == 0.3), "kept records carry the rate");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_background_writer_writes_every_record_it_had_room_for() {
    let dir = scratch("async");
    let path = format!("{}/a.jsonl", dir.display());
    let worker = Worker::start(&["--http", "0", "--access-log", &path, "--access-log-async"], "PORT:", None);
    let mut c = client(&worker);
    for i in 0..50 {
        c.call(PRIMARY, "echo_int", &echo_int_params(i)).expect("echo_int");
    }
    stop(worker);
    let all = records(&dir);
    assert_eq!(all.iter().filter(|r| r["method"] == "echo_int").count(), 50);
    assert!(all.iter().all(|r| r.get("dropped_records").is_none()), "a 10000-record queue never filled");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_access_log_flags_stop_the_worker_at_startup() {
    for args in [
        &["--access-log", "/tmp/x.jsonl", "--access-log-sample", "1.5"][..],
        &["--access-log", "/tmp/x.jsonl", "--access-log-max-bytes", "10", "--access-log-when", "H"][..],
    ] {
        let out = std::process::Command::new(worker_path())
            .args(["--http", "0"])
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run worker");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--access-log"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
