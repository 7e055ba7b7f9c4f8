//! Size limits the IPC reader checks before it allocates anything.

/// Caps applied to every message read off the wire.
///
/// Start from [`ReadLimits::default`] and change fields with the `with_*`
/// methods (the struct may grow, so it cannot be built with a literal
/// outside this crate).
///
/// A length prefix that exceeds a cap is refused with
/// [`crate::WireError::LimitExceeded`] before any buffer of that size exists.
/// Bodies below the cap are still allocated progressively (see
/// [`ReadLimits::prealloc_bytes`]) so a peer that promises a large body and
/// then sends nothing costs one bounded allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadLimits {
    /// Largest flatbuffer header (schema or batch metadata) accepted.
    pub max_metadata_bytes: usize,
    /// Largest message body accepted.
    pub max_body_bytes: u64,
    /// Largest up-front allocation for a body (headers reserve at most
    /// [`HEADER_PREALLOC_BYTES`]); larger ones grow as bytes arrive, so a
    /// length prefix alone never costs more than this.
    pub prealloc_bytes: usize,
}

/// Default [`ReadLimits::prealloc_bytes`]: 16 MiB. Capacity reserved but
/// not yet filled is not resident, so a peer that declares a large body and
/// stalls pins no memory; reading a body of up to this size never
/// reallocates (bulk batches of 8 MiB move without a copy).
pub const DEFAULT_PREALLOC_BYTES: usize = 16 * 1024 * 1024;

/// First reservation for a message header, whatever its declared length;
/// headers beyond it grow as bytes arrive.
pub const HEADER_PREALLOC_BYTES: usize = 64 * 1024;

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_metadata_bytes: 64 * 1024 * 1024,
            // Large enough for the reference suite's over-INT32_MAX payload test.
            max_body_bytes: 8 * 1024 * 1024 * 1024,
            prealloc_bytes: DEFAULT_PREALLOC_BYTES,
        }
    }
}

impl ReadLimits {
    /// These limits with [`ReadLimits::max_metadata_bytes`] set to `bytes`.
    #[must_use]
    pub const fn with_max_metadata_bytes(mut self, bytes: usize) -> Self {
        self.max_metadata_bytes = bytes;
        self
    }

    /// These limits with [`ReadLimits::max_body_bytes`] set to `bytes`.
    #[must_use]
    pub const fn with_max_body_bytes(mut self, bytes: u64) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// These limits with [`ReadLimits::prealloc_bytes`] set to `bytes`.
    #[must_use]
    pub const fn with_prealloc_bytes(mut self, bytes: usize) -> Self {
        self.prealloc_bytes = bytes;
        self
    }
}
