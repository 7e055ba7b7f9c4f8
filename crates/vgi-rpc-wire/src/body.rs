//! Record batch messages whose body is written straight from array memory.
//!
//! arrow-ipc's `IpcDataGenerator::encode` copies every buffer of a batch into
//! one body `Vec` before anything reaches the sink, which doubles the memory
//! and the copying for bulk batches. This module lays the body out itself
//! (the `FieldNode`s, the `Buffer` offsets and lengths, 8-byte padding, the
//! variadic buffer counts), builds the `RecordBatch` message flatbuffer with
//! the custom metadata in place, and then writes each buffer from the
//! array's own memory.
//!
//! The layout mirrors arrow-rs 60's `write_array_data` for this crate's
//! options (8-byte alignment, V5, no compression), including how it trims
//! sliced arrays: fixed-width values are truncated to the slice, offsets of
//! sliced byte and list arrays are rebased when they do not start at zero,
//! bitmaps at unaligned bit offsets are shifted, and a validity bitmap is
//! written empty when the null count is zero. The bytes are identical to
//! the arrow-ipc path (see `tests/body_identity.rs`). Dictionary-encoded and
//! run-end-encoded columns (anywhere in the type tree) are not handled here;
//! the writer sends those through arrow-ipc, which also tracks dictionaries.

use std::io::{self, Write};

use arrow_array::OffsetSizeTrait;
use arrow_array::{Array, RecordBatch};
use arrow_buffer::Buffer;
use arrow_data::{layout, ArrayData, BufferSpec};
use arrow_ipc::{
    FieldNode, KeyValue, KeyValueBuilder, MessageBuilder, MessageHeader, MetadataVersion, RecordBatchBuilder,
};
use arrow_schema::{DataType, UnionMode};
use flatbuffers::{FlatBufferBuilder, WIPOffset};

use crate::writer::frame_message;
use crate::Metadata;

/// Body alignment (the crate writes with 8-byte alignment).
const ALIGNMENT: usize = 8;
const PADDING: [u8; ALIGNMENT] = [0; ALIGNMENT];

/// Buffers at least this long go to the sink directly, from the array's
/// memory. Shorter ones, the message header and padding are gathered in a
/// staging buffer first, so a batch of many small buffers costs a few large
/// writes rather than one write (or syscall) per buffer.
pub(crate) const DIRECT_WRITE_BYTES: usize = 64 * 1024;

/// Whether columns of type `data_type` can be written by this module.
pub(crate) fn supports_type(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, _) | DataType::RunEndEncoded(_, _) => false,
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => supports_type(f.data_type()),
        DataType::Struct(fields) => fields.iter().all(|f| supports_type(f.data_type())),
        DataType::Union(fields, _) => fields.iter().all(|(_, f)| supports_type(f.data_type())),
        _ => true,
    }
}

/// The layout of one record batch body: its field nodes, buffer entries,
/// variadic counts and the buffers themselves (reference-counted views of
/// the batch's memory, or small rebased copies where arrow-rs makes them).
#[derive(Default)]
pub(crate) struct BodyPlan {
    nodes: Vec<FieldNode>,
    entries: Vec<arrow_ipc::Buffer>,
    buffers: Vec<Buffer>,
    variadic: Vec<i64>,
    body_len: usize,
}

impl BodyPlan {
    /// Lay out `batch`. `None` means the batch's array data is not shaped
    /// as its type requires (the caller then uses the arrow-ipc path, which
    /// behaves as it always did on such data).
    pub(crate) fn build(&mut self, batch: &RecordBatch) -> Option<()> {
        self.release();
        self.nodes.clear();
        self.entries.clear();
        self.variadic.clear();
        self.body_len = 0;
        for column in batch.columns() {
            let data = column.to_data();
            self.visit(&data)?;
            append_variadic_counts(&mut self.variadic, &data);
        }
        Some(())
    }

    /// Drop the references to the batch's buffers.
    pub(crate) fn release(&mut self) {
        self.buffers.clear();
    }

    /// The `Message` flatbuffer for this body on a batch of `rows` rows,
    /// carrying `metadata` as custom metadata when it is not empty.
    ///
    /// The builder calls (and their order) are the ones arrow-ipc makes for
    /// a plain batch, and the ones the arrow-ipc path's metadata re-encode
    /// makes otherwise, so the bytes match that path exactly.
    pub(crate) fn message<'a>(
        &self,
        fbb: &'a mut FlatBufferBuilder<'static>,
        rows: usize,
        metadata: &Metadata,
    ) -> &'a [u8] {
        fbb.reset();
        let (nodes, entries, custom) = if metadata.is_empty() {
            let entries = fbb.create_vector(&self.entries);
            let nodes = fbb.create_vector(&self.nodes);
            (nodes, entries, None)
        } else {
            let nodes = fbb.create_vector(&self.nodes);
            let entries = fbb.create_vector(&self.entries);
            (nodes, entries, Some(()))
        };
        let variadic = (!self.variadic.is_empty()).then(|| fbb.create_vector(&self.variadic));
        let custom = custom.map(|()| metadata_to_fb(fbb, metadata));

        let mut rb = RecordBatchBuilder::new(fbb);
        rb.add_length(rows as i64);
        rb.add_nodes(nodes);
        rb.add_buffers(entries);
        if let Some(variadic) = variadic {
            rb.add_variadicBufferCounts(variadic);
        }
        let rb = rb.finish();

        let mut mb = MessageBuilder::new(fbb);
        mb.add_version(MetadataVersion::V5);
        mb.add_header_type(MessageHeader::RecordBatch);
        mb.add_bodyLength(self.body_len as i64);
        mb.add_header(rb.as_union_value());
        if let Some(custom) = custom {
            mb.add_custom_metadata(custom);
        }
        let root = mb.finish();
        fbb.finish(root, None);
        fbb.finished_data()
    }

    /// Write the framed message (`flatbuffer`) and then the body to `w`.
    ///
    /// `stage` is scratch space: the frame, short buffers and padding are
    /// gathered there; buffers of [`DIRECT_WRITE_BYTES`] or more are written
    /// from the array's memory without a copy.
    pub(crate) fn write<W: Write + ?Sized>(&self, w: &mut W, flatbuffer: &[u8], stage: &mut Vec<u8>) -> io::Result<()> {
        stage.clear();
        frame_message(stage, flatbuffer);
        for buffer in &self.buffers {
            let bytes = buffer.as_slice();
            if bytes.len() >= DIRECT_WRITE_BYTES {
                flush(w, stage)?;
                w.write_all(bytes)?;
            } else {
                stage.extend_from_slice(bytes);
            }
            stage.extend_from_slice(&PADDING[..pad_len(bytes.len())]);
            if stage.len() >= DIRECT_WRITE_BYTES {
                flush(w, stage)?;
            }
        }
        flush(w, stage)
    }

    fn push(&mut self, buffer: Buffer) {
        let len = buffer.len();
        self.entries.push(arrow_ipc::Buffer::new(self.body_len as i64, len as i64));
        self.body_len += len + pad_len(len);
        self.buffers.push(buffer);
    }

    /// Append the nodes and buffers of `data` (and its children), as
    /// arrow-rs's `write_array_data` does.
    fn visit(&mut self, data: &ArrayData) -> Option<()> {
        let data_type = data.data_type();
        let rows = data.len();
        let null_count = data.null_count();
        // A NullArray's ArrayData reports no nulls; the node says all are.
        let node_nulls = if matches!(data_type, DataType::Null) { rows } else { null_count };
        self.nodes.push(FieldNode::new(rows as i64, node_nulls as i64));

        if has_validity_bitmap(data_type) {
            // A field without nulls gets an empty validity buffer.
            let validity = match data.nulls() {
                Some(nulls) if null_count > 0 => nulls.inner().sliced(),
                _ => empty(),
            };
            self.push(validity);
        }

        match data_type {
            DataType::Binary | DataType::Utf8 => {
                let [offsets, values] = byte_array_buffers::<i32>(data)?;
                self.push(offsets);
                self.push(values);
            }
            DataType::LargeBinary | DataType::LargeUtf8 => {
                let [offsets, values] = byte_array_buffers::<i64>(data)?;
                self.push(offsets);
                self.push(values);
            }
            DataType::BinaryView | DataType::Utf8View => {
                // Views are truncated to the slice; data buffers go as they are.
                self.push(truncated_fixed_width(data)?);
                for buffer in data.buffers().iter().skip(1) {
                    self.push(buffer.clone());
                }
            }
            t if t.is_numeric() || t.is_temporal() || matches!(t, DataType::FixedSizeBinary(_)) => {
                if data.buffers().len() != 1 {
                    return None;
                }
                self.push(truncated_fixed_width(data)?);
            }
            DataType::Boolean => {
                let values = single_buffer(data)?;
                self.push(values.bit_slice(data.offset(), rows));
            }
            DataType::List(_) | DataType::Map(_, _) => {
                let (offsets, child) = list_buffers::<i32>(data)?;
                self.push(offsets);
                return self.visit(&child);
            }
            DataType::LargeList(_) => {
                let (offsets, child) = list_buffers::<i64>(data)?;
                self.push(offsets);
                return self.visit(&child);
            }
            DataType::ListView(_) => {
                let (offsets, sizes, child) = list_view_buffers::<i32>(data)?;
                self.push(offsets);
                self.push(sizes);
                return self.visit(&child);
            }
            DataType::LargeListView(_) => {
                let (offsets, sizes, child) = list_view_buffers::<i64>(data)?;
                self.push(offsets);
                self.push(sizes);
                return self.visit(&child);
            }
            DataType::FixedSizeList(_, size) => {
                let size = usize::try_from(*size).ok()?;
                let child = data.child_data().first()?;
                let start = data.offset().checked_mul(size)?;
                let len = rows.checked_mul(size)?;
                if start.checked_add(len)? > child.len() {
                    return None;
                }
                return self.visit(&child.slice(start, len));
            }
            DataType::Union(_, mode) => {
                // Type ids (1 byte each), then for dense unions offsets (4 bytes each).
                for (buffer, width) in data.buffers().iter().zip([1usize, 4]) {
                    let start = data.offset().checked_mul(width)?;
                    let len = rows.checked_mul(width)?;
                    if start.checked_add(len)? > buffer.len() {
                        return None;
                    }
                    self.push(buffer.slice_with_length(start, len));
                }
                for child in data.child_data() {
                    if *mode == UnionMode::Sparse {
                        if data.offset().checked_add(rows)? > child.len() {
                            return None;
                        }
                        self.visit(&child.slice(data.offset(), rows))?;
                    } else {
                        self.visit(child)?;
                    }
                }
                return Some(());
            }
            DataType::Dictionary(_, _) | DataType::RunEndEncoded(_, _) => return None,
            _ => {
                // Null and Struct: whatever buffers there are, untouched.
                for buffer in data.buffers() {
                    self.push(buffer.clone());
                }
            }
        }
        for child in data.child_data() {
            self.visit(child)?;
        }
        Some(())
    }
}

/// Write out and clear `stage` if it holds anything.
fn flush<W: Write + ?Sized>(w: &mut W, stage: &mut Vec<u8>) -> io::Result<()> {
    if !stage.is_empty() {
        w.write_all(stage)?;
        stage.clear();
    }
    Ok(())
}

/// Padding after a buffer of `len` bytes to reach the alignment.
fn pad_len(len: usize) -> usize {
    len.next_multiple_of(ALIGNMENT) - len
}

fn empty() -> Buffer {
    Buffer::from_vec(Vec::<u8>::new())
}

/// V5 writes no validity bitmap for Null, Union and RunEndEncoded.
fn has_validity_bitmap(data_type: &DataType) -> bool {
    !matches!(data_type, DataType::Null | DataType::Union(_, _) | DataType::RunEndEncoded(_, _))
}

fn single_buffer(data: &ArrayData) -> Option<&Buffer> {
    match data.buffers() {
        [buffer] => Some(buffer),
        _ => None,
    }
}

/// The first (fixed-width) buffer of `data`, cut to the array's slice when
/// it starts at an offset or holds more than the slice needs.
fn truncated_fixed_width(data: &ArrayData) -> Option<Buffer> {
    let buffer = data.buffers().first()?;
    let spec = layout(data.data_type()).buffers.into_iter().next()?;
    let width = match spec {
        BufferSpec::FixedWidth { byte_width, .. } => byte_width,
        _ => 0,
    };
    let min_length = data.len().checked_mul(width)?;
    let needs_truncation = spec != BufferSpec::AlwaysNull && (data.offset() != 0 || min_length < buffer.len());
    if !needs_truncation {
        return Some(buffer.clone());
    }
    let start = data.offset().checked_mul(width)?;
    let len = min_length.min(buffer.len().checked_sub(start)?);
    Some(buffer.slice_with_length(start, len))
}

/// The offsets of `data`'s slice (rebased to start at zero when they do not
/// already), the first offset and the length of the values they span.
fn rebased_offsets<O: OffsetSizeTrait>(data: &ArrayData) -> Option<(Buffer, usize, usize)> {
    let offsets = data.buffers().first()?;
    let width = std::mem::size_of::<O>();
    let end = data.offset().checked_add(data.len())?.checked_add(1)?;
    if end.checked_mul(width)? > offsets.len() {
        return None;
    }
    let all: &[O] = offsets.typed_data::<O>();
    let slice = all.get(data.offset()..end)?;
    let first = *slice.first()?;
    let last = *slice.last()?;
    let rebased = if first.as_usize() == 0 {
        offsets.slice_with_length(data.offset() * width, (data.len() + 1) * width)
    } else {
        slice.iter().map(|x| *x - first).collect()
    };
    let start = first.as_usize();
    Some((rebased, start, last.as_usize().checked_sub(start)?))
}

/// A single zero offset: what an empty offsets-based array is written with.
fn zero_offset<O: OffsetSizeTrait>() -> Buffer {
    Buffer::from_vec(vec![O::usize_as(0)])
}

/// The offsets and values buffers of a (large) binary or utf8 array.
fn byte_array_buffers<O: OffsetSizeTrait>(data: &ArrayData) -> Option<[Buffer; 2]> {
    if data.is_empty() {
        return Some([zero_offset::<O>(), empty()]);
    }
    let (offsets, start, len) = rebased_offsets::<O>(data)?;
    let values = data.buffers().get(1)?;
    if start.checked_add(len)? > values.len() {
        return None;
    }
    Some([offsets, values.slice_with_length(start, len)])
}

/// The offsets of a list or map array and its child cut to the values the
/// slice spans.
fn list_buffers<O: OffsetSizeTrait>(data: &ArrayData) -> Option<(Buffer, ArrayData)> {
    let child = data.child_data().first()?;
    if data.is_empty() {
        return Some((zero_offset::<O>(), child.slice(0, 0)));
    }
    let (offsets, start, len) = rebased_offsets::<O>(data)?;
    if start.checked_add(len)? > child.len() {
        return None;
    }
    Some((offsets, child.slice(start, len)))
}

/// The offsets and sizes of a list view's slice, and its whole child.
fn list_view_buffers<O: OffsetSizeTrait>(data: &ArrayData) -> Option<(Buffer, Buffer, ArrayData)> {
    let child = data.child_data().first()?;
    if data.is_empty() {
        return Some((empty(), empty(), child.slice(0, 0)));
    }
    let width = std::mem::size_of::<O>();
    let start = data.offset().checked_mul(width)?;
    let len = data.len().checked_mul(width)?;
    let [offsets, sizes] = data.buffers() else {
        return None;
    };
    if start.checked_add(len)? > offsets.len().min(sizes.len()) {
        return None;
    }
    Some((offsets.slice_with_length(start, len), sizes.slice_with_length(start, len), child.clone()))
}

/// One count per view column (its data buffers), depth-first, as arrow-rs
/// records them.
fn append_variadic_counts(counts: &mut Vec<i64>, data: &ArrayData) {
    match data.data_type() {
        DataType::BinaryView | DataType::Utf8View => counts.push(data.buffers().len() as i64 - 1),
        DataType::Dictionary(_, _) => {}
        _ => {
            for child in data.child_data() {
                append_variadic_counts(counts, child);
            }
        }
    }
}

/// `metadata` as a flatbuffer vector of `KeyValue`s, in iteration order.
pub(crate) fn metadata_to_fb<'a>(
    fbb: &mut FlatBufferBuilder<'a>,
    metadata: &Metadata,
) -> WIPOffset<flatbuffers::Vector<'a, flatbuffers::ForwardsUOffset<KeyValue<'a>>>> {
    let mut entries = Vec::with_capacity(metadata.len());
    for (k, v) in metadata.iter() {
        let key = fbb.create_string(k);
        let value = fbb.create_string(v);
        let mut kv = KeyValueBuilder::new(fbb);
        kv.add_key(key);
        kv.add_value(value);
        entries.push(kv.finish());
    }
    fbb.create_vector(&entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_reaches_the_next_multiple_of_eight() {
        assert_eq!([0, 1, 7, 8, 9, 16].map(pad_len), [0, 7, 1, 0, 7, 0]);
    }

    #[test]
    fn dictionaries_and_run_end_encoding_are_not_supported_at_any_depth() {
        use arrow_schema::Field;
        use std::sync::Arc;
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        assert!(!supports_type(&dict));
        let nested = DataType::List(Arc::new(Field::new("item", dict, true)));
        assert!(!supports_type(&nested));
        let ok = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
        assert!(supports_type(&ok));
    }
}
