//! Test-only worker affordances for the transport lifecycle groups
//! (`TestTransportKindContext`, `TestServeStartLifecycle` in the reference
//! suite), each behind its own worker flag so the default worker's surface
//! and protocol hashes stay the reference's:
//!
//! * `--transport-kind-probe` hosts `conformance.TransportKind.v1`, whose one
//!   method answers the transport kind the call arrived on (as handlers see
//!   it in their `CallContext`), kept out of the versioned `ConformanceService`;
//! * `--fail-serve-start-once` registers a serve-start hook that fails the
//!   first time it runs and succeeds after.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrow_array::{ArrayRef, StringArray};
use arrow_schema::DataType;
use vgi_rpc::rpc::TransportKind;
use vgi_rpc::{MethodDef, Protocol, RpcError};

/// Wire name of the probe protocol.
pub const TRANSPORT_KIND_PROTOCOL: &str = "conformance.TransportKind.v1";

/// `conformance.TransportKind.v1`: `report_transport_kind() -> str`.
pub fn transport_kind_protocol() -> Protocol {
    Protocol::new(TRANSPORT_KIND_PROTOCOL).method(
        MethodDef::builder("report_transport_kind").returns(DataType::Utf8, false).unary(|_, ctx| {
            let kind = ctx.transport_kind().ok_or_else(|| RpcError::runtime_error("the transport reported no kind"))?;
            Ok(Some(Arc::new(StringArray::from(vec![kind.as_str()])) as ArrayRef))
        }),
    )
}

/// A serve-start hook that fails on its first run only.
pub fn fail_serve_start_once() -> impl Fn(TransportKind) -> Result<(), RpcError> + Send + Sync + 'static {
    let failed = AtomicBool::new(false);
    move |_kind| {
        if failed.swap(true, Ordering::SeqCst) {
            Ok(())
        } else {
            Err(RpcError::runtime_error("conformance injected serve-start failure"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_injected_failure_happens_once() {
        let hook = fail_serve_start_once();
        assert!(hook(TransportKind::Http).is_err());
        assert!(hook(TransportKind::Http).is_ok());
        assert!(hook(TransportKind::Http).is_ok());
    }
}
