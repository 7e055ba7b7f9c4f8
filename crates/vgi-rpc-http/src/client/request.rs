//! Request bodies: one IPC stream holding one batch with its custom
//! metadata, as every `/{method}`, `/init` and `/exchange` POST carries.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use vgi_rpc_core::wire::{EncodedSchema, Metadata, StreamWriter};
use vgi_rpc_core::CallError;

/// An IPC stream of `batch` (on its own schema) carrying `metadata`.
pub(crate) fn single_batch_stream(batch: &RecordBatch, metadata: &Metadata) -> Result<Vec<u8>, CallError> {
    let schema = if batch.schema_ref().fields().is_empty() && batch.schema_ref().metadata().is_empty() {
        EncodedSchema::empty().clone()
    } else {
        EncodedSchema::new(batch.schema())
    };
    let mut out = Vec::with_capacity(256 + batch.get_array_memory_size());
    let mut writer = StreamWriter::begin(&mut out, &schema)?;
    writer.write(&mut out, batch, metadata)?;
    writer.finish(&mut out)?;
    Ok(out)
}

/// The zero-row, zero-column batch a producer continuation (or a cancel) sends.
pub(crate) fn tick() -> RecordBatch {
    RecordBatch::new_empty(Arc::new(Schema::empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vgi_rpc_core::wire::reader::read_stream_bytes;

    #[test]
    fn a_tick_round_trips_with_its_metadata() {
        let md = Metadata::new().with("a", "1");
        let body = single_batch_stream(&tick(), &md).expect("encodes");
        let (schema, batches) = read_stream_bytes(&body).expect("decodes");
        assert!(schema.fields().is_empty());
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].batch.num_rows(), 0);
        assert_eq!(batches[0].metadata.get("a"), Some("1"));
    }
}
