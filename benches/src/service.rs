//! The cross-port BenchmarkService: noop, add, greet, roundtrip_types,
//! generate, transform and generate_bulk, with the Arrow types the
//! reference would declare for the same Python signatures.

use std::sync::{Arc, LazyLock};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int16Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use serde::{Deserialize, Serialize};
use vgi_rpc::rpc::state_codec::{encode_state, exchange_decoder, producer_decoder};
use vgi_rpc::rpc::wire::EncodedSchema;
use vgi_rpc::{
    CallContext, ExchangeState, InputBatch, MethodDef, OutputCollector, ProducerState, Protocol, RpcError, StreamResult,
};

/// Wire name of the benchmark protocol.
pub const BENCHMARK_PROTOCOL: &str = "BenchmarkService";

const COLORS: [&str; 3] = ["RED", "GREEN", "BLUE"];

fn enum_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8))
}

fn map_type() -> DataType {
    let entries =
        Fields::from(vec![Field::new("key", DataType::Utf8, false), Field::new("value", DataType::Int64, true)]);
    DataType::Map(Arc::new(Field::new("entries", DataType::Struct(entries), false)), false)
}

fn list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Int64, true)))
}

static GENERATE_SCHEMA: LazyLock<(SchemaRef, Arc<EncodedSchema>)> = LazyLock::new(|| {
    let s = Arc::new(Schema::new(vec![
        Field::new("i", DataType::Int64, false),
        Field::new("value", DataType::Int64, false),
    ]));
    (s.clone(), Arc::new(EncodedSchema::new(s)))
});

static VALUE_SCHEMA: LazyLock<(SchemaRef, Arc<EncodedSchema>)> = LazyLock::new(|| {
    let s = Arc::new(Schema::new(vec![Field::new("value", DataType::Float64, false)]));
    (s.clone(), Arc::new(EncodedSchema::new(s)))
});

static BULK_SCHEMA: LazyLock<(SchemaRef, Arc<EncodedSchema>)> = LazyLock::new(|| {
    let s = Arc::new(Schema::new(vec![Field::new("value", DataType::Int64, false)]));
    (s.clone(), Arc::new(EncodedSchema::new(s)))
});

fn string(s: String) -> Option<ArrayRef> {
    Some(Arc::new(StringArray::from(vec![s])))
}

/// `{COLOR}:True:{'a': 1, 'b': 2}:[1, 2, 3]` with keys and tags sorted.
fn roundtrip_types(p: &vgi_rpc::Params<'_>) -> Result<String, RpcError> {
    let color = p.column("color")?;
    let dict = color
        .as_dictionary_opt::<Int16Type>()
        .ok_or_else(|| RpcError::type_error("color must be dictionary<int16, utf8>"))?;
    let key = dict.keys().value(0) as usize;
    let values =
        dict.values().as_string_opt::<i32>().ok_or_else(|| RpcError::type_error("color values must be utf8"))?;
    if key >= values.len() {
        return Err(RpcError::value_error("color index out of range"));
    }
    let name = values.value(key);
    if !COLORS.contains(&name) {
        return Err(RpcError::value_error(format!("'{name}' is not a valid Color")));
    }
    let map = p.column("mapping")?.as_map_opt().ok_or_else(|| RpcError::type_error("mapping must be a map"))?;
    let entries = map.value(0);
    let keys = entries.column(0).as_string_opt::<i32>().ok_or_else(|| RpcError::type_error("map keys must be utf8"))?;
    let vals = entries
        .column(1)
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| RpcError::type_error("map values must be int64"))?;
    let mut pairs: Vec<(&str, i64)> = (0..keys.len()).map(|i| (keys.value(i), vals.value(i))).collect();
    pairs.sort_unstable();
    let dict_repr: Vec<String> = pairs.iter().map(|(k, v)| format!("'{k}': {v}")).collect();
    let tags = p.column("tags")?.as_list_opt::<i32>().ok_or_else(|| RpcError::type_error("tags must be a list"))?;
    let tag_values = tags.value(0);
    let tag_values =
        tag_values.as_primitive_opt::<Int64Type>().ok_or_else(|| RpcError::type_error("tags must be int64"))?;
    let mut sorted: Vec<i64> = tag_values.iter().flatten().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let tags_repr: Vec<String> = sorted.iter().map(i64::to_string).collect();
    Ok(format!("{name}:True:{{{}}}:[{}]", dict_repr.join(", "), tags_repr.join(", ")))
}

#[derive(Serialize, Deserialize)]
struct Generate {
    next: i64,
    count: i64,
}

impl ProducerState for Generate {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn produce(&mut self, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.next >= self.count {
            return out.finish();
        }
        let i = self.next;
        self.next += 1;
        out.emit_arrays(vec![Arc::new(Int64Array::from(vec![i])), Arc::new(Int64Array::from(vec![i * 10]))])
    }
}

/// `remaining` batches of `0..rows`; the batch is rebuilt after a resume.
#[derive(Serialize, Deserialize)]
struct GenerateBulk {
    rows: i64,
    remaining: i64,
    #[serde(skip)]
    batch: Option<RecordBatch>,
}

/// `0..rows` as a batch. The last one built is kept (batches are immutable
/// and shared), so a stream resumed on every HTTP turn does not rebuild it.
fn bulk_batch(rows: i64) -> Result<RecordBatch, RpcError> {
    static LAST: std::sync::Mutex<Option<(i64, RecordBatch)>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((n, batch)) = last.as_ref() {
        if *n == rows {
            return Ok(batch.clone());
        }
    }
    let values = Int64Array::from_iter_values(0..rows);
    let batch = RecordBatch::try_new(BULK_SCHEMA.0.clone(), vec![Arc::new(values)])?;
    *last = Some((rows, batch.clone()));
    Ok(batch)
}

impl ProducerState for GenerateBulk {
    fn produce(&mut self, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        if self.remaining <= 0 {
            return out.finish();
        }
        self.remaining -= 1;
        let batch = match &self.batch {
            Some(b) => b.clone(),
            None => self.batch.insert(bulk_batch(self.rows)?).clone(),
        };
        // The batch is immutable and shared: emitting it copies no buffers.
        out.emit(batch)
    }

    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }
}

#[derive(Serialize, Deserialize)]
struct Transform {
    factor: f64,
}

impl ExchangeState for Transform {
    fn encode_state(&self) -> Option<Vec<u8>> {
        encode_state(self).ok()
    }

    fn exchange(&mut self, input: &InputBatch, out: &mut OutputCollector, _ctx: &CallContext) -> Result<(), RpcError> {
        let values = input.batch.column(0).as_primitive::<Float64Type>();
        let scaled: Float64Array = values.unary(|v| v * self.factor);
        out.emit_arrays(vec![Arc::new(scaled)])
    }
}

/// The BenchmarkService protocol.
pub fn benchmark_protocol() -> Protocol {
    Protocol::new(BENCHMARK_PROTOCOL)
        .method(MethodDef::builder("noop").doc("Do nothing.").unary(|_, _| Ok(None)))
        .method(
            MethodDef::builder("add")
                .param("a", DataType::Float64, false)
                .param("b", DataType::Float64, false)
                .returns(DataType::Float64, false)
                .unary(|p, _| Ok(Some(Arc::new(Float64Array::from(vec![p.f64("a")? + p.f64("b")?])) as ArrayRef))),
        )
        .method(
            MethodDef::builder("greet")
                .param("name", DataType::Utf8, false)
                .returns(DataType::Utf8, false)
                .unary(|p, _| Ok(string(format!("Hello, {}!", p.str("name")?)))),
        )
        .method(
            MethodDef::builder("roundtrip_types")
                .param("color", enum_type(), false)
                .param("mapping", map_type(), false)
                .param("tags", list_type(), false)
                .returns(DataType::Utf8, false)
                .unary(|p, _| Ok(string(roundtrip_types(p)?))),
        )
        .method(
            MethodDef::builder("generate")
                .param("count", DataType::Int64, false)
                .state_decoder(producer_decoder::<Generate>())
                .producer(|p, _| {
                    Ok(StreamResult::producer(GENERATE_SCHEMA.1.clone(), Generate { next: 0, count: p.i64("count")? }))
                }),
        )
        .method(
            MethodDef::builder("transform")
                .param("factor", DataType::Float64, false)
                .state_decoder(exchange_decoder::<Transform>())
                .exchange(|p, _| {
                    Ok(StreamResult::exchange(
                        VALUE_SCHEMA.1.clone(),
                        VALUE_SCHEMA.0.clone(),
                        Transform { factor: p.f64("factor")? },
                    ))
                }),
        )
        .method(
            MethodDef::builder("generate_bulk")
                .param("rows_per_batch", DataType::Int64, false)
                .param("batch_count", DataType::Int64, false)
                .state_decoder(producer_decoder::<GenerateBulk>())
                .producer(|p, _| {
                    let rows = p.i64("rows_per_batch")?;
                    if rows < 0 {
                        return Err(RpcError::value_error("rows_per_batch must be >= 0"));
                    }
                    let batch = Some(bulk_batch(rows)?);
                    Ok(StreamResult::producer(
                        BULK_SCHEMA.1.clone(),
                        GenerateBulk { rows, remaining: p.i64("batch_count")?, batch },
                    ))
                }),
        )
}
