//! Integers of every width, `f32`/`f64` and `bool` as Arrow primitive columns.

use std::sync::Arc;

use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, BooleanArray, PrimitiveArray};
use arrow_schema::DataType;

use super::arrow_type::{coerce, downcast, ArrowType};
use crate::RpcError;

/// Read a primitive column after coercing it to `T`'s declared type.
fn read_primitive<P: arrow_array::ArrowPrimitiveType>(array: &dyn Array) -> Result<Vec<Option<P::Native>>, RpcError> {
    let coerced = coerce(array, &P::DATA_TYPE)?;
    let array = coerced.as_deref().unwrap_or(array);
    let typed = downcast::<PrimitiveArray<P>>(array, &P::DATA_TYPE)?;
    Ok(typed.iter().collect())
}

macro_rules! primitive {
    ($($rust:ty => $arrow:ty),* $(,)?) => {$(
        impl ArrowType for $rust {
            fn data_type() -> DataType {
                <$arrow as arrow_array::ArrowPrimitiveType>::DATA_TYPE
            }
            fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
                Ok(Arc::new(PrimitiveArray::<$arrow>::from(values)))
            }
            fn into_array(values: Vec<Self>) -> Result<ArrayRef, RpcError> {
                Ok(Arc::new(PrimitiveArray::<$arrow>::from(values)))
            }
            fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
                read_primitive::<$arrow>(array)
            }
            fn from_array(array: &dyn Array) -> Result<Vec<Self>, RpcError> {
                let coerced = coerce(array, &Self::data_type())?;
                let array = coerced.as_deref().unwrap_or(array);
                let typed = downcast::<PrimitiveArray<$arrow>>(array, &Self::data_type())?;
                if typed.null_count() > 0 {
                    return Err(super::arrow_type::unexpected_null());
                }
                Ok(typed.values().to_vec())
            }
            fn value_at(array: &dyn Array, row: usize) -> Result<Option<Self>, RpcError> {
                if let Some(typed) = array.as_any().downcast_ref::<PrimitiveArray<$arrow>>() {
                    if row >= typed.len() {
                        return Err(RpcError::type_error("row is past the end of the column"));
                    }
                    return Ok(typed.is_valid(row).then(|| typed.value(row)));
                }
                Ok(read_primitive::<$arrow>(array.slice(row, 1).as_ref())?.pop().flatten())
            }
        }
    )*};
}

primitive! {
    i8 => Int8Type, i16 => Int16Type, i32 => Int32Type, i64 => Int64Type,
    u16 => UInt16Type, u32 => UInt32Type, u64 => UInt64Type,
    f32 => Float32Type, f64 => Float64Type,
}

/// `u8` is a primitive column, and `Vec<u8>` is a byte buffer (`binary`),
/// not a list of `uint8`.
impl ArrowType for u8 {
    fn data_type() -> DataType {
        DataType::UInt8
    }
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
        Ok(Arc::new(PrimitiveArray::<UInt8Type>::from(values)))
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
        read_primitive::<UInt8Type>(array)
    }
    fn list_data_type() -> DataType {
        DataType::Binary
    }
    fn list_into_array(values: Vec<Option<Vec<Self>>>) -> Result<ArrayRef, RpcError> {
        super::string::binary_into_array(values)
    }
    fn list_from_array(array: &dyn Array) -> Result<Vec<Option<Vec<Self>>>, RpcError> {
        super::string::binary_from_array(array)
    }
}

impl ArrowType for bool {
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn into_array_opt(values: Vec<Option<Self>>) -> Result<ArrayRef, RpcError> {
        Ok(Arc::new(BooleanArray::from(values)))
    }
    fn into_array(values: Vec<Self>) -> Result<ArrayRef, RpcError> {
        Ok(Arc::new(BooleanArray::from(values)))
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, RpcError> {
        Ok(downcast::<BooleanArray>(array, &DataType::Boolean)?.iter().collect())
    }
    fn value_at(array: &dyn Array, row: usize) -> Result<Option<Self>, RpcError> {
        let typed = downcast::<BooleanArray>(array, &DataType::Boolean)?;
        if row >= typed.len() {
            return Err(RpcError::type_error("row is past the end of the column"));
        }
        Ok(typed.is_valid(row).then(|| typed.value(row)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: ArrowType + Clone + PartialEq + std::fmt::Debug>(values: Vec<T>) {
        let array = T::into_array(values.clone()).unwrap();
        assert_eq!(array.data_type(), &T::data_type());
        assert_eq!(T::from_array(array.as_ref()).unwrap(), values);
    }

    #[test]
    fn every_width_round_trips() {
        round_trip(vec![i8::MIN, 0, i8::MAX]);
        round_trip(vec![i16::MIN, i16::MAX]);
        round_trip(vec![i32::MIN, i32::MAX]);
        round_trip(vec![i64::MIN, i64::MAX]);
        round_trip(vec![0u8, u8::MAX]);
        round_trip(vec![0u16, u16::MAX]);
        round_trip(vec![0u32, u32::MAX]);
        round_trip(vec![0u64, u64::MAX]);
        round_trip(vec![1.5f32, -0.0]);
        round_trip(vec![f64::MAX, 2.25]);
        round_trip(vec![true, false]);
    }

    #[test]
    fn nulls_are_errors_unless_optional() {
        let array = i64::into_array_opt(vec![Some(1), None]).unwrap();
        assert_eq!(i64::from_array_opt(array.as_ref()).unwrap(), vec![Some(1), None]);
        assert_eq!(i64::from_array(array.as_ref()).unwrap_err().error_type, "TypeError");
        assert_eq!(i64::value_at(array.as_ref(), 1).unwrap(), None);
        assert_eq!(i64::value_at(array.as_ref(), 0).unwrap(), Some(1));
        assert!(i64::value_at(array.as_ref(), 2).is_err());
    }

    #[test]
    fn narrower_integers_widen_on_read() {
        let array = i32::into_array(vec![5]).unwrap();
        assert_eq!(i64::value_at(array.as_ref(), 0).unwrap(), Some(5));
        assert!(bool::from_array(array.as_ref()).is_err());
    }
}
