//! A small hello service served on stdin/stdout.
//!
//! ```text
//! cargo run -p vgi-rpc --example hello
//! ```
//! Protocol `hello.v1`, methods `greet(name: utf8) -> utf8` and
//! `count(n: int64)`, a producer of `n` one-row batches.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use vgi_rpc::core::wire::EncodedSchema;
use vgi_rpc::{CallContext, MethodDef, OutputCollector, ProducerState, Protocol, RpcError, Server, StreamResult};

struct Counter {
    next: i64,
    end: i64,
    schema: Arc<Schema>,
}

impl ProducerState for Counter {
    fn produce(&mut self, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.next >= self.end {
            return out.finish();
        }
        let batch = RecordBatch::try_new(self.schema.clone(), vec![Arc::new(Int64Array::from(vec![self.next]))])?;
        self.next += 1;
        out.emit(batch)
    }
}

fn main() {
    let greet = MethodDef::builder("greet")
        .param("name", DataType::Utf8, false)
        .returns(DataType::Utf8, false)
        .doc("Say hello.")
        .unary(|p, _| Ok(Some(Arc::new(StringArray::from(vec![format!("Hello, {}!", p.str("name")?)])) as ArrayRef)));
    let schema = Arc::new(Schema::new(vec![Field::new("i", DataType::Int64, false)]));
    let encoded = Arc::new(EncodedSchema::new(schema.clone()));
    let count = MethodDef::builder("count").param("n", DataType::Int64, false).doc("Count from 0 to n-1.").producer(
        move |p, _| {
            Ok(StreamResult::producer(encoded.clone(), Counter { next: 0, end: p.i64("n")?, schema: schema.clone() }))
        },
    );
    let server = Server::builder()
        .protocol(Protocol::new("hello.v1").version("1.0.0").method(greet).method(count))
        .build()
        .expect("the hello protocol is valid");
    if let Err(e) = vgi_rpc::stdio::serve_stdio(&server) {
        eprintln!("hello: {e}");
        std::process::exit(1);
    }
}
