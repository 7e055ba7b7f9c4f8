//! Exchange stream methods and their states, on the typed layer: input and
//! output rows from `rows.rs`, parameters as `#[derive(Params)]` structs,
//! the serde state codec registered by `typed_exchange`.

use serde::{Deserialize, Serialize};
use vgi_rpc::typed::{Exchange, Input, Rows, RpcResult, Value};
use vgi_rpc::{CallContext, LogLevel, MethodDef, Params, RpcError};

use super::cancel_probe::{self, Counter};
use super::producers::{describe_factor, RowsPerBatchArg};
use super::rich_header::build_rich_header;
use super::rows::{Accumulated, ConformanceHeader, CounterRow, InputMetadataSeen, NoColumns, RichHeader};
use super::sticky::SessionCounterExchange;

/// The application key `exchange_input_metadata` reports.
pub const INPUT_METADATA_KEY: &str = "vgi.conformance.input";

/// One `{value: float64}` row, the input of most exchanges.
type F64 = Value<Option<f64>>;

/// `exchange_scale(factor)`, `exchange_with_header(factor)`.
#[derive(Params)]
struct FactorArg {
    factor: f64,
}

/// `exchange_error_on_nth(fail_on)`.
#[derive(Params)]
struct FailOnArg {
    fail_on: i64,
}

/// `exchange_with_rich_header(seed, factor)`.
#[derive(Params)]
struct SeedFactorArgs {
    seed: i64,
    factor: f64,
}

/// Multiplies each value by `factor`.
#[derive(Serialize, Deserialize)]
struct Scale {
    factor: f64,
}

impl Exchange for Scale {
    type Input = F64;
    type Output = F64;

    fn exchange(&mut self, input: Input<F64>, out: &mut Rows<'_, F64>, _ctx: &CallContext) -> Result<(), RpcError> {
        let factor = self.factor;
        out.emit(input.rows.into_iter().map(|v| Value(v.0.map(|x| x * factor))).collect())
    }
}

/// Running sum and count of the exchanges so far.
#[derive(Default, Serialize, Deserialize)]
struct Accumulate {
    running_sum: f64,
    exchange_count: i64,
}

impl Exchange for Accumulate {
    type Input = F64;
    type Output = Accumulated;

    fn exchange(
        &mut self,
        input: Input<F64>,
        out: &mut Rows<'_, Accumulated>,
        _ctx: &CallContext,
    ) -> Result<(), RpcError> {
        self.running_sum += input.rows.iter().filter_map(|v| v.0).sum::<f64>();
        self.exchange_count += 1;
        out.emit(vec![Accumulated { running_sum: Some(self.running_sum), exchange_count: Some(self.exchange_count) }])
    }
}

/// Echoes each input after two logs.
#[derive(Serialize, Deserialize)]
struct LoggingEcho;

impl Exchange for LoggingEcho {
    type Input = F64;
    type Output = F64;

    fn exchange(&mut self, input: Input<F64>, out: &mut Rows<'_, F64>, _ctx: &CallContext) -> Result<(), RpcError> {
        out.log(LogLevel::Info, "exchange processing");
        out.log(LogLevel::Debug, "exchange debug");
        out.emit(input.rows)
    }
}

/// Echoes until the `fail_on`-th exchange, which fails.
#[derive(Serialize, Deserialize)]
struct FailOnNth {
    fail_on: i64,
    count: i64,
}

impl Exchange for FailOnNth {
    type Input = F64;
    type Output = F64;

    fn exchange(&mut self, input: Input<F64>, out: &mut Rows<'_, F64>, _ctx: &CallContext) -> Result<(), RpcError> {
        self.count += 1;
        if self.count >= self.fail_on {
            return Err(RpcError::runtime_error(format!("intentional error on exchange {}", self.count)));
        }
        out.emit(input.rows)
    }
}

/// Answers every (column-less) input with an empty batch of no columns.
#[derive(Serialize, Deserialize)]
struct ZeroColumns;

impl Exchange for ZeroColumns {
    type Input = NoColumns;
    type Output = NoColumns;

    fn exchange(
        &mut self,
        _: Input<NoColumns>,
        out: &mut Rows<'_, NoColumns>,
        _ctx: &CallContext,
    ) -> Result<(), RpcError> {
        out.emit(Vec::new())
    }
}

/// Reports the metadata each input batch arrived with.
#[derive(Serialize, Deserialize)]
struct InputMetadata;

impl Exchange for InputMetadata {
    type Input = F64;
    type Output = InputMetadataSeen;

    fn exchange(
        &mut self,
        input: Input<F64>,
        out: &mut Rows<'_, InputMetadataSeen>,
        _ctx: &CallContext,
    ) -> Result<(), RpcError> {
        let seen = input.metadata.get(INPUT_METADATA_KEY).unwrap_or("").to_owned();
        let mut keys: Vec<&str> = input.metadata.iter().map(|(k, _)| k).collect();
        keys.sort_unstable();
        out.emit(vec![InputMetadataSeen { seen: Some(seen), keys: Some(keys.join(",")) }])
    }
}

/// Answers every input with `rows` counter rows.
#[derive(Serialize, Deserialize)]
struct Oversized {
    rows: i64,
}

impl Exchange for Oversized {
    type Input = F64;
    type Output = CounterRow;

    fn exchange(&mut self, _: Input<F64>, out: &mut Rows<'_, CounterRow>, _ctx: &CallContext) -> Result<(), RpcError> {
        out.emit(CounterRow::run(0, self.rows))
    }
}

/// Echoes; counts exchange and cancel calls.
#[derive(Serialize, Deserialize)]
struct CancellableEcho;

impl Exchange for CancellableEcho {
    type Input = F64;
    type Output = F64;

    fn exchange(&mut self, input: Input<F64>, out: &mut Rows<'_, F64>, _ctx: &CallContext) -> Result<(), RpcError> {
        cancel_probe::bump(Counter::Exchange);
        out.emit(input.rows)
    }

    fn on_cancel(&mut self, _ctx: &CallContext) {
        cancel_probe::bump(Counter::OnCancel);
    }
}

/// Every exchange method.
pub fn methods() -> Vec<MethodDef> {
    vec![
        MethodDef::builder("exchange_scale")
            .typed_exchange(|p: FactorArg, _: &CallContext| -> RpcResult<Scale> { Ok(Scale { factor: p.factor }) }),
        MethodDef::builder("exchange_accumulate")
            .typed_exchange(|(): (), _: &CallContext| -> RpcResult<Accumulate> { Ok(Accumulate::default()) }),
        MethodDef::builder("exchange_with_logs")
            .typed_exchange(|(): (), _: &CallContext| -> RpcResult<LoggingEcho> { Ok(LoggingEcho) }),
        MethodDef::builder("exchange_error_on_nth").typed_exchange(
            |p: FailOnArg, _: &CallContext| -> RpcResult<FailOnNth> { Ok(FailOnNth { fail_on: p.fail_on, count: 0 }) },
        ),
        MethodDef::builder("exchange_zero_columns")
            .typed_exchange(|(): (), _: &CallContext| -> RpcResult<ZeroColumns> { Ok(ZeroColumns) }),
        MethodDef::builder("exchange_input_metadata")
            .typed_exchange(|(): (), _: &CallContext| -> RpcResult<InputMetadata> { Ok(InputMetadata) }),
        MethodDef::builder("exchange_error_on_init").typed_exchange(|(): (), _: &CallContext| -> RpcResult<Scale> {
            Err(RpcError::runtime_error("intentional exchange init error"))
        }),
        MethodDef::builder("exchange_oversized").typed_exchange(
            |p: RowsPerBatchArg, _: &CallContext| -> RpcResult<Oversized> {
                Ok(Oversized { rows: p.rows_per_batch.max(0) })
            },
        ),
        MethodDef::builder("exchange_with_header").typed_exchange_with_header(
            |p: FactorArg, _: &CallContext| -> RpcResult<(ConformanceHeader, Scale)> {
                let header = ConformanceHeader { total_expected: 0, description: describe_factor(p.factor) };
                Ok((header, Scale { factor: p.factor }))
            },
        ),
        MethodDef::builder("cancellable_exchange")
            .typed_exchange(|(): (), _: &CallContext| -> RpcResult<CancellableEcho> { Ok(CancellableEcho) }),
        MethodDef::builder("exchange_cast_compatible")
            .typed_exchange(|(): (), _: &CallContext| -> RpcResult<Scale> { Ok(Scale { factor: 1.0 }) }),
        MethodDef::builder("exchange_with_rich_header").typed_exchange_with_header(
            |p: SeedFactorArgs, _: &CallContext| -> RpcResult<(RichHeader, Scale)> {
                Ok((build_rich_header(p.seed), Scale { factor: p.factor }))
            },
        ),
        MethodDef::builder("exchange_session_counter").typed_exchange(
            |(): (), _: &CallContext| -> RpcResult<SessionCounterExchange> { Ok(SessionCounterExchange) },
        ),
    ]
}
