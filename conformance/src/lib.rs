//! The vgi-rpc conformance service in Rust.
//!
//! [`service::conformance_protocol`] is `ConformanceService` 2.0.0 with the
//! reference's method names, parameter names, Arrow schemas and stream
//! semantics; [`service::secondary_protocol`] is `conformance.Secondary.v1`.
//! [`build_server`] hosts both (primary first), as every conformance worker does.

pub mod service;

use vgi_rpc::core::protocol::RegistryError;
use vgi_rpc::core::Server;

/// Options of the conformance server (the worker's CLI maps onto these).
#[derive(Debug, Clone, Default)]
pub struct ConformanceOptions {
    /// Host `vgi_rpc.Reflection.v1`.
    pub describe: bool,
}

/// The conformance server: `ConformanceService`, then `conformance.Secondary.v1`.
pub fn build_server(options: &ConformanceOptions) -> Result<Server, RegistryError> {
    Server::builder()
        .protocol(service::conformance_protocol())
        .protocol(service::secondary_protocol())
        .reflection(options.describe)
        .build()
}
