//! Arrow types and schemas of the conformance dataclasses and streams,
//! matching the reference's declarations field for field.

use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use vgi_rpc::rpc::wire::EncodedSchema;

/// `dictionary<int16, utf8>`: how enums travel.
pub fn enum_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8))
}

/// `list<item: T>` with a nullable item.
pub fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

/// `map<K, V>`: non-null entries and keys, nullable values.
pub fn map_of(key: DataType, value: DataType) -> DataType {
    let entries = Fields::from(vec![Field::new("key", key, false), Field::new("value", value, true)]);
    DataType::Map(Arc::new(Field::new("entries", DataType::Struct(entries), false)), false)
}

/// The fields of `Point`.
pub fn point_fields() -> Fields {
    Fields::from(vec![Field::new("x", DataType::Float64, false), Field::new("y", DataType::Float64, false)])
}

/// `struct<x, y>`: a nested Point.
pub fn point_struct() -> DataType {
    DataType::Struct(point_fields())
}

pub fn decimal() -> DataType {
    DataType::Decimal128(20, 4)
}

pub fn ts_us() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

fn f(name: &str, dt: DataType, nullable: bool) -> Field {
    Field::new(name, dt, nullable)
}

fn schema(fields: Vec<Field>) -> SchemaRef {
    Arc::new(Schema::new(fields))
}

/// A schema and its encoded form, built once.
pub struct Cached {
    pub schema: SchemaRef,
    pub encoded: Arc<EncodedSchema>,
}

impl Cached {
    fn new(schema: SchemaRef) -> Self {
        Self { encoded: Arc::new(EncodedSchema::new(schema.clone())), schema }
    }
}

macro_rules! cached {
    ($name:ident, $body:expr) => {
        pub static $name: LazyLock<Cached> = LazyLock::new(|| Cached::new($body));
    };
}

cached!(POINT, Arc::new(Schema::new(point_fields())));
cached!(
    BOUNDING_BOX,
    schema(vec![
        f("top_left", point_struct(), false),
        f("bottom_right", point_struct(), false),
        f("label", DataType::Utf8, false)
    ])
);
cached!(
    ALL_TYPES,
    schema(vec![
        f("str_field", DataType::Utf8, false),
        f("bytes_field", DataType::Binary, false),
        f("int_field", DataType::Int64, false),
        f("float_field", DataType::Float64, false),
        f("bool_field", DataType::Boolean, false),
        f("list_of_int", list_of(DataType::Int64), false),
        f("list_of_str", list_of(DataType::Utf8), false),
        f("dict_field", map_of(DataType::Utf8, DataType::Int64), false),
        f("enum_field", enum_type(), false),
        f("nested_point", point_struct(), false),
        f("optional_str", DataType::Utf8, true),
        f("optional_int", DataType::Int64, true),
        f("optional_nested", point_struct(), true),
        f("list_of_nested", list_of(point_struct()), false),
        f("annotated_int32", DataType::Int32, false),
        f("annotated_float32", DataType::Float32, false),
        f("nested_list", list_of(list_of(DataType::Int64)), false),
        f("dict_str_str", map_of(DataType::Utf8, DataType::Utf8), false),
    ])
);
cached!(
    WIDE_TYPES,
    schema(vec![
        f("int8_field", DataType::Int8, false),
        f("int16_field", DataType::Int16, false),
        f("int32_field", DataType::Int32, false),
        f("uint8_field", DataType::UInt8, false),
        f("uint16_field", DataType::UInt16, false),
        f("uint32_field", DataType::UInt32, false),
        f("uint64_field", DataType::UInt64, false),
        f("float32_field", DataType::Float32, false),
        f("date_field", DataType::Date32, false),
        f("timestamp_field", ts_us(), false),
        f("timestamp_utc_field", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false),
        f("time_field", DataType::Time64(TimeUnit::Microsecond), false),
        f("duration_field", DataType::Duration(TimeUnit::Microsecond), false),
        f("decimal_field", decimal(), false),
        f("large_string_field", DataType::LargeUtf8, false),
        f("large_binary_field", DataType::LargeBinary, false),
        f("fixed_binary_field", DataType::FixedSizeBinary(8), false),
    ])
);
cached!(
    CONTAINER_WIDE_TYPES,
    schema(vec![
        f("list_decimal", list_of(decimal()), false),
        f("list_date", list_of(DataType::Date32), false),
        f("list_timestamp", list_of(ts_us()), false),
        f("optional_date", DataType::Date32, true),
        f("optional_decimal", decimal(), true),
        f("optional_timestamp", ts_us(), true),
        f("dict_str_decimal", map_of(DataType::Utf8, decimal()), false),
        f("frozenset_int", list_of(DataType::Int64), false),
        f("list_optional_int", list_of(DataType::Int64), false),
    ])
);
cached!(
    DEEP_NESTED,
    schema(vec![
        f("list_of_lists_decimal", list_of(list_of(decimal())), false),
        f("optional_list_date", list_of(DataType::Date32), true),
        f("dict_encoded_string", enum_type(), false),
        f("list_of_dict_encoded", list_of(enum_type()), false),
    ])
);
cached!(EMBEDDED_ARROW, schema(vec![f("batch", DataType::Binary, false), f("schema", DataType::Binary, false)]));
cached!(
    NESTED_CONTAINERS,
    schema(vec![
        f("statuses", list_of(enum_type()), false),
        f("points", list_of(point_struct()), false),
        f("status_by_name", map_of(DataType::Utf8, enum_type()), false),
        f("frozen_statuses", list_of(enum_type()), false),
        f("tagged_status", enum_type(), true),
        f("tagged_point", point_struct(), true),
        f("tagged_batch", DataType::Binary, true),
    ])
);
cached!(
    CONFORMANCE_HEADER,
    schema(vec![f("total_expected", DataType::Int64, false), f("description", DataType::Utf8, false)])
);
cached!(
    RICH_HEADER,
    schema(vec![
        f("str_field", DataType::Utf8, false),
        f("bytes_field", DataType::Binary, false),
        f("int_field", DataType::Int64, false),
        f("float_field", DataType::Float64, false),
        f("bool_field", DataType::Boolean, false),
        f("list_of_int", list_of(DataType::Int64), false),
        f("list_of_str", list_of(DataType::Utf8), false),
        f("dict_field", map_of(DataType::Utf8, DataType::Int64), false),
        f("enum_field", enum_type(), false),
        f("nested_point", point_struct(), false),
        f("optional_str", DataType::Utf8, true),
        f("optional_int", DataType::Int64, true),
        f("optional_nested", point_struct(), true),
        f("list_of_nested", list_of(point_struct()), false),
        f("nested_list", list_of(list_of(DataType::Int64)), false),
        f("annotated_int32", DataType::Int32, false),
        f("annotated_float32", DataType::Float32, false),
        f("dict_str_str", map_of(DataType::Utf8, DataType::Utf8), false),
    ])
);

// Stream schemas.
cached!(COUNTER, schema(vec![f("index", DataType::Int64, true), f("value", DataType::Int64, true)]));
cached!(VALUE_F64, schema(vec![f("value", DataType::Float64, true)]));
cached!(VALUE_I64, schema(vec![f("value", DataType::Int64, true)]));
cached!(TICK_SEEN, schema(vec![f("index", DataType::Int64, true), f("seen", DataType::Utf8, true)]));
cached!(ACCUM, schema(vec![f("running_sum", DataType::Float64, true), f("exchange_count", DataType::Int64, true)]));
cached!(INPUT_METADATA, schema(vec![f("seen", DataType::Utf8, true), f("keys", DataType::Utf8, true)]));
cached!(BY_I64, schema(vec![f("by", DataType::Int64, true)]));
cached!(EMPTY, Arc::new(Schema::empty()));

/// The output schema of `produce_dynamic_schema`.
pub fn dynamic_schema(include_strings: bool, include_floats: bool) -> SchemaRef {
    let mut fields = vec![f("index", DataType::Int64, true)];
    if include_strings {
        fields.push(f("label", DataType::Utf8, true));
    }
    if include_floats {
        fields.push(f("score", DataType::Float64, true));
    }
    schema(fields)
}
