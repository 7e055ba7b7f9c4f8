//! `String` as `utf8` and byte buffers (`Vec<u8>`) as `binary`; the other
//! string and binary layouts (large, view, fixed-size) are read too, and
//! written by the wrappers [`LargeString`], [`LargeBinary`] and
//! [`FixedBinary`] when a column must be declared with one of them.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, BinaryArray, FixedSizeBinaryArray, LargeBinaryArray, LargeStringArray, StringArray,
};
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

/// A string declared as `large_utf8` (64-bit offsets).
///
/// ```
/// use arrow_schema::DataType;
/// use vgi_rpc_core::typed::{ArrowType, LargeString};
///
/// let column = LargeString::into_array(vec![LargeString("x".into())]).unwrap();
/// assert_eq!(column.data_type(), &DataType::LargeUtf8);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct LargeString(pub String);

impl ArrowType for LargeString {
    fn data_type() -> DataType {
        DataType::LargeUtf8
    }
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
        Ok(Arc::new(LargeStringArray::from(values.into_iter().map(|v| v.map(|v| v.0)).collect::<Vec<_>>())))
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
        Ok(String::from_array_opt(array)?.into_iter().map(|v| v.map(LargeString)).collect())
    }
}

/// Bytes declared as `large_binary` (64-bit offsets).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct LargeBinary(pub Vec<u8>);

impl ArrowType for LargeBinary {
    fn data_type() -> DataType {
        DataType::LargeBinary
    }
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
        Ok(Arc::new(LargeBinaryArray::from_iter(values.into_iter().map(|v| v.map(|v| v.0)))))
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
        Ok(binary_from_array(array)?.into_iter().map(|v| v.map(LargeBinary)).collect())
    }
}

/// Exactly `N` bytes, declared as `fixed_size_binary(N)`.
///
/// ```
/// use arrow_schema::DataType;
/// use vgi_rpc_core::typed::{ArrowType, FixedBinary};
///
/// let column = FixedBinary::<2>::into_array(vec![FixedBinary([1, 2])]).unwrap();
/// assert_eq!(column.data_type(), &DataType::FixedSizeBinary(2));
/// assert_eq!(FixedBinary::<2>::from_array(column.as_ref()).unwrap(), vec![FixedBinary([1, 2])]);
/// assert!(FixedBinary::<3>::from_array(column.as_ref()).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FixedBinary<const N: usize>(pub [u8; N]);

impl<const N: usize> FixedBinary<N> {
    fn width() -> Result<i32, RpcError> {
        i32::try_from(N).map_err(|_| RpcError::type_error(format!("fixed_size_binary({N}) is too wide")))
    }
}

impl<const N: usize> ArrowType for FixedBinary<N> {
    fn data_type() -> DataType {
        DataType::FixedSizeBinary(i32::try_from(N).unwrap_or(i32::MAX))
    }
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
        let width = Self::width()?;
        let array =
            FixedSizeBinaryArray::try_from_sparse_iter_with_size(values.into_iter().map(|v| v.map(|v| v.0)), width)
                .map_err(|e| RpcError::type_error(format!("cannot build a fixed_size_binary({N}) column: {e}")))?;
        Ok(Arc::new(array))
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
        let want = Self::data_type();
        if array.data_type() != &want {
            return Err(mismatch(&want, array.data_type()));
        }
        array
            .as_fixed_size_binary()
            .iter()
            .map(|v| {
                v.map(|bytes| {
                    <[u8; N]>::try_from(bytes)
                        .map(FixedBinary)
                        .map_err(|_| RpcError::type_error(format!("expected {N} bytes, got {}", bytes.len())))
                })
                .transpose()
            })
            .collect()
    }
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
    fn declared_large_and_fixed_layouts_round_trip() {
        let values = vec![Some(LargeString("a".into())), None];
        let array = LargeString::into_array_opt(values.clone()).unwrap();
        assert_eq!(array.data_type(), &DataType::LargeUtf8);
        assert_eq!(LargeString::from_array_opt(array.as_ref()).unwrap(), values);
        let bytes = vec![LargeBinary(vec![1, 2, 3])];
        let array = LargeBinary::into_array(bytes.clone()).unwrap();
        assert_eq!(array.data_type(), &DataType::LargeBinary);
        assert_eq!(LargeBinary::from_array(array.as_ref()).unwrap(), bytes);
        let fixed = vec![Some(FixedBinary([9u8; 8])), None];
        let array = FixedBinary::<8>::into_array_opt(fixed.clone()).unwrap();
        assert_eq!(array.data_type(), &DataType::FixedSizeBinary(8));
        assert_eq!(FixedBinary::<8>::from_array_opt(array.as_ref()).unwrap(), fixed);
        assert_eq!(FixedBinary::<4>::from_array(array.as_ref()).unwrap_err().error_type, "TypeError");
    }

    #[test]
    fn large_strings_read_and_numbers_do_not() {
        let large = LargeStringArray::from(vec!["x"]);
        assert_eq!(String::from_array(&large).unwrap(), vec!["x".to_owned()]);
        let ints = arrow_array::Int64Array::from(vec![1]);
        assert_eq!(String::from_array(&ints).unwrap_err().error_type, "TypeError");
    }
}
