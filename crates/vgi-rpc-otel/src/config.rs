//! What the hook records and where it sends it.

use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// Settings for [`crate::OtelHook`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OtelConfig {
    /// Where spans go; `None` uses the global tracer provider.
    pub tracer_provider: Option<SdkTracerProvider>,
    /// Where metrics go; `None` uses the global meter provider.
    pub meter_provider: Option<SdkMeterProvider>,
    /// Emit one span per call.
    pub enable_tracing: bool,
    /// Record counters and histograms.
    pub enable_metrics: bool,
    /// Add an `exception` event to the span of every failed call.
    pub record_exceptions: bool,
    /// Extra attributes on every span (and on the auth-failure counter).
    pub custom_attributes: Vec<(String, String)>,
    /// `(claim key, span attribute name)`: claims of the caller copied onto
    /// spans (never onto metrics, whose cardinality they would blow up).
    pub claim_attributes: Vec<(String, String)>,
    /// `rpc.service` on the auth-failure counter (a refusal happens before
    /// any protocol is resolved); usually the served protocol's name.
    pub auth_failure_service: Option<String>,
}

impl Default for OtelConfig {
    fn default() -> Self {
        Self {
            tracer_provider: None,
            meter_provider: None,
            enable_tracing: true,
            enable_metrics: true,
            record_exceptions: true,
            custom_attributes: Vec::new(),
            claim_attributes: Vec::new(),
            auth_failure_service: None,
        }
    }
}

impl OtelConfig {
    /// Send spans and metrics to these providers rather than the global ones.
    pub fn with_providers(tracer: SdkTracerProvider, meter: SdkMeterProvider) -> Self {
        Self { tracer_provider: Some(tracer), meter_provider: Some(meter), ..Self::default() }
    }

    /// Add an attribute to every span.
    pub fn custom_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.custom_attributes.push((key.into(), value.into()));
        self
    }

    /// Copy the caller's claim `claim` onto spans as `attribute`.
    pub fn claim_attribute(mut self, claim: impl Into<String>, attribute: impl Into<String>) -> Self {
        self.claim_attributes.push((claim.into(), attribute.into()));
        self
    }
}
