//! The conformance types on the typed layer: the `Status` enum, the `Point`
//! struct, the rows of every fixed stream schema and the stream headers.
//! Each derives the Arrow schema `types.rs` declares by hand (the tests
//! below hold them equal, so the wire cannot drift).
//!
//! Fields carry no `///` docs on purpose: a documented parameter field
//! would add a parameter doc to reflection, which these methods do not
//! declare.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array};
use vgi_rpc::typed::{Enum as _, OrderedMap};
use vgi_rpc::{Enum, Row};

/// `Status`: PENDING, ACTIVE, CLOSED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum Status {
    #[vgi(rename = "PENDING")]
    Pending,
    #[vgi(rename = "ACTIVE")]
    Active,
    #[vgi(rename = "CLOSED")]
    Closed,
}

impl Status {
    /// The member at `seed mod 3`.
    pub fn from_seed(seed: i64) -> Status {
        Status::from_index(seed.rem_euclid(3) as usize).unwrap_or(Status::Pending)
    }
}

/// `Point(x, y)` as a struct column.
#[derive(Debug, Clone, Copy, PartialEq, Row)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// One row of the `{index, value}` counter streams.
#[derive(Debug, Clone, PartialEq, Row)]
pub struct CounterRow {
    pub index: Option<i64>,
    pub value: Option<i64>,
}

impl CounterRow {
    /// Rows `start..start + rows`, each value ten times its index.
    pub fn run(start: i64, rows: i64) -> Vec<CounterRow> {
        (start..start + rows).map(|i| CounterRow { index: Some(i), value: Some(i * 10) }).collect()
    }

    /// The same rows as columns (`index`, `value`), built without the structs.
    pub fn columns(start: i64, rows: i64) -> Vec<ArrayRef> {
        let index = Int64Array::from_iter_values(start..start + rows);
        let value = Int64Array::from_iter_values((start..start + rows).map(|i| i * 10));
        vec![Arc::new(index), Arc::new(value)]
    }
}

/// `produce_tick_metadata`'s row: the tick and the metadata it carried.
#[derive(Debug, Clone, PartialEq, Row)]
pub struct TickSeen {
    pub index: Option<i64>,
    pub seen: Option<String>,
}

/// `exchange_accumulate`'s row.
#[derive(Debug, Clone, PartialEq, Row)]
pub struct Accumulated {
    pub running_sum: Option<f64>,
    pub exchange_count: Option<i64>,
}

/// `exchange_input_metadata`'s row.
#[derive(Debug, Clone, PartialEq, Row)]
pub struct InputMetadataSeen {
    pub seen: Option<String>,
    pub keys: Option<String>,
}

/// `exchange_session_counter`'s input row.
#[derive(Debug, Clone, PartialEq, Row)]
pub struct By {
    pub by: Option<i64>,
}

/// A row of no columns (`exchange_zero_columns`).
#[derive(Debug, Clone, PartialEq, Row)]
pub struct NoColumns {}

/// `ConformanceHeader`: the header of the plain header streams.
#[derive(Debug, Clone, PartialEq, Row)]
pub struct ConformanceHeader {
    pub total_expected: i64,
    pub description: String,
}

/// `RichHeader`: every kind of field a header can carry.
#[derive(Debug, Clone, PartialEq, Row)]
pub struct RichHeader {
    pub str_field: String,
    pub bytes_field: Vec<u8>,
    pub int_field: i64,
    pub float_field: f64,
    pub bool_field: bool,
    pub list_of_int: Vec<Option<i64>>,
    pub list_of_str: Vec<Option<String>>,
    pub dict_field: OrderedMap<String, Option<i64>>,
    pub enum_field: Status,
    pub nested_point: Point,
    pub optional_str: Option<String>,
    pub optional_int: Option<i64>,
    pub optional_nested: Option<Point>,
    pub list_of_nested: Vec<Option<Point>>,
    pub nested_list: Vec<Option<Vec<Option<i64>>>>,
    pub annotated_int32: i32,
    pub annotated_float32: f32,
    pub dict_str_str: OrderedMap<String, Option<String>>,
}

/// `NestedContainers`: what `pack_nested_containers` serializes.
#[derive(Debug, Clone, PartialEq, Row)]
pub struct NestedContainers {
    pub statuses: Vec<Option<Status>>,
    pub points: Vec<Option<Point>>,
    pub status_by_name: OrderedMap<String, Option<Status>>,
    pub frozen_statuses: Vec<Option<Status>>,
    pub tagged_status: Option<Status>,
    pub tagged_point: Option<Point>,
    pub tagged_batch: Option<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use vgi_rpc::typed::{ArrowType, Row, Value};

    use super::*;
    use crate::methods::types::*;

    #[test]
    fn derived_schemas_are_the_declared_ones() {
        assert_eq!(Status::data_type(), enum_type());
        assert_eq!(Point::data_type(), point_struct());
        assert_eq!(CounterRow::schema(), COUNTER.schema);
        assert_eq!(TickSeen::schema(), TICK_SEEN.schema);
        assert_eq!(Accumulated::schema(), ACCUM.schema);
        assert_eq!(InputMetadataSeen::schema(), INPUT_METADATA.schema);
        assert_eq!(By::schema(), BY_I64.schema);
        assert_eq!(NoColumns::schema(), EMPTY.schema);
        assert_eq!(Value::<Option<i64>>::schema(), VALUE_I64.schema);
        assert_eq!(Value::<Option<f64>>::schema(), VALUE_F64.schema);
        assert_eq!(ConformanceHeader::schema(), CONFORMANCE_HEADER.schema);
        assert_eq!(RichHeader::schema(), RICH_HEADER.schema);
        assert_eq!(NestedContainers::schema(), NESTED_CONTAINERS.schema);
    }

    #[test]
    fn counter_columns_are_the_rows_as_columns() {
        let from_rows = CounterRow::to_batch(CounterRow::run(5, 3)).expect("rows");
        assert_eq!(from_rows.columns(), CounterRow::columns(5, 3).as_slice());
    }

    #[test]
    fn status_names_and_errors_are_the_references() {
        assert_eq!(Status::MEMBERS, ["PENDING", "ACTIVE", "CLOSED"]);
        assert_eq!(Status::from_seed(-1), Status::Closed);
        let err = Status::from_name("OPEN").unwrap_err();
        assert_eq!((err.error_type.as_str(), err.message.as_str()), ("ValueError", "'OPEN' is not a valid Status"));
    }
}
