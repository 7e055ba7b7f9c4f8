//! A worker in the style of a DuckDB VGI extension, on the typed API.
//!
//! ```text
//! cargo run -p vgi-rpc --example table_worker
//! ```
//! Protocol `table_worker.v1`:
//!
//! * scalar functions as exchange streams — each input batch is a chunk of
//!   the query's rows, each output batch the function's values for it:
//!   `upper()` over nullable strings and `scale(factor)` over doubles;
//! * a table function as a producer with a header batch: `squares(count,
//!   batch_rows, bind)` answers first with a [`TableInfo`] row (the planner's
//!   cardinality estimate), then batches of [`Square`] rows. The engine may
//!   push a filter down on any tick: [`FILTER_MIN_KEY`] in the tick's
//!   metadata skips rows below that `n` (over HTTP the first batch comes
//!   back with the stream's start, so a filter rides on the ticks after
//!   it). `bind` is the opaque bind data the
//!   engine hands back on every call (a byte-buffer parameter).
//!
//! Over HTTP each producer response carries at most one data batch
//! (WIRE_PROTOCOL.md, producer continuation: one `process()` call per
//! request), so there is no larger per-response batch limit to offer.
//!
//! Every state is plain serde data, so over HTTP any worker sharing the
//! token key resumes a stream another one started (see
//! `tests/table_worker.rs`).

use serde::{Deserialize, Serialize};
use vgi_rpc::typed::{Exchange, Input, Producer, Rows, RpcResult};
use vgi_rpc::{CallContext, MethodDef, Params, Protocol, Row, Server};

/// Wire name of the protocol.
pub const PROTOCOL: &str = "table_worker.v1";

/// Tick metadata key of the pushed-down filter: only rows with `n` at least
/// this value (decimal) are produced.
pub const FILTER_MIN_KEY: &str = "table_worker.filter.n_min";

/// One nullable string value (input and output of `upper`).
#[derive(Row, Debug, Clone, PartialEq)]
pub struct Text {
    /// The value; `None` is SQL NULL.
    pub value: Option<String>,
}

/// One double value (input and output of `scale`).
#[derive(Row, Debug, Clone, PartialEq)]
pub struct Number {
    /// The value.
    pub value: f64,
}

/// The state of `upper`: none, but still resumable.
#[derive(Serialize, Deserialize)]
pub struct Upper;

impl Exchange for Upper {
    type Input = Text;
    type Output = Text;

    fn exchange(&mut self, input: Input<Text>, out: &mut Rows<'_, Text>, _ctx: &CallContext) -> RpcResult<()> {
        out.emit(input.rows.into_iter().map(|t| Text { value: t.value.map(|s| s.to_uppercase()) }).collect())
    }
}

/// The state of `scale`.
#[derive(Serialize, Deserialize)]
pub struct Scale {
    factor: f64,
}

impl Exchange for Scale {
    type Input = Number;
    type Output = Number;

    fn exchange(&mut self, input: Input<Number>, out: &mut Rows<'_, Number>, _ctx: &CallContext) -> RpcResult<()> {
        out.emit(input.rows.into_iter().map(|n| Number { value: n.value * self.factor }).collect())
    }
}

/// The scalar functions.
#[vgi_rpc::service(protocol = "table_worker.v1")]
pub trait Scalars {
    /// Upper-case every string; NULL stays NULL.
    #[vgi(exchange)]
    fn upper(&self) -> RpcResult<Upper>;

    /// Multiply every value by `factor`.
    #[vgi(exchange)]
    fn scale(&self, factor: f64) -> RpcResult<Scale>;
}

/// The implementation of the scalar functions.
pub struct ScalarFunctions;

impl Scalars for ScalarFunctions {
    fn upper(&self) -> RpcResult<Upper> {
        Ok(Upper)
    }

    fn scale(&self, factor: f64) -> RpcResult<Scale> {
        Ok(Scale { factor })
    }
}

/// The parameters of the `squares` table function.
#[derive(Params, Debug, Clone)]
pub struct SquaresArgs {
    /// Rows in the table: `n` runs from 0 to `count - 1`.
    pub count: i64,
    /// Rows per output batch.
    #[vgi(default = 1024)]
    pub batch_rows: i64,
    /// The engine's opaque bind data, returned on every call.
    pub bind: Vec<u8>,
}

/// The header batch of `squares`: what the planner learns before any row.
#[derive(Row, Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// The table's row count before any filter.
    pub estimated_rows: i64,
    /// Bytes of bind data the call carried.
    pub bind_bytes: i64,
}

/// One row of `squares`.
#[derive(Row, Debug, Clone, PartialEq)]
pub struct Square {
    /// The row number.
    pub n: i64,
    /// `n * n`.
    pub square: i64,
}

/// The scan position of `squares`.
#[derive(Serialize, Deserialize)]
pub struct Squares {
    next: i64,
    end: i64,
    batch_rows: i64,
}

impl Producer for Squares {
    type Row = Square;

    fn produce(&mut self, out: &mut Rows<'_, Square>, ctx: &CallContext) -> RpcResult<()> {
        if let Some(min) = ctx.request_metadata().get(FILTER_MIN_KEY) {
            let min: i64 = min.parse().map_err(|_| {
                vgi_rpc::RpcError::value_error(format!("{FILTER_MIN_KEY} must be an integer, got {min:?}"))
            })?;
            self.next = self.next.max(min);
        }
        if self.next >= self.end {
            return out.finish();
        }
        let stop = self.end.min(self.next.saturating_add(self.batch_rows));
        out.emit((self.next..stop).map(|n| Square { n, square: n * n }).collect())?;
        self.next = stop;
        Ok(())
    }
}

/// The `squares` table function.
fn squares() -> MethodDef {
    MethodDef::builder("squares")
        .doc("The squares of 0..count, with a pushed-down lower bound on n.")
        .typed_producer_with_header(|args: SquaresArgs, _: &CallContext| {
            if args.batch_rows < 1 {
                return Err(vgi_rpc::RpcError::value_error("batch_rows must be at least 1"));
            }
            let info = TableInfo { estimated_rows: args.count.max(0), bind_bytes: args.bind.len() as i64 };
            Ok((info, Squares { next: 0, end: args.count, batch_rows: args.batch_rows }))
        })
}

/// The whole protocol: the generated scalar bindings plus the table function.
pub fn protocol() -> Protocol {
    scalars_protocol(ScalarFunctions).method(squares())
}

/// The server hosting `table_worker.v1`.
pub fn server() -> Server {
    Server::builder().protocol(protocol()).build().expect("the table_worker protocol is valid")
}

#[allow(dead_code)]
fn main() {
    if let Err(e) = vgi_rpc::stdio::serve_stdio(&server()) {
        eprintln!("table_worker: {e}");
        std::process::exit(1);
    }
}
