//! The access log (docs/access-log-spec.md of the reference): one JSON line
//! per call, written by a [`DispatchHook`] so every transport logs the same
//! way. Records describe the request's shape (field names and types, row
//! count) and never any parameter or state value.
//!
//! [`AccessLogOptions`] holds the settings the spec names: the per-record
//! byte cap (default 1 MiB), the sampling rate (default 1.0) and the
//! optional background writer with its bounded queue. Transports that learn
//! facts after dispatch (HTTP: status and body sizes) hold records back
//! with [`defer`] and complete them with [`TransportFacts`]. Rotating files
//! are the sink's business (the `vgi-rpc-logfile` crate).

mod deferred;
mod record;
mod shaping;
mod writer;

use std::io::Write;
use std::sync::Arc;

use serde_json::{Map, Value};

pub use deferred::{defer, DeferredRecords, TransportFacts};
pub use record::{build as build_record, rfc3339_millis};

use crate::{CallInfo, CallOutcome, DispatchHook};

/// The default per-record cap, as the reference's (1 MiB).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;
/// The default bound of the background writer's queue, as the reference's.
pub const DEFAULT_QUEUE_SIZE: usize = 10_000;

/// How records are shaped and written.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AccessLogOptions {
    /// Cap on one record's line (`None`: no cap). Over it, `claims` are shed
    /// (`truncated: true`), then the sentinel form is written.
    pub max_record_bytes: Option<usize>,
    /// Fraction of successful calls logged, `0.0..=1.0`; errors always are.
    pub sample_rate: f64,
    /// Write from a background thread through a queue of this many lines
    /// (`None`: write in the calling thread).
    pub queue_size: Option<usize>,
}

impl Default for AccessLogOptions {
    fn default() -> Self {
        Self { max_record_bytes: Some(DEFAULT_MAX_RECORD_BYTES), sample_rate: 1.0, queue_size: None }
    }
}

/// Settings that cannot be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessLogError {
    /// The sampling rate is outside `0.0..=1.0` (or not a number).
    #[error("the access-log sample rate must be between 0.0 and 1.0, got {0}")]
    SampleRate(f64),
    /// The background writer's queue bound is zero.
    #[error("the access-log queue size must be positive")]
    QueueSize,
    /// The background writer thread could not start.
    #[error("cannot start the access-log writer thread: {0}")]
    Thread(#[from] std::io::Error),
}

pub(crate) struct Inner {
    writer: writer::Writer,
    server_version: String,
    options: AccessLogOptions,
}

impl Inner {
    fn emit(&self, mut record: Map<String, Value>) {
        if !shaping::sample(&mut record, self.options.sample_rate) {
            return;
        }
        let cap = self.options.max_record_bytes;
        self.writer.write(record, |r| shaping::to_line(r, cap));
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.writer.close();
    }
}

/// Writes one JSON-Lines record per call to a sink.
pub struct AccessLog {
    inner: Arc<Inner>,
}

impl AccessLog {
    /// Log to `sink` (typically a file opened for append) with the default options.
    pub fn new(sink: Box<dyn Write + Send>, server_version: impl Into<String>) -> Self {
        let inner = Inner {
            writer: writer::Writer::direct(sink),
            server_version: server_version.into(),
            options: AccessLogOptions::default(),
        };
        Self { inner: Arc::new(inner) }
    }

    /// Log to `sink` under `options`.
    pub fn with_options(
        sink: Box<dyn Write + Send>,
        server_version: impl Into<String>,
        options: AccessLogOptions,
    ) -> Result<Self, AccessLogError> {
        let rate = options.sample_rate;
        if !(0.0..=1.0).contains(&rate) {
            return Err(AccessLogError::SampleRate(rate));
        }
        let writer = match options.queue_size {
            None => writer::Writer::direct(sink),
            Some(0) => return Err(AccessLogError::QueueSize),
            Some(n) => writer::Writer::queued(sink, n)?,
        };
        Ok(Self { inner: Arc::new(Inner { writer, server_version: server_version.into(), options }) })
    }

    /// The settings in force.
    pub fn options(&self) -> &AccessLogOptions {
        &self.inner.options
    }

    /// Build the record for one finished call (before sampling and the cap).
    pub fn record(&self, info: &CallInfo<'_>, outcome: &CallOutcome<'_>) -> Map<String, Value> {
        record::build(&self.inner.server_version, info, outcome)
    }

    /// Records dropped by a full queue and not yet reported in a record.
    pub fn pending_drops(&self) -> u64 {
        self.inner.writer.pending_drops()
    }
}

impl DispatchHook for AccessLog {
    fn on_end(&self, info: &CallInfo<'_>, outcome: &CallOutcome<'_>) {
        let mut record = self.record(info, outcome);
        record::add_transfer(&mut record, crate::transfer::current());
        if let Some(active) = crate::trace_context::current() {
            record::add_trace(&mut record, &active.traceparent);
        }
        if let Some(record) = deferred::hold(&self.inner, record) {
            self.inner.emit(record);
        }
    }
}

#[cfg(test)]
mod tests;
