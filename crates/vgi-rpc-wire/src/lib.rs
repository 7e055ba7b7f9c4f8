//! The vgi-rpc wire format.
//!
//! This crate owns everything that is bytes on the wire and nothing that is
//! I/O: Arrow IPC stream framing over any [`std::io::Read`] / [`std::io::Write`]
//! (with per-batch custom metadata, which the vgi-rpc protocol depends on),
//! every framework metadata key as a constant, the request batch, batch
//! classification, and log / error batches with the error model.
//!
//! It reads no clock and spawns nothing, so every function here is
//! deterministic.

#![warn(missing_docs, unreachable_pub)]

mod body;
pub mod classify;
pub mod error;
pub mod error_model;
pub mod keys;
pub mod limits;
pub mod log;
pub mod metadata;
pub mod pointer;
pub mod reader;
pub mod request;
pub mod schema;
pub mod writer;

pub use classify::{classify, BatchClass};
pub use error::WireError;
pub use error_model::{ErrorCode, ErrorPayload, RemoteError};
pub use limits::ReadLimits;
pub use log::LogLevel;
pub use metadata::Metadata;
pub use pointer::{ExternalPointer, PointerError};
pub use reader::read_stream_bytes;
pub use reader::{BufferCursor, ReadBatch, SchemaCache, StreamReader};
pub use request::{Request, RequestHeader};
pub use schema::EncodedSchema;
pub use writer::{write_stream_bytes, StreamWriter};

/// The wire protocol (framing) version carried in `vgi_rpc.request_version`.
pub const REQUEST_VERSION: &str = "1";
