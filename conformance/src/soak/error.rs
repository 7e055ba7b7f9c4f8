//! Why a soak run could not be carried out (as opposed to a limit it found
//! broken, which is a result, not an error).

use std::io;

/// A failure to set up, drive or stop a soak run.
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    /// The worker binary could not be started.
    #[error("cannot start worker {worker}: {source}")]
    Spawn {
        /// The worker path.
        worker: String,
        /// The OS error.
        source: io::Error,
    },
    /// The worker did not print the discovery line its transport promises.
    #[error("worker gave no {expected} discovery line (got {got:?})")]
    Discovery {
        /// The expected prefix (`UNIX:`, `TCP:`, `PORT:`).
        expected: &'static str,
        /// What it printed instead.
        got: String,
    },
    /// The worker's process could not be sampled (it exited?).
    #[error("cannot sample worker {pid}: {source}")]
    Sample {
        /// The worker's pid.
        pid: u32,
        /// The /proc read that failed.
        source: io::Error,
    },
    /// /proc held something this sampler does not understand.
    #[error("unexpected /proc/{pid}/status contents: {detail}")]
    ProcFormat {
        /// The worker's pid.
        pid: u32,
        /// What was missing or malformed.
        detail: String,
    },
    /// Client threads did not reach the epoch checkpoint in time.
    #[error("client threads did not pause within {0} s for a sample (a call is stuck)")]
    PauseTimeout(u64),
    /// A client thread could not be started.
    #[error("cannot start a client thread: {0}")]
    Thread(io::Error),
    /// A connection or call needed for setup failed.
    #[error("{0}")]
    Setup(String),
}
