//! Reading a stream's `/init` response (§10 "Stream initialization"): an
//! optional header stream, then the output stream with logs, up to one
//! producer data batch, and the zero-row batch that carries the cursor and
//! the call token (absent when a producer finished in its first turn).

use arrow_array::RecordBatch;
use vgi_rpc_core::wire::log::LogMessage;
use vgi_rpc_core::wire::{keys, Metadata};
use vgi_rpc_core::CallError;

use super::response::{split_control, IpcStream};

/// Everything an `/init` response establishes.
#[derive(Debug, Default)]
pub(crate) struct StreamStart {
    /// The header row, when the method declares a header.
    pub header: Option<(RecordBatch, Metadata)>,
    /// Logs from the header and output streams.
    pub logs: Vec<LogMessage>,
    /// A producer's first data batch, when the first turn emitted one.
    pub first: Option<(RecordBatch, Metadata)>,
    /// The cursor token, absent when the stream already finished.
    pub cursor: Option<String>,
    /// The call token, echoed on every later request.
    pub call_token: Option<String>,
}

/// Metadata as application code may see it: the two state tokens removed.
pub(crate) fn user_metadata(md: &Metadata) -> Metadata {
    md.without(&[keys::STREAM_STATE, keys::CALL_STATE])
}

/// Whether a batch is the zero-row carrier of a producer's next cursor.
pub(crate) fn is_cursor_batch(batch: &RecordBatch, md: &Metadata) -> bool {
    batch.num_rows() == 0 && md.contains(keys::STREAM_STATE)
}

/// Parse the streams of an `/init` response. A two-stream body always has a
/// header stream first, whether or not `has_header` was declared.
pub(crate) fn read_init(streams: Vec<IpcStream>, has_header: bool) -> Result<StreamStart, CallError> {
    let mut start = StreamStart::default();
    let mut streams = streams.into_iter();
    let (header_stream, output_stream) = match (streams.next(), streams.next(), streams.next()) {
        (Some(header), Some(output), None) => (Some(header), output),
        (Some(output), None, None) => (None, output),
        (_, _, extra) => {
            return Err(CallError::Protocol(format!(
                "an /init response holds a header stream and an output stream, got {}",
                if extra.is_some() { "more than two" } else { "none" }
            )));
        }
    };
    if let Some(stream) = header_stream {
        let mut rows = split_control(stream.batches, &mut start.logs)?.into_iter();
        let row = rows.next().ok_or_else(|| CallError::Protocol("the header stream had no header batch".into()))?;
        start.header = Some((row.batch, user_metadata(&row.metadata)));
    }
    for b in split_control(output_stream.batches, &mut start.logs)? {
        if is_cursor_batch(&b.batch, &b.metadata) {
            start.cursor = b.metadata.get(keys::STREAM_STATE).map(str::to_owned);
            start.call_token = b.metadata.get(keys::CALL_STATE).map(str::to_owned);
        } else if start.first.is_none() {
            start.first = Some((b.batch, user_metadata(&b.metadata)));
        } else {
            return Err(CallError::Protocol("lock-step violation: /init returned more than one data batch".into()));
        }
    }
    if has_header && start.header.is_none() {
        return Err(CallError::Protocol("the method declares a header but /init returned no header stream".into()));
    }
    Ok(start)
}
