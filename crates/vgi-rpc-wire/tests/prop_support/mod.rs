//! Shared proptest strategies for the wire property tests: text, custom
//! metadata, JSON values, Arrow data types and schemas, and record batches
//! with the columns the stream writer supports (dictionaries included).

#![allow(dead_code)] // Each test binary uses a different subset.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringDictionaryBuilder};
use arrow_array::types::{Int16Type, Int32Type, Int8Type};
use arrow_array::{
    ArrayRef, BinaryArray, BinaryViewArray, BooleanArray, DictionaryArray, Float64Array, Int32Array, Int64Array,
    LargeStringArray, ListArray, RecordBatch, RecordBatchOptions, StringArray, StringViewArray, StructArray,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Fields, IntervalUnit, Schema, TimeUnit, UnionFields, UnionMode};
use proptest::collection::{hash_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use vgi_rpc_wire::{EncodedSchema, Metadata, StreamWriter};

/// `cases` cases per property, with failures saved to `regressions`
/// (relative to the crate directory, e.g. `proptest-regressions/x.txt`):
/// proptest's default location needs a `lib.rs` beside the test file.
/// `PROPTEST_CASES` in the environment overrides `cases` for deeper runs.
pub fn config(cases: u32, regressions: &'static str) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..ProptestConfig::default()
    }
}

/// Text of up to `max` chars: mostly identifier-like, sometimes any Unicode
/// scalar (NUL, controls and astral characters included), sometimes empty.
pub fn text(max: usize) -> BoxedStrategy<String> {
    prop_oneof![
        3 => proptest::string::string_regex(&format!("[a-zA-Z0-9._:/ -]{{0,{max}}}")).expect("valid regex"),
        2 => vec(any::<char>(), 0..=max).prop_map(String::from_iter),
        1 => Just(String::new()),
    ]
    .boxed()
}

/// Custom metadata with unique keys (as [`Metadata::insert`] builds it).
pub fn metadata(max_entries: usize) -> impl Strategy<Value = Metadata> {
    vec((text(16), text(40)), 0..=max_entries).prop_map(Metadata::from_iter)
}

/// JSON values whose text form parses back to the same value: no floats
/// (serde_json without `float_roundtrip` may round them differently).
pub fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1_000_000i64..1_000_000).prop_map(|n| Value::from(n as f64 / 4.0)),
        text(20).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((text(8), inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A JSON object map (for `log_extra`).
pub fn json_object() -> impl Strategy<Value = serde_json::Map<String, serde_json::Value>> {
    vec((text(12), json_value()), 0..5).prop_map(|kv| kv.into_iter().collect())
}

fn time_unit() -> impl Strategy<Value = TimeUnit> {
    prop_oneof![
        Just(TimeUnit::Second),
        Just(TimeUnit::Millisecond),
        Just(TimeUnit::Microsecond),
        Just(TimeUnit::Nanosecond)
    ]
}

fn dictionary_key() -> impl Strategy<Value = DataType> {
    prop_oneof![
        Just(DataType::Int8),
        Just(DataType::Int16),
        Just(DataType::Int32),
        Just(DataType::Int64),
        Just(DataType::UInt8),
        Just(DataType::UInt16),
        Just(DataType::UInt32),
        Just(DataType::UInt64),
    ]
}

fn primitive_type() -> BoxedStrategy<DataType> {
    prop_oneof![
        Just(DataType::Null),
        Just(DataType::Boolean),
        Just(DataType::Int8),
        Just(DataType::Int16),
        Just(DataType::Int32),
        Just(DataType::Int64),
        Just(DataType::UInt8),
        Just(DataType::UInt16),
        Just(DataType::UInt32),
        Just(DataType::UInt64),
        Just(DataType::Float16),
        Just(DataType::Float32),
        Just(DataType::Float64),
        Just(DataType::Utf8),
        Just(DataType::LargeUtf8),
        Just(DataType::Utf8View),
        Just(DataType::Binary),
        Just(DataType::LargeBinary),
        Just(DataType::BinaryView),
        Just(DataType::Date32),
        Just(DataType::Date64),
        (1i32..=32).prop_map(DataType::FixedSizeBinary),
        (time_unit(), option::of(prop_oneof![Just("UTC"), Just("+01:00"), Just("Europe/Paris")]))
            .prop_map(|(u, tz)| DataType::Timestamp(u, tz.map(Arc::from))),
        prop_oneof![Just(TimeUnit::Second), Just(TimeUnit::Millisecond)].prop_map(DataType::Time32),
        prop_oneof![Just(TimeUnit::Microsecond), Just(TimeUnit::Nanosecond)].prop_map(DataType::Time64),
        time_unit().prop_map(DataType::Duration),
        prop_oneof![Just(IntervalUnit::YearMonth), Just(IntervalUnit::DayTime), Just(IntervalUnit::MonthDayNano)]
            .prop_map(DataType::Interval),
        (1u8..=38, -10i8..=38).prop_map(|(p, s)| DataType::Decimal128(p, s)),
        (1u8..=76, -10i8..=76).prop_map(|(p, s)| DataType::Decimal256(p, s)),
        (
            dictionary_key(),
            prop_oneof![Just(DataType::Utf8), Just(DataType::Int64), Just(DataType::Binary), Just(DataType::LargeUtf8)]
        )
            .prop_map(|(k, v)| DataType::Dictionary(Box::new(k), Box::new(v))),
    ]
    .boxed()
}

fn field_metadata() -> impl Strategy<Value = HashMap<String, String>> {
    hash_map(text(12), text(24), 0..3)
}

/// A field of `data_type` with an arbitrary name, nullability, metadata and
/// (for dictionaries) ordering flag.
fn field_of(data_type: BoxedStrategy<DataType>) -> BoxedStrategy<Field> {
    (text(12), data_type, any::<bool>(), field_metadata(), any::<bool>())
        .prop_map(|(name, dt, nullable, md, ordered)| {
            let is_dict = matches!(dt, DataType::Dictionary(..));
            let f = Field::new(name, dt, nullable).with_metadata(md);
            if is_dict {
                f.with_dict_is_ordered(ordered)
            } else {
                f
            }
        })
        .boxed()
}

/// Any data type: primitives, dictionaries, and nested lists, structs,
/// maps, unions and run-end encoded arrays of them.
pub fn data_type() -> BoxedStrategy<DataType> {
    primitive_type()
        .prop_recursive(3, 24, 4, |inner| {
            let field = field_of(inner.clone());
            prop_oneof![
                field.clone().prop_map(|f| DataType::List(Arc::new(f))),
                field.clone().prop_map(|f| DataType::LargeList(Arc::new(f))),
                field.clone().prop_map(|f| DataType::ListView(Arc::new(f))),
                (field.clone(), 1i32..5).prop_map(|(f, n)| DataType::FixedSizeList(Arc::new(f), n)),
                vec(field.clone(), 0..4).prop_map(|fs| DataType::Struct(Fields::from(fs))),
                (text(8), field.clone(), any::<bool>()).prop_map(|(key_name, value, sorted)| {
                    let key = Field::new(key_name, DataType::Utf8, false);
                    let entries = Field::new("entries", DataType::Struct(Fields::from(vec![key, value])), false);
                    DataType::Map(Arc::new(entries), sorted)
                }),
                (vec(field.clone(), 1..4), any::<bool>()).prop_map(|(fs, dense)| {
                    let ids: Vec<i8> = (0..fs.len() as i8).map(|i| i * 3).collect();
                    let mode = if dense { UnionMode::Dense } else { UnionMode::Sparse };
                    DataType::Union(UnionFields::try_new(ids, fs).expect("distinct ids"), mode)
                }),
                (prop_oneof![Just(DataType::Int16), Just(DataType::Int32), Just(DataType::Int64)], field).prop_map(
                    |(run_ends, values)| {
                        DataType::RunEndEncoded(Arc::new(Field::new("run_ends", run_ends, false)), Arc::new(values))
                    }
                ),
            ]
        })
        .boxed()
}

/// A schema of 0..6 arbitrary top-level fields plus schema-level metadata.
pub fn schema() -> impl Strategy<Value = Schema> {
    (vec(field_of(data_type()), 0..6), field_metadata()).prop_map(|(fields, md)| Schema::new(fields).with_metadata(md))
}

/// The column shapes [`batch`] can fill with data.
#[derive(Debug, Clone, Copy)]
pub enum Column {
    Int32,
    Int64,
    Float64,
    Boolean,
    Utf8,
    LargeUtf8,
    Utf8View,
    Binary,
    BinaryView,
    ListOfInt32,
    Struct,
    Dictionary,
    ListOfDictionary,
}

pub fn column() -> impl Strategy<Value = Column> {
    prop_oneof![
        Just(Column::Int32),
        Just(Column::Int64),
        Just(Column::Float64),
        Just(Column::Boolean),
        Just(Column::Utf8),
        Just(Column::LargeUtf8),
        Just(Column::Utf8View),
        Just(Column::Binary),
        Just(Column::BinaryView),
        Just(Column::ListOfInt32),
        Just(Column::Struct),
        Just(Column::Dictionary),
        Just(Column::ListOfDictionary),
    ]
}

fn opt_strings(rows: usize) -> impl Strategy<Value = Vec<Option<String>>> {
    // Long enough, sometimes, to leave the inline part of a view array.
    vec(option::of(text(30)), rows..=rows)
}

fn small_words(rows: usize) -> impl Strategy<Value = Vec<Option<&'static str>>> {
    const WORDS: [&str; 5] = ["red", "green", "blue", "", "ünïcode"];
    vec(option::of(proptest::sample::select(&WORDS[..])), rows..=rows)
}

fn array(column: Column, rows: usize) -> BoxedStrategy<ArrayRef> {
    match column {
        Column::Int32 => {
            vec(option::of(any::<i32>()), rows..=rows).prop_map(|v| Arc::new(Int32Array::from(v)) as ArrayRef).boxed()
        }
        Column::Int64 => {
            vec(option::of(any::<i64>()), rows..=rows).prop_map(|v| Arc::new(Int64Array::from(v)) as ArrayRef).boxed()
        }
        Column::Float64 => {
            vec(option::of(any::<f64>()), rows..=rows).prop_map(|v| Arc::new(Float64Array::from(v)) as ArrayRef).boxed()
        }
        Column::Boolean => vec(option::of(any::<bool>()), rows..=rows)
            .prop_map(|v| Arc::new(BooleanArray::from(v)) as ArrayRef)
            .boxed(),
        Column::Utf8 => opt_strings(rows).prop_map(|v| Arc::new(StringArray::from(v)) as ArrayRef).boxed(),
        Column::LargeUtf8 => opt_strings(rows).prop_map(|v| Arc::new(LargeStringArray::from(v)) as ArrayRef).boxed(),
        Column::Utf8View => opt_strings(rows).prop_map(|v| Arc::new(StringViewArray::from_iter(v)) as ArrayRef).boxed(),
        Column::Binary => vec(option::of(vec(any::<u8>(), 0..24)), rows..=rows)
            .prop_map(|v| Arc::new(BinaryArray::from_iter(v)) as ArrayRef)
            .boxed(),
        Column::BinaryView => vec(option::of(vec(any::<u8>(), 0..24)), rows..=rows)
            .prop_map(|v| Arc::new(BinaryViewArray::from_iter(v)) as ArrayRef)
            .boxed(),
        Column::ListOfInt32 => vec(option::of(vec(option::of(any::<i32>()), 0..4)), rows..=rows)
            .prop_map(|v| Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(v)) as ArrayRef)
            .boxed(),
        Column::Struct => {
            (vec(option::of(any::<i32>()), rows..=rows), opt_strings(rows), vec(any::<bool>(), rows..=rows))
                .prop_map(|(a, b, valid)| {
                    let fields = Fields::from(vec![
                        Field::new("a", DataType::Int32, true),
                        Field::new("b", DataType::Utf8, true),
                    ]);
                    let children: Vec<ArrayRef> = vec![Arc::new(Int32Array::from(a)), Arc::new(StringArray::from(b))];
                    Arc::new(StructArray::new(fields, children, Some(NullBuffer::from(valid)))) as ArrayRef
                })
                .boxed()
        }
        Column::Dictionary => small_words(rows)
            .prop_map(|v| Arc::new(v.into_iter().collect::<DictionaryArray<Int16Type>>()) as ArrayRef)
            .boxed(),
        Column::ListOfDictionary => vec(option::of(small_words(3)), rows..=rows)
            .prop_map(|rows| {
                let mut b = ListBuilder::new(StringDictionaryBuilder::<Int8Type>::new());
                for row in rows {
                    match row {
                        Some(items) => {
                            for item in items {
                                b.values().append_option(item);
                            }
                            b.append(true);
                        }
                        None => b.append(false),
                    }
                }
                Arc::new(b.finish()) as ArrayRef
            })
            .boxed(),
    }
}

/// The schema of batches with `columns`.
pub fn batch_schema(columns: &[Column]) -> Arc<Schema> {
    let fields: Vec<Field> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let dt = match c {
                Column::Int32 => DataType::Int32,
                Column::Int64 => DataType::Int64,
                Column::Float64 => DataType::Float64,
                Column::Boolean => DataType::Boolean,
                Column::Utf8 => DataType::Utf8,
                Column::LargeUtf8 => DataType::LargeUtf8,
                Column::Utf8View => DataType::Utf8View,
                Column::Binary => DataType::Binary,
                Column::BinaryView => DataType::BinaryView,
                Column::ListOfInt32 => DataType::List(Arc::new(Field::new_list_field(DataType::Int32, true))),
                Column::Struct => DataType::Struct(Fields::from(vec![
                    Field::new("a", DataType::Int32, true),
                    Field::new("b", DataType::Utf8, true),
                ])),
                Column::Dictionary => DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8)),
                Column::ListOfDictionary => DataType::List(Arc::new(Field::new_list_field(
                    DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)),
                    true,
                ))),
            };
            Field::new(format!("c{i}_{c:?}"), dt, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// A batch of `rows` rows over `columns` (zero columns keep the row count).
pub fn batch(columns: Vec<Column>, rows: usize) -> BoxedStrategy<RecordBatch> {
    let schema = batch_schema(&columns);
    let arrays: Vec<BoxedStrategy<ArrayRef>> = columns.iter().map(|c| array(*c, rows)).collect();
    arrays
        .prop_map(move |arrays| {
            let options = RecordBatchOptions::new().with_row_count(Some(rows));
            RecordBatch::try_new_with_options(schema.clone(), arrays, &options).expect("columns match the schema")
        })
        .boxed()
}

/// One stream: a column layout and 0..=`max_batches` batches on it, each
/// with 0..=`max_rows` rows and its own custom metadata.
pub fn stream(max_batches: usize, max_rows: usize) -> impl Strategy<Value = StreamCase> {
    vec(column(), 0..4).prop_flat_map(move |columns| {
        let schema = batch_schema(&columns);
        vec(
            (0..=max_rows).prop_flat_map({
                let columns = columns.clone();
                move |rows| (batch(columns.clone(), rows), metadata(4))
            }),
            0..=max_batches,
        )
        .prop_map(move |batches| StreamCase { schema: schema.clone(), batches })
    })
}

/// A stream's schema and its batches with their metadata.
#[derive(Debug, Clone)]
pub struct StreamCase {
    pub schema: Arc<Schema>,
    pub batches: Vec<(RecordBatch, Metadata)>,
}

impl StreamCase {
    /// Append this stream's bytes (schema, batches, EOS) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let encoded = EncodedSchema::new(self.schema.clone());
        let mut w = StreamWriter::begin(out, &encoded).expect("writing to a Vec");
        for (batch, md) in &self.batches {
            w.write(out, batch, md).expect("the batch has the stream schema");
        }
        w.finish(out).expect("writing to a Vec");
    }

    /// This stream alone, as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

/// Write one zero-row, zero-column batch carrying `md` as a whole stream.
pub fn control_stream(md: &Metadata) -> Vec<u8> {
    let mut out = Vec::new();
    let schema = EncodedSchema::empty();
    let mut w = StreamWriter::begin(&mut out, schema).expect("writing to a Vec");
    w.write(&mut out, &RecordBatch::new_empty(schema.schema().clone()), md).expect("empty batch on empty schema");
    w.finish(&mut out).expect("writing to a Vec");
    out
}
