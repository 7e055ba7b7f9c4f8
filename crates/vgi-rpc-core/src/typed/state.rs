//! Typed stream states: [`Producer`] and [`Exchange`] emit rows of a
//! [`Row`] type through [`Rows`], and are resumable by construction (the
//! serde bound is the state codec that HTTP continuations use).

use std::marker::PhantomData;

use arrow_array::ArrayRef;
use serde::de::DeserializeOwned;
use serde::Serialize;
use vgi_rpc_wire::{LogLevel, Metadata};

use super::row::columns_batch;
use super::Row;
use crate::state_codec::encode_state;
use crate::stream::{ExchangeState, InputBatch, ProducerState};
use crate::{CallContext, OutputCollector, RpcError};

/// A server-driven stream of `Row`s: one [`Producer::produce`] per tick.
///
/// The serde bounds make every state resumable: over HTTP the state
/// travels in the continuation token and is rebuilt on whichever worker
/// serves the next tick.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use vgi_rpc_core::typed::{Producer, Rows, Value};
/// use vgi_rpc_core::{CallContext, RpcError};
///
/// #[derive(Serialize, Deserialize)]
/// struct Countdown { left: i64 }
///
/// impl Producer for Countdown {
///     type Row = Value<i64>; // one column named `value`
///     fn produce(&mut self, out: &mut Rows<'_, Value<i64>>, _ctx: &CallContext) -> Result<(), RpcError> {
///         if self.left == 0 {
///             return out.finish();
///         }
///         self.left -= 1;
///         out.emit(vec![Value(self.left)])
///     }
/// }
/// ```
pub trait Producer: Serialize + DeserializeOwned + Send + 'static {
    /// One output row.
    type Row: Row;

    /// Emit one batch of rows (plus any logs), or call [`Rows::finish`].
    fn produce(&mut self, out: &mut Rows<'_, Self::Row>, ctx: &CallContext) -> Result<(), RpcError>;

    /// The client cancelled the stream.
    fn on_cancel(&mut self, _ctx: &CallContext) {}

    /// Most data batches per HTTP response; `None` lets the transport decide.
    fn max_batches_per_response(&self) -> Option<usize> {
        None
    }
}

/// A lockstep stream: each batch of `Input` rows answers with one batch of
/// `Output` rows. Resumable by construction, as [`Producer`].
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use vgi_rpc_core::typed::{Exchange, Input, Rows, Value};
/// use vgi_rpc_core::{CallContext, MethodDef, RpcError};
///
/// /// Running total of the values sent so far.
/// #[derive(Serialize, Deserialize)]
/// struct Total { sum: f64 }
///
/// impl Exchange for Total {
///     type Input = Value<f64>;
///     type Output = Value<f64>;
///     fn exchange(&mut self, input: Input<Value<f64>>, out: &mut Rows<'_, Value<f64>>, _: &CallContext) -> Result<(), RpcError> {
///         let sums = input.rows.into_iter().map(|v| { self.sum += v.0; Value(self.sum) }).collect();
///         out.emit(sums)
///     }
/// }
///
/// let method = MethodDef::builder("total").typed_exchange(|(): (), _: &CallContext| Ok(Total { sum: 0.0 }));
/// assert!(method.state_decoder().is_some()); // resumable over HTTP without further code
/// ```
pub trait Exchange: Serialize + DeserializeOwned + Send + 'static {
    /// One input row.
    type Input: Row;
    /// One output row.
    type Output: Row;

    /// Answer one input batch with exactly one output batch.
    fn exchange(
        &mut self,
        input: Input<Self::Input>,
        out: &mut Rows<'_, Self::Output>,
        ctx: &CallContext,
    ) -> Result<(), RpcError>;

    /// The client cancelled the stream.
    fn on_cancel(&mut self, _ctx: &CallContext) {}
}

/// One exchange input: its rows and the metadata the batch arrived with.
#[derive(Debug, Clone)]
pub struct Input<R> {
    /// The rows.
    pub rows: Vec<R>,
    /// The application's metadata on the batch.
    pub metadata: Metadata,
}

/// Where a typed stream emits: rows of `R` on the method's output schema.
pub struct Rows<'a, R> {
    out: &'a mut OutputCollector,
    _row: PhantomData<fn(R)>,
}

impl<'a, R: Row> Rows<'a, R> {
    /// Wrap a turn's collector.
    pub fn new(out: &'a mut OutputCollector) -> Self {
        Self { out, _row: PhantomData }
    }

    /// Emit the turn's batch.
    pub fn emit(&mut self, rows: Vec<R>) -> Result<(), RpcError> {
        self.out.emit(R::to_batch(rows)?)
    }

    /// Emit the turn's batch with custom metadata.
    pub fn emit_with_metadata(&mut self, rows: Vec<R>, metadata: Metadata) -> Result<(), RpcError> {
        self.out.emit_with_metadata(R::to_batch(rows)?, metadata)
    }

    /// Emit columns built directly (no per-row structs: for large batches,
    /// where a `Vec<R>` would hold the data a second time). They must be
    /// `R`'s columns, in order and with `R`'s types.
    pub fn emit_columns(&mut self, columns: Vec<ArrayRef>) -> Result<(), RpcError> {
        let len = columns.first().map_or(0, |c| c.len());
        self.out.emit(columns_batch::<R>(columns, len)?)
    }

    /// End a producer stream.
    pub fn finish(&mut self) -> Result<(), RpcError> {
        self.out.finish()
    }

    /// Log a message to the client.
    pub fn log(&mut self, level: LogLevel, message: impl Into<String>) {
        self.out.client_log(level, message);
    }

    /// The dynamic collector underneath.
    pub fn collector(&mut self) -> &mut OutputCollector {
        self.out
    }
}

/// A typed producer seen as a dynamic [`ProducerState`].
pub(crate) struct ProducerAdapter<S>(pub(crate) S);

impl<S: Producer> ProducerState for ProducerAdapter<S> {
    fn produce(&mut self, out: &mut OutputCollector, ctx: &CallContext) -> Result<(), RpcError> {
        self.0.produce(&mut Rows::new(out), ctx)
    }
    fn on_cancel(&mut self, ctx: &CallContext) {
        self.0.on_cancel(ctx);
    }
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(&self.0).ok()
    }
    fn max_batches_per_response(&self) -> Option<usize> {
        self.0.max_batches_per_response()
    }
}

/// A typed exchange seen as a dynamic [`ExchangeState`].
pub(crate) struct ExchangeAdapter<S>(pub(crate) S);

impl<S: Exchange> ExchangeState for ExchangeAdapter<S> {
    fn exchange(&mut self, input: &InputBatch, out: &mut OutputCollector, ctx: &CallContext) -> Result<(), RpcError> {
        let rows = S::Input::from_batch(&input.batch)?;
        self.0.exchange(Input { rows, metadata: input.metadata.clone() }, &mut Rows::new(out), ctx)
    }
    fn on_cancel(&mut self, ctx: &CallContext) {
        self.0.on_cancel(ctx);
    }
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(&self.0).ok()
    }
}
