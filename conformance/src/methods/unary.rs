//! The unary methods of ConformanceService, on the typed layer: each
//! parameter list is a `#[derive(Params)]` struct (generic where only the
//! parameter's type changes) and each result a Rust type whose Arrow type
//! is the declared one.
//!
//! Parameter fields carry no `///` docs: a documented field would add a
//! parameter doc to reflection, which these methods do not declare.

use std::time::SystemTime;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use serde_json::{Map, Value};
use vgi_rpc::rpc::wire::EncodedSchema;
use vgi_rpc::typed::{
    ArrowType, Date32, Decimal128, DictionaryString, DurationMicros, FixedBinary, LargeBinary, LargeString, OrderedMap,
    Row, RpcResult, Time64Micros, TimestampMicros,
};
use vgi_rpc::{CallContext, LogLevel, MethodDef, Params, RpcError};

use super::cancel_probe;
use super::dataclass::{decode, encode};
use super::pyfmt::py_float;
use super::rows::{NestedContainers, Point, Status};
use super::types::*;

/// A lone parameter named `value`.
#[derive(Params)]
struct ValueOf<T> {
    value: T,
}

/// A lone parameter named `data`.
#[derive(Params)]
struct DataOf<T> {
    data: T,
}

/// A lone parameter named `point`.
#[derive(Params)]
struct PointOf<T> {
    point: T,
}

/// `echo_bounding_box(box)`.
#[derive(Params)]
struct BoxArg {
    #[vgi(rename = "box")]
    payload: Vec<u8>,
}

/// `echo_enum(status)`.
#[derive(Params)]
struct StatusArg {
    status: Status,
}

/// `echo_status_list(statuses)`.
#[derive(Params)]
struct StatusesArg {
    statuses: Vec<Option<Status>>,
}

/// `echo_list(values)`.
#[derive(Params)]
struct ValuesArg {
    values: Vec<Option<String>>,
}

/// `echo_dict(mapping)`.
#[derive(Params)]
struct MappingArg {
    mapping: OrderedMap<String, Option<i64>>,
}

/// `echo_nested_list(matrix)`.
#[derive(Params)]
struct MatrixArg {
    matrix: Vec<Option<Vec<Option<i64>>>>,
}

/// `oversized_unary(target_bytes)`.
#[derive(Params)]
struct OversizedArgs {
    target_bytes: i64,
}

/// `pack_nested_containers(statuses, points, status_by_name)`.
#[derive(Params)]
struct PackArgs {
    statuses: Vec<Option<Status>>,
    points: Vec<Option<Point>>,
    status_by_name: OrderedMap<String, Option<Status>>,
}

/// `add_floats(a, b)`.
#[derive(Params)]
struct AddArgs {
    a: f64,
    b: f64,
}

/// `concatenate(prefix, suffix, separator="-")`.
#[derive(Params)]
struct ConcatenateArgs {
    prefix: String,
    suffix: String,
    #[vgi(default = "-")]
    separator: String,
}

/// `with_defaults(required, optional_str="default", optional_int=42)`.
#[derive(Params)]
struct WithDefaultsArgs {
    required: i64,
    #[vgi(default = "default")]
    optional_str: String,
    #[vgi(default = 42)]
    optional_int: i64,
}

/// The `raise_*` methods' `message`.
#[derive(Params)]
struct MessageArg {
    message: String,
}

/// `open_counter(initial)`.
#[derive(Params)]
pub(super) struct InitialArg {
    pub(super) initial: i64,
}

/// `increment_counter(by)`.
#[derive(Params)]
pub(super) struct ByArg {
    pub(super) by: i64,
}

/// A method that returns its `value` unchanged.
fn echo<T: ArrowType + 'static>(name: &str) -> MethodDef {
    MethodDef::builder(name).typed_unary(|p: ValueOf<T>, _: &CallContext| -> RpcResult<T> { Ok(p.value) })
}

/// Check a dataclass payload against its declared schema.
fn check(name: &str, bytes: &[u8], schema: &Cached) -> Result<(), RpcError> {
    decode(name, bytes, &schema.schema).map(drop)
}

/// A method that validates a dataclass payload named `data` and returns it.
fn echo_data(name: &'static str, schema: &'static Cached) -> MethodDef {
    MethodDef::builder(name).typed_unary(move |p: DataOf<Vec<u8>>, _: &CallContext| -> RpcResult<Vec<u8>> {
        check(name, &p.data, schema)?;
        Ok(p.data)
    })
}

fn logging_echo(name: &str, logs: fn(&str, &CallContext)) -> MethodDef {
    MethodDef::builder(name).typed_unary(move |p: ValueOf<String>, ctx: &CallContext| -> RpcResult<String> {
        logs(&p.value, ctx);
        Ok(p.value)
    })
}

fn raising(name: &str, make: fn(&str) -> RpcError) -> MethodDef {
    MethodDef::builder(name)
        .typed_unary(move |p: MessageArg, _: &CallContext| -> RpcResult<String> { Err(make(&p.message)) })
}

fn inspect_point(bytes: &[u8]) -> Result<String, RpcError> {
    let batch = decode("inspect_point", bytes, &POINT.schema)?;
    let x = batch.column(0).as_primitive::<Float64Type>().value(0);
    let y = batch.column(1).as_primitive::<Float64Type>().value(0);
    Ok(format!("Point({}, {})", py_float(x), py_float(y)))
}

fn pack_nested_containers(p: PackArgs) -> Result<Vec<u8>, RpcError> {
    let mut frozen: Vec<Option<Status>> = Vec::new();
    for s in &p.statuses {
        if !frozen.contains(s) {
            frozen.push(*s);
        }
    }
    let tagged = vgi_rpc::typed::Value::<Option<i64>>::to_batch(vec![
        vgi_rpc::typed::Value(Some(1)),
        vgi_rpc::typed::Value(Some(2)),
    ])?;
    let tagged_bytes = encode(&tagged, &EncodedSchema::new(tagged.schema()))?;
    let row = NestedContainers {
        tagged_status: p.statuses.first().copied().flatten(),
        tagged_point: p.points.first().copied().flatten(),
        statuses: p.statuses,
        points: p.points,
        status_by_name: p.status_by_name,
        frozen_statuses: frozen,
        tagged_batch: Some(tagged_bytes),
    };
    let batch = NestedContainers::to_batch(vec![row])?;
    encode(&batch, &NESTED_CONTAINERS.encoded)
}

/// Every unary method.
pub fn methods() -> Vec<MethodDef> {
    let mut m = vec![
        echo::<String>("echo_string"),
        MethodDef::builder("echo_bytes")
            .typed_unary(|p: DataOf<Vec<u8>>, _: &CallContext| -> RpcResult<Vec<u8>> { Ok(p.data) }),
        echo::<i64>("echo_int"),
        echo::<f64>("echo_float"),
        echo::<bool>("echo_bool"),
        MethodDef::builder("oversized_unary").typed_unary(|p: OversizedArgs, _: &CallContext| -> RpcResult<Vec<u8>> {
            let n = usize::try_from(p.target_bytes)
                .map_err(|_| RpcError::value_error("target_bytes must be non-negative"))?;
            Ok(vec![0u8; n])
        }),
        super::published::published_string(),
        MethodDef::builder("void_noop").typed_unary(|(): (), _: &CallContext| -> RpcResult<()> { Ok(()) }),
        MethodDef::builder("void_with_param")
            .typed_unary(|_: ValueOf<i64>, _: &CallContext| -> RpcResult<()> { Ok(()) }),
        MethodDef::builder("echo_enum")
            .typed_unary(|p: StatusArg, _: &CallContext| -> RpcResult<Status> { Ok(p.status) }),
        MethodDef::builder("echo_list")
            .typed_unary(|p: ValuesArg, _: &CallContext| -> RpcResult<Vec<Option<String>>> { Ok(p.values) }),
        MethodDef::builder("echo_dict").typed_unary(
            |p: MappingArg, _: &CallContext| -> RpcResult<OrderedMap<String, Option<i64>>> { Ok(p.mapping) },
        ),
        MethodDef::builder("echo_nested_list")
            .typed_unary(|p: MatrixArg, _: &CallContext| -> RpcResult<Vec<Option<Vec<Option<i64>>>>> { Ok(p.matrix) }),
        echo::<Option<String>>("echo_optional_string"),
        echo::<Option<i64>>("echo_optional_int"),
        MethodDef::builder("echo_optional_point").typed_unary(
            |p: PointOf<Option<Vec<u8>>>, _: &CallContext| -> RpcResult<Option<Vec<u8>>> {
                if let Some(bytes) = &p.point {
                    check("echo_optional_point", bytes, &POINT)?;
                }
                Ok(p.point)
            },
        ),
        echo::<Option<i32>>("echo_annotated_optional_int"),
        echo::<i32>("echo_outer_optional_non_null"),
        MethodDef::builder("echo_point").typed_unary(|p: PointOf<Vec<u8>>, _: &CallContext| -> RpcResult<Vec<u8>> {
            check("echo_point", &p.point, &POINT)?;
            Ok(p.point)
        }),
        echo_data("echo_all_types", &ALL_TYPES),
        MethodDef::builder("echo_bounding_box").typed_unary(|p: BoxArg, _: &CallContext| -> RpcResult<Vec<u8>> {
            check("echo_bounding_box", &p.payload, &BOUNDING_BOX)?;
            Ok(p.payload)
        }),
        MethodDef::builder("inspect_point")
            .typed_unary(|p: PointOf<Vec<u8>>, _: &CallContext| -> RpcResult<String> { inspect_point(&p.point) }),
        echo::<i32>("echo_int32"),
        echo::<f32>("echo_float32"),
        echo::<i8>("echo_int8"),
        echo::<i16>("echo_int16"),
        echo::<u8>("echo_uint8"),
        echo::<u16>("echo_uint16"),
        echo::<u32>("echo_uint32"),
        echo::<u64>("echo_uint64"),
        echo::<Date32>("echo_date"),
        echo::<TimestampMicros>("echo_timestamp"),
        echo::<SystemTime>("echo_timestamp_utc"),
        echo::<Time64Micros>("echo_time"),
        echo::<DurationMicros>("echo_duration"),
        echo::<Decimal128<20, 4>>("echo_decimal"),
        echo::<LargeString>("echo_large_string"),
        echo::<LargeBinary>("echo_large_binary"),
        echo::<FixedBinary<8>>("echo_fixed_binary"),
        echo_data("echo_wide_types", &WIDE_TYPES),
        echo_data("echo_container_wide_types", &CONTAINER_WIDE_TYPES),
        echo_data("echo_embedded_arrow", &EMBEDDED_ARROW),
        echo_data("echo_deep_nested", &DEEP_NESTED),
        MethodDef::builder("pack_nested_containers")
            .typed_unary(|p: PackArgs, _: &CallContext| -> RpcResult<Vec<u8>> { pack_nested_containers(p) }),
        MethodDef::builder("echo_status_list")
            .typed_unary(|p: StatusesArg, _: &CallContext| -> RpcResult<Vec<Option<Status>>> { Ok(p.statuses) }),
        echo::<DictionaryString>("echo_dict_encoded_string"),
        MethodDef::builder("add_floats").typed_unary(|p: AddArgs, _: &CallContext| -> RpcResult<f64> { Ok(p.a + p.b) }),
        MethodDef::builder("concatenate").typed_unary(|p: ConcatenateArgs, _: &CallContext| -> RpcResult<String> {
            Ok(format!("{}{}{}", p.prefix, p.separator, p.suffix))
        }),
        MethodDef::builder("with_defaults").typed_unary(|p: WithDefaultsArgs, _: &CallContext| -> RpcResult<String> {
            Ok(format!("required={}, optional_str={}, optional_int={}", p.required, p.optional_str, p.optional_int))
        }),
        raising("raise_value_error", |m| RpcError::value_error(m)),
        raising("raise_runtime_error", |m| RpcError::runtime_error(m)),
        raising("raise_type_error", |m| RpcError::type_error(m)),
        logging_echo("echo_with_info_log", |v, ctx| ctx.client_log(LogLevel::Info, format!("info: {v}"))),
        logging_echo("echo_with_multi_logs", |v, ctx| {
            ctx.client_log(LogLevel::Debug, format!("debug: {v}"));
            ctx.client_log(LogLevel::Info, format!("info: {v}"));
            ctx.client_log(LogLevel::Warn, format!("warn: {v}"));
        }),
        logging_echo("echo_with_log_extras", |v, ctx| {
            let mut extra = Map::new();
            extra.insert("source".into(), Value::from("conformance"));
            extra.insert("detail".into(), Value::from(v));
            ctx.client_log_with(LogLevel::Info, format!("info: {v}"), extra);
        }),
        logging_echo("echo_with_all_log_levels", |v, ctx| {
            for level in [LogLevel::Trace, LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error] {
                ctx.client_log(level, format!("{}: {v}", level.as_str().to_lowercase()));
            }
        }),
        MethodDef::builder("cancel_probe_counters").typed_unary(
            |(): (), _: &CallContext| -> RpcResult<Vec<Option<i64>>> {
                let (produce, exchange, on_cancel) = cancel_probe::snapshot()?;
                Ok(vec![Some(produce), Some(exchange), Some(on_cancel)])
            },
        ),
        MethodDef::builder("reset_cancel_probe").typed_unary(|(): (), _: &CallContext| cancel_probe::reset()),
        MethodDef::builder("open_counter").typed_unary(super::sticky::open_counter),
        MethodDef::builder("increment_counter").typed_unary(super::sticky::increment_counter),
        MethodDef::builder("close_counter")
            .typed_unary(|(): (), ctx: &CallContext| -> RpcResult<i64> { super::sticky::close_counter(ctx) }),
    ];
    m.shrink_to_fit();
    m
}

#[cfg(test)]
mod tests {
    use vgi_rpc::typed::MethodParams;

    use super::*;

    #[test]
    fn generic_parameter_lists_keep_one_schema_per_type() {
        assert_eq!(ValueOf::<i64>::schema().field(0).data_type(), &arrow_schema::DataType::Int64);
        assert_eq!(ValueOf::<Option<String>>::schema().field(0).data_type(), &arrow_schema::DataType::Utf8);
        assert!(ValueOf::<Option<String>>::schema().field(0).is_nullable());
        assert_eq!(BoxArg::schema().field(0).name(), "box");
        assert_eq!(ConcatenateArgs::defaults(), vec![("separator".to_owned(), serde_json::Value::from("-"))]);
        assert!(WithDefaultsArgs::docs().is_empty());
    }

    #[test]
    fn pack_nested_containers_keeps_first_seen_order() {
        let args = PackArgs {
            statuses: vec![Some(Status::Active), Some(Status::Pending), Some(Status::Active)],
            points: vec![Some(Point { x: 1.0, y: 2.0 })],
            status_by_name: OrderedMap(vec![("b".into(), Some(Status::Closed)), ("a".into(), None)]),
        };
        let bytes = pack_nested_containers(args).unwrap();
        let batch = decode("pack_nested_containers", &bytes, &NESTED_CONTAINERS.schema).unwrap();
        let row = NestedContainers::from_batch(&batch).unwrap().remove(0);
        assert_eq!(row.frozen_statuses, vec![Some(Status::Active), Some(Status::Pending)]);
        assert_eq!(row.tagged_status, Some(Status::Active));
        assert_eq!(row.tagged_point, Some(Point { x: 1.0, y: 2.0 }));
        assert_eq!(row.status_by_name.0[0].0, "b");
    }
}
