//! Zero-copy reads out of a client's own segment. A batch whose columns
//! are all fixed-width is decoded straight over the mapping: every bit
//! pattern is a valid value of those types, so whatever a peer might later
//! write into the region cannot make a read go out of bounds (offsets,
//! dictionary keys and nested layouts are copied out instead).
//!
//! The region stays allocated while any of the batch's buffers lives. When
//! the last one drops, its offset is queued; the client frees queued
//! regions on its next turn ([`Releases::reclaim`]), when the worker waits
//! for input and does not touch the allocation table.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::StreamDecoder;
use arrow_schema::{DataType, Schema, SchemaRef};

use crate::segment::Mapping;
use crate::{Segment, ShmError};

/// Offsets whose lent batches were dropped, waiting to be freed.
#[derive(Debug, Default, Clone)]
pub(crate) struct Releases(Arc<Mutex<Vec<u64>>>);

impl Releases {
    fn push(&self, offset: u64) {
        // A poisoned queue still holds plain offsets.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(offset);
    }

    /// Free every queued region in `segment` (call on this side's turn).
    pub(crate) fn reclaim(&self, segment: &mut Segment) -> Result<(), ShmError> {
        let queued = std::mem::take(&mut *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let mut allocator = segment.allocator();
        for offset in queued {
            allocator.free(offset)?;
        }
        Ok(())
    }
}

/// Keeps a lent region mapped, and queues it for freeing when dropped.
struct Lease {
    _map: Arc<Mapping>,
    offset: u64,
    releases: Releases,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.releases.push(self.offset);
    }
}

/// Whether batches of `schema` can be lent rather than copied: no
/// dictionary (stored without its schema message) and only fixed-width
/// columns.
pub(crate) fn lendable(schema: &Schema) -> bool {
    schema.fields().iter().all(|f| {
        let t = f.data_type();
        t.is_primitive() || matches!(t, DataType::Boolean | DataType::FixedSizeBinary(_) | DataType::Null)
    })
}

/// Decode the batch at `[offset, offset + length)` over the mapping itself;
/// the region is queued on `releases` once the batch's buffers are gone.
pub(crate) fn read_lent(
    segment: &Segment,
    schema: &SchemaRef,
    offset: u64,
    length: u64,
    releases: &Releases,
) -> Result<RecordBatch, ShmError> {
    let (ptr, len, map) = segment.lend(offset, length)?;
    let lease = Arc::new(Lease { _map: map, offset, releases: releases.clone() });
    // SAFETY: `ptr` is valid for `len` bytes inside the mapping, which the
    // lease keeps mapped for as long as the buffer (or any slice of it)
    // lives; the region stays allocated until the lease is dropped.
    let mut buffer = unsafe { Buffer::from_custom_allocation(ptr, len, lease) };
    let decoded = catch_unwind(AssertUnwindSafe(|| -> Result<Option<RecordBatch>, ShmError> {
        let mut decoder = StreamDecoder::new();
        while !buffer.is_empty() {
            if let Some(batch) = decoder.decode(&mut buffer).map_err(|e| ShmError::Decode(e.to_string()))? {
                return Ok(Some(batch));
            }
        }
        Ok(None)
    }))
    .map_err(|_| ShmError::Decode("the Arrow decoder rejected the stored batch".into()))??;
    let batch = decoded.ok_or_else(|| ShmError::Decode("the stored stream holds no batch".into()))?;
    crate::batch::with_pointer_schema(batch, schema)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use arrow_array::{ArrayRef, Int64Array, StringArray};
    use vgi_rpc_core::{SharedMemory, SharedSegment};

    use super::*;
    use crate::{ClientSegment, PosixSharedMemory};

    fn ints(n: i64) -> RecordBatch {
        RecordBatch::try_from_iter([("v", Arc::new(Int64Array::from_iter_values(0..n)) as ArrayRef)]).unwrap()
    }

    #[test]
    fn fixed_width_results_are_lent_and_freed_on_the_next_turn() {
        let mut client = ClientSegment::create(8 << 20).unwrap();
        let mut worker = PosixSharedMemory.attach(client.name(), client.size()).unwrap();
        let batch = ints(100_000);
        let (offset, length) = worker.put(&batch).unwrap().expect("stored");
        let got = client.take(&batch.schema(), offset, length).unwrap();
        assert_eq!(got, batch);
        // The values are read in place, inside the region.
        let values = got.column(0).as_primitive::<Int64Type>().values().inner().as_ptr() as usize;
        let region = client.segment.bytes(offset, length).unwrap().as_ptr() as usize;
        assert!((region..region + length as usize).contains(&values), "zero copy");
        assert_eq!(client.allocations().unwrap(), 1);
        client.reclaim().unwrap();
        assert_eq!(client.allocations().unwrap(), 1, "still held by the batch");
        let slice = got.slice(10, 5);
        drop(got);
        client.reclaim().unwrap();
        assert_eq!(client.allocations().unwrap(), 1, "a slice keeps the region");
        assert_eq!(slice.column(0).as_primitive::<Int64Type>().value(0), 10);
        drop(slice);
        assert_eq!(client.allocations().unwrap(), 1, "freed only on the client's turn");
        client.reclaim().unwrap();
        assert_eq!(client.allocations().unwrap(), 0);
    }

    #[test]
    fn variable_width_results_are_copied_and_freed_at_once() {
        let mut client = ClientSegment::create(8 << 20).unwrap();
        let mut worker = PosixSharedMemory.attach(client.name(), client.size()).unwrap();
        let words: StringArray = (0..50_000).map(|i| Some(format!("word {i}"))).collect();
        let batch = RecordBatch::try_from_iter([("w", Arc::new(words) as ArrayRef)]).unwrap();
        let (offset, length) = worker.put(&batch).unwrap().expect("stored");
        let got = client.take(&batch.schema(), offset, length).unwrap();
        assert_eq!(got, batch);
        assert_eq!(client.allocations().unwrap(), 0);
    }

    #[test]
    fn a_lent_batch_outlives_its_segment() {
        let mut client = ClientSegment::create(8 << 20).unwrap();
        let mut worker = PosixSharedMemory.attach(client.name(), client.size()).unwrap();
        let batch = ints(50_000);
        let (offset, length) = worker.put(&batch).unwrap().expect("stored");
        let got = client.take(&batch.schema(), offset, length).unwrap();
        drop(worker);
        drop(client);
        assert_eq!(got, batch, "the mapping stays until the batch goes");
    }

    #[test]
    fn garbage_in_a_lent_region_is_an_error() {
        let mut client = ClientSegment::create(1 << 20).unwrap();
        let offset = client.segment.allocator().allocate(256).unwrap().unwrap();
        client.segment.bytes_mut(offset, 256).unwrap().fill(0xAB);
        assert!(client.take(&ints(1).schema(), offset, 256).is_err());
        client.reclaim().unwrap();
        assert_eq!(client.allocations().unwrap(), 0, "a failed read's region is freed too");
    }
}
