//! Errors from setting up or flushing telemetry export.

/// Why telemetry could not be set up, flushed or shut down.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtelError {
    /// The OTLP endpoint or exporter configuration was refused.
    #[error("OTLP exporter configuration: {0}")]
    Exporter(String),
    /// The SDK failed to flush or shut down a provider.
    #[error("OpenTelemetry SDK: {0}")]
    Sdk(String),
}
