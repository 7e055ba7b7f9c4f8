//! Writing one stream turn's output cycle (the turn's logs, then its data
//! batch) onto a response stream: inline, or — when the server's
//! externalization policy says so — as a single pointer batch standing in
//! for the whole cycle (WIRE_PROTOCOL.md §12 *Stream externalization*).
//! The lockstep loop and stateless turns share it.

use std::io::Write;

use arrow_array::RecordBatch;
use vgi_rpc_wire::log::LogMessage;
use vgi_rpc_wire::{keys, EncodedSchema, Metadata, StreamWriter, WireError};

use crate::external::Externalizer;
use crate::hook::CallStats;
use crate::output::Emitted;
use crate::reply::Reply;
use crate::shared_memory::{pointer_metadata, SharedSegment};
use crate::RpcError;

/// Write a stream's header batch on `out`: by pointer when the policy says
/// so (the reference externalizes headers as single batches), else inline.
/// A failed externalization is written as the header stream's error batch.
pub(crate) fn write_header<W: Write + ?Sized>(
    w: &mut W,
    out: &mut StreamWriter,
    (schema, protocol): (&EncodedSchema, &str),
    reply: &Reply<'_>,
    ext: Option<Externalizer<'_>>,
    (batch, metadata): (&RecordBatch, &Metadata),
) -> Result<(), WireError> {
    let Some(mut ext) = ext else { return out.write(w, batch, metadata) };
    let empty = RecordBatch::new_empty(schema.schema().clone());
    match ext.cycle(schema, &[(batch, metadata)], 0) {
        Ok(Some(pointer)) => out.write(w, &empty, &pointer),
        Ok(None) => out.write(w, batch, metadata),
        Err(err) => out.write(w, &empty, &reply.error_metadata(&err, protocol, ext.method)),
    }
}

/// What every cycle of one response is written with.
pub(crate) struct CycleWriter<'a> {
    pub(crate) schema: &'a EncodedSchema,
    pub(crate) empty: &'a RecordBatch,
    pub(crate) reply: &'a Reply<'a>,
    pub(crate) ext: Option<Externalizer<'a>>,
}

impl CycleWriter<'_> {
    /// Write `logs` then `items`; `cursor` rides on the data batch. An
    /// externalization failure (the external cap, an upload error) writes
    /// nothing and comes back as the inner `Err` for the caller to report.
    pub(crate) fn write<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        out: &mut StreamWriter,
        logs: Vec<LogMessage>,
        items: Vec<Emitted>,
        cursor: Option<&str>,
        stats: &mut CallStats,
    ) -> Result<Result<(), RpcError>, WireError> {
        self.write_via(w, out, logs, items, cursor, stats, None)
    }

    /// [`CycleWriter::write`], with the data batch placed in the client's
    /// shared-memory segment when one is given (logs stay inline; a batch
    /// the segment does not take goes inline too, never to external
    /// storage, as the reference does).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write_via<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        out: &mut StreamWriter,
        logs: Vec<LogMessage>,
        items: Vec<Emitted>,
        cursor: Option<&str>,
        stats: &mut CallStats,
        shm: Option<&mut dyn SharedSegment>,
    ) -> Result<Result<(), RpcError>, WireError> {
        let mut batches: Vec<(RecordBatch, Metadata)> = Vec::with_capacity(logs.len() + items.len());
        let mut data = None;
        for msg in &logs {
            batches.push((self.empty.clone(), self.reply.log_metadata(msg, false)));
        }
        for item in items {
            match item {
                Emitted::Log(msg) => batches.push((self.empty.clone(), self.reply.log_metadata(&msg, false))),
                Emitted::Data(batch, mut md) => {
                    stats.record_output(&batch);
                    if let Some(cursor) = cursor {
                        md.insert(keys::STREAM_STATE, cursor);
                    }
                    data = Some(batches.len());
                    batches.push((batch, md));
                }
            }
        }
        if let Some(shm) = shm {
            if let Some((batch, md)) = data.and_then(|i| batches.get_mut(i)).filter(|(b, _)| b.num_rows() > 0) {
                match shm.put(batch) {
                    Ok(Some((offset, length))) => {
                        *md = pointer_metadata(md, offset, length);
                        *batch = self.empty.clone();
                    }
                    Ok(None) => {}
                    Err(err) => return Ok(Err(err)),
                }
            }
            for (batch, md) in &batches {
                out.write(w, batch, md)?;
            }
            return Ok(Ok(()));
        }
        if let (Some(ext), Some(index)) = (self.ext.as_mut(), data) {
            let refs: Vec<(&RecordBatch, &Metadata)> = batches.iter().map(|(b, m)| (b, m)).collect();
            match ext.cycle(self.schema, &refs, index) {
                Ok(Some(pointer)) => {
                    out.write(w, self.empty, &pointer)?;
                    return Ok(Ok(()));
                }
                Ok(None) => {}
                Err(err) => return Ok(Err(err)),
            }
        }
        for (batch, md) in &batches {
            out.write(w, batch, md)?;
        }
        Ok(Ok(()))
    }
}
