//! The per-worker session registry: live sessions by id, each with its
//! state, owner, expiry and a lock that serializes calls on it; TTL
//! eviction on the injected clock; the drain flag.
//!
//! The registry's own mutex guards only the map; it is never held while a
//! handler runs or a state closes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use super::{session_id_hex, SessionId, SessionObject, SESSION_ID_BYTES};
use crate::{Clock, RpcError};

/// The TTL a session gets when its opener names none (the reference's default).
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(300);

/// One live session.
#[derive(Debug)]
pub struct SessionEntry {
    id: SessionId,
    pub(crate) state: SessionObject,
    principal_key: String,
    expires_at: SystemTime,
    /// Held by the transport for the length of each call on the session.
    call_lock: Mutex<()>,
}

impl SessionEntry {
    /// The session's id.
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// When the session expires.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// Serialize calls on this session: the guard is held while a call runs.
    pub fn lock_calls(&self) -> MutexGuard<'_, ()> {
        // A handler that panicked left nothing inconsistent behind the unit.
        self.call_lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Live sessions of one worker.
#[derive(Debug)]
pub struct SessionRegistry {
    clock: Arc<dyn Clock>,
    default_ttl: Duration,
    entries: Mutex<HashMap<SessionId, Arc<SessionEntry>>>,
    draining: AtomicBool,
}

impl SessionRegistry {
    /// An empty registry whose sessions live `default_ttl` unless opened with their own.
    pub fn new(clock: Arc<dyn Clock>, default_ttl: Duration) -> Self {
        Self { clock, default_ttl, entries: Mutex::new(HashMap::new()), draining: AtomicBool::new(false) }
    }

    /// The TTL applied when an opener names none.
    pub fn default_ttl(&self) -> Duration {
        self.default_ttl
    }

    /// Whether new sessions are refused.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Refuse (or, with `false`, again accept) new sessions; live ones keep serving.
    pub fn set_draining(&self, draining: bool) {
        self.draining.store(draining, Ordering::SeqCst);
    }

    fn map(&self) -> MutexGuard<'_, HashMap<SessionId, Arc<SessionEntry>>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Register a new session for `principal_key`.
    pub(crate) fn open(
        &self,
        state: SessionObject,
        ttl: Option<Duration>,
        principal_key: &str,
    ) -> Result<Arc<SessionEntry>, RpcError> {
        if self.is_draining() {
            return Err(RpcError::server_draining("server is draining; new sessions are refused"));
        }
        let mut id = [0u8; SESSION_ID_BYTES];
        getrandom::fill(&mut id)
            .map_err(|e| RpcError::runtime_error(format!("no randomness for a session id: {e}")))?;
        let expires_at = self.clock.now() + ttl.unwrap_or(self.default_ttl);
        let entry = Arc::new(SessionEntry {
            id,
            state,
            principal_key: principal_key.to_owned(),
            expires_at,
            call_lock: Mutex::new(()),
        });
        self.map().insert(id, entry.clone());
        Ok(entry)
    }

    /// The live session `id` owned by `principal_key`. An expired entry is
    /// evicted (and closed) here, so a miss looks the same whether the
    /// session never existed, aged out or belongs to someone else.
    pub fn get(&self, id: &SessionId, principal_key: &str) -> Option<Arc<SessionEntry>> {
        let now = self.clock.now();
        let expired = {
            let mut map = self.map();
            let entry = map.get(id)?;
            if now <= entry.expires_at {
                return (entry.principal_key == principal_key).then(|| entry.clone());
            }
            map.remove(id)
        };
        if let Some(entry) = expired {
            entry.state.close();
        }
        None
    }

    /// Remove session `id` and close its state; `true` when it was live.
    pub fn close(&self, id: &SessionId) -> bool {
        let removed = self.map().remove(id);
        match removed {
            Some(entry) => {
                entry.state.close();
                true
            }
            None => false,
        }
    }

    /// Evict and close every session past its expiry; the count evicted.
    pub fn reap(&self) -> usize {
        let now = self.clock.now();
        let expired: Vec<Arc<SessionEntry>> = {
            let mut map = self.map();
            let ids: Vec<SessionId> = map.iter().filter(|(_, e)| now > e.expires_at).map(|(id, _)| *id).collect();
            ids.iter().filter_map(|id| map.remove(id)).collect()
        };
        for entry in &expired {
            entry.state.close();
        }
        expired.len()
    }

    /// Close every live session (the server is going away).
    pub fn shutdown(&self) -> usize {
        let all: Vec<Arc<SessionEntry>> = self.map().drain().map(|(_, e)| e).collect();
        for entry in &all {
            entry.state.close();
        }
        all.len()
    }

    /// How many sessions are live (expired ones not yet reaped included).
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ids of the live sessions, as hex (for diagnostics).
    pub fn ids(&self) -> Vec<String> {
        self.map().keys().map(session_id_hex).collect()
    }
}
