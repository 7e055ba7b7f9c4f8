//! vgi-rpc over HTTP (WIRE_PROTOCOL.md §10).
//!
//! The server is an axum [`Router`](axum::Router) over a core
//! [`Server`](vgi_rpc_core::Server): unary calls, stream `/init` and
//! `/exchange` turns with the stream state carried in sealed call and
//! cursor tokens, so any worker holding the key can resume any stream.
//! The client is a small hyper client speaking the same routes.

#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod app;
pub mod auth;
pub mod call_cache;
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub mod cli;
pub mod client;
pub mod config;
pub mod encoding;
pub mod headers;
mod inline;
pub mod pages;
pub mod quota;
mod rpc;
pub mod serve;
pub mod sticky;
pub mod tokens;
mod upload;

pub use app::HttpApp;
pub use auth::AuthSettings;
/// The web framework the server is built on (for [`serve_http_with`] hooks).
pub use axum;
pub use config::HttpConfig;
pub use encoding::Codec;
/// The TLS library of the client's `https://` (for [`client::HttpClient::set_tls_config`]).
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use rustls;
pub use serve::{
    serve_http, serve_http_with, serve_router, serve_router_draining, serve_router_with, termination_signal,
    ConnectionLimits, Drain, DrainReport, ServeError, ServeHandles, ServeOptions,
};
pub use vgi_rpc_auth;
