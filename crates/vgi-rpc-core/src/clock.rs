//! Time as the core sees it: injectable so tests never sleep.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of wall-clock and monotonic time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Wall-clock time (for timestamps and token expiry).
    fn now(&self) -> SystemTime;
    /// Monotonic time since an arbitrary origin (for durations).
    fn monotonic(&self) -> Duration;
}

/// The operating system's clocks.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose monotonic origin is now.
    pub fn new() -> Self {
        Self { origin: Instant::now() }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that only moves when told to. Both readings advance together.
#[derive(Debug, Clone, Default)]
pub struct FakeClock {
    nanos: Arc<AtomicU64>,
    epoch_offset: Duration,
}

impl FakeClock {
    /// A fake clock reading `unix_seconds` on the wall clock.
    pub fn at_unix(unix_seconds: u64) -> Self {
        Self { nanos: Arc::default(), epoch_offset: Duration::from_secs(unix_seconds) }
    }

    /// Move both clocks forward.
    pub fn advance(&self, by: Duration) {
        self.nanos.fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + self.epoch_offset + self.monotonic()
    }
    fn monotonic(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_clock_moves_only_when_advanced() {
        let c = FakeClock::at_unix(1_000);
        let t0 = c.now();
        assert_eq!(c.now(), t0);
        c.advance(Duration::from_secs(5));
        assert_eq!(c.now().duration_since(t0).unwrap(), Duration::from_secs(5));
        assert_eq!(c.monotonic(), Duration::from_secs(5));
    }
}
