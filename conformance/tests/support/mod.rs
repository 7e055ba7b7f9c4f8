//! Shared pieces of the adversarial suites: a worker process started with
//! given flags (and optionally a lowered descriptor limit), samples of its
//! resident memory and open descriptors from `/proc`, and a check that it
//! still answers an ordinary call.

#![allow(dead_code)]

pub mod nginx;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, Int64Array, RecordBatch};

const BUILT_WORKER: &str = env!("CARGO_BIN_EXE_vgi-rpc-conformance");

/// The worker under test: this build's, or `VGI_ADVERSARIAL_WORKER` (to
/// show an older build failing the same cases).
pub fn worker_path() -> String {
    std::env::var("VGI_ADVERSARIAL_WORKER").unwrap_or_else(|_| BUILT_WORKER.to_owned())
}
pub const PRIMARY: &str = "ConformanceService";
pub const MIB: u64 = 1024 * 1024;

/// A conformance worker serving one socket transport.
pub struct Worker {
    pub child: Child,
    /// What followed the discovery prefix (`PORT:`, `UNIX:`, `TCP:`).
    pub address: String,
}

impl Worker {
    /// Start the worker with `args`, wait for the discovery line starting
    /// with `prefix`. `nofile` lowers its descriptor limit first.
    pub fn start(args: &[&str], prefix: &str, nofile: Option<u64>) -> Self {
        let mut command = Command::new(worker_path());
        command.args(args).stdout(Stdio::piped()).stderr(Stdio::null());
        if let Some(limit) = nofile {
            // SAFETY: setrlimit is async-signal-safe and touches only the child.
            unsafe {
                command.pre_exec(move || {
                    let rl = libc::rlimit { rlim_cur: limit, rlim_max: limit };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &rl) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = command.spawn().expect("spawn worker");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("discovery line");
        let address = line.trim().strip_prefix(prefix).unwrap_or_else(|| panic!("discovery line {line:?}")).to_owned();
        Self { child, address }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory in bytes.
    pub fn rss(&self) -> u64 {
        rss_of(self.pid())
    }

    /// Open descriptors.
    pub fn fds(&self) -> usize {
        fds_of(self.pid())
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    let kb: u64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("VmRSS value");
    kb * 1024
}

pub fn fds_of(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// Poll `cond` every 20 ms for up to `limit`.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn echo_int_params(v: i64) -> RecordBatch {
    RecordBatch::try_from_iter([("value", Arc::new(Int64Array::from(vec![v])) as ArrayRef)]).expect("params")
}

/// The integer an `echo_int` response carries.
pub fn int_value(array: &ArrayRef) -> i64 {
    array.as_primitive::<Int64Type>().value(0)
}
