//! The per-principal request-rate limiter: a token bucket of `burst`
//! requests refilled at the configured rate, kept as one timestamp (the
//! generic cell rate algorithm) so refills are exact integer arithmetic on
//! the injected clock's monotonic time.

use std::time::Duration;

use super::settings::RatePolicy;

/// One principal's bucket: the time at which its spending is paid off
/// ("theoretical arrival time"). At or before now, the bucket is full.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bucket {
    paid_off_at: Duration,
}

impl Bucket {
    /// A full bucket.
    pub(super) fn full(now: Duration) -> Self {
        Self { paid_off_at: now }
    }

    /// Spend one request at `now`, or say how long until one is available.
    pub(super) fn take(&mut self, now: Duration, policy: &RatePolicy) -> Result<(), Duration> {
        let paid_off_at = self.paid_off_at.max(now);
        let ahead = paid_off_at - now;
        if ahead > policy.tolerance {
            return Err(ahead - policy.tolerance);
        }
        self.paid_off_at = paid_off_at.saturating_add(policy.interval);
        Ok(())
    }

    /// Whether the bucket has refilled completely (forgetting it loses nothing).
    pub(super) fn is_full(&self, now: Duration) -> bool {
        self.paid_off_at <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::QuotaSettings;

    fn policy(per_second: f64, burst: u32) -> RatePolicy {
        let settings = QuotaSettings {
            requests_per_second_per_principal: Some(per_second),
            request_burst: Some(burst),
            ..Default::default()
        };
        *settings.validate().expect("valid").rate().expect("rate")
    }

    #[test]
    fn a_full_bucket_allows_the_burst_then_one_per_interval() {
        let p = policy(2.0, 3);
        let t0 = Duration::from_secs(100);
        let mut b = Bucket::full(t0);
        for _ in 0..3 {
            assert_eq!(b.take(t0, &p), Ok(()));
        }
        assert_eq!(b.take(t0, &p), Err(Duration::from_millis(500)));
        assert!(!b.is_full(t0));
        let later = t0 + Duration::from_millis(499);
        assert_eq!(b.take(later, &p), Err(Duration::from_millis(1)));
        let refilled_one = t0 + Duration::from_millis(500);
        assert_eq!(b.take(refilled_one, &p), Ok(()));
        assert_eq!(b.take(refilled_one, &p), Err(Duration::from_millis(500)));
        // After burst × interval of quiet the bucket is full again.
        let quiet = refilled_one + Duration::from_millis(1500);
        assert!(b.is_full(quiet));
        for _ in 0..3 {
            assert_eq!(b.take(quiet, &p), Ok(()));
        }
        assert!(b.take(quiet, &p).is_err());
    }

    #[test]
    fn idle_time_beyond_the_burst_is_not_banked() {
        let p = policy(1.0, 1);
        let mut b = Bucket::full(Duration::ZERO);
        assert_eq!(b.take(Duration::ZERO, &p), Ok(()));
        let much_later = Duration::from_secs(3600);
        assert_eq!(b.take(much_later, &p), Ok(()));
        assert_eq!(b.take(much_later, &p), Err(Duration::from_secs(1)));
    }
}
