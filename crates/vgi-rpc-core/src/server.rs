//! `Server`: the hosted protocol set (sealed at build time), identity,
//! settings, and the hooks every transport drives.

use std::collections::HashMap;
use std::sync::Arc;

use vgi_rpc_wire::ReadLimits;

use crate::external::Externalization;
use crate::ids::{new_server_id, RequestIds};
use crate::protocol::RegistryError;
use crate::quota::{QuotaPolicy, QuotaSettings, QuotaSettingsError, Quotas};
use crate::reflection::{reflection_protocol, REFLECTION_PROTOCOL};
use crate::transport::{ServeStart, ServeStartHook, TransportKind};
use crate::{Clock, DispatchHook, Protocol, SystemClock};

/// Builds a [`Server`]. Protocols can only be added here, so the hosted set
/// is sealed by construction before anything is served.
pub struct ServerBuilder {
    protocols: Vec<Protocol>,
    reflection: bool,
    tracebacks: bool,
    server_id: Option<String>,
    server_version: String,
    clock: Arc<dyn Clock>,
    hooks: Vec<Arc<dyn DispatchHook>>,
    limits: ReadLimits,
    request_ids: Option<RequestIds>,
    quotas: QuotaPolicy,
    externalization: Option<Externalization>,
    serve_start: Vec<ServeStartHook>,
    shared_memory: Option<Arc<dyn crate::shared_memory::SharedMemory>>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        Self {
            protocols: Vec::new(),
            reflection: true,
            tracebacks: true,
            server_id: None,
            server_version: concat!("vgi-rpc-rust ", env!("CARGO_PKG_VERSION")).to_owned(),
            clock: Arc::new(SystemClock::new()),
            hooks: Vec::new(),
            limits: ReadLimits::default(),
            request_ids: None,
            quotas: QuotaPolicy::default(),
            externalization: None,
            serve_start: Vec::new(),
            shared_memory: None,
        }
    }
}

impl ServerBuilder {
    /// Host an application protocol. The first one added is the primary.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocols.push(protocol);
        self
    }

    /// Host `vgi_rpc.Reflection.v1` (on by default).
    pub fn reflection(mut self, enabled: bool) -> Self {
        self.reflection = enabled;
        self
    }

    /// Send tracebacks on EXCEPTION batches (on by default, every transport).
    pub fn tracebacks(mut self, enabled: bool) -> Self {
        self.tracebacks = enabled;
        self
    }

    /// Fix the server id instead of generating one.
    pub fn server_id(mut self, id: impl Into<String>) -> Self {
        self.server_id = Some(id.into());
        self
    }

    /// The build version string reflection reports.
    pub fn server_version(mut self, version: impl Into<String>) -> Self {
        self.server_version = version.into();
        self
    }

    /// The clock for durations and timestamps.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Observe every call.
    pub fn hook(mut self, hook: Arc<dyn DispatchHook>) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Caps for every request read.
    pub fn read_limits(mut self, limits: ReadLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Per-principal fair-sharing limits on open streams, open sessions and
    /// the request rate, applied by every transport (all off by default; see
    /// [`QuotaSettings`]). Refused when the settings cannot be served.
    pub fn quotas(mut self, settings: QuotaSettings) -> Result<Self, QuotaSettingsError> {
        self.quotas = settings.validate()?;
        Ok(self)
    }

    /// Send output batches over the threshold through external storage as
    /// pointer batches, on every transport, and resolve pointer batches
    /// clients send when the policy has a resolver (off by default).
    pub fn externalization(mut self, policy: Externalization) -> Self {
        self.externalization = Some(policy);
        self
    }

    /// Use the shared-memory side channel (WIRE_PROTOCOL.md §11) on pipe and
    /// Unix-socket connections: attach the segments clients name, resolve
    /// their pointer batches, and write large results into the segment.
    /// Also makes `__transport_options__` answer `shm = "true"`.
    pub fn shared_memory(mut self, provider: Arc<dyn crate::shared_memory::SharedMemory>) -> Self {
        self.shared_memory = Some(provider);
        self
    }

    /// Deterministic request ids (tests).
    pub fn request_id_seed(mut self, seed: u64) -> Self {
        self.request_ids = Some(RequestIds::with_seed(seed));
        self
    }

    /// Run `hook` when a transport starts serving (see [`crate::transport`]):
    /// once per transport kind and process, retried on the next start
    /// until it succeeds. Hooks run in registration order.
    pub fn on_serve_start(
        mut self,
        hook: impl Fn(TransportKind) -> Result<(), crate::RpcError> + Send + Sync + 'static,
    ) -> Self {
        self.serve_start.push(Arc::new(hook));
        self
    }

    /// Validate and seal the protocol set.
    pub fn build(self) -> Result<Server, RegistryError> {
        let mut protocols = Vec::with_capacity(self.protocols.len() + 1);
        let mut by_name = HashMap::new();
        for p in self.protocols {
            let p = p.seal(false)?;
            if by_name.insert(p.name().to_owned(), protocols.len()).is_some() {
                return Err(RegistryError::DuplicateProtocol(p.name().to_owned()));
            }
            protocols.push(Arc::new(p));
        }
        let server_id: Arc<str> = self.server_id.unwrap_or_else(new_server_id).into();
        if self.reflection {
            let reflection = reflection_protocol(&protocols, &server_id, &self.server_version)?;
            by_name.insert(REFLECTION_PROTOCOL.to_owned(), protocols.len());
            protocols.push(Arc::new(reflection));
        }
        let quotas = Quotas::new(self.quotas, self.clock.clone());
        Ok(Server {
            inner: Arc::new(Inner {
                protocols,
                by_name,
                server_id,
                server_version: self.server_version,
                tracebacks: self.tracebacks,
                clock: self.clock,
                hooks: self.hooks,
                limits: self.limits,
                request_ids: self.request_ids.unwrap_or_default(),
                quotas,
                externalization: self.externalization,
                serve_start: ServeStart::new(self.serve_start),
                shared_memory: self.shared_memory,
            }),
        })
    }
}

struct Inner {
    protocols: Vec<Arc<Protocol>>,
    by_name: HashMap<String, usize>,
    server_id: Arc<str>,
    server_version: String,
    tracebacks: bool,
    clock: Arc<dyn Clock>,
    hooks: Vec<Arc<dyn DispatchHook>>,
    limits: ReadLimits,
    request_ids: RequestIds,
    quotas: Quotas,
    externalization: Option<Externalization>,
    serve_start: ServeStart,
    shared_memory: Option<Arc<dyn crate::shared_memory::SharedMemory>>,
}

/// A sealed, shareable server. Cloning is cheap.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("server_id", &self.inner.server_id)
            .field("protocols", &self.protocol_names())
            .finish()
    }
}

impl Server {
    /// Start building a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Hosted protocols: applications in registration order, then framework ones.
    pub fn protocols(&self) -> &[Arc<Protocol>] {
        &self.inner.protocols
    }

    /// Names of hosted protocols, in listing order.
    pub fn protocol_names(&self) -> Vec<&str> {
        self.inner.protocols.iter().map(|p| p.name()).collect()
    }

    /// The primary (first registered) protocol, if any.
    pub fn primary(&self) -> Option<&Arc<Protocol>> {
        self.inner.protocols.first()
    }

    /// Look up a hosted protocol by wire name.
    pub fn protocol(&self, name: &str) -> Option<&Arc<Protocol>> {
        self.inner.by_name.get(name).map(|&i| &self.inner.protocols[i])
    }

    /// Sorted hosted names (for error messages).
    pub fn sorted_protocol_names(&self) -> Vec<&str> {
        let mut names = self.protocol_names();
        names.sort_unstable();
        names
    }

    /// This instance's id (fixed for the process).
    pub fn server_id(&self) -> &Arc<str> {
        &self.inner.server_id
    }
    /// Build version string.
    pub fn server_version(&self) -> &str {
        &self.inner.server_version
    }
    /// Whether EXCEPTION batches carry tracebacks.
    pub fn tracebacks(&self) -> bool {
        self.inner.tracebacks
    }
    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }
    /// Registered hooks.
    pub fn hooks(&self) -> &[Arc<dyn DispatchHook>] {
        &self.inner.hooks
    }
    /// Read caps.
    pub fn read_limits(&self) -> ReadLimits {
        self.inner.limits
    }
    /// The per-principal quotas every transport applies.
    pub fn quotas(&self) -> &Quotas {
        &self.inner.quotas
    }
    /// The externalization policy, when storage is configured.
    pub fn externalization(&self) -> Option<&Externalization> {
        self.inner.externalization.as_ref()
    }
    /// The shared-memory provider, when the side channel is on.
    pub fn shared_memory(&self) -> Option<&dyn crate::shared_memory::SharedMemory> {
        self.inner.shared_memory.as_deref()
    }
    /// Report that a transport of `kind` is starting to serve: runs the
    /// serve-start hooks unless this kind is already bound (see
    /// [`crate::transport`]). On `Err` nothing is committed; the transport
    /// must not serve this start (HTTP: answer 500) and the next call retries.
    pub fn notify_transport(&self, kind: TransportKind) -> Result<(), crate::RpcError> {
        self.inner.serve_start.notify(kind)
    }
    /// The transport kind the serve-start hooks last succeeded for, if any.
    pub fn transport_kind(&self) -> Option<TransportKind> {
        self.inner.serve_start.bound()
    }
    /// A fresh request id.
    pub fn next_request_id(&self) -> String {
        self.inner.request_ids.next_id()
    }

    /// A fresh stream id: 32 lowercase hex characters.
    pub fn new_stream_id(&self) -> String {
        let mut id = self.inner.request_ids.next_id();
        id.push_str(&self.inner.request_ids.next_id());
        id
    }
}
