//! Dispatch hooks and call statistics: the observability surface every
//! transport drives the same way (access logs, tracing, metrics).

use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::{AuthContext, MethodKind, RpcError};

/// Counters for one call (or one stream), filled by the serve loop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallStats {
    /// Input batches read (stream input and the request batch).
    pub input_batches: u64,
    /// Rows across those input batches.
    pub input_rows: u64,
    /// Arrow in-memory size of those batches, in bytes (not wire bytes).
    pub input_bytes: u64,
    /// Data batches written (log and error batches not counted).
    pub output_batches: u64,
    /// Rows across those output batches.
    pub output_rows: u64,
    /// Arrow in-memory size of those batches, in bytes (not wire bytes).
    pub output_bytes: u64,
}

impl CallStats {
    /// Count an input batch.
    pub fn record_input(&mut self, batch: &RecordBatch) {
        self.input_batches += 1;
        self.input_rows += batch.num_rows() as u64;
        self.input_bytes += batch.get_array_memory_size() as u64;
    }

    /// Count an output batch.
    pub fn record_output(&mut self, batch: &RecordBatch) {
        self.output_batches += 1;
        self.output_rows += batch.num_rows() as u64;
        self.output_bytes += batch.get_array_memory_size() as u64;
    }
}

/// What a hook learns when a call starts.
#[derive(Debug, Clone)]
pub struct CallInfo<'a> {
    /// The protocol that owns the method (or the primary, for framework built-ins).
    pub protocol: &'a str,
    /// That protocol's hash.
    pub protocol_hash: &'a str,
    /// The method name as dispatched.
    pub method: &'a str,
    /// Method shape (`None` for framework built-ins answered before routing).
    pub kind: Option<MethodKind>,
    /// Correlation id.
    pub request_id: &'a str,
    /// This server's id.
    pub server_id: &'a str,
    /// The caller.
    pub auth: &'a AuthContext,
    /// The transport's name for the peer, when it has one.
    pub remote_addr: Option<&'a str>,
    /// The request parameter schema (names and types only; never values).
    pub request_schema: Option<&'a SchemaRef>,
    /// Rows in the request batch.
    pub request_rows: usize,
    /// For stream methods: 32 lowercase hex, the same for every record of the stream.
    pub stream_id: Option<&'a str>,
    /// Whether this record describes a stream's start (or a unary call),
    /// as opposed to an HTTP stream continuation.
    pub is_init: bool,
    /// The caller's W3C `traceparent`, as received (request batch metadata
    /// first, then the transport's headers); unvalidated.
    pub traceparent: Option<&'a str>,
    /// The caller's W3C `tracestate`, sent with that `traceparent`; unvalidated.
    pub tracestate: Option<&'a str>,
}

/// How a call ended.
#[derive(Debug, Clone)]
pub struct CallOutcome<'a> {
    /// The error sent to the caller, if any.
    pub error: Option<&'a RpcError>,
    /// Wall time spent serving.
    pub duration: Duration,
    /// Batch / row / byte counters.
    pub stats: CallStats,
    /// Whether the client cancelled the stream.
    pub cancelled: bool,
    /// Wall-clock time the call finished, from the server's clock.
    pub finished_at: std::time::SystemTime,
    /// What the request did with sticky sessions; `None` on servers without them.
    pub session: Option<crate::session::SessionRecord>,
}

/// Observes every dispatched call. Implementations must be cheap and must
/// not panic; failures are theirs to swallow.
pub trait DispatchHook: Send + Sync {
    /// A call is about to run.
    fn on_start(&self, _info: &CallInfo<'_>) {}
    /// A call finished (successfully or not).
    fn on_end(&self, _info: &CallInfo<'_>, _outcome: &CallOutcome<'_>) {}
    /// A transport refused a request's credentials before any dispatch
    /// (HTTP `401`). `reason` is the refusal's code (e.g. `invalid_token`).
    fn on_auth_failure(&self, _remote_addr: Option<&str>, _reason: &str) {}
}
