//! A resource soak of the conformance worker: mixed traffic (unary calls,
//! producers run out and cancelled, exchanges, errors mid-stream, connection
//! churn and abrupt disconnects) from several client threads on one
//! transport, with the worker's RSS, descriptors, threads and descendants
//! sampled after a warm-up and after every epoch, and judged against the
//! reference's resource-soak limits. The `vgi-rpc-soak` binary drives it.

pub mod clients;
pub mod disconnect;
pub mod error;
pub mod gate;
pub mod limits;
pub mod report;
pub mod run;
pub mod sample;
pub mod traffic;
pub mod worker;

pub use error::SoakError;
pub use limits::Limits;
pub use report::{Summary, TransportReport};
pub use run::{run_transport, RunConfig};

/// A transport the worker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// stdin/stdout of a child process.
    Pipe,
    /// A Unix socket, a thread per connection (`--threaded`).
    Unix,
    /// TCP, a thread per connection (`--threaded`).
    Tcp,
    /// HTTP.
    Http,
}

impl Transport {
    /// Every transport, in run order.
    pub const ALL: [Transport; 4] = [Transport::Pipe, Transport::Unix, Transport::Tcp, Transport::Http];

    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Pipe => "pipe",
            Transport::Unix => "unix",
            Transport::Tcp => "tcp",
            Transport::Http => "http",
        }
    }
}
