//! The bounded nonce cache (`docs/proxy-proof-spec.md` §10): a TTL so a
//! nonce is forgotten once no token carrying it can verify, and a hard
//! capacity so distinct nonces sent at line rate cannot grow the process
//! without limit. Overflow evicts the oldest entry and counts it.
//!
//! Every entry has the same TTL, so insertion order is expiry order and
//! expired entries are always a prefix of the queue.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

/// Default hard cap on remembered nonces.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// Counters for observability.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Nonces currently remembered.
    pub size: usize,
    /// The hard cap.
    pub capacity: usize,
    /// Replays refused.
    pub replays_rejected: u64,
    /// Live entries evicted because the cap was reached; rising means the
    /// cap is undersized or someone is flooding nonces.
    pub overflow_evictions: u64,
}

/// A set of recently accepted nonces, timed by a monotonic clock reading.
/// Not synchronised itself; the gate holds it behind a mutex so test and
/// insert are one step.
#[derive(Debug)]
pub struct NonceCache {
    ttl: Duration,
    capacity: usize,
    order: VecDeque<(Duration, String)>,
    seen: HashSet<String>,
    replays: u64,
    evicted: u64,
}

impl NonceCache {
    /// A cache remembering each nonce for `ttl`, at most `capacity` at once
    /// (a zero capacity is treated as one).
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self { ttl, capacity: capacity.max(1), order: VecDeque::new(), seen: HashSet::new(), replays: 0, evicted: 0 }
    }

    /// Whether `nonce` is fresh at monotonic time `now`; a fresh nonce is
    /// remembered, a replay is counted.
    pub fn check_and_add(&mut self, nonce: &str, now: Duration) -> bool {
        self.sweep(now);
        if self.seen.contains(nonce) {
            self.replays += 1;
            return false;
        }
        while self.order.len() >= self.capacity {
            if let Some((_, oldest)) = self.order.pop_front() {
                self.seen.remove(&oldest);
                self.evicted += 1;
            }
        }
        self.order.push_back((now + self.ttl, nonce.to_owned()));
        self.seen.insert(nonce.to_owned());
        true
    }

    fn sweep(&mut self, now: Duration) {
        while self.order.front().is_some_and(|(expires, _)| *expires <= now) {
            if let Some((_, nonce)) = self.order.pop_front() {
                self.seen.remove(&nonce);
            }
        }
    }

    /// Current counters.
    pub fn stats(&self) -> ReplayStats {
        ReplayStats {
            size: self.order.len(),
            capacity: self.capacity,
            replays_rejected: self.replays,
            overflow_evictions: self.evicted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn replay_within_ttl_then_forgotten() {
        let mut cache = NonceCache::new(30 * S, 10);
        assert!(cache.check_and_add("a", S));
        assert!(!cache.check_and_add("a", 2 * S));
        assert!(cache.check_and_add("b", 2 * S));
        assert!(!cache.check_and_add("a", 30 * S));
        // Expired exactly at insert + ttl.
        assert!(cache.check_and_add("a", 31 * S));
        let stats = cache.stats();
        assert_eq!((stats.replays_rejected, stats.overflow_evictions), (2, 0));
        assert_eq!(stats.size, 2, "b (until 32s) and the re-added a");
        assert!(cache.check_and_add("b", 32 * S));
        assert_eq!(cache.stats().size, 2);
    }

    #[test]
    fn capacity_evicts_oldest() {
        let mut cache = NonceCache::new(30 * S, 2);
        assert!(cache.check_and_add("a", S));
        assert!(cache.check_and_add("b", S));
        assert!(cache.check_and_add("c", S));
        let stats = cache.stats();
        assert_eq!((stats.size, stats.capacity, stats.overflow_evictions), (2, 2, 1));
        assert!(cache.check_and_add("a", S), "evicted nonce is fresh again");
        assert!(!cache.check_and_add("c", S));
        assert_eq!(NonceCache::new(S, 0).stats().capacity, 1);
    }
}
