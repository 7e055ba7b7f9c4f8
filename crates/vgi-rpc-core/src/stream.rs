//! Stream methods: producer and exchange states, the stream a handler
//! returns, and the input batches a state receives.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use vgi_rpc_wire::{EncodedSchema, Metadata};

use crate::{CallContext, OutputCollector, RpcError};

/// A server-driven stream: one `produce` call per client tick.
pub trait ProducerState: Send {
    /// Emit exactly one data batch (plus any logs), or call `out.finish()`.
    fn produce(&mut self, out: &mut OutputCollector, ctx: &CallContext) -> Result<(), RpcError>;

    /// The client cancelled the stream. Failures here are swallowed.
    fn on_cancel(&mut self, _ctx: &CallContext) {}

    /// Serialize the state for resumption on another worker (HTTP).
    fn encode_state(&self) -> Option<Vec<u8>> {
        None
    }

    /// Most data batches to emit per HTTP response before handing back a
    /// continuation; `None` lets the transport decide.
    fn max_batches_per_response(&self) -> Option<usize> {
        None
    }
}

/// A lockstep stream: one output batch per input batch.
pub trait ExchangeState: Send {
    /// Transform one input batch into exactly one output batch (plus logs).
    fn exchange(&mut self, input: &InputBatch, out: &mut OutputCollector, ctx: &CallContext) -> Result<(), RpcError>;

    /// The client cancelled the stream. Failures here are swallowed.
    fn on_cancel(&mut self, _ctx: &CallContext) {}

    /// Serialize the state for resumption on another worker (HTTP).
    fn encode_state(&self) -> Option<Vec<u8>> {
        None
    }
}

/// An input batch with the custom metadata it arrived with.
#[derive(Debug, Clone)]
pub struct InputBatch {
    /// The batch, coerced to the stream's declared input schema.
    pub batch: RecordBatch,
    /// The application's metadata on that batch.
    pub metadata: Metadata,
}

/// The state half of a stream.
pub enum StreamState {
    /// Producer (input is the empty schema; ticks drive it).
    Producer(Box<dyn ProducerState>),
    /// Exchange with its declared input schema.
    Exchange {
        /// Schema every input batch must have.
        input_schema: SchemaRef,
        /// The exchange state.
        state: Box<dyn ExchangeState>,
    },
}

/// A stream header: one row on the method's header schema, optionally with metadata.
#[derive(Debug, Clone)]
pub struct HeaderBatch {
    /// The header row, on the method's declared header schema.
    pub batch: RecordBatch,
    /// Custom metadata sent with the header batch.
    pub metadata: Metadata,
}

/// What a stream handler returns.
pub struct StreamResult {
    pub(crate) output_schema: Arc<EncodedSchema>,
    pub(crate) state: StreamState,
    pub(crate) header: Option<HeaderBatch>,
}

impl StreamResult {
    /// A producer stream emitting batches on `output_schema`.
    pub fn producer(output_schema: impl Into<Arc<EncodedSchema>>, state: impl ProducerState + 'static) -> Self {
        Self { output_schema: output_schema.into(), state: StreamState::Producer(Box::new(state)), header: None }
    }

    /// An exchange stream reading `input_schema` and emitting `output_schema`.
    pub fn exchange(
        output_schema: impl Into<Arc<EncodedSchema>>,
        input_schema: SchemaRef,
        state: impl ExchangeState + 'static,
    ) -> Self {
        Self {
            output_schema: output_schema.into(),
            state: StreamState::Exchange { input_schema, state: Box::new(state) },
            header: None,
        }
    }

    /// A stream from an already-boxed state.
    pub fn from_state(output_schema: impl Into<Arc<EncodedSchema>>, state: StreamState) -> Self {
        Self { output_schema: output_schema.into(), state, header: None }
    }

    /// Attach the header batch (for methods that declare a header).
    pub fn with_header(mut self, batch: RecordBatch) -> Self {
        self.header = Some(HeaderBatch { batch, metadata: Metadata::new() });
        self
    }

    /// Attach a header batch carrying metadata.
    pub fn with_header_metadata(mut self, batch: RecordBatch, metadata: Metadata) -> Self {
        self.header = Some(HeaderBatch { batch, metadata });
        self
    }

    /// The output schema.
    pub fn output_schema(&self) -> &Arc<EncodedSchema> {
        &self.output_schema
    }

    /// The state.
    pub fn state(&self) -> &StreamState {
        &self.state
    }

    /// Split into parts (for transports that drive streams themselves).
    pub fn into_parts(self) -> (Arc<EncodedSchema>, StreamState, Option<HeaderBatch>) {
        (self.output_schema, self.state, self.header)
    }
}
