//! A small hello service served on stdin/stdout, written on the typed layer.
//!
//! ```text
//! cargo run -p vgi-rpc --example hello
//! ```
//! Protocol `hello.v1`: `greet(name) -> str`, `count(n)` (a producer of
//! `n` one-row batches) and `scale(factor)` (an exchange multiplying each
//! input value). The generated `HelloClient` calls it over any transport
//! (see `tests/hello.rs`).

use serde::{Deserialize, Serialize};
use vgi_rpc::typed::{Exchange, Input, Producer, Rows, RpcResult};
use vgi_rpc::{CallContext, Row, Server};

/// One counted number.
#[derive(Row, Debug, Clone, PartialEq)]
pub struct Count {
    /// The number.
    pub i: i64,
}

/// One value of the `scale` exchange (input and output).
#[derive(Row, Debug, Clone, PartialEq)]
pub struct Sample {
    /// The value.
    pub x: f64,
}

/// The state of `count`: resumable on any worker (serde).
#[derive(Serialize, Deserialize)]
pub struct Counter {
    next: i64,
    end: i64,
}

impl Producer for Counter {
    type Row = Count;

    fn produce(&mut self, out: &mut Rows<'_, Count>, _ctx: &CallContext) -> RpcResult<()> {
        if self.next >= self.end {
            return out.finish();
        }
        out.emit(vec![Count { i: self.next }])?;
        self.next += 1;
        Ok(())
    }
}

/// The state of `scale`.
#[derive(Serialize, Deserialize)]
pub struct Scaler {
    factor: f64,
}

impl Exchange for Scaler {
    type Input = Sample;
    type Output = Sample;

    fn exchange(&mut self, input: Input<Sample>, out: &mut Rows<'_, Sample>, _ctx: &CallContext) -> RpcResult<()> {
        out.emit(input.rows.into_iter().map(|s| Sample { x: s.x * self.factor }).collect())
    }
}

/// The hello protocol.
#[vgi_rpc::service(protocol = "hello.v1", version = "1.0.0")]
pub trait Hello {
    /// Say hello.
    fn greet(&self, name: String) -> RpcResult<String>;

    /// Count from 0 to n-1.
    #[vgi(producer)]
    fn count(&self, #[vgi(doc = "How many numbers.")] n: i64) -> RpcResult<Counter>;

    /// Multiply every input value by `factor`.
    #[vgi(exchange)]
    fn scale(&self, #[vgi(default = 2.0)] factor: f64) -> RpcResult<Scaler>;
}

/// The implementation.
pub struct HelloService;

impl Hello for HelloService {
    fn greet(&self, name: String) -> RpcResult<String> {
        Ok(format!("Hello, {name}!"))
    }

    fn count(&self, n: i64) -> RpcResult<Counter> {
        Ok(Counter { next: 0, end: n })
    }

    fn scale(&self, factor: f64) -> RpcResult<Scaler> {
        Ok(Scaler { factor })
    }
}

/// The server hosting `hello.v1`.
pub fn server() -> Server {
    Server::builder().protocol(hello_protocol(HelloService)).build().expect("the hello protocol is valid")
}

#[allow(dead_code)]
fn main() {
    if let Err(e) = vgi_rpc::stdio::serve_stdio(&server()) {
        eprintln!("hello: {e}");
        std::process::exit(1);
    }
}
