//! The one error type of this crate: every way a segment, its header or a
//! pointer batch can be wrong, none of them a panic.

use std::io;

/// Why a shared-memory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ShmError {
    /// The OS refused to create, open, size, map or unlink a segment.
    #[error("shared memory {op} of {name:?} failed: {source}")]
    Os {
        /// What was being done (`open`, `mmap`, ...).
        op: &'static str,
        /// The segment's name.
        name: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A segment name that POSIX shared memory cannot carry.
    #[error("invalid shared memory segment name {0:?}")]
    BadName(String),
    /// A segment too small to hold the 64 KiB header and any data.
    #[error("segment size {size} must be larger than the {header}-byte header")]
    TooSmall {
        /// The size asked for or found.
        size: u64,
        /// The header size.
        header: u64,
    },
    /// The header does not start with `VGIS`.
    #[error("bad segment magic {0:02x?}")]
    BadMagic([u8; 4]),
    /// A header version this crate does not read.
    #[error("unsupported segment version {0}")]
    BadVersion(u32),
    /// The header's data size disagrees with the mapped size.
    #[error("data_size mismatch: header says {header}, segment holds {actual}")]
    DataSize {
        /// What the header says.
        header: u64,
        /// Segment size minus the header.
        actual: u64,
    },
    /// The allocation table is inconsistent (too many entries, overlapping
    /// or out-of-range regions).
    #[error("corrupt allocation table: {0}")]
    CorruptTable(String),
    /// `free` of an offset no allocation starts at.
    #[error("no allocation at offset {0}")]
    NoAllocation(u64),
    /// A zero-byte allocation request.
    #[error("allocation size must be positive")]
    ZeroAllocation,
    /// An offset / length (from a pointer batch or the table) outside the
    /// segment's data region.
    #[error("region [{offset}, +{length}) lies outside the segment's data region (size {size})")]
    OutOfBounds {
        /// Start of the region.
        offset: u64,
        /// Its length.
        length: u64,
        /// The segment size.
        size: u64,
    },
    /// A pointer batch whose offset or length is missing or not a number.
    #[error("malformed shared memory pointer: {0}")]
    BadPointer(String),
    /// The bytes in a region are not the Arrow IPC batch they should be.
    #[error("cannot decode the batch in shared memory: {0}")]
    Decode(String),
    /// Arrow could not encode a batch for the segment.
    #[error("cannot encode the batch for shared memory: {0}")]
    Encode(String),
}

impl ShmError {
    pub(crate) fn os(op: &'static str, name: &str, source: impl Into<io::Error>) -> Self {
        ShmError::Os { op, name: name.to_owned(), source: source.into() }
    }
}

impl From<ShmError> for vgi_rpc_core::RpcError {
    fn from(e: ShmError) -> Self {
        vgi_rpc_core::RpcError::new("ShmError", e.to_string())
    }
}
