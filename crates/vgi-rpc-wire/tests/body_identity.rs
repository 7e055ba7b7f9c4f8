//! The direct body writer (`StreamWriter::write`) against the arrow-ipc path
//! it replaced (`StreamWriter::write_via_arrow_ipc`): for every supported
//! column type, with and without nulls, empty, zero columns, zero rows,
//! sliced at aligned and unaligned offsets, nested, large, and with and
//! without custom metadata, both write the same bytes, and the reader gets
//! the batch and metadata back. Also: large buffers reach the sink straight
//! from the array's memory, and small ones are gathered into few writes.

mod body_support;

use std::sync::Arc;

use arrow_array::builder::{FixedSizeListBuilder, Int32Builder, MapBuilder, StringBuilder, UnionBuilder};
use arrow_array::types::{Float64Type, Int32Type};
use arrow_array::{
    new_empty_array, new_null_array, Array, ArrayRef, BinaryArray, BinaryViewArray, BooleanArray, DictionaryArray,
    GenericListViewArray, Int32Array, Int64Array, LargeBinaryArray, LargeListArray, LargeStringArray, ListArray,
    NullArray, RecordBatch, RecordBatchOptions, StringArray, StringViewArray, StructArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Fields, IntervalUnit, Schema, TimeUnit};
use body_support::{assert_same_bytes, batch_of, fixed_width_array, Recorder};
use vgi_rpc_wire::{EncodedSchema, Metadata, StreamWriter};

fn fixed_width_types() -> Vec<DataType> {
    let mut types = vec![
        DataType::Int8,
        DataType::Int16,
        DataType::Int32,
        DataType::Int64,
        DataType::UInt8,
        DataType::UInt16,
        DataType::UInt32,
        DataType::UInt64,
        DataType::Float16,
        DataType::Float32,
        DataType::Float64,
        DataType::Date32,
        DataType::Date64,
        DataType::Time32(TimeUnit::Second),
        DataType::Time32(TimeUnit::Millisecond),
        DataType::Time64(TimeUnit::Microsecond),
        DataType::Time64(TimeUnit::Nanosecond),
        DataType::Interval(IntervalUnit::YearMonth),
        DataType::Interval(IntervalUnit::DayTime),
        DataType::Interval(IntervalUnit::MonthDayNano),
        DataType::Decimal32(9, 2),
        DataType::Decimal64(18, 3),
        DataType::Decimal128(38, 10),
        DataType::Decimal256(76, -5),
        DataType::FixedSizeBinary(1),
        DataType::FixedSizeBinary(3),
        DataType::FixedSizeBinary(16),
        DataType::Boolean,
    ];
    for unit in [TimeUnit::Second, TimeUnit::Millisecond, TimeUnit::Microsecond, TimeUnit::Nanosecond] {
        types.push(DataType::Timestamp(unit, None));
        types.push(DataType::Timestamp(unit, Some("UTC".into())));
        types.push(DataType::Duration(unit));
    }
    types
}

fn metadatas() -> [Metadata; 2] {
    [Metadata::new(), Metadata::new().with("vgi_rpc.method", "m").with("k", "välue").with("", "")]
}

/// Every fixed-width type, every null pattern, several lengths, each whole
/// and sliced at aligned and unaligned offsets.
#[test]
fn fixed_width_types_with_and_without_nulls_and_slices() {
    for dt in fixed_width_types() {
        for nulls in [None, Some(3), Some(1)] {
            for len in [0usize, 1, 7, 8, 9, 100] {
                let array = fixed_width_array(&dt, len, nulls, len as u64 + 1);
                for (offset, sub) in [(0, len), (0, len / 2), (1, len.saturating_sub(1)), (3, len / 3), (8, len / 4)] {
                    if offset + sub > len {
                        continue;
                    }
                    for md in metadatas() {
                        assert_same_bytes(&batch_of(vec![array.slice(offset, sub)]), &md, true);
                    }
                }
            }
        }
    }
}

#[test]
fn all_null_arrays_of_fixed_width_types() {
    for dt in fixed_width_types() {
        let array = new_null_array(&dt, 21);
        assert_same_bytes(&batch_of(vec![array.clone()]), &Metadata::new(), true);
        assert_same_bytes(&batch_of(vec![array.slice(5, 11)]), &metadatas()[1], true);
    }
}

fn strings(n: usize) -> Vec<Option<String>> {
    (0..n)
        .map(|i| match i % 5 {
            0 => None,
            1 => Some(String::new()),
            2 => Some(format!("a long enough string to leave the view inline part {i}")),
            _ => Some(format!("s{i}")),
        })
        .collect()
}

fn byte_arrays(n: usize) -> Vec<ArrayRef> {
    let s = strings(n);
    let b: Vec<Option<Vec<u8>>> = s.iter().map(|v| v.as_ref().map(|s| s.as_bytes().to_vec())).collect();
    let no_nulls: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    vec![
        Arc::new(StringArray::from(s.clone())),
        Arc::new(LargeStringArray::from(s.clone())),
        Arc::new(StringViewArray::from_iter(s.clone())),
        Arc::new(BinaryArray::from_iter(b.clone())),
        Arc::new(LargeBinaryArray::from_iter(b.clone())),
        Arc::new(BinaryViewArray::from_iter(b)),
        Arc::new(StringArray::from(no_nulls.clone())),
        Arc::new(StringViewArray::from_iter_values(no_nulls)),
        Arc::new(StringArray::from(vec![""; n])),
    ]
}

#[test]
fn byte_arrays_whole_empty_and_sliced() {
    for n in [0usize, 1, 5, 64] {
        for array in byte_arrays(n) {
            for (offset, len) in [(0, n), (0, n / 2), (1, n.saturating_sub(1)), (n / 2, n - n / 2), (n, 0)] {
                if offset + len > n {
                    continue;
                }
                for md in metadatas() {
                    assert_same_bytes(&batch_of(vec![array.slice(offset, len)]), &md, true);
                }
            }
        }
    }
}

#[test]
fn null_columns_zero_columns_and_zero_rows() {
    let md = &metadatas()[1];
    assert_same_bytes(&batch_of(vec![Arc::new(NullArray::new(17))]), md, true);
    assert_same_bytes(&batch_of(vec![Arc::new(NullArray::new(17).slice(3, 5))]), md, true);
    for rows in [0usize, 1, 1000] {
        let empty = Arc::new(Schema::empty());
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = RecordBatch::try_new_with_options(empty, vec![], &options).expect("zero columns");
        for md in metadatas() {
            assert_same_bytes(&batch, &md, true);
        }
    }
    let types = fixed_width_types()
        .into_iter()
        .chain([DataType::Utf8, DataType::LargeBinary, DataType::Utf8View, DataType::Null])
        .chain([DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true)))]);
    for dt in types {
        assert_same_bytes(&batch_of(vec![new_empty_array(&dt)]), &Metadata::new(), true);
    }
}

fn nested_arrays() -> Vec<ArrayRef> {
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), None, Some(3)]),
        None,
        Some(vec![]),
        Some(vec![Some(4)]),
        Some(vec![Some(5), Some(6)]),
        None,
        Some(vec![Some(7), Some(8), Some(9)]),
    ]);
    let large_list = LargeListArray::from_iter_primitive::<Float64Type, _, _>(vec![
        Some(vec![Some(1.5)]),
        Some(vec![None, Some(2.5)]),
        None,
        Some(vec![Some(3.5), Some(4.5), None]),
    ]);
    let strings_child: ArrayRef = Arc::new(StringArray::from(strings(12)));
    let list_of_strings = ListArray::new(
        Arc::new(Field::new_list_field(DataType::Utf8, true)),
        OffsetBuffer::from_lengths([3, 0, 4, 5]),
        strings_child,
        Some(NullBuffer::from(vec![true, false, true, true])),
    );
    let fields = Fields::from(vec![
        Field::new("a", DataType::Int32, true),
        Field::new("b", DataType::Utf8, true),
        Field::new("c", DataType::Boolean, false),
    ]);
    let structs = StructArray::new(
        fields,
        vec![
            Arc::new(Int32Array::from(vec![Some(1), None, Some(3), Some(4), None, Some(6), Some(7), Some(8), Some(9)])),
            Arc::new(StringArray::from(strings(9))),
            Arc::new(BooleanArray::from(vec![true, false, true, true, false, false, true, true, false])),
        ],
        Some(NullBuffer::from(vec![true, true, false, true, true, true, false, true, true])),
    );
    let mut fsl = FixedSizeListBuilder::new(Int32Builder::new(), 3);
    for i in 0..10 {
        if i % 4 == 1 {
            fsl.values().append_nulls(3);
            fsl.append(false);
        } else {
            fsl.values().append_slice(&[i, i + 1, i + 2]);
            fsl.append(true);
        }
    }
    let mut map = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    for i in 0..8 {
        for j in 0..(i % 3) {
            map.keys().append_value(format!("k{j}"));
            map.values().append_option((j != 1).then_some(i));
        }
        map.append(i % 5 != 2).expect("map entry");
    }
    let list_view = GenericListViewArray::<i32>::new(
        Arc::new(Field::new_list_field(DataType::Int32, true)),
        ScalarBuffer::from(vec![0, 2, 1, 5, 0]),
        ScalarBuffer::from(vec![2, 3, 0, 1, 4]),
        Arc::new(Int32Array::from(vec![10, 11, 12, 13, 14, 15])),
        Some(NullBuffer::from(vec![true, true, false, true, true])),
    );
    let mut sparse = UnionBuilder::new_sparse();
    let mut dense = UnionBuilder::new_dense();
    for i in 0..9 {
        for b in [&mut sparse, &mut dense] {
            if i % 3 == 0 {
                b.append::<Int32Type>("i", i).expect("union value");
            } else if i % 3 == 1 {
                b.append::<Float64Type>("f", f64::from(i) / 2.0).expect("union value");
            } else {
                b.append_null::<Int32Type>("i").expect("union null");
            }
        }
    }
    vec![
        Arc::new(list),
        Arc::new(large_list),
        Arc::new(list_of_strings),
        Arc::new(structs),
        Arc::new(fsl.finish()),
        Arc::new(map.finish()),
        Arc::new(list_view),
        Arc::new(sparse.build().expect("sparse union")),
        Arc::new(dense.build().expect("dense union")),
    ]
}

#[test]
fn nested_types_whole_and_sliced() {
    for array in nested_arrays() {
        let n = array.len();
        for (offset, len) in [(0, n), (0, 0), (1, n - 1), (2, n / 2), (n - 1, 1), (n, 0)] {
            for md in metadatas() {
                assert_same_bytes(&batch_of(vec![array.slice(offset, len)]), &md, true);
            }
        }
    }
    // All of them side by side, plus nulls of nested types.
    let mut all = nested_arrays();
    let rows = all.iter().map(|a| a.len()).min().unwrap_or(0);
    for a in &mut all {
        *a = a.slice(0, rows);
    }
    for a in nested_arrays() {
        all.push(new_null_array(a.data_type(), rows));
    }
    assert_same_bytes(&batch_of(all), &metadatas()[1], true);
}

#[test]
fn dictionary_columns_take_the_arrow_ipc_path() {
    let dict: DictionaryArray<Int32Type> = vec![Some("a"), None, Some("b"), Some("a")].into_iter().collect();
    let batch = batch_of(vec![Arc::new(dict), Arc::new(Int64Array::from(vec![1, 2, 3, 4]))]);
    for md in metadatas() {
        assert_same_bytes(&batch, &md, false);
        assert_same_bytes(&batch.slice(1, 2), &md, false);
    }
}

#[test]
fn many_columns_of_mixed_types() {
    let rows = 50;
    let mut columns: Vec<ArrayRef> = fixed_width_types()
        .iter()
        .enumerate()
        .map(|(i, dt)| fixed_width_array(dt, rows, (i % 2 == 0).then_some(4), i as u64))
        .collect();
    columns.extend(byte_arrays(rows));
    let batch = batch_of(columns);
    for md in metadatas() {
        assert_same_bytes(&batch, &md, true);
        assert_same_bytes(&batch.slice(7, 30), &md, true);
    }
}

#[test]
fn large_columns_whole_and_sliced() {
    let rows = 300_000;
    let ints = fixed_width_array(&DataType::Int64, rows, Some(7), 9);
    let bools = fixed_width_array(&DataType::Boolean, rows * 4, None, 3).slice(0, rows);
    let text: ArrayRef = Arc::new(StringArray::from_iter_values((0..rows).map(|i| format!("row {i}"))));
    let batch = batch_of(vec![ints, bools, text]);
    let md = Metadata::new().with("k", "v");
    assert_same_bytes(&batch, &md, true);
    assert_same_bytes(&batch.slice(3, rows - 10), &Metadata::new(), true);
    assert_same_bytes(&batch.slice(64, 100_000), &md, true);
}

/// A large buffer reaches the sink as one write from the array's own
/// memory; the header and the small buffers around it come in few writes.
#[test]
fn large_buffers_are_written_from_the_array_and_small_ones_are_gathered() {
    // 80 columns, 160 buffers of at most 256 bytes: one write in all.
    let small = batch_of((0..80).map(|i| Arc::new(Int32Array::from(vec![i; 64])) as ArrayRef).collect());
    let schema = EncodedSchema::new(small.schema());
    let mut rec = Recorder::default();
    let mut w = StreamWriter::begin(&mut rec, &schema).expect("begin");
    rec.writes.clear();
    w.write(&mut rec, &small, &Metadata::new()).expect("write");
    assert_eq!(rec.writes.len(), 1, "writes: {:?}", rec.writes);

    // 512 KiB of values between two small columns: the values go in one
    // write from the array's buffer, the rest in at most two more.
    let rows = 1 << 16;
    let big = Int64Array::from_iter_values(0..rows as i64);
    let big_ptr = big.values().inner().as_ptr() as usize;
    let batch = batch_of(vec![
        Arc::new(Int32Array::from(vec![1; rows])),
        Arc::new(big),
        Arc::new(StringArray::from(vec!["x"; rows])),
    ]);
    let schema = EncodedSchema::new(batch.schema());
    let mut rec = Recorder::default();
    let mut w = StreamWriter::begin(&mut rec, &schema).expect("begin");
    rec.writes.clear();
    w.write(&mut rec, &batch, &Metadata::new()).expect("write");
    assert!(rec.writes.iter().any(|&(ptr, len)| ptr == big_ptr && len == rows * 8), "writes: {:?}", rec.writes);
    // header+validity, int32 values (256 KiB), int64 values, utf8 offsets
    // (256 KiB), then the staged rest.
    assert!(rec.writes.len() <= 6, "writes: {:?}", rec.writes);
}
