//! The derives on their own: `#[derive(Row)]` with every kind of field
//! (nested structs, options, lists, maps, temporal and decimal values)
//! round-trips through a record batch, `#[derive(Params)]` carries names,
//! defaults and docs into the method definition, and a `#[service]` method
//! taking a params struct and the call context works end to end.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use vgi_rpc::typed::{Date32, Decimal128, MethodParams, Row as _, RpcResult, TimestampMicros};
use vgi_rpc::{CallContext, MethodDef, Params, Row, Server};

/// A nested struct column.
#[derive(Row, Debug, Clone, PartialEq)]
struct Point {
    x: i32,
    y: Option<i32>,
}

/// One row with a field of every kind.
#[derive(Row, Debug, Clone, PartialEq)]
struct Everything {
    small: i8,
    unsigned: u64,
    ratio: f32,
    flag: bool,
    #[vgi(rename = "label_text")]
    label: String,
    blob: Vec<u8>,
    maybe: Option<String>,
    list: Vec<Option<i64>>,
    tags: BTreeMap<String, i16>,
    at: Point,
    maybe_at: Option<Point>,
    day: Date32,
    when: TimestampMicros,
    elapsed: Duration,
    price: Decimal128<10, 2>,
}

fn sample(i: i64) -> Everything {
    Everything {
        small: -3,
        unsigned: u64::MAX - i as u64,
        ratio: 0.5,
        flag: i % 2 == 0,
        label: format!("row {i}"),
        blob: vec![0, 1, 255],
        maybe: (i % 2 == 1).then(|| "odd".to_owned()),
        list: vec![Some(i), None],
        tags: BTreeMap::from([("k".to_owned(), 7)]),
        at: Point { x: 1, y: None },
        maybe_at: (i == 0).then_some(Point { x: 2, y: Some(3) }),
        day: Date32(19_000),
        when: TimestampMicros(1_700_000_000_000_000 + i),
        elapsed: Duration::from_millis(1500),
        price: Decimal128(1234),
    }
}

#[test]
fn rows_round_trip_through_a_batch() {
    let rows: Vec<Everything> = (0..3).map(sample).collect();
    let batch = Everything::to_batch(rows.clone()).unwrap();
    assert_eq!(batch.num_rows(), 3);
    assert_eq!(batch.schema().field(4).name(), "label_text");
    assert!(batch.schema().field_with_name("maybe_at").unwrap().is_nullable());
    assert_eq!(Everything::from_batch(&batch).unwrap(), rows);
    // Columns are matched by name, so a reordered projection reads too.
    let points = Point::to_batch(vec![Point { x: 5, y: Some(6) }]).unwrap();
    let swapped = points.project(&[1, 0]).unwrap();
    assert_eq!(Point::from_batch(&swapped).unwrap(), vec![Point { x: 5, y: Some(6) }]);
    // A missing column is an error naming it.
    let err = Everything::from_batch(&points).unwrap_err();
    assert!(err.message.contains("small"), "{err}");
}

/// Parameters of `search`.
#[derive(Params, Debug, PartialEq)]
struct Search {
    /// What to look for.
    query: String,
    /// How many results at most.
    #[vgi(default = 10)]
    limit: i64,
    filter: Option<Vec<String>>,
}

#[test]
fn params_reach_the_method_definition() {
    let method = MethodDef::builder("search").params_of::<Search>().unary(|_, _| Ok(None));
    let schema = method.params_schema().schema().clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, vec!["query", "limit", "filter"]);
    assert!(schema.field(2).is_nullable());
    assert_eq!(method.defaults()[0].0, "limit");
    assert_eq!(method.defaults()[0].1.as_i64(), Some(10));
    assert_eq!(method.param_docs()[0], ("query".to_owned(), "What to look for.".to_owned()));

    let value = Search { query: "q".into(), limit: 3, filter: Some(vec!["a".into()]) };
    let batch = Search { query: "q".into(), limit: 3, filter: Some(vec!["a".into()]) }.into_batch().unwrap();
    assert_eq!(Search::from_params(&Params::new(&batch)).unwrap(), value);
    // An absent defaulted column takes the default.
    let short = batch.project(&[0, 2]).unwrap();
    assert_eq!(Search::from_params(&Params::new(&short)).unwrap().limit, 10);
}

#[vgi_rpc::service(protocol = "derive.Demo.v1", version = "2.1.0")]
trait Demo {
    /// Search with a parameter struct; the context names the method.
    fn search(&self, #[vgi(params)] search: Search, ctx: &CallContext) -> RpcResult<Vec<String>>;
    /// A void method.
    fn ping(&self) -> RpcResult<()>;
    /// Sum of a list, renamed on the wire.
    #[vgi(name = "sum_all")]
    fn sum(&self, values: Vec<i64>) -> RpcResult<Option<i64>>;
}

struct DemoImpl;

impl Demo for DemoImpl {
    fn search(&self, search: Search, ctx: &CallContext) -> RpcResult<Vec<String>> {
        let mut out = vec![format!("{}:{}", ctx.method(), search.query)];
        out.extend(search.filter.unwrap_or_default());
        out.truncate(search.limit as usize);
        Ok(out)
    }
    fn ping(&self) -> RpcResult<()> {
        Ok(())
    }
    fn sum(&self, values: Vec<i64>) -> RpcResult<Option<i64>> {
        Ok((!values.is_empty()).then(|| values.iter().sum()))
    }
}

#[test]
fn a_service_with_params_structs_context_and_void() {
    let server = Server::builder().protocol(demo_protocol(DemoImpl)).build().unwrap();
    assert!(server.protocol("derive.Demo.v1").unwrap().get("sum_all").is_some());
    let (client, worker) = support::serve_on_pipe(server);
    let mut demo = DemoClient::new(client);
    let found =
        demo.search(Search { query: "x".into(), limit: 2, filter: Some(vec!["a".into(), "b".into()]) }).unwrap();
    assert_eq!(found, vec!["search:x".to_owned(), "a".to_owned()]);
    demo.ping().unwrap();
    assert_eq!(demo.sum(vec![1, 2, 3]).unwrap(), Some(6));
    assert_eq!(demo.sum(vec![]).unwrap(), None);
    drop(demo);
    worker.join().unwrap().unwrap();
}
