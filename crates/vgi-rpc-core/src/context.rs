//! `CallContext`: what a handler knows about the call it is serving.

use std::sync::{Arc, Mutex};

use vgi_rpc_wire::log::LogMessage;
use vgi_rpc_wire::{ExternalPointer, LogLevel, Metadata};

use crate::session::{SessionBinding, SessionState};
use crate::{AuthContext, Externalization, RpcError, TransportKind};

/// Per-call (for streams, per-turn) context handed to every handler.
#[derive(Debug)]
pub struct CallContext {
    request_id: Arc<str>,
    server_id: Arc<str>,
    protocol: Arc<str>,
    method: Arc<str>,
    auth: Arc<AuthContext>,
    request_metadata: Metadata,
    logs: Mutex<Vec<LogMessage>>,
    external: Option<Externalization>,
    pointer_reply: Mutex<Option<ExternalPointer>>,
    transport: Option<TransportKind>,
    remote_addr: Option<Arc<str>>,
    session: Option<Arc<SessionBinding>>,
}

/// What a handler gets asking for sessions on a transport without them.
fn sessions_unavailable() -> RpcError {
    RpcError::runtime_error("sticky sessions not available on this transport")
}

impl CallContext {
    /// A context for one call.
    pub fn new(
        request_id: Arc<str>,
        server_id: Arc<str>,
        protocol: Arc<str>,
        method: Arc<str>,
        auth: Arc<AuthContext>,
        request_metadata: Metadata,
    ) -> Self {
        Self {
            request_id,
            server_id,
            protocol,
            method,
            auth,
            request_metadata,
            logs: Mutex::new(Vec::new()),
            external: None,
            pointer_reply: Mutex::new(None),
            transport: None,
            remote_addr: None,
            session: None,
        }
    }

    /// Give handlers the request's sticky-session binding (HTTP with sessions enabled).
    pub fn with_session(mut self, session: Option<Arc<SessionBinding>>) -> Self {
        self.session = session;
        self
    }

    /// Open a sticky session holding `state` for `ttl` (the server's default
    /// when `None`); later requests carrying the session's token see it as
    /// [`CallContext::session`]. Fails on a transport without sessions, when
    /// the client did not send `VGI-Session-Accept: true`, when a session is
    /// already bound, and (`ServerDrainingError`) while the server drains.
    pub fn open_session<S: SessionState>(&self, state: S, ttl: Option<std::time::Duration>) -> Result<(), RpcError> {
        self.session.as_ref().ok_or_else(sessions_unavailable)?.open_state(state, ttl)
    }

    /// The state of the session bound to this request, when there is one of type `S`.
    pub fn session<S: SessionState>(&self) -> Option<Arc<S>> {
        self.session.as_ref()?.state()?.downcast::<S>()
    }

    /// The bound session's id (24 hex characters), for logs.
    pub fn session_id(&self) -> Option<String> {
        self.session.as_ref()?.id_hex()
    }

    /// Close the bound session: its state's `close` runs, the registry forgets
    /// it, and the response tells the client to drop its token. Idempotent;
    /// fails only on a transport without sessions.
    pub fn close_session(&self) -> Result<(), RpcError> {
        self.session.as_ref().ok_or_else(sessions_unavailable)?.close();
        Ok(())
    }

    /// Record the transport the call arrived on and the peer's address.
    pub fn with_transport(mut self, kind: Option<TransportKind>, remote_addr: Option<&str>) -> Self {
        self.transport = kind;
        self.remote_addr = remote_addr.map(Arc::from);
        self
    }

    /// The transport this call arrived on (`None` when the transport did not say).
    pub fn transport_kind(&self) -> Option<TransportKind> {
        self.transport
    }

    /// The peer's address as the transport reports it (`ip:port` for TCP and
    /// HTTP, `"unix"` for a Unix socket), when it has one.
    pub fn remote_addr(&self) -> Option<&str> {
        self.remote_addr.as_deref()
    }

    /// Give handlers the server's external storage policy.
    pub fn with_externalization(mut self, external: Option<Externalization>) -> Self {
        self.external = external;
        self
    }

    /// The server's external storage policy, when one is configured (a
    /// handler publishing results ahead of time uploads through it).
    pub fn externalization(&self) -> Option<&Externalization> {
        self.external.as_ref()
    }

    /// Answer this unary call with `pointer` (an object published earlier,
    /// WIRE_PROTOCOL.md §12 *Pre-published references*) instead of the
    /// handler's return value: the response is one zero-row pointer batch
    /// on the result schema, whatever the threshold, and nothing is uploaded.
    pub fn reply_by_pointer(&self, pointer: ExternalPointer) {
        match self.pointer_reply.lock() {
            Ok(mut slot) => *slot = Some(pointer),
            Err(poisoned) => *poisoned.into_inner() = Some(pointer),
        }
    }

    /// The pointer a handler chose to answer with, if any.
    pub(crate) fn take_pointer_reply(&self) -> Option<ExternalPointer> {
        match self.pointer_reply.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }

    /// The request correlation id.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }
    /// This server instance's id.
    pub fn server_id(&self) -> &str {
        &self.server_id
    }
    /// The protocol that owns the method being served.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }
    /// The method being served.
    pub fn method(&self) -> &str {
        &self.method
    }
    /// The caller's identity.
    pub fn auth(&self) -> &AuthContext {
        &self.auth
    }
    /// The metadata of the batch that started this turn: the request batch
    /// for unary calls and stream init, the tick or input batch for stream turns.
    pub fn request_metadata(&self) -> &Metadata {
        &self.request_metadata
    }

    /// Send a log message to the client.
    pub fn client_log(&self, level: LogLevel, message: impl Into<String>) {
        self.push(LogMessage::new(level, message));
    }

    /// Send a log message with structured extras.
    pub fn client_log_with(
        &self,
        level: LogLevel,
        message: impl Into<String>,
        extra: serde_json::Map<String, serde_json::Value>,
    ) {
        self.push(LogMessage { level, message: message.into(), extra: Some(extra) });
    }

    fn push(&self, msg: LogMessage) {
        match self.logs.lock() {
            Ok(mut logs) => logs.push(msg),
            Err(poisoned) => poisoned.into_inner().push(msg),
        }
    }

    /// Take the logs emitted so far.
    pub fn take_logs(&self) -> Vec<LogMessage> {
        match self.logs.lock() {
            Ok(mut logs) => std::mem::take(&mut *logs),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    /// A context for the next stream turn: same call, new batch metadata, no logs.
    pub fn for_turn(&self, request_metadata: Metadata) -> Self {
        Self::new(
            self.request_id.clone(),
            self.server_id.clone(),
            self.protocol.clone(),
            self.method.clone(),
            self.auth.clone(),
            request_metadata,
        )
        .with_externalization(self.external.clone())
        .with_transport(self.transport, self.remote_addr.as_deref())
        .with_session(self.session.clone())
    }
}
