//! Writing pointers: the decision to externalize (threshold, the body cap),
//! the external-bytes budget of one response, and the upload itself: the
//! batches encoded as one IPC stream straight into the storage's
//! [`UploadSink`](super::UploadSink), hashed before any coding on the way
//! (no copy of the whole payload is built here), and replaced by a
//! zero-row pointer batch.

use arrow_array::RecordBatch;
use vgi_rpc_wire::{EncodedSchema, ExternalPointer, Metadata, StreamWriter, WireError};

use super::sink::{storage_error_of, HashingWriter};
use super::{ExternalStorage, Externalization, StorageError};
use crate::dispatch::py_repr;
use crate::RpcError;

/// Bytes held by a batch's buffers, the size the threshold compares (the
/// reference's `get_total_buffer_size`: buffer lengths, not capacities).
pub fn batch_size(batch: &RecordBatch) -> u64 {
    batch
        .columns()
        .iter()
        .map(|c| {
            let data = c.to_data();
            data.get_slice_memory_size().unwrap_or_else(|_| data.get_buffer_memory_size()) as u64
        })
        .sum()
}

/// Publish `batch` ahead of time (WIRE_PROTOCOL.md §12 *Pre-published
/// references*): the object a unary call would have externalized — an IPC
/// stream on the batch's schema holding the batch — uploaded once, its
/// pointer kept for answers through [`crate::CallContext::reply_by_pointer`].
/// The digest is recorded only when `include_sha256`.
pub fn publish(
    storage: &dyn super::ExternalStorage,
    batch: &RecordBatch,
    include_sha256: bool,
) -> Result<ExternalPointer, super::StorageError> {
    let schema = EncodedSchema::new(batch.schema());
    let (url, digest, _) =
        stream_upload(storage, &schema, &[(batch, &Metadata::new())], |_| Ok::<(), std::convert::Infallible>(()))
            .map_err(|failure| match failure {
                UploadFailure::Encode(e) => StorageError(format!("cannot serialize a published batch: {e}")),
                UploadFailure::Storage(e) => e,
                UploadFailure::Refused(never) => match never {},
            })?;
    Ok(ExternalPointer::new(url, include_sha256.then_some(digest)))
}

/// Why a streaming upload failed.
enum UploadFailure<E> {
    /// The IPC encoder failed (not a storage problem).
    Encode(WireError),
    /// The storage refused the object or its bytes.
    Storage(StorageError),
    /// `accept` refused the finished payload's size before it was committed.
    Refused(E),
}

/// Encode `batches` as one IPC stream into a sink from `storage`, hashing
/// and counting the raw bytes; `accept` sees the raw size before the
/// object is committed (a refusal drops the sink, abandoning the upload).
/// Returns the download URL, the hex SHA-256 and the raw size.
fn stream_upload<E>(
    storage: &dyn ExternalStorage,
    schema: &EncodedSchema,
    batches: &[(&RecordBatch, &Metadata)],
    accept: impl FnOnce(u64) -> Result<(), E>,
) -> Result<(String, String, u64), UploadFailure<E>> {
    let sink = storage.begin_upload(schema.schema()).map_err(UploadFailure::Storage)?;
    let mut tee = HashingWriter::new(sink);
    let encoded = StreamWriter::begin(&mut tee, schema).and_then(|mut writer| {
        for (batch, metadata) in batches {
            writer.write(&mut tee, batch, metadata)?;
        }
        writer.finish(&mut tee)
    });
    if let Err(e) = encoded {
        return Err(match e {
            // An I/O failure here is the sink's: its storage error, intact.
            WireError::Io(io) => UploadFailure::Storage(storage_error_of(&io)),
            other => UploadFailure::Encode(other),
        });
    }
    let (sink, digest, raw) = tee.finish();
    accept(raw).map_err(UploadFailure::Refused)?;
    let url = sink.finish().map_err(UploadFailure::Storage)?;
    crate::transfer::externalized(raw);
    Ok((url, digest, raw))
}

/// Bytes sent to external storage during one response, against its cap
/// (`max_externalized_response_bytes`), and the response's body cap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExternalBudget {
    /// Most bytes one response may upload; `None` is unbounded.
    pub cap: Option<u64>,
    /// Bytes uploaded so far (raw IPC, before any content coding).
    pub used: u64,
    /// The response's body cap: a data batch larger than this leaves by
    /// pointer even under the threshold, since it could never fit inline.
    pub body_cap: Option<u64>,
}

impl ExternalBudget {
    /// A budget with these caps and nothing spent.
    pub fn new(cap: Option<u64>, body_cap: Option<u64>) -> Self {
        Self { cap, used: 0, body_cap }
    }

    /// Bytes left under the cap (`None` when unbounded).
    pub fn remaining(&self) -> Option<u64> {
        self.cap.map(|c| c.saturating_sub(self.used))
    }

    fn check(&self, more: u64, method: &str) -> Result<(), RpcError> {
        match self.cap {
            Some(cap) if self.used.saturating_add(more) > cap => Err(RpcError::runtime_error(format!(
                "Externalised payload exceeds max_externalized_response_bytes ({} > {cap}) for method {}",
                self.used.saturating_add(more),
                py_repr(method)
            ))),
            _ => Ok(()),
        }
    }
}

/// The server's policy with one response's budget: what output paths carry.
pub(crate) struct Externalizer<'a> {
    pub(crate) policy: &'a Externalization,
    pub(crate) budget: ExternalBudget,
    pub(crate) method: &'a str,
}

impl<'a> Externalizer<'a> {
    /// The server's externalizer for one call of `method`, if storage is
    /// configured; `body_cap` is the response's hard body cap, and
    /// `stateless` applies the policy's per-response external cap.
    pub(crate) fn for_call(
        server: &'a crate::Server,
        method: &'a str,
        body_cap: Option<u64>,
        stateless: bool,
    ) -> Option<Self> {
        let policy = server.externalization()?;
        let cap = if stateless { policy.max_response_bytes } else { None };
        Some(Self { policy, budget: ExternalBudget::new(cap, body_cap), method })
    }

    /// Whether `data` leaves by pointer.
    fn wants(&self, data: &RecordBatch) -> Option<u64> {
        if data.num_rows() == 0 {
            return None;
        }
        let size = batch_size(data);
        let over_body = self.budget.body_cap.is_some_and(|cap| size > cap);
        (size >= self.policy.threshold_bytes || over_body).then_some(size)
    }

    /// Externalize one output cycle when its data batch calls for it:
    /// `batches` (logs first, the data batch at `data`) go to storage as one
    /// IPC stream and the pointer's metadata comes back. `Ok(None)` leaves
    /// the cycle inline.
    pub(crate) fn cycle(
        &mut self,
        schema: &EncodedSchema,
        batches: &[(&RecordBatch, &Metadata)],
        data: usize,
    ) -> Result<Option<Metadata>, RpcError> {
        let Some((batch, _)) = batches.get(data) else { return Ok(None) };
        let Some(predicted) = self.wants(batch) else { return Ok(None) };
        // Refuse before paying for an upload the cap would reject.
        self.budget.check(predicted, self.method)?;
        let budget = self.budget;
        let (url, digest, raw) =
            stream_upload(self.policy.storage.as_ref(), schema, batches, |raw| budget.check(raw, self.method))
                .map_err(|failure| match failure {
                    UploadFailure::Encode(e) => {
                        RpcError::runtime_error(format!("cannot serialize an externalized batch: {e}"))
                    }
                    UploadFailure::Storage(e) => {
                        RpcError::runtime_error(format!("external storage upload failed: {e}"))
                    }
                    UploadFailure::Refused(e) => e,
                })?;
        self.budget.used += raw;
        Ok(Some(ExternalPointer::new(url, Some(digest)).to_metadata()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use std::io::Write;

    use arrow_array::Int64Array;
    use arrow_schema::{DataType, Field, Schema, SchemaRef};
    use sha2::{Digest, Sha256};
    use vgi_rpc_wire::{keys, read_stream_bytes};

    use super::*;
    use crate::external::{ExternalStorage, StorageError, UploadSink};

    /// A storage whose sink records every write and whether it was committed.
    #[derive(Default)]
    struct Streaming {
        writes: Mutex<Vec<usize>>,
        committed: Mutex<Vec<Vec<u8>>>,
        fail_after: Option<usize>,
    }

    struct StreamingSink<'a> {
        owner: &'a Streaming,
        bytes: Vec<u8>,
    }

    impl Write for StreamingSink<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.owner.fail_after.is_some_and(|n| self.bytes.len() + buf.len() > n) {
                return Err(crate::external::sink::io_error(StorageError("disk full".into())));
            }
            self.owner.writes.lock().unwrap().push(buf.len());
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl UploadSink for StreamingSink<'_> {
        fn finish(self: Box<Self>) -> Result<String, StorageError> {
            let mut committed = self.owner.committed.lock().unwrap();
            committed.push(self.bytes);
            Ok(format!("stream://{}", committed.len() - 1))
        }
    }

    impl ExternalStorage for Streaming {
        fn upload(&self, _payload: &[u8], _schema: &SchemaRef) -> Result<String, StorageError> {
            Err(StorageError("buffered upload must not be used".into()))
        }

        fn begin_upload(&self, _schema: &SchemaRef) -> Result<Box<dyn UploadSink + '_>, StorageError> {
            Ok(Box::new(StreamingSink { owner: self, bytes: Vec::new() }))
        }
    }

    fn run_on(
        storage: Arc<dyn ExternalStorage>,
        budget: ExternalBudget,
        rows: i64,
    ) -> Result<Option<Metadata>, RpcError> {
        let policy = Externalization::new(storage, 1);
        let mut ext = Externalizer { policy: &policy, budget, method: "m" };
        let data = batch(rows);
        let schema = EncodedSchema::new(data.schema());
        ext.cycle(&schema, &[(&data, &Metadata::new())], 0)
    }

    #[test]
    fn a_streaming_sink_receives_the_stream_in_pieces_and_the_digest_matches() {
        let storage = Arc::new(Streaming::default());
        let md = run_on(storage.clone(), ExternalBudget::default(), 1000).unwrap().expect("externalized");
        let pointer = ExternalPointer::parse(0, &md).unwrap().unwrap();
        assert_eq!(pointer.location, "stream://0");
        let committed = storage.committed.lock().unwrap();
        assert_eq!(pointer.sha256.as_deref(), Some(hex::encode(Sha256::digest(&committed[0])).as_str()));
        assert!(storage.writes.lock().unwrap().len() > 1, "written as it was encoded, not as one blob");
        let (_, batches) = read_stream_bytes(&committed[0]).unwrap();
        assert_eq!(batches[0].batch.num_rows(), 1000);
    }

    #[test]
    fn a_sink_failure_reaches_the_caller_and_nothing_is_committed() {
        let storage = Arc::new(Streaming { fail_after: Some(64), ..Streaming::default() });
        let err = run_on(storage.clone(), ExternalBudget::default(), 1000).unwrap_err();
        assert!(err.message.contains("external storage upload failed: disk full"), "{}", err.message);
        assert!(storage.committed.lock().unwrap().is_empty());
    }

    #[test]
    fn a_payload_over_the_cap_after_encoding_is_abandoned_uncommitted() {
        // 100 rows predict 800 bytes, under the cap; the framed stream is larger.
        let storage = Arc::new(Streaming::default());
        let err = run_on(storage.clone(), ExternalBudget::new(Some(900), None), 100).unwrap_err();
        assert!(err.message.contains("max_externalized_response_bytes"), "{}", err.message);
        assert!(storage.committed.lock().unwrap().is_empty(), "the sink was dropped, not finished");
    }

    #[derive(Default)]
    struct Memory(Mutex<Vec<Vec<u8>>>);

    impl ExternalStorage for Memory {
        fn upload(&self, payload: &[u8], _schema: &SchemaRef) -> Result<String, StorageError> {
            let mut blobs = self.0.lock().map_err(|_| StorageError("poisoned".into()))?;
            blobs.push(payload.to_vec());
            Ok(format!("mem://{}", blobs.len() - 1))
        }
    }

    fn batch(rows: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(0..rows))]).unwrap()
    }

    fn run(threshold: u64, budget: ExternalBudget, rows: i64) -> (Result<Option<Metadata>, RpcError>, Arc<Memory>) {
        let memory = Arc::new(Memory::default());
        let policy = Externalization::new(memory.clone(), threshold);
        let mut ext = Externalizer { policy: &policy, budget, method: "m" };
        let data = batch(rows);
        let schema = EncodedSchema::new(data.schema());
        let log_md = Metadata::new().with(keys::LOG_LEVEL, "INFO").with(keys::LOG_MESSAGE, "hi");
        let empty = RecordBatch::new_empty(data.schema());
        let data_md = Metadata::new().with("app", "v");
        let out = ext.cycle(&schema, &[(&empty, &log_md), (&data, &data_md)], 1);
        (out, memory)
    }

    #[test]
    fn over_threshold_uploads_the_whole_cycle_with_its_digest() {
        let (out, memory) = run(8, ExternalBudget::default(), 100);
        let md = out.unwrap().expect("externalized");
        let pointer = ExternalPointer::parse(0, &md).unwrap().unwrap();
        assert_eq!(pointer.location, "mem://0");
        let blobs = memory.0.lock().unwrap();
        assert_eq!(pointer.sha256.as_deref(), Some(hex::encode(Sha256::digest(&blobs[0])).as_str()));
        let (_, batches) = read_stream_bytes(&blobs[0]).unwrap();
        assert_eq!(batches.len(), 2, "the log and the data batch travel together");
        assert_eq!(batches[1].batch.num_rows(), 100);
        assert_eq!(batches[1].metadata.get("app"), Some("v"));
    }

    #[test]
    fn under_threshold_or_empty_stays_inline() {
        assert!(run(1 << 20, ExternalBudget::default(), 100).0.unwrap().is_none());
        assert!(run(1, ExternalBudget::default(), 0).0.unwrap().is_none(), "zero rows never externalize");
    }

    #[test]
    fn a_batch_over_the_body_cap_leaves_by_pointer_below_the_threshold() {
        let (out, _) = run(1 << 20, ExternalBudget::new(None, Some(64)), 100);
        assert!(out.unwrap().is_some());
    }

    #[test]
    fn the_external_cap_refuses_before_uploading() {
        let (out, memory) = run(1, ExternalBudget::new(Some(16), None), 100);
        let err = out.unwrap_err();
        assert!(err.message.contains("max_externalized_response_bytes"), "{}", err.message);
        assert!(memory.0.lock().unwrap().is_empty(), "nothing uploaded");
    }

    #[test]
    fn publishing_uploads_the_batch_and_records_a_digest_only_when_asked() {
        let memory = Memory::default();
        let with = publish(&memory, &batch(1), true).unwrap();
        let without = publish(&memory, &batch(1), false).unwrap();
        let blobs = memory.0.lock().unwrap();
        assert_eq!(with.sha256.as_deref(), Some(hex::encode(Sha256::digest(&blobs[0])).as_str()));
        assert_eq!(without.sha256, None);
        let (_, batches) = read_stream_bytes(&blobs[1]).unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].batch.num_rows(), 1);
    }

    #[test]
    fn buffer_size_counts_lengths() {
        assert_eq!(batch_size(&batch(100)), 800);
        assert_eq!(ExternalBudget::new(Some(10), None).remaining(), Some(10));
    }
}
