//! Producer stream methods and their states, on the typed layer (rows
//! from `rows.rs`, parameters as `#[derive(Params)]` structs, the serde
//! state codec registered by `typed_producer`). `produce_dynamic_schema`
//! stays on the dynamic builder: its output columns are chosen per call.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use serde::{Deserialize, Serialize};
use vgi_rpc::rpc::state_codec::{encode_state, producer_decoder};
use vgi_rpc::rpc::wire::EncodedSchema;
use vgi_rpc::typed::{Producer, Row, Rows, RpcResult, Value};
use vgi_rpc::{
    CallContext, LogLevel, Metadata, MethodDef, OutputCollector, Params, ProducerState, RpcError, StreamResult,
};

use super::cancel_probe::{self, Counter};
use super::pyfmt::py_float;
use super::rich_header::build_rich_header;
use super::rows::{ConformanceHeader, CounterRow, RichHeader, TickSeen};
use super::sticky::SessionCounterProducer;
use super::types::{dynamic_schema, RICH_HEADER};

/// The label every annotated batch carries (deliberately non-ASCII).
pub const ANNOTATED_EMIT_LABEL: &str = "\u{00fc}n\u{00ef}code-\u{03bb}";

/// A lone `count` parameter.
#[derive(Params)]
struct CountArg {
    count: i64,
}

/// `produce_large_batches(rows_per_batch, batch_count)`.
#[derive(Params)]
struct LargeArgs {
    rows_per_batch: i64,
    batch_count: i64,
}

/// `produce_annotated_batches(count, rows_per_batch)`.
#[derive(Params)]
struct AnnotatedArgs {
    count: i64,
    rows_per_batch: i64,
}

/// `produce_error_mid_stream(emit_before_error)`.
#[derive(Params)]
struct ErrorAfterArg {
    emit_before_error: i64,
}

/// `produce_oversized_batch(rows_per_batch)`, `exchange_oversized(rows_per_batch)`.
#[derive(Params)]
pub(super) struct RowsPerBatchArg {
    pub(super) rows_per_batch: i64,
}

/// `produce_with_rich_header(seed, count)`.
#[derive(Params)]
struct SeedCountArgs {
    seed: i64,
    count: i64,
}

/// `{index, value}` batches of one row, `count` of them; optional log per batch.
#[derive(Serialize, Deserialize)]
struct Counting {
    current: i64,
    count: i64,
    log: bool,
}

impl Counting {
    fn new(count: i64, log: bool) -> Self {
        Counting { current: 0, count, log }
    }
}

impl Producer for Counting {
    type Row = CounterRow;

    fn produce(&mut self, out: &mut Rows<'_, CounterRow>, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.current >= self.count {
            return out.finish();
        }
        if self.log {
            out.log(LogLevel::Info, format!("producing batch {}", self.current));
        }
        out.emit(CounterRow::run(self.current, 1))?;
        self.current += 1;
        Ok(())
    }
}

/// `batch_count` batches of `rows_per_batch` rows.
#[derive(Serialize, Deserialize)]
struct Large {
    current: i64,
    rows: i64,
    batches: i64,
}

impl Producer for Large {
    type Row = CounterRow;

    fn produce(&mut self, out: &mut Rows<'_, CounterRow>, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.current >= self.batches {
            return out.finish();
        }
        // Columns built directly: these batches reach 256 MiB, and a
        // `Vec<CounterRow>` beside the arrays would double the peak.
        out.emit_columns(CounterRow::columns(self.current * self.rows, self.rows))?;
        self.current += 1;
        Ok(())
    }
}

/// Reports the `vgi.conformance.tick` request metadata each tick carried.
#[derive(Serialize, Deserialize)]
struct TickMetadata {
    current: i64,
    count: i64,
}

impl Producer for TickMetadata {
    type Row = TickSeen;

    fn produce(&mut self, out: &mut Rows<'_, TickSeen>, ctx: &CallContext) -> Result<(), RpcError> {
        let seen = ctx.request_metadata().get("vgi.conformance.tick").unwrap_or("").to_owned();
        out.emit(vec![TickSeen { index: Some(self.current), seen: Some(seen) }])?;
        self.current += 1;
        if self.current >= self.count {
            out.finish()?;
        }
        Ok(())
    }
}

/// Batches with custom metadata on each.
#[derive(Serialize, Deserialize)]
struct Annotated {
    current: i64,
    count: i64,
    rows: i64,
}

impl Producer for Annotated {
    type Row = Value<Option<i64>>;

    fn produce(&mut self, out: &mut Rows<'_, Self::Row>, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.current >= self.count {
            return out.finish();
        }
        let base = self.current * 1_000_000;
        let md = Metadata::new()
            .with("conformance.batch_index", self.current.to_string())
            .with("conformance.batch_total", self.count.to_string())
            .with("conformance.emit_label", ANNOTATED_EMIT_LABEL);
        out.emit_with_metadata((base..base + self.rows).map(|v| Value(Some(v))).collect(), md)?;
        self.current += 1;
        Ok(())
    }
}

/// `limit` batches, then an error.
#[derive(Serialize, Deserialize)]
struct ErrorAfter {
    current: i64,
    limit: i64,
}

impl Producer for ErrorAfter {
    type Row = CounterRow;

    fn produce(&mut self, out: &mut Rows<'_, CounterRow>, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.current >= self.limit {
            return Err(RpcError::runtime_error(format!("intentional error after {} batches", self.limit)));
        }
        out.emit(CounterRow::run(self.current, 1))?;
        self.current += 1;
        Ok(())
    }
}

/// Emits one batch of `rows` rows then finishes (single and oversized producers).
#[derive(Serialize, Deserialize)]
struct Once {
    rows: i64,
    emitted: bool,
}

impl Producer for Once {
    type Row = CounterRow;

    fn produce(&mut self, out: &mut Rows<'_, CounterRow>, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.emitted {
            return out.finish();
        }
        self.emitted = true;
        out.emit(CounterRow::run(0, self.rows))
    }
}

/// Never finishes by itself; counts produce and cancel calls.
#[derive(Serialize, Deserialize)]
struct Cancellable {
    current: i64,
}

impl Producer for Cancellable {
    type Row = CounterRow;

    fn produce(&mut self, out: &mut Rows<'_, CounterRow>, _ctx: &CallContext) -> Result<(), RpcError> {
        cancel_probe::bump(Counter::Produce);
        out.emit(CounterRow::run(self.current, 1))?;
        self.current += 1;
        Ok(())
    }

    fn on_cancel(&mut self, _ctx: &CallContext) {
        cancel_probe::bump(Counter::OnCancel);
    }
}

/// `produce_dynamic_schema`'s state: its columns depend on the call.
#[derive(Serialize, Deserialize)]
struct Dynamic {
    current: i64,
    count: i64,
    strings: bool,
    floats: bool,
}

impl ProducerState for Dynamic {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn produce(&mut self, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.current >= self.count {
            return out.finish();
        }
        let mut cols: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![self.current]))];
        if self.strings {
            cols.push(Arc::new(StringArray::from(vec![format!("row-{}", self.current)])));
        }
        if self.floats {
            cols.push(Arc::new(Float64Array::from(vec![self.current as f64 * 1.5])));
        }
        out.emit(RecordBatch::try_new(out.schema().clone(), cols)?)?;
        self.current += 1;
        Ok(())
    }
}

/// `produce_dynamic_schema`: output columns chosen by the call's flags, so
/// the output schema exists only at run time (the dynamic builder's case).
fn produce_dynamic_schema() -> MethodDef {
    MethodDef::builder("produce_dynamic_schema")
        .param("seed", DataType::Int64, false)
        .param("count", DataType::Int64, false)
        .param("include_strings", DataType::Boolean, false)
        .param("include_floats", DataType::Boolean, false)
        .header(RICH_HEADER.schema.clone())
        .state_decoder(producer_decoder::<Dynamic>())
        .producer(|p, _| {
            let (strings, floats) = (p.bool("include_strings")?, p.bool("include_floats")?);
            let schema = dynamic_schema(strings, floats);
            let state = Dynamic { current: 0, count: p.i64("count")?, strings, floats };
            let header = RichHeader::to_batch(vec![build_rich_header(p.i64("seed")?)])?;
            Ok(StreamResult::producer(Arc::new(EncodedSchema::new(schema)), state).with_header(header))
        })
}

/// Every producer method.
pub fn methods() -> Vec<MethodDef> {
    vec![
        MethodDef::builder("produce_n").typed_producer(|p: CountArg, _: &CallContext| -> RpcResult<Counting> {
            Ok(Counting::new(p.count, false))
        }),
        MethodDef::builder("produce_tick_metadata").typed_producer(
            |p: CountArg, _: &CallContext| -> RpcResult<TickMetadata> {
                Ok(TickMetadata { current: 0, count: p.count })
            },
        ),
        MethodDef::builder("produce_empty")
            .typed_producer(|(): (), _: &CallContext| -> RpcResult<Counting> { Ok(Counting::new(0, false)) }),
        MethodDef::builder("produce_single")
            .typed_producer(|(): (), _: &CallContext| -> RpcResult<Once> { Ok(Once { rows: 1, emitted: false }) }),
        MethodDef::builder("produce_large_batches").typed_producer(
            |p: LargeArgs, _: &CallContext| -> RpcResult<Large> {
                Ok(Large { current: 0, rows: p.rows_per_batch.max(0), batches: p.batch_count })
            },
        ),
        MethodDef::builder("produce_annotated_batches").typed_producer(
            |p: AnnotatedArgs, _: &CallContext| -> RpcResult<Annotated> {
                Ok(Annotated { current: 0, count: p.count, rows: p.rows_per_batch.max(0) })
            },
        ),
        MethodDef::builder("produce_with_logs")
            .typed_producer(|p: CountArg, _: &CallContext| -> RpcResult<Counting> { Ok(Counting::new(p.count, true)) }),
        MethodDef::builder("produce_error_mid_stream").typed_producer(
            |p: ErrorAfterArg, _: &CallContext| -> RpcResult<ErrorAfter> {
                Ok(ErrorAfter { current: 0, limit: p.emit_before_error })
            },
        ),
        MethodDef::builder("produce_error_on_init").typed_producer(|(): (), _: &CallContext| -> RpcResult<Counting> {
            Err(RpcError::runtime_error("intentional init error"))
        }),
        MethodDef::builder("produce_oversized_batch").typed_producer(
            |p: RowsPerBatchArg, _: &CallContext| -> RpcResult<Once> {
                Ok(Once { rows: p.rows_per_batch.max(0), emitted: false })
            },
        ),
        MethodDef::builder("produce_with_header").typed_producer_with_header(
            |p: CountArg, _: &CallContext| -> RpcResult<(ConformanceHeader, Counting)> {
                let header = ConformanceHeader {
                    total_expected: p.count,
                    description: format!("producing {} batches", p.count),
                };
                Ok((header, Counting::new(p.count, false)))
            },
        ),
        MethodDef::builder("produce_with_header_and_logs").typed_producer_with_header(
            |p: CountArg, ctx: &CallContext| -> RpcResult<(ConformanceHeader, Counting)> {
                ctx.client_log(LogLevel::Info, "stream init log");
                let header = ConformanceHeader {
                    total_expected: p.count,
                    description: format!("producing {} with logs", p.count),
                };
                Ok((header, Counting::new(p.count, false)))
            },
        ),
        MethodDef::builder("cancellable_producer")
            .typed_producer(|(): (), _: &CallContext| -> RpcResult<Cancellable> { Ok(Cancellable { current: 0 }) }),
        MethodDef::builder("produce_with_rich_header").typed_producer_with_header(
            |p: SeedCountArgs, _: &CallContext| -> RpcResult<(RichHeader, Counting)> {
                Ok((build_rich_header(p.seed), Counting::new(p.count, false)))
            },
        ),
        produce_dynamic_schema(),
        MethodDef::builder("stream_session_counter").typed_producer(
            |p: CountArg, _: &CallContext| -> RpcResult<SessionCounterProducer> {
                Ok(SessionCounterProducer { count: p.count, current: 0 })
            },
        ),
    ]
}

/// Python-style float formatting, re-exported for the exchange headers.
pub fn describe_factor(factor: f64) -> String {
    format!("scale by {}", py_float(factor))
}
