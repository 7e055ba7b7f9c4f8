//! Producer stream methods and their states.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use serde::{Deserialize, Serialize};
use vgi_rpc::rpc::state_codec::{encode_state, producer_decoder};
use vgi_rpc::rpc::wire::EncodedSchema;
use vgi_rpc::{CallContext, LogLevel, Metadata, MethodDef, OutputCollector, ProducerState, RpcError, StreamResult};

use super::cancel_probe::{self, Counter};
use super::pyfmt::py_float;
use super::rich_header::build_rich_header;
use super::sticky::SessionCounterProducer;
use super::types::{dynamic_schema, CONFORMANCE_HEADER, COUNTER, RICH_HEADER, TICK_SEEN, VALUE_I64};

/// The label every annotated batch carries (deliberately non-ASCII).
pub const ANNOTATED_EMIT_LABEL: &str = "\u{00fc}n\u{00ef}code-\u{03bb}";

fn counter_batch(start: i64, rows: i64) -> Result<RecordBatch, RpcError> {
    let index = Int64Array::from_iter_values(start..start + rows);
    let value = Int64Array::from_iter_values((start..start + rows).map(|v| v * 10));
    Ok(RecordBatch::try_new(COUNTER.schema.clone(), vec![Arc::new(index), Arc::new(value)])?)
}

/// `{index, value}` batches of one row, `count` of them; optional log per batch.
#[derive(Serialize, Deserialize)]
struct Counting {
    current: i64,
    count: i64,
    log: bool,
}

impl ProducerState for Counting {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn produce(&mut self, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.current >= self.count {
            return out.finish();
        }
        if self.log {
            out.client_log(LogLevel::Info, format!("producing batch {}", self.current));
        }
        out.emit(counter_batch(self.current, 1)?)?;
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

impl ProducerState for Large {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn produce(&mut self, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.current >= self.batches {
            return out.finish();
        }
        out.emit(counter_batch(self.current * self.rows, self.rows)?)?;
        self.current += 1;
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct TickMetadata {
    current: i64,
    count: i64,
}

impl ProducerState for TickMetadata {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn produce(&mut self, out: &mut OutputCollector, ctx: &CallContext) -> Result<(), RpcError> {
        let seen = ctx.request_metadata().get("vgi.conformance.tick").unwrap_or("").to_owned();
        let batch = RecordBatch::try_new(
            TICK_SEEN.schema.clone(),
            vec![Arc::new(Int64Array::from(vec![self.current])), Arc::new(StringArray::from(vec![seen]))],
        )?;
        out.emit(batch)?;
        self.current += 1;
        if self.current >= self.count {
            out.finish()?;
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Annotated {
    current: i64,
    count: i64,
    rows: i64,
}

impl ProducerState for Annotated {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn produce(&mut self, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.current >= self.count {
            return out.finish();
        }
        let base = self.current * 1_000_000;
        let values = Int64Array::from_iter_values(base..base + self.rows);
        let batch = RecordBatch::try_new(VALUE_I64.schema.clone(), vec![Arc::new(values)])?;
        let md = Metadata::new()
            .with("conformance.batch_index", self.current.to_string())
            .with("conformance.batch_total", self.count.to_string())
            .with("conformance.emit_label", ANNOTATED_EMIT_LABEL);
        out.emit_with_metadata(batch, md)?;
        self.current += 1;
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct ErrorAfter {
    current: i64,
    limit: i64,
}

impl ProducerState for ErrorAfter {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn produce(&mut self, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.current >= self.limit {
            return Err(RpcError::runtime_error(format!("intentional error after {} batches", self.limit)));
        }
        out.emit(counter_batch(self.current, 1)?)?;
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

impl ProducerState for Once {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn produce(&mut self, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.emitted {
            return out.finish();
        }
        self.emitted = true;
        out.emit(counter_batch(0, self.rows)?)
    }
}

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

#[derive(Serialize, Deserialize)]
struct Cancellable {
    current: i64,
}

impl ProducerState for Cancellable {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn produce(&mut self, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        cancel_probe::bump(Counter::Produce);
        out.emit(counter_batch(self.current, 1)?)?;
        self.current += 1;
        Ok(())
    }

    fn on_cancel(&mut self, _ctx: &CallContext) {
        cancel_probe::bump(Counter::OnCancel);
    }
}

fn conformance_header(total: i64, description: String) -> Result<RecordBatch, RpcError> {
    Ok(RecordBatch::try_new(
        CONFORMANCE_HEADER.schema.clone(),
        vec![Arc::new(Int64Array::from(vec![total])), Arc::new(StringArray::from(vec![description]))],
    )?)
}

fn counter_out() -> Arc<EncodedSchema> {
    COUNTER.encoded.clone()
}

/// Every producer method.
pub fn methods() -> Vec<MethodDef> {
    let i64p = DataType::Int64;
    vec![
        MethodDef::builder("produce_n")
            .param("count", i64p.clone(), false)
            .state_decoder(producer_decoder::<Counting>())
            .producer(|p, _| {
                Ok(StreamResult::producer(counter_out(), Counting { current: 0, count: p.i64("count")?, log: false }))
            }),
        MethodDef::builder("produce_tick_metadata")
            .param("count", i64p.clone(), false)
            .state_decoder(producer_decoder::<TickMetadata>())
            .producer(|p, _| {
                Ok(StreamResult::producer(
                    TICK_SEEN.encoded.clone(),
                    TickMetadata { current: 0, count: p.i64("count")? },
                ))
            }),
        MethodDef::builder("produce_empty")
            .state_decoder(producer_decoder::<Counting>())
            .producer(|_, _| Ok(StreamResult::producer(counter_out(), Counting { current: 0, count: 0, log: false }))),
        MethodDef::builder("produce_single")
            .state_decoder(producer_decoder::<Once>())
            .producer(|_, _| Ok(StreamResult::producer(counter_out(), Once { rows: 1, emitted: false }))),
        MethodDef::builder("produce_large_batches")
            .param("rows_per_batch", i64p.clone(), false)
            .param("batch_count", i64p.clone(), false)
            .state_decoder(producer_decoder::<Large>())
            .producer(|p, _| {
                Ok(StreamResult::producer(
                    counter_out(),
                    Large { current: 0, rows: p.i64("rows_per_batch")?.max(0), batches: p.i64("batch_count")? },
                ))
            }),
        MethodDef::builder("produce_annotated_batches")
            .param("count", i64p.clone(), false)
            .param("rows_per_batch", i64p.clone(), false)
            .state_decoder(producer_decoder::<Annotated>())
            .producer(|p, _| {
                Ok(StreamResult::producer(
                    VALUE_I64.encoded.clone(),
                    Annotated { current: 0, count: p.i64("count")?, rows: p.i64("rows_per_batch")?.max(0) },
                ))
            }),
        MethodDef::builder("produce_with_logs")
            .param("count", i64p.clone(), false)
            .state_decoder(producer_decoder::<Counting>())
            .producer(|p, _| {
                Ok(StreamResult::producer(counter_out(), Counting { current: 0, count: p.i64("count")?, log: true }))
            }),
        MethodDef::builder("produce_error_mid_stream")
            .param("emit_before_error", i64p.clone(), false)
            .state_decoder(producer_decoder::<ErrorAfter>())
            .producer(|p, _| {
                Ok(StreamResult::producer(counter_out(), ErrorAfter { current: 0, limit: p.i64("emit_before_error")? }))
            }),
        MethodDef::builder("produce_error_on_init")
            .producer(|_, _| Err(RpcError::runtime_error("intentional init error"))),
        MethodDef::builder("produce_oversized_batch")
            .param("rows_per_batch", i64p.clone(), false)
            .state_decoder(producer_decoder::<Once>())
            .producer(|p, _| {
                Ok(StreamResult::producer(
                    counter_out(),
                    Once { rows: p.i64("rows_per_batch")?.max(0), emitted: false },
                ))
            }),
        MethodDef::builder("produce_with_header")
            .param("count", i64p.clone(), false)
            .header(CONFORMANCE_HEADER.schema.clone())
            .state_decoder(producer_decoder::<Counting>())
            .producer(|p, _| {
                let count = p.i64("count")?;
                Ok(StreamResult::producer(counter_out(), Counting { current: 0, count, log: false })
                    .with_header(conformance_header(count, format!("producing {count} batches"))?))
            }),
        MethodDef::builder("produce_with_header_and_logs")
            .param("count", i64p.clone(), false)
            .header(CONFORMANCE_HEADER.schema.clone())
            .state_decoder(producer_decoder::<Counting>())
            .producer(|p, ctx| {
                let count = p.i64("count")?;
                ctx.client_log(LogLevel::Info, "stream init log");
                Ok(StreamResult::producer(counter_out(), Counting { current: 0, count, log: false })
                    .with_header(conformance_header(count, format!("producing {count} with logs"))?))
            }),
        MethodDef::builder("cancellable_producer")
            .state_decoder(producer_decoder::<Cancellable>())
            .producer(|_, _| Ok(StreamResult::producer(counter_out(), Cancellable { current: 0 }))),
        MethodDef::builder("produce_with_rich_header")
            .param("seed", i64p.clone(), false)
            .param("count", i64p.clone(), false)
            .header(RICH_HEADER.schema.clone())
            .state_decoder(producer_decoder::<Counting>())
            .producer(|p, _| {
                Ok(StreamResult::producer(counter_out(), Counting { current: 0, count: p.i64("count")?, log: false })
                    .with_header(build_rich_header(p.i64("seed")?)?))
            }),
        MethodDef::builder("produce_dynamic_schema")
            .param("seed", i64p.clone(), false)
            .param("count", i64p.clone(), false)
            .param("include_strings", DataType::Boolean, false)
            .param("include_floats", DataType::Boolean, false)
            .header(RICH_HEADER.schema.clone())
            .state_decoder(producer_decoder::<Dynamic>())
            .producer(|p, _| {
                let (strings, floats) = (p.bool("include_strings")?, p.bool("include_floats")?);
                let schema = dynamic_schema(strings, floats);
                let state = Dynamic { current: 0, count: p.i64("count")?, strings, floats };
                Ok(StreamResult::producer(Arc::new(EncodedSchema::new(schema)), state)
                    .with_header(build_rich_header(p.i64("seed")?)?))
            }),
        MethodDef::builder("stream_session_counter")
            .param("count", i64p, false)
            .state_decoder(producer_decoder::<SessionCounterProducer>())
            .producer(|p, _| {
                let state = SessionCounterProducer { count: p.i64("count")?, current: 0 };
                Ok(StreamResult::producer(VALUE_I64.encoded.clone(), state))
            }),
    ]
}

/// Python-style float formatting, re-exported for the exchange headers.
pub fn describe_factor(factor: f64) -> String {
    format!("scale by {}", py_float(factor))
}
