//! Why a pointer fetch failed, as a typed error whose text never carries a
//! URL's credentials (every URL in it is already redacted), and which
//! failures are worth another attempt.

use thiserror::Error;

/// A failed fetch. URLs are redacted (scheme, host, port and path only).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FetchError {
    /// The URL policy refused the pointer's URL or a redirect target;
    /// nothing was requested from it.
    #[error("ExternalLocation URL rejected: {reason} ({url})")]
    Rejected {
        /// The refused URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The object store answered with an error status.
    #[error("GET {url} failed: HTTP {status}")]
    Status {
        /// The URL that answered.
        url: String,
        /// Its status code.
        status: u16,
    },
    /// The connection failed (refused, reset, timed out, TLS).
    #[error("GET {url} failed: {kind}")]
    Transport {
        /// The URL being requested.
        url: String,
        /// The kind of failure.
        kind: String,
    },
    /// A redirect without a `Location`.
    #[error("GET {url} failed: HTTP {status} without a Location")]
    RedirectWithoutLocation {
        /// The redirecting URL.
        url: String,
        /// The redirect status.
        status: u16,
    },
    /// More redirects than allowed.
    #[error("ExternalLocation fetch exceeded the redirect limit ({limit}) for {url}")]
    RedirectLimit {
        /// The pointer's URL.
        url: String,
        /// The bound.
        limit: u32,
    },
    /// The object (encoded or decoded) is larger than its cap.
    #[error("ExternalLocation fetch exceeded {cap_name} ({cap} bytes)")]
    TooLarge {
        /// `max_fetch_bytes` or `max_decompressed_bytes`.
        cap_name: &'static str,
        /// The cap.
        cap: u64,
    },
    /// The body broke off while it was read.
    #[error("ExternalLocation read failed: {0}")]
    Read(String),
    /// A ranged answer did not fit what was asked (wrong range, ignored
    /// range, a coding appearing mid-object); the fetch falls back to one
    /// plain `GET`.
    #[error("ExternalLocation range answer from {url} is inconsistent: {detail}")]
    Range {
        /// The URL that answered.
        url: String,
        /// What did not fit.
        detail: String,
    },
    /// The object's `ETag` changed between ranged requests (`412`).
    #[error("ExternalLocation object at {url} changed during a ranged fetch")]
    Changed {
        /// The object's URL.
        url: String,
    },
    /// A `Content-Encoding` this reader cannot undo.
    #[error("ExternalLocation has unsupported Content-Encoding {0:?}")]
    Encoding(String),
    /// The named coding did not decode.
    #[error("ExternalLocation zstd decode failed: {0}")]
    Decode(String),
}

impl FetchError {
    /// Whether another attempt may succeed: connection failures, a body
    /// broken off mid-read, and server errors (`5xx` other than `501` and
    /// `505`, which will not change). Never a `4xx`, a policy refusal or a
    /// cap.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Transport { .. } | FetchError::Read(_) => true,
            FetchError::Status { status, .. } => (500..600).contains(status) && *status != 501 && *status != 505,
            _ => false,
        }
    }

    /// Whether a ranged fetch should give way to one plain `GET`.
    pub(crate) fn falls_back(&self) -> bool {
        matches!(self, FetchError::Range { .. } | FetchError::Changed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_failures_are_retried() {
        let status = |status| FetchError::Status { url: "u".into(), status };
        assert!(status(503).is_transient());
        assert!(status(500).is_transient());
        assert!(!status(501).is_transient());
        assert!(!status(404).is_transient());
        assert!(!status(403).is_transient());
        assert!(!status(429).is_transient(), "never a 4xx");
        assert!(FetchError::Transport { url: "u".into(), kind: "Connection Failed".into() }.is_transient());
        assert!(FetchError::Read("reset".into()).is_transient());
        assert!(!FetchError::TooLarge { cap_name: "max_fetch_bytes", cap: 1 }.is_transient());
        assert!(!FetchError::Rejected { url: "u".into(), reason: "r".into() }.is_transient());
    }
}
