//! Shared pieces of the CLI tests: the built `vgi-rpc` binary, the
//! conformance worker (built on demand with cargo into the same target
//! directory), the reference worker's launcher and its skip rule, and an
//! HTTP worker started on an ephemeral loopback port.

#![allow(dead_code)]

pub mod scenario;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::OnceLock;

/// The binary under test.
pub const CLI: &str = env!("CARGO_BIN_EXE_vgi-rpc");

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `vgi-rpc-conformance` worker: `VGI_CONFORMANCE_WORKER` when set (a
/// relative path is taken from the workspace root), otherwise built with
/// `cargo build -p vgi-rpc-conformance` next to the CLI binary (a no-op
/// when fresh). Under `cargo test --workspace` the features cargo unifies
/// differ from that build's, so it may rebuild; the variable, pointed at
/// the binary that run already built, avoids that.
pub fn conformance_worker() -> &'static Path {
    static WORKER: OnceLock<PathBuf> = OnceLock::new();
    WORKER.get_or_init(|| {
        if let Some(path) = std::env::var_os("VGI_CONFORMANCE_WORKER").filter(|p| !p.is_empty()) {
            let worker = workspace_root().join(path);
            assert!(worker.exists(), "VGI_CONFORMANCE_WORKER names {}, which does not exist", worker.display());
            return worker;
        }
        let bin_dir = Path::new(CLI).parent().expect("the CLI binary has a directory");
        let profile = bin_dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
        let target_dir = bin_dir.parent().expect("the profile directory has a parent");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        build
            .args(["build", "--quiet", "-p", "vgi-rpc-conformance", "--bin", "vgi-rpc-conformance", "--target-dir"])
            .arg(target_dir)
            .current_dir(workspace_root());
        if profile == "release" {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build for the conformance worker");
        assert!(status.success(), "building vgi-rpc-conformance failed: {status}");
        let worker = bin_dir.join("vgi-rpc-conformance");
        assert!(worker.exists(), "{} was not built", worker.display());
        worker
    })
}

/// `--cmd` text that runs our conformance worker with reflection on.
pub fn our_pipe_cmd() -> String {
    format!("{} --describe", conformance_worker().display())
}

/// Run the CLI with `args`, stdin from `stdin` (empty when `None`).
pub fn run_cli(args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(CLI)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vgi-rpc");
    let mut pipe = child.stdin.take().expect("stdin pipe");
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(pipe);
    child.wait_with_output().expect("wait for vgi-rpc")
}

/// Run the CLI and require success; returns stdout.
pub fn ok(args: &[&str], stdin: Option<&str>) -> String {
    let out = run_cli(args, stdin);
    assert!(
        out.status.success(),
        "vgi-rpc {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 stdout")
}

/// Stdout as JSON lines.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

/// The reference toolchain's `run` script, when the reference root is set
/// up. Without it the caller skips, unless `VGI_REQUIRE_REFERENCE=1`.
pub fn reference_run() -> Option<PathBuf> {
    let run = workspace_root().join("../shared/reference/run");
    let root = PathBuf::from(std::env::var("VGI_REF_ROOT").unwrap_or_else(|_| "/opt/vgi-ref".to_owned()));
    let ready = run.exists() && root.join("opt/vgi/bin/vgi-rpc-conformance").exists();
    if ready {
        return Some(run);
    }
    assert!(
        std::env::var("VGI_REQUIRE_REFERENCE").as_deref() != Ok("1"),
        "VGI_REQUIRE_REFERENCE=1 but the reference root is not set up (run ../shared/reference/setup)"
    );
    eprintln!("skipped: the reference root is not set up (../shared/reference/setup); set VGI_REQUIRE_REFERENCE=1 to fail instead");
    None
}

/// A worker that announces its address on stdout; killed when dropped.
pub struct ListeningWorker {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    /// What followed the discovery prefix (`PORT:`, `UNIX:`, `TCP:`).
    pub address: String,
}

impl ListeningWorker {
    /// Start `program args...` (run from the workspace root) and wait for a
    /// stdout line starting with `prefix`.
    pub fn start(program: &Path, args: &[&str], prefix: &str) -> Self {
        let mut child = Command::new(program)
            .args(args)
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut worker = ListeningWorker { child, _stdout: stdout, address: String::new() };
        let mut line = String::new();
        loop {
            line.clear();
            let n = worker._stdout.read_line(&mut line).expect("read the worker's stdout");
            assert!(n > 0, "the worker exited before printing {prefix}");
            if let Some(address) = line.trim().strip_prefix(prefix) {
                worker.address = address.to_owned();
                return worker;
            }
        }
    }
}

impl Drop for ListeningWorker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP worker printing `PORT:n`; killed when dropped.
pub struct HttpWorker {
    _worker: ListeningWorker,
    /// Its base URL.
    pub url: String,
}

impl HttpWorker {
    /// Start `program args...` and wait for `PORT:`.
    pub fn start(program: &Path, args: &[&str]) -> Self {
        let worker = ListeningWorker::start(program, args, "PORT:");
        let url = format!("http://127.0.0.1:{}", worker.address);
        HttpWorker { _worker: worker, url }
    }
}
