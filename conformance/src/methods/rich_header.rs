//! `RichHeader` built deterministically from a seed, as the reference's
//! `build_rich_header` specifies.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::DataType;
use vgi_rpc::RpcError;

use super::arrays::{list, one_map, points, statuses, STATUS};
use super::types::{point_struct, RICH_HEADER};

fn strings(v: Vec<String>) -> ArrayRef {
    Arc::new(StringArray::from(v))
}

fn ints(v: Vec<i64>) -> ArrayRef {
    Arc::new(Int64Array::from(v))
}

/// The header batch for `seed`.
pub fn build_rich_header(seed: i64) -> Result<RecordBatch, RpcError> {
    let s = seed;
    let byte = |k: i64| (s + k).rem_euclid(256) as u8;
    let even = s.rem_euclid(2) == 0;
    let columns: Vec<ArrayRef> = vec![
        strings(vec![format!("seed-{s}")]),
        Arc::new(BinaryArray::from_iter_values([vec![byte(0), byte(1), byte(2)]])),
        ints(vec![s * 7]),
        Arc::new(Float64Array::from(vec![s as f64 * 1.5])),
        Arc::new(BooleanArray::from(vec![even])),
        list(DataType::Int64, &[3], ints(vec![s, s + 1, s + 2])),
        list(DataType::Utf8, &[2], strings(vec![format!("item-{s}"), format!("item-{}", s + 1)])),
        one_map(strings(vec!["a".into(), "b".into()]), ints(vec![s, s + 1]))?,
        statuses(&[Some(STATUS[s.rem_euclid(3) as usize])])?,
        points(&[Some((s as f64, (s * 2) as f64))]),
        Arc::new(StringArray::from(vec![even.then(|| format!("opt-{s}"))])),
        Arc::new(Int64Array::from(vec![(!even).then_some(s * 3)])),
        points(&[(s.rem_euclid(3) == 0).then_some((s as f64, 0.0))]),
        list(point_struct(), &[1], points(&[Some((s as f64, (s + 1) as f64))])),
        list(
            DataType::List(Arc::new(arrow_schema::Field::new("item", DataType::Int64, true))),
            &[2],
            list(DataType::Int64, &[2, 1], ints(vec![s, s + 1, s + 2])),
        ),
        Arc::new(Int32Array::from(vec![s.rem_euclid(1000) as i32])),
        Arc::new(Float32Array::from(vec![(s as f64 / 3.0) as f32])),
        one_map(strings(vec!["key".into()]), strings(vec![format!("val-{s}")]))?,
    ];
    Ok(RecordBatch::try_new(RICH_HEADER.schema.clone(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;

    #[test]
    fn seed_42_matches_the_reference_values() {
        let b = build_rich_header(42).unwrap();
        assert_eq!(b.column(0).as_string::<i32>().value(0), "seed-42");
        assert_eq!(b.column(1).as_binary::<i32>().value(0), &[42, 43, 44]);
        assert_eq!(b.column(2).as_primitive::<Int64Type>().value(0), 294);
        assert!(b.column(4).as_boolean().value(0));
        assert!(b.column(11).is_null(0), "optional_int is None for even seeds");
        assert!(b.column(12).is_null(0) == (42 % 3 != 0));
    }
}
