//! Sticky sessions (WIRE_PROTOCOL.md §17, the reference's
//! `docs/sticky-sessions-spec.md`): a handler binds an in-process object to
//! the worker that opened it, and later calls carrying the session's token
//! see the same object again.
//!
//! The core owns the parts that are not HTTP: the per-worker
//! [`SessionRegistry`] (ids, TTL on the injected [`Clock`](crate::Clock),
//! eviction, the drain flag), the per-request [`SessionBinding`] a transport
//! hands to dispatch, and the handler API on
//! [`CallContext`](crate::CallContext) (`open_session`, `session`,
//! `session_id`, `close_session`). Sealing tokens, headers and the reaper
//! task belong to the transport.

mod binding;
mod registry;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::Arc;

pub use binding::{SessionAction, SessionBinding, SessionRecord};
pub use registry::{SessionEntry, SessionRegistry, DEFAULT_SESSION_TTL};

use crate::{AuthContext, CallError, ErrorCode, RpcError};

/// The name of the request header a client sends to opt in to sessions.
pub const ACCEPT_HEADER_NAME: &str = "VGI-Session-Accept";

/// `vgi_rpc.error_kind` of a token that cannot be honoured.
pub const SESSION_LOST_KIND: &str = "session_lost";
/// `vgi_rpc.error_kind` of an open refused while the server drains.
pub const SERVER_DRAINING_KIND: &str = "server_draining";

/// Bytes in a session id (24 hex characters).
pub const SESSION_ID_BYTES: usize = 12;

/// A session's random id.
pub type SessionId = [u8; SESSION_ID_BYTES];

/// Lowercase hex of a session id, as logs and `CallContext::session_id` show it.
pub fn session_id_hex(id: &SessionId) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// An object a session holds. `close` runs once, when the session is
/// closed explicitly, evicted by its TTL, or shut down with the server; it
/// never runs when the process dies.
pub trait SessionState: Any + Send + Sync {
    /// Release what the state holds. Must not panic; errors are the state's to swallow.
    fn close(&self) {}
}

/// A session's state, kept twice over one allocation: as `Any` for typed
/// access and as [`SessionState`] for closing.
#[derive(Clone)]
pub(crate) struct SessionObject {
    any: Arc<dyn Any + Send + Sync>,
    state: Arc<dyn SessionState>,
}

impl SessionObject {
    pub(crate) fn new<S: SessionState>(state: S) -> Self {
        let state = Arc::new(state);
        Self { any: state.clone(), state }
    }

    pub(crate) fn downcast<S: SessionState>(&self) -> Option<Arc<S>> {
        self.any.clone().downcast::<S>().ok()
    }

    pub(crate) fn close(&self) {
        self.state.close();
    }
}

impl std::fmt::Debug for SessionObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionObject")
    }
}

/// The key a session is bound to: the caller's domain and principal, or
/// `anonymous`. Tokens carry the same identity in their AEAD data; this
/// registry check is the second line behind that.
pub fn principal_key(auth: &AuthContext) -> String {
    if auth.authenticated {
        format!("{}\u{0}{}", auth.domain, auth.principal)
    } else {
        "anonymous".to_owned()
    }
}

impl RpcError {
    /// A session token that cannot be honoured (`SessionLostError`,
    /// `error_kind = "session_lost"`): malformed, forged, for another
    /// principal or worker, closed, or expired.
    pub fn session_lost(message: impl Into<String>) -> Self {
        Self::new("SessionLostError", message).with_kind(SESSION_LOST_KIND, ErrorCode::Aborted)
    }

    /// A session open refused because the server is draining
    /// (`ServerDrainingError`, `error_kind = "server_draining"`).
    pub fn server_draining(message: impl Into<String>) -> Self {
        Self::new("ServerDrainingError", message)
            .with_kind(SERVER_DRAINING_KIND, ErrorCode::Unavailable)
            .with_details(vec![vgi_rpc_wire::error_model::retry_info(1.0)])
    }

    /// Whether this is a [`RpcError::session_lost`].
    pub fn is_session_lost(&self) -> bool {
        self.kind.as_deref() == Some(SESSION_LOST_KIND)
    }

    /// Whether this is a [`RpcError::server_draining`].
    pub fn is_server_draining(&self) -> bool {
        self.kind.as_deref() == Some(SERVER_DRAINING_KIND)
    }
}

impl CallError {
    /// The server could not honour the session token (`session_lost`): the
    /// session is gone; reopen it or fail. Never retried by the framework.
    pub fn is_session_lost(&self) -> bool {
        self.remote().is_some_and(|r| r.error_kind == SESSION_LOST_KIND)
    }

    /// The server refused to open a session because it is draining
    /// (`server_draining`); another worker may accept it.
    pub fn is_server_draining(&self) -> bool {
        self.remote().is_some_and(|r| r.error_kind == SERVER_DRAINING_KIND)
    }
}
