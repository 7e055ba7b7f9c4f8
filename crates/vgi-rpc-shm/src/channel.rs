//! The core's [`SharedMemory`] seam implemented on POSIX segments: what a
//! worker plugs into `ServerBuilder::shared_memory` to attach the segments
//! clients name (pipe and Unix-socket connections).

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use vgi_rpc_core::{RpcError, SharedMemory, SharedSegment};

use crate::batch::{min_batch_bytes, Encoded};
use crate::Segment;

/// Attaches client segments by name (`shm_open` + `mmap`). Results under
/// [`min_batch_bytes`] stay on the pipe.
#[derive(Debug, Clone, Copy, Default)]
pub struct PosixSharedMemory;

impl SharedMemory for PosixSharedMemory {
    fn attach(&self, name: &str, _size_hint: u64) -> Result<Box<dyn SharedSegment>, RpcError> {
        Ok(Box::new(Attached(Segment::attach(name)?)))
    }
}

/// A client's segment, attached for one connection.
struct Attached(Segment);

impl SharedSegment for Attached {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn take(&mut self, schema: &SchemaRef, offset: u64, length: u64) -> Result<RecordBatch, RpcError> {
        let batch = self.0.read_batch(schema, offset, length)?;
        self.0.allocator().free(offset)?;
        Ok(batch)
    }

    fn put(&mut self, batch: &RecordBatch) -> Result<Option<(u64, u64)>, RpcError> {
        let encoded = Encoded::new(batch)?;
        if encoded.len() < min_batch_bytes() {
            return Ok(None);
        }
        Ok(self.0.write_encoded(&encoded)?)
    }
}
