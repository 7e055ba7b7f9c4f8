//! The shared-memory side channel seam (WIRE_PROTOCOL.md §11): the core
//! decides which batches ride in a client's segment; an I/O crate
//! (`vgi-rpc-shm`) maps segments and lays batches out in them. The core
//! itself makes no OS call.
//!
//! A pipe client names its segment in request metadata
//! (`vgi_rpc.shm_segment_name` / `_size`); the serve loop attaches it once
//! per connection through [`SharedMemory::attach`] and keeps it until the
//! client names another. A zero-row batch carrying `vgi_rpc.shm_offset` /
//! `vgi_rpc.shm_length` (and no log level) is a pointer into that segment.
//! Results go to the segment only on calls where the client signalled
//! shared memory (a pointer request or a named segment); what does not fit
//! goes inline.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use vgi_rpc_wire::{keys, Metadata};

use crate::{RpcError, TransportKind};

/// Attaches the segments clients name; given to the server with
/// `ServerBuilder::shared_memory`. A server with one answers
/// `vgi_rpc.transport.shm = "true"` to `__transport_options__`.
pub trait SharedMemory: Send + Sync {
    /// Attach the segment `name` (its advertised size is `size_hint`).
    fn attach(&self, name: &str, size_hint: u64) -> Result<Box<dyn SharedSegment>, RpcError>;
}

/// One attached segment, used for the calls of one connection.
pub trait SharedSegment: Send {
    /// The segment's name, for `vgi_rpc.shm_source` on resolved batches.
    fn name(&self) -> &str;
    /// Copy out the batch stored at `offset` / `length` (its pointer batch
    /// carried `schema`) and free its region.
    fn take(&mut self, schema: &SchemaRef, offset: u64, length: u64) -> Result<RecordBatch, RpcError>;
    /// Store `batch`, returning `(offset, length)` for its pointer, or
    /// `None` when it should go inline (too small to pay off, or no room).
    fn put(&mut self, batch: &RecordBatch) -> Result<Option<(u64, u64)>, RpcError>;
    /// Called when this side is about to write its next message, while the
    /// peer waits for it and leaves the allocation table alone: free
    /// regions whose batches were handed out without a copy and have since
    /// been dropped. Segments that copy everything out have nothing to do.
    fn reclaim(&mut self) -> Result<(), RpcError> {
        Ok(())
    }
}

impl std::fmt::Debug for dyn SharedMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedMemory")
    }
}

/// Whether `(batch, md)` is a shared-memory pointer batch.
pub fn is_pointer(batch: &RecordBatch, md: &Metadata) -> bool {
    batch.num_rows() == 0 && md.contains(keys::SHM_OFFSET) && !md.contains(keys::LOG_LEVEL)
}

fn number(md: &Metadata, key: &str) -> Result<u64, RpcError> {
    let raw = md.get(key).ok_or_else(|| RpcError::protocol_error(format!("SHM pointer batch without {key}")))?;
    raw.trim().parse().map_err(|_| RpcError::protocol_error(format!("SHM pointer {key} is not a byte count: {raw:?}")))
}

/// `md` plus the pointer keys for a batch stored at `offset` / `length`.
pub fn pointer_metadata(md: &Metadata, offset: u64, length: u64) -> Metadata {
    let mut out = md.clone();
    out.insert(keys::SHM_OFFSET, offset.to_string());
    out.insert(keys::SHM_LENGTH, length.to_string());
    out
}

/// The segment a connection's client advertised, attached on first sight.
#[derive(Default)]
pub(crate) struct ConnectionShm {
    name: Option<String>,
    segment: Option<Box<dyn SharedSegment>>,
}

impl ConnectionShm {
    /// Attach the segment `md` names when it is new; keep the old one when
    /// `md` names none. Over HTTP (or without a provider) nothing attaches.
    pub(crate) fn refresh(
        &mut self,
        provider: Option<&dyn SharedMemory>,
        kind: Option<TransportKind>,
        md: &Metadata,
    ) -> Result<(), RpcError> {
        let (Some(provider), Some(name)) = (provider, md.get(keys::SHM_SEGMENT_NAME)) else { return Ok(()) };
        if kind == Some(TransportKind::Http) || self.name.as_deref() == Some(name) {
            return Ok(());
        }
        let size = md.get(keys::SHM_SEGMENT_SIZE).and_then(|s| s.trim().parse::<u64>().ok()).ok_or_else(|| {
            RpcError::protocol_error(format!("{} without a valid {}", keys::SHM_SEGMENT_NAME, keys::SHM_SEGMENT_SIZE))
        })?;
        self.segment = None;
        self.name = None;
        self.segment = Some(provider.attach(name, size)?);
        self.name = Some(name.to_owned());
        Ok(())
    }

    /// The segment for this call's results, when the request signalled
    /// shared memory.
    pub(crate) fn for_call(&mut self, md: &Metadata) -> Option<&mut dyn SharedSegment> {
        let used = md.contains(keys::SHM_OFFSET) || md.contains(keys::SHM_SEGMENT_NAME);
        if used {
            self.segment.as_mut().map(|s| &mut **s as &mut dyn SharedSegment)
        } else {
            None
        }
    }

    /// Resolve `(batch, md)` when it is a pointer; pass it through otherwise.
    pub(crate) fn resolve(&mut self, batch: RecordBatch, md: Metadata) -> Result<(RecordBatch, Metadata), RpcError> {
        resolve(self.segment.as_mut().map(|s| &mut **s as &mut dyn SharedSegment), batch, md)
    }
}

/// Resolve `(batch, md)` against `segment` when it is a pointer batch. A
/// pointer with no segment attached is a protocol violation, not an empty
/// batch.
pub(crate) fn resolve(
    segment: Option<&mut dyn SharedSegment>,
    batch: RecordBatch,
    md: Metadata,
) -> Result<(RecordBatch, Metadata), RpcError> {
    if !is_pointer(&batch, &md) {
        return Ok((batch, md));
    }
    let Some(segment) = segment else {
        return Err(RpcError::protocol_error(
            "Received a shared-memory pointer batch but no shared-memory segment is attached",
        ));
    };
    let offset = number(&md, keys::SHM_OFFSET)?;
    let length = number(&md, keys::SHM_LENGTH)?;
    let resolved = segment.take(batch.schema_ref(), offset, length)?;
    let mut md = md.without(&[keys::SHM_OFFSET, keys::SHM_LENGTH]);
    md.insert(keys::SHM_SOURCE, segment.name());
    Ok((resolved, md))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::Int64Array;

    use super::*;

    struct Fake {
        stored: Option<RecordBatch>,
    }

    impl SharedSegment for Fake {
        fn name(&self) -> &str {
            "fake"
        }
        fn take(&mut self, _: &SchemaRef, offset: u64, length: u64) -> Result<RecordBatch, RpcError> {
            assert_eq!((offset, length), (70_000, 12));
            self.stored.take().ok_or_else(|| RpcError::runtime_error("gone"))
        }
        fn put(&mut self, batch: &RecordBatch) -> Result<Option<(u64, u64)>, RpcError> {
            self.stored = Some(batch.clone());
            Ok(Some((70_000, 12)))
        }
    }

    #[test]
    fn pointers_resolve_and_everything_else_passes() {
        let batch = RecordBatch::try_from_iter([("v", Arc::new(Int64Array::from(vec![1, 2])) as _)]).unwrap();
        let mut seg = Fake { stored: None };
        let (off, len) = seg.put(&batch).unwrap().unwrap();
        let md = pointer_metadata(&Metadata::new().with("k", "v"), off, len);
        let empty = RecordBatch::new_empty(batch.schema());
        assert!(is_pointer(&empty, &md));
        let (got, got_md) = resolve(Some(&mut seg), empty.clone(), md.clone()).unwrap();
        assert_eq!(got, batch);
        assert_eq!(got_md.get("k"), Some("v"));
        assert_eq!(got_md.get(keys::SHM_SOURCE), Some("fake"));
        assert!(!got_md.contains(keys::SHM_OFFSET));
        // No segment: a loud error, not an empty batch.
        assert!(resolve(None, empty.clone(), md.clone()).is_err());
        // A log batch with the key is not a pointer; a data batch passes.
        let log = md.clone().with(keys::LOG_LEVEL, "INFO");
        assert!(resolve(None, empty.clone(), log).is_ok());
        assert!(resolve(None, batch.clone(), md.clone()).is_ok());
        let bad = Metadata::new().with(keys::SHM_OFFSET, "x").with(keys::SHM_LENGTH, "1");
        assert!(resolve(Some(&mut seg), empty, bad).is_err());
    }
}
