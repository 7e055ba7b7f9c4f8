//! The vgi-rpc conformance service in Rust.
//!
//! [`methods::conformance_protocol`] is `ConformanceService` 2.0.0 with the
//! reference's method names, parameter names, Arrow schemas and stream
//! semantics; [`methods::secondary_protocol`] is `conformance.Secondary.v1`.
//! [`build_server`] hosts both (primary first), as every conformance worker does.

pub mod auth_fixture;
pub mod identity_fixture;
pub mod methods;
pub mod otel_worker;
pub mod soak;
pub mod transport_probe;

use std::sync::Arc;

use vgi_rpc::rpc::Server;

/// Options of the conformance server (the worker's CLI maps onto these).
#[derive(Debug, Clone, Default)]
pub struct ConformanceOptions {
    /// Host `vgi_rpc.Reflection.v1`.
    pub describe: bool,
    /// Append access-log records (JSON Lines) to this file, rotated and shaped as set.
    pub access_log: Option<vgi_rpc::logfile::AccessLogSettings>,
    /// A fixed server id (default: random per process).
    pub server_id: Option<String>,
    /// Per-principal quotas (default: all off).
    pub quotas: vgi_rpc::rpc::QuotaSettings,
    /// External storage for oversized output and request pointers (default: none).
    pub externalization: Option<vgi_rpc::rpc::Externalization>,
    /// Host `conformance.TransportKind.v1` (see [`transport_probe`]).
    pub transport_kind_probe: bool,
    /// Fail the first serve-start notification (see [`transport_probe`]).
    pub fail_serve_start_once: bool,
    /// Host `vgi_rpc.Identity.v2` with these hooks (see [`identity_fixture`]).
    pub identity: Option<vgi_rpc::http::vgi_rpc_auth::identity::Identity>,
    /// Host `conformance.Whoami.v1` (the grant worker's probe).
    pub whoami: bool,
    /// Further dispatch hooks, installed after the access log (e.g. OpenTelemetry).
    pub hooks: ExtraHooks,
}

/// Dispatch hooks for [`ConformanceOptions::hooks`].
#[derive(Clone, Default)]
pub struct ExtraHooks(pub Vec<Arc<dyn vgi_rpc::rpc::DispatchHook>>);

impl std::fmt::Debug for ExtraHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExtraHooks({} hooks)", self.0.len())
    }
}

/// Why the conformance server could not be built.
#[derive(Debug)]
pub enum BuildError {
    Registry(vgi_rpc::rpc::protocol::RegistryError),
    AccessLog(vgi_rpc::logfile::SettingsError),
    Quotas(vgi_rpc::rpc::quota::QuotaSettingsError),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Registry(e) => write!(f, "{e}"),
            BuildError::AccessLog(e) => write!(f, "{e}"),
            BuildError::Quotas(e) => write!(f, "quotas: {e}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// The conformance server: `ConformanceService`, then `conformance.Secondary.v1`.
pub fn build_server(options: &ConformanceOptions) -> Result<Server, BuildError> {
    let mut builder = Server::builder()
        .protocol(methods::conformance_protocol())
        .protocol(methods::secondary_protocol())
        .reflection(options.describe)
        .quotas(options.quotas.clone())
        .map_err(BuildError::Quotas)?;
    if options.transport_kind_probe {
        builder = builder.protocol(transport_probe::transport_kind_protocol());
    }
    if options.fail_serve_start_once {
        builder = builder.on_serve_start(transport_probe::fail_serve_start_once());
    }
    if let Some(protocol) = options.identity.as_ref().and_then(|i| i.protocol()) {
        builder = builder.protocol(protocol);
    }
    if options.whoami {
        builder = builder.protocol(identity_fixture::whoami_protocol());
    }
    if let Some(policy) = &options.externalization {
        builder = builder.externalization(policy.clone());
    }
    // Pipe and Unix-socket clients may name a shared-memory segment (§11).
    builder = builder.shared_memory(std::sync::Arc::new(vgi_rpc::shm::PosixSharedMemory));
    // The id is fixed here (not left to the builder) so the access log's
    // `{server_id}` placeholder names the same id its records carry.
    let server_id = options.server_id.clone().unwrap_or_else(vgi_rpc::rpc::ids::new_server_id);
    builder = builder.server_id(server_id.clone());
    if let Some(settings) = &options.access_log {
        let version = concat!("vgi-rpc-rust ", env!("CARGO_PKG_VERSION"));
        let log = settings.open(&server_id, version).map_err(BuildError::AccessLog)?;
        builder = builder.hook(Arc::new(log));
    }
    for hook in &options.hooks.0 {
        builder = builder.hook(hook.clone());
    }
    builder.build().map_err(BuildError::Registry)
}
