//! Writing answers: error streams, error and log metadata stamped with the
//! server id and request id, shared by every transport's dispatch.

use std::io::Write;

use arrow_array::RecordBatch;
use vgi_rpc_wire::{EncodedSchema, Metadata, StreamWriter, WireError};

use crate::RpcError;

/// Where a response goes and who it is for.
pub(crate) struct Reply<'a> {
    pub(crate) server_id: &'a str,
    pub(crate) request_id: &'a str,
    pub(crate) tracebacks: bool,
}

impl Reply<'_> {
    pub(crate) fn error_metadata(&self, err: &RpcError, protocol: &str, method: &str) -> Metadata {
        err.to_payload(protocol, method).to_metadata(Some(self.server_id), Some(self.request_id), self.tracebacks)
    }

    pub(crate) fn log_metadata(&self, msg: &vgi_rpc_wire::log::LogMessage, with_request_id: bool) -> Metadata {
        msg.to_metadata(Some(self.server_id), with_request_id.then_some(self.request_id))
    }

    /// Answer a request whose IPC could not be decoded.
    pub(crate) fn invalid_ipc<W: Write + ?Sized>(
        &self,
        w: &mut W,
        e: &WireError,
        primary: &str,
    ) -> Result<(), WireError> {
        self.error_stream(w, EncodedSchema::empty(), &RpcError::new("ArrowInvalid", e.to_string()), primary, "")
    }

    /// A complete stream holding only an error batch.
    pub(crate) fn error_stream<W: Write + ?Sized>(
        &self,
        w: &mut W,
        schema: &EncodedSchema,
        err: &RpcError,
        protocol: &str,
        method: &str,
    ) -> Result<(), WireError> {
        let mut out = StreamWriter::begin(w, schema)?;
        out.write(w, &RecordBatch::new_empty(schema.schema().clone()), &self.error_metadata(err, protocol, method))?;
        out.finish(w)?;
        w.flush()?;
        Ok(())
    }
}

/// Write `logs` as zero-row log batches on `out`.
pub(crate) fn write_logs<W: Write + ?Sized>(
    w: &mut W,
    out: &mut StreamWriter,
    empty: &RecordBatch,
    reply: &Reply<'_>,
    logs: Vec<vgi_rpc_wire::log::LogMessage>,
    with_request_id: bool,
) -> Result<(), WireError> {
    for msg in logs {
        out.write(w, empty, &reply.log_metadata(&msg, with_request_id))?;
    }
    Ok(())
}
