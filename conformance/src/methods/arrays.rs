//! Small constructors for the nested Arrow arrays the conformance types use
//! (lists, maps, Point structs, enum dictionaries), producing exactly the
//! types declared in `types.rs`.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int16Type;
use arrow_array::{
    Array, ArrayRef, DictionaryArray, Float64Array, Int16Array, ListArray, MapArray, StringArray, StructArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field};
use vgi_rpc::RpcError;

use super::types::point_fields;

/// The members of `Status`, by name.
pub const STATUS: [&str; 3] = ["PENDING", "ACTIVE", "CLOSED"];

/// A list column of `rows.len()` rows over `values`, row `i` holding `lens[i]` items.
pub fn list(item: DataType, lens: &[usize], values: ArrayRef) -> ArrayRef {
    Arc::new(ListArray::new(
        Arc::new(Field::new("item", item, true)),
        OffsetBuffer::from_lengths(lens.iter().copied()),
        values,
        None,
    ))
}

/// Points as a struct column; `None` rows are null.
pub fn points(rows: &[Option<(f64, f64)>]) -> ArrayRef {
    let x: Float64Array = rows.iter().map(|p| Some(p.map_or(0.0, |p| p.0))).collect();
    let y: Float64Array = rows.iter().map(|p| Some(p.map_or(0.0, |p| p.1))).collect();
    let nulls = rows
        .iter()
        .any(Option::is_none)
        .then(|| NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<_>>()));
    Arc::new(StructArray::new(point_fields(), vec![Arc::new(x) as ArrayRef, Arc::new(y)], nulls))
}

/// Enum members as a `dictionary<int16, utf8>` column over the full member list.
pub fn statuses(rows: &[Option<&str>]) -> Result<ArrayRef, RpcError> {
    let mut keys = Vec::with_capacity(rows.len());
    for row in rows {
        keys.push(match row {
            Some(name) => Some(status_index(name)? as i16),
            None => None,
        });
    }
    let dict =
        DictionaryArray::<Int16Type>::try_new(Int16Array::from(keys), Arc::new(StringArray::from(STATUS.to_vec())))?;
    Ok(Arc::new(dict))
}

/// Index of a `Status` member name.
pub fn status_index(name: &str) -> Result<usize, RpcError> {
    STATUS
        .iter()
        .position(|s| *s == name)
        .ok_or_else(|| RpcError::value_error(format!("'{name}' is not a valid Status")))
}

/// Read every value of an enum (dictionary) column as member names, validating each.
pub fn read_statuses(col: &dyn Array) -> Result<Vec<Option<String>>, RpcError> {
    let dict = col
        .as_dictionary_opt::<Int16Type>()
        .ok_or_else(|| RpcError::type_error(format!("expected dictionary<int16, utf8>, got {}", col.data_type())))?;
    let values =
        dict.values().as_string_opt::<i32>().ok_or_else(|| RpcError::type_error("enum values must be utf8"))?;
    let mut out = Vec::with_capacity(dict.len());
    for i in 0..dict.len() {
        if dict.is_null(i) {
            out.push(None);
            continue;
        }
        let key = dict.keys().value(i);
        if key < 0 || key as usize >= values.len() {
            return Err(RpcError::value_error(format!("enum index {key} is out of range")));
        }
        let name = values.value(key as usize);
        status_index(name)?;
        out.push(Some(name.to_owned()));
    }
    Ok(out)
}

/// A one-row `map<K, V>` column from key and value arrays.
pub fn one_map(keys: ArrayRef, values: ArrayRef) -> Result<ArrayRef, RpcError> {
    let DataType::Map(entries_field, _) = super::types::map_of(keys.data_type().clone(), values.data_type().clone())
    else {
        return Err(RpcError::runtime_error("map_of did not build a map type"));
    };
    let DataType::Struct(fields) = entries_field.data_type().clone() else {
        return Err(RpcError::runtime_error("map entries are not a struct"));
    };
    let len = keys.len();
    let entries = StructArray::try_new(fields, vec![keys, values], None)?;
    Ok(Arc::new(MapArray::try_new(entries_field, OffsetBuffer::from_lengths([len]), entries, None, false)?))
}
