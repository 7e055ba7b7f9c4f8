//! The counters and histograms the hook records into.

use opentelemetry::metrics::{Counter, Histogram, Meter};

use crate::attributes::metric;

/// Every instrument, created once per hook.
pub(crate) struct Instruments {
    pub(crate) requests: Counter<u64>,
    pub(crate) duration: Histogram<f64>,
    pub(crate) errors: Counter<u64>,
    pub(crate) auth_failures: Counter<u64>,
    pub(crate) input_rows: Counter<u64>,
    pub(crate) output_rows: Counter<u64>,
    pub(crate) input_bytes: Counter<u64>,
    pub(crate) output_bytes: Counter<u64>,
}

impl Instruments {
    pub(crate) fn new(meter: &Meter) -> Self {
        let counter = |name: &'static str, unit: &'static str, description: &'static str| {
            meter.u64_counter(name).with_unit(unit).with_description(description).build()
        };
        Self {
            requests: counter(metric::REQUESTS, "{request}", "Number of RPC requests handled"),
            duration: meter
                .f64_histogram(metric::DURATION)
                .with_unit("s")
                .with_description("Duration of RPC requests")
                .build(),
            errors: counter(metric::ERRORS, "{request}", "Number of RPC requests that failed, by error code"),
            auth_failures: counter(
                metric::AUTH_FAILURE,
                "{failure}",
                "Number of authentication failures before RPC dispatch",
            ),
            input_rows: counter(metric::INPUT_ROWS, "{row}", "Rows received in request and input batches"),
            output_rows: counter(metric::OUTPUT_ROWS, "{row}", "Rows sent in output batches"),
            input_bytes: counter(metric::INPUT_BYTES, "By", "Arrow memory size of received batches"),
            output_bytes: counter(metric::OUTPUT_BYTES, "By", "Arrow memory size of sent batches"),
        }
    }
}
