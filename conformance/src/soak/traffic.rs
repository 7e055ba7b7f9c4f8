//! The mixed traffic one client thread sends: a fixed rotation of unary
//! calls, producers run to the end, producers cancelled midway, exchanges,
//! errors (unary and mid-stream), fresh-connection churn and abrupt
//! disconnects; every answer is checked.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde::Serialize;
use vgi_rpc::rpc::CallError;

use super::clients::{Conn, SoakClient};
use super::disconnect;
use super::worker::Endpoint;

/// One kind of operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `echo_int` then `add_floats` on the persistent connection.
    Unary,
    /// `raise_value_error`: a remote ValueError, connection still usable.
    UnaryError,
    /// `produce_n(count=8)` to its end.
    ProduceAll,
    /// `cancellable_producer`: two batches, then cancel.
    ProduceCancel,
    /// `exchange_scale`: three inputs, close.
    Exchange,
    /// `produce_error_mid_stream(emit_before_error=1)`.
    ErrorMidStream,
    /// A fresh connection: one `echo_int`, graceful close.
    Churn,
    /// A fresh connection cut abruptly (mid-request, mid-stream, ...).
    Disconnect,
}

impl Op {
    /// Every kind, in report order.
    pub const ALL: [Op; 8] = [
        Op::Unary,
        Op::UnaryError,
        Op::ProduceAll,
        Op::ProduceCancel,
        Op::Exchange,
        Op::ErrorMidStream,
        Op::Churn,
        Op::Disconnect,
    ];

    /// The snake-case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Op::Unary => "unary",
            Op::UnaryError => "unary_error",
            Op::ProduceAll => "produce_all",
            Op::ProduceCancel => "produce_cancel",
            Op::Exchange => "exchange",
            Op::ErrorMidStream => "error_mid_stream",
            Op::Churn => "churn",
            Op::Disconnect => "disconnect",
        }
    }

    /// The kind named `name` (as in reports).
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Index into per-kind counters.
    pub fn index(self) -> usize {
        Op::ALL.iter().position(|o| *o == self).unwrap_or(0)
    }
}

/// The rotation a client thread walks (each thread starts at its own
/// offset); [`schedule`] narrows it for diagnosis.
pub const SCHEDULE: [Op; 16] = [
    Op::Unary,
    Op::ProduceAll,
    Op::Unary,
    Op::Exchange,
    Op::ProduceCancel,
    Op::Unary,
    Op::ErrorMidStream,
    Op::Churn,
    Op::Unary,
    Op::UnaryError,
    Op::ProduceAll,
    Op::Disconnect,
    Op::Unary,
    Op::ProduceCancel,
    Op::Exchange,
    Op::Churn,
];

/// [`SCHEDULE`] restricted to `only` (all of it when `only` is empty); empty
/// when `only` names no kind the schedule has.
pub fn schedule(only: &[Op]) -> Vec<Op> {
    SCHEDULE.into_iter().filter(|op| only.is_empty() || only.contains(op)).collect()
}

/// An operation that did not go as the service defines.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub message: String,
    /// The persistent connection may be out of step: reopen it.
    pub connection_broken: bool,
}

impl Failure {
    fn wrong(message: String) -> Self {
        Self { message, connection_broken: false }
    }

    fn call(what: &str, e: CallError) -> Self {
        let connection_broken = e.remote().is_none();
        Self { message: format!("{what}: {e}"), connection_broken }
    }
}

fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter_with_nullable(cols.into_iter().map(|(n, a)| (n, a, false)))
        .expect("a batch of equal-length single-row columns")
}

fn i64s(v: i64) -> ArrayRef {
    Arc::new(Int64Array::from(vec![v]))
}

fn f64s(v: f64) -> ArrayRef {
    Arc::new(Float64Array::from(vec![v]))
}

/// `{value: int64}` params of `echo_int`.
pub fn echo_int_params(v: i64) -> RecordBatch {
    batch(vec![("value", i64s(v))])
}

/// `{count: int64}` params of the counting producers.
pub fn count_params(n: i64) -> RecordBatch {
    batch(vec![("count", i64s(n))])
}

fn first_i64(batch: &RecordBatch, column: &str) -> Option<i64> {
    batch.column_by_name(column)?.as_primitive_opt::<Int64Type>().filter(|a| !a.is_empty()).map(|a| a.value(0))
}

/// `echo_int(v)` on `client`, checked.
pub fn echo(client: &mut dyn SoakClient, v: i64) -> Result<(), Failure> {
    let resp = client.unary("echo_int", &echo_int_params(v)).map_err(|e| Failure::call("echo_int", e))?;
    match first_i64(&resp.batch, "result") {
        Some(got) if got == v => Ok(()),
        got => Err(Failure::wrong(format!("echo_int({v}) returned {got:?}"))),
    }
}

fn unary(client: &mut dyn SoakClient, n: u64) -> Result<(), Failure> {
    let v = n as i64;
    echo(client, v)?;
    let resp = client
        .unary("add_floats", &batch(vec![("a", f64s(v as f64)), ("b", f64s(0.5))]))
        .map_err(|e| Failure::call("add_floats", e))?;
    let got = resp.value().and_then(|a| a.as_primitive_opt::<Float64Type>()).map(|a| a.value(0));
    if got != Some(v as f64 + 0.5) {
        return Err(Failure::wrong(format!("add_floats({v}, 0.5) returned {got:?}")));
    }
    Ok(())
}

fn unary_error(client: &mut dyn SoakClient) -> Result<(), Failure> {
    let params = batch(vec![("message", Arc::new(StringArray::from(vec!["soak"])) as ArrayRef)]);
    match client.unary("raise_value_error", &params) {
        Err(e) if e.remote().is_some_and(|r| r.error_type == "ValueError") => Ok(()),
        Err(e) => Err(Failure::call("raise_value_error", e)),
        Ok(_) => Err(Failure::wrong("raise_value_error returned a value".into())),
    }
}

fn produce_all(client: &mut dyn SoakClient) -> Result<(), Failure> {
    let drained = client.produce("produce_n", &count_params(8), None);
    if let Some(e) = drained.error {
        return Err(Failure::call("produce_n", e));
    }
    let values: Vec<Option<i64>> = drained.batches.iter().map(|b| first_i64(b, "value")).collect();
    let want: Vec<Option<i64>> = (0..8).map(|i| Some(i * 10)).collect();
    if values != want {
        return Err(Failure::wrong(format!("produce_n(8) gave values {values:?}")));
    }
    Ok(())
}

fn produce_cancel(client: &mut dyn SoakClient) -> Result<(), Failure> {
    let drained = client.produce("cancellable_producer", &vgi_rpc::rpc::client::no_params(), Some(2));
    if let Some(e) = drained.error {
        return Err(Failure::call("cancellable_producer", e));
    }
    if drained.batches.len() != 2 {
        return Err(Failure::wrong(format!(
            "cancellable_producer gave {} batches before cancel",
            drained.batches.len()
        )));
    }
    Ok(())
}

/// `{value: float64}` rows `values`.
pub fn float_input(values: Vec<f64>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("value", DataType::Float64, false)]));
    RecordBatch::try_new(schema, vec![Arc::new(Float64Array::from(values))]).expect("one float64 column")
}

/// `{factor: float64}` params of `exchange_scale`.
pub fn scale_params(factor: f64) -> RecordBatch {
    batch(vec![("factor", f64s(factor))])
}

fn exchange(client: &mut dyn SoakClient, n: u64) -> Result<(), Failure> {
    let base = (n % 1000) as f64;
    let inputs: Vec<RecordBatch> = (0..3).map(|i| float_input(vec![base + i as f64, 0.5])).collect();
    let outputs = client
        .exchange("exchange_scale", &scale_params(2.0), &inputs)
        .map_err(|e| Failure::call("exchange_scale", e))?;
    for (i, out) in outputs.iter().enumerate() {
        let got = out.column(0).as_primitive_opt::<Float64Type>().map(|a| a.values().to_vec());
        let want = vec![2.0 * (base + i as f64), 1.0];
        if got.as_ref() != Some(&want) {
            return Err(Failure::wrong(format!("exchange_scale turn {i} gave {got:?}, want {want:?}")));
        }
    }
    if outputs.len() != 3 {
        return Err(Failure::wrong(format!("exchange_scale answered {} of 3 inputs", outputs.len())));
    }
    Ok(())
}

fn error_mid_stream(client: &mut dyn SoakClient) -> Result<(), Failure> {
    let drained = client.produce("produce_error_mid_stream", &batch(vec![("emit_before_error", i64s(1))]), None);
    match drained.error {
        Some(e) if e.remote().is_some_and(|r| r.error_type == "RuntimeError") && drained.batches.len() == 1 => Ok(()),
        Some(e) if e.remote().is_some() => {
            Err(Failure::wrong(format!("produce_error_mid_stream: {} batches then {e}", drained.batches.len())))
        }
        Some(e) => Err(Failure::call("produce_error_mid_stream", e)),
        None => Err(Failure::wrong("produce_error_mid_stream ended without an error".into())),
    }
}

fn churn(endpoint: &Endpoint, n: u64) -> Result<(), Failure> {
    if let Endpoint::Pipe { program, .. } = endpoint {
        return disconnect::pipe_churn(program, n as i64).map_err(Failure::wrong);
    }
    let mut fresh = Conn::open(endpoint).map_err(Failure::wrong)?;
    // A failure on the fresh connection never breaks the persistent one.
    fresh.with(|c| echo(c, n as i64)).map_err(|f| Failure::wrong(f.message))
}

/// Run operation `op` (the thread's `n`th) on `conn`, or on a fresh
/// connection to `endpoint` for churn and disconnects.
pub fn run(op: Op, n: u64, conn: &mut Conn, endpoint: &Endpoint) -> Result<(), Failure> {
    match op {
        Op::Unary => conn.with(|c| unary(c, n)),
        Op::UnaryError => conn.with(unary_error),
        Op::ProduceAll => conn.with(produce_all),
        Op::ProduceCancel => conn.with(produce_cancel),
        Op::Exchange => conn.with(|c| exchange(c, n)),
        Op::ErrorMidStream => conn.with(error_mid_stream),
        Op::Churn => churn(endpoint, n),
        Op::Disconnect => disconnect::run(endpoint, n).map_err(Failure::wrong),
    }
}
