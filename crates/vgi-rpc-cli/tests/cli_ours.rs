//! The `vgi-rpc` binary against our conformance worker over a pipe
//! (`--cmd`), over HTTP (with and without a URL prefix), and the parts
//! that need no worker (launcher status and clean-up, usage errors).

mod support;

use std::path::Path;

use support::scenario::check_worker;
use support::{conformance_worker, json_lines, ok, our_pipe_cmd, run_cli, HttpWorker, ListeningWorker};

#[test]
fn pipe_worker_describe_call_health() {
    let cmd = our_pipe_cmd();
    check_worker(&["--cmd", &cmd]);
}

#[test]
fn http_worker_describe_call_health() {
    let worker = HttpWorker::start(conformance_worker(), &["--http", "0", "--describe"]);
    check_worker(&["--url", &worker.url]);
}

#[test]
fn http_worker_under_a_prefix() {
    let worker = HttpWorker::start(conformance_worker(), &["--http", "0", "--describe", "--prefix", "/vgi"]);
    check_worker(&["--url", &worker.url, "--prefix", "/vgi"]);
    // Without the prefix the health route is not there, and the error says what to check.
    let bad = run_cli(&["--url", &worker.url, "health"], None);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("HTTP 404") && stderr.contains("--prefix"), "{stderr}");
}

#[test]
fn unix_and_tcp_workers_describe_call_health() {
    let socket = std::env::temp_dir().join(format!("vgi-rpc-cli-{}.sock", std::process::id()));
    let socket_s = socket.to_str().expect("utf-8 path");
    let unix = ListeningWorker::start(conformance_worker(), &["--describe", "--threaded", "--unix", socket_s], "UNIX:");
    check_worker(&["--unix", &unix.address]);
    let tcp =
        ListeningWorker::start(conformance_worker(), &["--describe", "--threaded", "--tcp", "127.0.0.1:0"], "TCP:");
    check_worker(&["--tcp", &tcp.address]);
    // A socket nobody listens on: a connect error with a hint.
    drop(unix);
    let out = run_cli(&["--unix", socket_s, "health"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("cannot connect"), "{stderr}");
    let _ = std::fs::remove_file(&socket);
}

#[test]
fn arrow_output_and_headers_and_input_files() {
    let cmd = our_pipe_cmd();
    let dir = std::env::temp_dir().join(format!("vgi-rpc-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");

    // A producer written as an Arrow IPC stream.
    let file = dir.join("rows.arrow");
    let file_s = file.to_str().expect("utf-8 path");
    ok(&["--cmd", &cmd, "-f", "arrow", "-o", file_s, "call", "produce_n", "count=7"], None);
    let bytes = std::fs::read(&file).expect("arrow file");
    let (schema, batches) = vgi_rpc_wire::read_stream_bytes(&bytes).expect("an IPC stream");
    assert_eq!(batches.iter().map(|b| b.batch.num_rows()).sum::<usize>(), 7);
    assert!(schema.field_with_name("index").is_ok(), "{schema:?}");

    // That file fed back as exchange input: one exchange per batch, rows echoed.
    let scaled = dir.join("values.jsonl");
    std::fs::write(&scaled, "{\"value\": 1.0}\n{\"value\": 2.0}\n{\"value\": 3.0}\n").expect("write input");
    let out = json_lines(&ok(
        &[
            "--cmd",
            &cmd,
            "-f",
            "json",
            "call",
            "exchange_with_logs",
            "--input",
            scaled.to_str().expect("utf-8"),
            "--rows-per-batch",
            "2",
        ],
        None,
    ));
    let values: Vec<f64> = out.iter().map(|r| r["value"].as_f64().expect("value")).collect();
    assert_eq!(values, [1.0, 2.0, 3.0]);

    // A producer with a header: the header line first, then the rows.
    let out = json_lines(&ok(&["--cmd", &cmd, "-f", "json", "call", "produce_with_header", "count=2"], None));
    assert!(out[0].get("header").is_some(), "{out:?}");
    assert_eq!(out.len(), 3, "{out:?}");

    // --max-batches stops a producer early.
    let out =
        json_lines(&ok(&["--cmd", &cmd, "-f", "json", "call", "produce_n", "count=50", "--max-batches", "3"], None));
    assert_eq!(out.len(), 3);

    // Table output of a unary call.
    let table = ok(&["--cmd", &cmd, "-f", "table", "call", "concatenate", "prefix=a", "suffix=b", "separator=+"], None);
    assert!(table.contains("| a+b "), "{table}");
    std::fs::remove_dir_all(&dir).expect("remove scratch dir");
}

#[test]
fn helpful_errors() {
    let cmd = our_pipe_cmd();
    // No worker named.
    let out = run_cli(&["describe"], None);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no worker given") && stderr.contains("--cmd"), "{stderr}");
    // A missing parameter is named with its type.
    let out = run_cli(&["--cmd", &cmd, "call", "add_floats", "a=1"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("missing parameter \"b\" (float64)"), "{stderr}");
    // An unknown parameter suggests the right one.
    let out = run_cli(&["--cmd", &cmd, "call", "echo_string", "valeu=x"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("did you mean value"), "{stderr}");
    // A worker without reflection: told how to turn it on.
    let plain = conformance_worker().display().to_string();
    let out = run_cli(&["--cmd", &plain, "describe"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("--describe"), "{stderr}");
    // A remote error comes through with its message.
    let out = run_cli(&["--cmd", &cmd, "call", "echo_enum", "status=PURPLE"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("calling echo_enum") && stderr.contains("PURPLE"), "{stderr}");
    // A command that does not exist.
    let out = run_cli(&["--cmd", "/nonexistent/worker", "describe"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("cannot connect"), "{stderr}");
}

#[test]
fn launcher_status_and_clean() {
    let dir = std::env::temp_dir().join(format!("vgi-rpc-cli-launcher-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("state dir");
    let dir_s = dir.to_str().expect("utf-8");
    // One recorded worker whose socket is gone.
    let hash = "0123456789abcdef";
    std::fs::write(
        dir.join(format!("{hash}.meta")),
        r#"{"cmd":["my-worker","--threaded"],"cwd":"/tmp","started_at":1.5}"#,
    )
    .expect("meta");
    let status = json_lines(&ok(&["-f", "json", "launcher", "status", "--state-dir", dir_s], None));
    assert_eq!(status.len(), 1);
    assert_eq!(status[0]["hash"], hash);
    assert_eq!(status[0]["alive"], false);
    assert_eq!(status[0]["cmd"], serde_json::json!(["my-worker", "--threaded"]));
    let clean = json_lines(&ok(&["-f", "json", "launcher", "clean", "--state-dir", dir_s], None));
    assert_eq!(clean[0]["cleaned"], serde_json::json!([hash]));
    assert!(!Path::new(&dir.join(format!("{hash}.meta"))).exists());
    let status = ok(&["-f", "table", "launcher", "status", "--state-dir", dir_s], None);
    assert!(status.contains("0 worker(s)"), "{status}");
    std::fs::remove_dir_all(&dir).expect("remove state dir");
}
