//! The launcher: start a worker on a Unix socket on first use, reuse the warm
//! worker after that, and let it leave by itself when idle. This is how a
//! host such as the DuckDB extension runs vgi-rpc workers.
//!
//! For a worker command the launcher derives a stable socket path in a
//! per-user state directory from a hash of the command, its working
//! directory and its `VGI_RPC_*` environment ([`worker_hash`]). Under a file
//! lock on that hash it probes the socket: when a worker listens, that
//! worker is reused; otherwise a stale socket file is removed and
//! `COMMAND --unix PATH --idle-timeout SEC` is spawned, and the launcher waits
//! for its `UNIX:PATH` line. The worker exits by itself after `SEC` seconds
//! with no connection. [`connect`] launches on demand and connects,
//! re-launching once when the worker vanished between the two.
//!
//! The contract and the files (`<hash>.lock`, `.sock`, `.meta`) are the
//! reference launcher's (`vgi_rpc.launcher`), so Rust and Python launchers
//! sharing a state directory share workers and exclude each other.
//!
//! ```no_run
//! use vgi_rpc_stdio::launcher::{connect, LaunchConfig};
//! let config = LaunchConfig::new(["/usr/local/bin/my-worker", "--threaded"]);
//! let client = connect(&config)?;
//! # Ok::<(), vgi_rpc_stdio::launcher::LaunchError>(())
//! ```

mod error;
mod key;
mod lock;
mod probe;
mod spawn;
mod state;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::LaunchError;
pub use key::{current_worker_hash, default_state_dir, worker_hash};
pub use probe::is_listening;
pub use state::{gc, status, GcReport, WorkerStatus};

use crate::{connect_unix, UnixClient};
use key::prepare_state_dir;
use lock::StateLock;
use state::{entry_paths, remove_stale_socket, require_socket_or_absent, write_meta};

/// Entries the clean-up after a launch looks at, at most.
const GC_AFTER_LAUNCH_LIMIT: usize = 16;

/// What to launch and how long to wait for it.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchConfig {
    /// The worker command and its arguments (non-empty).
    pub argv: Vec<String>,
    /// Use this socket path instead of one derived from the command's hash
    /// (its lock is `PATH.lock`; no metadata, so listings skip it).
    pub socket_path: Option<PathBuf>,
    /// Passed as `--idle-timeout`: the worker exits after this long without
    /// a connection. Default 300 s.
    pub idle_timeout: Duration,
    /// How long to wait for another launcher's lock. Default 30 s.
    pub lock_timeout: Duration,
    /// How long a new worker may take to announce its socket. Default 60 s.
    pub startup_timeout: Duration,
    /// Append the worker's stderr to this file (default: discarded).
    pub worker_stderr: Option<PathBuf>,
    /// The state directory (default: [`default_state_dir`]).
    pub state_dir: Option<PathBuf>,
}

impl LaunchConfig {
    /// Launch `argv` with the default timeouts and state directory.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            socket_path: None,
            idle_timeout: Duration::from_secs(300),
            lock_timeout: Duration::from_secs(30),
            startup_timeout: Duration::from_secs(60),
            worker_stderr: None,
            state_dir: None,
        }
    }

    /// Keep locks, sockets and metadata in `dir`.
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// The worker's `--idle-timeout`.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Append the worker's stderr to `path`.
    pub fn worker_stderr(mut self, path: impl Into<PathBuf>) -> Self {
        self.worker_stderr = Some(path.into());
        self
    }
}

/// A worker ready on its socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launched {
    /// The socket to connect to.
    pub socket: PathBuf,
    /// The new worker's pid when this call spawned one; `None` when a
    /// running worker was reused.
    pub spawned_pid: Option<u32>,
}

/// Make sure a worker for `config` is listening and return its socket,
/// spawning one when none is (see the module docs).
pub fn launch(config: &LaunchConfig) -> Result<Launched, LaunchError> {
    if config.argv.is_empty() {
        return Err(LaunchError::EmptyCommand);
    }
    let state_dir = match &config.state_dir {
        Some(dir) => {
            prepare_state_dir(dir)?;
            dir.clone()
        }
        None => default_state_dir()?,
    };
    let (lock_path, socket, meta, hash) = match &config.socket_path {
        Some(path) => {
            let socket = std::path::absolute(path).map_err(LaunchError::io("cannot resolve the socket path"))?;
            let mut lock = socket.clone().into_os_string();
            lock.push(".lock");
            (PathBuf::from(lock), socket, None, None)
        }
        None => {
            let hash = current_worker_hash(&config.argv)?;
            let state_dir = std::path::absolute(&state_dir).map_err(LaunchError::io("cannot resolve the state dir"))?;
            let (lock, socket, meta) = entry_paths(&state_dir, &hash);
            (lock, socket, Some(meta), Some(hash))
        }
    };
    let launched = {
        let _lock = StateLock::acquire(&lock_path, config.lock_timeout)?;
        launch_locked(config, &socket, meta.as_deref())?
    };
    if let Some(hash) = hash {
        // Opportunistic, bounded clean-up of other dead entries.
        let _ = gc(&state_dir, Some(GC_AFTER_LAUNCH_LIMIT), Some(&hash));
    }
    Ok(launched)
}

/// The part of [`launch`] done under the lock.
fn launch_locked(config: &LaunchConfig, socket: &Path, meta: Option<&Path>) -> Result<Launched, LaunchError> {
    require_socket_or_absent(socket)?;
    if is_listening(socket) {
        return Ok(Launched { socket: socket.to_path_buf(), spawned_pid: None });
    }
    remove_stale_socket(socket)?;
    if let Some(meta) = meta {
        write_meta(meta, &config.argv, socket);
    }
    let pid = spawn::spawn_worker(
        &config.argv,
        socket,
        config.idle_timeout,
        config.worker_stderr.as_deref(),
        config.startup_timeout,
    )?;
    Ok(Launched { socket: socket.to_path_buf(), spawned_pid: Some(pid) })
}

/// Whether a failed connect means "nobody listens there any more".
fn worker_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::NotFound
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::TimedOut
    )
}

/// Launch (or reuse) the worker for `config` and connect a client to it.
///
/// The worker can leave (idle timeout, crash) between the launcher's probe
/// and this connect; when the connect finds nobody listening, this launches
/// once more and retries once. Failures after connecting are the caller's:
/// nothing sent on a connection is ever replayed.
pub fn connect(config: &LaunchConfig) -> Result<UnixClient, LaunchError> {
    let first = launch(config)?;
    match connect_unix(&first.socket) {
        Ok(client) => Ok(client),
        Err(e) if worker_gone(&e) => {
            let again = launch(config)?;
            connect_unix(&again.socket).map_err(|source| LaunchError::Connect { path: again.socket, source })
        }
        Err(source) => Err(LaunchError::Connect { path: first.socket, source }),
    }
}
