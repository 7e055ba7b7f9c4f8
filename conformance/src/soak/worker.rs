//! Starting and stopping the sampled worker (`vgi-rpc-conformance`) on one
//! transport, and the watchdog that kills a process that outlives its
//! deadline, so nothing the soak starts can hang it.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use vgi_rpc::stdio::SubprocessClient;

use super::clients::{PROTOCOL, VERSION};
use super::error::SoakError;
use super::Transport;

/// How long a worker may take to print its discovery line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a worker may take to exit after SIGTERM (or stdin EOF).
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where clients reach the worker.
#[derive(Clone)]
pub enum Endpoint {
    /// The worker's own stdin/stdout: one connection, shared (in turns) by
    /// every client thread. `program` starts side workers for pipe churn.
    Pipe { shared: Arc<Mutex<SubprocessClient>>, program: PathBuf },
    /// A Unix socket path.
    Unix(PathBuf),
    /// A TCP address (raw framing).
    Tcp(SocketAddr),
    /// An HTTP server address.
    Http(SocketAddr),
}

/// How the worker ended when the soak stopped it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerExit {
    /// Exited by itself after SIGTERM / stdin EOF (not killed).
    pub graceful: bool,
    /// The exit status as the OS reported it.
    pub status: String,
    /// The exit code, when it exited normally.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
}

impl WorkerExit {
    fn of(graceful: bool, status: io::Result<ExitStatus>) -> Self {
        match status {
            Ok(s) => Self { graceful, status: s.to_string(), code: s.code(), signal: s.signal() },
            Err(e) => Self { graceful: false, status: e.to_string(), code: None, signal: None },
        }
    }
}

/// The sampled worker process.
pub struct Worker {
    /// Its process id.
    pub pid: u32,
    /// How to reach it.
    pub endpoint: Endpoint,
    /// Its stderr, captured to a file.
    pub stderr_path: PathBuf,
    child: Option<Child>,
    socket_dir: Option<PathBuf>,
}

/// Send `signal` (`TERM`, `KILL`) to `pid` with kill(1).
pub fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn scratch_name(transport: Transport, what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("vgi-soak-{}-{}{what}", std::process::id(), transport.name()))
}

/// Read the discovery line (`PREFIX<address>`) from `child`'s stdout.
fn discovery(child: &mut Child, expected: &'static str) -> Result<String, SoakError> {
    let stdout = child.stdout.take().ok_or_else(|| SoakError::Setup("worker has no stdout pipe".into()))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(STARTUP_TIMEOUT).unwrap_or_default();
    line.trim()
        .strip_prefix(expected)
        .map(str::to_owned)
        .ok_or_else(|| SoakError::Discovery { expected, got: line.trim().to_owned() })
}

impl Worker {
    /// Start `program` serving `transport` (threaded for the socket ones).
    pub fn start(program: &Path, transport: Transport) -> Result<Self, SoakError> {
        let stderr_path = scratch_name(transport, ".stderr");
        let spawn_err = |source| SoakError::Spawn { worker: program.display().to_string(), source };
        let stderr = File::create(&stderr_path).map_err(spawn_err)?;
        let mut cmd = Command::new(program);
        cmd.stderr(stderr);
        if transport == Transport::Pipe {
            let mut client = SubprocessClient::from_command(cmd).map_err(spawn_err)?;
            client.set_protocol_version(PROTOCOL, VERSION);
            let pid = client.pid();
            let endpoint = Endpoint::Pipe { shared: Arc::new(Mutex::new(client)), program: program.to_owned() };
            return Ok(Self { pid, endpoint, stderr_path, child: None, socket_dir: None });
        }
        let mut socket_dir = None;
        match transport {
            Transport::Unix => {
                let dir = scratch_name(transport, "");
                std::fs::create_dir_all(&dir).map_err(spawn_err)?;
                cmd.arg("--unix").arg(dir.join("w.sock")).arg("--threaded");
                socket_dir = Some(dir);
            }
            Transport::Tcp => {
                cmd.args(["--tcp", "127.0.0.1:0", "--threaded"]);
            }
            Transport::Http | Transport::Pipe => {
                cmd.args(["--http", "0"]);
            }
        }
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).spawn().map_err(spawn_err)?;
        let pid = child.id();
        let mut worker = Self { pid, endpoint: Endpoint::Unix(PathBuf::new()), stderr_path, child: None, socket_dir };
        let found = match transport {
            Transport::Unix => discovery(&mut child, "UNIX:").map(|p| Endpoint::Unix(p.into())),
            Transport::Tcp => discovery(&mut child, "TCP:").and_then(|a| parse_addr(&a).map(Endpoint::Tcp)),
            Transport::Http | Transport::Pipe => {
                discovery(&mut child, "PORT:").and_then(|p| parse_addr(&format!("127.0.0.1:{p}")).map(Endpoint::Http))
            }
        };
        worker.child = Some(child);
        match found {
            Ok(endpoint) => {
                worker.endpoint = endpoint;
                Ok(worker)
            }
            Err(e) => {
                worker.stop();
                Err(e)
            }
        }
    }

    /// Stop the worker (SIGTERM for socket workers, stdin EOF for the pipe
    /// worker; SIGKILL after [`EXIT_TIMEOUT`]) and remove its scratch files.
    /// Call after every client has let go of the endpoint.
    pub fn stop(mut self) -> WorkerExit {
        let exit = match (self.child.take(), &self.endpoint) {
            (Some(mut child), _) => {
                signal(self.pid, "TERM");
                wait_or_kill(&mut child, EXIT_TIMEOUT)
            }
            (None, Endpoint::Pipe { shared, .. }) => {
                let shared = shared.clone();
                self.endpoint = Endpoint::Unix(PathBuf::new());
                let watchdog = Watchdog::arm(self.pid, EXIT_TIMEOUT);
                // The pid cannot be recycled before close() reaps it, and the
                // watchdog is disarmed right after; the window between is the
                // return from waitpid.
                let status = match Arc::try_unwrap(shared) {
                    Ok(client) => client.into_inner().unwrap_or_else(|p| p.into_inner()).close(),
                    Err(_) => {
                        signal(self.pid, "KILL");
                        Err(io::Error::other("a client still held the pipe worker; killed it"))
                    }
                };
                let killed = watchdog.disarm();
                WorkerExit::of(!killed, status)
            }
            (None, _) => WorkerExit::of(false, Err(io::Error::other("not started"))),
        };
        if let Some(dir) = self.socket_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        exit
    }
}

fn parse_addr(text: &str) -> Result<SocketAddr, SoakError> {
    text.parse().map_err(|_| SoakError::Setup(format!("worker announced an unparsable address {text:?}")))
}

/// Wait up to `timeout` for `child` to exit, then SIGKILL and reap it.
pub fn wait_or_kill(child: &mut Child, timeout: Duration) -> WorkerExit {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return WorkerExit::of(true, Ok(status)),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                return WorkerExit::of(false, child.wait());
            }
        }
    }
}

/// SIGKILLs a (not yet reaped) process unless disarmed in time. Disarm
/// before reaping the process, so a recycled pid is never signalled.
pub struct Watchdog {
    state: Arc<(Mutex<(bool, bool)>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Kill `pid` after `timeout` unless [`Watchdog::disarm`]ed first.
    pub fn arm(pid: u32, timeout: Duration) -> Self {
        // (disarmed, fired)
        let state = Arc::new((Mutex::new((false, false)), Condvar::new()));
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("soak-watchdog".into())
            .spawn(move || {
                let (lock, cv) = &*shared;
                let deadline = Instant::now() + timeout;
                let mut s = lock.lock().unwrap_or_else(|p| p.into_inner());
                while !s.0 {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        signal(pid, "KILL");
                        s.1 = true;
                        return;
                    }
                    s = match cv.wait_timeout(s, left) {
                        Ok((guard, _)) => guard,
                        Err(p) => p.into_inner().0,
                    };
                }
            })
            .ok();
        Self { state, thread }
    }

    /// Stop the countdown; `true` when it had already killed the process.
    pub fn disarm(mut self) -> bool {
        self.cancel()
    }

    fn cancel(&mut self) -> bool {
        let (lock, cv) = &*self.state;
        lock.lock().unwrap_or_else(|p| p.into_inner()).0 = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        lock.lock().unwrap_or_else(|p| p.into_inner()).1
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.cancel();
    }
}
