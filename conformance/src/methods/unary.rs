//! The unary methods of ConformanceService.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, BinaryArray, Float64Array, Int64Array, ListArray, RecordBatch, StringArray};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use serde_json::{Map, Value};
use vgi_rpc::rpc::wire::EncodedSchema;
use vgi_rpc::{LogLevel, MethodDef, Params, RpcError};

use super::arrays::{points, read_statuses, statuses};
use super::cancel_probe;
use super::dataclass::{binary_value, decode, encode};
use super::pyfmt::py_float;
use super::types::*;

fn string(s: String) -> Option<ArrayRef> {
    Some(Arc::new(StringArray::from(vec![s])))
}

/// A method that returns its parameter unchanged.
fn echo(name: &str, param: &str, dt: DataType, nullable: bool) -> MethodDef {
    let param_name = param.to_owned();
    MethodDef::builder(name)
        .param(param, dt.clone(), nullable)
        .returns(dt, nullable)
        .unary(move |p, _| Ok(Some(p.value(&param_name)?)))
}

/// A method that validates a dataclass payload and returns it unchanged.
fn echo_dataclass(name: &'static str, param: &'static str, schema: &'static Cached, nullable: bool) -> MethodDef {
    MethodDef::builder(name).param(param, DataType::Binary, nullable).returns(DataType::Binary, nullable).unary(
        move |p, _| {
            if let Some(bytes) = p.opt_bytes(param)? {
                decode(name, bytes, &schema.schema)?;
            }
            Ok(Some(p.value(param)?))
        },
    )
}

fn logging_echo(name: &str, logs: fn(&str, &vgi_rpc::CallContext)) -> MethodDef {
    MethodDef::builder(name).param("value", DataType::Utf8, false).returns(DataType::Utf8, false).unary(
        move |p, ctx| {
            let value = p.str("value")?;
            logs(value, ctx);
            Ok(Some(p.value("value")?))
        },
    )
}

fn raising(name: &str, make: fn(&str) -> RpcError) -> MethodDef {
    MethodDef::builder(name)
        .param("message", DataType::Utf8, false)
        .returns(DataType::Utf8, false)
        .unary(move |p, _| Err(make(p.str("message")?)))
}

fn scalar_i64(value: i64) -> ArrayRef {
    Arc::new(Int64Array::from(vec![value]))
}

fn inspect_point(p: &Params<'_>) -> Result<String, RpcError> {
    let batch = decode("inspect_point", p.bytes("point")?, &POINT.schema)?;
    let x = batch.column(0).as_primitive::<Float64Type>().value(0);
    let y = batch.column(1).as_primitive::<Float64Type>().value(0);
    Ok(format!("Point({}, {})", py_float(x), py_float(y)))
}

fn pack_nested_containers(p: &Params<'_>) -> Result<Vec<u8>, RpcError> {
    let statuses_col = p.value("statuses")?;
    let names = read_statuses(statuses_col.as_list::<i32>().value(0).as_ref())?;
    let points_col = p.value("points")?;
    let point_values = points_col.as_list::<i32>().value(0);
    let by_name_col = p.value("status_by_name")?;
    read_statuses(by_name_col.as_map().value(0).column(1).as_ref())?;

    let mut unique: Vec<Option<&str>> = Vec::new();
    for n in names.iter().map(|n| n.as_deref()) {
        if !unique.contains(&n) {
            unique.push(n);
        }
    }
    let first_point = if point_values.is_empty() || point_values.is_null(0) {
        None
    } else {
        let s = point_values.as_struct();
        Some((s.column(0).as_primitive::<Float64Type>().value(0), s.column(1).as_primitive::<Float64Type>().value(0)))
    };
    let tagged_schema = Arc::new(Schema::new(vec![Field::new("value", DataType::Int64, true)]));
    let tagged = RecordBatch::try_new(tagged_schema.clone(), vec![Arc::new(Int64Array::from(vec![1, 2]))])?;
    let tagged_bytes = encode(&tagged, &EncodedSchema::new(tagged_schema))?;
    let columns: Vec<ArrayRef> = vec![
        statuses_col,
        points_col,
        by_name_col,
        super::arrays::list(enum_type(), &[unique.len()], statuses(&unique)?),
        statuses(&[names.first().and_then(|n| n.as_deref())])?,
        points(&[first_point]),
        Arc::new(BinaryArray::from_iter_values([tagged_bytes])),
    ];
    let batch = RecordBatch::try_new(NESTED_CONTAINERS.schema.clone(), columns)?;
    encode(&batch, &NESTED_CONTAINERS.encoded)
}

/// Every unary method.
pub fn methods() -> Vec<MethodDef> {
    let mut m = vec![
        echo("echo_string", "value", DataType::Utf8, false),
        echo("echo_bytes", "data", DataType::Binary, false),
        echo("echo_int", "value", DataType::Int64, false),
        echo("echo_float", "value", DataType::Float64, false),
        echo("echo_bool", "value", DataType::Boolean, false),
        MethodDef::builder("oversized_unary")
            .param("target_bytes", DataType::Int64, false)
            .returns(DataType::Binary, false)
            .unary(|p, _| {
                let n = p.i64("target_bytes")?;
                if n < 0 {
                    return Err(RpcError::value_error("target_bytes must be non-negative"));
                }
                Ok(Some(binary_value(&vec![0u8; n as usize])))
            }),
        super::published::published_string(),
        MethodDef::builder("void_noop").unary(|_, _| Ok(None)),
        MethodDef::builder("void_with_param").param("value", DataType::Int64, false).unary(|_, _| Ok(None)),
        MethodDef::builder("echo_enum").param("status", enum_type(), false).returns(enum_type(), false).unary(
            |p, _| {
                let col = p.value("status")?;
                read_statuses(col.as_ref())?;
                Ok(Some(col))
            },
        ),
        echo("echo_list", "values", list_of(DataType::Utf8), false),
        MethodDef::builder("echo_dict")
            .param("mapping", map_of(DataType::Utf8, DataType::Int64), false)
            .returns(map_of(DataType::Utf8, DataType::Int64), false)
            .unary(|p, _| Ok(Some(p.value("mapping")?))),
        echo("echo_nested_list", "matrix", list_of(list_of(DataType::Int64)), false),
        echo("echo_optional_string", "value", DataType::Utf8, true),
        echo("echo_optional_int", "value", DataType::Int64, true),
        echo_dataclass("echo_optional_point", "point", &POINT, true),
        echo("echo_annotated_optional_int", "value", DataType::Int32, true),
        echo("echo_outer_optional_non_null", "value", DataType::Int32, false),
        echo_dataclass("echo_point", "point", &POINT, false),
        echo_dataclass("echo_all_types", "data", &ALL_TYPES, false),
        echo_dataclass("echo_bounding_box", "box", &BOUNDING_BOX, false),
        MethodDef::builder("inspect_point")
            .param("point", DataType::Binary, false)
            .returns(DataType::Utf8, false)
            .unary(|p, _| Ok(string(inspect_point(p)?))),
        echo("echo_int32", "value", DataType::Int32, false),
        echo("echo_float32", "value", DataType::Float32, false),
        echo("echo_int8", "value", DataType::Int8, false),
        echo("echo_int16", "value", DataType::Int16, false),
        echo("echo_uint8", "value", DataType::UInt8, false),
        echo("echo_uint16", "value", DataType::UInt16, false),
        echo("echo_uint32", "value", DataType::UInt32, false),
        echo("echo_uint64", "value", DataType::UInt64, false),
        echo("echo_date", "value", DataType::Date32, false),
        echo("echo_timestamp", "value", ts_us(), false),
        echo("echo_timestamp_utc", "value", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false),
        echo("echo_time", "value", DataType::Time64(TimeUnit::Microsecond), false),
        echo("echo_duration", "value", DataType::Duration(TimeUnit::Microsecond), false),
        echo("echo_decimal", "value", decimal(), false),
        echo("echo_large_string", "value", DataType::LargeUtf8, false),
        echo("echo_large_binary", "value", DataType::LargeBinary, false),
        echo("echo_fixed_binary", "value", DataType::FixedSizeBinary(8), false),
        echo_dataclass("echo_wide_types", "data", &WIDE_TYPES, false),
        echo_dataclass("echo_container_wide_types", "data", &CONTAINER_WIDE_TYPES, false),
        echo_dataclass("echo_embedded_arrow", "data", &EMBEDDED_ARROW, false),
        echo_dataclass("echo_deep_nested", "data", &DEEP_NESTED, false),
        MethodDef::builder("pack_nested_containers")
            .param("statuses", list_of(enum_type()), false)
            .param("points", list_of(point_struct()), false)
            .param("status_by_name", map_of(DataType::Utf8, enum_type()), false)
            .returns(DataType::Binary, false)
            .unary(|p, _| Ok(Some(binary_value(&pack_nested_containers(p)?)))),
        MethodDef::builder("echo_status_list")
            .param("statuses", list_of(enum_type()), false)
            .returns(list_of(enum_type()), false)
            .unary(|p, _| {
                let col = p.value("statuses")?;
                read_statuses(col.as_list::<i32>().value(0).as_ref())?;
                Ok(Some(col))
            }),
        echo("echo_dict_encoded_string", "value", enum_type(), false),
        MethodDef::builder("add_floats")
            .param("a", DataType::Float64, false)
            .param("b", DataType::Float64, false)
            .returns(DataType::Float64, false)
            .unary(|p, _| Ok(Some(Arc::new(Float64Array::from(vec![p.f64("a")? + p.f64("b")?])) as ArrayRef))),
        MethodDef::builder("concatenate")
            .param("prefix", DataType::Utf8, false)
            .param("suffix", DataType::Utf8, false)
            .param_default("separator", DataType::Utf8, false, "-")
            .returns(DataType::Utf8, false)
            .unary(|p, _| Ok(string(format!("{}{}{}", p.str("prefix")?, p.str("separator")?, p.str("suffix")?)))),
        MethodDef::builder("with_defaults")
            .param("required", DataType::Int64, false)
            .param_default("optional_str", DataType::Utf8, false, "default")
            .param_default("optional_int", DataType::Int64, false, 42)
            .returns(DataType::Utf8, false)
            .unary(|p, _| {
                Ok(string(format!(
                    "required={}, optional_str={}, optional_int={}",
                    p.i64("required")?,
                    p.str("optional_str")?,
                    p.i64("optional_int")?
                )))
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
        MethodDef::builder("cancel_probe_counters").returns(list_of(DataType::Int64), false).unary(|_, _| {
            let (produce, exchange, on_cancel) = cancel_probe::snapshot()?;
            let values = Int64Array::from(vec![produce, exchange, on_cancel]);
            Ok(Some(Arc::new(ListArray::new(
                Arc::new(Field::new("item", DataType::Int64, true)),
                OffsetBuffer::from_lengths([3]),
                Arc::new(values),
                None,
            )) as ArrayRef))
        }),
        MethodDef::builder("reset_cancel_probe").unary(|_, _| {
            cancel_probe::reset()?;
            Ok(None)
        }),
        MethodDef::builder("open_counter")
            .param("initial", DataType::Int64, false)
            .returns(DataType::Int64, false)
            .unary(|p, ctx| Ok(Some(scalar_i64(super::sticky::open_counter(p, ctx)?)))),
        MethodDef::builder("increment_counter")
            .param("by", DataType::Int64, false)
            .returns(DataType::Int64, false)
            .unary(|p, ctx| Ok(Some(scalar_i64(super::sticky::increment_counter(p, ctx)?)))),
        MethodDef::builder("close_counter")
            .returns(DataType::Int64, false)
            .unary(|_, ctx| Ok(Some(scalar_i64(super::sticky::close_counter(ctx)?)))),
    ];
    m.shrink_to_fit();
    m
}
