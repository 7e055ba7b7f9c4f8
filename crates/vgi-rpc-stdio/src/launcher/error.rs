//! The launcher's error type.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Why a worker could not be launched or reached.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long the launcher waited.
        waited: Duration,
    },
    /// The worker exited (or closed stdout) before announcing its socket.
    #[error("worker exited before announcing its socket ({status})")]
    WorkerExited {
        /// The exit status as the OS reported it (or why it is unknown).
        status: String,
    },
    /// The worker announced a socket other than the one it was given.
    #[error("worker announced {announced:?}, expected {expected:?}")]
    WrongSocket {
        /// What the worker printed after `UNIX:`.
        announced: String,
        /// The socket path the launcher passed it.
        expected: String,
    },
    /// The worker did not announce its socket in time.
    #[error("worker did not announce UNIX:<path> within {0:?}")]
    StartupTimeout(Duration),
    /// Connecting to the launched worker failed, also after one re-launch.
    #[error("cannot connect to the launched worker at {path}: {source}")]
    Connect {
        /// The worker's socket.
        path: PathBuf,
        /// The last connect error.
        source: io::Error,
    },
    /// Any other I/O failure (state directory, lock file, spawning).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: io::Error,
    },
}

impl LaunchError {
    /// Wrap an I/O error with what was being done.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> LaunchError {
        let context = context.into();
        move |source| LaunchError::Io { context, source }
    }
}
