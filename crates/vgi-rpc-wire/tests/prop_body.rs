//! Property tests for the direct body writer: arbitrary batches (the shared
//! column shapes, every fixed-width type with arbitrary nulls and values,
//! and arbitrary nested types filled with nulls), whole or sliced, with
//! arbitrary custom metadata, are written byte for byte as the arrow-ipc
//! path writes them and read back equal.

mod body_support;
mod prop_support;

use arrow_array::{new_null_array, Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, IntervalUnit, TimeUnit};
use body_support::{assert_same_bytes, batch_of, fixed_width_array};
use prop_support::{batch, column, config, data_type, metadata};
use proptest::collection::vec;
use proptest::prelude::*;

/// Whether any type in `dt`'s tree makes the writer fall back to arrow-ipc.
fn needs_arrow_ipc(dt: &DataType) -> bool {
    match dt {
        DataType::Dictionary(_, _) | DataType::RunEndEncoded(_, _) => true,
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => needs_arrow_ipc(f.data_type()),
        DataType::Struct(fields) => fields.iter().any(|f| needs_arrow_ipc(f.data_type())),
        DataType::Union(fields, _) => fields.iter().any(|(_, f)| needs_arrow_ipc(f.data_type())),
        _ => false,
    }
}

fn is_direct(batch: &RecordBatch) -> bool {
    !batch.schema().fields().iter().any(|f| needs_arrow_ipc(f.data_type()))
}

/// `(offset, len)` of a slice of `rows` rows (sometimes the whole).
fn slice_of(rows: usize) -> impl Strategy<Value = (usize, usize)> {
    (0..=rows).prop_flat_map(move |offset| (Just(offset), 0..=rows - offset))
}

fn fixed_width_type() -> impl Strategy<Value = DataType> {
    let unit = prop_oneof![
        Just(TimeUnit::Second),
        Just(TimeUnit::Millisecond),
        Just(TimeUnit::Microsecond),
        Just(TimeUnit::Nanosecond)
    ];
    prop_oneof![
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
        Just(DataType::Date32),
        Just(DataType::Date64),
        Just(DataType::Interval(IntervalUnit::MonthDayNano)),
        Just(DataType::Interval(IntervalUnit::DayTime)),
        Just(DataType::Decimal32(9, 1)),
        Just(DataType::Decimal64(18, 1)),
        Just(DataType::Decimal128(38, 1)),
        Just(DataType::Decimal256(76, 1)),
        (1i32..=40).prop_map(DataType::FixedSizeBinary),
        unit.clone().prop_map(|u| DataType::Timestamp(u, None)),
        unit.prop_map(DataType::Duration),
    ]
}

proptest! {
    #![proptest_config(config(96, "proptest-regressions/prop_body.txt"))]

    /// The shared column shapes (strings, views, lists, structs,
    /// dictionaries, ...), whole and sliced, with metadata.
    #[test]
    fn shared_batches_whole_and_sliced(
        (b, (offset, len)) in (vec(column(), 0..6), 0usize..40)
            .prop_flat_map(|(columns, rows)| (batch(columns, rows), slice_of(rows))),
        md in metadata(4),
    ) {
        let direct = is_direct(&b);
        assert_same_bytes(&b, &md, direct);
        assert_same_bytes(&b.slice(offset, len), &md, direct);
    }

    /// Several fixed-width columns with arbitrary values, nulls, spare
    /// buffer capacity and slices (aligned and not).
    #[test]
    fn fixed_width_columns(
        types in vec(fixed_width_type(), 1..5),
        (rows, (offset, len)) in (0usize..200).prop_flat_map(|rows| (Just(rows), slice_of(rows))),
        nulls in proptest::option::of(1usize..6),
        seed in any::<u64>(),
        md in metadata(3),
    ) {
        let columns: Vec<ArrayRef> =
            types.iter().enumerate().map(|(i, dt)| fixed_width_array(dt, rows, nulls, seed.wrapping_add(i as u64))).collect();
        let b = batch_of(columns);
        assert_same_bytes(&b, &md, true);
        assert_same_bytes(&b.slice(offset, len), &md, true);
    }

    /// Arbitrary nested types (lists, list views, maps, structs, unions,
    /// fixed-size lists, run-end encoded, dictionaries) filled with nulls.
    #[test]
    fn arbitrary_types_of_nulls(
        types in vec(data_type(), 1..4),
        (rows, (offset, len)) in (0usize..30).prop_flat_map(|rows| (Just(rows), slice_of(rows))),
        md in metadata(2),
    ) {
        let columns: Vec<ArrayRef> = types.iter().map(|dt| new_null_array(dt, rows)).collect();
        prop_assume!(columns.iter().all(|c| c.len() == rows));
        let b = batch_of(columns);
        let direct = is_direct(&b);
        assert_same_bytes(&b, &md, direct);
        assert_same_bytes(&b.slice(offset, len), &md, direct);
    }
}
