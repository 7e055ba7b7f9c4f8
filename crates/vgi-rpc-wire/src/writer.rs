//! Writing Arrow IPC streams with per-batch custom metadata.
//!
//! arrow-ipc's stream writer cannot attach custom metadata to a record batch
//! message, which vgi-rpc needs on every batch, so this writer frames record
//! batch messages itself. Batches without dictionary or run-end-encoded
//! columns are laid out by `crate::body` and written from the arrays' own
//! memory; the others are encoded by arrow-ipc (which copies the body into
//! one buffer and tracks dictionaries), with the metadata added to its
//! message. Both paths produce the same bytes for the same batch.

use std::io::Write;
use std::sync::OnceLock;

use arrow_array::RecordBatch;
use arrow_ipc::writer::{DictionaryTracker, EncodedData, IpcDataGenerator, IpcWriteContext, IpcWriteOptions};
use arrow_ipc::{MessageBuilder, MessageHeader, MetadataVersion, RecordBatchBuilder};
use arrow_schema::SchemaRef;
use flatbuffers::FlatBufferBuilder;

use crate::body::{metadata_to_fb, supports_type, BodyPlan};
use crate::{EncodedSchema, Metadata, WireError};

/// The end-of-stream marker (Appendix A).
pub const EOS: [u8; 8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];
const CONTINUATION: [u8; 4] = [0xFF, 0xFF, 0xFF, 0xFF];

/// IPC options used for everything this crate writes: V5 metadata, 8-byte alignment.
pub(crate) fn write_options() -> &'static IpcWriteOptions {
    static OPTIONS: OnceLock<IpcWriteOptions> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        IpcWriteOptions::try_new(8, false, MetadataVersion::V5).expect("8-byte alignment with V5 is valid")
    })
}

/// Append a framed message header (continuation, padded length, flatbuffer,
/// padding to 8 bytes) to `out`. The body, if any, follows separately.
pub(crate) fn frame_message(out: &mut Vec<u8>, flatbuffer: &[u8]) {
    let padded = (flatbuffer.len() + 8).div_ceil(8) * 8 - 8;
    out.extend_from_slice(&CONTINUATION);
    out.extend_from_slice(&(padded as i32).to_le_bytes());
    out.extend_from_slice(flatbuffer);
    out.resize(out.len() + (padded - flatbuffer.len()), 0);
}

/// Writes one IPC stream: a schema, batches with metadata, then EOS.
///
/// The writer holds no reference to the byte sink, so a connection can
/// interleave reading and writing on the same object.
pub struct StreamWriter {
    schema: SchemaRef,
    tracker: DictionaryTracker,
    context: IpcWriteContext,
    /// Scratch for message frames (and, on the direct path, small buffers).
    header: Vec<u8>,
    /// Every column type is one [`crate::body`] writes directly.
    direct: bool,
    plan: BodyPlan,
    fbb: FlatBufferBuilder<'static>,
}

impl StreamWriter {
    /// Start a stream on `schema`, writing its cached schema message.
    pub fn begin<W: Write + ?Sized>(w: &mut W, schema: &EncodedSchema) -> Result<Self, WireError> {
        w.write_all(schema.message_bytes())?;
        let direct = schema.schema().fields().iter().all(|f| supports_type(f.data_type()));
        Ok(Self {
            schema: schema.schema().clone(),
            tracker: schema.fresh_tracker(),
            context: IpcWriteContext::default(),
            header: Vec::with_capacity(256),
            direct,
            plan: BodyPlan::default(),
            fbb: FlatBufferBuilder::with_capacity(1024),
        })
    }

    /// Whether batches on this stream are written from the arrays' memory
    /// (no dictionary or run-end-encoded column) rather than through
    /// arrow-ipc's body copy.
    #[doc(hidden)]
    pub fn writes_direct(&self) -> bool {
        self.direct
    }

    /// The stream's schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Write one batch (and any dictionaries it needs) with `metadata`.
    ///
    /// The batch must have the stream's schema (field names and types).
    pub fn write<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        batch: &RecordBatch,
        metadata: &Metadata,
    ) -> Result<(), WireError> {
        self.check_schema(batch)?;
        if self.direct && self.plan.build(batch).is_some() {
            let flatbuffer = self.plan.message(&mut self.fbb, batch.num_rows(), metadata);
            let written = self.plan.write(w, flatbuffer, &mut self.header);
            // The plan holds references to the batch's buffers; let them go now.
            self.plan.release();
            return Ok(written?);
        }
        self.plan.release();
        self.encode_via_arrow_ipc(w, batch, metadata)
    }

    /// The batch's fields must be the stream's (names and types).
    fn check_schema(&self, batch: &RecordBatch) -> Result<(), WireError> {
        if batch.schema_ref().fields() != self.schema.fields() {
            return Err(WireError::Protocol(format!(
                "batch schema {:?} does not match the stream schema {:?}",
                batch.schema_ref().fields(),
                self.schema.fields()
            )));
        }
        Ok(())
    }

    /// Write one batch the way this writer did before [`crate::body`]:
    /// arrow-ipc encodes the body into one buffer (and the dictionaries),
    /// and the metadata is added by re-encoding its message.
    ///
    /// The fallback for dictionary and run-end-encoded columns; public only
    /// so tests can compare the two paths' bytes.
    #[doc(hidden)]
    pub fn write_via_arrow_ipc<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        batch: &RecordBatch,
        metadata: &Metadata,
    ) -> Result<(), WireError> {
        self.check_schema(batch)?;
        self.encode_via_arrow_ipc(w, batch, metadata)
    }

    /// The arrow-ipc path for a batch whose schema was already checked.
    fn encode_via_arrow_ipc<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        batch: &RecordBatch,
        metadata: &Metadata,
    ) -> Result<(), WireError> {
        let (dictionaries, encoded) =
            IpcDataGenerator::default().encode(batch, &mut self.tracker, write_options(), &mut self.context)?;
        for dictionary in dictionaries {
            self.header.clear();
            frame_message(&mut self.header, &dictionary.ipc_message);
            w.write_all(&self.header)?;
            w.write_all(&dictionary.arrow_data)?;
        }
        self.write_record_batch(w, encoded, metadata)
    }

    fn write_record_batch<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        encoded: EncodedData,
        metadata: &Metadata,
    ) -> Result<(), WireError> {
        self.header.clear();
        if metadata.is_empty() {
            frame_message(&mut self.header, &encoded.ipc_message);
        } else {
            let flatbuffer = with_custom_metadata(&encoded.ipc_message, metadata)?;
            frame_message(&mut self.header, &flatbuffer);
        }
        // Transports buffer their writers, so two writes cost no extra syscall
        // for small bodies, and large bodies bypass the buffer uncopied.
        w.write_all(&self.header)?;
        w.write_all(&encoded.arrow_data)?;
        Ok(())
    }

    /// End the stream with the EOS marker.
    pub fn finish<W: Write + ?Sized>(self, w: &mut W) -> Result<(), WireError> {
        w.write_all(&EOS)?;
        Ok(())
    }
}

/// Write a complete stream holding `batches` (each with its metadata).
pub fn write_stream<W: Write + ?Sized>(
    w: &mut W,
    schema: &EncodedSchema,
    batches: &[(&RecordBatch, &Metadata)],
) -> Result<(), WireError> {
    let mut writer = StreamWriter::begin(w, schema)?;
    for (batch, metadata) in batches {
        writer.write(w, batch, metadata)?;
    }
    writer.finish(w)
}

/// A complete stream holding `batches`, in memory.
pub fn write_stream_bytes(schema: &EncodedSchema, batches: &[(&RecordBatch, &Metadata)]) -> Result<Vec<u8>, WireError> {
    let hint: usize = batches.iter().map(|(b, _)| b.get_array_memory_size()).sum();
    let mut out = Vec::with_capacity(hint + 512);
    write_stream(&mut out, schema, batches)?;
    Ok(out)
}

/// Rebuild a record batch `Message` flatbuffer with `metadata` as its custom metadata.
fn with_custom_metadata(message: &[u8], metadata: &Metadata) -> Result<Vec<u8>, WireError> {
    let parsed = arrow_ipc::root_as_message(message)
        .map_err(|e| WireError::Malformed(format!("encoder produced an invalid message: {e}")))?;
    let batch = parsed
        .header_as_record_batch()
        .ok_or_else(|| WireError::Malformed("encoder produced a non-batch message".into()))?;

    let mut fbb = FlatBufferBuilder::with_capacity(message.len() + 64 * metadata.len() + 64);
    let nodes = batch.nodes().map(|n| {
        let v: Vec<arrow_ipc::FieldNode> = n.iter().copied().collect();
        fbb.create_vector(&v)
    });
    let buffers = batch.buffers().map(|b| {
        let v: Vec<arrow_ipc::Buffer> = b.iter().copied().collect();
        fbb.create_vector(&v)
    });
    let variadic = batch.variadicBufferCounts().map(|c| {
        let v: Vec<i64> = c.iter().collect();
        fbb.create_vector(&v)
    });
    let custom = metadata_to_fb(&mut fbb, metadata);

    let mut rb = RecordBatchBuilder::new(&mut fbb);
    rb.add_length(batch.length());
    if let Some(nodes) = nodes {
        rb.add_nodes(nodes);
    }
    if let Some(buffers) = buffers {
        rb.add_buffers(buffers);
    }
    if let Some(variadic) = variadic {
        rb.add_variadicBufferCounts(variadic);
    }
    let rb = rb.finish();

    let mut mb = MessageBuilder::new(&mut fbb);
    mb.add_version(parsed.version());
    mb.add_header_type(MessageHeader::RecordBatch);
    mb.add_bodyLength(parsed.bodyLength());
    mb.add_header(rb.as_union_value());
    mb.add_custom_metadata(custom);
    let root = mb.finish();
    fbb.finish(root, None);
    Ok(fbb.finished_data().to_vec())
}
