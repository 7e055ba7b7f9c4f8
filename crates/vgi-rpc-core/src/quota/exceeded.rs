//! The refusal a principal over its quota gets: a `RESOURCE_EXHAUSTED`
//! error of kind [`QUOTA_EXCEEDED_KIND`] carrying `vgi_rpc.RetryInfo` (so
//! clients see it as retryable, WIRE_PROTOCOL.md §8) and
//! `vgi_rpc.QuotaFailure` naming the limit. HTTP answers it with `429` and
//! `Retry-After`; a byte stream answers with an error batch and goes on.

use std::time::Duration;

use serde_json::json;
use vgi_rpc_wire::error_model::retry_info;
use vgi_rpc_wire::ErrorCode;

use crate::RpcError;

/// The error kind of every quota refusal. The reference names no kind for
/// per-principal quotas; this one follows its `snake_case` style and names
/// exactly one code, `RESOURCE_EXHAUSTED`.
pub const QUOTA_EXCEEDED_KIND: &str = "quota_exceeded";

/// The exception type name of a quota refusal.
pub const QUOTA_EXCEEDED_TYPE: &str = "QuotaExceededError";

/// Which limit was hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QuotaLimit {
    /// Open streams per principal.
    OpenStreams {
        /// The limit.
        max: usize,
    },
    /// Open sessions per principal.
    OpenSessions {
        /// The limit.
        max: usize,
    },
    /// Requests per second per principal.
    RequestRate {
        /// Sustained rate.
        per_second: f64,
        /// Requests allowed back to back.
        burst: u32,
    },
}

impl QuotaLimit {
    /// The `QuotaFailure` violation subject: the limit's name, never the
    /// principal (details carry no user data).
    pub fn subject(&self) -> &'static str {
        match self {
            QuotaLimit::OpenStreams { .. } => "open_streams_per_principal",
            QuotaLimit::OpenSessions { .. } => "open_sessions_per_principal",
            QuotaLimit::RequestRate { .. } => "requests_per_second_per_principal",
        }
    }

    fn description(&self) -> String {
        match self {
            QuotaLimit::OpenStreams { max } => format!("at most {max} open streams per principal"),
            QuotaLimit::OpenSessions { max } => format!("at most {max} open sessions per principal"),
            QuotaLimit::RequestRate { per_second, burst } => {
                format!("at most {per_second} requests per second per principal, {burst} at once")
            }
        }
    }
}

/// A request refused because its principal is over a quota.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.message())]
pub struct QuotaExceeded {
    /// The limit hit.
    pub limit: QuotaLimit,
    /// How long to wait before a retry can succeed (a hint: for open streams
    /// and sessions it depends on when the principal's others end).
    pub retry_after: Duration,
}

impl QuotaExceeded {
    /// The developer-facing message.
    pub fn message(&self) -> String {
        let wait = self.retry_after.as_secs_f64();
        match self.limit {
            QuotaLimit::OpenStreams { max } => format!(
                "Quota exceeded: this principal already has {max} open streams, the most allowed. Finish or cancel \
                 one, then retry (in about {wait:.3}s)."
            ),
            QuotaLimit::OpenSessions { max } => format!(
                "Quota exceeded: this principal already holds {max} sessions, the most allowed. Close one, then \
                 retry (in about {wait:.3}s)."
            ),
            QuotaLimit::RequestRate { .. } => format!(
                "Quota exceeded: this principal is over its request rate ({}). Retry in {wait:.3}s.",
                self.limit.description()
            ),
        }
    }

    /// `Retry-After` in whole seconds: the hint rounded up, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        retry_after_secs(self.retry_after)
    }

    /// The error sent to the caller.
    pub fn to_rpc_error(&self) -> RpcError {
        RpcError::new(QUOTA_EXCEEDED_TYPE, self.message())
            .with_kind(QUOTA_EXCEEDED_KIND, ErrorCode::ResourceExhausted)
            .with_details(vec![
                retry_info(self.retry_after.as_secs_f64()),
                json!({
                    "@type": "vgi_rpc.QuotaFailure",
                    "violations": [{"subject": self.limit.subject(), "description": self.limit.description()}],
                }),
            ])
    }
}

impl From<QuotaExceeded> for RpcError {
    fn from(e: QuotaExceeded) -> Self {
        e.to_rpc_error()
    }
}

/// A retry delay as `Retry-After` delta-seconds: rounded up, at least 1
/// (a `0` would invite an immediate retry that is refused again).
pub fn retry_after_secs(delay: Duration) -> u64 {
    let whole = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
    whole.max(1)
}

#[cfg(test)]
mod tests {
    use vgi_rpc_wire::RemoteError;

    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }

    #[test]
    fn the_error_is_resource_exhausted_retryable_and_names_the_limit() {
        let e = QuotaExceeded { limit: QuotaLimit::OpenStreams { max: 2 }, retry_after: Duration::from_millis(1500) };
        let md = e.to_rpc_error().to_payload("Demo", "count").to_metadata(None, None, false);
        let remote = RemoteError::from_metadata(&md);
        assert_eq!(remote.error_type, QUOTA_EXCEEDED_TYPE);
        assert_eq!(remote.code(), ErrorCode::ResourceExhausted);
        assert_eq!(remote.error_kind, QUOTA_EXCEEDED_KIND);
        assert!(remote.is_retryable());
        assert_eq!(remote.retry_delay_seconds(), Some(1.5));
        let quota = remote.error_details.iter().find(|d| d["@type"] == "vgi_rpc.QuotaFailure").expect("QuotaFailure");
        assert_eq!(quota["violations"][0]["subject"], "open_streams_per_principal");
        assert!(remote.message.contains("2 open streams"), "{}", remote.message);
        assert_eq!(e.retry_after_secs(), 2);
    }
}
