//! `String` as `utf8` and byte buffers (`Vec<u8>`) as `binary`; the other
//! string and binary layouts (large, view, fixed-size) are read too.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BinaryArray, StringArray};
use arrow_schema::DataType;

use super::arrow_type::{mismatch, ArrowType};
use crate::RpcError;

impl ArrowType for String {
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
        Ok(Arc::new(StringArray::from(values)))
    }
    fn into_array(values: Vec<Self>) -> Result<ArrayRef, RpcError> {
        Ok(Arc::new(StringArray::from(values)))
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
        let owned = |v: Option<&str>| v.map(str::to_owned);
        Ok(match array.data_type() {
            DataType::Utf8 => array.as_string::<i32>().iter().map(owned).collect(),
            DataType::LargeUtf8 => array.as_string::<i64>().iter().map(owned).collect(),
            DataType::Utf8View => array.as_string_view().iter().map(owned).collect(),
            other => return Err(mismatch(&DataType::Utf8, other)),
        })
    }
    fn value_at(array: &dyn Array, row: usize) -> Result<Option<Self>, RpcError> {
        if row >= array.len() {
            return Err(RpcError::type_error("row is past the end of the column"));
        }
        if array.is_null(row) {
            return Ok(None);
        }
        Ok(Some(
            match array.data_type() {
                DataType::Utf8 => array.as_string::<i32>().value(row),
                DataType::LargeUtf8 => array.as_string::<i64>().value(row),
                DataType::Utf8View => array.as_string_view().value(row),
                other => return Err(mismatch(&DataType::Utf8, other)),
            }
            .to_owned(),
        ))
    }
}

/// `Vec<u8>` values as a `binary` column.
pub(crate) fn binary_into_array(values: Vec<Option<Vec<u8>>>) -> Result<ArrayRef, RpcError> {
    Ok(Arc::new(BinaryArray::from_iter(values)))
}

/// A binary column (any layout) as `Vec<u8>` values.
pub(crate) fn binary_from_array(array: &dyn Array) -> Result<Vec<Option<Vec<u8>>>, RpcError> {
    let owned = |v: Option<&[u8]>| v.map(<[u8]>::to_vec);
    Ok(match array.data_type() {
        DataType::Binary => array.as_binary::<i32>().iter().map(owned).collect(),
        DataType::LargeBinary => array.as_binary::<i64>().iter().map(owned).collect(),
        DataType::BinaryView => array.as_binary_view().iter().map(owned).collect(),
        DataType::FixedSizeBinary(_) => array.as_fixed_size_binary().iter().map(owned).collect(),
        other => return Err(mismatch(&DataType::Binary, other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::LargeStringArray;

    #[test]
    fn strings_and_bytes_round_trip() {
        let values = vec!["a".to_owned(), String::new(), "ü".to_owned()];
        let array = String::into_array(values.clone()).unwrap();
        assert_eq!(String::from_array(array.as_ref()).unwrap(), values);
        assert_eq!(String::value_at(array.as_ref(), 2).unwrap().as_deref(), Some("ü"));
        let bytes = vec![Some(vec![0u8, 255]), None];
        let array = <Vec<u8>>::into_array_opt(bytes.clone()).unwrap();
        assert_eq!(array.data_type(), &DataType::Binary);
        assert_eq!(<Vec<u8>>::from_array_opt(array.as_ref()).unwrap(), bytes);
    }

    #[test]
    fn large_strings_read_and_numbers_do_not() {
        let large = LargeStringArray::from(vec!["x"]);
        assert_eq!(String::from_array(&large).unwrap(), vec!["x".to_owned()]);
        let ints = arrow_array::Int64Array::from(vec![1]);
        assert_eq!(String::from_array(&ints).unwrap_err().error_type, "TypeError");
    }
}
