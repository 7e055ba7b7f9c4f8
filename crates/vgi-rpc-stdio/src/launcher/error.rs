//! The launcher's error type.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Why a worker could not be launched or reached.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The worker command was empty.
    #[error("the worker command is empty")]
    EmptyCommand,
    /// A command word, the working directory or a `VGI_RPC_*` variable is not UTF-8.
    #[error("{0} is not valid UTF-8")]
    NotUtf8(&'static str),
    /// The state directory belongs to another user.
    #[error("state directory {0} is not owned by the current user")]
    ForeignStateDir(PathBuf),
    /// Something other than a socket sits where the worker's socket belongs.
    #[error("refusing to replace {0}: it exists and is not a socket")]
    NotASocket(PathBuf),
    /// Another launcher held the lock for the whole wait.
    #[error("could not lock {path} within {waited:?}")]
    LockTimeout { path: PathBuf, waited: Duration },
    /// The worker exited (or closed stdout) before announcing its socket.
    #[error("worker exited before announcing its socket ({status})")]
    WorkerExited { status: String },
    /// The worker announced a socket other than the one it was given.
    #[error("worker announced {announced:?}, expected {expected:?}")]
    WrongSocket { announced: String, expected: String },
    /// The worker did not announce its socket in time.
    #[error("worker did not announce UNIX:<path> within {0:?}")]
    StartupTimeout(Duration),
    /// Connecting to the launched worker failed, also after one re-launch.
    #[error("cannot connect to the launched worker at {path}: {source}")]
    Connect { path: PathBuf, source: io::Error },
    /// Any other I/O failure (state directory, lock file, spawning).
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
}

impl LaunchError {
    /// Wrap an I/O error with what was being done.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> LaunchError {
        let context = context.into();
        move |source| LaunchError::Io { context, source }
    }
}
