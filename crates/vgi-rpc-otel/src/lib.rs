//! OpenTelemetry for vgi-rpc: a [`vgi_rpc_core::DispatchHook`] that emits one
//! server span per dispatched call and records call metrics under the
//! reference implementation's names (`rpc.system`, `rpc.service`,
//! `rpc.method`, `rpc.vgi_rpc.*`; `rpc.server.requests`,
//! `rpc.server.duration`, `rpc.server.auth_failure`, …), W3C trace-context
//! propagation (the caller's `traceparent` / `tracestate` from HTTP headers or
//! request batch metadata becomes the handler span's parent; the project's
//! clients inject the active context), and export over OTLP/HTTP.
//!
//! Owns: turning core's observability seams ([`vgi_rpc_core::CallInfo`],
//! [`vgi_rpc_core::trace_context`]) into OpenTelemetry data. Must not: be a
//! dependency of the wire, core or transport crates, or be on by default in
//! the facade (feature `otel`).
//!
//! ```no_run
//! # fn main() -> Result<(), vgi_rpc_otel::OtelError> {
//! use std::sync::Arc;
//! let otlp = vgi_rpc_otel::Otlp::start(&vgi_rpc_otel::OtlpSettings::new("my-service"))?;
//! vgi_rpc_otel::install_propagation();
//! let hook = Arc::new(vgi_rpc_otel::OtelHook::new(otlp.config()));
//! // ServerBuilder::hook(hook) … serve … then `otlp.shutdown()` flushes.
//! # let _ = hook; Ok(()) }
//! ```

#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod attributes;
mod config;
mod error;
mod hook;
mod instruments;
#[cfg(feature = "otlp")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
mod otlp;
mod propagation;

pub use config::OtelConfig;
pub use error::OtelError;
pub use hook::OtelHook;
#[cfg(feature = "otlp")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
pub use otlp::{Otlp, OtlpSettings};
pub use propagation::{install_propagation, parse_trace_context, OtelTraceSource};

/// The re-exported OpenTelemetry API and SDK this crate is built against, so
/// callers can start client spans with matching versions.
pub use opentelemetry;
pub use opentelemetry_sdk;

/// The instrumentation scope name every tracer and meter of this crate uses.
pub const SCOPE_NAME: &str = "vgi_rpc";
