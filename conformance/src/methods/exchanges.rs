//! Exchange stream methods and their states.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use serde::{Deserialize, Serialize};
use vgi_rpc::rpc::state_codec::{encode_state, exchange_decoder};
use vgi_rpc::{CallContext, ExchangeState, InputBatch, LogLevel, MethodDef, OutputCollector, RpcError, StreamResult};

use super::cancel_probe::{self, Counter};
use super::producers::describe_factor;
use super::rich_header::build_rich_header;
use super::sticky::SessionCounterExchange;
use super::types::{
    ACCUM, BY_I64, CONFORMANCE_HEADER, COUNTER, EMPTY, INPUT_METADATA, RICH_HEADER, VALUE_F64, VALUE_I64,
};

/// The application key `exchange_input_metadata` reports.
pub const INPUT_METADATA_KEY: &str = "vgi.conformance.input";

fn values(input: &InputBatch) -> Result<&Float64Array, RpcError> {
    input
        .batch
        .column_by_name("value")
        .and_then(|c| c.as_primitive_opt::<Float64Type>())
        .ok_or_else(|| RpcError::type_error("input must carry a float64 'value' column"))
}

#[derive(Serialize, Deserialize)]
struct Scale {
    factor: f64,
}

impl ExchangeState for Scale {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn exchange(&mut self, input: &InputBatch, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        let factor = self.factor;
        let scaled: Float64Array = values(input)?.unary(|v| v * factor);
        out.emit_arrays(vec![Arc::new(scaled)])
    }
}

#[derive(Default, Serialize, Deserialize)]
struct Accumulate {
    running_sum: f64,
    exchange_count: i64,
}

impl ExchangeState for Accumulate {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn exchange(&mut self, input: &InputBatch, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        self.running_sum += values(input)?.iter().flatten().sum::<f64>();
        self.exchange_count += 1;
        out.emit_arrays(vec![
            Arc::new(Float64Array::from(vec![self.running_sum])),
            Arc::new(Int64Array::from(vec![self.exchange_count])),
        ])
    }
}

#[derive(Serialize, Deserialize)]
struct LoggingEcho;

impl ExchangeState for LoggingEcho {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn exchange(&mut self, input: &InputBatch, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        out.client_log(LogLevel::Info, "exchange processing");
        out.client_log(LogLevel::Debug, "exchange debug");
        out.emit(input.batch.clone())
    }
}

#[derive(Serialize, Deserialize)]
struct FailOnNth {
    fail_on: i64,
    count: i64,
}

impl ExchangeState for FailOnNth {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn exchange(&mut self, input: &InputBatch, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        self.count += 1;
        if self.count >= self.fail_on {
            return Err(RpcError::runtime_error(format!("intentional error on exchange {}", self.count)));
        }
        out.emit(input.batch.clone())
    }
}

#[derive(Serialize, Deserialize)]
struct ZeroColumns;

impl ExchangeState for ZeroColumns {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn exchange(&mut self, _input: &InputBatch, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        out.emit(RecordBatch::new_empty(EMPTY.schema.clone()))
    }
}

#[derive(Serialize, Deserialize)]
struct InputMetadata;

impl ExchangeState for InputMetadata {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn exchange(&mut self, input: &InputBatch, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        let seen = input.metadata.get(INPUT_METADATA_KEY).unwrap_or("").to_owned();
        let mut keys: Vec<&str> = input.metadata.iter().map(|(k, _)| k).collect();
        keys.sort_unstable();
        out.emit_arrays(vec![
            Arc::new(StringArray::from(vec![seen])),
            Arc::new(StringArray::from(vec![keys.join(",")])),
        ])
    }
}

#[derive(Serialize, Deserialize)]
struct Oversized {
    rows: i64,
}

impl ExchangeState for Oversized {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn exchange(&mut self, _input: &InputBatch, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        let index = Int64Array::from_iter_values(0..self.rows);
        let value = Int64Array::from_iter_values((0..self.rows).map(|v| v * 10));
        out.emit_arrays(vec![Arc::new(index), Arc::new(value)])
    }
}

#[derive(Serialize, Deserialize)]
struct CancellableEcho;

impl ExchangeState for CancellableEcho {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn exchange(&mut self, input: &InputBatch, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        cancel_probe::bump(Counter::Exchange);
        out.emit(input.batch.clone())
    }

    fn on_cancel(&mut self, _ctx: &CallContext) {
        cancel_probe::bump(Counter::OnCancel);
    }
}

fn scale_stream(factor: f64) -> StreamResult {
    StreamResult::exchange(VALUE_F64.encoded.clone(), VALUE_F64.schema.clone(), Scale { factor })
}

/// Every exchange method.
pub fn methods() -> Vec<MethodDef> {
    vec![
        MethodDef::builder("exchange_scale")
            .param("factor", DataType::Float64, false)
            .state_decoder(exchange_decoder::<Scale>())
            .exchange(|p, _| Ok(scale_stream(p.f64("factor")?))),
        MethodDef::builder("exchange_accumulate").state_decoder(exchange_decoder::<Accumulate>()).exchange(|_, _| {
            Ok(StreamResult::exchange(ACCUM.encoded.clone(), VALUE_F64.schema.clone(), Accumulate::default()))
        }),
        MethodDef::builder("exchange_with_logs").state_decoder(exchange_decoder::<LoggingEcho>()).exchange(|_, _| {
            Ok(StreamResult::exchange(VALUE_F64.encoded.clone(), VALUE_F64.schema.clone(), LoggingEcho))
        }),
        MethodDef::builder("exchange_error_on_nth")
            .param("fail_on", DataType::Int64, false)
            .state_decoder(exchange_decoder::<FailOnNth>())
            .exchange(|p, _| {
                Ok(StreamResult::exchange(
                    VALUE_F64.encoded.clone(),
                    VALUE_F64.schema.clone(),
                    FailOnNth { fail_on: p.i64("fail_on")?, count: 0 },
                ))
            }),
        MethodDef::builder("exchange_zero_columns")
            .state_decoder(exchange_decoder::<ZeroColumns>())
            .exchange(|_, _| Ok(StreamResult::exchange(EMPTY.encoded.clone(), EMPTY.schema.clone(), ZeroColumns))),
        MethodDef::builder("exchange_input_metadata").state_decoder(exchange_decoder::<InputMetadata>()).exchange(
            |_, _| Ok(StreamResult::exchange(INPUT_METADATA.encoded.clone(), VALUE_F64.schema.clone(), InputMetadata)),
        ),
        MethodDef::builder("exchange_error_on_init")
            .exchange(|_, _| Err(RpcError::runtime_error("intentional exchange init error"))),
        MethodDef::builder("exchange_oversized")
            .param("rows_per_batch", DataType::Int64, false)
            .state_decoder(exchange_decoder::<Oversized>())
            .exchange(|p, _| {
                Ok(StreamResult::exchange(
                    COUNTER.encoded.clone(),
                    VALUE_F64.schema.clone(),
                    Oversized { rows: p.i64("rows_per_batch")?.max(0) },
                ))
            }),
        MethodDef::builder("exchange_with_header")
            .param("factor", DataType::Float64, false)
            .header(CONFORMANCE_HEADER.schema.clone())
            .state_decoder(exchange_decoder::<Scale>())
            .exchange(|p, _| {
                let factor = p.f64("factor")?;
                let header = RecordBatch::try_new(
                    CONFORMANCE_HEADER.schema.clone(),
                    vec![
                        Arc::new(Int64Array::from(vec![0])),
                        Arc::new(StringArray::from(vec![describe_factor(factor)])),
                    ],
                )?;
                Ok(scale_stream(factor).with_header(header))
            }),
        MethodDef::builder("cancellable_exchange").state_decoder(exchange_decoder::<CancellableEcho>()).exchange(
            |_, _| Ok(StreamResult::exchange(VALUE_F64.encoded.clone(), VALUE_F64.schema.clone(), CancellableEcho)),
        ),
        MethodDef::builder("exchange_cast_compatible")
            .state_decoder(exchange_decoder::<Scale>())
            .exchange(|_, _| Ok(scale_stream(1.0))),
        MethodDef::builder("exchange_with_rich_header")
            .param("seed", DataType::Int64, false)
            .param("factor", DataType::Float64, false)
            .header(RICH_HEADER.schema.clone())
            .state_decoder(exchange_decoder::<Scale>())
            .exchange(|p, _| Ok(scale_stream(p.f64("factor")?).with_header(build_rich_header(p.i64("seed")?)?))),
        MethodDef::builder("exchange_session_counter")
            .state_decoder(exchange_decoder::<SessionCounterExchange>())
            .exchange(|_, _| {
                Ok(StreamResult::exchange(VALUE_I64.encoded.clone(), BY_I64.schema.clone(), SessionCounterExchange))
            }),
    ]
}
