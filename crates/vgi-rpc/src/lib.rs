//! vgi-rpc for Rust: a transport-agnostic RPC framework on Apache Arrow IPC.
//!
//! This crate only re-exports; pick parts with cargo features:
//!
//! | feature | brings in |
//! |---|---|
//! | (always) | [`wire`] (Arrow IPC framing, metadata keys, batch formats) and [`rpc`] (the `vgi-rpc-core` crate: protocols, dispatch, serve loop, client) |
//! | `macros` (default) | `#[derive(Params)]`, `#[derive(Row)]` and `#[vgi_rpc::service]` over [`typed`] |
//! | `stdio` (default) | [`stdio`]: stdin/stdout serving, subprocess client, Unix and TCP sockets |
//! | `shm` | [`shm`]: the shared-memory side channel (POSIX segments, pointer batches) for pipe and Unix workers |
//! | `cli` | `stdio::cli`: the transport flags worker binaries share (clap) |
//! | `token` | [`token`]: sealed call / cursor stream-state tokens |
//! | `auth` | [`auth`]: authenticators (bearer, mTLS via XFCC, proxy proof, chains) and the standardized 401 |
//! | `jwt` | `auth::JwtAuthenticator`: Bearer JWTs against a JWKS document or the issuer's keys; implies `auth` |
//! | `http` | [`http`]: the HTTP server (axum) and client (hyper); implies `token` and `auth` |
//! | `http-cli` | `http::cli`: the HTTP worker flags (clap) |
//! | `storage` | [`storage`]: external storage backends and pointer fetching for oversized batches |
//! | `storage-object`, `storage-s3`, `storage-gcs`, `storage-azure` | `storage::object`: `ObjectStorage` on `object_store` (local directories, S3, GCS, Azure; docs/external-storage.md) |
//! | `logfile`, `logfile-cli` | [`logfile`]: rotating access-log files (and the `--access-log-*` flags) |
//! | `otel` | [`otel`]: OpenTelemetry spans, metrics and trace-context propagation |
//!
//! The core crate is re-exported as [`rpc`], not `core`, so that
//! `use vgi_rpc::*` never shadows the language's `core` crate.
//!
//! # A typed service
//!
//! A trait marked `#[vgi_rpc::service]` is a protocol: the macro generates
//! `<trait>_protocol(impl)` (the registration on the dynamic builder) and
//! a typed `<Trait>Client` over any [`typed::RpcClient`] (pipe, subprocess,
//! Unix, TCP, HTTP). Parameter names and types come from the signature.
//!
//! ```
//! # #[cfg(feature = "macros")] {
//! use std::io::{BufReader, BufWriter};
//! use vgi_rpc::rpc::{serve_connection, ConnectionInfo};
//! use vgi_rpc::typed::RpcResult;
//! use vgi_rpc::{Client, Server};
//!
//! #[vgi_rpc::service(protocol = "calc.v1", version = "1.0.0")]
//! pub trait Calc {
//!     /// Add two numbers.
//!     fn add(&self, a: i64, b: i64) -> RpcResult<i64>;
//! }
//!
//! struct CalcImpl;
//! impl Calc for CalcImpl {
//!     fn add(&self, a: i64, b: i64) -> RpcResult<i64> {
//!         Ok(a + b)
//!     }
//! }
//!
//! let server = Server::builder().protocol(calc_protocol(CalcImpl)).build().unwrap();
//! let (server_in, client_out) = std::io::pipe().unwrap();
//! let (client_in, server_out) = std::io::pipe().unwrap();
//! std::thread::spawn(move || {
//!     serve_connection(&server, &mut BufReader::new(server_in), &mut BufWriter::new(server_out), &ConnectionInfo::default())
//! });
//! let mut calc = CalcClient::new(Client::new(BufReader::new(client_in), BufWriter::new(client_out)));
//! assert_eq!(calc.add(2, 3).unwrap(), 5);
//! # }
//! ```
//!
//! # Rows and parameter structs
//!
//! `#[derive(Row)]` makes a struct one row of a batch (and a struct column
//! when nested); `#[derive(Params)]` makes it a method's parameter list,
//! with docs and `#[vgi(default = ...)]` reported by reflection.
//!
//! ```
//! # #[cfg(feature = "macros")] {
//! use vgi_rpc::typed::Row as _;
//! use vgi_rpc::Row;
//!
//! #[derive(Row, Debug, PartialEq)]
//! struct Reading {
//!     sensor: String,
//!     value: Option<f64>,
//!     tags: Vec<String>,
//! }
//!
//! let rows = vec![Reading { sensor: "a".into(), value: None, tags: vec!["x".into()] }];
//! let batch = Reading::to_batch(rows).unwrap();
//! assert_eq!(batch.schema().field(1).name(), "value");
//! assert_eq!(Reading::from_batch(&batch).unwrap()[0].sensor, "a");
//! # }
//! ```
//!
//! ```
//! # #[cfg(feature = "macros")] {
//! use vgi_rpc::typed::RpcResult;
//! use vgi_rpc::{MethodDef, Params};
//!
//! /// Parameters of a search.
//! #[derive(Params)]
//! struct Search {
//!     /// What to look for.
//!     query: String,
//!     /// At most this many results.
//!     #[vgi(default = 10)]
//!     limit: i64,
//! }
//!
//! let method = MethodDef::builder("search")
//!     .typed_unary(|s: Search, _ctx| -> RpcResult<Vec<String>> { Ok(vec![s.query; s.limit as usize]) });
//! assert_eq!(method.defaults()[0].0, "limit");
//! assert_eq!(method.param_docs()[0].1, "What to look for.");
//! # }
//! ```

#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use vgi_rpc_core as rpc;
pub use vgi_rpc_core::typed;
pub use vgi_rpc_wire as wire;

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use vgi_rpc_macros::{service, Enum, Params, Row};

#[cfg(feature = "stdio")]
#[cfg_attr(docsrs, doc(cfg(feature = "stdio")))]
pub use vgi_rpc_stdio as stdio;

#[cfg(feature = "shm")]
#[cfg_attr(docsrs, doc(cfg(feature = "shm")))]
pub use vgi_rpc_shm as shm;

#[cfg(feature = "token")]
#[cfg_attr(docsrs, doc(cfg(feature = "token")))]
pub use vgi_rpc_token as token;

#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use vgi_rpc_auth as auth;

#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use vgi_rpc_http as http;

#[cfg(feature = "storage")]
#[cfg_attr(docsrs, doc(cfg(feature = "storage")))]
pub use vgi_rpc_storage as storage;

#[cfg(feature = "logfile")]
#[cfg_attr(docsrs, doc(cfg(feature = "logfile")))]
pub use vgi_rpc_logfile as logfile;

#[cfg(feature = "otel")]
#[cfg_attr(docsrs, doc(cfg(feature = "otel")))]
pub use vgi_rpc_otel as otel;

pub use vgi_rpc_core::{
    AuthContext, CallContext, Client, ErrorCode, ExchangeState, InputBatch, LogLevel, Metadata, MethodDef, MethodKind,
    OutputCollector, Params, ProducerState, Protocol, RpcError, Server, StreamResult, StreamState,
};

/// The README's code blocks, compiled as doctests so the front page cannot
/// drift from the API.
#[cfg(all(doctest, feature = "macros", feature = "stdio"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
