//! A small test protocol and connection helpers shared by the core's
//! integration tests.

#![allow(dead_code)]

use std::io::{BufReader, BufWriter};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::thread::JoinHandle;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use vgi_rpc_core::wire::EncodedSchema;
use vgi_rpc_core::{
    serve_connection, CallContext, Client, ConnectionInfo, ExchangeState, InputBatch, LogLevel, MethodDef,
    OutputCollector, ProducerState, Protocol, RpcError, Server, StreamResult,
};

pub const PROTO: &str = "test.Echo.v1";
pub const VERSION: &str = "1.2.0";

pub fn counter_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("i", DataType::Int64, false)]))
}

pub fn value_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("value", DataType::Float64, false)]))
}

struct Count {
    next: i64,
    end: i64,
    schema: SchemaRef,
}

impl ProducerState for Count {
    fn produce(&mut self, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.next >= self.end {
            return out.finish();
        }
        out.client_log(LogLevel::Info, format!("batch {}", self.next));
        let batch = RecordBatch::try_new(self.schema.clone(), vec![Arc::new(Int64Array::from(vec![self.next]))])?;
        self.next += 1;
        out.emit(batch)
    }
}

struct Scale {
    factor: f64,
    fail_on: Option<usize>,
    seen: usize,
}

impl ExchangeState for Scale {
    fn exchange(&mut self, input: &InputBatch, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        self.seen += 1;
        if self.fail_on == Some(self.seen) {
            return Err(RpcError::runtime_error(format!("failed on exchange {}", self.seen)));
        }
        let col = input
            .batch
            .column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| RpcError::type_error("float64"))?;
        let scaled: Float64Array = col.iter().map(|v| v.map(|v| v * self.factor)).collect();
        out.emit_arrays(vec![Arc::new(scaled)])
    }
}

pub fn test_server() -> Server {
    test_server_builder().build().expect("valid test protocol")
}

pub fn test_server_with_hook(hook: Arc<dyn vgi_rpc_core::DispatchHook>) -> Server {
    test_server_builder().hook(hook).build().expect("valid test protocol")
}

pub fn test_server_builder() -> vgi_rpc_core::ServerBuilder {
    let header_schema = Arc::new(Schema::new(vec![Field::new("total", DataType::Int64, false)]));
    let counter = Arc::new(EncodedSchema::new(counter_schema()));
    let values = Arc::new(EncodedSchema::new(value_schema()));
    let hs = header_schema.clone();
    let protocol = Protocol::new(PROTO)
        .version(VERSION)
        .method(MethodDef::builder("echo").param("value", DataType::Utf8, false).returns(DataType::Utf8, false).unary(
            |p, ctx| {
                ctx.client_log(LogLevel::Debug, "echoing");
                Ok(Some(p.value("value")?))
            },
        ))
        .method(MethodDef::builder("noop").unary(|_, _| Ok(None)))
        .method(
            MethodDef::builder("fail")
                .param("message", DataType::Utf8, false)
                .returns(DataType::Utf8, false)
                .unary(|p, _| Err(RpcError::value_error(p.str("message")?))),
        )
        .method(MethodDef::builder("count").param("n", DataType::Int64, false).header(header_schema).producer(
            move |p, _| {
                let n = p.i64("n")?;
                if n < 0 {
                    return Err(RpcError::value_error("n must be >= 0"));
                }
                let header = RecordBatch::try_new(hs.clone(), vec![Arc::new(Int64Array::from(vec![n])) as ArrayRef])?;
                Ok(StreamResult::producer(counter.clone(), Count { next: 0, end: n, schema: counter_schema() })
                    .with_header(header))
            },
        ))
        .method(
            MethodDef::builder("scale")
                .param("factor", DataType::Float64, false)
                .param("fail_on", DataType::Int64, true)
                .exchange(move |p, _| {
                    let fail_on = p.opt_i64("fail_on")?.map(|n| n as usize);
                    Ok(StreamResult::exchange(
                        values.clone(),
                        value_schema(),
                        Scale { factor: p.f64("factor")?, fail_on, seen: 0 },
                    ))
                }),
        );
    Server::builder().protocol(protocol)
}

pub type SocketClient = Client<BufReader<UnixStream>, BufWriter<UnixStream>>;

/// A client connected to `server` served on a thread over a socket pair.
pub fn connect(server: Server) -> (SocketClient, JoinHandle<()>) {
    let (a, b) = UnixStream::pair().expect("socket pair");
    let handle = std::thread::spawn(move || {
        let mut r = BufReader::new(b.try_clone().expect("clone"));
        let mut w = BufWriter::new(b);
        let _ = serve_connection(&server, &mut r, &mut w, &ConnectionInfo::default());
    });
    let mut client = Client::new(BufReader::new(a.try_clone().expect("clone")), BufWriter::new(a));
    client.set_protocol_version(PROTO, VERSION);
    (client, handle)
}

pub fn one_string(name: &str, value: &str) -> RecordBatch {
    RecordBatch::try_from_iter([(name, Arc::new(StringArray::from(vec![value])) as ArrayRef)]).expect("batch")
}

pub fn result_string(resp: &vgi_rpc_core::UnaryResponse) -> String {
    resp.value()
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .map(|a| a.value(0).to_owned())
        .expect("a string result")
}
