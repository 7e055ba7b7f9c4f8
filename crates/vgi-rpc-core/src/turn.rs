//! One stream turn: hand a tick or an input batch to the stream state and
//! collect what it emits. The pipe loop and stateless (HTTP) turns share it.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use vgi_rpc_wire::Metadata;

use crate::output::conform;
use crate::stream::{InputBatch, StreamState};
use crate::{CallContext, OutputCollector, RpcError};

/// Reconcile an input batch with the declared input schema: reorder and
/// cast compatible columns; refuse a different field set.
pub(crate) fn coerce_input(batch: RecordBatch, target: &SchemaRef) -> Result<RecordBatch, RpcError> {
    if batch.schema_ref().fields() == target.fields() {
        return Ok(batch);
    }
    let mismatch = || {
        RpcError::type_error(format!(
            "Input schema mismatch: expected {}, got {}",
            crate::dispatch::format_schema(target),
            crate::dispatch::format_schema(batch.schema_ref())
        ))
    };
    let same_names = batch.num_columns() == target.fields().len()
        && target.fields().iter().all(|f| batch.schema_ref().field_with_name(f.name()).is_ok());
    if !same_names {
        return Err(mismatch());
    }
    conform(batch.clone(), target).map_err(|_| mismatch())
}

/// Run one produce / exchange call on `state`. On success the collector
/// holds the turn's logs and data batch (or the producer finished).
pub(crate) fn run_turn(
    state: &mut StreamState,
    collector: &mut OutputCollector,
    batch: RecordBatch,
    metadata: Metadata,
    ctx: &CallContext,
) -> Result<(), RpcError> {
    collector.reset();
    match state {
        StreamState::Producer(s) => {
            if batch.num_columns() > 0 {
                // A tick is a batch on the empty schema; anything else is refused.
                coerce_input(batch, &SchemaRef::new(arrow_schema::Schema::empty()))?;
            }
            s.produce(collector, ctx)?
        }
        StreamState::Exchange { input_schema, state } => {
            let batch = coerce_input(batch, input_schema)?;
            state.exchange(&InputBatch { batch, metadata }, collector, ctx)?
        }
    }
    if !collector.is_finished() {
        collector.validate()?;
    }
    Ok(())
}

/// Tell the state its stream was cancelled (failures are the state's to swallow).
pub(crate) fn cancel(state: &mut StreamState, ctx: &CallContext) {
    match state {
        StreamState::Producer(s) => s.on_cancel(ctx),
        StreamState::Exchange { state, .. } => state.on_cancel(ctx),
    }
}
