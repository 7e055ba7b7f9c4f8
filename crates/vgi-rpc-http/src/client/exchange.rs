//! An exchange stream over HTTP: each input batch is one `/exchange`
//! request carrying both state tokens, answered by one output batch whose
//! metadata holds the next cursor.

use arrow_array::RecordBatch;
use vgi_rpc_core::wire::log::LogMessage;
use vgi_rpc_core::wire::{keys, Metadata};
use vgi_rpc_core::CallError;

use super::init::user_metadata;
use super::session::Session;
use super::HttpClient;

/// A running exchange stream.
pub struct HttpExchange<'c> {
    client: &'c mut HttpClient,
    session: Session,
}

impl<'c> HttpExchange<'c> {
    pub(crate) fn new(client: &'c mut HttpClient, session: Session) -> Self {
        Self { client, session }
    }

    /// The header batch, for methods that declare one.
    pub fn header(&self) -> Option<&(RecordBatch, Metadata)> {
        self.session.header.as_ref()
    }

    /// Logs received so far.
    pub fn logs(&self) -> &[LogMessage] {
        &self.session.logs
    }

    /// Whether further exchanges are possible.
    pub fn is_open(&self) -> bool {
        !self.session.closed && self.session.cursor.is_some()
    }

    /// Send one input batch and read its output batch.
    pub fn exchange(&mut self, input: &RecordBatch) -> Result<(RecordBatch, Metadata), CallError> {
        self.exchange_with(input, &Metadata::new())
    }

    /// Send one input batch with metadata and read its output batch. An
    /// output batch without a new cursor ends the stream.
    pub fn exchange_with(
        &mut self,
        input: &RecordBatch,
        metadata: &Metadata,
    ) -> Result<(RecordBatch, Metadata), CallError> {
        let mut batches = self.session.turn(self.client, input, metadata)?.into_iter();
        let (Some(output), None) = (batches.next(), batches.next()) else {
            self.session.closed = true;
            return Err(CallError::Protocol("an exchange turn must return exactly one output batch".into()));
        };
        self.session.cursor = output.metadata.get(keys::STREAM_STATE).map(str::to_owned);
        Ok((output.batch, user_metadata(&output.metadata)))
    }

    /// End the stream. HTTP streams hold no server resources between
    /// requests, so this only closes the session locally.
    pub fn close(mut self) -> Result<(), CallError> {
        self.session.closed = true;
        Ok(())
    }

    /// Cancel the stream (best effort).
    pub fn cancel(mut self) -> Result<(), CallError> {
        self.session.cancel(self.client);
        Ok(())
    }
}
