//! Building a method's parameter batch from `NAME=VALUE` pairs and a
//! `--json` object, typed by the parameter schema the worker described.
//! Values are checked against their declared type here, so a mistake is
//! reported as "parameter X expects T", not as an Arrow decode failure.

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, SchemaRef};
use serde_json::{Map, Number, Value};
use vgi_rpc_core::client::no_params;

use crate::error::CliError;
use crate::suggest::close_names;

/// One row of parameters for a method with `schema`.
pub fn build(method: &str, schema: &SchemaRef, pairs: &[String], json: Option<&str>) -> Result<RecordBatch, CliError> {
    let mut values = match json {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            Ok(other) => {
                return Err(CliError::usage_hint(
                    format!("--json must be a JSON object, got {}", kind_of(&other)),
                    "write it like --json '{\"name\": value}'",
                ))
            }
            Err(e) => {
                return Err(CliError::usage_hint(
                    format!("--json is not valid JSON: {e}"),
                    "quote it for the shell: --json '{\"a\": 1}'",
                ))
            }
        },
    };
    for key in values.keys() {
        field_named(method, schema, key)?;
    }
    for pair in pairs {
        let Some((name, raw)) = pair.split_once('=') else {
            return Err(CliError::usage_hint(
                format!("expected NAME=VALUE, got {pair:?}"),
                format!("parameters of {method}: {}", signature(schema)),
            ));
        };
        let field = field_named(method, schema, name)?;
        values.insert(name.to_owned(), from_text(field, raw)?);
    }
    for field in schema.fields() {
        match values.get(field.name()) {
            Some(v) => check(field, v)?,
            None if field.is_nullable() => {
                values.insert(field.name().clone(), Value::Null);
            }
            None => {
                return Err(CliError::usage_hint(
                    format!("missing parameter {:?} ({}) of {method}", field.name(), type_name(field.data_type())),
                    format!(
                        "pass it as {}=VALUE; every parameter must be given (declared defaults are not part of \
                         the worker's description). Parameters: {}",
                        field.name(),
                        signature(schema)
                    ),
                ));
            }
        }
    }
    if schema.fields().is_empty() {
        return Ok(no_params());
    }
    decode_row(schema, values).map_err(|e| {
        CliError::usage_hint(
            format!("the parameters do not fit {method}'s parameter types: {e}"),
            format!("parameters of {method}: {}", signature(schema)),
        )
    })
}

/// Decode one JSON object into a one-row batch of `schema`. Binary values
/// are hex; dictionary columns (enums) are read as their value type and
/// cast, which arrow-json does not do itself.
pub fn decode_row(schema: &SchemaRef, row: Map<String, Value>) -> Result<RecordBatch, arrow_schema::ArrowError> {
    decode_rows(schema, std::slice::from_ref(&Value::Object(row)))
}

/// Decode JSON objects into one batch of `schema` (see [`decode_row`]).
pub fn decode_rows(schema: &SchemaRef, rows: &[Value]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let plain: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Dictionary(_, value) => f.as_ref().clone().with_data_type(value.as_ref().clone()),
            _ => f.as_ref().clone(),
        })
        .collect();
    let plain = std::sync::Arc::new(arrow_schema::Schema::new_with_metadata(plain, schema.metadata().clone()));
    let mut decoder = arrow_json::ReaderBuilder::new(plain).build_decoder()?;
    decoder.serialize(rows)?;
    let batch =
        decoder.flush()?.ok_or_else(|| arrow_schema::ArrowError::JsonError("the decoder produced no row".into()))?;
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| if c.data_type() == f.data_type() { Ok(c.clone()) } else { arrow_cast::cast(c, f.data_type()) })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

fn field_named<'a>(method: &str, schema: &'a SchemaRef, name: &str) -> Result<&'a Field, CliError> {
    schema.field_with_name(name).map_err(|_| {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let close = close_names(name, names.iter().copied());
        let mut hint = if schema.fields().is_empty() {
            format!("{method} takes no parameters")
        } else {
            format!("parameters of {method}: {}", signature(schema))
        };
        if !close.is_empty() {
            hint = format!("did you mean {}? {hint}", close.join(", "));
        }
        CliError::usage_hint(format!("{method} has no parameter {name:?}"), hint)
    })
}

/// `a: float64, b: float64` for hints and describe output.
pub fn signature(schema: &SchemaRef) -> String {
    if schema.fields().is_empty() {
        return "(none)".to_owned();
    }
    schema
        .fields()
        .iter()
        .map(|f| format!("{}: {}{}", f.name(), type_name(f.data_type()), if f.is_nullable() { "?" } else { "" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A short, lower-case type name (`int64`, `utf8`, `list<int64>`, ...).
pub fn type_name(t: &DataType) -> String {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            format!("list<{}>", type_name(f.data_type()))
        }
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields.iter().map(|f| format!("{}: {}", f.name(), type_name(f.data_type()))).collect::<Vec<_>>().join(", ")
        ),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!("map<{}, {}>", type_name(kv[0].data_type()), type_name(kv[1].data_type()))
            }
            _ => "map".to_owned(),
        },
        DataType::Dictionary(_, v) => format!("dictionary<{}>", type_name(v)),
        other => other.to_string().to_lowercase(),
    }
}

fn is_string(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_string(v),
        _ => false,
    }
}

fn is_integer(t: &DataType) -> bool {
    t.is_integer()
}

fn expects(field: &Field, what: &str, got: &str) -> CliError {
    CliError::usage_hint(
        format!("parameter {:?} expects {what} ({}), got {got}", field.name(), type_name(field.data_type())),
        if is_nested(field.data_type()) {
            format!("write {} as JSON, e.g. {}='[1, 2]' or use --json", field.name(), field.name())
        } else {
            format!("e.g. {}={}", field.name(), example(field.data_type()))
        },
    )
}

fn is_nested(t: &DataType) -> bool {
    t.is_nested()
}

fn example(t: &DataType) -> &'static str {
    match t {
        t if is_integer(t) => "42",
        t if t.is_floating() => "1.5",
        DataType::Boolean => "true",
        DataType::Date32 | DataType::Date64 => "2024-01-31",
        DataType::Timestamp(_, _) => "2024-01-31T12:00:00Z",
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "68656c6c6f (hex)",
        _ => "text",
    }
}

/// The JSON value a `NAME=VALUE` text stands for, given the field's type.
fn from_text(field: &Field, raw: &str) -> Result<Value, CliError> {
    let t = field.data_type();
    if is_string(t) || matches!(t, DataType::Binary | DataType::LargeBinary | DataType::BinaryView) {
        return Ok(Value::String(raw.to_owned()));
    }
    if raw == "null" && field.is_nullable() {
        return Ok(Value::Null);
    }
    if is_integer(t) {
        if let Ok(v) = raw.parse::<i64>() {
            return Ok(Value::Number(v.into()));
        }
        if let Ok(v) = raw.parse::<u64>() {
            return Ok(Value::Number(v.into()));
        }
        return Err(expects(field, "an integer", &format!("{raw:?}")));
    }
    if t.is_floating() {
        return raw
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| expects(field, "a number", &format!("{raw:?}")));
    }
    if *t == DataType::Boolean {
        return match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Value::Bool(true)),
            "false" | "0" | "no" | "off" => Ok(Value::Bool(false)),
            _ => Err(expects(field, "true or false", &format!("{raw:?}"))),
        };
    }
    if is_nested(t) {
        return serde_json::from_str(raw).map_err(|e| expects(field, "JSON", &format!("{raw:?} ({e})")));
    }
    // Decimals, dates, times, timestamps, durations: arrow-json reads them from text.
    Ok(Value::String(raw.to_owned()))
}

/// Check a value from `--json` against the field's type.
fn check(field: &Field, value: &Value) -> Result<(), CliError> {
    let t = field.data_type();
    match value {
        Value::Null if field.is_nullable() => Ok(()),
        Value::Null => Err(expects(field, "a value", "null (the parameter is not nullable)")),
        Value::String(_) if is_string(t) => Ok(()),
        _ if is_string(t) => Err(expects(field, "a string", kind_of(value))),
        Value::Number(n) if is_integer(t) && (n.is_i64() || n.is_u64()) => Ok(()),
        _ if is_integer(t) => Err(expects(field, "an integer", &value.to_string())),
        Value::Number(_) if t.is_floating() => Ok(()),
        _ if t.is_floating() => Err(expects(field, "a number", &value.to_string())),
        Value::Bool(_) if *t == DataType::Boolean => Ok(()),
        _ if *t == DataType::Boolean => Err(expects(field, "true or false", &value.to_string())),
        _ => Ok(()),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    use arrow_schema::Schema;

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("a", DataType::Float64, false),
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]))
    }

    #[test]
    fn pairs_are_typed_by_the_schema() {
        let batch = build("m", &schema(), &["a=1.5".into(), "n=7".into(), "s=hi".into()], None).expect("params");
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(batch.column(0).as_primitive::<Float64Type>().value(0), 1.5);
        assert_eq!(batch.column(1).as_primitive::<Int64Type>().value(0), 7);
        assert_eq!(batch.column(2).as_string::<i32>().value(0), "hi");
        assert_eq!(batch.schema(), schema());
    }

    #[test]
    fn json_and_pairs_combine_and_nullable_params_may_be_left_out() {
        let batch = build("m", &schema(), &["n=3".into()], Some(r#"{"a": 2, "n": 1}"#)).expect("params");
        assert_eq!(batch.column(0).as_primitive::<Float64Type>().value(0), 2.0);
        assert_eq!(batch.column(1).as_primitive::<Int64Type>().value(0), 3);
        assert!(batch.column(2).is_null(0));
    }

    #[test]
    fn a_bad_value_names_the_expected_type() {
        let err = build("m", &schema(), &["a=x".into(), "n=1".into()], None).expect_err("bad float");
        assert!(err.to_string().contains("parameter \"a\" expects a number (float64)"), "{err}");
        let err = build("m", &schema(), &[], Some(r#"{"a": 1, "n": "x"}"#)).expect_err("bad int");
        assert!(err.to_string().contains("expects an integer (int64)"), "{err}");
    }

    #[test]
    fn an_unknown_name_suggests_close_ones_and_a_missing_one_is_named() {
        let err = build("m", &schema(), &["nn=1".into()], None).expect_err("unknown");
        assert!(err.hint().unwrap_or_default().contains("did you mean n"), "{:?}", err.hint());
        let err = build("m", &schema(), &["a=1".into()], None).expect_err("missing");
        assert!(err.to_string().contains("missing parameter \"n\" (int64)"), "{err}");
    }
}
