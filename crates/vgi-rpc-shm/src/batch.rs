//! Arrow batches in a segment (WIRE_PROTOCOL.md §11 *Batch serialization*):
//! a batch without top-level dictionary columns is stored as a complete IPC
//! stream (schema, batch, EOS); one with them keeps only its dictionary and
//! batch messages, and the reader rebuilds the stream around them from the
//! pointer batch's schema.
//!
//! Writing encodes with arrow-ipc's [`StreamEncoder`], whose output is the
//! flatbuffer headers plus the batch's own buffers (not copies), and copies
//! those once, straight into the allocated region: no intermediate body.

use std::sync::OnceLock;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_data::ArrayData;
use arrow_ipc::writer::StreamEncoder;
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::{Segment, ShmError};

/// The IPC end-of-stream marker.
pub const IPC_EOS: [u8; 8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];

/// Default smallest batch worth sending through a segment: below this the
/// pipe is cheaper (the reference's POSIX default, 128 KiB).
pub const DEFAULT_MIN_BATCH_BYTES: u64 = 128 * 1024;

/// The smallest batch (encoded bytes) routed through a segment:
/// `VGI_RPC_SHM_MIN_BATCH_BYTES` when set to a number, else
/// [`DEFAULT_MIN_BATCH_BYTES`]. Read once per process.
pub fn min_batch_bytes() -> u64 {
    static MIN: OnceLock<u64> = OnceLock::new();
    *MIN.get_or_init(|| {
        std::env::var("VGI_RPC_SHM_MIN_BATCH_BYTES")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_MIN_BATCH_BYTES)
    })
}

/// An upper bound on the bytes [`Encoded::new`] would produce for `batch`,
/// computed without encoding: the arrays' memory (whole buffers, even when
/// sliced); per buffer its alignment padding (under 64 bytes) and its
/// 16-byte entry in the message header, per array node 16 bytes more; and
/// for the schema message every name and metadata entry plus a fixed
/// allowance per field and nested type. A batch whose bound is below
/// [`min_batch_bytes`] is not worth encoding for a segment (it would encode
/// smaller still).
pub fn encoded_size_bound(batch: &RecordBatch) -> u64 {
    fn data_bound(data: &ArrayData) -> u64 {
        // The validity bitmap is not among `buffers()`: count it too.
        let buffers = data.buffers().len() as u64 + 1;
        16 + 80 * buffers + data.child_data().iter().map(data_bound).sum::<u64>()
    }
    fn entries_bound<'a>(metadata: impl IntoIterator<Item = (&'a String, &'a String)>) -> u64 {
        metadata.into_iter().map(|(k, v)| (k.len() + v.len() + 16) as u64).sum()
    }
    fn field_bound(field: &Field) -> u64 {
        field.name().len() as u64 + entries_bound(field.metadata()) + 256 + type_bound(field.data_type())
    }
    fn type_bound(data_type: &DataType) -> u64 {
        64 + match data_type {
            DataType::List(f)
            | DataType::LargeList(f)
            | DataType::FixedSizeList(f, _)
            | DataType::Map(f, _)
            | DataType::ListView(f)
            | DataType::LargeListView(f) => field_bound(f),
            DataType::Struct(fs) => fs.iter().map(|f| field_bound(f)).sum(),
            DataType::Union(fs, _) => fs.iter().map(|(_, f)| field_bound(f)).sum(),
            DataType::RunEndEncoded(a, b) => field_bound(a) + field_bound(b),
            // The dictionary's own batch message, and its value type.
            DataType::Dictionary(_, v) => 256 + type_bound(v),
            _ => 0,
        }
    }
    let schema = batch.schema_ref();
    let schema_bytes = schema.fields().iter().map(|f| field_bound(f)).sum::<u64>() + entries_bound(schema.metadata());
    let arrays: u64 = batch.columns().iter().map(|c| c.get_array_memory_size() as u64 + data_bound(&c.to_data())).sum();
    // Framing, the batch message's fixed header and the end-of-stream marker.
    schema_bytes + arrays + 2048
}

fn has_dictionary_columns(schema: &Schema) -> bool {
    schema.fields().iter().any(|f| matches!(f.data_type(), DataType::Dictionary(..)))
}

/// Length of the framed schema message an IPC stream of `schema` starts with.
fn schema_message(schema: &Schema) -> Result<Vec<u8>, ShmError> {
    let enc = StreamEncoder::try_new(schema).map_err(|e| ShmError::Encode(e.to_string()))?;
    let mut bytes: Vec<u8> = Vec::new();
    for b in enc.finish().map_err(|e| ShmError::Encode(e.to_string()))? {
        bytes.extend_from_slice(b.as_slice());
    }
    if !bytes.ends_with(&IPC_EOS) {
        return Err(ShmError::Encode("schema stream does not end with EOS".into()));
    }
    bytes.truncate(bytes.len() - IPC_EOS.len());
    Ok(bytes)
}

/// A batch encoded for a segment: the pieces to copy, after skipping `skip`
/// leading bytes (the schema message, for dictionary batches).
pub struct Encoded {
    pieces: Vec<Buffer>,
    skip: usize,
    len: u64,
}

impl Encoded {
    /// Encode `batch` the way the reference stores it.
    pub fn new(batch: &RecordBatch) -> Result<Encoded, ShmError> {
        let schema = batch.schema();
        let mut enc = StreamEncoder::try_new(&schema).map_err(|e| ShmError::Encode(e.to_string()))?;
        let mut pieces = enc.encode(batch).map_err(|e| ShmError::Encode(e.to_string()))?;
        let dict = has_dictionary_columns(&schema);
        let skip = if dict { schema_message(&schema)?.len() } else { 0 };
        if !dict {
            pieces.extend(enc.finish().map_err(|e| ShmError::Encode(e.to_string()))?);
        }
        let total: usize = pieces.iter().map(Buffer::len).sum();
        if total <= skip {
            return Err(ShmError::Encode("encoded batch is shorter than its schema message".into()));
        }
        Ok(Encoded { pieces, skip, len: (total - skip) as u64 })
    }

    /// Bytes this batch occupies in a segment.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Never true for an encoded batch; here for symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn copy_into(&self, dest: &mut [u8]) {
        let mut skip = self.skip;
        let mut at = 0;
        for piece in &self.pieces {
            let bytes = piece.as_slice();
            if skip >= bytes.len() {
                skip -= bytes.len();
                continue;
            }
            let bytes = &bytes[skip..];
            skip = 0;
            dest[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        }
    }
}

impl Segment {
    /// Allocate room for `encoded` and copy it in. `Ok(None)` when the
    /// segment has no gap that large (the caller sends the batch inline).
    /// Returns `(offset, length)` for the pointer batch.
    pub fn write_encoded(&mut self, encoded: &Encoded) -> Result<Option<(u64, u64)>, ShmError> {
        let Some(offset) = self.allocator().allocate(encoded.len())? else { return Ok(None) };
        let dest = self.bytes_mut(offset, encoded.len())?;
        encoded.copy_into(dest);
        Ok(Some((offset, encoded.len())))
    }

    /// Encode `batch` and write it ([`Encoded::new`] + [`Segment::write_encoded`]).
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<Option<(u64, u64)>, ShmError> {
        self.write_encoded(&Encoded::new(batch)?)
    }

    /// Decode the batch stored at `[offset, offset + length)`, whose pointer
    /// batch carried `schema`. The bytes are copied out, so the region may be
    /// freed (or rewritten by the peer) as soon as this returns.
    pub fn read_batch(&self, schema: &SchemaRef, offset: u64, length: u64) -> Result<RecordBatch, ShmError> {
        let stored = self.bytes(offset, length)?;
        let decoded = if has_dictionary_columns(schema) {
            let mut stream = schema_message(schema)?;
            stream.reserve(stored.len() + IPC_EOS.len());
            stream.extend_from_slice(stored);
            stream.extend_from_slice(&IPC_EOS);
            vgi_rpc_wire::read_stream_bytes(&stream)
        } else {
            vgi_rpc_wire::read_stream_bytes(stored)
        };
        let (_, batches) = decoded.map_err(|e| ShmError::Decode(e.to_string()))?;
        let batch = batches
            .into_iter()
            .next()
            .ok_or_else(|| ShmError::Decode("the stored stream holds no batch".into()))?
            .batch;
        with_pointer_schema(batch, schema)
    }
}

/// `batch` under the pointer batch's `schema` (its field names, types and
/// metadata), which the stored stream must match column for column.
pub(crate) fn with_pointer_schema(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ShmError> {
    if batch.schema_ref().fields() == schema.fields() {
        return Ok(batch);
    }
    RecordBatch::try_new(schema.clone(), batch.columns().to_vec())
        .map_err(|e| ShmError::Decode(format!("stored batch does not match the pointer's schema: {e}")))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::types::Int16Type;
    use arrow_array::{Array, DictionaryArray, Int64Array};
    use arrow_schema::Field;

    use super::*;
    use crate::header::HEADER_SIZE;

    fn ints(n: i64) -> RecordBatch {
        RecordBatch::try_from_iter([("v", Arc::new(Int64Array::from_iter_values(0..n)) as _)]).unwrap()
    }

    #[test]
    fn plain_batch_round_trips_as_a_whole_stream() {
        let mut seg = Segment::create(HEADER_SIZE + (1 << 20)).unwrap();
        let batch = ints(1000);
        let (off, len) = seg.write_batch(&batch).unwrap().unwrap();
        assert_eq!(off, HEADER_SIZE);
        // A complete IPC stream: ends with EOS and reads on its own.
        let bytes = seg.bytes(off, len).unwrap();
        assert!(bytes.ends_with(&IPC_EOS));
        let (_, read) = vgi_rpc_wire::read_stream_bytes(bytes).unwrap();
        assert_eq!(read[0].batch, batch);
        assert_eq!(seg.read_batch(&batch.schema(), off, len).unwrap(), batch);
        seg.unlink().unwrap();
    }

    #[test]
    fn dictionary_batch_keeps_only_dictionary_and_batch_messages() {
        let mut seg = Segment::create(HEADER_SIZE + (1 << 20)).unwrap();
        let dict: DictionaryArray<Int16Type> = vec!["a", "b", "a"].into_iter().collect();
        let schema = Arc::new(Schema::new(vec![Field::new("c", dict.data_type().clone(), false)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(dict)]).unwrap();
        let (off, len) = seg.write_batch(&batch).unwrap().unwrap();
        let bytes = seg.bytes(off, len).unwrap();
        assert!(!bytes.ends_with(&IPC_EOS));
        assert!(vgi_rpc_wire::read_stream_bytes(bytes).is_err(), "no schema message in front");
        let back = seg.read_batch(&schema, off, len).unwrap();
        assert_eq!(back, batch);
        seg.unlink().unwrap();
    }

    #[test]
    fn the_size_bound_is_never_below_the_encoded_size() {
        use std::collections::HashMap;

        use arrow_array::builder::{ListBuilder, StringBuilder};
        use arrow_array::{ArrayRef, StringArray, StructArray};

        let strings: ArrayRef = Arc::new(StringArray::from(vec![Some("x"), None, Some("a longer string")]));
        let mut lists = ListBuilder::new(StringBuilder::new());
        lists.values().append_value("in a list");
        lists.append(true);
        lists.append(false);
        lists.values().append_value("z");
        lists.append(true);
        let lists: ArrayRef = Arc::new(lists.finish());
        let nested: ArrayRef = Arc::new(StructArray::from(vec![
            (Arc::new(Field::new("s", DataType::Utf8, true)), strings.clone()),
            (Arc::new(Field::new("l", lists.data_type().clone(), true)), lists.clone()),
        ]));
        let dict: DictionaryArray<Int16Type> = vec!["a", "b", "a"].into_iter().collect();
        let noted = Field::new("noted", DataType::Int64, false)
            .with_metadata(HashMap::from([("k".repeat(300), "v".repeat(3000))]));
        let fields = vec![
            noted,
            Field::new("s", DataType::Utf8, true),
            Field::new("l", lists.data_type().clone(), true),
            Field::new("nested", nested.data_type().clone(), true),
            Field::new("d", dict.data_type().clone(), false),
        ];
        let schema = Arc::new(Schema::new(fields).with_metadata(HashMap::from([("m".into(), "n".repeat(500))])));
        let columns: Vec<ArrayRef> =
            vec![Arc::new(Int64Array::from(vec![1, 2, 3])), strings, lists, nested, Arc::new(dict)];
        let batch = RecordBatch::try_new(schema, columns).unwrap();
        let big = ints(100_000);
        // Many one-byte buffers: padding and header entries outweigh the data.
        let narrow = RecordBatch::try_from_iter(
            (0..200)
                .map(|i| (format!("c{i}"), Arc::new(arrow_array::Int8Array::from(vec![Some(1), None])) as ArrayRef)),
        )
        .unwrap();
        for b in
            [batch.clone(), batch.slice(1, 2), batch.slice(0, 0), ints(1), big.clone(), big.slice(500, 70_000), narrow]
        {
            let encoded = Encoded::new(&b).unwrap().len();
            assert!(encoded_size_bound(&b) >= encoded, "bound {} < encoded {encoded}", encoded_size_bound(&b));
        }
        // Small enough to be useful: a one-row result is far under 128 KiB.
        assert!(encoded_size_bound(&ints(1)) < 8 * 1024);
    }

    #[test]
    fn full_segment_and_garbage_are_handled() {
        let mut seg = Segment::create(HEADER_SIZE + 4096).unwrap();
        assert_eq!(seg.write_batch(&ints(10_000)).unwrap(), None);
        let schema = ints(1).schema();
        assert!(matches!(seg.read_batch(&schema, HEADER_SIZE, 64), Err(ShmError::Decode(_))));
        assert!(matches!(seg.read_batch(&schema, HEADER_SIZE, 1 << 30), Err(ShmError::OutOfBounds { .. })));
        seg.unlink().unwrap();
    }
}
