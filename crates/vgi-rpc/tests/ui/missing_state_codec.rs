use serde::Serialize;
use vgi_rpc::typed::{Producer, Rows, RpcResult, Value};
use vgi_rpc::CallContext;

#[derive(Serialize)]
pub struct Counter {
    next: i64,
}

impl Producer for Counter {
    type Row = Value<i64>;
    fn produce(&mut self, out: &mut Rows<'_, Value<i64>>, _ctx: &CallContext) -> RpcResult<()> {
        out.finish()
    }
}

fn main() {}
