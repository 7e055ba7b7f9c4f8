//! State shared by producer and exchange sessions: the `/exchange` URL, the
//! cursor and call tokens echoed on every continuation, the header, the
//! logs gathered so far, and best-effort cancellation.

use arrow_array::RecordBatch;
use http::Uri;
use vgi_rpc_core::wire::log::LogMessage;
use vgi_rpc_core::wire::{keys, Metadata, ReadBatch};
use vgi_rpc_core::CallError;

use super::init::StreamStart;
use super::request::tick;
use super::response::split_control;
use super::HttpClient;

/// One stream's client-side state between HTTP requests.
#[derive(Debug)]
pub(crate) struct Session {
    exchange_uri: Uri,
    /// The cursor for the next turn; `None` once the server stopped issuing one.
    pub cursor: Option<String>,
    call_token: Option<String>,
    pub header: Option<(RecordBatch, Metadata)>,
    pub logs: Vec<LogMessage>,
    /// Ended by an error, a cancel or a close: further turns fail with `Closed`.
    pub closed: bool,
}

impl Session {
    /// A session continuing at `exchange_uri` from what `/init` returned.
    pub(crate) fn new(exchange_uri: Uri, start: &mut StreamStart) -> Self {
        Self {
            exchange_uri,
            cursor: start.cursor.take(),
            call_token: start.call_token.take(),
            header: start.header.take(),
            logs: std::mem::take(&mut start.logs),
            closed: false,
        }
    }

    /// `extra` followed by the cursor, the call token and (for a cancel) the cancel flag.
    fn token_metadata(&self, extra: &Metadata, cursor: &str, cancel: bool) -> Metadata {
        let mut md = extra.without(&[keys::STREAM_STATE, keys::CALL_STATE, keys::CANCEL]);
        md.insert(keys::STREAM_STATE, cursor);
        if let Some(call) = &self.call_token {
            md.insert(keys::CALL_STATE, call.as_str());
        }
        if cancel {
            md.insert(keys::CANCEL, "1");
        }
        md
    }

    /// Send one continuation turn and return its non-log output batches.
    /// Any failure closes the session.
    pub(crate) fn turn(
        &mut self,
        client: &mut HttpClient,
        input: &RecordBatch,
        extra: &Metadata,
    ) -> Result<Vec<ReadBatch>, CallError> {
        if self.closed {
            return Err(CallError::Closed);
        }
        let Some(cursor) = self.cursor.as_deref() else {
            self.closed = true;
            return Err(CallError::Closed);
        };
        let md = self.token_metadata(extra, cursor, false);
        let result = client.post_batch(&self.exchange_uri, input, &md).and_then(|streams| {
            let mut out = Vec::new();
            for stream in streams {
                out.extend(split_control(stream.batches, &mut self.logs)?);
            }
            Ok(out)
        });
        if result.is_err() {
            self.closed = true;
        }
        result
    }

    /// Ask the server to end the stream. Best effort: the session is closed
    /// whatever happens, and failures are swallowed (§9 cancellation).
    pub(crate) fn cancel(&mut self, client: &mut HttpClient) {
        let was_open = !self.closed;
        self.closed = true;
        let Some(cursor) = self.cursor.take().filter(|_| was_open) else { return };
        let md = self.token_metadata(&Metadata::new(), &cursor, true);
        if let Ok(streams) = client.post_batch(&self.exchange_uri, &tick(), &md) {
            for stream in streams {
                let _ = split_control(stream.batches, &mut self.logs);
            }
        }
    }
}
