//! Client-side input externalization: a request or exchange input batch
//! large enough to leave by pointer is serialized as one IPC stream (the
//! batch with its own metadata), hashed before any coding, handed to
//! storage, and replaced by a zero-row pointer batch on the same schema.
//!
//! The server resolves such pointers like any other (WIRE_PROTOCOL.md §12;
//! the routing keys of the outer batch win, see
//! [`super::resolve_request_batch`]). The HTTP client's upload-URL flow
//! builds the same pointer around a payload it `PUT`s itself
//! ([`pointer_metadata`]).

use std::sync::Arc;

use arrow_array::RecordBatch;
use sha2::{Digest, Sha256};
use vgi_rpc_wire::{keys, write_stream_bytes, EncodedSchema, ExternalPointer, Metadata};

use super::{batch_size, ExternalStorage, StorageError};

/// A client's policy for its own inputs: where large input batches go and
/// from what size on.
#[derive(Clone)]
pub struct InputExternalization {
    /// Where large inputs are uploaded.
    pub storage: Arc<dyn ExternalStorage>,
    /// An input batch with rows whose buffers total at least this many bytes
    /// leaves by pointer (the server's rule for outputs; `1` externalizes
    /// every non-empty input).
    pub threshold_bytes: u64,
}

impl std::fmt::Debug for InputExternalization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputExternalization").field("threshold_bytes", &self.threshold_bytes).finish_non_exhaustive()
    }
}

impl InputExternalization {
    /// Externalize inputs through `storage` from `threshold_bytes` on.
    pub fn new(storage: Arc<dyn ExternalStorage>, threshold_bytes: u64) -> Self {
        Self { storage, threshold_bytes }
    }

    /// Whether `batch` leaves by pointer: it has rows and its buffers reach
    /// the threshold. Zero-row batches (ticks, cancels) never do.
    pub fn wants(&self, batch: &RecordBatch) -> bool {
        batch.num_rows() > 0 && batch_size(batch) >= self.threshold_bytes
    }

    /// Upload `batch` (with `metadata`, which travels inside the payload)
    /// and return the pointer batch to send in its place. The pointer's
    /// metadata is `outer` plus `vgi_rpc.location` and
    /// `vgi_rpc.location.sha256`: a request batch keeps its routing keys
    /// there, an exchange input passes an empty `outer`.
    pub fn externalize(
        &self,
        batch: &RecordBatch,
        metadata: &Metadata,
        outer: &Metadata,
    ) -> Result<(RecordBatch, Metadata), StorageError> {
        let schema = EncodedSchema::new(batch.schema());
        let payload = write_stream_bytes(&schema, &[(batch, metadata)])
            .map_err(|e| StorageError(format!("cannot serialize an input batch for upload: {e}")))?;
        let digest = sha256_hex(&payload);
        let url = self.storage.upload(&payload, schema.schema())?;
        Ok((RecordBatch::new_empty(batch.schema()), pointer_metadata(outer, &url, Some(digest))))
    }
}

/// Puts a payload at a vended upload URL (the upload-URL flow's second
/// step, after `__upload_url__/init`): an HTTP `PUT` of the bytes as they
/// are. Implemented by I/O crates (a TLS-capable one for `https` URLs).
pub trait UploadPutter: Send + Sync {
    /// `PUT` `payload` to `url`; any non-`2xx` answer is an error, with the
    /// URL redacted in its text.
    fn put(&self, url: &str, payload: &[u8]) -> Result<(), StorageError>;
}

/// Lowercase hex SHA-256 of `bytes` (the digest a pointer records).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `outer` with any stale pointer keys replaced by a pointer to `location`
/// (and its digest, when given).
pub fn pointer_metadata(outer: &Metadata, location: &str, sha256: Option<String>) -> Metadata {
    let mut md = outer.without(&[keys::LOCATION, keys::LOCATION_SHA256]);
    for (k, v) in ExternalPointer::new(location, sha256).to_metadata().iter() {
        md.insert(k, v);
    }
    md
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use arrow_array::Int64Array;
    use arrow_schema::{DataType, Field, Schema, SchemaRef};
    use vgi_rpc_wire::{classify, read_stream_bytes, BatchClass, ReadLimits};

    use super::*;
    use crate::external::{resolve_request_batch, PointerResolver};
    use crate::FakeClock;

    #[derive(Default)]
    struct Memory(Mutex<Vec<Vec<u8>>>);

    impl ExternalStorage for Memory {
        fn upload(&self, payload: &[u8], _schema: &SchemaRef) -> Result<String, StorageError> {
            let mut blobs = self.0.lock().map_err(|_| StorageError("poisoned".into()))?;
            blobs.push(payload.to_vec());
            Ok(format!("mem://{}", blobs.len() - 1))
        }
    }

    impl PointerResolver for Memory {
        fn fetch(&self, location: &str) -> Result<Vec<u8>, StorageError> {
            let index: usize = location.trim_start_matches("mem://").parse().map_err(|_| StorageError("bad".into()))?;
            let blobs = self.0.lock().map_err(|_| StorageError("poisoned".into()))?;
            blobs.get(index).cloned().ok_or_else(|| StorageError("missing".into()))
        }
    }

    fn batch(rows: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(0..rows))]).unwrap()
    }

    #[test]
    fn threshold_counts_buffers_and_skips_empty_batches() {
        let policy = InputExternalization::new(Arc::new(Memory::default()), 800);
        assert!(policy.wants(&batch(100)), "800 bytes reach an 800-byte threshold");
        assert!(!policy.wants(&batch(99)));
        assert!(!InputExternalization::new(Arc::new(Memory::default()), 1).wants(&batch(0)));
    }

    #[test]
    fn the_pointer_resolves_back_to_the_batch_with_routing_keys_from_outside() {
        let memory = Arc::new(Memory::default());
        let policy = InputExternalization::new(memory.clone(), 1);
        let inner = Metadata::new().with(keys::METHOD, "m").with("app", "v");
        let outer = Metadata::new().with(keys::METHOD, "m").with(keys::LOCATION, "stale");
        let (pointer, md) = policy.externalize(&batch(5), &inner, &outer).unwrap();
        assert_eq!(classify(pointer.num_rows(), &md), BatchClass::ExternalPointer);
        assert_eq!(md.get(keys::METHOD), Some("m"));
        assert_eq!(md.get(keys::LOCATION), Some("mem://0"));
        let blobs = memory.0.lock().unwrap().clone();
        assert_eq!(md.get(keys::LOCATION_SHA256), Some(sha256_hex(&blobs[0]).as_str()));
        let (_, items) = read_stream_bytes(&blobs[0]).unwrap();
        assert_eq!(items[0].metadata.get("app"), Some("v"), "the batch's metadata travels inside");

        let clock = FakeClock::at_unix(0);
        let (resolved, merged) =
            resolve_request_batch(Some(memory.as_ref()), pointer, md, &clock, ReadLimits::default()).unwrap();
        assert_eq!(resolved, batch(5));
        assert_eq!(merged.get("app"), Some("v"));
        assert_eq!(merged.get(keys::METHOD), Some("m"));
    }

    #[test]
    fn storage_failures_come_back_typed() {
        struct Broken;
        impl ExternalStorage for Broken {
            fn upload(&self, _: &[u8], _: &SchemaRef) -> Result<String, StorageError> {
                Err(StorageError("bucket missing".into()))
            }
        }
        let policy = InputExternalization::new(Arc::new(Broken), 1);
        let err = policy.externalize(&batch(1), &Metadata::new(), &Metadata::new()).unwrap_err();
        assert_eq!(err.0, "bucket missing");
    }
}
