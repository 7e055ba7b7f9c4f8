//! Sticky sessions over HTTP (WIRE_PROTOCOL.md §17): the capability
//! headers, resolving a request's `VGI-Session` token to a live session
//! (or a `session_lost` answer), the response headers a call that opened or
//! closed a session gets (`VGI-Session`, `VGI-Echo-*`, `VGI-Session-Close`),
//! `DELETE {prefix}/__session__`, the TTL reaper and the drain switch.
//!
//! A token seals `server_id_len:u8 | server_id | session_id:12 |
//! expires_at:u64le` (the sealer adds `created_at`) with the caller's
//! identity in the AEAD data, so another principal's token fails to open
//! and another worker's opens but names the wrong server.

use std::sync::{Arc, Weak};
use std::time::{Duration, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use vgi_rpc_core::session::{
    principal_key, SessionBinding, SessionEntry, SessionId, SessionRegistry, SESSION_ID_BYTES,
};
use vgi_rpc_core::{AuthContext, RpcError, Server};
use vgi_rpc_token::{Identity, Keyring, Sealer, TokenKind};

/// `VGI-Session`: the token, on requests and on the response that opened it.
pub const SESSION: &str = "vgi-session";
/// `VGI-Session-Accept: true`: the client tracks sessions.
pub const SESSION_ACCEPT: &str = "vgi-session-accept";
/// `VGI-Session-Close: true`: the session is gone; drop the token.
pub const SESSION_CLOSE: &str = "vgi-session-close";
/// Prefix of the headers a client replays for the rest of a session.
pub const ECHO_PREFIX: &str = "vgi-echo-";
/// The teardown endpoint's path segment.
pub const SESSION_SEGMENT: &str = "__session__";

/// How the server runs sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StickySettings {
    /// TTL of a session whose opener names none (advertised, in whole seconds rounded up).
    pub default_ttl: Duration,
    /// `(name, value)` pairs sent as `VGI-Echo-<name>` on each session-opening
    /// response, for the client to replay as `<name>` (client-driven routing).
    pub echo_headers: Vec<(String, String)>,
    /// How often expired sessions are evicted.
    pub reap_interval: Duration,
}

impl Default for StickySettings {
    fn default() -> Self {
        Self {
            default_ttl: vgi_rpc_core::session::DEFAULT_SESSION_TTL,
            echo_headers: Vec::new(),
            reap_interval: Duration::from_secs(1),
        }
    }
}

impl StickySettings {
    /// The advertised TTL: whole seconds, rounded up, at least one.
    pub fn advertised_ttl_secs(&self) -> u64 {
        let ms = self.default_ttl.as_millis();
        (ms.div_ceil(1000) as u64).max(1)
    }

    /// The capability headers of a sticky server.
    pub(crate) fn capability_headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut out = vec![
            (HeaderName::from_static("vgi-sticky-enabled"), HeaderValue::from_static("true")),
            (HeaderName::from_static("vgi-sticky-default-ttl"), HeaderValue::from(self.advertised_ttl_secs())),
        ];
        if !self.echo_headers.is_empty() {
            let names: Vec<&str> = self.echo_headers.iter().map(|(n, _)| n.as_str()).collect();
            if let Ok(v) = HeaderValue::from_str(&names.join(", ")) {
                out.push((HeaderName::from_static("vgi-sticky-echo-headers"), v));
            }
        }
        out
    }
}

/// Why sticky settings cannot be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StickyError {
    /// The configured echo header is not a valid header name and value.
    #[error("sticky echo header {0:?} is not a valid header name and value")]
    EchoHeader(String),
    /// The server id does not fit the 255-byte session field.
    #[error("server id {0:?} is longer than 255 bytes")]
    ServerId(String),
}

/// The sticky machinery of one app.
pub(crate) struct Sticky {
    pub(crate) settings: StickySettings,
    pub(crate) registry: Arc<SessionRegistry>,
    sealer: Sealer,
    server_id: Arc<str>,
    echo: Vec<(HeaderName, HeaderValue)>,
    reaper: std::sync::Once,
}

fn identity(auth: &AuthContext) -> Identity<'_> {
    Identity { authenticated: auth.authenticated, domain: &auth.domain, principal: &auth.principal }
}

/// The scope session tokens are sealed for: the server, not a protocol.
const SCOPE: &str = "";

impl Sticky {
    pub(crate) fn new(settings: StickySettings, keyring: Keyring, server: &Server) -> Result<Self, StickyError> {
        let server_id = server.server_id().clone();
        if server_id.len() > 255 {
            return Err(StickyError::ServerId(server_id.to_string()));
        }
        let mut echo = Vec::new();
        for (name, value) in &settings.echo_headers {
            let header = HeaderName::from_bytes(format!("{ECHO_PREFIX}{name}").as_bytes());
            match (header, HeaderValue::from_str(value)) {
                (Ok(h), Ok(v)) if !name.is_empty() => echo.push((h, v)),
                _ => return Err(StickyError::EchoHeader(name.clone())),
            }
        }
        let registry = Arc::new(SessionRegistry::new(server.clock().clone(), settings.default_ttl));
        // Sessions expire by the registry's clock; the seal itself never does.
        let sealer = Sealer::new(keyring, server.clock().clone(), Duration::ZERO);
        Ok(Self { settings, registry, sealer, server_id, echo, reaper: std::sync::Once::new() })
    }

    /// Open a presented token: the session id, or why it is lost.
    fn open_token(&self, token: &str, auth: &AuthContext) -> Result<SessionId, RpcError> {
        let payload = self
            .sealer
            .open(TokenKind::Session, SCOPE, identity(auth), token)
            .map_err(|_| RpcError::session_lost("session token verification failed"))?;
        let malformed = || RpcError::session_lost("malformed session token");
        let (&id_len, rest) = payload.split_first().ok_or_else(malformed)?;
        let id_len = usize::from(id_len);
        if rest.len() != id_len + SESSION_ID_BYTES + 8 {
            return Err(malformed());
        }
        let (server_id, rest) = rest.split_at(id_len);
        if server_id != self.server_id.as_bytes() {
            return Err(RpcError::session_lost("session token was issued by a different worker (server_id mismatch)"));
        }
        let mut id = [0u8; SESSION_ID_BYTES];
        id.copy_from_slice(&rest[..SESSION_ID_BYTES]);
        Ok(id)
    }

    /// Seal the token for a session this request opened.
    fn seal(&self, entry: &SessionEntry, auth: &AuthContext) -> Option<String> {
        let expires = entry.expires_at().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut payload = Vec::with_capacity(1 + self.server_id.len() + SESSION_ID_BYTES + 8);
        payload.push(self.server_id.len() as u8);
        payload.extend_from_slice(self.server_id.as_bytes());
        payload.extend_from_slice(entry.id());
        payload.extend_from_slice(&expires.to_le_bytes());
        self.sealer.seal(TokenKind::Session, SCOPE, identity(auth), &payload).ok()
    }

    /// The request's binding, and the session its token resolved to; a
    /// token that cannot be honoured is a `session_lost` error.
    pub(crate) fn bind(
        &self,
        headers: &HeaderMap,
        auth: &AuthContext,
    ) -> Result<(Arc<SessionBinding>, Option<Arc<SessionEntry>>), RpcError> {
        self.reaper.call_once(|| spawn_reaper(&self.registry, self.settings.reap_interval));
        let accept = headers
            .get(SESSION_ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let key = principal_key(auth);
        let Some(token) = headers.get(SESSION).map(|v| v.to_str().unwrap_or("")) else {
            return Ok((Arc::new(SessionBinding::fresh(self.registry.clone(), key, accept)), None));
        };
        let id = self.open_token(token, auth)?;
        let entry = self
            .registry
            .get(&id, &key)
            .ok_or_else(|| RpcError::session_lost("session not found, expired, or principal mismatch"))?;
        let binding = SessionBinding::resumed(self.registry.clone(), key, accept, entry.clone());
        Ok((Arc::new(binding), Some(entry)))
    }

    /// Stamp what the request did with its session onto the response.
    pub(crate) fn stamp(&self, binding: &SessionBinding, auth: &AuthContext, headers: &mut HeaderMap) {
        if let Some(opened) = binding.opened() {
            if let Some(v) = self.seal(&opened, auth).and_then(|t| HeaderValue::from_str(&t).ok()) {
                headers.insert(SESSION, v);
                for (name, value) in &self.echo {
                    headers.insert(name.clone(), value.clone());
                }
            }
        }
        if binding.closed() {
            headers.insert(SESSION_CLOSE, HeaderValue::from_static("true"));
        }
    }

    /// `DELETE {prefix}/__session__`: `true` when a live session of this
    /// caller was closed. Waits for an in-flight call on the session.
    pub(crate) fn delete(&self, headers: &HeaderMap, auth: &AuthContext) -> bool {
        let Some(token) = headers.get(SESSION).and_then(|v| v.to_str().ok()) else { return false };
        let Ok(id) = self.open_token(token, auth) else { return false };
        let Some(entry) = self.registry.get(&id, &principal_key(auth)) else { return false };
        let _serialized = entry.lock_calls();
        self.registry.close(&id)
    }
}

/// Start the task that evicts expired sessions; it ends with the registry.
fn spawn_reaper(registry: &Arc<SessionRegistry>, every: Duration) {
    let weak: Weak<SessionRegistry> = Arc::downgrade(registry);
    let every = every.max(Duration::from_millis(10));
    let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
    handle.spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match weak.upgrade() {
                Some(registry) => {
                    registry.reap();
                }
                None => return,
            }
        }
    });
}

/// The operator's handle on a sticky server's sessions (the reference's
/// `drain_handle`): refuse new sessions, and close the live ones.
#[derive(Debug, Clone)]
pub struct SessionsHandle {
    registry: Arc<SessionRegistry>,
}

impl SessionsHandle {
    pub(crate) fn new(registry: Arc<SessionRegistry>) -> Self {
        Self { registry }
    }

    /// Refuse new sessions (`server_draining`); live ones keep serving.
    pub fn drain(&self) {
        self.registry.set_draining(true);
    }

    /// Accept new sessions again (test fixtures; production only drains).
    pub fn undrain(&self) {
        self.registry.set_draining(false);
    }

    /// Whether new sessions are refused.
    pub fn is_draining(&self) -> bool {
        self.registry.is_draining()
    }

    /// Close every live session; the count closed.
    pub fn shutdown(&self) -> usize {
        self.registry.shutdown()
    }

    /// Live sessions.
    pub fn live(&self) -> usize {
        self.registry.len()
    }
}
