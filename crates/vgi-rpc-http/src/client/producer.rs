//! A producer stream over HTTP: the first batch arrives with `/init`, each
//! later one costs one `/exchange` request carrying a tick and both state
//! tokens, and the stream ends when a response carries no new cursor.

use arrow_array::RecordBatch;
use vgi_rpc_core::wire::log::LogMessage;
use vgi_rpc_core::wire::{keys, Metadata};
use vgi_rpc_core::CallError;

use super::init::{is_cursor_batch, user_metadata};
use super::request::tick;
use super::session::Session;
use super::HttpClient;

/// A running producer stream.
pub struct HttpProducer<'c> {
    client: &'c mut HttpClient,
    session: Session,
    buffered: Option<(RecordBatch, Metadata)>,
}

impl<'c> HttpProducer<'c> {
    pub(crate) fn new(client: &'c mut HttpClient, session: Session, buffered: Option<(RecordBatch, Metadata)>) -> Self {
        Self { client, session, buffered }
    }

    /// The header batch, for methods that declare one.
    pub fn header(&self) -> Option<&(RecordBatch, Metadata)> {
        self.session.header.as_ref()
    }

    /// Logs received so far (header, init and every turn).
    pub fn logs(&self) -> &[LogMessage] {
        &self.session.logs
    }

    /// Whether the producer has finished (no batch buffered and no cursor pending).
    pub fn is_finished(&self) -> bool {
        self.buffered.is_none() && self.session.cursor.is_none()
    }

    /// The next batch, or `None` once the producer finished.
    pub fn next_batch(&mut self) -> Result<Option<(RecordBatch, Metadata)>, CallError> {
        self.next_batch_with(&Metadata::new())
    }

    /// Like [`HttpProducer::next_batch`], with application metadata on the
    /// tick. A batch buffered from `/init` needs no tick, so metadata cannot
    /// ride on it: that is refused (with the batch kept) rather than dropped.
    pub fn next_batch_with(&mut self, tick_metadata: &Metadata) -> Result<Option<(RecordBatch, Metadata)>, CallError> {
        if self.buffered.is_some() {
            if !tick_metadata.is_empty() {
                return Err(CallError::Protocol(
                    "tick metadata cannot be sent while the /init batch is buffered; call next_batch first".into(),
                ));
            }
            return Ok(self.buffered.take());
        }
        if self.session.closed {
            return Err(CallError::Closed);
        }
        // A turn that emitted only logs is followed by another tick.
        while self.session.cursor.is_some() {
            let batches = self.session.turn(self.client, &tick(), tick_metadata)?;
            let mut next_cursor = None;
            let mut data = None;
            for b in batches {
                if is_cursor_batch(&b.batch, &b.metadata) {
                    next_cursor = b.metadata.get(keys::STREAM_STATE).map(str::to_owned);
                } else if data.is_none() {
                    data = Some((b.batch, user_metadata(&b.metadata)));
                } else {
                    self.session.closed = true;
                    return Err(CallError::Protocol(
                        "lock-step violation: a producer turn returned more than one data batch".into(),
                    ));
                }
            }
            self.session.cursor = next_cursor;
            if data.is_some() {
                return Ok(data);
            }
        }
        Ok(None)
    }

    /// Read every remaining batch.
    pub fn collect_all(&mut self) -> Result<Vec<(RecordBatch, Metadata)>, CallError> {
        let mut out = Vec::new();
        while let Some(b) = self.next_batch()? {
            out.push(b);
        }
        Ok(out)
    }

    /// Cancel the stream (best effort; a finished stream sends nothing).
    pub fn cancel(mut self) -> Result<(), CallError> {
        self.session.cancel(self.client);
        Ok(())
    }
}
