//! Round trips of IPC streams through the writer and reader, including
//! per-batch metadata, dictionaries, several streams back to back, and
//! malformed input.

use std::sync::Arc;

use arrow_array::{DictionaryArray, Int16Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use vgi_rpc_wire::reader::Opened;
use vgi_rpc_wire::{BufferCursor, EncodedSchema, Metadata, ReadLimits, StreamReader, StreamWriter, WireError};

fn int_batch(values: &[i64]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(values.to_vec()))]).unwrap()
}

fn write_two_streams() -> Vec<u8> {
    let mut out = Vec::new();
    let b = int_batch(&[1, 2, 3]);
    let schema = EncodedSchema::new(b.schema());
    let mut w = StreamWriter::begin(&mut out, &schema).unwrap();
    w.write(&mut out, &b, &Metadata::new().with("k", "ünï")).unwrap();
    w.write(&mut out, &int_batch(&[]), &Metadata::new()).unwrap();
    w.finish(&mut out).unwrap();
    let mut w = StreamWriter::begin(&mut out, EncodedSchema::empty()).unwrap();
    w.write(
        &mut out,
        &RecordBatch::new_empty(EncodedSchema::empty().schema().clone()),
        &Metadata::new().with("x", "y"),
    )
    .unwrap();
    w.finish(&mut out).unwrap();
    out
}

#[test]
fn batches_and_metadata_survive_back_to_back_streams() {
    let bytes = write_two_streams();
    let mut r = bytes.as_slice();
    let mut s = StreamReader::open_required(&mut r, ReadLimits::default()).unwrap();
    let first = s.next(&mut r).unwrap().unwrap();
    assert_eq!(first.batch, int_batch(&[1, 2, 3]));
    assert_eq!(first.metadata.get("k"), Some("ünï"));
    let second = s.next(&mut r).unwrap().unwrap();
    assert_eq!(second.batch.num_rows(), 0);
    assert!(second.metadata.is_empty());
    assert!(s.next(&mut r).unwrap().is_none());
    let mut s2 = StreamReader::open_required(&mut r, ReadLimits::default()).unwrap();
    assert_eq!(s2.schema().fields().len(), 0);
    assert_eq!(s2.next(&mut r).unwrap().unwrap().metadata.get("x"), Some("y"));
    assert!(s2.next(&mut r).unwrap().is_none());
    assert!(matches!(StreamReader::open(&mut r, ReadLimits::default()).unwrap(), Opened::Eof));
}

#[test]
fn streams_in_memory_are_read_without_copying_bodies() {
    let bytes = write_two_streams();
    let source = arrow_buffer::Buffer::from_vec(bytes.clone());
    let range = source.as_ptr() as usize..source.as_ptr() as usize + source.len();
    let mut cursor = BufferCursor::new(source);
    let mut s = StreamReader::open_required(&mut cursor, ReadLimits::default()).unwrap();
    let first = s.next_in(&mut cursor).unwrap().unwrap();
    assert_eq!(first.batch, int_batch(&[1, 2, 3]));
    assert_eq!(first.metadata.get("k"), Some("ünï"));
    let values = first.batch.column(0).to_data().buffers()[0].as_ptr() as usize;
    assert!(range.contains(&values), "the column's values are a slice of the source buffer");
    assert_eq!(s.next_in(&mut cursor).unwrap().unwrap().batch.num_rows(), 0);
    assert!(s.next_in(&mut cursor).unwrap().is_none());
    let mut s2 = StreamReader::open_required(&mut cursor, ReadLimits::default()).unwrap();
    assert_eq!(s2.next_in(&mut cursor).unwrap().unwrap().metadata.get("x"), Some("y"));
    assert!(s2.next_in(&mut cursor).unwrap().is_none());
    assert_eq!(cursor.remaining(), 0);
    // A body longer than what is left is truncation, not a panic.
    for cut in [first_stream_len(&bytes) - 9, first_stream_len(&bytes) - 30] {
        let mut cursor = BufferCursor::new(arrow_buffer::Buffer::from_vec(bytes[..cut].to_vec()));
        let mut s = StreamReader::open_required(&mut cursor, ReadLimits::default()).unwrap();
        let outcome = (0..4).map(|_| s.next_in(&mut cursor)).find(|r| !matches!(r, Ok(Some(_))));
        assert!(matches!(outcome, Some(Err(_))), "cut at {cut}: a truncated stream is an error, got {outcome:?}");
    }
}

#[test]
fn dictionary_columns_round_trip() {
    let dict = DictionaryArray::new(Int16Array::from(vec![0, 1, 0]), Arc::new(StringArray::from(vec!["A", "B"])));
    let schema = Arc::new(Schema::new(vec![Field::new(
        "s",
        DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8)),
        false,
    )]));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(dict)]).unwrap();
    let mut out = Vec::new();
    let enc = EncodedSchema::new(schema);
    let mut w = StreamWriter::begin(&mut out, &enc).unwrap();
    w.write(&mut out, &batch, &Metadata::new()).unwrap();
    w.write(&mut out, &batch, &Metadata::new()).unwrap();
    w.finish(&mut out).unwrap();
    let (_, batches) = vgi_rpc_wire::reader::read_stream_bytes(&out).unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[1].batch, batch);
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let bytes = write_two_streams();
    for cut in 1..bytes.len() {
        let mut r = &bytes[..cut];
        let result = (|| -> Result<(), WireError> {
            loop {
                match StreamReader::open(&mut r, ReadLimits::default())? {
                    Opened::Eof => return Ok(()),
                    Opened::Stream(mut s) => s.drain(&mut r)?,
                }
            }
        })();
        // A cut exactly between the two streams is a clean end; every other cut fails.
        if cut == first_stream_len(&bytes) {
            assert!(result.is_ok());
        } else {
            assert!(result.is_err(), "cut at {cut} should fail");
        }
    }
}

fn first_stream_len(bytes: &[u8]) -> usize {
    let mut r = bytes;
    let mut s = StreamReader::open_required(&mut r, ReadLimits::default()).unwrap();
    s.drain(&mut r).unwrap();
    bytes.len() - r.len()
}

#[test]
fn oversized_length_prefixes_are_refused_before_allocating() {
    let mut bytes = vec![0xFF, 0xFF, 0xFF, 0xFF];
    bytes.extend_from_slice(&(i32::MAX).to_le_bytes());
    let limits = ReadLimits::default().with_max_metadata_bytes(1024);
    let err = StreamReader::open(&mut bytes.as_slice(), limits).err().unwrap();
    assert!(matches!(err, WireError::LimitExceeded { what: "metadata", .. }), "{err}");
}

#[test]
fn garbage_is_malformed() {
    let mut bytes = vec![0xFF, 0xFF, 0xFF, 0xFF, 16, 0, 0, 0];
    bytes.extend_from_slice(&[0xAB; 16]);
    assert!(StreamReader::open(&mut bytes.as_slice(), ReadLimits::default()).is_err());
}

#[test]
fn non_utf8_metadata_is_repaired_and_flagged_not_fatal() {
    let b = int_batch(&[1]);
    let schema = EncodedSchema::new(b.schema());
    let mut bytes = Vec::new();
    let mut w = StreamWriter::begin(&mut bytes, &schema).unwrap();
    w.write(&mut bytes, &b, &Metadata::new().with("vgi_rpc.method", "x\u{e9}y")).unwrap();
    w.finish(&mut bytes).unwrap();
    // Turn the UTF-8 lead byte of 'é' into a byte no UTF-8 string may hold.
    let at = bytes.windows(4).position(|w| w == [b'x', 0xC3, 0xA9, b'y']).expect("value present");
    bytes[at + 1] = 0xFF;
    let (_, batches) = vgi_rpc_wire::reader::read_stream_bytes(&bytes).expect("still readable");
    assert_eq!(batches[0].metadata.get("vgi_rpc.method"), Some("x??y"));
    assert!(batches[0].metadata.had_invalid_utf8());
    assert_eq!(batches[0].batch, b);
}

#[test]
fn the_schema_cache_reuses_a_repeated_schema_and_stays_correct_when_it_changes() {
    let one = int_batch(&[7]);
    let mut bytes = Vec::new();
    for _ in 0..2 {
        vgi_rpc_wire::writer::write_stream(&mut bytes, &EncodedSchema::new(one.schema()), &[(&one, &Metadata::new())])
            .unwrap();
    }
    bytes.extend_from_slice(&write_two_streams());
    let mut r = bytes.as_slice();
    let mut cache = vgi_rpc_wire::SchemaCache::default();
    let mut schemas = Vec::new();
    while let Opened::Stream(mut s) = StreamReader::open_cached(&mut r, ReadLimits::default(), &mut cache).unwrap() {
        schemas.push(s.schema().clone());
        s.drain(&mut r).unwrap();
    }
    assert_eq!(schemas.len(), 4);
    assert!(Arc::ptr_eq(&schemas[0], &schemas[1]), "identical schema message: decoded once");
    assert!(Arc::ptr_eq(&schemas[1], &schemas[2]), "the first of write_two_streams has the same schema");
    assert_eq!(schemas[3].fields().len(), 0, "a different schema is decoded afresh");
}
