//! The one error every token failure surfaces as.

/// A token could not be opened: malformed, tampered, sealed under another
/// key, identity, protocol or kind, an unknown codec, or expired. The server
/// answers every case with the same 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Anything short of an authentic, fresh token of the expected kind.
    #[error("State token signature verification failed")]
    Invalid,
    /// Authentic but older than the TTL.
    #[error("State token expired")]
    Expired,
    /// A key could not be loaded.
    #[error("invalid token key: {0}")]
    Key(String),
}
