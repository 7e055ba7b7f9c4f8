//! Export over OTLP/HTTP (protobuf): a tracer provider with a batch span
//! processor and a meter provider with a periodic reader, each on the SDK's
//! own background thread with a blocking HTTP client.

use std::time::Duration;

use opentelemetry_otlp::{MetricExporter, SpanExporter, WithExportConfig};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

use crate::{OtelConfig, OtelError};

/// Where and how often to export.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OtlpSettings {
    /// Base URL of an OTLP/HTTP receiver (`http://host:4318`); `/v1/traces`
    /// and `/v1/metrics` are appended. `None` follows the standard
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT`
    /// variables (default `http://localhost:4318`).
    pub endpoint: Option<String>,
    /// `service.name` of the resource (`OTEL_SERVICE_NAME` overrides it).
    pub service_name: String,
    /// How often metrics are pushed; [`Otlp::flush`] pushes at once.
    pub metrics_interval: Duration,
    /// Per-export request timeout.
    pub timeout: Duration,
}

impl OtlpSettings {
    /// Defaults for a service called `service_name`.
    pub fn new(service_name: impl Into<String>) -> Self {
        Self {
            endpoint: None,
            service_name: service_name.into(),
            metrics_interval: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }
    }

    /// Export to the receiver at `base` (e.g. `http://127.0.0.1:4318`).
    pub fn endpoint(mut self, base: impl Into<String>) -> Self {
        self.endpoint = Some(base.into());
        self
    }
}

/// Running OTLP export; flushes and shuts down on [`Otlp::shutdown`] or drop.
#[derive(Debug)]
pub struct Otlp {
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    shut: bool,
}

fn signal_url(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

impl Otlp {
    /// Build the exporters and providers. Does not touch the global providers.
    pub fn start(settings: &OtlpSettings) -> Result<Self, OtelError> {
        // A no-op when a provider is already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut spans = SpanExporter::builder().with_http().with_timeout(settings.timeout);
        let mut metrics = MetricExporter::builder().with_http().with_timeout(settings.timeout);
        if let Some(base) = settings.endpoint.as_deref() {
            spans = spans.with_endpoint(signal_url(base, "/v1/traces"));
            metrics = metrics.with_endpoint(signal_url(base, "/v1/metrics"));
        }
        let spans = spans.build().map_err(|e| OtelError::Exporter(e.to_string()))?;
        let metrics = metrics.build().map_err(|e| OtelError::Exporter(e.to_string()))?;
        let resource = Resource::builder().with_service_name(settings.service_name.clone()).build();
        let tracer_provider =
            SdkTracerProvider::builder().with_batch_exporter(spans).with_resource(resource.clone()).build();
        let reader = PeriodicReader::builder(metrics).with_interval(settings.metrics_interval).build();
        let meter_provider = SdkMeterProvider::builder().with_reader(reader).with_resource(resource).build();
        Ok(Self { tracer_provider, meter_provider, shut: false })
    }

    /// A hook configuration that records into these providers.
    pub fn config(&self) -> OtelConfig {
        OtelConfig::with_providers(self.tracer_provider.clone(), self.meter_provider.clone())
    }

    /// The tracer provider (for the application's own spans).
    pub fn tracer_provider(&self) -> &SdkTracerProvider {
        &self.tracer_provider
    }

    /// The meter provider.
    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.meter_provider
    }

    /// Make these the global tracer and meter providers.
    pub fn install_global(&self) {
        opentelemetry::global::set_tracer_provider(self.tracer_provider.clone());
        opentelemetry::global::set_meter_provider(self.meter_provider.clone());
    }

    /// Export every finished span and the current metrics now.
    pub fn flush(&self) -> Result<(), OtelError> {
        let spans = self.tracer_provider.force_flush();
        let metrics = self.meter_provider.force_flush();
        spans.and(metrics).map_err(|e| OtelError::Sdk(e.to_string()))
    }

    /// Flush and stop exporting.
    pub fn shutdown(mut self) -> Result<(), OtelError> {
        self.shut = true;
        let spans = self.tracer_provider.shutdown();
        let metrics = self.meter_provider.shutdown();
        spans.and(metrics).map_err(|e| OtelError::Sdk(e.to_string()))
    }
}

impl Drop for Otlp {
    fn drop(&mut self) {
        if !self.shut {
            let _ = self.tracer_provider.shutdown();
            let _ = self.meter_provider.shutdown();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_urls_join_without_double_slash() {
        assert_eq!(signal_url("http://h:4318/", "/v1/traces"), "http://h:4318/v1/traces");
        assert_eq!(signal_url("http://h:4318", "/v1/metrics"), "http://h:4318/v1/metrics");
    }

    #[test]
    fn bad_endpoint_is_a_typed_error() {
        let err = Otlp::start(&OtlpSettings::new("t").endpoint("not a url")).expect_err("refused");
        assert!(matches!(err, OtelError::Exporter(_)), "{err}");
    }
}
