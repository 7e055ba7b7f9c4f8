//! The vgi-rpc core: everything between bytes and a handler.
//!
//! * [`Protocol`] / [`MethodDef`]: declared surfaces (unary, producer and
//!   exchange methods, headers, defaults, docs).
//! * [`Server`]: several protocols hosted side by side, sealed at build
//!   time, with reflection (`vgi_rpc.Reflection.v1`) and per-protocol
//!   version gates.
//! * [`serve_connection`]: the lockstep pipe protocol over any `Read` +
//!   `Write`, used by every byte-stream transport.
//! * [`Client`]: the same framing from the calling side.
//!
//! The core performs no I/O of its own beyond the `Read` / `Write` it is
//! handed, reads time from an injectable [`Clock`], and spawns no threads.

#![warn(missing_docs, unreachable_pub)]

pub mod access_log;
pub mod auth;
pub mod client;
pub mod clock;
pub mod context;
pub(crate) mod cycle;
pub mod dispatch;
pub mod error;
pub mod external;
pub mod hook;
pub mod ids;
pub mod method;
pub mod output;
pub mod params;
pub mod protocol;
pub mod protocol_hash;
pub mod quota;
pub mod reflection;
pub(crate) mod reply;
pub mod serve_loop;
pub mod server;
pub mod session;
pub mod shared_memory;
pub mod state_codec;
pub mod stateless;
pub mod stream;
pub mod trace_context;
pub mod transfer;
pub mod transport;
pub(crate) mod turn;
pub mod type_tokens;
pub mod typed;

pub use access_log::AccessLog;
pub use auth::AuthContext;
pub use client::{CallError, Client, ExchangeSession, ProducerSession, StreamOptions, UnaryResponse};
pub use clock::{Clock, FakeClock, SystemClock};
pub use context::CallContext;
pub use error::RpcError;
pub use external::{ExternalStorage, Externalization, PointerResolver};
pub use hook::{CallInfo, CallOutcome, CallStats, DispatchHook};
pub use method::{Idempotency, MethodDef, MethodKind};
pub use output::OutputCollector;
pub use params::Params;
pub use protocol::Protocol;
pub use quota::{QuotaExceeded, QuotaSettings, Quotas};
pub use serve_loop::{serve_connection, ConnectionInfo};
pub use server::{Server, ServerBuilder};
pub use shared_memory::{SharedMemory, SharedSegment};
pub use stream::{ExchangeState, HeaderBatch, InputBatch, ProducerState, StreamResult, StreamState};
pub use transport::{ServeStartHook, TransportKind};

pub use vgi_rpc_wire as wire;
pub use vgi_rpc_wire::{ErrorCode, LogLevel, Metadata, RemoteError};
