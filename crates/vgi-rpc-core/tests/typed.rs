//! The typed layer without macros: hand-written `Row` / `MethodParams`
//! impls registered with `typed_producer` / `typed_exchange`, called with
//! the typed client helpers over an in-process pipe, and a state resumed
//! from its encoded bytes through the decoder the registration installed.

use std::io::{BufReader, BufWriter};
use std::sync::{Arc, OnceLock};

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Fields, Schema, SchemaRef};
use serde::{Deserialize, Serialize};
use vgi_rpc_core::typed::{
    call_unary, field, next_value, open_exchange, open_producer, param, params_batch, read_column, ArrowType, Exchange,
    Input, MethodParams, Producer, Row, Rows, RpcResult, Value,
};
use vgi_rpc_core::{
    serve_connection, CallContext, Client, ConnectionInfo, MethodDef, OutputCollector, Params, Protocol, Server,
    StreamState,
};

struct Upto {
    n: i64,
}

impl MethodParams for Upto {
    fn schema() -> SchemaRef {
        static S: OnceLock<SchemaRef> = OnceLock::new();
        S.get_or_init(|| Arc::new(Schema::new(vec![field::<i64>("n")]))).clone()
    }
    fn from_params(p: &Params<'_>) -> RpcResult<Self> {
        Ok(Upto { n: param(p, "n")? })
    }
    fn into_batch(self) -> RpcResult<RecordBatch> {
        params_batch(Self::schema(), vec![i64::into_array(vec![self.n])?])
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Square {
    i: i64,
    sq: i64,
}

impl Row for Square {
    fn fields() -> Fields {
        Fields::from(vec![field::<i64>("i"), field::<i64>("sq")])
    }
    fn schema() -> SchemaRef {
        static S: OnceLock<SchemaRef> = OnceLock::new();
        S.get_or_init(|| Arc::new(Schema::new(Self::fields()))).clone()
    }
    fn into_columns(rows: Vec<Self>) -> RpcResult<Vec<ArrayRef>> {
        let (i, sq): (Vec<i64>, Vec<i64>) = rows.into_iter().map(|r| (r.i, r.sq)).unzip();
        Ok(vec![i64::into_array(i)?, i64::into_array(sq)?])
    }
    fn from_columns(columns: &[ArrayRef], rows: usize) -> RpcResult<Vec<Self>> {
        let (mut i, mut sq) = (read_column::<i64>(columns, 0, "i")?, read_column::<i64>(columns, 1, "sq")?);
        (0..rows).map(|_| Ok(Square { i: next_value(&mut i)?, sq: next_value(&mut sq)? })).collect()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Squares {
    next: i64,
    end: i64,
}

impl Producer for Squares {
    type Row = Square;
    fn produce(&mut self, out: &mut Rows<'_, Square>, _ctx: &CallContext) -> RpcResult<()> {
        if self.next >= self.end {
            return out.finish();
        }
        let i = self.next;
        self.next += 1;
        out.emit(vec![Square { i, sq: i * i }])
    }
}

#[derive(Serialize, Deserialize)]
struct Running {
    total: i64,
}

impl Exchange for Running {
    type Input = Value<i64>;
    type Output = Value<i64>;
    fn exchange(&mut self, input: Input<Value<i64>>, out: &mut Rows<'_, Value<i64>>, _: &CallContext) -> RpcResult<()> {
        let sums = input
            .rows
            .into_iter()
            .map(|v| {
                self.total += v.0;
                Value(self.total)
            })
            .collect();
        out.emit(sums)
    }
}

fn protocol() -> Protocol {
    Protocol::new("typed.v1")
        .method(
            MethodDef::builder("squares").typed_producer(|p: Upto, _: &CallContext| Ok(Squares { next: 0, end: p.n })),
        )
        .method(MethodDef::builder("running").typed_exchange(|(): (), _: &CallContext| Ok(Running { total: 0 })))
        .method(MethodDef::builder("double").typed_unary(|p: Upto, _: &CallContext| Ok(p.n * 2)))
}

#[test]
fn typed_streams_over_a_pipe() {
    let (server_in, client_out) = std::io::pipe().unwrap();
    let (client_in, server_out) = std::io::pipe().unwrap();
    let server = Server::builder().protocol(protocol()).build().unwrap();
    let worker = std::thread::spawn(move || {
        serve_connection(
            &server,
            &mut BufReader::new(server_in),
            &mut BufWriter::new(server_out),
            &ConnectionInfo::default(),
        )
    });
    let mut client = Client::new(BufReader::new(client_in), BufWriter::new(client_out));
    assert_eq!(call_unary::<_, _, i64>(&mut client, "typed.v1", "double", Upto { n: 21 }).unwrap(), 42);

    let mut squares = open_producer::<_, _, Square>(&mut client, "typed.v1", "squares", Upto { n: 3 }).unwrap();
    let rows = squares.collect_rows().unwrap();
    assert_eq!(rows.iter().map(|r| r.sq).collect::<Vec<_>>(), vec![0, 1, 4]);
    drop(squares);

    let mut running = open_exchange::<_, _, Value<i64>, Value<i64>>(&mut client, "typed.v1", "running", ()).unwrap();
    assert_eq!(running.exchange(vec![Value(1), Value(2)]).unwrap(), vec![Value(1), Value(3)]);
    assert_eq!(running.exchange(vec![Value(10)]).unwrap(), vec![Value(13)]);
    running.close().unwrap();

    // A wrongly typed answer is a decode error, not a panic.
    let err = call_unary::<_, _, String>(&mut client, "typed.v1", "double", Upto { n: 1 }).unwrap_err();
    assert!(err.to_string().contains("cannot decode the result"), "{err}");
    drop(client);
    worker.join().unwrap().unwrap();
}

#[test]
fn registration_installs_the_state_codec() {
    let protocol = protocol();
    let squares = protocol.method_defs().iter().find(|m| m.name() == "squares").unwrap().clone();
    let decoder = squares.state_decoder().expect("typed producers register their decoder");
    let bytes = vgi_rpc_core::state_codec::encode_state(&Squares { next: 2, end: 4 }).unwrap();
    let StreamState::Producer(mut state) = decoder(&bytes).unwrap() else { panic!("a producer state") };
    // The resumed state continues where the encoded one stopped, and
    // encodes itself again for the next hop.
    let ctx = CallContext::new(
        "r".into(),
        "s".into(),
        "typed.v1".into(),
        "squares".into(),
        Default::default(),
        Default::default(),
    );
    let mut out = OutputCollector::new(Square::schema(), true);
    state.produce(&mut out, &ctx).unwrap();
    assert!(out.has_data());
    let again = state.encode_state().expect("typed states always encode");
    assert_eq!(vgi_rpc_core::state_codec::decode_state::<Squares>(&again).unwrap().next, 3);

    let running = protocol.method_defs().iter().find(|m| m.name() == "running").unwrap().clone();
    let decoder = running.state_decoder().expect("typed exchanges register their decoder");
    let bytes = vgi_rpc_core::state_codec::encode_state(&Running { total: 5 }).unwrap();
    let StreamState::Exchange { input_schema, .. } = decoder(&bytes).unwrap() else { panic!("an exchange state") };
    assert_eq!(input_schema.field(0).name(), "value");
    assert!(decoder(&[0xff]).is_err());
}
