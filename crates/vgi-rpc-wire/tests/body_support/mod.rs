//! Shared helpers for the body writer tests: write a batch through both
//! paths and compare, build fixed-width arrays of any type from seeded
//! bytes, and a sink that records each write it gets.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::io::{self, Write};
use std::sync::Arc;

use arrow_array::{make_array, ArrayRef, RecordBatch};
use arrow_buffer::{Buffer, NullBuffer};
use arrow_data::{layout, ArrayData, BufferSpec};
use arrow_schema::{DataType, Field, Schema};
use vgi_rpc_wire::{read_stream_bytes, EncodedSchema, Metadata, StreamWriter};

/// A batch of `columns`, named by position, all nullable.
pub fn batch_of(columns: Vec<ArrayRef>) -> RecordBatch {
    let fields: Vec<Field> =
        columns.iter().enumerate().map(|(i, c)| Field::new(format!("c{i}"), c.data_type().clone(), true)).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("columns match their fields")
}

/// A stream of `batch` written twice with `md`, through the direct path
/// (`legacy == false`) or the arrow-ipc path, and whether the writer used
/// the direct path for this schema.
pub fn write_twice(batch: &RecordBatch, md: &Metadata, legacy: bool) -> (Vec<u8>, bool) {
    let schema = EncodedSchema::new(batch.schema());
    let mut out = Vec::new();
    let mut w = StreamWriter::begin(&mut out, &schema).expect("writing to a Vec");
    for _ in 0..2 {
        if legacy {
            w.write_via_arrow_ipc(&mut out, batch, md).expect("the batch has the stream schema");
        } else {
            w.write(&mut out, batch, md).expect("the batch has the stream schema");
        }
    }
    let direct = w.writes_direct();
    w.finish(&mut out).expect("writing to a Vec");
    (out, direct)
}

/// Where two byte strings first differ (`None` if they are equal).
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    if a == b {
        return None;
    }
    Some(a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len())))
}

/// Assert the two paths write the same bytes for `batch` with `md`, that
/// the writer took the direct path exactly when `direct`, and that the
/// reader returns the batch and metadata.
pub fn assert_same_bytes(batch: &RecordBatch, md: &Metadata, direct: bool) {
    let (new, took_direct) = write_twice(batch, md, false);
    let (old, _) = write_twice(batch, md, true);
    assert_eq!(took_direct, direct, "path for {:?}", batch.schema());
    if let Some(at) = first_difference(&new, &old) {
        panic!(
            "bytes differ at {at} (lengths {} and {}) for {} rows of {:?}",
            new.len(),
            old.len(),
            batch.num_rows(),
            batch.schema()
        );
    }
    let (_, batches) = read_stream_bytes(&new).expect("the reader accepts the stream");
    assert_eq!(batches.len(), 2);
    for got in batches {
        assert_eq!(&got.batch, batch);
        assert_eq!(&got.metadata, md);
    }
}

/// Bytes from a small xorshift generator seeded with `seed`.
pub fn seeded_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A `len`-row array of fixed-width (or boolean) type `dt` with seeded
/// values, every `null_every`-th row null (`Some(1)`: all null), and, for
/// odd seeds, a values buffer longer than the array needs.
pub fn fixed_width_array(dt: &DataType, len: usize, null_every: Option<usize>, seed: u64) -> ArrayRef {
    let bytes = match layout(dt).buffers.first() {
        Some(BufferSpec::FixedWidth { byte_width, .. }) => len * byte_width,
        Some(BufferSpec::BitMap) => len.div_ceil(8),
        other => panic!("{dt} is not fixed-width: {other:?}"),
    };
    let extra = if seed % 2 == 1 { 24 } else { 0 };
    // `Buffer::from` a slice copies into a 64-byte aligned allocation.
    let values = Buffer::from(seeded_bytes(bytes + extra, seed).as_slice());
    let nulls = null_every.map(|k| NullBuffer::from_iter((0..len).map(|i| i % k != 0)));
    let data = ArrayData::builder(dt.clone())
        .len(len)
        .add_buffer(values)
        .nulls(nulls)
        .build()
        .expect("a valid fixed-width array");
    make_array(data)
}

/// A sink that records the address and length of every write it gets.
#[derive(Default)]
pub struct Recorder {
    pub writes: Vec<(usize, usize)>,
    pub bytes: usize,
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes.push((buf.as_ptr() as usize, buf.len()));
        self.bytes += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
