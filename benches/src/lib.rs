//! The benchmark worker's service and shared fixtures for the criterion benches.

pub mod clients;
pub mod service;

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

/// A one-row `add(a, b)` parameter batch.
pub fn add_params() -> RecordBatch {
    RecordBatch::try_from_iter([
        ("a", Arc::new(Float64Array::from(vec![1.5])) as ArrayRef),
        ("b", Arc::new(Float64Array::from(vec![2.5])) as ArrayRef),
    ])
    .expect("valid batch")
}

/// An int64 batch of `rows` rows in one column `value`.
pub fn int64_batch(rows: usize) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("value", DataType::Int64, false)]));
    let values = Int64Array::from_iter_values(0..rows as i64);
    RecordBatch::try_new(schema, vec![Arc::new(values)]).expect("valid batch")
}
