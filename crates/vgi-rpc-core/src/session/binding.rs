//! One request's view of sticky sessions: whether the client opted in,
//! the session its token resolved to, and what the handler did (open,
//! close), for the transport to turn into response headers and for the
//! access log.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::{session_id_hex, SessionEntry, SessionId, SessionObject, SessionRegistry, SessionState};
use crate::RpcError;

/// What a request did with sessions (the access log's `session_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAction {
    /// No token presented and none opened.
    None,
    /// A presented token resolved to a live session.
    Resume,
    /// The handler opened a session.
    Open,
    /// The handler closed the session.
    Close,
}

impl SessionAction {
    /// The access log's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionAction::None => "none",
            SessionAction::Resume => "resume",
            SessionAction::Open => "open",
            SessionAction::Close => "close",
        }
    }
}

/// The access-log fields of a request that went through a sticky server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// What the request did to its session.
    pub action: SessionAction,
    /// 24 lowercase hex characters, when the request touched a session.
    pub session_id: Option<String>,
}

#[derive(Debug)]
struct Touched {
    current: Option<Arc<SessionEntry>>,
    action: SessionAction,
    /// The id the request touched, kept after a close.
    id: Option<SessionId>,
    opened: Option<Arc<SessionEntry>>,
    closed: bool,
}

/// Sticky state of one request, shared by the transport and the handler's
/// [`CallContext`](crate::CallContext).
#[derive(Debug)]
pub struct SessionBinding {
    registry: Arc<SessionRegistry>,
    principal_key: String,
    accept_opens: bool,
    touched: Mutex<Touched>,
}

impl SessionBinding {
    /// A request that presented no token; `accept_opens` is the client's
    /// `VGI-Session-Accept: true`.
    pub fn fresh(registry: Arc<SessionRegistry>, principal_key: String, accept_opens: bool) -> Self {
        Self::with(registry, principal_key, accept_opens, None)
    }

    /// A request whose token resolved to `entry`.
    pub fn resumed(
        registry: Arc<SessionRegistry>,
        principal_key: String,
        accept_opens: bool,
        entry: Arc<SessionEntry>,
    ) -> Self {
        Self::with(registry, principal_key, accept_opens, Some(entry))
    }

    fn with(
        registry: Arc<SessionRegistry>,
        principal_key: String,
        accept_opens: bool,
        entry: Option<Arc<SessionEntry>>,
    ) -> Self {
        let action = if entry.is_some() { SessionAction::Resume } else { SessionAction::None };
        let id = entry.as_ref().map(|e| *e.id());
        let touched = Touched { current: entry, action, id, opened: None, closed: false };
        Self { registry, principal_key, accept_opens, touched: Mutex::new(touched) }
    }

    fn touched(&self) -> MutexGuard<'_, Touched> {
        self.touched.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Open a session holding `state` for `ttl` (the registry default when `None`).
    pub(crate) fn open(&self, state: SessionObject, ttl: Option<Duration>) -> Result<(), RpcError> {
        if !self.accept_opens {
            return Err(RpcError::runtime_error(format!(
                "cannot open a sticky session: the request did not send '{}: true' (the client is not tracking \
                 sessions)",
                super::ACCEPT_HEADER_NAME
            )));
        }
        let mut touched = self.touched();
        if touched.current.is_some() {
            return Err(RpcError::runtime_error("a sticky session is already active for this request"));
        }
        let entry = self.registry.open(state, ttl, &self.principal_key)?;
        touched.id = Some(*entry.id());
        touched.current = Some(entry.clone());
        touched.opened = Some(entry);
        touched.action = SessionAction::Open;
        Ok(())
    }

    /// Close the bound session, if any (idempotent).
    pub(crate) fn close(&self) {
        let mut touched = self.touched();
        let Some(entry) = touched.current.take() else { return };
        self.registry.close(entry.id());
        touched.closed = true;
        touched.opened = None;
        touched.action = SessionAction::Close;
    }

    /// The bound state.
    pub(crate) fn state(&self) -> Option<SessionObject> {
        self.touched().current.as_ref().map(|e| e.state.clone())
    }

    /// The bound session's id, as hex.
    pub(crate) fn id_hex(&self) -> Option<String> {
        self.touched().current.as_ref().map(|e| session_id_hex(e.id()))
    }

    /// The session opened by this request, still live at its end: the
    /// transport mints its token.
    pub fn opened(&self) -> Option<Arc<SessionEntry>> {
        self.touched().opened.clone()
    }

    /// Whether this request closed its session (`VGI-Session-Close: true`).
    pub fn closed(&self) -> bool {
        self.touched().closed
    }

    /// The access-log fields.
    pub fn record(&self) -> SessionRecord {
        let touched = self.touched();
        let session_id = match touched.action {
            SessionAction::None => None,
            _ => touched.id.as_ref().map(session_id_hex),
        };
        SessionRecord { action: touched.action, session_id }
    }

    /// Store a state object in a new session (the typed entry point behind
    /// [`CallContext::open_session`](crate::CallContext::open_session)).
    pub(crate) fn open_state<S: SessionState>(&self, state: S, ttl: Option<Duration>) -> Result<(), RpcError> {
        self.open(SessionObject::new(state), ttl)
    }
}
