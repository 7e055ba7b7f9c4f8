use std::collections::HashSet;

use vgi_rpc::typed::RpcResult;

#[vgi_rpc::service(protocol = "demo.v1")]
pub trait Demo {
    fn greet(&self, name: String) -> RpcResult<String>;
    fn total(&self, values: HashSet<i64>) -> RpcResult<i64>;
}

fn call(client: &mut DemoClient<vgi_rpc::Client<std::io::Empty, std::io::Sink>>) {
    let _ = client.greet(42);
}

fn main() {}
