//! Size limits the IPC reader checks before it allocates anything.

/// Caps applied to every message read off the wire.
///
/// A length prefix that exceeds a cap is refused with
/// [`crate::WireError::LimitExceeded`] before any buffer of that size exists.
/// Bodies below the cap are still allocated progressively (see
/// [`ReadLimits::prealloc_bytes`]) so a peer that promises a large body and
/// then sends nothing costs one bounded allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest flatbuffer header (schema or batch metadata) accepted.
    pub max_metadata_bytes: usize,
    /// Largest message body accepted.
    pub max_body_bytes: u64,
    /// Largest up-front allocation for a header or body; larger ones grow as
    /// bytes arrive, so a length prefix alone never costs more than this.
    pub prealloc_bytes: usize,
}

/// Default [`ReadLimits::prealloc_bytes`]: 4 MiB. A peer that declares a
/// 60 MiB header and stalls pins at most this much per connection.
pub const DEFAULT_PREALLOC_BYTES: usize = 4 * 1024 * 1024;

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
