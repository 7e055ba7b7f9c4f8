//! Byte-stream transports for vgi-rpc: the same raw Arrow IPC framing over
//! stdin/stdout, a child process's pipes, and (later) Unix and TCP sockets.
//!
//! These are the only places that touch file descriptors; the protocol
//! itself lives in `vgi-rpc-core`.

pub mod clamped;
pub mod stdio;
pub mod subprocess;

pub use clamped::{ClampedReader, ClampedWriter};
pub use stdio::serve_stdio;
pub use subprocess::SubprocessClient;

/// Buffer size for reads and writes on byte-stream transports.
pub const IO_BUFFER_BYTES: usize = 256 * 1024;
