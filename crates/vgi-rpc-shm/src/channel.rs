//! The core's [`SharedMemory`] / [`SharedSegment`] seam implemented on
//! POSIX segments: what a worker plugs into `ServerBuilder::shared_memory`
//! to attach the segments clients name (pipe and Unix-socket connections),
//! and the segment a client creates for its own connection
//! ([`ClientSegment`], handed to `Client::offer_shared_memory`).

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use vgi_rpc_core::{RpcError, SharedMemory, SharedSegment};

use crate::batch::{encoded_size_bound, min_batch_bytes, Encoded};
use crate::lease::{lendable, read_lent, Releases};
use crate::{Segment, ShmError};

/// Attaches client segments by name (`shm_open` + `mmap`). Results under
/// [`min_batch_bytes`] stay on the pipe.
#[derive(Debug, Clone, Copy, Default)]
pub struct PosixSharedMemory;

impl SharedMemory for PosixSharedMemory {
    fn attach(&self, name: &str, _size_hint: u64) -> Result<Box<dyn SharedSegment>, RpcError> {
        Ok(Box::new(Attached(Segment::attach(name)?)))
    }
}

/// Copy out the batch at `offset` / `length` and free its region.
fn take(segment: &mut Segment, schema: &SchemaRef, offset: u64, length: u64) -> Result<RecordBatch, RpcError> {
    let batch = segment.read_batch(schema, offset, length)?;
    segment.allocator().free(offset)?;
    Ok(batch)
}

/// Store `batch` when it is large enough to pay off and fits. Small
/// batches (most results, every tick) are ruled out before encoding.
fn put(segment: &mut Segment, batch: &RecordBatch) -> Result<Option<(u64, u64)>, RpcError> {
    if encoded_size_bound(batch) < min_batch_bytes() {
        return Ok(None);
    }
    let encoded = Encoded::new(batch)?;
    if encoded.len() < min_batch_bytes() {
        return Ok(None);
    }
    Ok(segment.write_encoded(&encoded)?)
}

/// A client's segment, attached for one connection.
struct Attached(Segment);

impl SharedSegment for Attached {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn take(&mut self, schema: &SchemaRef, offset: u64, length: u64) -> Result<RecordBatch, RpcError> {
        take(&mut self.0, schema, offset, length)
    }

    fn put(&mut self, batch: &RecordBatch) -> Result<Option<(u64, u64)>, RpcError> {
        put(&mut self.0, batch)
    }
}

/// A segment a client creates for its own connection (one per worker
/// borrow, as the reference's pool does). Dropping it removes its name; the
/// mapping lasts while batches lent out of it live, and a worker that
/// attached it keeps its own mapping until it attaches another.
///
/// Results with only fixed-width columns are read without a copy: the
/// batch's buffers point into the segment and its region is freed on the
/// client's first turn after they are dropped (see the `lease` module).
/// Anything else is copied out and freed at once.
#[derive(Debug)]
pub struct ClientSegment {
    pub(crate) segment: Segment,
    releases: Releases,
}

impl ClientSegment {
    /// Create a segment of `size` bytes (header included) under a fresh name.
    pub fn create(size: u64) -> Result<ClientSegment, ShmError> {
        Ok(ClientSegment { segment: Segment::create(size)?, releases: Releases::default() })
    }

    /// Its size in bytes, as requests advertise it.
    pub fn size(&self) -> u64 {
        self.segment.size()
    }

    /// Regions currently allocated (results still held, inputs the worker
    /// has not taken yet).
    pub fn allocations(&self) -> Result<usize, ShmError> {
        crate::header::num_allocs(self.segment.header())
    }
}

impl SharedSegment for ClientSegment {
    fn name(&self) -> &str {
        self.segment.name()
    }

    fn take(&mut self, schema: &SchemaRef, offset: u64, length: u64) -> Result<RecordBatch, RpcError> {
        if lendable(schema) {
            return Ok(read_lent(&self.segment, schema, offset, length, &self.releases)?);
        }
        take(&mut self.segment, schema, offset, length)
    }

    fn put(&mut self, batch: &RecordBatch) -> Result<Option<(u64, u64)>, RpcError> {
        put(&mut self.segment, batch)
    }

    fn reclaim(&mut self) -> Result<(), RpcError> {
        Ok(self.releases.reclaim(&mut self.segment)?)
    }
}

impl Drop for ClientSegment {
    fn drop(&mut self) {
        // Already gone (someone unlinked it) is fine: the mapping is ours.
        let _ = self.segment.unlink();
    }
}
