//! Byte-stream transports for vgi-rpc: the same raw Arrow IPC framing over
//! stdin/stdout, a child process's pipes, and Unix and TCP sockets; and the
//! [`launcher`] that starts and reuses warm Unix-socket workers, and a
//! [`WorkerPool`] of warm subprocess workers (with a shared-memory segment
//! per borrow under the `shm` feature).
//!
//! These are the only places that touch file descriptors; the protocol
//! itself lives in `vgi-rpc-core`.

#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod clamped;
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub mod cli;
pub mod idle;
pub mod launcher;
mod message_pace;
pub mod pipe_size;
pub mod pool;
pub mod shutdown;
mod socket_server;
pub mod spin;
pub mod stdio;
pub mod subprocess;
pub mod tcp;
pub mod unix;
pub mod worker;

pub use clamped::{ClampedReader, ClampedWriter};
pub use pool::{PoolError, PoolMetrics, PooledWorker, WorkerPool};
pub use shutdown::Shutdown;
pub use socket_server::{SocketOptions, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS};
pub use stdio::serve_stdio;
pub use subprocess::SubprocessClient;
pub use tcp::{connect_tcp, parse_tcp_address, serve_tcp, TcpClient};
pub use unix::{connect_unix, serve_unix, UnixClient};
pub use worker::{serve_worker, Listen};

/// Buffer size for reads and writes on byte-stream transports.
pub const IO_BUFFER_BYTES: usize = 256 * 1024;
