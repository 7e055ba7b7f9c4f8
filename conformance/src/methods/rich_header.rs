//! `RichHeader` built deterministically from a seed, as the reference's
//! `build_rich_header` specifies.

use vgi_rpc::typed::OrderedMap;

use super::rows::{Point, RichHeader, Status};

/// The header row for `seed`.
pub fn build_rich_header(seed: i64) -> RichHeader {
    let s = seed;
    let byte = |k: i64| (s + k).rem_euclid(256) as u8;
    let even = s.rem_euclid(2) == 0;
    RichHeader {
        str_field: format!("seed-{s}"),
        bytes_field: vec![byte(0), byte(1), byte(2)],
        int_field: s * 7,
        float_field: s as f64 * 1.5,
        bool_field: even,
        list_of_int: vec![Some(s), Some(s + 1), Some(s + 2)],
        list_of_str: vec![Some(format!("item-{s}")), Some(format!("item-{}", s + 1))],
        dict_field: OrderedMap(vec![("a".into(), Some(s)), ("b".into(), Some(s + 1))]),
        enum_field: Status::from_seed(s),
        nested_point: Point { x: s as f64, y: (s * 2) as f64 },
        optional_str: even.then(|| format!("opt-{s}")),
        optional_int: (!even).then_some(s * 3),
        optional_nested: (s.rem_euclid(3) == 0).then_some(Point { x: s as f64, y: 0.0 }),
        list_of_nested: vec![Some(Point { x: s as f64, y: (s + 1) as f64 })],
        nested_list: vec![Some(vec![Some(s), Some(s + 1)]), Some(vec![Some(s + 2)])],
        annotated_int32: s.rem_euclid(1000) as i32,
        annotated_float32: (s as f64 / 3.0) as f32,
        dict_str_str: OrderedMap(vec![("key".into(), Some(format!("val-{s}")))]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use arrow_array::Array;
    use vgi_rpc::typed::Row;

    #[test]
    fn seed_42_matches_the_reference_values() {
        let b = RichHeader::to_batch(vec![build_rich_header(42)]).unwrap();
        assert_eq!(b.column(0).as_string::<i32>().value(0), "seed-42");
        assert_eq!(b.column(1).as_binary::<i32>().value(0), &[42, 43, 44]);
        assert_eq!(b.column(2).as_primitive::<Int64Type>().value(0), 294);
        assert!(b.column(4).as_boolean().value(0));
        assert!(b.column(11).is_null(0), "optional_int is None for even seeds");
        assert!(b.column(12).is_null(0) == (42 % 3 != 0));
        assert_eq!(build_rich_header(42).enum_field, Status::Pending);
        assert_eq!(build_rich_header(43).optional_int, Some(129));
    }
}
