//! The bookkeeping behind [`Quotas`](super::Quotas): per principal, its
//! request bucket, the streams and sessions held by live connections, and
//! the stateless streams known by id with when each last had a turn. Pure
//! data: every operation is handed the current monotonic time.

use std::collections::HashMap;
use std::time::Duration;

use super::key::PrincipalKey;
use super::rate::Bucket;
use super::settings::RatePolicy;

/// The retry hint when nothing says when a slot frees up (a slot held by a
/// live connection or session ends whenever its holder ends it).
pub(super) const HELD_RETRY_HINT: Duration = Duration::from_secs(1);

/// A stateless stream between requests or inside one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// A turn is running: never lapses.
    InTurn,
    /// Parked since this time; lapses after the idle expiry.
    IdleSince(Duration),
}

#[derive(Debug, Default)]
struct Usage {
    bucket: Option<Bucket>,
    held_streams: usize,
    sessions: usize,
    stateless: HashMap<String, Mark>,
}

impl Usage {
    fn open_streams(&self) -> usize {
        self.held_streams + self.stateless.len()
    }

    /// Forget stateless streams idle for `expiry` or longer.
    fn purge(&mut self, now: Duration, expiry: Duration) {
        self.stateless.retain(|_, mark| match mark {
            Mark::InTurn => true,
            Mark::IdleSince(t) => now.saturating_sub(*t) < expiry,
        });
    }

    /// When the first parked stream lapses, or [`HELD_RETRY_HINT`].
    fn stream_retry_hint(&self, now: Duration, expiry: Duration) -> Duration {
        self.stateless
            .values()
            .filter_map(|mark| match mark {
                Mark::IdleSince(t) => Some(t.saturating_add(expiry).saturating_sub(now)),
                Mark::InTurn => None,
            })
            .min()
            .unwrap_or(HELD_RETRY_HINT)
    }

    /// Whether forgetting this principal loses nothing.
    fn is_idle(&self, now: Duration) -> bool {
        self.held_streams == 0
            && self.sessions == 0
            && self.stateless.is_empty()
            && self.bucket.is_none_or(|b| b.is_full(now))
    }
}

/// Every principal's usage.
#[derive(Debug, Default)]
pub(super) struct Table {
    principals: HashMap<PrincipalKey, Usage>,
    next_sweep: Duration,
}

impl Table {
    fn usage(&mut self, key: &PrincipalKey) -> &mut Usage {
        if !self.principals.contains_key(key) {
            self.principals.insert(key.clone(), Usage::default());
        }
        self.principals.get_mut(key).expect("inserted above")
    }

    /// Drop the entry of a principal that holds nothing.
    fn forget_if_idle(&mut self, key: &PrincipalKey, now: Duration) {
        if self.principals.get(key).is_some_and(|u| u.is_idle(now)) {
            self.principals.remove(key);
        }
    }

    /// At most once per `expiry`, purge lapsed streams everywhere and forget
    /// idle principals, so the table's size follows the active callers.
    pub(super) fn sweep(&mut self, now: Duration, expiry: Duration) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now.saturating_add(expiry);
        self.principals.retain(|_, usage| {
            usage.purge(now, expiry);
            !usage.is_idle(now)
        });
    }

    /// Spend one request from `key`'s bucket.
    pub(super) fn take_request(
        &mut self,
        key: &PrincipalKey,
        now: Duration,
        rate: &RatePolicy,
    ) -> Result<(), Duration> {
        let usage = self.usage(key);
        let bucket = usage.bucket.get_or_insert_with(|| Bucket::full(now));
        bucket.take(now, rate)
    }

    /// Count a stream held until [`Self::release_held_stream`].
    pub(super) fn acquire_held_stream(
        &mut self,
        key: &PrincipalKey,
        now: Duration,
        max: usize,
        expiry: Duration,
    ) -> Result<(), Duration> {
        let usage = self.usage(key);
        usage.purge(now, expiry);
        if usage.open_streams() >= max {
            let hint = usage.stream_retry_hint(now, expiry);
            self.forget_if_idle(key, now);
            return Err(hint);
        }
        usage.held_streams += 1;
        Ok(())
    }

    pub(super) fn release_held_stream(&mut self, key: &PrincipalKey, now: Duration) {
        if let Some(usage) = self.principals.get_mut(key) {
            usage.held_streams = usage.held_streams.saturating_sub(1);
        }
        self.forget_if_idle(key, now);
    }

    /// Count a session held until [`Self::release_session`].
    pub(super) fn acquire_session(&mut self, key: &PrincipalKey, now: Duration, max: usize) -> Result<(), Duration> {
        let usage = self.usage(key);
        if usage.sessions >= max {
            self.forget_if_idle(key, now);
            return Err(HELD_RETRY_HINT);
        }
        usage.sessions += 1;
        Ok(())
    }

    pub(super) fn release_session(&mut self, key: &PrincipalKey, now: Duration) {
        if let Some(usage) = self.principals.get_mut(key) {
            usage.sessions = usage.sessions.saturating_sub(1);
        }
        self.forget_if_idle(key, now);
    }

    /// A turn of stateless stream `id` begins: an already-counted stream is
    /// marked in turn (never counted twice); a new or lapsed one is counted
    /// if `key` is under `max`.
    pub(super) fn enter_stateless(
        &mut self,
        key: &PrincipalKey,
        id: &str,
        now: Duration,
        max: usize,
        expiry: Duration,
    ) -> Result<(), Duration> {
        let usage = self.usage(key);
        usage.purge(now, expiry);
        if let Some(mark) = usage.stateless.get_mut(id) {
            *mark = Mark::InTurn;
            return Ok(());
        }
        if usage.open_streams() >= max {
            let hint = usage.stream_retry_hint(now, expiry);
            self.forget_if_idle(key, now);
            return Err(hint);
        }
        usage.stateless.insert(id.to_owned(), Mark::InTurn);
        Ok(())
    }

    /// The turn ended and the stream goes on: its idle clock starts now.
    pub(super) fn park_stateless(&mut self, key: &PrincipalKey, id: &str, now: Duration) {
        if let Some(mark) = self.principals.get_mut(key).and_then(|u| u.stateless.get_mut(id)) {
            *mark = Mark::IdleSince(now);
        }
    }

    /// The stream ended (finished, failed, cancelled).
    pub(super) fn end_stateless(&mut self, key: &PrincipalKey, id: &str, now: Duration) {
        if let Some(usage) = self.principals.get_mut(key) {
            usage.stateless.remove(id);
        }
        self.forget_if_idle(key, now);
    }

    /// Streams `key` has open now.
    pub(super) fn open_streams(&mut self, key: &PrincipalKey, now: Duration, expiry: Duration) -> usize {
        self.principals.get_mut(key).map_or(0, |u| {
            u.purge(now, expiry);
            u.open_streams()
        })
    }

    /// Sessions `key` holds.
    pub(super) fn open_sessions(&self, key: &PrincipalKey) -> usize {
        self.principals.get(key).map_or(0, |u| u.sessions)
    }

    /// Principals with an entry (for tests of the sweep).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.principals.len()
    }
}
