//! vgi-rpc for Rust: a transport-agnostic RPC framework on Apache Arrow IPC.
//!
//! This crate only re-exports; pick parts with cargo features:
//!
//! | feature | brings in |
//! |---|---|
//! | (always) | [`wire`] (Arrow IPC framing, metadata keys, batch formats) and [`core`] (protocols, dispatch, serve loop, client) |
//! | `macros` (default) | `#[derive(Params)]`, `#[derive(Row)]` and `#[vgi_rpc::service]` over [`typed`] |
//! | `stdio` (default) | [`stdio`]: stdin/stdout serving, subprocess client, Unix and TCP sockets |
//! | `cli` | `stdio::cli`: the transport flags worker binaries share (clap) |
//! | `token` | [`token`]: sealed call / cursor stream-state tokens |
//! | `http` | [`http`]: the HTTP server (axum) and client (hyper); implies `token` |
//! | `http-cli` | `http::cli`: the HTTP worker flags (clap) |
//! | `storage` | [`storage`]: external storage backends and pointer fetching for oversized batches |
//! | `storage-object`, `storage-s3`, `storage-gcs`, `storage-azure` | `storage::object`: `ObjectStorage` on `object_store` (local directories, S3, GCS, Azure; docs/external-storage.md) |

pub use vgi_rpc_core as core;
pub use vgi_rpc_core::typed;
pub use vgi_rpc_wire as wire;

#[cfg(feature = "macros")]
pub use vgi_rpc_macros::{service, Params, Row};

#[cfg(feature = "stdio")]
pub use vgi_rpc_stdio as stdio;

#[cfg(feature = "token")]
pub use vgi_rpc_token as token;

#[cfg(feature = "http")]
pub use vgi_rpc_http as http;

#[cfg(feature = "storage")]
pub use vgi_rpc_storage as storage;

pub use vgi_rpc_core::{
    AuthContext, CallContext, Client, ErrorCode, ExchangeState, InputBatch, LogLevel, Metadata, MethodDef, MethodKind,
    OutputCollector, Params, ProducerState, Protocol, RpcError, Server, StreamResult, StreamState,
};
