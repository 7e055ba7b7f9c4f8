//! Fair sharing: per-principal quotas on open streams, open sessions and
//! the request rate, kept by the [`Server`](crate::Server) so every
//! transport applies the same limits.
//!
//! A principal over a limit is refused with [`QuotaExceeded`] (a
//! `RESOURCE_EXHAUSTED` error with a retry hint) and nothing else changes:
//! other principals keep their service, and the refused caller's connection
//! stays usable. Every limit is off by default ([`QuotaSettings`]).
//!
//! * **Requests** ([`Quotas::admit_request`]): a token bucket per
//!   principal.
//! * **Streams held by a connection** ([`Quotas::acquire_stream`]): a
//!   [`QuotaLease`] counts the stream until it is dropped, so the lockstep
//!   loop releases it on every way out of a call — finished, failed,
//!   cancelled, the connection dropped, or a handler panic unwinding.
//! * **Stateless streams** ([`Quotas::enter_stream_turn`]): over HTTP a
//!   stream lives between requests, known by the stream id sealed in its
//!   call token. Each request holds a [`StreamTurn`]; the turn either parks
//!   the stream (it goes on; its idle clock starts) or, dropped, ends it. A
//!   parked stream lapses after [`QuotaSettings::stream_idle_expiry`], since
//!   a client may abandon it without a word.
//! * **Sessions** ([`Quotas::acquire_session`]): leases like held streams,
//!   for transports with sessions to hold for a session's life.
//!
//! No I/O: time comes from the server's [`Clock`]. Whose quota a request
//! spends is its [`PrincipalKey`].

mod exceeded;
mod key;
mod rate;
mod settings;
mod table;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use exceeded::{retry_after_secs, QuotaExceeded, QuotaLimit, QUOTA_EXCEEDED_KIND, QUOTA_EXCEEDED_TYPE};
pub use key::PrincipalKey;
pub use settings::{QuotaPolicy, QuotaSettings, QuotaSettingsError, DEFAULT_STREAM_IDLE_EXPIRY};

use crate::{Clock, ConnectionInfo};
use table::Table;

/// The quotas of one server. Cloning is cheap; clones share the counts.
#[derive(Clone)]
pub struct Quotas {
    shared: Option<Arc<Shared>>,
}

struct Shared {
    policy: QuotaPolicy,
    clock: Arc<dyn Clock>,
    table: Mutex<Table>,
}

impl Shared {
    fn now(&self) -> Duration {
        self.clock.monotonic()
    }

    /// The table, swept when due. A panic elsewhere while the lock was held
    /// leaves counts that are still consistent, so poisoning is ignored.
    fn table(&self, now: Duration) -> MutexGuard<'_, Table> {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.sweep(now, self.policy.settings().stream_idle_expiry);
        table
    }

    fn expiry(&self) -> Duration {
        self.policy.settings().stream_idle_expiry
    }
}

impl std::fmt::Debug for Quotas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quotas").field("policy", &self.shared.as_ref().map(|s| &s.policy)).finish()
    }
}

impl Default for Quotas {
    fn default() -> Self {
        Self::off()
    }
}

impl Quotas {
    /// Quotas enforcing `policy`, timed by `clock`.
    pub fn new(policy: QuotaPolicy, clock: Arc<dyn Clock>) -> Self {
        if policy.is_off() {
            return Self::off();
        }
        Self { shared: Some(Arc::new(Shared { policy, clock, table: Mutex::new(Table::default()) })) }
    }

    /// No limits: every operation succeeds and nothing is counted.
    pub fn off() -> Self {
        Self { shared: None }
    }

    /// The settings in force (all off for [`Quotas::off`]).
    pub fn settings(&self) -> QuotaSettings {
        self.shared.as_ref().map(|s| s.policy.settings().clone()).unwrap_or_default()
    }

    /// Spend one request of the caller's rate.
    pub fn admit_request(&self, conn: &ConnectionInfo) -> Result<(), QuotaExceeded> {
        let Some(shared) = &self.shared else { return Ok(()) };
        let Some(rate) = shared.policy.rate() else { return Ok(()) };
        let now = shared.now();
        let key = PrincipalKey::of(conn);
        shared.table(now).take_request(&key, now, rate).map_err(|retry_after| QuotaExceeded {
            limit: QuotaLimit::RequestRate { per_second: rate.per_second, burst: rate.burst },
            retry_after,
        })
    }

    /// Count a stream for as long as the returned lease lives.
    pub fn acquire_stream(&self, conn: &ConnectionInfo) -> Result<QuotaLease, QuotaExceeded> {
        let Some((shared, max)) = self.stream_limit() else { return Ok(QuotaLease::none()) };
        let now = shared.now();
        let key = PrincipalKey::of(conn);
        match shared.table(now).acquire_held_stream(&key, now, max, shared.expiry()) {
            Ok(()) => Ok(QuotaLease { held: Some((shared.clone(), key, Held::Stream)) }),
            Err(retry_after) => Err(QuotaExceeded { limit: QuotaLimit::OpenStreams { max }, retry_after }),
        }
    }

    /// Count a session for as long as the returned lease lives (keep it
    /// with the session; drop it when the session closes or is evicted).
    pub fn acquire_session(&self, conn: &ConnectionInfo) -> Result<QuotaLease, QuotaExceeded> {
        let Some(shared) = &self.shared else { return Ok(QuotaLease::none()) };
        let Some(max) = shared.policy.settings().max_open_sessions_per_principal else {
            return Ok(QuotaLease::none());
        };
        let now = shared.now();
        let key = PrincipalKey::of(conn);
        match shared.table(now).acquire_session(&key, now, max) {
            Ok(()) => Ok(QuotaLease { held: Some((shared.clone(), key, Held::Session)) }),
            Err(retry_after) => Err(QuotaExceeded { limit: QuotaLimit::OpenSessions { max }, retry_after }),
        }
    }

    /// A request of stateless stream `stream_id` begins (its `/init`, or a
    /// continuation). A stream already counted is not counted again; a new
    /// one, or one that lapsed, is counted if its principal has room.
    pub fn enter_stream_turn(&self, conn: &ConnectionInfo, stream_id: &str) -> Result<StreamTurn, QuotaExceeded> {
        let Some((shared, max)) = self.stream_limit() else { return Ok(StreamTurn { open: None }) };
        let now = shared.now();
        let key = PrincipalKey::of(conn);
        match shared.table(now).enter_stateless(&key, stream_id, now, max, shared.expiry()) {
            Ok(()) => Ok(StreamTurn { open: Some((shared.clone(), key, stream_id.to_owned())) }),
            Err(retry_after) => Err(QuotaExceeded { limit: QuotaLimit::OpenStreams { max }, retry_after }),
        }
    }

    /// Streams the caller on `conn` has open now (0 when streams are not limited).
    pub fn open_streams(&self, conn: &ConnectionInfo) -> usize {
        let Some((shared, _)) = self.stream_limit() else { return 0 };
        let now = shared.now();
        shared.table(now).open_streams(&PrincipalKey::of(conn), now, shared.expiry())
    }

    /// Sessions the caller on `conn` holds (0 when sessions are not limited).
    pub fn open_sessions(&self, conn: &ConnectionInfo) -> usize {
        let Some(shared) = &self.shared else { return 0 };
        let now = shared.now();
        shared.table(now).open_sessions(&PrincipalKey::of(conn))
    }

    fn stream_limit(&self) -> Option<(&Arc<Shared>, usize)> {
        let shared = self.shared.as_ref()?;
        Some((shared, shared.policy.settings().max_open_streams_per_principal?))
    }
}

#[derive(Debug, Clone, Copy)]
enum Held {
    Stream,
    Session,
}

/// A counted stream or session; dropping it releases the count.
#[must_use = "the stream or session is released when the lease is dropped"]
pub struct QuotaLease {
    held: Option<(Arc<Shared>, PrincipalKey, Held)>,
}

impl QuotaLease {
    fn none() -> Self {
        Self { held: None }
    }
}

impl std::fmt::Debug for QuotaLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuotaLease").field("held", &self.held.as_ref().map(|(_, k, h)| (k, h))).finish()
    }
}

impl Drop for QuotaLease {
    fn drop(&mut self) {
        let Some((shared, key, held)) = self.held.take() else { return };
        let now = shared.now();
        let mut table = shared.table(now);
        match held {
            Held::Stream => table.release_held_stream(&key, now),
            Held::Session => table.release_session(&key, now),
        }
    }
}

/// One request's hold on a stateless stream. [`StreamTurn::park`] when the
/// stream goes on after this request; dropped unparked (finished, failed,
/// cancelled, or a panic), the stream ends and its count is released.
#[must_use = "dropping the turn ends the stream; park it if the stream goes on"]
pub struct StreamTurn {
    open: Option<(Arc<Shared>, PrincipalKey, String)>,
}

impl StreamTurn {
    /// The stream goes on: keep it counted, lapsing after the idle expiry
    /// unless another turn comes first.
    pub fn park(mut self) {
        let Some((shared, key, id)) = self.open.take() else { return };
        let now = shared.now();
        shared.table(now).park_stateless(&key, &id, now);
    }
}

impl std::fmt::Debug for StreamTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamTurn").field("stream", &self.open.as_ref().map(|(_, k, id)| (k, id))).finish()
    }
}

impl Drop for StreamTurn {
    fn drop(&mut self) {
        let Some((shared, key, id)) = self.open.take() else { return };
        let now = shared.now();
        shared.table(now).end_stateless(&key, &id, now);
    }
}
