//! [`HttpClient`] as a core [`RpcClient`], so fixtures, benches and
//! generated typed clients run over HTTP exactly as over a pipe.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use vgi_rpc_core::typed::{ExchangeStream, ProducerStream, RpcClient};
use vgi_rpc_core::wire::log::LogMessage;
use vgi_rpc_core::wire::Metadata;
use vgi_rpc_core::{CallError, StreamOptions, UnaryResponse};

use super::{HttpClient, HttpExchange, HttpProducer};

impl RpcClient for HttpClient {
    fn unary(
        &mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        extra: &Metadata,
    ) -> Result<UnaryResponse, CallError> {
        self.call_with(protocol, method, params, extra)
    }
    fn open_producer<'a>(
        &'a mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<Box<dyn ProducerStream + 'a>, CallError> {
        Ok(Box::new(self.producer(protocol, method, params, options)?))
    }
    fn open_exchange<'a>(
        &'a mut self,
        protocol: &str,
        method: &str,
        params: &RecordBatch,
        options: &StreamOptions,
    ) -> Result<Box<dyn ExchangeStream + 'a>, CallError> {
        Ok(Box::new(self.exchange(protocol, method, params, options)?))
    }
    fn set_protocol_version(&mut self, protocol: &str, version: &str) {
        HttpClient::set_protocol_version(self, protocol, version);
    }
}

impl ProducerStream for HttpProducer<'_> {
    fn header(&self) -> Option<&(RecordBatch, Metadata)> {
        HttpProducer::header(self)
    }
    fn logs(&self) -> &[LogMessage] {
        HttpProducer::logs(self)
    }
    fn next_batch_with(&mut self, tick_metadata: &Metadata) -> Result<Option<(RecordBatch, Metadata)>, CallError> {
        HttpProducer::next_batch_with(self, tick_metadata)
    }
    /// HTTP streams hold no server resources between requests: stopping
    /// early only drops the session.
    fn close(self: Box<Self>) -> Result<(), CallError> {
        Ok(())
    }
    fn cancel(self: Box<Self>) -> Result<(), CallError> {
        HttpProducer::cancel(*self)
    }
}

impl ExchangeStream for HttpExchange<'_> {
    fn header(&self) -> Option<&(RecordBatch, Metadata)> {
        HttpExchange::header(self)
    }
    fn logs(&self) -> &[LogMessage] {
        HttpExchange::logs(self)
    }
    fn exchange_with(
        &mut self,
        input: &RecordBatch,
        metadata: &Metadata,
    ) -> Result<(RecordBatch, Metadata), CallError> {
        HttpExchange::exchange_with(self, input, metadata)
    }
    fn close(self: Box<Self>, _input_schema: &SchemaRef) -> Result<(), CallError> {
        HttpExchange::close(*self)
    }
    fn cancel(self: Box<Self>, _input_schema: &SchemaRef) -> Result<(), CallError> {
        HttpExchange::cancel(*self)
    }
}
