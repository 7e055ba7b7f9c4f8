//! The worker's OpenTelemetry flags: `--otel` exports spans and metrics over
//! OTLP/HTTP to the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (default
//! `http://localhost:4318`), `--otel-endpoint URL` to an explicit receiver.
//! Export is flushed when the worker exits.

use std::sync::Arc;
use std::time::Duration;

use vgi_rpc::otel::{install_propagation, OtelHook, Otlp, OtlpSettings};

use crate::ExtraHooks;

/// OpenTelemetry flags of the conformance worker.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OtelArgs {
    /// Emit OpenTelemetry spans and metrics over OTLP/HTTP (endpoint from
    /// OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318).
    #[arg(long)]
    pub otel: bool,
    /// Base URL of the OTLP/HTTP receiver (implies --otel); /v1/traces and
    /// /v1/metrics are appended.
    #[arg(long, value_name = "URL")]
    pub otel_endpoint: Option<String>,
    /// `service.name` of the exported resource.
    #[arg(long, value_name = "NAME", default_value = "vgi-rpc-conformance")]
    pub otel_service_name: String,
    /// Seconds between metric exports (they are also flushed at exit).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub otel_metrics_interval: u64,
}

impl OtelArgs {
    /// Start exporting when asked: the running exporter (keep it alive until
    /// exit; dropping it flushes) and the hook to install on the server.
    pub fn start(&self) -> Result<Option<(Otlp, ExtraHooks)>, String> {
        if !self.otel && self.otel_endpoint.is_none() {
            return Ok(None);
        }
        let mut settings = OtlpSettings::new(self.otel_service_name.clone());
        settings.endpoint = self.otel_endpoint.clone();
        settings.metrics_interval = Duration::from_secs(self.otel_metrics_interval.max(1));
        let otlp = Otlp::start(&settings).map_err(|e| format!("--otel: {e}"))?;
        // Calls the handlers make as clients carry the handler span's context.
        install_propagation();
        let mut config = otlp.config();
        config.auth_failure_service = Some(crate::methods::CONFORMANCE_PROTOCOL.to_owned());
        let hook: Arc<dyn vgi_rpc::rpc::DispatchHook> = Arc::new(OtelHook::new(config));
        Ok(Some((otlp, ExtraHooks(vec![hook]))))
    }
}
